//! The console scenario: 10,000 organizations and 100,000 invoices (half of them
//! paid, with their payments) written straight into the database over the last
//! year, an operator made with `kopek operator create` and signed in as a browser
//! would, then each console page asked for in turn and timed.

use crate::ceiling::{INVOICE_COLUMNS, invoice_values};
use sqlx::{Connection, Executor};
use std::time::{Duration, Instant};

pub const ORGANIZATIONS: i64 = 10_000;
pub const INVOICES: i64 = 100_000;
const DAY: i64 = 86_400_000_000;

/// One page's timings.
pub struct Timed {
    pub page: &'static str,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub requests: usize,
}

async fn seed(url: &str, now: i64) -> anyhow::Result<()> {
    let sqlite = url.starts_with("sqlite:");
    let series = |n: i64| {
        if sqlite {
            (
                format!(
                    "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) "
                ),
                "FROM s".to_owned(),
            )
        } else {
            (String::new(), format!("FROM generate_series(1, {n}) x"))
        }
    };
    let guid_of = |v: &str| {
        if sqlite {
            format!("printf('%08x-0000-4000-9000-%012x', {v}, {v})")
        } else {
            format!("lpad(to_hex({v}), 8, '0') || '-0000-4000-9000-' || lpad(to_hex({v}), 12, '0')")
        }
    };
    let guid = guid_of("x");
    let (with, from) = series(ORGANIZATIONS);
    let orgs = format!(
        "{with}INSERT INTO organizations (guid, alias, company_name, inn, kpp, reseller_id, \
         billing_email, language, created_at, updated_at) \
         SELECT {guid}, 'console-' || x, 'ООО «Консоль ' || x || '»', '7707083893', '773601001', \
         NULL, NULL, 'ru', {now}, {now} {from}"
    );
    // Invoice x belongs to organization x % ORGANIZATIONS + 1, made over the last
    // 360 days; every other one is paid a day later.
    let (with, from) = series(INVOICES);
    let org = guid_of(&format!("(x % {ORGANIZATIONS} + 1)"));
    let made = format!("{now} - (x % 360) * CAST({DAY} AS BIGINT) - x");
    let invoices = format!(
        "{with}INSERT INTO invoices ({INVOICE_COLUMNS}) SELECT {} {from}",
        invoice_values(
            "'cinv-' || x",
            &org,
            &format!("(x / {ORGANIZATIONS} + 1)"),
            &made
        )
    );
    let paid_at = format!("created_at + CAST({DAY} AS BIGINT)");
    let pay = format!(
        "UPDATE invoices SET status = 'Paid', paid_at = {paid_at} WHERE guid LIKE 'cinv-%' AND total > 0 AND (CAST(substr(guid, 6) AS BIGINT) % 2) = 0"
    );
    let payments = "INSERT INTO payments (id, invoice_guid, amount, currency, method, reference, created_at) \
        SELECT 'cpay-' || guid, guid, total, currency, 'manual', NULL, paid_at FROM invoices \
        WHERE guid LIKE 'cinv-%' AND status = 'Paid'";
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        for sql in [orgs, invoices, pay, payments.to_owned()] {
            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        for sql in [orgs, invoices, pay, payments.to_owned()] {
            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
        }
        conn.execute("ANALYZE").await?;
    }
    Ok(())
}

/// The value of the form's anti-forgery field in `html`.
fn csrf(html: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let at = html
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no form on the page"))?
        + marker.len();
    Ok(html[at..at + 32].to_owned())
}

