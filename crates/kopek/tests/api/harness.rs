//! One harness for every integration test: a fresh database per test (a temporary
//! SQLite file, or a PostgreSQL database cloned from a migrated template) and the
//! app spawned on 127.0.0.1:0, talked to over HTTP.

use kopek::Server;
use kopek::config::Config;
use kopek_store::outbox::Worker;
use kopek_store::{Store, StoreOptions};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use sqlx::{Connection, Executor};
use std::sync::Mutex;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::OnceCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `async fn NAME(fixture)` once per backend, as `NAME::sqlite` and
/// `NAME::postgres`; the fixture (a [`TestApp`], a [`TestDb`] or just the
/// [`Backend`]) is whatever NAME takes.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::harness::{Backend, run};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite, super::$name).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::postgres_available().await {
                    run(Backend::Postgres, super::$name).await
                }
            }
        }
    )+};
}

/// Makes the fixture `test` takes for `backend` and runs it.
pub async fn run<F: Fixture, T: Future<Output = ()>>(backend: Backend, test: impl FnOnce(F) -> T) {
    test(F::make(backend).await).await
}

/// What a test runs against, made for one backend.
pub trait Fixture: Sized {
    async fn make(backend: Backend) -> Self;
}

impl Fixture for Backend {
    async fn make(backend: Backend) -> Backend {
        backend
    }
}

impl Fixture for TestDb {
    async fn make(backend: Backend) -> TestDb {
        TestDb::new(backend).await
    }
}

impl Fixture for TestApp {
    async fn make(backend: Backend) -> TestApp {
        TestApp::spawn(backend).await
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("KOPEK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// PostgreSQL tests skip on a machine without PostgreSQL, but fail under CI.
pub async fn postgres_available() -> bool {
    static AVAILABLE: OnceCell<bool> = OnceCell::const_new();
    let available = *AVAILABLE
        .get_or_init(|| async {
            matches!(
                tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::PgConnection::connect(&postgres_admin_url())
                )
                .await,
                Ok(Ok(_))
            )
        })
        .await;
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but PostgreSQL at KOPEK_TEST_POSTGRES_URL is unreachable"
        );
        skipped("PostgreSQL unreachable (set KOPEK_TEST_POSTGRES_URL)");
    }
    available
}

pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let cut = base
        .rfind('/')
        .filter(|i| *i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{}{}", &base[..cut], database, query)
}

/// Migrates a template database once per schema; each test clones it, which is far
/// quicker than migrating a database per test.
async fn postgres_template() -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("kopek_tpl_{}", kopek_store::schema_fingerprint());
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute("SELECT pg_advisory_lock(7270001)")
                .await
                .expect("lock");
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut admin)
                    .await
                    .expect("look up template");
            if exists.is_none() {
                let building = format!("{name}_building");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
                    )))
                    .await
                    .expect("drop half-built template");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
                    .await
                    .expect("create template");
                let store = Store::connect(&StoreOptions {
                    max_connections: Some(1),
                    ..StoreOptions::new(with_database(&postgres_admin_url(), &building))
                })
                .await
                .expect("connect template");
                store.migrate().await.expect("migrate template");
                store.close().await;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "ALTER DATABASE {building} RENAME TO {name}"
                    )))
                    .await
                    .expect("publish template");
            }
            admin
                .execute("SELECT pg_advisory_unlock(7270001)")
                .await
                .expect("unlock");
            name
        })
        .await
        .clone()
}

