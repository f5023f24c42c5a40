//! The database out of reach: every family answers its own 503 with `Retry-After`
//! (never a 500, never the driver's text), `/readyz` says so, and everything works
//! again once the database is back, without a restart. On PostgreSQL the server
//! is reached through a proxy the test cuts; on SQLite another process holds the
//! write lock, as a backup tool or a `sqlite3` shell may.

use crate::customers::{invite_body, reseller_with_key};
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{create_request, lp, ready};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

crate::both_backends!(a_database_out_of_reach_is_unavailable_then_back);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    /// Every connection is dropped, new ones at once.
    Down,
    /// The next COMMIT reaches the server, its answer never reaches Kopek.
    LoseCommitAnswer,
}

/// A TCP proxy in front of PostgreSQL, for a test to cut.
struct Proxy {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            mode: Arc::new(Mutex::new(Mode::Open)),
            live: Arc::default(),
        };
        let (mode, live) = (proxy.mode.clone(), proxy.live.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *mode.lock().unwrap() == Mode::Down {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let task = tokio::spawn(relay(client, server, mode.clone()));
                live.lock().unwrap().push(task.abort_handle());
            }
        });
        proxy
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        if mode == Mode::Down {
            for task in self.live.lock().unwrap().drain(..) {
                task.abort();
            }
        }
    }
}

