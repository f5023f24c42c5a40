//! Prometheus metrics: requests by route and status, latency, database pool.
//! Each app has its own registry, so several apps in one process (tests) keep
//! their counts apart.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::time::Instant;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    audit_entries: IntGauge,
    audit_verified: IntGauge,
    events_sealed: IntGauge,
    events_verified: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("kopek".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["method", "route"],
        )?;
        let pool_size = IntGauge::new("db_pool_connections", "Open database connections")?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_size.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        let audit_entries = IntGauge::new("audit_log_entries", "Entries in the audit log")?;
        let audit_verified = IntGauge::new(
            "audit_log_verified_position",
            "The audit log entry up to which `kopek audit verify` last found the chain whole",
        )?;
        let events_sealed =
            IntGauge::new("event_chain_entries", "Events sealed into their hash chain")?;
        let events_verified = IntGauge::new(
            "event_chain_verified_position",
            "The event up to which `kopek audit verify` last found the events' chain whole",
        )?;
        for gauge in [
            &audit_entries,
            &audit_verified,
            &events_sealed,
            &events_verified,
        ] {
            registry.register(Box::new(gauge.clone()))?;
        }
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_size,
            pool_idle,
            audit_entries,
            events_sealed,
            events_verified,
            audit_verified,
        })
    }
}

/// The matched route template, carried out to the outer metrics layer on the response.
#[derive(Clone)]
struct Route(String);

/// Inner layer (on matched routes only): remembers which route served the request.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Outer layer: counts and times every request, unmatched ones as `unmatched`.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status().as_u16().to_string();
    let m = &state.metrics;
    m.requests
        .with_label_values(&[method.as_str(), route, status.as_str()])
        .inc();
    m.latency
        .with_label_values(&[method.as_str(), route])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics: requests by route and status, latencies, the pool.
#[utoipa::path(get, path = "/metrics", tag = "health", operation_id = "metrics",
    responses((status = 200, description = "The Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn render(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let (size, idle) = state.store.pool_stats();
    m.pool_size.set(i64::from(size));
    m.pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
    // The database out of reach leaves the last values read.
    if let Ok(head) = kopek_core::audit::head(&state.core).await {
        m.audit_entries.set(head.seq);
        m.audit_verified.set(head.verified_seq);
    }
    if let Ok(head) = kopek_core::audit::event_head(&state.core).await {
        m.events_sealed.set(head.seq);
        m.events_verified.set(head.verified_seq);
    }
    let encoder = TextEncoder::new();
    let mut buffer = Vec::new();
    if let Err(e) = encoder.encode(&m.registry.gather(), &mut buffer) {
        tracing::error!(error = %e, "metrics encoding failed");
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(CONTENT_TYPE, encoder.format_type().to_owned())], buffer).into_response()
}
