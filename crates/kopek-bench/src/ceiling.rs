//! What the database itself manages with the SQL one create-invoice runs (two
//! reads, then one transaction: the counter row, the invoice, the event): pgbench
//! with that script on PostgreSQL, the same statements in a loop on SQLite.

use crate::setup::Fixture;
use anyhow::Context;
use sqlx::{Connection, Executor};
use std::time::{Duration, Instant};

/// The invoice row Kopek writes, with the values pgbench and the loop vary.
pub const INVOICE_COLUMNS: &str = "guid, organization_guid, seq, number, catalog_version, product_guid, plan_guid, \
    period_in_months, quantity, company, positions, currency, total, vat, vat_basis_points, status, payer_type, \
    payer_guid, meta, created_by, created_at, updated_at, paid_at";

pub fn invoice_values(guid: &str, org: &str, seq: &str, now: &str) -> String {
    format!(
        "{guid}, {org}, {seq}, '2026-' || {seq}, 1, '0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f60', \
         '0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f61', 1, 1, \
         '{{\"name\":\"Bench\",\"inn\":\"7707083893\",\"kpp\":\"773601001\"}}', \
         '[{{\"name\":\"LIFE POS «Старт», 1 мес.\",\"quantity\":1,\"price\":99000,\"total\":99000,\"vat\":17852}}]', \
         'RUB', 99000, 17852, 2200, 'Pending', 'Organization', {org}, NULL, 'bench', {now}, {now}, NULL"
    )
}

/// The pgbench script: one organization at random per transaction, as the load does.
pub fn pgbench_script() -> String {
    format!(
        "\\set o random(0, {last})\n\
         SELECT guid, token_hash FROM bench_orgs WHERE i = :o \\gset\n\
         SELECT id, role, scope, name, created_at, revoked_at FROM api_keys WHERE token_hash = :token_hash AND revoked_at IS NULL;\n\
         SELECT guid, alias, company_name, inn, kpp, created_at, updated_at, (SELECT MAX(version) FROM catalog_versions) AS catalog_version FROM organizations WHERE guid = :guid;\n\
         BEGIN;\n\
         INSERT INTO sequences (name, value) VALUES ('invoice:' || :guid, 1) ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value AS seq \\gset\n\
         INSERT INTO invoices ({INVOICE_COLUMNS}) VALUES ({values});\n\
         INSERT INTO events (id, type, subject, payload, created_at) VALUES (gen_random_uuid()::text, 'invoice.created', :guid, '{{}}', (extract(epoch from clock_timestamp()) * 1000000)::bigint);\n\
         COMMIT;\n",
        last = crate::setup::ORGS - 1,
        values = invoice_values(
            "gen_random_uuid()::text",
            ":guid",
            ":seq",
            "(extract(epoch from clock_timestamp()) * 1000000)::bigint"
        ),
    )
}

/// Runs pgbench for `duration` at `clients` and returns its transactions per second.
pub async fn pgbench(
    url: &str,
    fixture: &Fixture,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_orgs (i INT PRIMARY KEY, guid TEXT, token_hash TEXT)",
    )
    .await?;
    conn.execute("TRUNCATE bench_orgs").await?;
    for (i, (guid, token)) in fixture.orgs.iter().enumerate() {
        sqlx::query("INSERT INTO bench_orgs (i, guid, token_hash) VALUES ($1, $2, $3)")
            .bind(i as i32)
            .bind(guid)
            .bind(kopek_domain::auth::hash_token(token))
            .execute(&mut conn)
            .await?;
    }
    let dir = std::env::temp_dir().join(format!("kopek-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("create-invoice.sql");
    std::fs::write(&script, pgbench_script())?;
    let url = url.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2"])
            .arg(format!("-c{clients}"))
            .arg(format!("-T{}", duration.as_secs().max(1)))
            .arg("-f")
            .arg(&script)
            .arg(&url)
            .output()
    })
    .await?
    .context("running pgbench (Debian's postgresql-contrib or postgresql-client has it)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .context("no tps in pgbench's output")
}

/// The same statements on SQLite, from `clients` connections, for `duration`.
pub async fn sqlite_loop(
    path: &std::path::Path,
    fixture: &Fixture,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    // No ping on acquire: the statements alone, as pgbench runs them.
    let pool = SqlitePoolOptions::new()
        .max_connections(clients as u32)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    let deadline = Instant::now() + duration;
    let insert_invoice = format!(
        "INSERT INTO invoices ({INVOICE_COLUMNS}) VALUES ({})",
        invoice_values("$1", "$2", "$3", "$4")
    );
    let mut tasks = Vec::new();
    for c in 0..clients {
        let pool = pool.clone();
        let orgs = fixture.orgs.clone();
        let insert_invoice = insert_invoice.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut n = c;
            while Instant::now() < deadline {
                let (guid, token) = &orgs[n % orgs.len()];
                n += clients;
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT id, role, scope, name, created_at, revoked_at FROM api_keys WHERE token_hash = $1 AND revoked_at IS NULL")
                    .bind(kopek_domain::auth::hash_token(token))
                    .fetch_optional(&mut *conn)
                    .await?;
                sqlx::query(
                    "SELECT guid, alias, company_name, inn, kpp, created_at, updated_at, \
                     (SELECT MAX(version) FROM catalog_versions) AS catalog_version FROM organizations WHERE guid = $1",
                )
                .bind(guid)
                .fetch_optional(&mut *conn)
                .await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                let seq: i64 = sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
                )
                .bind(format!("invoice:{guid}"))
                .fetch_one(&mut *tx)
                .await?;
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros() as i64;
                sqlx::query(sqlx::AssertSqlSafe(insert_invoice.clone()))
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(guid)
                    .bind(seq)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO events (id, type, subject, payload, created_at) VALUES ($1, 'invoice.created', $2, '{}', $3)")
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(guid)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    pool.close().await;
    Ok(total as f64 / duration.as_secs_f64())
}

/// Stores `count` more invoices for `org` straight in the database, for the
/// "cost as work grows" comparison.
pub async fn preload(url: &str, org: &str, count: i64) -> anyhow::Result<()> {
    let now = "1700000000000000";
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        let sql = format!(
            "WITH RECURSIVE c(x) AS (SELECT (SELECT COALESCE(MAX(seq), 0) FROM invoices WHERE organization_guid = '{org}') + 1 \
             UNION ALL SELECT x + 1 FROM c WHERE x < (SELECT COALESCE(MAX(seq), 0) FROM invoices WHERE organization_guid = '{org}') + {count}) \
             INSERT INTO invoices ({INVOICE_COLUMNS}) SELECT {} FROM c",
            invoice_values(
                "lower(hex(randomblob(16)))",
                &format!("'{org}'"),
                "x",
                &format!("{now} + x")
            )
        );
        conn.execute(sqlx::AssertSqlSafe(sql)).await?;
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let sql = format!(
            "INSERT INTO invoices ({INVOICE_COLUMNS}) SELECT {} FROM generate_series( \
             (SELECT COALESCE(MAX(seq), 0) FROM invoices WHERE organization_guid = '{org}') + 1, \
             (SELECT COALESCE(MAX(seq), 0) FROM invoices WHERE organization_guid = '{org}') + {count}) x",
            invoice_values(
                "gen_random_uuid()::text",
                &format!("'{org}'"),
                "x",
                &format!("{now} + x")
            )
        );
        conn.execute(sqlx::AssertSqlSafe(sql)).await?;
        conn.execute("ANALYZE invoices").await?;
    }
    Ok(())
}
