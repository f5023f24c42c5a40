use kopek_domain::Error;
use rand::RngCore;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, SqlSafeStr};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A write transaction. On PostgreSQL, a transaction of its own. On SQLite, a turn
/// of this process's one writer: a savepoint in the transaction that requests
/// share, committed together (group commit, `writer.rs`).
pub struct Tx {
    inner: TxInner,
}

enum TxInner {
    Postgres(sqlx::Transaction<'static, Any>),
    Sqlite(crate::writer::Turn),
}

impl Tx {
    /// Commits; returns once the work is durable. A connection lost while the
    /// commit was under way leaves its outcome unknown, and the error says so: the
    /// client is to send the request again with its idempotency key, which the
    /// transaction claimed, so it takes effect once.
    pub async fn commit(self) -> Result<(), Error> {
        match self.inner {
            TxInner::Postgres(tx) => tx.commit().await.map_err(commit_error),
            TxInner::Sqlite(turn) => turn.commit().await,
        }
    }
}

/// A COMMIT that failed, as the domain sees it.
pub(crate) fn commit_error(e: sqlx::Error) -> Error {
    let lost = connection_lost(&e);
    let mut error = driver_error(e);
    if let Error::Unavailable {
        outcome_unknown, ..
    } = &mut error
    {
        *outcome_unknown = lost;
    }
    error
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            TxInner::Postgres(tx) => tx,
            TxInner::Sqlite(turn) => turn.conn(),
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            TxInner::Postgres(tx) => tx,
            TxInner::Sqlite(turn) => turn.conn_mut(),
        }
    }
}
/// What queries run on: a pooled connection or a transaction (`&mut *tx`).
pub type Conn = AnyConnection;

/// A savepoint in the transaction `conn` is in: what is done in it is undone
/// alone when it is rolled back (or dropped), and the transaction goes on.
pub async fn savepoint(conn: &mut Conn) -> Result<sqlx::Transaction<'_, Any>, Error> {
    sqlx::Connection::begin(conn).await.db()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQLite runs each connection on a thread of its own and has one writer at a
    /// time: past a few connections per core, more only add thread switches (on two
    /// cores, a pool of 8 served 25 to 75% more than one of 32; BENCHMARKS.md).
    pub fn default_pool_size(self) -> u32 {
        match self {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    /// The pool size; the backend's default when `None`.
    pub max_connections: Option<u32>,
    /// How long to wait for a connection, or on SQLite for the write lock, before
    /// the database counts as unavailable.
    pub wait: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
}

/// SQLite's `synchronous` setting: whether a commit waits until the WAL is on disk
/// (`Full`: an acknowledged write survives a power loss) or only until it is
/// handed to the operating system (`Normal`: a crash of Kopek loses nothing, a
/// power loss may lose the last commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

impl SqliteSynchronous {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }
}

