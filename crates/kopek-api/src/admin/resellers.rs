//! Resellers: billing accounts of kind reseller.

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
use kopek_core::operator;
use kopek_core::paging::PageQuery;
use kopek_domain::auth::Role;
use kopek_domain::reseller::NewReseller;
use kopek_store::billing_accounts::BillingAccount;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateReseller {
    /// Display name, 1 to 1000 characters.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2; `RU` when absent.
    pub country_code: Option<String>,
    /// ISO 4217 (RUB, KZT, USD, EUR, GBP); `RUB` when absent.
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reseller {
    /// 20 lowercase letters and digits, starting with a letter.
    pub id: String,
    pub name: String,
    pub country_code: String,
    pub currency: String,
    pub active: bool,
    /// RFC 3339.
    pub created_at: String,
}

impl From<BillingAccount> for Reseller {
    fn from(a: BillingAccount) -> Reseller {
        Reseller {
            id: a.id.into(),
            name: a.name,
            country_code: a.country_code,
            currency: a.balance.currency().to_string(),
            active: a.active,
            created_at: a.created_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResellerList {
    pub resellers: Vec<Reseller>,
    /// Pass as `pageToken` for the next page; empty on the last page.
    pub next_page_token: String,
}

/// Creates a reseller.
#[utoipa::path(post, path = "/admin/v1/resellers", tag = "admin", operation_id = "createReseller",
    request_body = CreateReseller,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, body = Reseller),
        (status = "4XX", body = super::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    body: JsonBody<CreateReseller, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let b = body.value;
    let new = NewReseller::parse(b.name, b.country_code, b.currency)?;
    let ran = operator::create_reseller(
        mutation.write(&body.raw),
        principal,
        new,
        StatusCode::CREATED.as_u16(),
        |account| Reseller::from(account.clone()),
    )
    .await?;
    Ok(answer(ran))
}

/// Gets a reseller.
#[utoipa::path(get, path = "/admin/v1/resellers/{id}", tag = "admin", operation_id = "getReseller",
    params(("id" = String, Path, description = "Reseller billing account id")),
    responses((status = 200, body = Reseller), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<Reseller>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let account = operator::reseller(&state.core, &id.into()).await?;
    Ok(Json(account.into()))
}

/// Lists resellers in id order.
#[utoipa::path(get, path = "/admin/v1/resellers", tag = "admin", operation_id = "listResellers", params(PageQuery),
    responses((status = 200, body = ResellerList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<ResellerList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (rows, next_page_token) = operator::resellers(&state.core, &query.value).await?;
    Ok(Json(ResellerList {
        resellers: rows.into_iter().map(Reseller::from).collect(),
        next_page_token,
    }))
}
