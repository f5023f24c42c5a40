//! The outbox: side effects (emails, webhooks) written as rows in the same
//! transaction as the change that causes them, then carried out by workers.
//!
//! A worker claims due rows with a lease. While the lease holds no other worker,
//! in this process or another on the same database, can claim the row; a worker
//! that dies simply lets its lease run out. Finishing a row checks that the lease
//! is still the worker's own, so a late worker cannot overwrite a newer attempt.

use crate::db::{Backend, Conn, DbResult, Statement, Store};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// After this many failed attempts a row is given up (state `dead`).
pub const MAX_ATTEMPTS: i64 = 10;

/// Seconds to wait after failed attempt number `attempt` (1-based): 5 s doubling up to
/// one hour; `None` once the attempts are spent.
pub fn backoff_seconds(attempt: i64) -> Option<i64> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let exp = u32::try_from(attempt.clamp(1, 30) - 1).unwrap_or(0);
    Some(5i64.saturating_mul(1i64 << exp).min(3600))
}

/// When a lease taken at `now` runs out.
pub(crate) fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    now.plus_seconds(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX))
}

/// The statement that leases the pending rows of a queue `table` that `pick`
/// selects (by `id`, `LIMIT` included): `$1` the worker, `$2` the lease's end, `$3`
/// now. On PostgreSQL, SKIP LOCKED lets concurrent workers take different rows and
/// the rows are picked once (a materialized CTE: a subquery in `IN` may be scanned
/// again and take more than its limit); on SQLite writers take turns. The repeated
/// conditions guard rows re-read after a wait.
pub(crate) fn lease_sql(backend: Backend, table: &str, pick: &str, returning: &str) -> String {
    let (with, candidates) = match backend {
        Backend::Sqlite => (String::new(), pick.to_owned()),
        Backend::Postgres => (
            format!("WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "),
            "SELECT id FROM picked".to_owned(),
        ),
    };
    format!(
        "{with}UPDATE {table} SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE id IN ({candidates}) AND state = 'pending' \
         AND (lease_until IS NULL OR lease_until < $3) RETURNING {returning}"
    )
}

/// Gives up the leases `worker` holds on the pending rows of a queue `table` (the
/// outbox, webhook deliveries), so a process restarted under its old name takes
/// back at once what its previous run had claimed when it died.
pub(crate) async fn release_leases(store: &Store, table: &str, worker: &str) -> Result<u64, Error> {
    let released = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = $1 AND state = 'pending'"
    )))
    .bind(worker)
    .execute(store.pool())
    .await
    .db()?;
    Ok(released.rows_affected())
}

/// Adds a row to the outbox, in the caller's transaction, due at once. Queues run
/// on the machine's clock, never the business time (which the test clock moves
/// ahead: a row due then would wait for the real time to catch up).
pub async fn enqueue(
    conn: &mut Conn,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<String, Error> {
    enqueue_many(conn, kind, std::slice::from_ref(payload))
        .await?
        .pop()
        .ok_or_else(|| Error::internal("a row queued, no id answered"))
}

/// [`enqueue`] many rows of one kind, in one statement; answers their ids.
pub async fn enqueue_many(
    conn: &mut Conn,
    kind: &str,
    payloads: &[serde_json::Value],
) -> Result<Vec<String>, Error> {
    if payloads.is_empty() {
        return Ok(Vec::new());
    }
    let now = Timestamp::now();
    // $1 the kind, $2 now; then an id and a payload a row.
    let rows = (0..payloads.len())
        .map(|i| format!("(${}, $1, ${}, 'pending', 0, $2, $2)", 3 + 2 * i, 4 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO outbox (id, kind, payload, state, attempts, next_attempt_at, created_at) \
         VALUES {rows}"
    );
    let ids: Vec<String> = payloads
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind).bind(now);
    for (id, payload) in ids.iter().zip(payloads) {
        query = query.bind(id).bind(payload.to_string());
    }
    query.run(conn).await?;
    Ok(ids)
}

/// A row claimed by a worker for one attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub payload: String,
    /// The attempt number this claim is; also the fencing token of the lease.
    #[sqlx(rename = "attempts")]
    pub attempt: i64,
}

