//! What only the operator does: resellers, API keys and the catalog.

use crate::Core;
use crate::paging::PageQuery;
use crate::write::{Begun, Ran, Write};
use kopek_domain::Error;
use kopek_domain::auth::{KeySpec, Principal, SecretToken};
use kopek_domain::catalog::Catalog;
use kopek_domain::ids::BillingAccountId;
use kopek_domain::money::Money;
use kopek_domain::reseller::NewReseller;
use kopek_domain::time::Timestamp;
use kopek_store::api_keys::{self, ApiKey};
use kopek_store::billing_accounts::{self, AccountKind, BillingAccount};
use kopek_store::{Conn, Store, catalog};
use serde::Serialize;

/// Creates a reseller: a billing account of its own.
pub async fn create_reseller<T: Serialize>(
    write: Write,
    caller: &Principal,
    new: NewReseller,
    status: u16,
    answer: impl FnOnce(&BillingAccount) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let account = BillingAccount {
                id: BillingAccountId::generate(),
                kind: AccountKind::Reseller,
                name: new.name,
                country_code: new.country_code,
                active: true,
                balance: Money::zero(new.currency),
                reseller_id: None,
                created_at: Timestamp::now(),
            };
            billing_accounts::insert(work.conn(), &account).await?;
            Ok(answer(&account))
        })
        .await
}

/// Issues an API key. Its token is in this answer only: what is stored for a
/// repeat has the `secret_field` of the answer null, since the token is kept only
/// as a hash.
pub async fn issue_key<T: Serialize>(
    write: Write,
    caller: &Principal,
    spec: KeySpec,
    status: u16,
    secret_field: &str,
    answer: impl FnOnce(&ApiKey, &SecretToken) -> T,
) -> Result<Ran<T>, Error> {
    match write.begin(caller).await? {
        Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
        Begun::Work(mut work) => {
            let (key, token) = api_keys::issue(work.conn(), spec, Timestamp::now()).await?;
            let answered = answer(&key, &token);
            let stored = work.commit_secret(status, &answered, secret_field).await?;
            Ok(Ran::Done(answered, stored))
        }
    }
}

/// Issues an API key in a transaction of its own (the command line's way).
pub async fn issue_key_now(core: &Core, spec: KeySpec) -> Result<(ApiKey, SecretToken), Error> {
    let mut tx = core.store.begin().await?;
    let issued = api_keys::issue(&mut tx, spec, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Revokes an API key at once; revoking again changes nothing.
pub async fn revoke_key<T: Serialize>(
    write: Write,
    caller: &Principal,
    id: &str,
    status: u16,
    answer: impl Fn(&ApiKey) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            if work.audited()
                && let Some(before) = api_keys::get(work.conn(), id).await?
            {
                work.before(|| answer(&before))?;
            }
            Ok(answer(&revoke(work.conn(), id).await?))
        })
        .await
}

/// Revokes an API key in a transaction of its own (the command line's way).
pub async fn revoke_key_now(core: &Core, id: &str) -> Result<ApiKey, Error> {
    let mut tx = core.store.begin().await?;
    let key = revoke(&mut tx, id).await?;
    tx.commit().await?;
    Ok(key)
}

async fn revoke(conn: &mut Conn, id: &str) -> Result<ApiKey, Error> {
    if !api_keys::revoke(&mut *conn, id, Timestamp::now()).await? {
        return Err(Error::NotFound {
            what: "api key",
            id: id.to_owned(),
        });
    }
    api_keys::get(conn, id)
        .await?
        .ok_or_else(|| Error::internal("revoked key vanished"))
}

/// Replaces the whole catalog, checked first; a catalog equal to the one in force
/// makes no new version. Answers with the version in force and whether it is new.
pub async fn replace_catalog<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    new: Catalog,
    status: u16,
    answer: impl Fn(i64, bool, Catalog) -> T,
) -> Result<Ran<T>, Error> {
    new.validate()?;
    write
        .run(caller, status, async |work| {
            if work.audited()
                && let Some((version, before)) = catalog::current(work.conn()).await?
            {
                work.before(|| answer(version, false, before))?;
            }
            let (version, created) = catalog::replace(work.conn(), &new, core.now()).await?;
            Ok(answer(version, created, new))
        })
        .await
}

/// Replaces the whole catalog in a transaction of its own (loading a file at
/// start, before the server's core is made): the version in force and whether it
/// is new.
pub async fn replace_catalog_now(store: &Store, new: &Catalog) -> Result<(i64, bool), Error> {
    new.validate()?;
    let mut tx = store.begin().await?;
    let replaced = catalog::replace(&mut tx, new, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(replaced)
}

/// A reseller by its billing account id.
pub async fn reseller(core: &Core, id: &BillingAccountId) -> Result<BillingAccount, Error> {
    let mut conn = core.store.conn().await?;
    billing_accounts::get(&mut conn, AccountKind::Reseller, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "reseller",
            id: id.to_string(),
        })
}

/// One page of resellers in id order, and the next page's token (empty on the last).
pub async fn resellers(
    core: &Core,
    query: &PageQuery,
) -> Result<(Vec<BillingAccount>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, "resellers".to_owned())?;
    let mut conn = core.store.conn().await?;
    let mut rows = billing_accounts::list(
        &mut conn,
        AccountKind::Reseller,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(key, &mut rows, |a| a.id.as_str());
    Ok((rows, next_page_token))
}

/// Every API key, newest first, revoked ones included.
pub async fn api_keys(core: &Core) -> Result<Vec<ApiKey>, Error> {
    let mut conn = core.store.conn().await?;
    api_keys::list(&mut conn).await
}
