//! Subscriptions, as the operator reads them.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::query::{Params, time_param};
use axum::extract::{Path, State};
use kopek_core::paging::PageQuery;
use kopek_core::subscriptions as subscriptions_core;
use kopek_domain::Reason;
use kopek_domain::auth::Role;
use kopek_domain::error::Violations;
use kopek_domain::subscription::SubscriptionStatus;
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
