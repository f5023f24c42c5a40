//! Invitations: emailed, expiring, single-use links. Only the token's hash is kept.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub customer_id: String,
    pub email: String,
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

const COLUMNS: &str = "id, customer_id, email, created_at, expires_at, used_at, superseded_at, \
                       delivery_state, delivered_at, delivery_error";

fn time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, Error> {
    Ok(row
        .try_get::<Option<i64>, _>(column)
        .db()?
        .map(Timestamp::from_micros))
}

fn from_row(row: &AnyRow) -> Result<Invitation, Error> {
    Ok(Invitation {
        id: row.try_get("id").db()?,
        customer_id: row.try_get("customer_id").db()?,
        email: row.try_get("email").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        expires_at: Timestamp::from_micros(row.try_get("expires_at").db()?),
        used_at: time(row, "used_at")?,
        superseded_at: time(row, "superseded_at")?,
        delivery_state: row.try_get("delivery_state").db()?,
        delivered_at: time(row, "delivered_at")?,
        delivery_error: row.try_get("delivery_error").db()?,
    })
}

pub async fn insert(conn: &mut Conn, inv: &Invitation, token_hash: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO invitations (id, customer_id, token_hash, email, created_at, expires_at, delivery_state) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
    )
    .bind(&inv.id)
    .bind(&inv.customer_id)
    .bind(token_hash)
    .bind(&inv.email)
    .bind(inv.created_at.micros())
    .bind(inv.expires_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn find_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<Invitation>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// Uses the invitation up; false when it was used or replaced meanwhile.
pub async fn mark_used(conn: &mut Conn, id: &str, now: Timestamp) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now.micros())
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// Retires every open invitation of a customer (before a fresh one is sent).
pub async fn supersede_open(
    conn: &mut Conn,
    customer_id: &str,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE invitations SET superseded_at = $1 \
         WHERE customer_id = $2 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now.micros())
    .bind(customer_id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Records how the invitation's mail went.
pub async fn record_delivery(
    conn: &mut Conn,
    id: &str,
    outcome: Result<(), &str>,
    now: Timestamp,
) -> Result<(), Error> {
    let (state, delivered_at, error) = match outcome {
        Ok(()) => ("sent", Some(now.micros()), None),
        Err(e) => ("failed", None, Some(e)),
    };
    sqlx::query(
        "UPDATE invitations SET delivery_state = $1, delivered_at = $2, delivery_error = $3 WHERE id = $4",
    )
    .bind(state)
    .bind(delivered_at)
    .bind(error)
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
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
