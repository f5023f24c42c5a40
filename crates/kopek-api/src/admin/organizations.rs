//! Organizations (companies that buy subscriptions) and their member users.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::query::Params;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::organizations::{self as organizations_core, BillingContact, NewOrganization};
use kopek_core::paging::PageQuery;
use kopek_domain::auth::Role;
use kopek_domain::closing;
use kopek_domain::company::{self, Company};
use kopek_domain::contact::Email;
use kopek_domain::ids::UserId;
use kopek_domain::lang::Lang;
use kopek_domain::{Error, FieldError, Reason, text};
use kopek_store::organizations::Organization;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompanyBody {
    pub name: Option<String>,
    /// 10 digits (organizations) or 12 (sole traders), with valid check digits.
    pub inn: Option<String>,
    /// Required with a 10-digit INN, absent with a 12-digit one.
    pub kpp: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrganization {
    /// 1 to 64 lowercase letters, digits and dashes; unique.
    pub alias: Option<String>,
    pub company: Option<CompanyBody>,
    /// The reseller billing account that serves the organization: the only
    /// account besides the organization itself its invoices may name in `who_pays`.
    #[serde(rename = "resellerId")]
    pub reseller_id: Option<String>,
    #[serde(flatten)]
    pub billing: BillingBody,
}

/// Who is mailed about the organization's renewal invoices, reminders, expiry
/// and closing documents.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BillingBody {
    /// The billing contact's address; empty removes it (then nobody is mailed).
    #[serde(rename = "billingEmail")]
    pub billing_email: Option<String>,
    /// `ru` (the default) or `en`: the language of those mails.
    pub language: Option<String>,
    /// The legal address its closing documents (УПД) print, up to 1000
    /// characters; empty removes it.
    #[serde(rename = "legalAddress")]
    pub legal_address: Option<String>,
    /// Its participant id at its EDO operator (e.g. `2BM-7707083893-770701001-…`),
    /// where its closing documents go; empty removes it.
    #[serde(rename = "edoId")]
    pub edo_id: Option<String>,
}