/// Copies both ways until either side closes; a COMMIT while the mode says so is
/// passed on and then both connections are dropped before the server's answer.
async fn relay(mut client: TcpStream, mut server: TcpStream, mode: Arc<Mutex<Mode>>) {
    let (mut from_client, mut to_client) = ([0u8; 16384], [0u8; 16384]);
    loop {
        tokio::select! {
            n = client.read(&mut from_client) => {
                let Ok(n @ 1..) = n else { return };
                let chunk = &from_client[..n];
                let lose = {
                    let mut mode = mode.lock().unwrap();
                    let commit = chunk.windows(6).any(|w| w == b"COMMIT");
                    let lose = commit && *mode == Mode::LoseCommitAnswer;
                    if lose {
                        *mode = Mode::Open;
                    }
                    lose
                };
                if server.write_all(chunk).await.is_err() {
                    return;
                }
                if lose {
                    // Long enough for the server to commit; then the answer is lost.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    return;
                }
            }
            n = server.read(&mut to_client) => {
                let Ok(n @ 1..) = n else { return };
                if client.write_all(&to_client[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What keeps the database from Kopek, and lets it go again.
enum Outage {
    Postgres(Proxy),
    /// Another connection to the SQLite file, which takes the write lock.
    Sqlite(sqlx::SqliteConnection),
}

impl Outage {
    async fn begin(&mut self) {
        match self {
            Outage::Postgres(proxy) => proxy.set(Mode::Down),
            Outage::Sqlite(conn) => {
                conn.execute("BEGIN EXCLUSIVE").await.unwrap();
            }
        }
    }

    async fn end(&mut self) {
        match self {
            Outage::Postgres(proxy) => proxy.set(Mode::Open),
            Outage::Sqlite(conn) => {
                conn.execute("ROLLBACK").await.unwrap();
            }
        }
    }
}

async fn spawn(backend: Backend) -> (TestApp, Outage) {
    let mut proxy = None;
    let app = TestApp::spawn_with(
        backend,
        |config| {
            config.db_wait_seconds = 1;
            if backend == Backend::Postgres {
                let url = config.database_url.clone().unwrap();
                let started = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(Proxy::start(upstream_of(&url)))
                });
                config.database_url = Some(through(&url, started.addr));
                proxy = Some(started);
            }
        },
        |w| w,
    )
    .await;
    let outage = match proxy {
        Some(proxy) => Outage::Postgres(proxy),
        None => Outage::Sqlite(sqlx::SqliteConnection::connect(&app.db.url).await.unwrap()),
    };
    (app, outage)
}

/// The host and port of a `postgres://user@host:port/db` URL.
fn upstream_of(url: &str) -> SocketAddr {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let host_port = after_at.split('/').next().unwrap();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port.parse().unwrap()
}

/// The same URL with the proxy's address for host and port.
fn through(url: &str, proxy: SocketAddr) -> String {
    let (scheme_user, rest) = url.rsplit_once('@').unwrap();
    let path = &rest[rest.find('/').unwrap()..];
    format!("{scheme_user}@{proxy}{path}")
}

/// One write of each family, ready to send again.
struct Writes {
    reseller: String,
    reseller_token: String,
    shop: crate::lifepos::Shop,
}

impl Writes {
    async fn new(app: &TestApp) -> Writes {
        let (reseller, _, reseller_token) = reseller_with_key(app, "Outage Partner").await;
        let shop = ready(app, "outage").await;
        Writes {
            reseller,
            reseller_token,
            shop,
        }
    }

    /// Sends each family's write and answers (family, status, Retry-After, body).
    async fn send(
        &self,
        app: &TestApp,
        round: usize,
    ) -> Vec<(&'static str, u16, Option<String>, Value)> {
        let mut answers = Vec::new();
        let mut invite = invite_body(&self.reseller);
        invite["invitationEmail"] = json!(format!("owner{round}@outage.example"));
        let requests = [
            (
                "yandex",
                app.request(Method::POST, "/billing/v1/customers:invite", Some(&self.reseller_token))
                    .json(&invite),
            ),
            ("lifepos", create_request(app, &self.shop, 1)),
            (
                "aipix",
                app.request(Method::POST, "/api/v1/billing/user/manage", Some(&app.admin_token))
                    .json(&json!({"login": format!("camera{round}"), "password": "s3cret-pass", "type": "user"})),
            ),
            (
                "operator",
                app.request(Method::POST, "/admin/v1/resellers", Some(&app.admin_token))
                    .json(&json!({"name": format!("Partner {round}")})),
            ),
        ];
        for (family, request) in requests {
            let response = request.send().await.unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, body) = read(response).await;
            answers.push((family, status, retry_after, body));
        }
        answers
    }
}

async fn readyz(app: &TestApp) -> u16 {
    app.client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Each family's own unavailable answer.
fn assert_unavailable(family: &str, status: u16, retry_after: Option<&str>, body: &Value) {
    assert_eq!(status, 503, "{family}: {body}");
    assert!(
        retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)),
        "{family}: Retry-After {retry_after:?}"
    );
    let text = body.to_string().to_lowercase();
    for internal in [
        "sqlx",
        "sqlite",
        "postgres",
        "connection",
        "locked",
        "pool",
        "timed out",
    ] {
        assert!(
            !text.contains(internal),
            "{family} shows {internal:?}: {body}"
        );
    }
    match family {
        "yandex" => assert_eq!(body["code"], 14, "{body}"),
        "lifepos" => assert_eq!(body["code"], "ServiceUnavailable", "{body}"),
        "operator" => assert_eq!(body["error"]["code"], "unavailable", "{body}"),
        _ => assert!(body["message"].is_string(), "{body}"),
    }
}

async fn a_database_out_of_reach_is_unavailable_then_back(backend: Backend) {
    let (app, mut outage) = spawn(backend).await;
    let writes = Writes::new(&app).await;
    for (family, status, _, body) in writes.send(&app, 0).await {
        assert!(
            (200..300).contains(&status),
            "{family} before: {status} {body}"
        );
    }
    assert_eq!(readyz(&app).await, 200);

    outage.begin().await;
    for (family, status, retry_after, body) in writes.send(&app, 1).await {
        assert_unavailable(family, status, retry_after.as_deref(), &body);
    }
    assert_eq!(readyz(&app).await, 503);

    outage.end().await;
    for (family, status, _, body) in writes.send(&app, 2).await {
        assert!(
            (200..300).contains(&status),
            "{family} after: {status} {body}"
        );
    }
    assert_eq!(readyz(&app).await, 200);

    // Nothing of the refused round was written.
    let (status, resellers) = app.admin(Method::GET, "/admin/v1/resellers", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = resellers["resellers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Partner 0") && names.contains(&"Partner 2"),
        "{names:?}"
    );
    assert!(!names.contains(&"Partner 1"), "{names:?}");
    let (_, users) = app.admin(Method::GET, "/admin/v1/users", None).await;
    let logins = users.to_string();
    assert!(
        logins.contains("camera0") && logins.contains("camera2"),
        "{users}"
    );
    assert!(!logins.contains("camera1"), "{users}");
}

/// PostgreSQL only: the answer to a COMMIT is lost, so Kopek cannot know whether
/// the invoice was written. The client is told so, and the same request sent again
/// with its Idempotency-Key gets the one invoice that was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_reported_and_safe_to_retry() {
    if !crate::harness::postgres_available().await {
        return;
    }
    let (app, outage) = spawn(Backend::Postgres).await;
    let Outage::Postgres(proxy) = &outage else {
        unreachable!()
    };
    let shop = ready(&app, "unknown").await;
    let send = || {
        create_request(&app, &shop, 1)
            .header("idempotency-key", "outcome-unknown-1")
            .send()
    };

    proxy.set(Mode::LoseCommitAnswer);
    let first = send().await.unwrap();
    assert_eq!(first.status(), 503);
    assert!(first.headers().contains_key("retry-after"));
    let (_, body) = read(first).await;
    assert!(
        body.to_string().contains("Idempotency-Key"),
        "the client is told the outcome is unknown: {body}"
    );

    let (status, again) = read(send().await.unwrap()).await;
    assert_eq!(status, 201, "{again}");
    let (status, once_more) = read(send().await.unwrap()).await;
    assert_eq!((status, &once_more["number"]), (201, &again["number"]));

    let list = format!("/orgs/{}/profile/invoices?items_per_page=10", shop.org);
    let (status, invoices) = read(
        lp(&app, Method::GET, &list, &shop.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{invoices}");
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1, "{invoices}");
}
