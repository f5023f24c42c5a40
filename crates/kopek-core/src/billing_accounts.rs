//! Billing accounts as Yandex's BillingAccountService shows them: a reseller sees
//! its own account and its customers' accounts; an admin sees every account.

use crate::Core;
use crate::paging::PageQuery;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::customer::id_rule;
use kopek_domain::ids::BillingAccountId;
use kopek_store::billing_accounts::{self, BillingAccount};

/// The reseller whose accounts a caller sees; None for admin (all of them).
fn reseller_scope(caller: &Principal) -> Result<Option<BillingAccountId>, Error> {
    match caller.role {
        Role::Admin => Ok(None),
        Role::Reseller => caller
            .scope
            .as_deref()
            .map(|s| Some(s.into()))
            .ok_or(Error::Forbidden),
        _ => Err(Error::Forbidden),
    }
}

fn visible(account: &BillingAccount, scope: Option<&BillingAccountId>) -> bool {
    match scope {
        None => true,
        Some(r) => account.id == *r || account.reseller_id.as_ref() == Some(r),
    }
}

/// One billing account the caller may see.
pub async fn get(core: &Core, caller: &Principal, id: &str) -> Result<BillingAccount, Error> {
    id_rule("billingAccountId", id).map_err(|e| Error::Validation(vec![e]))?;
    let scope = reseller_scope(caller)?;
    let mut conn = core.store.conn().await?;
    match billing_accounts::find(&mut conn, &id.into()).await? {
        Some(a) if visible(&a, scope.as_ref()) => Ok(a),
        _ if scope.is_some() => Err(Error::Forbidden),
        _ => Err(Error::NotFound {
            what: "billing account",
            id: id.to_owned(),
        }),
    }
}

/// One page of the billing accounts the caller may see, and the next page's token
/// (empty on the last).
pub async fn list(
    core: &Core,
    caller: &Principal,
    query: &PageQuery,
) -> Result<(Vec<BillingAccount>, String), Error> {
    let scope = reseller_scope(caller)?;
    let key = core.store.page_key();
    let context = format!(
        "billingAccounts:{}",
        scope.as_ref().map_or("*", BillingAccountId::as_str)
    );
    let page = query.page(key, context)?;
    let mut conn = core.store.conn().await?;
    let mut rows = billing_accounts::list_visible(
        &mut conn,
        scope.as_ref(),
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(key, &mut rows, |a| a.id.as_str());
    Ok((rows, next_page_token))
}
