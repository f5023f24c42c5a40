//! Billing accounts: resellers and, later, their customers' accounts.

use crate::db::{Conn, DbResult, flag};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingAccount {
    pub id: String,
    pub kind: AccountKind,
    pub name: String,
    pub country_code: String,
    pub currency: String,
    pub active: bool,
    /// Minor units of `currency`.
    pub balance: i64,
    /// For a customer's account: the reseller that serves it.
    pub reseller_id: Option<String>,
    pub created_at: Timestamp,
}

impl BillingAccount {
    /// The balance as a decimal amount in the account's currency (`0.00`), or in
    /// minor units for a currency Kopek does not know.
    pub fn balance_text(&self) -> String {
        kopek_domain::money::Currency::parse("currency", &self.currency)
            .map(|c| kopek_domain::money::format_minor(self.balance, c))
            .unwrap_or_else(|_| self.balance.to_string())
    }
}

const COLUMNS: &str =
    "id, kind, name, country_code, currency, active, balance, reseller_id, created_at";

fn from_row(row: &AnyRow) -> Result<BillingAccount, Error> {
    let kind: String = row.try_get("kind").db()?;
    Ok(BillingAccount {
        id: row.try_get("id").db()?,
        kind: match kind.as_str() {
            "reseller" => AccountKind::Reseller,
            "customer" => AccountKind::Customer,
            other => return Err(Error::internal(format!("unknown account kind {other:?}"))),
        },
        name: row.try_get("name").db()?,
        country_code: row.try_get("country_code").db()?,
        currency: row.try_get("currency").db()?,
        active: row.try_get::<i64, _>("active").db()? != 0,
        balance: row.try_get("balance").db()?,
        reseller_id: row.try_get("reseller_id").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
    })
}

pub async fn insert(conn: &mut Conn, account: &BillingAccount) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO billing_accounts \
         (id, kind, name, country_code, currency, active, balance, reseller_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&account.id)
    .bind(account.kind.as_str())
    .bind(&account.name)
    .bind(&account.country_code)
    .bind(&account.currency)
    .bind(flag(account.active))
    .bind(account.balance)
    .bind(account.reseller_id.as_deref())
    .bind(account.created_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn get(
    conn: &mut Conn,
    kind: AccountKind,
    id: &str,
) -> Result<Option<BillingAccount>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM billing_accounts WHERE kind = $1 AND id = $2"
    )))
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// One page of accounts of a kind in id order, starting after `after`.
pub async fn list(
    conn: &mut Conn,
    kind: AccountKind,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BillingAccount>, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM billing_accounts WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(kind.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(from_row).collect()
}

pub async fn set_active(conn: &mut Conn, id: &str, active: bool) -> Result<(), Error> {
    sqlx::query("UPDATE billing_accounts SET active = $1 WHERE id = $2")
        .bind(flag(active))
        .bind(id)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Any account by id, whatever its kind.
pub async fn find(conn: &mut Conn, id: &str) -> Result<Option<BillingAccount>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM billing_accounts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// One page of the accounts a caller may see, in id order: every account
/// (`reseller` None) or a reseller's own account and its customers' accounts.
pub async fn list_visible(
    conn: &mut Conn,
    reseller: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BillingAccount>, Error> {
    let rows = match reseller {
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM billing_accounts WHERE id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(conn)
            .await
        }
        Some(reseller) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM billing_accounts WHERE (id = $1 OR reseller_id = $1) AND id > $2 \
                 ORDER BY id LIMIT $3"
            )))
            .bind(reseller)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(conn)
            .await
        }
    }
    .db()?;
    rows.iter().map(from_row).collect()
}
