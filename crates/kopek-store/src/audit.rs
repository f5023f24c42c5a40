//! The audit log, a hash chain: each entry's `hash` is the SHA-256 of the entry
//! before it (its `hash`) and of its own content, so an entry changed in place,
//! removed, or put between two others shows as the first link that no longer
//! holds. The chain's end is kept apart (`audit_head`), so entries cut from the
//! end show too.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

/// The hash the first entry follows.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Entry {
    /// The position in the chain, from 1, without gaps.
    pub seq: i64,
    pub at: Timestamp,
    /// The API key (or operator) that made the change.
    pub actor: String,
    pub address: Option<String>,
    /// The request: method and target, such as `POST /admin/v1/api-keys`.
    pub action: String,
    /// The HTTP status it was answered with.
    pub status: i64,
    /// The object as the API showed it before the change, where there was one.
    pub before_state: Option<String>,
    /// The answer: the object as the API shows it after the change (secrets
    /// shown once are not in it).
    pub after_state: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Record for Entry {
    const TABLE: &'static str = "audit_log";
    const COLUMNS: &'static str = "seq, at, actor, address, action, status, before_state, \
                                   after_state, prev_hash, hash";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.seq)
            .bind(self.at)
            .bind(&self.actor)
            .bind(&self.address)
            .bind(&self.action)
            .bind(self.status)
            .bind(&self.before_state)
            .bind(&self.after_state)
            .bind(&self.prev_hash)
            .bind(&self.hash)
    }
}

/// A link's hash: over the previous hash and every other field, each
/// length-prefixed (an absent value apart from an empty one), so that no two
/// different contents hash alike by moving a separator.
pub(crate) fn link_hash(fields: &[Option<&[u8]>]) -> String {
    let mut h = Sha256::new();
    for value in fields {
        match value {
            Some(bytes) => {
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(bytes);
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    hex::encode(h.finalize())
}

impl Entry {
    /// What the entry's hash must be (see [`link_hash`]).
    pub fn link_hash(&self) -> String {
        link_hash(&[
            Some(self.prev_hash.as_bytes()),
            Some(&self.seq.to_be_bytes()),
            Some(&self.at.micros().to_be_bytes()),
            Some(self.actor.as_bytes()),
            self.address.as_deref().map(str::as_bytes),
            Some(self.action.as_bytes()),
            Some(&self.status.to_be_bytes()),
            self.before_state.as_deref().map(str::as_bytes),
            self.after_state.as_deref().map(str::as_bytes),
        ])
    }
}

/// An entry to append: everything but its place in the chain.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub at: Timestamp,
    pub actor: String,
    pub address: Option<String>,
    pub action: String,
    pub status: u16,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

/// Appends an entry in the caller's transaction. Taking the next position updates
/// the chain's one head row, which holds every other appender until this
/// transaction ends: the entry links to the one committed before it.
pub async fn append(conn: &mut Conn, new: NewEntry) -> Result<Entry, Error> {
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await
            .db()?;
    let mut entry = Entry {
        seq,
        at: new.at,
        actor: new.actor,
        address: new.address,
        action: new.action,
        status: i64::from(new.status),
        before_state: new.before_state,
        after_state: new.after_state,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.link_hash();
    crate::db::insert(&mut *conn, &entry, &[]).await.db()?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&entry.hash)
        .run(&mut *conn)
        .await?;
    Ok(entry)
}

/// Entries after position `after`, oldest first.
pub async fn after(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<Entry>, Error> {
    sqlx::query_as(select::<Entry>("WHERE seq > $1 ORDER BY seq LIMIT $2"))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}

/// Which entries a listing holds: by actor (exact) and by action (containing).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// The newest entries first, before position `before` (from the newest when
/// `None`), that `filter` keeps.
pub async fn newest(
    conn: &mut Conn,
    before: Option<i64>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    sqlx::query_as(select::<Entry>(
        "WHERE seq < $1 AND ($2 = '' OR actor = $2) \
         AND ($3 = '' OR action LIKE $4 ESCAPE '\\') ORDER BY seq DESC LIMIT $5",
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(filter.actor.as_deref().unwrap_or_default())
    .bind(filter.action.as_deref().unwrap_or_default())
    .bind(crate::db::containing(
        filter.action.as_deref().unwrap_or_default(),
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// The chain's end as recorded, and how far it was last found whole.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub verified_seq: i64,
    pub verified_at: Option<Timestamp>,
}

pub async fn head(conn: &mut Conn) -> Result<Head, Error> {
    head_of(conn, "audit_head").await
}

/// Records that the chain was found whole up to `seq`.
pub async fn mark_verified(conn: &mut Conn, seq: i64, at: Timestamp) -> Result<(), Error> {
    mark_verified_in(conn, "audit_head", seq, at).await
}

/// The end row of a chain (`audit_head` or `event_chain_head`).
pub(crate) async fn head_of(conn: &mut Conn, table: &'static str) -> Result<Head, Error> {
    let sql = format!("SELECT seq, hash, verified_seq, verified_at FROM {table} WHERE id = 1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .db()
}

pub(crate) async fn mark_verified_in(
    conn: &mut Conn,
    table: &'static str,
    seq: i64,
    at: Timestamp,
) -> Result<(), Error> {
    let sql = format!("UPDATE {table} SET verified_seq = $1, verified_at = $2 WHERE id = 1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(seq)
        .bind(at)
        .run(conn)
        .await
}
