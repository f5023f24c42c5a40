//! SQLite's writers take turns on one connection and share its transaction (group
//! commit). The request that opens the transaction works in it directly; each
//! request that joins it works in a savepoint. A request whose work is done
//! releases its savepoint and waits, and one COMMIT, with its one wait for the
//! disk, acknowledges every request released since the last. A joiner that fails
//! rolls back only its own savepoint; the opener that fails, the transaction, which
//! holds nobody else's work yet. The opener takes no savepoint because a request
//! alone (the common case at low load) would otherwise pay two statements more.
//!
//! Who commits: each released request queues for the writer's turn once more (the
//! queue is fair), so the writers already waiting add their work first. The first
//! of them to get the turn back commits for all, and the others find their
//! transaction committed. With no other writer waiting, a request commits at once.

use crate::db::{DbResult, RETRY_AFTER_SECONDS, commit_error, driver_error};
use kopek_domain::Error;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, SqlSafeStr};
use sqlx_core::transaction::TransactionManager;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

type Manager = <Any as sqlx::Database>::TransactionManager;

pub(crate) type Gate = Arc<Mutex<Writer>>;

pub(crate) struct Writer {
    /// The connection whose transaction is open, from its BEGIN to its COMMIT.
    open: Option<PoolConnection<Any>>,
    /// The open (or next) shared transaction, so that a request about to commit
    /// its own can tell whether another request already has.
    batch: u64,
    /// Requests released into the open transaction, waiting for its COMMIT.
    pending: usize,
    /// Tells those requests how their transaction ended.
    outcome: watch::Sender<Option<Result<(), Error>>>,
    /// Turns taken and COMMITs made, for the tests and the operator.
    pub(crate) turns: u64,
    pub(crate) commits: u64,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer {
            open: None,
            batch: 0,
            pending: 0,
            outcome: watch::channel(None).0,
            turns: 0,
            commits: 0,
        }
    }
}

impl Writer {
    /// Ends the shared transaction and tells its requests how.
    fn end(&mut self, outcome: Result<(), Error>) {
        self.open = None;
        self.batch += 1;
        self.pending = 0;
        let told = std::mem::replace(&mut self.outcome, watch::channel(None).0);
        told.send_replace(Some(outcome));
    }

    /// Rolls back the work of a request that does not commit: its savepoint, if
    /// it took one. sqlx runs the statement before the connection's next one, so
    /// no await is needed (this runs in `Drop`). A shared transaction holding no
    /// one else's work ends too, so that the write lock is not kept while nobody
    /// writes.
    fn undo(&mut self, savepoint: bool) {
        let Some(conn) = self.open.as_mut() else {
            return;
        };
        if savepoint {
            Manager::start_rollback(conn);
        }
        if !savepoint || self.pending == 0 {
            Manager::start_rollback(conn);
            self.open = None;
        }
    }
}

/// One request's turn: its work in the shared transaction, and the writer's lock
/// for as long as the turn lasts.
pub(crate) struct Turn {
    writer: Option<OwnedMutexGuard<Writer>>,
    gate: Gate,
    /// Whether the request joined an open transaction, in a savepoint of its own.
    savepoint: bool,
}

pub(crate) async fn begin(gate: &Gate, pool: &AnyPool, wait: Duration) -> Result<Turn, Error> {
    // Every writer of this process queues here while one waits out another
    // process's lock: each may wait as long as one would.
    let mut writer = tokio::time::timeout(wait, gate.clone().lock_owned())
        .await
        .map_err(|_| Error::Unavailable {
            retry_after: RETRY_AFTER_SECONDS,
            outcome_unknown: false,
            cause: "the SQLite write lock stayed taken".to_owned(),
        })?;
    writer.turns += 1;
    let savepoint = match writer.open.as_mut() {
        None => {
            let mut conn = pool.acquire().await.db()?;
            // IMMEDIATE takes the write lock at once, so a request that reads before
            // it writes cannot fail half-way with SQLITE_BUSY.
            Manager::begin(&mut conn, Some("BEGIN IMMEDIATE".into_sql_str()))
                .await
                .db()?;
            writer.open = Some(conn);
            false
        }
        Some(conn) => {
            if let Err(e) = Manager::begin(conn, None).await {
                if writer.pending == 0 {
                    // Nobody else's work is in the shared transaction: end it.
                    writer.undo(false);
                }
                return Err(driver_error(e));
            }
            true
        }
    };
    Ok(Turn {
        writer: Some(writer),
        gate: gate.clone(),
        savepoint,
    })
}

impl Turn {
    pub(crate) fn conn(&self) -> &AnyConnection {
        self.writer
            .as_ref()
            .and_then(|w| w.open.as_deref())
            .expect("a turn holds the open transaction")
    }

    pub(crate) fn conn_mut(&mut self) -> &mut AnyConnection {
        self.writer
            .as_mut()
            .and_then(|w| w.open.as_deref_mut())
            .expect("a turn holds the open transaction")
    }

    /// Releases the request's savepoint, if it took one, and returns once the
    /// shared transaction is committed: only then is the request's work kept.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        let mut writer = self.writer.take().expect("a turn holds the writer");
        let conn = writer
            .open
            .as_mut()
            .expect("a turn holds the open transaction");
        if self.savepoint
            && let Err(e) = Manager::commit(conn).await
        {
            writer.undo(true);
            return Err(driver_error(e));
        }
        writer.pending += 1;
        let batch = writer.batch;
        let mut outcome = writer.outcome.subscribe();
        drop(writer);
        // A task of its own, so that a request dropped while it waits (its client
        // gone) still gets the shared transaction committed, never left open.
        tokio::spawn(flush(self.gate.clone(), batch));
        let ended = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::internal("a shared SQLite transaction ended unannounced"))?
            .clone();
        ended.unwrap_or_else(|| {
            Err(Error::internal(
                "a shared SQLite transaction without an outcome",
            ))
        })
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            writer.undo(self.savepoint);
        }
    }
}

/// Commits the shared transaction `batch`, unless another request has already.
async fn flush(gate: Gate, batch: u64) {
    let mut writer = gate.lock_owned().await;
    if writer.batch != batch {
        return;
    }
    let Some(mut conn) = writer.open.take() else {
        writer.end(Err(Error::internal("a shared SQLite transaction was lost")));
        return;
    };
    let outcome = match Manager::commit(&mut conn).await {
        Ok(()) => {
            writer.commits += 1;
            Ok(())
        }
        Err(e) => {
            let error = commit_error(e);
            // A connection whose transaction state is unknown is not reused.
            if Manager::rollback(&mut conn).await.is_err() {
                let _ = conn.close().await;
            }
            Err(error)
        }
    };
    writer.end(outcome);
}