/// Makes an operator, sets its password and signs it in: a client holding the
/// session cookie.
async fn operator(
    base: &str,
    url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<reqwest::Client> {
    let exe = std::env::current_exe()?.with_file_name("kopek");
    let made = std::process::Command::new(exe)
        .args([
            "operator",
            "create",
            "--email",
            "bench@example.com",
            "--role",
            "support",
        ])
        .env("KOPEK_DATABASE_URL", url)
        .env("KOPEK_DATA_DIR", data_dir)
        .env("KOPEK_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        made.status.success(),
        "kopek operator create: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let link = String::from_utf8(made.stdout)?;
    let path = &link.trim()[link.find("/console/").unwrap_or(0)..];
    let token = &path[path.find("token=").unwrap_or(0) + 6..];
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = client
        .get(format!("{base}{path}"))
        .send()
        .await?
        .text()
        .await?;
    let password = "a bench operator's password";
    client
        .post(format!("{base}/console/setup"))
        .form(&[
            ("csrf", csrf(&page)?.as_str()),
            ("token", token),
            ("password", password),
        ])
        .send()
        .await?;
    let page = client
        .get(format!("{base}/console/sign-in"))
        .send()
        .await?
        .text()
        .await?;
    let signed = client
        .post(format!("{base}/console/sign-in"))
        .form(&[
            ("csrf", csrf(&page)?.as_str()),
            ("email", "bench@example.com"),
            ("password", password),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        signed.status().as_u16() == 303,
        "sign-in: {}",
        signed.status()
    );
    Ok(client)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Seeds, signs in and times each page `rounds` times, one request at a time.
pub async fn measure(
    base: &str,
    url: &str,
    data_dir: &std::path::Path,
    rounds: usize,
) -> anyhow::Result<Vec<Timed>> {
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros(),
    )?;
    seed(url, now).await?;
    let client = operator(base, url, data_dir).await?;
    let org = "00000007-0000-4000-9000-000000000007";
    let day =
        |days_ago: i64| kopek_domain::time::Timestamp::from_micros(now - days_ago * DAY).date();
    let (month_from, month_to) = (day(90), day(60));
    let pages: [(&'static str, String); 15] = [
        ("overview", "/console/overview".to_owned()),
        (
            "organizations, first page",
            "/console/organizations".to_owned(),
        ),
        (
            "organizations by INN",
            "/console/organizations?q=7707083893".to_owned(),
        ),
        (
            "organizations by name",
            "/console/organizations?q=%D0%9A%D0%BE%D0%BD%D1%81%D0%BE%D0%BB%D1%8C%2077".to_owned(),
        ),
        ("an organization", format!("/console/organizations/{org}")),
        ("an invoice", "/console/invoices/cinv-70".to_owned()),
        ("audit log", "/console/audit".to_owned()),
        ("invoices, first page", "/console/invoices".to_owned()),
        (
            "invoices paid, issued in 30 days two months ago",
            format!("/console/invoices?status=Paid&from={month_from}&to={month_to}"),
        ),
        (
            "invoices of an organization",
            format!("/console/invoices?organization={org}"),
        ),
        ("events", "/console/events".to_owned()),
        (
            "events of a type",
            "/console/events?type=invoice.paid".to_owned(),
        ),
        ("users", "/console/users".to_owned()),
        ("resellers", "/console/resellers".to_owned()),
        ("operators", "/console/operators".to_owned()),
    ];
    // The first overview after the seeding sums the settled days and stores them.
    let start = Instant::now();
    let first = client
        .get(format!("{base}/console/overview"))
        .send()
        .await?;
    let status = first.status();
    let _ = first.bytes().await?;
    anyhow::ensure!(status.is_success(), "the first overview: {status}");
    let took = start.elapsed().as_secs_f64() * 1000.0;
    let mut timed = vec![Timed {
        page: "overview, the first (stores the daily sums)",
        p50_ms: took,
        p95_ms: took,
        requests: 1,
    }];
    for (page, path) in pages {
        let mut took = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            let response = client.get(format!("{base}{path}")).send().await?;
            let status = response.status();
            let _ = response.bytes().await?;
            took.push(start.elapsed());
            anyhow::ensure!(status.is_success(), "{path}: {status}");
        }
        took.sort();
        timed.push(Timed {
            page,
            p50_ms: percentile(&took, 0.50),
            p95_ms: percentile(&took, 0.95),
            requests: rounds,
        });
    }
    Ok(timed)
}
