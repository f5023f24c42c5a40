//! Sign-in sessions (only token hashes are kept) and failed sign-in attempts.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    /// `Session` or `Token`, as the client asked.
    pub kind: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert(conn: &mut Conn, session: &Session, token_hash: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&session.id)
    .bind(token_hash)
    .bind(session.user_id)
    .bind(&session.kind)
    .bind(session.created_at.micros())
    .bind(session.expires_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The unexpired session with this token hash.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<Session>, Error> {
    let row = sqlx::query(
        "SELECT id, user_id, kind, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now.micros())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(|row| {
        Ok(Session {
            id: row.try_get("id").db()?,
            user_id: row.try_get("user_id").db()?,
            kind: row.try_get("kind").db()?,
            created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
            expires_at: Timestamp::from_micros(row.try_get("expires_at").db()?),
        })
    })
    .transpose()
}

pub async fn record_failure(conn: &mut Conn, login_key: &str, now: Timestamp) -> Result<(), Error> {
    sqlx::query("INSERT INTO sign_in_failures (login_key, at) VALUES ($1, $2)")
        .bind(login_key)
        .bind(now.micros())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Failed attempts for a login since `since`, and the newest one's time.
pub async fn failures_since(
    conn: &mut Conn,
    login_key: &str,
    since: Timestamp,
) -> Result<(i64, Option<Timestamp>), Error> {
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(at) AS newest FROM sign_in_failures WHERE login_key = $1 AND at > $2",
    )
    .bind(login_key)
    .bind(since.micros())
    .fetch_one(conn)
    .await
    .db()?;
    Ok((
        row.try_get("n").db()?,
        row.try_get::<Option<i64>, _>("newest")
            .db()?
            .map(Timestamp::from_micros),
    ))
}

/// Forgets a login's failures (after a successful sign-in) and everyone's old ones.
pub async fn clear_failures(
    conn: &mut Conn,
    login_key: &str,
    older_than: Timestamp,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE login_key = $1 OR at <= $2")
        .bind(login_key)
        .bind(older_than.micros())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
