//! Billing accounts: resellers and, later, their customers' accounts.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::ids::BillingAccountId;
use kopek_domain::money::{Currency, Money};
use kopek_domain::sql::Flag;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Reseller,
    Customer,
}

impl AccountKind {
    fn as_str(self) -> &'static str {
        match self {
            AccountKind::Reseller => "reseller",
            AccountKind::Customer => "customer",
        }
    }
}

impl TryFrom<String> for AccountKind {
    type Error = String;

    fn try_from(kind: String) -> Result<AccountKind, String> {
        match kind.as_str() {
            "reseller" => Ok(AccountKind::Reseller),
            "customer" => Ok(AccountKind::Customer),
            other => Err(format!("unknown account kind {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct BillingAccount {
    pub id: BillingAccountId,
    #[sqlx(try_from = "String")]
    pub kind: AccountKind,
    pub name: String,
    pub country_code: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    /// In the account's currency.
    #[sqlx(flatten, try_from = "Balance")]
    pub balance: Money,
    /// For a customer's account: the reseller that serves it.
    pub reseller_id: Option<BillingAccountId>,
    pub created_at: Timestamp,
}

/// The balance and the currency it is kept in.
#[derive(FromRow)]
struct Balance {
    currency: Currency,
    balance: i64,
}

impl From<Balance> for Money {
    fn from(b: Balance) -> Money {
        Money::new(b.balance, b.currency)
    }
}

impl Record for BillingAccount {
    const TABLE: &'static str = "billing_accounts";
    const COLUMNS: &'static str =
        "id, kind, name, country_code, active, currency, balance, reseller_id, created_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(self.kind.as_str())
            .bind(&self.name)
            .bind(&self.country_code)
            .bind(Flag(self.active))
            .bind(self.balance.currency())
            .bind(self.balance.minor())
            .bind(&self.reseller_id)
            .bind(self.created_at)
    }
}

pub async fn insert(conn: &mut Conn, account: &BillingAccount) -> Result<(), Error> {
    crate::db::insert(conn, account, &[]).await.db()
}

pub async fn get(
    conn: &mut Conn,
    kind: AccountKind,
    id: &BillingAccountId,
) -> Result<Option<BillingAccount>, Error> {
    sqlx::query_as(select::<BillingAccount>("WHERE kind = $1 AND id = $2"))
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await
        .db()
}

/// One page of accounts of a kind in id order, starting after `after`.
pub async fn list(
    conn: &mut Conn,
    kind: AccountKind,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BillingAccount>, Error> {
    sqlx::query_as(select::<BillingAccount>(
        "WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3",
    ))
    .bind(kind.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

pub async fn set_active(conn: &mut Conn, id: &BillingAccountId, active: bool) -> Result<(), Error> {
    sqlx::query("UPDATE billing_accounts SET active = $1 WHERE id = $2")
        .bind(Flag(active))
        .bind(id)
        .run(conn)
        .await
}

/// Any account by id, whatever its kind.
pub async fn find(conn: &mut Conn, id: &BillingAccountId) -> Result<Option<BillingAccount>, Error> {
    crate::db::by_key(conn, id).await
}

/// One page of the accounts a caller may see, in id order: every account
/// (`reseller` None) or a reseller's own account and its customers' accounts.
pub async fn list_visible(
    conn: &mut Conn,
    reseller: Option<&BillingAccountId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BillingAccount>, Error> {
    let after = after.unwrap_or("");
    match reseller {
        None => {
            sqlx::query_as(select::<BillingAccount>(
                "WHERE id > $1 ORDER BY id LIMIT $2",
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await
        }
        Some(reseller) => {
            sqlx::query_as(select::<BillingAccount>(
                "WHERE (id = $1 OR reseller_id = $1) AND id > $2 ORDER BY id LIMIT $3",
            ))
            .bind(reseller)
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await
        }
    }
    .db()
}
