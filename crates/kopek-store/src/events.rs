//! Events: what changed, for audit now and webhooks later. Written in the
//! transaction of the change.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
}

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
    .bind(now.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The events of one subject, oldest first.
pub async fn for_subject(conn: &mut Conn, subject: &str) -> Result<Vec<Event>, Error> {
    let rows = sqlx::query(
        "SELECT id, type, subject, payload, created_at FROM events WHERE subject = $1 ORDER BY id",
    )
    .bind(subject)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload").db()?;
            Ok(Event {
                id: row.try_get("id").db()?,
                kind: row.try_get("type").db()?,
                subject: row.try_get("subject").db()?,
                payload: serde_json::from_str(&payload).map_err(Error::internal)?,
                created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
            })
        })
        .collect()
}