impl StoreOptions {
    /// The defaults `kopek serve` has, for a URL.
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions {
            url: url.into(),
            max_connections: None,
            wait: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Full,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time. Queueing this process's writers here, rather
    /// than in SQLite's busy handler (which sleeps and retries), hands the lock on the
    /// moment it is free, and lets them share commits. Other processes still wait in
    /// the busy handler.
    writer: crate::writer::Gate,
    /// How long a request waits for the database before it is unavailable.
    wait: Duration,
    page_key: Arc<[u8]>,
}

/// How long a pooled connection may sit unused before it is pinged on its way out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// How long after a connection was found broken every pooled one is pinged on its
/// way out: the others in the pool likely broke with it (a restart, a failover, a
/// network cut), and each would otherwise fail one request once the database is
/// back.
const PING_ALL_AFTER_LOSS: Duration = Duration::from_secs(10);

/// When a connection was last found broken, in milliseconds from [`clock_origin`]
/// (0: never in this process).
static LAST_LOSS_MS: AtomicU64 = AtomicU64::new(0);

fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn note_connection_lost() {
    let ms = u64::try_from(clock_origin().elapsed().as_millis()).unwrap_or(u64::MAX);
    LAST_LOSS_MS.store(ms.max(1), Ordering::Relaxed);
}

fn connection_lost_lately() -> bool {
    let last = LAST_LOSS_MS.load(Ordering::Relaxed);
    last != 0
        && clock_origin()
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
            < PING_ALL_AFTER_LOSS
}

/// A migration's SQL: one text for both databases, or one each where their
/// dialects part (triggers, SQLite's table kinds); a part both share is joined
/// to each.
enum Sql {
    Both(&'static str),
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Sql {
    fn of(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Sql::Both(sql), _) => sql,
            (Sql::Each { sqlite, .. }, Backend::Sqlite) => sqlite,
            (Sql::Each { postgres, .. }, Backend::Postgres) => postgres,
        }
    }
}

#[rustfmt::skip]
const MIGRATIONS: &[(i64, &str, Sql)] = &[
    (1, "foundation", Sql::Both(include_str!("../migrations/0001_foundation.sql"))),
    (2, "customers", Sql::Both(include_str!("../migrations/0002_customers.sql"))),
    (3, "users", Sql::Both(include_str!("../migrations/0003_users.sql"))),
    (4, "subscriptions", Sql::Both(include_str!("../migrations/0004_subscriptions.sql"))),
    (5, "access tokens", Sql::Both(include_str!("../migrations/0005_access_tokens.sql"))),
    (6, "hardening", Sql::Both(include_str!("../migrations/0006_hardening.sql"))),
    (7, "webhooks", Sql::Both(include_str!("../migrations/0007_webhooks.sql"))),
    (8, "webhook claims", Sql::Both(include_str!("../migrations/0008_webhook_claims.sql"))),
    (9, "subscriptions", Sql::Both(include_str!("../migrations/0009_subscriptions.sql"))),
    (10, "subscription lifecycle", Sql::Both(include_str!("../migrations/0010_subscription_lifecycle.sql"))),
    (11, "renewal index", Sql::Both(include_str!("../migrations/0011_renewal_index.sql"))),
    (12, "license tokens", Sql::Both(include_str!("../migrations/0012_license_tokens.sql"))),
    (13, "card payments", Sql::Both(include_str!("../migrations/0013_card_payments.sql"))),
    (14, "bank statements", Sql::Both(include_str!("../migrations/0014_bank_statements.sql"))),
    (15, "event fan-out", Sql::Both(include_str!("../migrations/0015_event_fan_out.sql"))),
    (16, "audit log", Sql::Both(include_str!("../migrations/0016_audit_log.sql"))),
    (17, "operators", Sql::Both(include_str!("../migrations/0017_operators.sql"))),
    (18, "daily totals", Sql::Both(include_str!("../migrations/0018_daily_totals.sql"))),
    (19, "event chain", Sql::Both(include_str!("../migrations/0019_event_chain.sql"))),
    (20, "closing documents", Sql::Both(include_str!("../migrations/0020_closing_documents.sql"))),
    (21, "event queues", Sql::Each {
        sqlite: concat!(
            include_str!("../migrations/0021_event_queues.sqlite.sql"),
            include_str!("../migrations/0021_event_queues.sql"),
        ),
        postgres: concat!(
            include_str!("../migrations/0021_event_queues.postgres.sql"),
            include_str!("../migrations/0021_event_queues.sql"),
        ),
    }),
];

/// Reads a SQLite file about to be restored, without changing it: `Ok` with the
/// version of its Kopek schema (`None` when it has none), or why it is unusable.
pub async fn inspect_sqlite_copy(path: &std::path::Path) -> Result<Option<i64>, String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| driver_message(&e))?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| driver_message(&e))?;
    if check != "ok" {
        return Err(check);
    }
    let version = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .ok()
        .flatten();
    let _ = conn.close().await;
    Ok(version)
}

/// The version of the last migration: the schema this build makes and reads.
pub fn newest_migration() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// A fingerprint of the schema the migrations build, so a cached copy of a migrated
/// database (the tests' PostgreSQL template) is rebuilt when they change.
pub fn schema_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (version, _, sql) in MIGRATIONS {
        h.update(version.to_le_bytes());
        for backend in [Backend::Sqlite, Backend::Postgres] {
            h.update(sql.of(backend).as_bytes());
        }
    }
    hex::encode(&h.finalize()[..8])
}

