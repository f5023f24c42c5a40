//! Customers of resellers.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::contact::Email;
use kopek_domain::customer::{CustomerState, Person};
use kopek_domain::ids::{BillingAccountId, CustomerId};
use kopek_domain::sql::Json;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Customer {
    pub id: CustomerId,
    pub reseller_id: BillingAccountId,
    pub billing_account_id: BillingAccountId,
    pub name: String,
    pub state: CustomerState,
    #[sqlx(try_from = "Json<Person>")]
    pub person: Person,
    pub invitation_email: Option<Email>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Customer {
    const TABLE: &'static str = "customers";
    const COLUMNS: &'static str = "id, reseller_id, billing_account_id, name, state, person, \
        invitation_email, created_at, updated_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.reseller_id)
            .bind(&self.billing_account_id)
            .bind(&self.name)
            .bind(self.state)
            .bind(Json(&self.person))
            .bind(&self.invitation_email)
            .bind(self.created_at)
            .bind(self.updated_at)
    }
}

pub async fn insert(conn: &mut Conn, c: &Customer) -> Result<(), Error> {
    crate::db::insert(conn, c, &[]).await.db()
}

pub async fn get(conn: &mut Conn, id: &CustomerId) -> Result<Option<Customer>, Error> {
    crate::db::by_key(conn, id).await
}

/// One page of a reseller's customers in id order, after `after`.
pub async fn list(
    conn: &mut Conn,
    reseller_id: &BillingAccountId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Customer>, Error> {
    sqlx::query_as(select::<Customer>(
        "WHERE reseller_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    ))
    .bind(reseller_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
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
    if !sqlx::query("UPDATE customers SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
        .bind(to)
        .bind(now)
        .bind(&customer.id)
        .bind(from)
        .changed_one(&mut *conn)
        .await?
    {
        return Ok(false);
    }
    crate::billing_accounts::set_active(conn, &customer.billing_account_id, to.account_active())
        .await?;
    Ok(true)
}
