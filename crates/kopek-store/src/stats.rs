//! Sums for the console's overview, grouped by UTC day (days since the epoch, by
//! integer division of the microsecond timestamps, the same on both backends).
//! Settled days are summed once into `daily_totals` and read back from there; the
//! days still moving are summed from the invoices and payments on each request.

use crate::db::{Conn, DbResult, Statement};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;

/// Rows inserted by one statement (five parameters each).
const BATCH: usize = 500;

/// What the overview sums, per UTC day.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// (day, currency, minor units paid).
    pub payments: Vec<(i64, String, i64)>,
    /// (day, invoices issued).
    pub issued: Vec<(i64, i64)>,
    /// (day, invoices paid).
    pub paid: Vec<(i64, i64)>,
    /// (day paid, period in months, currency, totals of the invoices paid that day
    /// and not refunded).
    pub paid_by_period: Vec<(i64, i64, String, i64)>,
}

impl Totals {
    pub fn extend(&mut self, other: Totals) {
        self.payments.extend(other.payments);
        self.issued.extend(other.issued);
        self.paid.extend(other.paid);
        self.paid_by_period.extend(other.paid_by_period);
    }

    /// As rows of `daily_totals`: (day, kind, period, currency, value).
    fn rows(self) -> impl Iterator<Item = (i64, &'static str, i64, String, i64)> {
        let payments = self
            .payments
            .into_iter()
            .map(|(day, currency, v)| (day, "payments", 0, currency, v));
        let issued = self
            .issued
            .into_iter()
            .map(|(day, n)| (day, "issued", 0, String::new(), n));
        let paid = self
            .paid
            .into_iter()
            .map(|(day, n)| (day, "paid", 0, String::new(), n));
        let by_period = self
            .paid_by_period
            .into_iter()
            .map(|(day, period, currency, v)| (day, "paid_by_period", period, currency, v));
        payments.chain(issued).chain(paid).chain(by_period)
    }
}

fn micros(day: i64) -> Timestamp {
    Timestamp::from_micros(day.saturating_mul(DAY))
}

/// Rows of a query grouping by day over the microseconds `start..end` (its
/// parameters: `$1` a day, `$2` and `$3` the bounds).
async fn per_day<T>(
    conn: &mut Conn,
    sql: &'static str,
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<T>, Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(DAY)
        .bind(start)
        .bind(end)
        .fetch_all(conn)
        .await
        .db()
}

/// The sums of the days `from..to`, from the invoices and payments themselves.
pub async fn summed(conn: &mut Conn, from: i64, to: i64) -> Result<Totals, Error> {
    let (start, end) = (micros(from), micros(to));
    Ok(Totals {
        payments: per_day(
            &mut *conn,
            "SELECT created_at / $1 AS day, currency, CAST(SUM(amount) AS BIGINT) \
             FROM payments WHERE created_at >= $2 AND created_at < $3 \
             GROUP BY created_at / $1, currency",
            start,
            end,
        )
        .await?,
        issued: per_day(
            &mut *conn,
            "SELECT created_at / $1 AS day, COUNT(*) FROM invoices \
             WHERE created_at >= $2 AND created_at < $3 GROUP BY created_at / $1",
            start,
            end,
        )
        .await?,
        paid: per_day(
            &mut *conn,
            "SELECT paid_at / $1 AS day, COUNT(*) FROM invoices \
             WHERE paid_at >= $2 AND paid_at < $3 GROUP BY paid_at / $1",
            start,
            end,
        )
        .await?,
        paid_by_period: per_day(
            &mut *conn,
            "SELECT paid_at / $1 AS day, period_in_months, currency, \
             CAST(SUM(total) AS BIGINT) FROM invoices \
             WHERE status = 'Paid' AND paid_at >= $2 AND paid_at < $3 \
             GROUP BY paid_at / $1, period_in_months, currency",
            start,
            end,
        )
        .await?,
    })
}

