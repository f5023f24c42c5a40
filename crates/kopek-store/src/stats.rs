//! Sums for the console's overview, grouped by UTC day in the database (integer
//! division of the microsecond timestamps, the same on both backends), so a page
//! reads a few hundred rows whatever the number of invoices.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;

/// Money paid per UTC day (days since the epoch) and currency, from `since`.
pub async fn paid_per_day(
    conn: &mut Conn,
    since: Timestamp,
) -> Result<Vec<(i64, String, i64)>, Error> {
    sqlx::query_as(
        "SELECT created_at / $1 AS day, currency, CAST(SUM(amount) AS BIGINT) AS paid \
         FROM payments WHERE created_at >= $2 GROUP BY created_at / $1, currency ORDER BY day",
    )
    .bind(DAY)
    .bind(since)
    .fetch_all(conn)
    .await
    .db()
}

/// Invoices issued and invoices paid per UTC day, from `since`.
pub async fn invoices_per_day(
    conn: &mut Conn,
    since: Timestamp,
) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>), Error> {
    let issued = sqlx::query_as(
        "SELECT created_at / $1 AS day, COUNT(*) FROM invoices WHERE created_at >= $2 \
         GROUP BY created_at / $1 ORDER BY day",
    )
    .bind(DAY)
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .db()?;
    let paid = sqlx::query_as(
        "SELECT paid_at / $1 AS day, COUNT(*) FROM invoices WHERE paid_at >= $2 \
         GROUP BY paid_at / $1 ORDER BY day",
    )
    .bind(DAY)
    .bind(since)
    .fetch_all(conn)
    .await
    .db()?;
    Ok((issued, paid))
}

/// Subscriptions by product and status.
pub async fn subscriptions_by_product(
    conn: &mut Conn,
) -> Result<Vec<(String, String, i64)>, Error> {
    sqlx::query_as(
        "SELECT product_guid, status, COUNT(*) FROM subscriptions \
         GROUP BY product_guid, status ORDER BY product_guid, status",
    )
    .fetch_all(conn)
    .await
    .db()
}

/// Paid invoices (refunded ones not counted) by UTC day paid, period and currency:
/// their totals summed, from `since`.
pub async fn paid_invoices_by_period(
    conn: &mut Conn,
    since: Timestamp,
) -> Result<Vec<(i64, i64, String, i64)>, Error> {
    sqlx::query_as(
        "SELECT paid_at / $1 AS day, period_in_months, currency, CAST(SUM(total) AS BIGINT) \
         FROM invoices WHERE status = 'Paid' AND paid_at >= $2 \
         GROUP BY paid_at / $1, period_in_months, currency ORDER BY day",
    )
    .bind(DAY)
    .bind(since)
    .fetch_all(conn)
    .await
    .db()
}