/// A fresh, migrated database for one test, dropped when the test ends.
pub struct TestDb {
    pub url: String,
    dir: TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        TestDb::create(backend, true).await
    }

    /// A database with no schema at all, for tests of the migrations themselves.
    pub async fn unmigrated(backend: Backend) -> TestDb {
        TestDb::create(backend, false).await
    }

    /// A new database: on PostgreSQL cloned from the migrated template when
    /// `migrated` (SQLite's file is migrated by the first store that opens it).
    async fn create(backend: Backend, migrated: bool) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_name) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("kopek.db").display()
                ),
                None,
            ),
            Backend::Postgres => {
                let template = if migrated {
                    format!(" TEMPLATE {}", postgres_template().await)
                } else {
                    String::new()
                };
                let name = format!("kopek_t_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .expect("connect");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "CREATE DATABASE {name}{template}"
                    )))
                    .await
                    .expect("create database");
                (with_database(&postgres_admin_url(), &name), Some(name))
            }
        };
        TestDb { url, dir, pg_name }
    }

    pub async fn store(&self) -> Store {
        Store::open(&StoreOptions {
            max_connections: Some(8),
            ..StoreOptions::new(self.url.clone())
        })
        .await
        .expect("open store")
    }

    pub fn config(&self) -> Config {
        Config {
            listen: "127.0.0.1:0".to_owned(),
            data_dir: self.dir.path().to_owned(),
            database_url: Some(self.url.clone()),
            db_max_connections: Some(8),
            admin_token: Some(format!("admin-{}", uuid::Uuid::new_v4())),
            user_types: "user,type_value,operator".to_owned(),
            ..Config::default()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async code; a small thread of its own does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .ok()?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub struct TestApp {
    pub base: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    server: Option<Server>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}, |w| w).await
    }

    /// Spawns with changes to the configuration and the outbox worker.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
        worker: impl FnOnce(Worker) -> Worker,
    ) -> TestApp {
        capture_logs();
        let db = TestDb::new(backend).await;
        let mut config = db.config();
        configure(&mut config);
        let server = Server::start(&config, worker).await.expect("start server");
        TestApp {
            base: format!("http://{}", server.addr),
            admin_token: config.admin_token.clone().unwrap_or_default(),
            client: reqwest::Client::new(),
            db,
            server: Some(server),
        }
    }

    pub fn grpc_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.grpc_addr)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.db.dir.path()
    }

    pub fn store(&self) -> &Store {
        &self.server.as_ref().expect("running").store
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// An admin call with a JSON body (or none), answered with status and JSON.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.request(method, path, Some(&self.admin_token));
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.expect("send")).await
    }

    /// Creates a reseller and returns its id.
    pub async fn reseller(&self, name: &str) -> String {
        let (status, body) = self
            .admin(
                Method::POST,
                "/admin/v1/resellers",
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Issues a key and returns (id, token).
    pub async fn key(&self, role: &str, scope: Option<&str>) -> (String, String) {
        let (status, body) = self
            .admin(
                Method::POST,
                "/admin/v1/api-keys",
                Some(serde_json::json!({"role": role, "scope": scope, "name": "test"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    /// Stops the in-process server and keeps the database, for tests that run
    /// `kopek serve` processes of their own on it.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// A second `kopek serve`, a real process of its own, on the same database.
pub struct Process {
    pub base: String,
    child: std::process::Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn spawn_process(app: &TestApp) -> Process {
    spawn_process_with(app, &[]).await
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit: the time it took.
    pub fn terminate(&mut self, limit: Duration) -> Option<Duration> {
        let started = std::time::Instant::now();
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        while started.elapsed() < limit {
            if self.child.try_wait().ok().flatten().is_some() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// [`spawn_process`] with more `KOPEK_*` settings.
pub async fn spawn_process_with(app: &TestApp, env: &[(&str, &str)]) -> Process {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kopek"))
        .arg("serve")
        // The test's own directory, for mail files too (never the source tree).
        .env("KOPEK_DATA_DIR", app.data_dir())
        .envs(env.iter().copied())
        .env("KOPEK_DATABASE_URL", &app.db.url)
        .env("KOPEK_LISTEN", "127.0.0.1:0")
        .env("KOPEK_LOG", "info")
        .env("KOPEK_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start kopek serve");
    let stderr = child.stderr.take().expect("stderr");
    // The process says where it listens; read until it does, then keep draining
    // its log (one line a request) so that a full pipe never blocks it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if parsed["fields"]["message"] == "kopek listening"
                && let (Some(tx), Some(addr)) = (tx.take(), parsed["fields"]["addr"].as_str())
            {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx.await.expect("kopek serve reported its address");
    Process {
        base: format!("http://{addr}"),
        child,
    }
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of every test server, down to debug, to one buffer.
fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,hyper_util=info,h2=info,reqwest=info")
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

/// Everything logged so far by the servers of this test process.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Says that the running test checked nothing. libtest counts it as passed and
/// hides what tests print, so the line goes to stderr past its capture and shows
/// in every `cargo test` run.
pub fn skipped(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// A line for the test output that shows without `--nocapture` (a measurement).
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether a program is on this machine. Tests that need one skip without it,
/// except under CI, where `.ci/run` installs it and its absence is a failure.
pub fn have(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing(program);
    }
    found
}

/// Says a test's program is missing: the test skips, except under CI, where it
/// fails.
pub fn missing(program: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {program} is not installed"
    );
    skipped(&format!("{program} not installed"));
}

/// The text of a PDF, extracted with poppler's `pdftotext`.
/// A Python interpreter that imports `module`, if one is installed
/// (`KOPEK_TEST_PYTHON` first, then each `python3` on `PATH`).
pub fn python_with(module: &str) -> Option<String> {
    let mut candidates: Vec<String> = std::env::var("KOPEK_TEST_PYTHON").into_iter().collect();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        candidates.push(dir.join("python3").display().to_string());
    }
    candidates.into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs a Python script with `input` as JSON on its standard input, and answers
/// the JSON it prints.
pub fn run_python(python: &str, script: &str, input: &Value) -> Value {
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    poppler("pdftotext", pdf, &["-"])
}

/// What poppler's `pdfinfo` says of a PDF (title, pages, ...).
pub fn pdf_info(pdf: &[u8]) -> Option<String> {
    poppler("pdfinfo", pdf, &[])
}

fn poppler(program: &str, pdf: &[u8], args: &[&str]) -> Option<String> {
    if !have(program) {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).ok()?;
    let out = std::process::Command::new(program)
        .arg(&path)
        .args(args)
        .output()
        .ok()?;
    assert!(out.status.success(), "{program} failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The text of the QR code in a PNG, read by zbar's `zbarimg`.
pub fn qr_in_png(png: &std::path::Path) -> Option<String> {
    if !have("zbarimg") {
        return None;
    }
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "zbarimg found no code in {}",
        png.display()
    );
    Some(
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim_end_matches('\n')
            .to_owned(),
    )
}

/// The text of the QR code on a PDF's first page: rendered to PNG by poppler's
/// `pdftoppm`, read by `zbarimg`.
pub fn qr_in_pdf(pdf: &[u8]) -> Option<String> {
    if !have("pdftoppm") {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).ok()?;
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg(dir.path().join("page"))
        .status()
        .ok()?;
    assert!(status.success(), "pdftoppm failed");
    let png = std::fs::read_dir(dir.path())
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))?;
    qr_in_png(&png)
}

/// Status and JSON body (Null when the body is not JSON).
pub async fn read(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
