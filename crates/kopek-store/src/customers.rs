//! Customers of resellers.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::customer::{CustomerState, Person};
use kopek_domain::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub reseller_id: String,
    pub billing_account_id: String,
    pub name: String,
    pub state: CustomerState,
    pub person: Person,
    pub invitation_email: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, reseller_id, billing_account_id, name, state, person, invitation_email, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Customer, Error> {
    let state: String = row.try_get("state").db()?;
    let person: String = row.try_get("person").db()?;
    Ok(Customer {
        id: row.try_get("id").db()?,
        reseller_id: row.try_get("reseller_id").db()?,
        billing_account_id: row.try_get("billing_account_id").db()?,
        name: row.try_get("name").db()?,
        state: CustomerState::parse(&state)
            .ok_or_else(|| Error::internal(format!("unknown customer state {state:?}")))?,
        person: serde_json::from_str(&person).map_err(Error::internal)?,
        invitation_email: row.try_get("invitation_email").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").db()?),
    })
}

pub async fn insert(conn: &mut Conn, c: &Customer) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO customers (id, reseller_id, billing_account_id, name, state, person, \
         invitation_email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&c.id)
    .bind(&c.reseller_id)
    .bind(&c.billing_account_id)
    .bind(&c.name)
    .bind(c.state.as_str())
    .bind(serde_json::to_string(&c.person).map_err(Error::internal)?)
    .bind(c.invitation_email.as_deref())
    .bind(c.created_at.micros())
    .bind(c.updated_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Customer>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM customers WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// One page of a reseller's customers in id order, after `after`.
pub async fn list(
    conn: &mut Conn,
    reseller_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Customer>, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM customers WHERE reseller_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(reseller_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(from_row).collect()
}

/// Moves a customer from `from` to `to` and its billing account's `active` with
/// it. Returns false when the customer was no longer in `from` (a concurrent
/// change won), so the caller can report the state it really is in.
pub async fn transition(
    conn: &mut Conn,
    customer: &Customer,
    from: CustomerState,
    to: CustomerState,
    now: Timestamp,
) -> Result<bool, Error> {
    let moved = sqlx::query(
        "UPDATE customers SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to.as_str())
    .bind(now.micros())
    .bind(&customer.id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await
    .db()?;
    if moved.rows_affected() == 0 {
        return Ok(false);
    }
    crate::billing_accounts::set_active(conn, &customer.billing_account_id, to.account_active())
        .await?;
    Ok(true)
}
