//! Webhook endpoints, and their deliveries: one row per event and endpoint, made
//! in the event's transaction and worked off as a queue with leases (as the
//! outbox), each attempt logged.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, Store, select};
use kopek_domain::Error;
use kopek_domain::sql::{Flag, Json};
use kopek_domain::time::Timestamp;
use sqlx::FromRow;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    #[sqlx(try_from = "Json<Vec<String>>")]
    pub event_types: Vec<String>,
    /// `all`, `reseller` or `organization`.
    pub scope_type: String,
    pub scope_id: Option<String>,
    pub description: String,
    #[sqlx(try_from = "Flag")]
    pub enabled: bool,
    /// The `whsec_` secret in force.
    pub secret: String,
    /// The secret before the last rotation, still signed with until the time beside it.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Timestamp>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_success_at: Option<Timestamp>,
    pub disabled_reason: Option<String>,
}

impl Record for Endpoint {
    const TABLE: &'static str = "webhook_endpoints";
    const COLUMNS: &'static str = "id, url, event_types, scope_type, scope_id, description, \
        enabled, secret, previous_secret, previous_secret_until, created_by, created_at, \
        updated_at, last_success_at, disabled_reason";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.url)
            .bind(Json(&self.event_types))
            .bind(&self.scope_type)
            .bind(&self.scope_id)
            .bind(&self.description)
            .bind(Flag(self.enabled))
            .bind(&self.secret)
            .bind(&self.previous_secret)
            .bind(self.previous_secret_until)
            .bind(&self.created_by)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.last_success_at)
            .bind(&self.disabled_reason)
    }
}

pub async fn insert(conn: &mut Conn, endpoint: &Endpoint) -> Result<(), Error> {
    crate::db::insert(conn, endpoint, &[]).await.db()
}

pub async fn save(conn: &mut Conn, endpoint: &Endpoint) -> Result<(), Error> {
    crate::db::update(conn, endpoint).await.db()?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Endpoint>, Error> {
    crate::db::by_key(conn, id).await
}

/// Endpoints in id order after `after`; only those of one scope when given.
pub async fn list(
    conn: &mut Conn,
    scope: Option<(&str, &str)>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Endpoint>, Error> {
    let (scope_type, scope_id) = scope.unwrap_or(("", ""));
    sqlx::query_as(select::<Endpoint>(
        "WHERE ($1 = '' OR (scope_type = $1 AND scope_id = $2)) AND id > $3 ORDER BY id LIMIT $4",
    ))
    .bind(scope_type)
    .bind(scope_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, Error> {
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
    )
    .bind(id)
    .run(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
        .bind(id)
        .run(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .changed_one(conn)
        .await
}

/// The enabled endpoints that may receive an event of one of these tenants (type,
/// id): those for all, and those scoped to one of the tenants, in one query.
pub async fn subscribed(
    conn: &mut Conn,
    tenants: &[(&str, &str)],
) -> Result<Vec<Subscribed>, Error> {
    let scoped = (0..tenants.len())
        .map(|i| {
            format!(
                " OR (scope_type = ${} AND scope_id = ${})",
                1 + 2 * i,
                2 + 2 * i
            )
        })
        .collect::<String>();
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, event_types, scope_type, scope_id, created_at FROM webhook_endpoints \
         WHERE enabled = 1 \
         AND (scope_type = 'all'{scoped})"
    )));
    for (kind, id) in tenants {
        query = query.bind(*kind).bind(*id);
    }
    query.fetch_all(conn).await.db()
}

/// An endpoint that takes some events, of all tenants or of the one it is scoped to.
#[derive(Debug, Clone, FromRow)]
pub struct Subscribed {
    pub id: String,
    #[sqlx(try_from = "Json<Vec<String>>")]
    pub event_types: Vec<String>,
    /// `all`, `reseller` or `organization`.
    pub scope_type: String,
    pub scope_id: Option<String>,
    pub created_at: Timestamp,
}

impl Subscribed {
    /// Whether events of this tenant (type and id; none for operator-wide and
    /// integration events) reach the endpoint.
    pub fn covers(&self, tenant_type: Option<&str>, tenant_id: Option<&str>) -> bool {
        self.scope_type == "all"
            || (Some(self.scope_type.as_str()) == tenant_type
                && self.scope_id.as_deref() == tenant_id)
    }
}

/// The state of a delivery: `pending` (to be tried, perhaps again), `delivered`, or
/// `failed` (given up).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub give_up_at: Timestamp,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// A delivery with its event's type.
const DELIVERY: &str = "SELECT d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.state, \
    d.attempts, d.next_attempt_at, d.give_up_at, d.created_at, d.finished_at \
    FROM webhook_deliveries d JOIN events e ON e.id = d.event_id";

/// A delivery to queue: to this endpoint, of this event; a `claimed` one is leased
/// at once to the worker queuing it, for its first attempt.
#[derive(Debug, Clone, Copy)]
pub struct Queued<'a> {
    pub endpoint_id: &'a str,
    pub event_id: &'a str,
    pub claimed: bool,
}

/// Rows a statement queues at most (each row binds three values).
const ENQUEUE_ROWS: usize = 1000;

/// Queues deliveries, a thousand to a statement, due at once and retried for
/// `retry_seconds`, on the machine's clock as the outbox is (see
/// [`crate::outbox::enqueue`]); a second time changes nothing. The claimed ones
/// are leased to `lease`'s worker for its time (none are without a `lease`) and
/// answered, as a claim answers them: the worker that queues them sends them
/// without claiming them again.
pub async fn enqueue(
    conn: &mut Conn,
    deliveries: &[Queued<'_>],
    retry_seconds: i64,
    lease: Option<(&str, Duration)>,
) -> Result<Vec<Due>, Error> {
    let now = Timestamp::now();
    let give_up_at = now.plus_seconds(retry_seconds);
    let mut claimed = Vec::new();
    for chunk in deliveries.chunks(ENQUEUE_ROWS) {
        let leased = lease.filter(|_| chunk.iter().any(|d| d.claimed));
        // $1 now, $2 the give-up time, then (with a lease) $3 the worker and $4 its
        // end; then an id, an endpoint and an event a row.
        let first = if leased.is_some() { 5 } else { 3 };
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let at = first + 3 * i;
                let lease = if leased.is_some() && d.claimed {
                    "1, $3, $4"
                } else {
                    "0, NULL, NULL"
                };
                format!(
                    "(${at}, ${}, ${}, 'pending', $1, $2, $1, {lease})",
                    at + 1,
                    at + 2
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, state, \
             next_attempt_at, give_up_at, created_at, attempts, lease_owner, lease_until) \
             VALUES {rows} ON CONFLICT (endpoint_id, event_id) DO NOTHING \
             RETURNING id, endpoint_id, event_id, attempts, give_up_at"
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(give_up_at);
        if let Some((worker, lease)) = leased {
            query = query
                .bind(worker)
                .bind(crate::outbox::lease_end(now, lease));
        }
        for d in chunk {
            query = query
                .bind(format!("whd_{}", uuid::Uuid::now_v7().simple()))
                .bind(d.endpoint_id)
                .bind(d.event_id);
        }
        let queued: Vec<Due> = query.fetch_all(&mut *conn).await.db()?;
        claimed.extend(queued.into_iter().filter(|d| d.attempts > 0));
    }
    Ok(claimed)
}

pub async fn delivery(conn: &mut Conn, id: &str) -> Result<Option<Delivery>, Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{DELIVERY} WHERE d.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
        .db()
}

/// An endpoint's deliveries, newest first, after `after`.
pub async fn deliveries(
    conn: &mut Conn,
    endpoint_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DELIVERY} WHERE d.endpoint_id = $1 AND ($2 = '' OR d.id < $2) \
         ORDER BY d.id DESC LIMIT $3"
    )))
    .bind(endpoint_id)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Sends a delivery again as soon as a worker is free, whatever its state, with a
