//! Events: what changed, written in the transaction of the change, with the subject
//! as its API showed it then. They are the feed operators and products read, and
//! what webhooks deliver.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::sql::NullableJson;
use kopek_domain::time::Timestamp;
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct Event {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject_type: String,
    /// The subject's id.
    pub subject: String,
    /// `reseller`, `organization` or `integration`: whose keys may read it.
    pub tenant_type: Option<String>,
    pub tenant_id: Option<String>,
    /// The subject as its API shows it (null for events older than the feed), as
    /// the JSON text its view serialized to.
    #[sqlx(try_from = "NullableJson<Box<RawValue>>")]
    pub data: Option<Box<RawValue>>,
    pub created_at: Timestamp,
}

impl Record for Event {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static str =
        "id, type, subject_type, subject, tenant_type, tenant_id, data, created_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.kind)
            .bind(&self.subject_type)
            .bind(&self.subject)
            .bind(&self.tenant_type)
            .bind(&self.tenant_id)
            .bind(self.data.as_deref().map(RawValue::get))
            .bind(self.created_at)
    }
}

/// A JSON document as the text its column keeps.
fn json_text(value: &Value) -> String {
    // A `Value`'s map keys are strings, so serializing it cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Writes events, each with the change's own payload (kept for audit) beside it,
/// in one statement.
pub async fn insert(conn: &mut Conn, events: &[(Event, &Value)]) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let columns = Event::COLUMNS.split(',').count() + 1;
    let sql = format!(
        "INSERT INTO {} ({}, payload) VALUES {}",
        Event::TABLE,
        Event::COLUMNS,
        crate::db::row_marks(events.len(), columns)
    );
    let payloads: Vec<String> = events.iter().map(|(_, p)| json_text(p)).collect();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for ((event, _), payload) in events.iter().zip(&payloads) {
        query = event.bind(query).bind(payload);
    }
    query.run(conn).await
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Event>, Error> {
    crate::db::by_key(conn, id).await
}

/// The events among `ids` (those that exist), in no particular order.
pub async fn get_many(conn: &mut Conn, ids: &[&str]) -> Result<Vec<Event>, Error> {
    crate::db::by_keys(conn, ids).await
}

/// What the fan-out reads of an event to choose its endpoints: not its data,
/// which only the events that are delivered need.
#[derive(Debug, Clone, FromRow)]
pub struct Head {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub tenant_type: Option<String>,
    pub tenant_id: Option<String>,
    pub created_at: Timestamp,
}

/// The work still owed on events: each queue holds the ids a trigger put there as
/// the events were written (migration 21), until its worker takes them out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Queue {
    /// Events to seal into their chain.
    Seal,
    /// Events to fan out to webhook endpoints.
    FanOut,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Seal => "event_seal_queue",
            Queue::FanOut => "event_fan_out_queue",
        }
    }

    /// The statement reading `columns` (of `events e`) of the oldest queued events,
    /// at most `$1`, then `lock`. The limit is cast because SQLite re-prepares a
    /// statement at every run when its LIMIT is a bare parameter (its planner reads
    /// the bound value), and the workers run these reads all the time.
    pub(crate) fn oldest(self, columns: &str, lock: &str) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM {} q JOIN events e ON e.id = q.event_id \
             ORDER BY q.event_id LIMIT CAST($1 AS BIGINT){lock}",
            self.table()
        ))
    }

    /// Takes events out of the queue, their work done.
    pub(crate) async fn remove(self, conn: &mut Conn, ids: &[&str]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM {} WHERE event_id IN ({})",
            self.table(),
            crate::db::marks(ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.run(conn).await
    }

    /// How many events wait (those that still exist: an event deleted behind
    /// Kopek's back leaves an id no worker can take).
    pub(crate) async fn len(self, conn: &mut Conn) -> Result<i64, Error> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} q JOIN events e ON e.id = q.event_id",
            self.table()
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(conn)
            .await
            .db()
    }
}

