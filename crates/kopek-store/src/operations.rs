//! Long-running operations. Kopek's customer operations finish inside the request
//! that starts them, so they are stored already done; the record is what
//! `Operation.Get` reads back.

use crate::db::{Conn, DbResult, flag};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Operation {
    pub id: String,
    pub description: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub done: bool,
    /// A `google.protobuf.Any` as JSON, with its `@type`.
    pub metadata: Value,
    /// Exactly one of `response` and `error` is set when `done`.
    pub response: Option<Value>,
    pub error: Option<Value>,
    /// The reseller whose resources the operation touched, for scoping reads.
    pub reseller_id: Option<String>,
}

const COLUMNS: &str = "id, description, created_by, created_at, modified_at, done, metadata, response, error, reseller_id";

fn json(row: &AnyRow, column: &str) -> Result<Option<Value>, Error> {
    row.try_get::<Option<String>, _>(column)
        .db()?
        .map(|text| serde_json::from_str(&text).map_err(Error::internal))
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<Operation, Error> {
    Ok(Operation {
        id: row.try_get("id").db()?,
        description: row.try_get("description").db()?,
        created_by: row.try_get("created_by").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        modified_at: Timestamp::from_micros(row.try_get("modified_at").db()?),
        done: row.try_get::<i64, _>("done").db()? != 0,
        metadata: json(row, "metadata")?.unwrap_or(Value::Null),
        response: json(row, "response")?,
        error: json(row, "error")?,
        reseller_id: row.try_get("reseller_id").db()?,
    })
}

pub async fn insert(conn: &mut Conn, op: &Operation) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO operations (id, description, created_by, created_at, modified_at, done, metadata, \
         response, error, reseller_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&op.id)
    .bind(&op.description)
    .bind(&op.created_by)
    .bind(op.created_at.micros())
    .bind(op.modified_at.micros())
    .bind(flag(op.done))
    .bind(op.metadata.to_string())
    .bind(op.response.as_ref().map(Value::to_string))
    .bind(op.error.as_ref().map(Value::to_string))
    .bind(op.reseller_id.as_deref())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Operation>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}
