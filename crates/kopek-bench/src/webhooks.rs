//! The webhook scenario: create-invoice with three endpoints subscribed to every
//! event, against the same load with those endpoints disabled, alternately; and how
//! fast the deliveries reach a local receiver, while the load runs and after it,
//! until the queue is empty. It also counts the whole machine's CPU an invoice and
//! a delivery take, and a bare signed POST between two tasks of the bench: on two
//! shared cores the ratio cannot pass what those costs allow.

use crate::cpu::Spent;
use crate::load::{self, Load};
use crate::setup::call;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use sqlx::Connection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ENDPOINTS: usize = 3;
/// Rounds of (disabled, enabled); alternating evens out drift on a noisy machine.
const ROUNDS: usize = 2;
/// The longest a backlog may take to drain before the run is called failed.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// An HTTP receiver that answers 204 to every signed delivery and counts them.
struct Receiver {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let signed = request.headers().contains_key("webhook-signature");
                            let _ = request.into_body().collect().await;
                            if signed {
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                            let status = if signed {
                                StatusCode::NO_CONTENT
                            } else {
                                StatusCode::BAD_REQUEST
                            };
                            let mut response = Response::new(Empty::<Bytes>::new());
                            *response.status_mut() = status;
                            anyhow::Ok(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver {
            addr,
            received,
            task,
        })
    }

    fn count(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// The server's database, read directly: how many deliveries are not yet made.
/// One connection for the whole run, so the polling costs no connection setup.
enum Queue {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Queue {
    async fn open(database_url: &str) -> anyhow::Result<Queue> {
        Ok(if database_url.starts_with("sqlite") {
            Queue::Sqlite(sqlx::SqliteConnection::connect(database_url).await?)
        } else {
            Queue::Postgres(sqlx::PgConnection::connect(database_url).await?)
        })
    }

    /// Deliveries still to make to the enabled endpoints, and events not yet fanned
    /// out (which may add some): the worker fans out a moment after the event, so
    /// the last events of a run may still be queued for endpoints enabled then, and
    /// a later run's disabled endpoints keep what was left for them.
    async fn pending(&mut self) -> anyhow::Result<i64> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM webhook_deliveries d \
            JOIN webhook_endpoints w ON w.id = d.endpoint_id \
            WHERE d.state = 'pending' AND w.enabled = 1) \
            + (SELECT COUNT(*) FROM event_fan_out_queue)";
        Ok(match self {
            Queue::Sqlite(conn) => sqlx::query_scalar(SQL).fetch_one(conn).await?,
            Queue::Postgres(conn) => sqlx::query_scalar(SQL).fetch_one(conn).await?,
        })
    }
}

/// Signed POSTs sent to `receiver` by one client, as Kopek's worker sends them
/// (keep-alive, [`ENDPOINTS`] endpoints, 16 in flight to each, a real event as the
/// body): the machine's CPU a POST, with no database and no queue.
async fn bare_posts(receiver: &Receiver, body: Vec<u8>, n: usize) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    let secret = kopek_domain::webhook::Secret::generate();
    let body = Bytes::from(body);
    let next = Arc::new(AtomicU64::new(0));
    let started = crate::cpu::machine();
    let mut tasks = Vec::new();
    for lane in 0..ENDPOINTS * 16 {
        let (client, secret, body, next) =
            (client.clone(), secret.clone(), body.clone(), next.clone());
        let url = format!("http://{}/hook/{}", receiver.addr, lane % ENDPOINTS);
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
                let timestamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs() as i64;
                let signature =
                    kopek_domain::webhook::signature_header(&[&secret], &id, timestamp, &body);
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .header("kopek-event-type", "invoice.created")
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "{}", response.status());
                response.bytes().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((crate::cpu::machine() - started) / n as f64)
}