/// new deadline.
pub async fn requeue(
    conn: &mut Conn,
    id: &str,
    give_up_at: Timestamp,
    now: Timestamp,
) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, give_up_at = $3, \
         finished_at = NULL, lease_owner = NULL, lease_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(give_up_at)
    .changed_one(conn)
    .await
}

/// One attempt of a delivery, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Attempt {
    pub delivery_id: String,
    pub attempt: i64,
    pub started_at: Timestamp,
    pub latency_ms: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    /// The first KiB of the answer's body.
    pub response_excerpt: Option<String>,
}

impl Record for Attempt {
    const TABLE: &'static str = "webhook_attempts";
    const COLUMNS: &'static str =
        "delivery_id, attempt, started_at, latency_ms, http_status, error, response_excerpt";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.delivery_id)
            .bind(self.attempt)
            .bind(self.started_at)
            .bind(self.latency_ms)
            .bind(self.http_status)
            .bind(&self.error)
            .bind(&self.response_excerpt)
    }
}

/// The attempts of these deliveries, in order.
pub async fn attempts(conn: &mut Conn, delivery_ids: &[String]) -> Result<Vec<Attempt>, Error> {
    crate::db::where_in(
        conn,
        "delivery_id",
        delivery_ids,
        "ORDER BY delivery_id, attempt",
    )
    .await
}

/// A delivery claimed for one attempt, with what sending it needs.
#[derive(Debug, Clone, FromRow)]
pub struct Due {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    /// This attempt's number, also the fencing token of the lease.
    pub attempts: i64,
    pub give_up_at: Timestamp,
}

/// One endpoint's due rows, oldest due first, by the index on (endpoint, state,
/// due time): a claim costs what it takes, however long the queue. (The limit is
/// cast for SQLite, as in `events::Queue::oldest`.)
const DUE: &str = "SELECT id FROM webhook_deliveries WHERE endpoint_id = $4 AND state = 'pending' \
     AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
     ORDER BY next_attempt_at LIMIT CAST($5 AS BIGINT)";

