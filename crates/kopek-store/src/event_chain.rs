//! Events as a hash chain, as the audit log is: each sealed event has a link of
//! its own (`event_links`: its place from 1 without gaps, the hash of the event
//! sealed before it, and its own hash over that and its whole content). Events
//! are written unsealed, in any number of transactions at once (a trigger queues
//! each in `event_seal_queue`), and sealed afterwards in batches under the chain's
//! one head row, so sealing never forks the chain and writing an event waits for
//! nobody. The links sit beside the events, not in them, so an event row is
//! written once.

use crate::audit::{Head, head_of, link_hash, mark_verified_in};
use crate::db::{Conn, DbResult, Statement};
use crate::events::Queue;
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

/// An event with its link in the chain.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Sealed {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub id: String,
    pub kind: String,
    pub subject_type: String,
    pub subject: String,
    pub tenant_type: Option<String>,
    pub tenant_id: Option<String>,
    pub payload: String,
    pub data: Option<String>,
    pub created_at: Timestamp,
}

/// Links written by one statement (four parameters each).
const INSERT_BATCH: usize = 250;

const COLUMNS: &str = "id, type AS kind, subject_type, subject, tenant_type, tenant_id, \
                       payload, data, created_at";

impl Sealed {
    /// What the event's hash must be.
    pub fn link_hash(&self) -> String {
        link_hash(&[
            Some(self.prev_hash.as_bytes()),
            Some(&self.seq.to_be_bytes()),
            Some(self.id.as_bytes()),
            Some(self.kind.as_bytes()),
            Some(self.subject_type.as_bytes()),
            Some(self.subject.as_bytes()),
            self.tenant_type.as_deref().map(str::as_bytes),
            self.tenant_id.as_deref().map(str::as_bytes),
            Some(self.payload.as_bytes()),
            self.data.as_deref().map(str::as_bytes),
            Some(&self.created_at.micros().to_be_bytes()),
        ])
    }
}

#[derive(FromRow)]
struct Unsealed {
    id: String,
    kind: String,
    subject_type: String,
    subject: String,
    tenant_type: Option<String>,
    tenant_id: Option<String>,
    payload: String,
    data: Option<String>,
    created_at: Timestamp,
}

/// Seals up to `limit` events not sealed yet, oldest id first, in the caller's
/// transaction; returns how many. The head row is updated first, which holds
/// every other sealer until this transaction ends, and the events are read after
/// it, so two sealers never give one event two places.
pub async fn seal(conn: &mut Conn, limit: i64) -> Result<usize, Error> {
    let (mut seq, mut prev_hash): (i64, String) =
        sqlx::query_as("UPDATE event_chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await
            .db()?;
    let unsealed: Vec<Unsealed> = sqlx::query_as(Queue::Seal.oldest(COLUMNS, ""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .db()?;
    let sealed = unsealed.len();
    let mut links = Vec::with_capacity(sealed);
    for e in unsealed {
        seq += 1;
        let mut link = Sealed {
            seq,
            prev_hash,
            hash: String::new(),
            id: e.id,
            kind: e.kind,
            subject_type: e.subject_type,
            subject: e.subject,
            tenant_type: e.tenant_type,
            tenant_id: e.tenant_id,
            payload: e.payload,
            data: e.data,
            created_at: e.created_at,
        };
        link.hash = link.link_hash();
        prev_hash = link.hash.clone();
        links.push(link);
    }
    // A statement a few hundred events, not one each: on SQLite every statement
    // is a hand-off to the connection's thread, on the writer requests wait for.
    for chunk in links.chunks(INSERT_BATCH) {
        let sql = format!(
            "INSERT INTO event_links (seq, event_id, prev_hash, hash) VALUES {}",
            crate::db::row_marks(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for link in chunk {
            query = query
                .bind(link.seq)
                .bind(&link.id)
                .bind(&link.prev_hash)
                .bind(&link.hash);
        }
        query.run(&mut *conn).await?;
        let ids: Vec<&str> = chunk.iter().map(|link| link.id.as_str()).collect();
        Queue::Seal.remove(&mut *conn, &ids).await?;
    }
    if sealed > 0 {
        sqlx::query("UPDATE event_chain_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev_hash)
            .run(&mut *conn)
            .await?;
    }
    Ok(sealed)
}

/// Sealed events after position `after`, in the chain's order.
pub async fn after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<Sealed>, Error> {
    let sql = format!(
        "SELECT l.seq, l.prev_hash, l.hash, {COLUMNS} \
         FROM event_links l JOIN events e ON e.id = l.event_id \
         WHERE l.seq > $1 ORDER BY l.seq LIMIT $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}

/// How many events wait to be sealed.
pub async fn unsealed(conn: &mut Conn) -> Result<i64, Error> {
    Queue::Seal.len(conn).await
}

pub async fn head(conn: &mut Conn) -> Result<Head, Error> {
    head_of(conn, "event_chain_head").await
}

/// Records that the chain was found whole up to `seq`.
pub async fn mark_verified(conn: &mut Conn, seq: i64, at: Timestamp) -> Result<(), Error> {
    mark_verified_in(conn, "event_chain_head", seq, at).await
}
