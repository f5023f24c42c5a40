//! Sign-in sessions (only token hashes are kept) and sign-in attempts.

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

/// Ends every session and token of a user (after a password change).
pub async fn end_all(conn: &mut Conn, user_id: i64) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .db()?;
    Ok(done.rows_affected())
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

/// Counts a sign-in attempt for a login before its password is checked: the row is
/// committed on its own, then every attempt in the window is counted, so of any
/// number of concurrent attempts only as many as the limit see a count within it.
/// Returns the attempt's id, how many attempts (in flight or failed) the window
/// holds with this one, and when the oldest of them was made.
pub async fn begin_attempt(
    conn: &mut Conn,
    login_key: &str,
    now: Timestamp,
    since: Timestamp,
) -> Result<(String, i64, Timestamp), Error> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO sign_in_attempts (id, login_key, at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(login_key)
        .bind(now.micros())
        .execute(&mut *conn)
        .await
        .db()?;
    let row = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(at) AS oldest FROM sign_in_attempts WHERE login_key = $1 AND at > $2",
    )
    .bind(login_key)
    .bind(since.micros())
    .fetch_one(conn)
    .await
    .db()?;
    let oldest: Option<i64> = row.try_get("oldest").db()?;
    Ok((
        id,
        row.try_get("n").db()?,
        Timestamp::from_micros(oldest.unwrap_or(now.micros())),
    ))
}

/// Takes back an attempt that was refused without checking a password, so that
/// hammering a locked login does not keep it locked.
pub async fn forget_attempt(conn: &mut Conn, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .db()?;
    Ok(())
}

/// Forgets a login's attempts (after a successful sign-in) and everyone's old ones.
pub async fn clear_attempts(
    conn: &mut Conn,
    login_key: &str,
    older_than: Timestamp,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE login_key = $1 OR at <= $2")
        .bind(login_key)
        .bind(older_than.micros())
        .execute(conn)
        .await
        .db()?;
    Ok(())
}
