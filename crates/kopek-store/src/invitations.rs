//! Invitations: emailed, expiring, single-use links. Only the token's hash is kept.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::contact::Email;
use kopek_domain::ids::CustomerId;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invitation {
    pub id: String,
    pub customer_id: CustomerId,
    pub email: Email,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// Set when a newer invitation replaced this one.
    pub superseded_at: Option<Timestamp>,
    /// `pending`, `sent` or `failed` (still retried until the outbox gives up).
    pub delivery_state: String,
    pub delivered_at: Option<Timestamp>,
    pub delivery_error: Option<String>,
}

/// Why a link no longer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Used,
    Superseded,
    Expired,
}

impl Invitation {
    pub fn usable(&self, now: Timestamp) -> Result<(), Unusable> {
        if self.used_at.is_some() {
            Err(Unusable::Used)
        } else if self.superseded_at.is_some() {
            Err(Unusable::Superseded)
        } else if self.expires_at <= now {
            Err(Unusable::Expired)
        } else {
            Ok(())
        }
    }
}

impl Record for Invitation {
    const TABLE: &'static str = "invitations";
    const COLUMNS: &'static str = "id, customer_id, email, created_at, expires_at, used_at, \
        superseded_at, delivery_state, delivered_at, delivery_error";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.customer_id)
            .bind(&self.email)
            .bind(self.created_at)
            .bind(self.expires_at)
            .bind(self.used_at)
            .bind(self.superseded_at)
            .bind(&self.delivery_state)
            .bind(self.delivered_at)
            .bind(&self.delivery_error)
    }
}

pub async fn insert(conn: &mut Conn, inv: &Invitation, token_hash: &str) -> Result<(), Error> {
    crate::db::insert(conn, inv, &[("token_hash", token_hash)])
        .await
        .db()
}

pub async fn find_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<Invitation>, Error> {
    sqlx::query_as(select::<Invitation>("WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(conn)
        .await
        .db()
}

/// Uses the invitation up; false when it was used or replaced meanwhile.
pub async fn mark_used(conn: &mut Conn, id: &str, now: Timestamp) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE invitations SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .changed_one(conn).await
}

/// Retires every open invitation of a customer (before a fresh one is sent).
pub async fn supersede_open(
    conn: &mut Conn,
    customer_id: &CustomerId,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE invitations SET superseded_at = $1 \
         WHERE customer_id = $2 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now)
    .bind(customer_id)
    .run(conn)
    .await
}

/// Records how the invitation's mail went.
pub async fn record_delivery(
    conn: &mut Conn,
    id: &str,
    outcome: Result<(), &str>,
    now: Timestamp,
) -> Result<(), Error> {
    let (state, delivered_at, error) = match outcome {
        Ok(()) => ("sent", Some(now), None),
        Err(e) => ("failed", None, Some(e)),
    };
    sqlx::query(
        "UPDATE invitations SET delivery_state = $1, delivered_at = $2, delivery_error = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(delivered_at)
    .bind(error)
    .bind(id)
    .run(conn)
    .await
}

/// The outbox kind that mails an invitation.
pub const MAIL_KIND: &str = "invitation-mail";

/// The payload of an invitation mail in the outbox. It holds the plain link until
/// the mail is sent; the worker then blanks the payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub invitation_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The newest invitation of each of `customers` that has one.
pub async fn newest_of(
    conn: &mut Conn,
    customers: &[CustomerId],
) -> Result<Vec<Invitation>, Error> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=customers.len()).map(|i| format!("${i}")).collect();
    let mut query = sqlx::query_as::<_, Invitation>(select::<Invitation>(&format!(
        "WHERE customer_id IN ({}) ORDER BY customer_id, created_at DESC, id DESC",
        params.join(", ")
    )));
    for customer in customers {
        query = query.bind(customer);
    }
    let mut all = query.fetch_all(conn).await.db()?;
    all.dedup_by(|later, newest| later.customer_id == newest.customer_id);
    Ok(all)
}
