//! One command for Kopek's benchmarks (see BENCHMARKS.md):
//!
//! ```sh
//! cargo build --release -p kopek -p kopek-bench && target/release/kopek-bench
//! ```
//!
//! For each backend it starts the release server on a fresh database, prepares data
//! over the API, drives each scenario at 1, 8 and 32 connections for a fixed time,
//! measures the database's own ceiling for create-invoice with the same SQL, the
//! server's memory, and create-invoice with 1 thousand and 1 million invoices
//! stored, then prints a Markdown table.

mod ceiling;
mod console;
mod cpu;
mod load;
mod renewals;
mod setup;
mod webhooks;

use anyhow::Context;
use clap::Parser;
use load::{Load, Stats};
use setup::{Fixture, PLAN, PRODUCT};
use sqlx::{Connection, Executor};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// Seconds per scenario and connection count.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Connection counts to run each scenario at.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    connections: Vec<usize>,
    /// `sqlite`, `postgres` or both.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// A PostgreSQL superuser URL; a database `kopek_bench` is made afresh in it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// How many invoices the "work grows" comparison stores before measuring again.
    #[arg(long, default_value_t = 1_000_000)]
    grow_to: i64,
    /// A short run for CI: one second, one connection count, no growth step.
    #[arg(long)]
    smoke: bool,
    /// Only these scenarios (all when absent, but `console`, which seeds 100,000
    /// invoices and runs only when named; `webhooks` is one). The ceiling and
    /// the growth step run with create-invoice.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// How many subscriptions come due on the day the `renewals` scenario runs.
    #[arg(long, default_value_t = 100_000)]
    renewals: i64,
}

