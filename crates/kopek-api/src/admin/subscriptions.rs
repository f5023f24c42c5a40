//! Subscriptions, as the operator reads them.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::{parse, parse_optional};
use crate::error::ApiError;
use crate::invoice_view::InvoiceView;
use crate::json::Json;
use crate::mutation::{Command, answer};
use crate::path::split_custom_method;
use crate::query::{Params, time_param};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::paging::PageQuery;
use kopek_core::subscriptions as subscriptions_core;
use kopek_core::subscriptions::{CancelAt, PlanChange};
use kopek_domain::auth::Role;
use kopek_domain::error::Violations;
use kopek_domain::subscription::SubscriptionStatus;
use kopek_domain::{Error, Reason, text};
use kopek_store::subscriptions::{Filter, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionQuery {
    /// `active`, `past_due`, `expired` or `canceled`.
    pub status: Option<String>,
    /// Only this organization's (its guid).
    #[param(max_length = 100)]
    pub organization: Option<String>,
    /// RFC 3339; only those whose current period ends before it.
    pub ending_before: Option<String>,
}

impl SubscriptionQuery {
    fn filter(&self) -> Result<Filter, kopek_domain::Error> {
        let mut v = Violations::default();
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let parsed = SubscriptionStatus::parse(s);
                if parsed.is_none() {
                    let names = SubscriptionStatus::ALL.map(|st| st.as_str().to_owned());
                    v.add("status", Reason::OneOf(names.to_vec()));
                }
                parsed
            }
        };
        let ending_before = time_param("ending_before", self.ending_before.as_deref(), &mut v);
        v.finish()?;
        Ok(Filter {
            status,
            organization: self
                .organization
                .clone()
                .filter(|o| !o.is_empty())
                .map(Into::into),
            ending_before,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayerRef {
    /// `Organization` or `BillingAccount`, as LIFE POS's `who_pays.type_of`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A subscription: its current period is the organization's license.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub organization_guid: String,
    pub product_guid: String,
    pub plan_guid: String,
    pub quantity: i64,
    pub period_in_months: i64,
    pub current_period_start: String,
    pub current_period_end: String,
    /// `active`, `past_due`, `expired` or `canceled`.
    pub status: String,
    pub cancel_at_period_end: bool,
    /// A downgrade set for the period's end: the plan the next renewal is for.
    pub next_plan_guid: Option<String>,
    pub next_quantity: Option<i64>,
    pub payer: PayerRef,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> SubscriptionView {
        SubscriptionView {
            id: s.id.clone(),
            organization_guid: s.organization_guid.to_string(),
            product_guid: s.product_guid.clone(),
            plan_guid: s.plan_guid.clone(),
            quantity: s.quantity,
            period_in_months: s.period_in_months,
            current_period_start: s.current_period_start.rfc3339(),
            current_period_end: s.current_period_end.rfc3339(),
            status: s.status.as_str().to_owned(),
            cancel_at_period_end: s.cancel_at_period_end,
            next_plan_guid: s.next_plan_guid.clone(),
            next_quantity: s.next_quantity,
            payer: PayerRef {
                kind: s.payer.kind().to_owned(),
                id: s.payer.id().to_owned(),
            },
            created_at: s.created_at.rfc3339(),
            updated_at: s.updated_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub subscriptions: Vec<SubscriptionView>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Lists subscriptions in id order (operator keys only).
#[utoipa::path(get, path = "/admin/v1/subscriptions", tag = "subscriptions", operation_id = "listSubscriptions",
    params(SubscriptionQuery, PageQuery),
    responses((status = 200, body = SubscriptionList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<SubscriptionQuery, Admin>,
    page: Params<PageQuery, Admin>,
) -> Result<Json<SubscriptionList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let filter = query.value.filter()?;
    let (rows, next_page_token) =
        subscriptions_core::list(&state.core, &filter, &page.value).await?;
    Ok(Json(SubscriptionList {
        subscriptions: rows.iter().map(SubscriptionView::from).collect(),
        next_page_token,
    }))
}

/// One subscription (operator keys only).
#[utoipa::path(get, path = "/admin/v1/subscriptions/{id}", tag = "subscriptions", operation_id = "getSubscription",
    params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<SubscriptionView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let subscription = subscriptions_core::get(&state.core, &id).await?;
    Ok(Json((&subscription).into()))
}

/// `POST /admin/v1/subscriptions/{segment}`: the segment is `{id}:cancel`,
/// `:resume` or `:change-plan`.
pub async fn action(
    state: State<AppState>,
    Path(segment): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let (id, method) = split_custom_method(&segment);
    let id = Path(id.to_owned());
    match method {
        Some("cancel") => cancel(state, id, command).await,
        Some("resume") => resume(state, id, command).await,
        Some("change-plan") => change_plan(state, id, command).await,
        _ => Err(Error::NotFound {
            what: "method",
            id: format!("POST /admin/v1/subscriptions/{segment}"),
        }
        .into()),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelSubscription {
    /// `period_end` (the default: the license runs to the end, no renewal follows)
    /// or `now` (the license ends at once).
    pub at: Option<String>,
}

/// Cancels a subscription at its period's end (an issued renewal invoice is
/// canceled; asking again changes nothing) or now. The body is optional.
#[utoipa::path(post, path = "/admin/v1/subscriptions/{id}:cancel", tag = "subscriptions", operation_id = "cancelSubscription",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<CancelSubscription>, description = "When; an empty body is `period_end`"),
    responses((status = 200, body = SubscriptionView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = command.caller.require(Role::Admin)?;
    let asked: CancelSubscription = parse_optional(&command.body.bytes)?;
    let at = match asked.at.as_deref() {
        None | Some("period_end") => CancelAt::PeriodEnd,
        Some("now") => CancelAt::Now,
        Some(_) => {
            return Err(Error::field(
                "at",
                Reason::OneOf(vec!["period_end".to_owned(), "now".to_owned()]),
            )
            .into());
        }
    };
    let ran = subscriptions_core::cancel(
        &state.core,
        command.mutation.write(&command.body.bytes),
        principal,
        &id,
        at,
        StatusCode::OK.as_u16(),
        |s| SubscriptionView::from(s),
    )
    .await?;
    Ok(answer(ran))
}

/// Takes back a cancel at the period's end. No body.
#[utoipa::path(post, path = "/admin/v1/subscriptions/{id}:resume", tag = "subscriptions", operation_id = "resumeSubscription",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = SubscriptionView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = command.caller.require(Role::Admin)?;
    let ran = subscriptions_core::resume(
        &state.core,
        command.mutation.write(&command.body.bytes),
        principal,
        &id,
        StatusCode::OK.as_u16(),
        |s| SubscriptionView::from(s),
    )
    .await?;
    Ok(answer(ran))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePlan {
    /// A plan of the subscription's product sold for its period length.
    pub plan: Option<String>,
    /// 1 to 100000; the current quantity when absent.
    pub quantity: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    pub subscription: SubscriptionView,
    /// An upgrade's invoice for the prorated difference (paying it switches the
    /// plan); null for a downgrade, which takes effect at the period's end.
    pub invoice: Option<InvoiceView>,
}

/// Changes the plan or quantity. Dearer: an invoice for the difference over the
/// days left (from the day of the change, counted whole, to the period's end,
/// rounded half away from zero to the kopeck), which switches the plan when paid.
/// Otherwise the next renewal is for the new plan.
#[utoipa::path(post, path = "/admin/v1/subscriptions/{id}:change-plan", tag = "subscriptions", operation_id = "changeSubscriptionPlan",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ChangePlan,
    responses((status = 200, body = PlanChanged), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = command.caller.require(Role::Admin)?;
    let asked: ChangePlan = parse(&command.body.bytes)?;
    let plan = asked
        .plan
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::field("plan", Reason::Required))?;
    text::line("plan", &plan).map_err(|e| Error::Validation(vec![e]))?;
    let change = PlanChange {
        plan,
        quantity: asked.quantity,
    };
    let ran = subscriptions_core::change_plan(
        &state.core,
        command.mutation.write(&command.body.bytes),
        principal,
        &id,
        change,
        StatusCode::OK.as_u16(),
        |s, invoice| PlanChanged {
            subscription: s.into(),
            invoice: invoice
                .map(|i| InvoiceView::new(i, &state.settings().public_url, state.store.page_key())),
        },
    )
    .await?;
    Ok(answer(ran))
}