impl BillingBody {
    fn parse(self, errors: &mut Vec<FieldError>) -> BillingContact {
        let email = self.billing_email.map(|e| match e.as_str() {
            "" => None,
            _ => Email::parse("billingEmail", &e)
                .map_err(|e| errors.push(e))
                .ok(),
        });
        let language = self.language.and_then(|l| {
            Lang::parse(&l).or_else(|| {
                errors.push(FieldError::new(
                    "language",
                    Reason::OneOf(vec!["ru".to_owned(), "en".to_owned()]),
                ));
                None
            })
        });
        let legal_address = self.legal_address.map(|a| {
            let a = a.trim().to_owned();
            if a.chars().count() > 1000 {
                errors.push(FieldError::new(
                    "legalAddress",
                    Reason::TooLong { max: 1000 },
                ));
            }
            Some(a).filter(|a| !a.is_empty())
        });
        let edo_id = self.edo_id.map(|id| match id.as_str() {
            "" => None,
            _ if closing::is_edo_id(&id) => Some(id),
            _ => {
                errors.push(FieldError::new(
                    "edoId",
                    Reason::Format {
                        en: "an EDO participant id: 4 to 46 letters, digits and dashes",
                        ru: "идентификатором участника ЭДО: от 4 до 46 букв, цифр и дефисов",
                    },
                ));
                None
            }
        });
        BillingContact {
            email,
            language,
            legal_address,
            edo_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub guid: String,
    pub alias: String,
    #[schema(value_type = Object)]
    pub company: Company,
    pub reseller_id: Option<String>,
    pub billing_email: Option<String>,
    /// The language of the billing contact's mails: `ru` or `en`.
    pub language: &'static str,
    pub legal_address: Option<String>,
    pub edo_id: Option<String>,
    /// Ids of member users.
    pub members: Vec<i64>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationList {
    pub organizations: Vec<OrganizationView>,
    pub next_page_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMember {
    /// The login of a provisioned user.
    pub login: Option<String>,
}

pub fn view(org: Organization, members: Vec<UserId>) -> OrganizationView {
    OrganizationView {
        guid: org.guid.into(),
        alias: org.alias,
        company: org.company,
        reseller_id: org.reseller_id.map(String::from),
        billing_email: org.billing_email.map(|e| e.to_string()),
        language: org.language.as_str(),
        legal_address: org.legal_address,
        edo_id: org.edo_id,
        members: members.into_iter().map(UserId::get).collect(),
        created_at: org.created_at.rfc3339(),
    }
}

/// Creates an organization.
#[utoipa::path(post, path = "/admin/v1/organizations", tag = "admin", operation_id = "createOrganization", request_body = CreateOrganization,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = OrganizationView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    body: JsonBody<CreateOrganization, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let b = body.value;
    let alias = b.alias.unwrap_or_default();
    let mut errors: Vec<FieldError> = company::check_alias(&alias).err().into_iter().collect();
    let company = match b.company {
        None => {
            errors.push(FieldError::new("company", Reason::Required));
            None
        }
        Some(c) => Company::parse("company.", c.name, c.inn, c.kpp)
            .map_err(|e| errors.extend(e))
            .ok(),
    };
    let billing = b.billing.parse(&mut errors);
    let reseller_id = b.reseller_id.filter(|r| !r.is_empty());
    if let Some(r) = &reseller_id
        && let Err(e) = text::line("resellerId", r)
    {
        errors.push(e);
    }
    let company = match company {
        Some(company) if errors.is_empty() => company,
        _ => return Err(Error::Validation(errors).into()),
    };
    let new = NewOrganization {
        alias,
        company,
        reseller_id: reseller_id.map(Into::into),
        billing,
    };
    let ran = organizations_core::create(
        &state.core,
        mutation.write(&body.raw),
        principal,
        new,
        StatusCode::CREATED.as_u16(),
        |org| view(org.clone(), Vec::new()),
    )
    .await?;
    Ok(answer(ran))
}

/// Gets an organization with its members.
#[utoipa::path(get, path = "/admin/v1/organizations/{guid}", tag = "admin", operation_id = "getOrganization", params(("guid" = String, Path)),
    responses((status = 200, body = OrganizationView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(guid): Path<String>,
) -> Result<Json<OrganizationView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (org, members) = organizations_core::get(&state.core, &guid.into()).await?;
    Ok(Json(view(org, members)))
}

/// Lists organizations in guid order.
#[utoipa::path(get, path = "/admin/v1/organizations", tag = "admin", operation_id = "listOrganizations", params(PageQuery),
    responses((status = 200, body = OrganizationList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<OrganizationList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (rows, next_page_token) = organizations_core::list(&state.core, &query.value).await?;
    Ok(Json(OrganizationList {
        organizations: rows
            .into_iter()
            .map(|(org, members)| view(org, members))
            .collect(),
        next_page_token,
    }))
}

/// Changes an organization's billing contact or the language of its mails.
#[utoipa::path(patch, path = "/admin/v1/organizations/{guid}", tag = "admin", operation_id = "updateOrganization",
    params(("guid" = String, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = BillingBody,
    responses((status = 200, body = OrganizationView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(guid): Path<String>,
    body: JsonBody<BillingBody, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let mut errors = Vec::new();
    let change = body.value.parse(&mut errors);
    if !errors.is_empty() {
        return Err(Error::Validation(errors).into());
    }
    let ran = organizations_core::update_billing(
        &state.core,
        mutation.write(&body.raw),
        principal,
        &guid.into(),
        change,
        StatusCode::OK.as_u16(),
        |org, members| view(org.clone(), members),
    )
    .await?;
    Ok(answer(ran))
}

/// Makes a provisioned user a member of the organization.
#[utoipa::path(post, path = "/admin/v1/organizations/{guid}/members", tag = "admin", operation_id = "addOrganizationMember",
    params(("guid" = String, Path)), request_body = AddMember,
    responses((status = 200, body = OrganizationView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(guid): Path<String>,
    body: JsonBody<AddMember, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let login = body
        .value
        .login
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::field("login", Reason::Required))?;
    let ran = organizations_core::add_member(
        &state.core,
        mutation.write(&body.raw),
        principal,
        &guid.into(),
        &login,
        StatusCode::OK.as_u16(),
        |org, members| view(org.clone(), members),
    )
    .await?;
    Ok(answer(ran))
}