const ADMIN: &str = "bench-admin-token";

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(database_url: &str, data_dir: &std::path::Path) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let exe = std::env::current_exe()?.with_file_name("kopek");
        let mut command = Command::new(&exe);
        if database_url.starts_with("postgres") {
            // One server connection per client connection at the most; SQLite keeps
            // its default pool, which is smaller on purpose.
            command.env("KOPEK_DB_MAX_CONNECTIONS", "32");
        }
        let child = command
            .arg("serve")
            .env("KOPEK_DATABASE_URL", database_url)
            .env("KOPEK_DATA_DIR", data_dir)
            .env("KOPEK_LISTEN", addr.to_string())
            .env("KOPEK_ADMIN_TOKEN", ADMIN)
            .env("KOPEK_LOG", "warn")
            // The webhook scenario's receiver listens on loopback.
            .env("KOPEK_WEBHOOK_ALLOW_PRIVATE", "true")
            // The renewals scenario moves the test clock.
            .env("KOPEK_TEST_MODE", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (build it with --release)", exe.display()))?;
        let server = Server { child, addr };
        for _ in 0..200 {
            if reqwest::get(format!("http://{addr}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server did not become ready")
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// CPU time spent so far: the machine's, the server's and PostgreSQL's.
    fn cpu(&self) -> cpu::Spent {
        cpu::Spent::now(self.child.id())
    }

    /// Resident memory in MiB.
    fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

fn lp_headers() -> Vec<(String, String)> {
    vec![
        ("authorization".into(), "Bearer {token}".into()),
        (
            "x-lp-client-identifier".into(),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
        ),
        ("x-lp-client-type".into(), "Service".into()),
        ("accept-language".into(), "en".into()),
    ]
}

fn create_invoice(f: &Fixture) -> Load {
    Load {
        method: "POST",
        path: format!("/orgs/{{org}}/profile/subscriptions/products/{PRODUCT}:create-invoice"),
        body: Some(format!(
            r#"{{"plan":{{"guid":"{PLAN}","type_of":"Plan"}},"quantity":1,"period_in_months":1}}"#
        )),
        headers: lp_headers(),
        pairs: f.orgs.clone(),
        expect: 201,
    }
}

fn list_invoices(f: &Fixture, per_page: usize) -> Load {
    Load {
        method: "GET",
        path: format!("/orgs/{{org}}/profile/invoices?items_per_page={per_page}"),
        body: None,
        headers: lp_headers(),
        pairs: f.orgs.clone(),
        expect: 200,
    }
}

fn scenarios(f: &Fixture) -> Vec<(&'static str, Load)> {
    let bearer = |token: &str| vec![("authorization".to_owned(), format!("Bearer {token}"))];
    vec![
        ("create-invoice", create_invoice(f)),
        (
            "CreateResellerServed",
            Load {
                method: "POST",
                path: "/billing/v1/customers:createResellerServedCustomer".into(),
                body: Some(format!(r#"{{"resellerId":"{}","name":"Customer {{n}}","person":{{}}}}"#, f.reseller)),
                headers: bearer(&f.reseller_key),
                pairs: Vec::new(),
                expect: 200,
            },
        ),
        (
            "user create (argon2)",
            Load {
                method: "POST",
                path: "/api/v1/billing/user/manage".into(),
                body: Some(r#"{"login":"user{n}@bench.example","password":"bench-password","type":"user"}"#.into()),
                headers: bearer(&f.integration_key),
                pairs: Vec::new(),
                expect: 200,
            },
        ),
        (
            "GET operation",
            Load {
                method: "GET",
                path: format!("/operations/{}", f.operation),
                body: None,
                headers: bearer(&f.reseller_key),
                pairs: Vec::new(),
                expect: 200,
            },
        ),
        ("list invoices", list_invoices(f, 20)),
        // The same request with one invoice a page: what a list costs apart from
        // the invoices it carries.
        ("list invoices, 1 a page", list_invoices(f, 1)),
    ]
}

/// A fresh database for `backend`: its URL, and a data directory.
async fn fresh(backend: &str, args: &Args, dir: &std::path::Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    if backend == "sqlite" {
        let file = dir.join("kopek.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        return Ok(format!("sqlite://{}?mode=rwc", file.display()));
    }
    let mut admin = sqlx::PgConnection::connect(&args.postgres_url).await?;
    admin
        .execute("DROP DATABASE IF EXISTS kopek_bench WITH (FORCE)")
        .await?;
    admin.execute("CREATE DATABASE kopek_bench").await?;
    let base = args
        .postgres_url
        .rsplit_once('/')
        .map_or(args.postgres_url.as_str(), |(b, _)| b);
    Ok(format!("{base}/kopek_bench"))
}

fn row(out: &mut String, scenario: &str, conns: usize, s: &Stats, extra: &str) {
    let _ = writeln!(
        out,
        "| {scenario} | {conns} | {:.0} | {:.2} | {:.2} | {} | {extra} |",
        s.rate, s.p50_ms, s.p99_ms, s.errors
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.duration = 1;
        args.connections = vec![8];
        args.renewals = args.renewals.min(500);
    }
    let duration = Duration::from_secs(args.duration);
    let root = PathBuf::from("target/bench");
    let mut report = String::new();
    let mut failed = 0;
    for backend in args.backends.clone() {
        let dir = root.join(&backend);
        let url = fresh(&backend, &args, &dir).await?;
        let server = Server::start(&url, &dir).await?;
        let fixture = setup::prepare(&server.base(), ADMIN).await?;
        let idle = server.rss_mib();
        let _ = writeln!(
            report,
            "\n### {backend}\n\n| scenario | connections | per second | p50 ms | p99 ms | errors | notes |\n| --- | --- | --- | --- | --- | --- | --- |"
        );
        let mut peak = idle;
        let mut invoice_rate = Vec::new();
        let chosen =
            |name: &str| args.scenarios.is_empty() || args.scenarios.iter().any(|s| s == name);
        for (name, load) in scenarios(&fixture).into_iter().filter(|(n, _)| chosen(n)) {
            let load = Arc::new(load);
            for &c in &args.connections {
                eprintln!("{backend}: {name} at {c} connections");
                let before = server.cpu();
                let stats = load::run(server.addr, load.clone(), c, duration).await?;
                let cpu = server.cpu() - before;
                peak = peak.max(server.rss_mib());
                if name == "create-invoice" {
                    invoice_rate.push((c, stats.rate));
                }
                failed += stats.errors;
                let served = stats.rate * duration.as_secs_f64();
                let per_request = cpu.per(served).describe(&backend);
                row(&mut report, name, c, &stats, &per_request);
            }
        }
        // The database's own ceiling for the same SQL, at the same connection counts.
        let with_invoices = chosen("create-invoice");
        for &c in args.connections.iter().filter(|_| with_invoices) {
            let ceiling = if backend == "sqlite" {
                let path = dir.join("kopek.db");
                ceiling::sqlite_loop(&path, &fixture, c, duration).await?
            } else {
                ceiling::pgbench(&url, &fixture, c, duration).await?
            };
            let kopek = invoice_rate
                .iter()
                .find(|(n, _)| *n == c)
                .map_or(0.0, |(_, r)| *r);
            let tool = if backend == "sqlite" {
                "raw-SQL loop"
            } else {
                "pgbench"
            };
            let _ = writeln!(
                report,
                "| ceiling: create-invoice SQL ({tool}) | {c} | {ceiling:.0} | | | | Kopek ÷ ceiling = {:.0}% |",
                100.0 * kopek / ceiling.max(1.0)
            );
        }
        for &c in args.connections.iter().filter(|_| chosen("webhooks")) {
            eprintln!("{backend}: webhooks at {c} connections");
            let load = Arc::new(create_invoice(&fixture));
            let m = webhooks::measure(&server, ADMIN, &url, load, c, duration).await?;
            peak = peak.max(server.rss_mib());
            failed += m.errors;
            let _ = writeln!(
                report,
                "| create-invoice, {n} webhook endpoints disabled | {c} | {:.0} | | | | |\n\
                 | create-invoice, {n} webhook endpoints on every event | {c} | {:.0} | | | {} | {:.0}% of disabled (goal 90%) |\n\
                 | webhook deliveries while that load runs | {c} | {:.0} | | | | |\n\
                 | webhook deliveries after it, until the queue is empty | {c} | {:.0} | | | | backlog {} when the load stopped; {:.0}/s from its start to the last delivery |",
                m.without,
                m.with,
                m.errors,
                100.0 * m.with / m.without.max(1.0),
                m.during_rate,
                m.drain_rate,
                m.backlog,
                m.overall_rate,
                n = webhooks::ENDPOINTS,
            );
            // If a delivery cost no more than a bare POST, the ratio could reach
            // `invoice ÷ (invoice + n × POST)`, counted on the whole machine.
            let n = webhooks::ENDPOINTS as f64;
            let _ = writeln!(
                report,
                "| CPU at {c} connections | {c} | | | | | an invoice without webhooks: {}; an invoice with its {n} deliveries: {}; a delivery: {}; a bare signed POST to the same receiver: the whole machine {:.0} µs, so at most {:.0}% if a delivery cost only its POST |",
                m.invoice.describe(&backend),
                m.invoice_delivered.describe(&backend),
                m.delivery.describe(&backend),
                m.bare_post,
                100.0 * m.invoice.machine / (m.invoice.machine + n * m.bare_post).max(1e-9),
            );
        }
        if chosen("renewals") {
            eprintln!("{backend}: {} subscriptions due in one day", args.renewals);
            let load = Arc::new(create_invoice(&fixture));
            let m = renewals::measure(
                &server.base(),
                ADMIN,
                &url,
                server.addr,
                load,
                args.renewals,
                duration,
            )
            .await?;
            peak = peak.max(server.rss_mib());
            failed += m.during.errors;
            let _ = writeln!(
                report,
                "| renewals: {n} subscriptions due in one day, the test clock moved past it | 1 process | {:.0} | | | | {} renewal invoices and {} mails queued in {:.1} s (goal: under 60 s) |\n\
                 | create-invoice while the renewals run (first {} s) | 8 | {:.0} | {:.2} | {:.2} | {} | |",
                m.invoices as f64 / m.seconds.max(0.001),
                m.invoices,
                m.mails,
                m.seconds,
                duration.as_secs(),
                m.during.rate,
                m.during.p50_ms,
                m.during.p99_ms,
                m.during.errors,
                n = args.renewals,
            );
        }
        if args.scenarios.iter().any(|s| s == "console") {
            eprintln!(
                "{backend}: console pages over {} organizations and {} invoices",
                console::ORGANIZATIONS,
                console::INVOICES
            );
            for t in console::measure(&server.base(), &url, &dir, 100).await? {
                let _ = writeln!(
                    report,
                    "| console: {} ({} organizations, {} invoices) | 1 | | {:.2} | | | p95 {:.2} ms over {} requests (goal: under 50 ms) |",
                    t.page,
                    console::ORGANIZATIONS,
                    console::INVOICES,
                    t.p50_ms,
                    t.p95_ms,
                    t.requests
                );
            }
        }
        let _ = writeln!(
            report,
            "\nServer memory (RSS): {idle:.1} MiB idle after setup, {peak:.1} MiB at most under load."
        );
        if !args.smoke && with_invoices {
            // Cost as work grows: create-invoice with ~1 thousand, then 1 million, stored.
            let load = Arc::new(create_invoice(&fixture));
            let c = 8;
            ceiling::preload(&url, &fixture.archive, 1_000).await?;
            let small = load::run(server.addr, load.clone(), c, duration).await?;
            eprintln!(
                "{backend}: growing the invoice table to {} rows",
                args.grow_to
            );
            ceiling::preload(&url, &fixture.archive, args.grow_to).await?;
            let large = load::run(server.addr, load, c, duration).await?;
            let _ = writeln!(
                report,
                "\nCreate-invoice at {c} connections with the invoice table grown: {:.0}/s (p99 {:.2} ms) after 1 thousand more rows, {:.0}/s (p99 {:.2} ms) after {} more: {:+.1}%.",
                small.rate,
                small.p99_ms,
                large.rate,
                large.p99_ms,
                args.grow_to,
                100.0 * (large.rate - small.rate) / small.rate.max(1.0)
            );
        }
        drop(server);
    }
    println!("{report}");
    // A full run reports failures in its table; the smoke run is a check.
    if args.smoke && failed > 0 {
        anyhow::bail!("{failed} requests got an answer other than the expected one");
    }
    Ok(())
}
