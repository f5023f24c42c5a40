//! BillingAccountService over REST: Get and List. A reseller sees its own account
//! and its customers' accounts; an admin sees every account.

use super::Yandex;
use super::wire::{BillingAccountView, ListBillingAccountsResponse};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::query::Params;
use axum::extract::{Path, State};
use kopek_core::billing_accounts;
use kopek_core::paging::PageQuery;

/// Returns the specified billing account.
#[utoipa::path(get, path = "/billing/v1/billingAccounts/{billingAccountId}", tag = "yandex-billing", operation_id = "BillingAccountService_Get",
    params(("billingAccountId" = String, Path)),
    responses((status = 200, body = BillingAccountView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    Path(id): Path<String>,
) -> Result<Json<BillingAccountView>, ApiError<Yandex>> {
    Ok(Json(
        billing_accounts::get(&state.core, &caller.principal, &id)
            .await?
            .into(),
    ))
}

/// Retrieves the billing accounts the caller may see, in id order.
#[utoipa::path(get, path = "/billing/v1/billingAccounts", tag = "yandex-billing", operation_id = "BillingAccountService_List", params(PageQuery),
    responses((status = 200, body = ListBillingAccountsResponse), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    query: Params<PageQuery, Yandex>,
) -> Result<Json<ListBillingAccountsResponse>, ApiError<Yandex>> {
    let (accounts, next_page_token) =
        billing_accounts::list(&state.core, &caller.principal, &query.value).await?;
    Ok(Json(ListBillingAccountsResponse {
        billing_accounts: accounts.into_iter().map(BillingAccountView::from).collect(),
        next_page_token,
    }))
}
