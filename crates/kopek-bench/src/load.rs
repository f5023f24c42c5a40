//! The load generator: N keep-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous answer is read, for a fixed time.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One kind of request. In `path` and `body`, `{n}` is a number unique to the
/// request, and `{org}` and `{token}` come from the same entry of `pairs`.
pub struct Load {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    pub pairs: Vec<(String, String)>,
    pub expect: u16,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub errors: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Load {
    fn fill(&self, template: &str, n: u64) -> String {
        let mut out = template.replace("{n}", &n.to_string());
        if !self.pairs.is_empty() {
            let (org, token) = &self.pairs[n as usize % self.pairs.len()];
            out = out.replace("{org}", org).replace("{token}", token);
        }
        out
    }

    fn request(&self, n: u64) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(self.method)
            .uri(self.fill(&self.path, n))
            .header("host", "kopek");
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), self.fill(value, n));
        }
        let body = self
            .body
            .as_deref()
            .map(|b| self.fill(b, n))
            .unwrap_or_default();
        if self.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request")
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Drives `load` at `addr` over `connections` connections for `duration`.
pub async fn run(
    addr: SocketAddr,
    load: Arc<Load>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let n = COUNTER.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let response = sender.send_request(load.request(n)).await?;
                let status = response.status().as_u16();
                response.into_body().collect().await?;
                if status == load.expect {
                    latencies.push(started.elapsed().as_micros() as u32);
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await??;
        all.extend(latencies);
        errors += e;
    }
    all.sort_unstable();
    let pick = |q: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((all.len() - 1) as f64 * q) as usize] as f64 / 1000.0
        }
    };
    Ok(Stats {
        errors,
        rate: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    })
}