impl Store {
    /// The endpoints deliveries are made to now.
    pub async fn webhook_enabled_endpoints(&self) -> Result<Vec<Endpoint>, Error> {
        sqlx::query_as(select::<Endpoint>("WHERE enabled = 1 ORDER BY id"))
            .fetch_all(self.pool())
            .await
            .db()
    }

    /// Claims up to `limit` of `endpoint_id`'s due deliveries for `worker` until
    /// `now + lease`.
    pub async fn webhook_claim(
        &self,
        worker: &str,
        lease: Duration,
        endpoint_id: &str,
        limit: i64,
        now: Timestamp,
    ) -> Result<Vec<Due>, Error> {
        let lease_until = crate::outbox::lease_end(now, lease);
        let mut tx = self.begin().await?;
        let sql = crate::outbox::lease_sql(
            self.backend(),
            "webhook_deliveries",
            DUE,
            "id, endpoint_id, event_id, attempts, give_up_at",
        );
        let claimed = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(endpoint_id)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .db()?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Gives up the leases `worker` holds (a restarted process under its old name).
    pub async fn webhook_release(&self, worker: &str) -> Result<u64, Error> {
        crate::outbox::release_leases(self, "webhook_deliveries", worker).await
    }
}

/// Records attempts that delivered, in three statements however many: the
/// deliveries still leased to `worker` at those attempts become `delivered`, their
/// attempts are logged, and their endpoints' last success moves on. Answers the ids
/// of those recorded (a lost lease writes nothing).
pub async fn finish_delivered(
    conn: &mut Conn,
    worker: &str,
    delivered: &[(Due, Attempt)],
    now: Timestamp,
) -> Result<Vec<String>, Error> {
    if delivered.is_empty() {
        return Ok(Vec::new());
    }
    // $1 now, $2 the worker; then a delivery id and its attempt a row. The ids'
    // own list lets both databases find the rows by their key; the pairs fence them.
    let ids = (0..delivered.len())
        .map(|i| format!("${}", 3 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let pairs = (0..delivered.len())
        .map(|i| format!("(${}, ${})", 3 + 2 * i, 4 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE webhook_deliveries SET state = 'delivered', next_attempt_at = $1, \
         finished_at = $1, lease_owner = NULL, lease_until = NULL \
         WHERE id IN ({ids}) AND lease_owner = $2 AND state = 'pending' \
         AND (id, attempts) IN (VALUES {pairs}) RETURNING id"
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(worker);
    for (due, _) in delivered {
        query = query.bind(&due.id).bind(due.attempts);
    }
    let kept: Vec<String> = query.fetch_all(&mut *conn).await.db()?;
    let kept_set: std::collections::HashSet<&str> = kept.iter().map(String::as_str).collect();
    let attempts: Vec<Attempt> = delivered
        .iter()
        .filter(|(due, _)| kept_set.contains(due.id.as_str()))
        .map(|(_, attempt)| attempt.clone())
        .collect();
    for chunk in attempts.chunks(500) {
        crate::db::insert_many(&mut *conn, chunk).await?;
    }
    let mut endpoints: Vec<&str> = delivered
        .iter()
        .filter(|(due, _)| kept_set.contains(due.id.as_str()))
        .map(|(due, _)| due.endpoint_id.as_str())
        .collect();
    endpoints.sort_unstable();
    endpoints.dedup();
    for endpoint_id in endpoints {
        succeeded(&mut *conn, endpoint_id, now).await?;
    }
    Ok(kept)
}

/// Moves an endpoint's last success on, once a minute at most: the row is every
/// delivery's to this endpoint, and what reads it (disabling after days of
/// failures) needs no finer time.
async fn succeeded(conn: &mut Conn, endpoint_id: &str, now: Timestamp) -> Result<(), Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET last_success_at = $1 WHERE id = $2 \
         AND (last_success_at IS NULL OR last_success_at < $3)",
    )
    .bind(now)
    .bind(endpoint_id)
    .bind(now.plus_seconds(-60))
    .run(conn)
    .await
}

/// Records an attempt and what follows from it: `next` is when to try again, or
/// `None` when the delivery is over (delivered or given up, as `state` says).
/// False when the lease was lost (another worker has the row; nothing is written).
pub async fn finish(
    conn: &mut Conn,
    due: &Due,
    worker: &str,
    attempt: &Attempt,
    state: &str,
    next: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool, Error> {
    if !sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, finished_at = $3, \
         lease_owner = NULL, lease_until = NULL \
         WHERE id = $4 AND lease_owner = $5 AND attempts = $6 AND state = 'pending'",
    )
    .bind(state)
    .bind(next.unwrap_or(now))
    .bind(next.is_none().then_some(now))
    .bind(&due.id)
    .bind(worker)
    .bind(due.attempts)
    .changed_one(&mut *conn)
    .await?
    {
        return Ok(false);
    }
    crate::db::insert(&mut *conn, attempt, &[]).await.db()?;
    if state == "delivered" {
        succeeded(conn, &due.endpoint_id, now).await?;
    }
    Ok(true)
}
