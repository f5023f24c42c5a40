//! The test clock's offset, shared by the processes on one database.

use crate::db::{Conn, DbResult, Statement};
use kopek_domain::Error;

/// How far ahead of the real time the clock is, in microseconds (0 when never set).
pub async fn offset(conn: &mut Conn) -> Result<i64, Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT offset_micros FROM test_clock WHERE id = 1")
            .fetch_optional(conn)
            .await
            .db()?;
    Ok(found.unwrap_or(0))
}

pub async fn set_offset(conn: &mut Conn, offset_micros: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO test_clock (id, offset_micros) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET offset_micros = $1",
    )
    .bind(offset_micros)
    .run(conn)
    .await
}
