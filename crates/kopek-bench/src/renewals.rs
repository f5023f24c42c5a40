//! The renewals scenario: a day on which `n` subscriptions come due, each with a
//! billing contact. The subscriptions are written straight into the database (as
//! the growth step writes invoices), the test clock is moved past the day's
//! renewal lead time, and the run is timed until every renewal invoice and its
//! mail are written, while create-invoice runs against the same server.

use crate::load::{self, Load, Stats};
use crate::setup::{PLAN, PRODUCT, call};
use sqlx::{Connection, Executor};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY_MICROS: i64 = 86_400_000_000;

pub struct Measured {
    /// From moving the clock until the last renewal invoice was written.
    pub seconds: f64,
    pub invoices: i64,
    pub mails: i64,
    /// create-invoice at 8 connections during the first seconds of the run.
    pub during: Stats,
}

/// The guid of the `x`th organization, as SQL in either backend.
fn org_guid(sqlite: bool) -> &'static str {
    if sqlite {
        "printf('%08x-0000-4000-8000-%012x', x, x)"
    } else {
        "lpad(to_hex(x), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(x), 12, '0')"
    }
}

/// Writes `n` organizations with one monthly subscription each, their periods
/// ending over one day 30 days from `now_micros`.
async fn seed(url: &str, n: i64, now_micros: i64) -> anyhow::Result<()> {
    let sqlite = url.starts_with("sqlite:");
    let series = if sqlite {
        format!("WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) ")
    } else {
        String::new()
    };
    let from = if sqlite {
        "FROM s".to_owned()
    } else {
        format!("FROM generate_series(1, {n}) x")
    };
    let guid = org_guid(sqlite);
    let end = format!(
        "{} + (x % 86400) * CAST(1000000 AS BIGINT)",
        now_micros + 30 * DAY_MICROS
    );
    let start = format!(
        "{} + (x % 86400) * CAST(1000000 AS BIGINT)",
        now_micros - DAY_MICROS
    );
    let orgs = format!(
        "{series}INSERT INTO organizations (guid, alias, company_name, inn, kpp, reseller_id, \
         billing_email, language, created_at, updated_at) \
         SELECT {guid}, 'renew-' || x, 'ООО «Ромашка»', '7707083893', '773601001', NULL, \
         'renew-' || x || '@example.com', 'ru', {now_micros}, {now_micros} {from}"
    );
    let subscriptions = format!(
        "{series}INSERT INTO subscriptions (id, organization_guid, product_guid, plan_guid, \
         quantity, period_in_months, current_period_start, current_period_end, status, \
         cancel_at_period_end, payer_type, payer_guid, next_plan_guid, next_quantity, \
         created_at, updated_at, version) \
         SELECT 'sub_bench_' || x, {guid}, '{PRODUCT}', '{PLAN}', 1, 1, {start}, {end}, \
         'active', 0, 'Organization', {guid}, NULL, NULL, {now_micros}, {now_micros}, 0 {from}"
    );
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        conn.execute(sqlx::AssertSqlSafe(orgs)).await?;
        conn.execute(sqlx::AssertSqlSafe(subscriptions)).await?;
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        conn.execute(sqlx::AssertSqlSafe(orgs)).await?;
        conn.execute(sqlx::AssertSqlSafe(subscriptions)).await?;
        conn.execute("ANALYZE").await?;
    }
    Ok(())
}

async fn count(url: &str, sql: &'static str) -> anyhow::Result<i64> {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
    }
}

pub async fn measure(
    base: &str,
    admin: &str,
    url: &str,
    addr: SocketAddr,
    load: Arc<Load>,
    n: i64,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let clock = call(
        &client,
        base,
        admin,
        reqwest::Method::GET,
        "/admin/v1/test-clock",
        serde_json::Value::Null,
    )
    .await?;
    let now = clock["now"]
        .as_str()
        .and_then(kopek_domain::time::Timestamp::parse_rfc3339)
        .ok_or_else(|| anyhow::anyhow!("the server has no test clock (KOPEK_TEST_MODE)"))?;
    seed(url, n, now.micros()).await?;
    let issued_before = count(url, "SELECT COUNT(*) FROM renewals").await?;
    // Past the lead time (7 days) of the whole day's subscriptions.
    let to = now.plus_seconds(24 * 86_400);
    let started = Instant::now();
    let mover = {
        let (client, base, admin) = (client.clone(), base.to_owned(), admin.to_owned());
        tokio::spawn(async move {
            call(
                &client,
                &base,
                &admin,
                reqwest::Method::POST,
                "/admin/v1/test-clock",
                serde_json::json!({"now": to.rfc3339()}),
            )
            .await
        })
    };
    let during = load::run(addr, load, 8, duration).await?;
    // The move answers when its own passes are done; the scheduler may still be
    // finishing a batch, so the renewals are counted.
    let moved = mover.await?;
    let mut invoices = 0;
    while started.elapsed() < Duration::from_secs(3600) {
        invoices = count(url, "SELECT COUNT(*) FROM renewals").await? - issued_before;
        if invoices >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Err(e) = moved {
        eprintln!("the clock's move answered: {e}");
    }
    let mails = count(
        url,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'mail.billing'",
    )
    .await?;
    Ok(Measured {
        seconds,
        invoices,
        mails,
        during,
    })
}
