//! BillingAccountService over REST: Get and List. A reseller sees its own account
//! and its customers' accounts; an admin sees every account.

use super::Yandex;
use super::wire::{BillingAccountView, ListBillingAccountsResponse};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::paging::PageQuery;
use crate::query::Params;
use axum::extract::{Path, State};
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::customer::id_rule;
use kopek_store::billing_accounts::{self, BillingAccount};

/// The reseller whose accounts a caller sees; None for admin (all of them).
fn reseller_scope(caller: &Principal) -> Result<Option<&str>, Error> {
    match caller.role {
        Role::Admin => Ok(None),
        Role::Reseller => caller.scope.as_deref().map(Some).ok_or(Error::Forbidden),
        _ => Err(Error::Forbidden),
    }
}

fn visible(account: &BillingAccount, scope: Option<&str>) -> bool {
    match scope {
        None => true,
        Some(r) => account.id == r || account.reseller_id.as_deref() == Some(r),
    }
}

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
        get_account(&state, &caller.principal, &id).await?.into(),
    ))
}

/// One billing account the caller may see. Shared by REST and gRPC.
pub async fn get_account(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> Result<BillingAccount, Error> {
    id_rule("billingAccountId", id).map_err(|e| Error::Validation(vec![e]))?;
    let scope = reseller_scope(caller)?;
    let mut conn = state.store.conn().await?;
    match billing_accounts::find(&mut conn, id).await? {
        Some(a) if visible(&a, scope) => Ok(a),
        _ if scope.is_some() => Err(Error::Forbidden),
        _ => Err(Error::NotFound {
            what: "billing account",
            id: id.to_owned(),
        }),
    }
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
        list_accounts(&state, &caller.principal, &query.value).await?;
    Ok(Json(ListBillingAccountsResponse {
        billing_accounts: accounts.into_iter().map(BillingAccountView::from).collect(),
        next_page_token,
    }))
}

/// One page of the billing accounts the caller may see, and the next page's token
/// (empty on the last). Shared by REST and gRPC.
pub async fn list_accounts(
    state: &AppState,
    caller: &Principal,
    query: &PageQuery,
) -> Result<(Vec<BillingAccount>, String), Error> {
    let scope = reseller_scope(caller)?;
    let key = state.store.page_key();
    let context = format!("billingAccounts:{}", scope.unwrap_or("*"));
    let page = query.page(key, context)?;
    let mut conn = state.store.conn().await?;
    let mut rows =
        billing_accounts::list_visible(&mut conn, scope, page.after.as_deref(), page.fetch_limit())
            .await?;
    let next_page_token = page.finish(key, &mut rows, |a| a.id.as_str());
    Ok((rows, next_page_token))
}