/// What the outbox holds about one row (for operators and tests).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RowState {
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// (The limit is cast for SQLite, as in `events::Queue::oldest`.)
const DUE: &str = "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $3 \
     AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id \
     LIMIT CAST($4 AS BIGINT)";

impl Store {
    /// Claims up to `limit` due rows for `worker` until `now + lease`.
    pub async fn outbox_claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: i64,
        now: Timestamp,
    ) -> Result<Vec<Claimed>, Error> {
        let sql = lease_sql(self.backend(), "outbox", DUE, "id, kind, payload, attempts");
        let lease_until = lease_end(now, lease);
        let mut tx = self.begin().await?;
        let mut claimed: Vec<Claimed> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .db()?;
        tx.commit().await?;
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    /// Extends `claimed`'s lease to `now + lease` just before it is worked on, so a
    /// row that waited behind slow ones in its batch is not also taken by another
    /// worker. False when another worker claimed it meanwhile (its lease had run
    /// out); a lapsed lease nobody took is simply extended.
    pub async fn outbox_renew(
        &self,
        claimed: &Claimed,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let lease_until = lease_end(now, lease);
        let renewed = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND attempts = $4 \
             AND state = 'pending'",
        )
        .bind(lease_until)
        .bind(&claimed.id)
        .bind(worker)
        .bind(claimed.attempt)
        .execute(self.pool())
        .await
        .db()?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Gives up the leases `worker` holds: a process restarted under its old name
    /// takes back at once what its previous run had claimed when it died.
    pub async fn outbox_release(&self, worker: &str) -> Result<u64, Error> {
        release_leases(self, "outbox", worker).await
    }

    /// Records the attempt and its outcome: `Ok` finishes the row, `Err` schedules a
    /// retry with backoff or gives up. A finished row's payload is blanked when it
    /// held a secret (`redact`). Returns false when the lease was lost.
    pub async fn outbox_finish(
        &self,
        claimed: &Claimed,
        worker: &str,
        started: Timestamp,
        outcome: Result<(), String>,
        redact: bool,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let mut tx = self.begin().await?;
        let (state, next_attempt_at, error) = match &outcome {
            Ok(()) => ("done", now, None),
            Err(e) => match backoff_seconds(claimed.attempt) {
                Some(wait) => ("pending", now.plus_seconds(wait), Some(e.as_str())),
                None => ("dead", now, Some(e.as_str())),
            },
        };
        let finished_at = (state != "pending").then_some(now);
        if !sqlx::query(
            "UPDATE outbox SET state = $1, next_attempt_at = $2, last_error = $3, finished_at = $4, \
             lease_owner = NULL, lease_until = NULL, \
             payload = CASE WHEN $8 = 1 AND $1 <> 'pending' THEN '{}' ELSE payload END \
             WHERE id = $5 AND lease_owner = $6 AND attempts = $7 AND state = 'pending'",
        )
        .bind(state)
        .bind(next_attempt_at)
        .bind(error)
        .bind(finished_at)
        .bind(&claimed.id)
        .bind(worker)
        .bind(claimed.attempt)
        .bind(i64::from(redact))
        .changed_one(&mut tx)
        .await?
        {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO outbox_attempts (outbox_id, attempt, worker, started_at, finished_at, error) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&claimed.id)
        .bind(claimed.attempt)
        .bind(worker)
        .bind(started)
        .bind(now)
        .bind(error)
        .run(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn outbox_row(&self, id: &str) -> Result<Option<RowState>, Error> {
        sqlx::query_as("SELECT state, attempts, last_error FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .db()
    }

    /// How many attempts were recorded for a row.
    pub async fn outbox_attempt_count(&self, id: &str) -> Result<i64, Error> {
        sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM outbox_attempts WHERE outbox_id = $1",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await
        .db()
    }
}

/// Carries out one kind of outbox row. `Err` is retried with backoff.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, payload: &str) -> Result<(), String>;

    /// Whether payloads hold secrets (a link with a token) to blank once handled.
    fn sensitive(&self) -> bool {
        false
    }
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    id: String,
    handlers: HashMap<String, Arc<dyn Handler>>,
    lease: Duration,
    batch: i64,
    poll: Duration,
}

impl Worker {
    pub fn new(store: Store) -> Worker {
        Worker {
            store,
            id: format!("worker-{}", uuid::Uuid::new_v4()),
            handlers: HashMap::new(),
            lease: Duration::from_secs(60),
            // Small batches: rows wait less behind each other (each is renewed
            // anyway before it is worked on).
            batch: 4,
            poll: Duration::from_millis(500),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn with_handler(mut self, kind: &str, handler: Arc<dyn Handler>) -> Worker {
        self.handlers.insert(kind.to_owned(), handler);
        self
    }

    /// The name leases are held under. A process that keeps its name across
    /// restarts takes back its own leases at once (see [`Worker::run`]).
    pub fn with_id(mut self, id: impl Into<String>) -> Worker {
        self.id = id.into();
        self
    }

    pub fn with_lease(mut self, lease: Duration) -> Worker {
        self.lease = lease;
        self
    }

    pub fn with_poll_interval(mut self, poll: Duration) -> Worker {
        self.poll = poll;
        self
    }

    /// Claims one batch and works through it; returns how many rows it attempted.
    pub async fn run_once(&self) -> Result<usize, Error> {
        let claimed = self
            .store
            .outbox_claim(&self.id, self.lease, self.batch, Timestamp::now())
            .await?;
        for row in &claimed {
            if !self
                .store
                .outbox_renew(row, &self.id, self.lease, Timestamp::now())
                .await?
            {
                tracing::info!(outbox_id = %row.id, "outbox lease ran out while the row waited; another worker has it");
                continue;
            }
            let started = Timestamp::now();
            let handler = self.handlers.get(&row.kind);
            let outcome = match handler {
                // The handler must finish well inside the lease, or another worker
                // could take the row while it still runs.
                Some(handler) => {
                    match tokio::time::timeout(self.lease / 2, handler.handle(&row.payload)).await {
                        Ok(outcome) => outcome,
                        Err(_) => Err("timed out".to_owned()),
                    }
                }
                None => Err(format!("no handler for outbox kind {:?}", row.kind)),
            };
            if let Err(e) = &outcome {
                tracing::warn!(outbox_id = %row.id, kind = %row.kind, attempt = row.attempt, error = %e, "outbox attempt failed");
            }
            if !self
                .store
                .outbox_finish(
                    row,
                    &self.id,
                    started,
                    outcome,
                    handler.is_some_and(|h| h.sensitive()),
                    Timestamp::now(),
                )
                .await?
            {
                tracing::warn!(outbox_id = %row.id, "outbox lease lost before the attempt was recorded");
            }
        }
        Ok(claimed.len())
    }

    /// Works until `shutdown`, polling when idle. A batch in progress is finished.
    pub async fn run(self, shutdown: CancellationToken) {
        match self.store.outbox_release(&self.id).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(worker = %self.id, rows = n, "took back the rows this worker's previous run had leased")
            }
            Err(e) => tracing::warn!(error = %e, "could not release this worker's old leases"),
        }
        tracing::info!(worker = %self.id, "outbox worker started");
        loop {
            let worked = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "outbox worker failed to claim");
                    0
                }
            };
            if worked > 0 && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
        tracing::info!(worker = %self.id, "outbox worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_then_gives_up() {
        assert_eq!(backoff_seconds(1), Some(5));
        assert_eq!(backoff_seconds(2), Some(10));
        assert_eq!(backoff_seconds(5), Some(80));
        assert_eq!(backoff_seconds(9), Some(1280));
        assert_eq!(backoff_seconds(MAX_ATTEMPTS), None);
        assert_eq!(backoff_seconds(0), Some(5));
    }
}
