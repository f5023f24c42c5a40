//! Events: what changed, written in the transaction of the change, with the subject
//! as its API showed it then. They are the feed operators and products read, and
//! what webhooks deliver.

use crate::db::{AnyQuery, Conn, DbResult, Record, select};
use kopek_domain::Error;
use kopek_domain::sql::NullableJson;
use kopek_domain::time::Timestamp;
use serde_json::Value;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, FromRow)]
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
    /// The subject as its API shows it (null for events older than the feed).
    #[sqlx(try_from = "NullableJson<Value>")]
    pub data: Option<Value>,
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
            .bind(self.data.as_ref().map(Value::to_string))
            .bind(self.created_at)
    }
}

/// Writes the event, with the change's own payload (kept for audit) beside it.
pub async fn insert(conn: &mut Conn, event: &Event, payload: &Value) -> Result<(), Error> {
    crate::db::insert(conn, event, &[("payload", &payload.to_string())])
        .await
        .db()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Event>, Error> {
    sqlx::query_as(select::<Event>("WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .db()
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
pub async fn list(conn: &mut Conn, feed: &Feed) -> Result<Vec<Event>, Error> {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut texts: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    // Text binds come first ($1..), then numbers, so the SQL names each once.
    let mut text = |value: String, clauses: &mut Vec<String>, sql: &dyn Fn(usize) -> String| {
        texts.push(value);
        clauses.push(sql(texts.len()));
    };
    match feed.kind.as_deref() {
        Some(prefix) if prefix.ends_with('.') => text(prefix.to_owned(), &mut clauses, &|i| {
            format!("substr(type, 1, length(${i})) = ${i}")
        }),
        Some(kind) => text(kind.to_owned(), &mut clauses, &|i| format!("type = ${i}")),
        None => {}
    }
    if let Some(subject) = &feed.subject {
        text(subject.clone(), &mut clauses, &|i| {
            format!("subject = ${i}")
        });
    }
    if let Some((tenant_type, tenant_id)) = &feed.tenant {
        text(tenant_type.clone(), &mut clauses, &|i| {
            format!("tenant_type = ${i}")
        });
        if let Some(id) = tenant_id {
            text(id.clone(), &mut clauses, &|i| format!("tenant_id = ${i}"));
        }
    }
    let (cmp, order) = if feed.oldest_first {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some(after) = &feed.after {
        text(after.clone(), &mut clauses, &|i| format!("id {cmp} ${i}"));
    }
    let first_number = texts.len() + 1;
    let mut number_clauses = Vec::new();
    for (value, sql) in [(feed.from, "created_at >= "), (feed.to, "created_at <= ")] {
        if let Some(t) = value {
            numbers.push(t.micros());
            number_clauses.push(format!("{sql}${}", first_number + numbers.len() - 1));
        }
    }
    clauses.extend(number_clauses);
    numbers.push(feed.limit);
    let sql = select::<Event>(&format!(
        "WHERE {} ORDER BY id {order} LIMIT ${}",
        clauses.join(" AND "),
        first_number + numbers.len() - 1
    ));
    let mut query = sqlx::query_as::<_, Event>(sql);
    for t in &texts {
        query = query.bind(t);
    }
    for n in &numbers {
        query = query.bind(*n);
    }
    query.fetch_all(conn).await.db()
}