/// Up to `limit` events not yet fanned out to webhook endpoints, oldest first, in
/// the caller's transaction. On PostgreSQL the queued rows are locked and those
/// another worker holds are skipped, so two workers take different events.
pub async fn unfanned(
    conn: &mut Conn,
    backend: crate::Backend,
    limit: i64,
) -> Result<Vec<Head>, Error> {
    let lock = match backend {
        crate::Backend::Sqlite => "",
        crate::Backend::Postgres => " FOR UPDATE OF q SKIP LOCKED",
    };
    let columns = "e.id, e.type, e.tenant_type, e.tenant_id, e.created_at";
    sqlx::query_as(Queue::FanOut.oldest(columns, lock))
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}

/// Notes events as fanned out.
pub async fn fanned_out(conn: &mut Conn, ids: &[&str]) -> Result<(), Error> {
    Queue::FanOut.remove(conn, ids).await
}

/// Which events a feed page holds.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// An exact type, or a prefix ending in a dot.
    pub kind: Option<String>,
    pub subject: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Only this tenant's events (`None`: every event).
    pub tenant: Option<(String, Option<String>)>,
    pub oldest_first: bool,
    /// The last id of the previous page, in this order.
    pub after: Option<String>,
    pub limit: i64,
}

/// One page of the feed. Event ids are UUIDv7, so their order is their time's.
pub async fn list<'a>(conn: &mut Conn, feed: &'a Feed) -> Result<Vec<Event>, Error> {
    /// A bound value of the query.
    enum Bind<'b> {
        Text(&'b str),
        Number(i64),
    }
    let mut clauses: Vec<String> = Vec::new();
    let mut binds: Vec<Bind<'a>> = Vec::new();
    // `sql` names the next placeholder with `$`.
    let mut add = |sql: &str, value: Bind<'a>| {
        binds.push(value);
        clauses.push(sql.replace('$', &format!("${}", binds.len())));
    };
    let (cmp, order) = if feed.oldest_first {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    match feed.kind.as_deref() {
        Some(prefix) if prefix.ends_with('.') => {
            add("substr(type, 1, length($)) = $", Bind::Text(prefix));
        }
        Some(kind) => add("type = $", Bind::Text(kind)),
        None => {}
    }
    if let Some(subject) = &feed.subject {
        add("subject = $", Bind::Text(subject));
    }
    if let Some((tenant_type, tenant_id)) = &feed.tenant {
        add("tenant_type = $", Bind::Text(tenant_type));
        if let Some(id) = tenant_id {
            add("tenant_id = $", Bind::Text(id));
        }
    }
    if let Some(after) = &feed.after {
        add(&format!("id {cmp} $"), Bind::Text(after));
    }
    if let Some(from) = feed.from {
        add("created_at >= $", Bind::Number(from.micros()));
    }
    if let Some(to) = feed.to {
        add("created_at <= $", Bind::Number(to.micros()));
    }
    binds.push(Bind::Number(feed.limit));
    let sql = select::<Event>(&format!(
        "WHERE 1 = 1{} ORDER BY id {order} LIMIT ${}",
        clauses
            .iter()
            .map(|c| format!(" AND {c}"))
            .collect::<String>(),
        binds.len()
    ));
    let mut query = sqlx::query_as::<_, Event>(sql);
    for bind in binds {
        query = match bind {
            Bind::Text(t) => query.bind(t),
            Bind::Number(n) => query.bind(n),
        };
    }
    query.fetch_all(conn).await.db()
}

#[cfg(test)]
mod tests {
    use super::json_text;
    use serde_json::json;

    #[test]
    fn json_text_is_what_display_writes() {
        let value = json!({
            "guid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "name": "Кассовая программа \"Pro\"\n\u{1}",
            "total": {"amount": 1234.5, "currency": "RUB"},
            "positions": [{"quantity": 1, "vat": null, "paid": false}],
            "meta": "",
        });
        assert_eq!(json_text(&value), value.to_string());
    }
}
