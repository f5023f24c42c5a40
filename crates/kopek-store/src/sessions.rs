//! Sign-in sessions (only token hashes are kept) and sign-in attempts.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::ids::UserId;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    /// `Session` or `Token`, as the client asked.
    pub kind: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Record for Session {
    const TABLE: &'static str = "sessions";
    const COLUMNS: &'static str = "id, user_id, kind, created_at, expires_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(self.user_id)
            .bind(&self.kind)
            .bind(self.created_at)
            .bind(self.expires_at)
    }
}

pub async fn insert(conn: &mut Conn, session: &Session, token_hash: &str) -> Result<(), Error> {
    crate::db::insert(conn, session, &[("token_hash", token_hash)])
        .await
        .db()
}

/// Ends every session and token of a user (after a password change).
pub async fn end_all(conn: &mut Conn, user_id: UserId) -> Result<u64, Error> {
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
    sqlx::query_as(select::<Session>(
        "WHERE token_hash = $1 AND expires_at > $2",
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    .db()
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
        .bind(now)
        .run(&mut *conn)
        .await?;
    let (n, oldest): (i64, Option<Timestamp>) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(at) AS oldest FROM sign_in_attempts WHERE login_key = $1 AND at > $2",
    )
    .bind(login_key)
    .bind(since)
    .fetch_one(conn)
    .await
    .db()?;
    Ok((id, n, oldest.unwrap_or(now)))
}

/// Takes back an attempt that was refused without checking a password, so that
/// hammering a locked login does not keep it locked.
pub async fn forget_attempt(conn: &mut Conn, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE id = $1")
        .bind(id)
        .run(conn)
        .await
}

/// Forgets a login's attempts (after a successful sign-in) and everyone's old ones.
pub async fn clear_attempts(
    conn: &mut Conn,
    login_key: &str,
    older_than: Timestamp,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE login_key = $1 OR at <= $2")
        .bind(login_key)
        .bind(older_than)
        .run(conn)
        .await
}