pub struct Measured {
    /// create-invoice per second with the endpoints disabled, then enabled (means).
    pub without: f64,
    pub with: f64,
    pub errors: u64,
    /// Deliveries received while the load ran, per second.
    pub during_rate: f64,
    /// Deliveries left when the load stopped, and how fast they were then drained.
    pub backlog: u64,
    pub drain_rate: f64,
    /// All deliveries of an enabled round over the time from the load's start to
    /// the queue's end.
    pub overall_rate: f64,
    /// CPU in µs: an invoice with the endpoints disabled, an invoice with its
    /// deliveries (drained), a delivery (the difference over the deliveries), and
    /// the whole machine's for a bare signed POST of the same event.
    pub invoice: Spent,
    pub invoice_delivered: Spent,
    pub delivery: Spent,
    pub bare_post: f64,
}

pub async fn measure(
    server: &crate::Server,
    admin: &str,
    database_url: &str,
    load: Arc<Load>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let base = &server.base();
    let receiver = Receiver::start().await?;
    let mut queue = Queue::open(database_url).await?;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..ENDPOINTS {
        let endpoint = call(
            &client,
            base,
            admin,
            reqwest::Method::POST,
            "/admin/v1/webhook-endpoints",
            json!({"url": format!("http://{}/hook/{i}", receiver.addr), "event_types": ["*"],
                   "description": "bench", "enabled": false}),
        )
        .await?;
        ids.push(endpoint["id"].as_str().context("endpoint id")?.to_owned());
    }
    let switch = |enabled: bool| {
        let (client, ids) = (&client, &ids);
        async move {
            for id in ids {
                call(
                    client,
                    base,
                    admin,
                    reqwest::Method::PATCH,
                    &format!("/admin/v1/webhook-endpoints/{id}"),
                    json!({ "enabled": enabled }),
                )
                .await?;
            }
            anyhow::Ok(())
        }
    };
    let (mut without, mut with, mut errors) = (0.0, 0.0, 0);
    let (mut during, mut after, mut backlog) = (0u64, 0u64, 0u64);
    let (mut loaded, mut drained) = (Duration::ZERO, Duration::ZERO);
    let (mut cpu_off, mut cpu_on) = (Spent::default(), Spent::default());
    for _ in 0..ROUNDS {
        switch(false).await?;
        let before = server.cpu();
        let off = load::run(server.addr, load.clone(), connections, duration).await?;
        cpu_off += server.cpu() - before;
        switch(true).await?;
        let start = receiver.count();
        let started = Instant::now();
        let before = server.cpu();
        let on = load::run(server.addr, load.clone(), connections, duration).await?;
        loaded += started.elapsed();
        let at_end = receiver.count();
        let left = queue.pending().await?;
        let drain_started = Instant::now();
        while queue.pending().await? > 0 {
            anyhow::ensure!(
                drain_started.elapsed() < DRAIN_LIMIT,
                "webhook deliveries did not drain within {DRAIN_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drained += drain_started.elapsed();
        cpu_on += server.cpu() - before;
        without += off.rate / ROUNDS as f64;
        with += on.rate / ROUNDS as f64;
        errors += off.errors + on.errors;
        during += at_end - start;
        after += receiver.count() - at_end;
        backlog += u64::try_from(left).unwrap_or(0);
    }
    switch(false).await?;
    let per_second = |n: u64, t: Duration| n as f64 / t.as_secs_f64().max(1e-3);
    let invoices = |rate: f64| (rate * ROUNDS as f64 * duration.as_secs_f64()).max(1.0);
    let invoice = cpu_off.per(invoices(without));
    let invoice_delivered = cpu_on.per(invoices(with));
    let delivery = (cpu_on - invoice.scaled(invoices(with) / 1e6)).per((during + after) as f64);
    let event = call(
        &client,
        base,
        admin,
        reqwest::Method::GET,
        "/admin/v1/events?limit=1&type=invoice.created",
        serde_json::Value::Null,
    )
    .await?;
    let body = serde_json::to_vec(event["events"].get(0).context("an invoice event")?)?;
    let bare_post = 1e6 * bare_posts(&receiver, body, 20_000).await?;
    Ok(Measured {
        without,
        with,
        errors,
        during_rate: per_second(during, loaded),
        backlog: backlog / ROUNDS as u64,
        drain_rate: per_second(after, drained),
        overall_rate: per_second(during + after, loaded + drained),
        invoice,
        invoice_delivered,
        delivery,
        bare_post,
    })
}
