//! Idempotency keys. The key is claimed inside the write transaction of the request
//! and the response saved in that same transaction, so a response is stored exactly
//! when its work is committed. A failed request rolls back and leaves the key free.

use crate::db::{Conn, DbResult, Statement};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

/// How long a key is remembered.
pub const TTL_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use: do the work, then [`save`] the response before committing.
    Fresh,
    /// Seen before with the same request: answer with this.
    Replay(StoredResponse),
    /// Seen before with a different request.
    Mismatch,
}

/// Claims `key` for `caller`. On PostgreSQL a concurrent claim of the same key waits
/// here on the unique index until the first transaction ends, then sees its response.
pub async fn claim(
    conn: &mut Conn,
    caller: &str,
    key: &str,
    request_hash: &str,
    now: Timestamp,
) -> Result<Claim, Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE caller = $1 AND idem_key = $2 AND expires_at <= $3",
    )
    .bind(caller)
    .bind(key)
    .bind(now)
    .run(&mut *conn)
    .await?;
    if sqlx::query(
        "INSERT INTO idempotency_keys (caller, idem_key, request_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, idem_key) DO NOTHING",
    )
    .bind(caller)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(now.plus_seconds(TTL_SECONDS))
    .changed_one(&mut *conn)
    .await?
    {
        return Ok(Claim::Fresh);
    }
    recorded(conn, caller, key, request_hash, now)
        .await?
        .ok_or_else(|| Error::internal("an idempotency key vanished while claimed"))
}

/// What a key already holds for this caller, without claiming it: a replay, a
/// mismatch, or None when the key is unused (or its first request is still running).
pub async fn recorded(
    conn: &mut Conn,
    caller: &str,
    key: &str,
    request_hash: &str,
    now: Timestamp,
) -> Result<Option<Claim>, Error> {
    let row: Option<Recorded> = sqlx::query_as(
        "SELECT request_hash, status, content_type, body FROM idempotency_keys \
         WHERE caller = $1 AND idem_key = $2 AND expires_at > $3",
    )
    .bind(caller)
    .bind(key)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some(row) = row else {
        return Ok(None);
    };
    if row.request_hash != request_hash {
        return Ok(Some(Claim::Mismatch));
    }
    let Some(status) = row.status.and_then(|s| u16::try_from(s).ok()) else {
        // Claimed by a request still in flight: not a replay yet.
        return Ok(None);
    };
    Ok(Some(Claim::Replay(StoredResponse {
        status,
        content_type: row.content_type,
        body: row.body.unwrap_or_default(),
    })))
}

/// A key's row; the response columns are empty while its request runs.
#[derive(FromRow)]
struct Recorded {
    request_hash: String,
    status: Option<i64>,
    content_type: Option<String>,
    body: Option<String>,
}

/// Stores the response of a [`Claim::Fresh`] key, in the work's transaction.
pub async fn save(
    conn: &mut Conn,
    caller: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 \
         WHERE caller = $4 AND idem_key = $5",
    )
    .bind(i64::from(response.status))
    .bind(response.content_type.as_deref())
    .bind(&response.body)
    .bind(caller)
    .bind(key)
    .run(conn)
    .await
}

/// Forgets expired keys; returns how many.
pub async fn purge_expired(conn: &mut Conn, now: Timestamp) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await
        .db()?;
    Ok(done.rows_affected())
}