/// Why a database could not be opened, said for the operator who configured it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: use sqlite: or postgres:")]
    Scheme(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("migrating the schema failed: {0}")]
    Migrate(String),
    #[error(
        "the schema is at version {found}, this kopek needs {wanted}: run `kopek migrate` first"
    )]
    Outdated { found: i64, wanted: i64 },
    #[error("{0}")]
    Other(#[from] Error),
}

/// How long opening the first connection may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Connects, migrates and loads the server secrets: everything `serve` needs.
    pub async fn open(options: &StoreOptions) -> Result<Store, OpenError> {
        let store = Store::connect(options).await?;
        store.migrate().await?;
        store.with_secrets().await
    }

    /// Connects to a database that is already migrated, and never creates or
    /// changes the schema: for commands other than `serve` and `migrate`.
    pub async fn open_existing(options: &StoreOptions) -> Result<Store, OpenError> {
        let store = Store::connect(options).await?;
        let wanted = newest_migration();
        let found = store.schema_version().await;
        if found != wanted {
            return Err(OpenError::Outdated { found, wanted });
        }
        store.with_secrets().await
    }

    /// The newest migration applied; 0 for a database never migrated (it has no
    /// migrations table).
    async fn schema_version(&self) -> i64 {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT CAST(MAX(version) AS BIGINT) AS v FROM _sqlx_migrations",
        )
        .fetch_one(&self.pool)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
    }

    async fn with_secrets(mut self) -> Result<Store, OpenError> {
        self.page_key = self.secret("page_token_key").await?.into();
        Ok(self)
    }

    /// Connects without touching the schema.
    pub async fn connect(options: &StoreOptions) -> Result<Store, OpenError> {
        sqlx::any::install_default_drivers();
        let backend = if options.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if options.url.starts_with("postgres:") || options.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(OpenError::Scheme(redact_url(&options.url)));
        };
        let connect = AnyConnectOptions::from_str(&options.url)
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        // The pool would retry a refused connection until its timeout and then
        // say only "pool timed out"; one connection first gives the real cause.
        match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&connect)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => return Err(OpenError::Connect(driver_message(&e))),
            Err(_) => {
                return Err(OpenError::Connect(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let synchronous = options.sqlite_synchronous.pragma();
        let busy_ms = options.wait.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(
                options
                    .max_connections
                    .unwrap_or(backend.default_pool_size()),
            )
            .acquire_timeout(options.wait)
            // sqlx pings every connection it hands out: a round trip per acquire, as
            // dear as the query itself. A connection in steady use is known to be
            // alive, so only one that has sat idle is tested.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING || connection_lost_lately() {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        // WAL lets readers run beside the one writer; the busy timeout
                        // makes writers queue instead of failing.
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(|e| OpenError::Connect(driver_message(&e)))?;
        Ok(Store {
            pool,
            backend,
            writer: Arc::default(),
            wait: options.wait,
            page_key: Arc::from(Vec::new()),
        })
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        self.migrate_to(newest_migration()).await
    }

    /// Applies the migrations up to `version` only: how an upgrade is tested, from
    /// a schema as an earlier release left it.
    pub async fn migrate_to(&self, version: i64) -> Result<(), OpenError> {
        let migrations = MIGRATIONS
            .iter()
            .filter(|(v, _, _)| *v <= version)
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.of(self.backend).into_sql_str(),
                    false,
                )
            })
            .collect::<Vec<_>>();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ..Migrator::DEFAULT
        };
        let before = self.schema_version().await;
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        // Migration 6 changed how logins compare; keys made before are made again.
        if (1..6).contains(&before) {
            let mut conn = self.conn().await?;
            crate::users::rekey_logins(&mut conn).await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection for reads and single statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>, Error> {
        self.pool.acquire().await.db()
    }

    /// The key that signs page tokens; the same for every process on one database.
    pub fn page_key(&self) -> &[u8] {
        &self.page_key
    }

    /// Opens a write transaction.
    pub async fn begin(&self) -> Result<Tx, Error> {
        let inner = match self.backend {
            Backend::Sqlite => {
                TxInner::Sqlite(crate::writer::begin(&self.writer, &self.pool, self.wait).await?)
            }
            Backend::Postgres => TxInner::Postgres(self.pool.begin().await.db()?),
        };
        Ok(Tx { inner })
    }

    /// On SQLite, the writer's turns and the COMMITs that made them durable: fewer
    /// commits than turns when requests shared them.
    pub async fn sqlite_commits(&self) -> (u64, u64) {
        let writer = self.writer.lock().await;
        (writer.turns, writer.commits)
    }

    /// Whether the database takes writes: PostgreSQL answers on a connection, or
    /// SQLite's write lock can be had (another process may hold it for as long as
    /// it wants, and then every write would fail).
    pub async fn ping(&self) -> Result<(), Error> {
        match self.backend {
            // A turn of the writer, rolled back when dropped.
            Backend::Sqlite => self.begin().await.map(drop),
            Backend::Postgres => {
                sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
                Ok(())
            }
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` (a new file) while
    /// the database stays in use: `VACUUM INTO` reads one snapshot, so writes
    /// committed meanwhile are either wholly in the copy or not at all.
    pub async fn back_up_into(&self, path: &str) -> Result<(), Error> {
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }

    /// Open connections and idle ones.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A random secret made once per database and shared by every process on it.
    async fn secret(&self, name: &str) -> Result<Vec<u8>, Error> {
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hex::encode(fresh))
        .execute(&self.pool)
        .await
        .db()?;
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .db()?;
        hex::decode(value).map_err(Error::internal)
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// A driver error as one sentence: the database's own message, without sqlx's
/// wrapping ("error returned from database: ...").
fn driver_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Turns driver errors into the domain's: the database out of reach for now is
/// `Unavailable` (503 with `Retry-After`), anything else internal. The driver's
/// text reaches the log only, never a client.
pub trait DbResult<T> {
    fn db(self) -> Result<T, Error>;
}

impl<T> DbResult<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, Error> {
        self.map_err(driver_error)
    }
}

/// How long a client is asked to wait when the database is out of reach: a
/// PostgreSQL failover takes seconds, a SQLite lock held by another process as
/// long as that process wants.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 2;

pub fn driver_error(e: sqlx::Error) -> Error {
    if connection_lost(&e) {
        note_connection_lost();
    }
    if out_of_reach(&e) {
        Error::Unavailable {
            retry_after: RETRY_AFTER_SECONDS,
            outcome_unknown: false,
            cause: driver_message(&e),
        }
    } else {
        Error::internal(e)
    }
}

/// The database cannot be used for now, through no fault of the request: the
/// connection broke or cannot be made, the server is starting, stopping or failing
/// over, or is busy with another process's lock. The same request may succeed in
/// a moment.
fn out_of_reach(e: &sqlx::Error) -> bool {
    connection_lost(e)
        || matches!(
            e,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::BeginFailed
        )
        || match db_code(e) {
            // 57P03 the server is starting or stopping, 53300 too many connections,
            // 25006 a read-only transaction (the connection reached a primary that a
            // failover demoted), 40001 and 40P01 a serialization failure or deadlock
            // that a new attempt resolves.
            Some(DbCode::Sqlstate(code)) => {
                matches!(code, "57P03" | "53300" | "25006" | "40001" | "40P01")
            }
            // SQLITE_BUSY and SQLITE_LOCKED (another process kept the lock past the
            // busy timeout), SQLITE_FULL (the disk), SQLITE_CANTOPEN.
            Some(DbCode::Sqlite(code)) => matches!(code, 5 | 6 | 13 | 14),
            None => false,
        }
}

/// The connection to the database broke: whatever was under way on it, a commit
/// included, may or may not have happened.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        _ => match db_code(e) {
            // Class 08: connection exceptions; 57P01 and 57P02: the server ended
            // the session (an administrator's command, a crash).
            Some(DbCode::Sqlstate(code)) => {
                code.starts_with("08") || matches!(code, "57P01" | "57P02")
            }
            // SQLITE_IOERR: the file could not be read or written.
            Some(DbCode::Sqlite(code)) => code == 10,
            None => false,
        },
    }
}

/// The database's own code for an error.
enum DbCode<'a> {
    /// PostgreSQL's SQLSTATE.
    Sqlstate(&'a str),
    /// SQLite's primary result code.
    Sqlite(i32),
}

fn db_code(e: &sqlx::Error) -> Option<DbCode<'_>> {
    let db = e.as_database_error()?;
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        Some(DbCode::Sqlstate(pg.code()))
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The driver reports extended codes, whose low byte is the primary one.
        let extended: i32 = db.code()?.parse().ok()?;
        Some(DbCode::Sqlite(extended & 0xff))
    } else {
        None
    }
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The next value of a named counter, in the caller's transaction. The row lock
/// it takes serialises allocations, so values are never handed out twice.
pub async fn next_value(conn: &mut Conn, name: &str) -> Result<i64, Error> {
    sqlx::query_scalar(
        "INSERT INTO sequences (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(conn)
    .await
    .db()
}

/// The next `count` values of each named counter, in one statement: answers each
/// name's last value (its first is the last − count + 1). The rows are locked in
/// the order of their names, so batches that meet the same counters never wait
/// on each other in a circle.
pub async fn next_values(
    conn: &mut Conn,
    counts: &[(String, i64)],
) -> Result<std::collections::HashMap<String, i64>, Error> {
    let mut sorted: Vec<&(String, i64)> = counts.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if sorted.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let sql = format!(
        "INSERT INTO sequences (name, value) VALUES {} ON CONFLICT (name) \
         DO UPDATE SET value = sequences.value + excluded.value RETURNING name, value",
        row_marks(sorted.len(), 2)
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
    for (name, count) in sorted {
        query = query.bind(name).bind(count);
    }
    Ok(query.fetch_all(conn).await.db()?.into_iter().collect())
}

/// `($1, …, $c), ($c+1, …), …`: the placeholders of `rows` rows of `columns` values.
pub(crate) fn row_marks(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=columns {
            if c > 1 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c).to_string());
        }
        out.push(')');
    }
    out
}

/// Inserts records in one statement (keep it to a few hundred rows: a statement
/// takes at most 32,766 binds on SQLite).
pub(crate) async fn insert_many<R: Record>(conn: &mut Conn, records: &[R]) -> Result<(), Error> {
    if records.is_empty() {
        return Ok(());
    }
    let columns = R::COLUMNS.split(',').count();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        R::TABLE,
        R::COLUMNS,
        row_marks(records.len(), columns)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for record in records {
        query = record.bind(query);
    }
    query.run(conn).await
}

/// A `LIKE … ESCAPE '\'` pattern for values that contain `text` (its `%`, `_` and
/// `\` taken literally).
pub(crate) fn containing(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A query on either backend, before its binds.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// A statement run for what it did, in the words the store's functions need.
pub(crate) trait Statement {
    /// Runs it for its effect alone.
    async fn run(self, conn: &mut Conn) -> Result<(), Error>;

    /// Runs a statement that changes at most one row; whether it changed one
    /// (false: no row matched, as when a concurrent change got there first).
    async fn changed_one(self, conn: &mut Conn) -> Result<bool, Error>;
}

impl Statement for AnyQuery<'_> {
    async fn run(self, conn: &mut Conn) -> Result<(), Error> {
        self.execute(conn).await.db()?;
        Ok(())
    }

    async fn changed_one(self, conn: &mut Conn) -> Result<bool, Error> {
        Ok(self.execute(conn).await.db()?.rows_affected() == 1)
    }
}

/// The row type of a table: its columns are named once, here, and both reading
/// (the type's `FromRow`) and writing (`bind`, in the order of `COLUMNS`) follow
/// that one list.
pub(crate) trait Record:
    for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin
{
    const TABLE: &'static str;
    const COLUMNS: &'static str;

    /// Binds every column of `COLUMNS`, in its order.
    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

/// `SELECT <the record's columns> FROM <its table> <rest>`.
pub(crate) fn select<R: Record>(rest: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {} FROM {} {rest}", R::COLUMNS, R::TABLE))
}

/// The record whose key (its first column) is `key`.
pub(crate) async fn by_key<'k, R, K>(conn: &mut Conn, key: K) -> Result<Option<R>, Error>
where
    R: Record,
    K: 'k + sqlx::Encode<'k, Any> + sqlx::Type<Any> + Send,
{
    let key_column = R::COLUMNS.split(',').next().unwrap_or_default().trim();
    sqlx::query_as(select::<R>(&format!("WHERE {key_column} = $1")))
        .bind(key)
        .fetch_optional(conn)
        .await
        .db()
}

/// The records whose keys are among `keys`, in no particular order.
pub(crate) async fn by_keys<R: Record>(conn: &mut Conn, keys: &[&str]) -> Result<Vec<R>, Error> {
    let key_column = R::COLUMNS.split(',').next().unwrap_or_default().trim();
    where_in(conn, key_column, keys, "").await
}

/// `$1, $2, … $count`: the placeholders of as many binds, made once for up to 64
/// (every record and key list so far), so a write does not format them anew.
pub(crate) fn marks(count: usize) -> Cow<'static, str> {
    const MADE: usize = 64;
    static LIST: std::sync::OnceLock<(String, Vec<usize>)> = std::sync::OnceLock::new();
    let (list, ends) = LIST.get_or_init(|| {
        let mut list = String::new();
        let mut ends = vec![0];
        for i in 1..=MADE {
            if i > 1 {
                list.push_str(", ");
            }
            list.push('$');
            list.push_str(&i.to_string());
            ends.push(list.len());
        }
        (list, ends)
    });
    match ends.get(count) {
        Some(&end) => Cow::Borrowed(&list[..end]),
        None => Cow::Owned(
            (1..=count)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// The records whose `column` is among `values`, then `rest` (an `ORDER BY`).
pub(crate) async fn where_in<R: Record, V>(
    conn: &mut Conn,
    column: &str,
    values: &[V],
    rest: &str,
) -> Result<Vec<R>, Error>
where
    V: AsRef<str>,
{
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let marks = marks(values.len());
    let mut query = sqlx::query_as(select::<R>(&format!("WHERE {column} IN ({marks}) {rest}")));
    for v in values {
        query = query.bind(v.as_ref());
    }
    query.fetch_all(conn).await.db()
}

/// Inserts a record, with `extra` text columns that are written but never read
/// back (a token's hash, a login's comparison key). The driver's error is kept so
/// the caller can tell a unique violation apart.
pub(crate) async fn insert<R: Record>(
    conn: &mut Conn,
    record: &R,
    extra: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    // Built with pushes rather than a format! a placeholder: this runs on every
    // write, and the statement text is the same each time.
    let mut sql = String::with_capacity(2 * R::COLUMNS.len() + 64);
    sql.push_str("INSERT INTO ");
    sql.push_str(R::TABLE);
    sql.push_str(" (");
    sql.push_str(R::COLUMNS);
    for (name, _) in extra {
        sql.push_str(", ");
        sql.push_str(name);
    }
    // One placeholder a column: the commas between them, plus one.
    let count = sql.bytes().filter(|&b| b == b',').count() + 1;
    sql.push_str(") VALUES (");
    sql.push_str(&marks(count));
    sql.push(')');
    let mut query = record.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
    for (_, value) in extra {
        query = query.bind(*value);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Writes every column of a record over the row with its key (the first column).
pub(crate) async fn update<R: Record>(conn: &mut Conn, record: &R) -> Result<u64, sqlx::Error> {
    let columns: Vec<&str> = R::COLUMNS.split(',').map(str::trim).collect();
    let sets = columns
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("UPDATE {} SET {sets} WHERE {} = $1", R::TABLE, columns[0]);
    let done = record
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn row_marks_number_each_row_on() {
        assert_eq!(super::row_marks(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::row_marks(1, 1), "($1)");
        assert_eq!(super::row_marks(0, 4), "");
    }

    #[test]
    fn marks_count_from_one() {
        assert_eq!(super::marks(0), "");
        assert_eq!(super::marks(1), "$1");
        assert_eq!(super::marks(3), "$1, $2, $3");
        let long = super::marks(70);
        assert!(long.starts_with("$1, $2, ") && long.ends_with(", $69, $70"));
        assert_eq!(long.split(", ").count(), 70);
        assert_eq!(super::marks(64).split(", ").last(), Some("$64"));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://kopek:secret@db:5432/kopek"),
            "postgres://kopek:***@db:5432/kopek"
        );
        assert_eq!(
            redact_url("postgres://kopek@db/kopek"),
            "postgres://kopek@db/kopek"
        );
        assert_eq!(
            redact_url("sqlite://data/kopek.db"),
            "sqlite://data/kopek.db"
        );
    }
}