/// The stored sums of the days `from..to`; those of `paid_by_period` from
/// `periods_from` (a longer reach: an invoice pays for up to years ahead).
pub async fn stored(
    conn: &mut Conn,
    periods_from: i64,
    from: i64,
    to: i64,
) -> Result<Totals, Error> {
    let rows: Vec<(i64, String, i64, String, i64)> = sqlx::query_as(
        "SELECT day, kind, period_in_months, currency, value FROM daily_totals \
         WHERE day >= $1 AND day < $3 AND (day >= $2 OR kind = 'paid_by_period')",
    )
    .bind(periods_from)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
    .db()?;
    let mut totals = Totals::default();
    for (day, kind, period, currency, value) in rows {
        match kind.as_str() {
            "payments" => totals.payments.push((day, currency, value)),
            "issued" => totals.issued.push((day, value)),
            "paid" => totals.paid.push((day, value)),
            _ => totals.paid_by_period.push((day, period, currency, value)),
        }
    }
    Ok(totals)
}

/// How many of the days `from..to` have their sums stored.
pub async fn stored_days(conn: &mut Conn, from: i64, to: i64) -> Result<i64, Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM daily_totals_days WHERE day >= $1 AND day < $2")
        .bind(from)
        .bind(to)
        .fetch_one(conn)
        .await
        .db()
}

/// Takes the lock that summing and dropping days share, until the transaction
/// `conn` is in ends.
pub async fn lock(conn: &mut Conn) -> Result<(), Error> {
    sqlx::query("UPDATE daily_totals_lock SET generation = generation + 1 WHERE id = 1")
        .run(conn)
        .await
}

/// Sums and stores the days `from..to` not stored yet, in the caller's
/// transaction, under [`lock`].
pub async fn store_missing(conn: &mut Conn, from: i64, to: i64) -> Result<(), Error> {
    lock(&mut *conn).await?;
    let have: Vec<i64> =
        sqlx::query_scalar("SELECT day FROM daily_totals_days WHERE day >= $1 AND day < $2")
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await
            .db()?;
    let have: std::collections::HashSet<i64> = have.into_iter().collect();
    let mut day = from;
    while day < to {
        if have.contains(&day) {
            day += 1;
            continue;
        }
        let start = day;
        while day < to && !have.contains(&day) {
            day += 1;
        }
        let totals = summed(&mut *conn, start, day).await?;
        insert_rows(&mut *conn, totals).await?;
        insert_days(&mut *conn, start, day).await?;
    }
    Ok(())
}

async fn insert_rows(conn: &mut Conn, totals: Totals) -> Result<(), Error> {
    let rows: Vec<_> = totals.rows().collect();
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO daily_totals (day, kind, period_in_months, currency, value) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (day, kind, period, currency, value) in chunk {
            query = query
                .bind(*day)
                .bind(*kind)
                .bind(*period)
                .bind(currency.as_str())
                .bind(*value);
        }
        query.run(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_days(conn: &mut Conn, from: i64, to: i64) -> Result<(), Error> {
    let days: Vec<i64> = (from..to).collect();
    for chunk in days.chunks(BATCH) {
        let values: Vec<String> = (1..=chunk.len()).map(|i| format!("(${i})")).collect();
        let sql = format!(
            "INSERT INTO daily_totals_days (day) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for day in chunk {
            query = query.bind(*day);
        }
        query.run(&mut *conn).await?;
    }
    Ok(())
}

/// Drops the stored sums of `day`, in the caller's transaction, so they are summed
/// again when next read (a refund changed them).
pub async fn forget(conn: &mut Conn, day: i64) -> Result<(), Error> {
    lock(&mut *conn).await?;
    for sql in [
        "DELETE FROM daily_totals WHERE day = $1",
        "DELETE FROM daily_totals_days WHERE day = $1",
    ] {
        sqlx::query(sql).bind(day).run(&mut *conn).await?;
    }
    Ok(())
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
