//! Long-running operations. Kopek's customer operations finish inside the request
//! that starts them, so they are stored already done; the record is what
//! `Operation.Get` reads back.

use crate::db::{AnyQuery, Conn, DbResult, Record};
use kopek_domain::Error;
use kopek_domain::ids::BillingAccountId;
use kopek_domain::sql::{Flag, Json, NullableJson};
use kopek_domain::time::Timestamp;
use serde_json::Value;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, FromRow)]
pub struct Operation {
    pub id: String,
    pub description: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    #[sqlx(try_from = "Flag")]
    pub done: bool,
    /// A `google.protobuf.Any` as JSON, with its `@type`.
    #[sqlx(try_from = "Json<Value>")]
    pub metadata: Value,
    /// Exactly one of `response` and `error` is set when `done`.
    #[sqlx(try_from = "NullableJson<Value>")]
    pub response: Option<Value>,
    #[sqlx(try_from = "NullableJson<Value>")]
    pub error: Option<Value>,
    /// The reseller whose resources the operation touched, for scoping reads.
    pub reseller_id: Option<BillingAccountId>,
}

impl Record for Operation {
    const TABLE: &'static str = "operations";
    const COLUMNS: &'static str = "id, description, created_by, created_at, modified_at, done, \
        metadata, response, error, reseller_id";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.description)
            .bind(&self.created_by)
            .bind(self.created_at)
            .bind(self.modified_at)
            .bind(Flag(self.done))
            .bind(Json(&self.metadata))
            .bind(self.response.as_ref().map(Json))
            .bind(self.error.as_ref().map(Json))
            .bind(&self.reseller_id)
    }
}

pub async fn insert(conn: &mut Conn, op: &Operation) -> Result<(), Error> {
    crate::db::insert(conn, op, &[]).await.db()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Operation>, Error> {
    crate::db::by_key(conn, id).await
}
