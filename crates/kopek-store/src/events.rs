//! Events: what changed, for audit now and webhooks later. Written in the
//! transaction of the change.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;

pub async fn record(
    conn: &mut Conn,
    kind: &str,
    subject: &str,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO events (id, type, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(kind)
    .bind(subject)
    .bind(payload.to_string())
    .bind(now)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}
