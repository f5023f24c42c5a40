//! Delivering webhooks: claims due deliveries, sends each as the Standard Webhooks
//! specification says (signed, the event id as `webhook-id` on every retry), and
//! records the outcome through the core. Deliveries run side by side, at most two
//! per endpoint per claim, each bounded by a 10 s timeout, so one slow or dead
//! endpoint holds up only its own.

use kopek_api::admin::events::EventView;
use kopek_core::Core;
use kopek_core::webhooks::{self as webhooks_core, Outcome};
use kopek_domain::time::Timestamp;
use kopek_domain::webhook::{is_public, signature_header};
use kopek_store::webhooks::{self, Due};
use kopek_store::{Store, events};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A receiver has this long to answer with 2xx.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer the log keeps.
pub const EXCERPT_BYTES: usize = 1024;
const LEASE: Duration = Duration::from_secs(60);
const BATCH: i64 = 32;
const IN_FLIGHT: usize = 32;
/// How often an idle worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(500);

/// Resolves hosts for deliveries, keeping only public addresses (unless private
/// ones are allowed): a name that pointed somewhere public when the endpoint was
/// made may point inward now.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{} resolves to no public address (KOPEK_WEBHOOK_ALLOW_PRIVATE allows others)",
                    name.as_str()
                )
                .into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Clone)]
pub struct Deliverer {
    core: Core,
    client: reqwest::Client,
    worker: String,
}

impl Deliverer {
    pub fn new(core: Core, worker: String) -> anyhow::Result<Deliverer> {
        let allow_private = core.settings.webhook_allow_private;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .user_agent(concat!("Kopek-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            core,
            client,
            worker,
        })
    }

    fn store(&self) -> &Store {
        &self.core.store
    }

    /// Works until `shutdown`; attempts in flight are finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        if let Err(e) = self.store().webhook_release(&self.worker).await {
            tracing::warn!(error = %e, "could not release this worker's old webhook leases");
        }
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        loop {
            let free = slots.available_permits().min(BATCH as usize) as i64;
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self
                    .store()
                    .webhook_claim(&self.worker, LEASE, free, Timestamp::now())
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook worker failed to claim");
                        Vec::new()
                    }
                }
            };
            let worked = !claimed.is_empty();
            for due in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let this = self.clone();
                tokio::spawn(async move {
                    this.deliver(&due).await;
                    drop(permit);
                });
            }
            if worked && !shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        // Let attempts in flight finish and be recorded.
        let _ = slots.acquire_many(IN_FLIGHT as u32).await;
    }

    async fn deliver(&self, due: &Due) {
        let started_at = Timestamp::now();
        let clock = Instant::now();
        let sent = self.send(due).await;
        let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (http_status, error, response_excerpt) = match sent {
            Ok((status, excerpt)) => (
                Some(status),
                (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
                Some(excerpt),
            ),
            Err(error) => (None, Some(error), None),
        };
        let outcome = Outcome {
            started_at,
            latency_ms,
            http_status,
            error,
            response_excerpt,
        };
        if let Some(e) = &outcome.error {
            tracing::info!(delivery = %due.id, endpoint = %due.endpoint_id, attempt = due.attempts, error = %e, "webhook attempt failed");
        }
        match webhooks_core::attempted(&self.core, &self.worker, due, outcome).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery = %due.id, "webhook lease lost before the attempt was recorded")
            }
            Err(e) => {
                tracing::error!(delivery = %due.id, error = %e, "recording a webhook attempt failed")
            }
        }
    }

    /// One POST; the receiver's status and the start of its answer, or why there
    /// was none.
    async fn send(&self, due: &Due) -> Result<(u16, String), String> {
        let (endpoint, event) = {
            let mut conn = self.store().conn().await.map_err(|e| e.to_string())?;
            let endpoint = webhooks::get(&mut conn, &due.endpoint_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the endpoint was deleted")?;
            let event = events::get(&mut conn, &due.event_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the event is gone")?;
            (endpoint, event)
        };
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| e.to_string())?;
        if !self.core.settings.webhook_allow_private
            && let Some(ip) = literal_ip(&url)
            && !is_public(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        let kind = event.kind.clone();
        let id = event.id.clone();
        let body = serde_json::to_vec(&EventView::from(event)).map_err(|e| e.to_string())?;
        let now = Timestamp::now();
        let timestamp = now.unix_seconds();
        let secrets = webhooks_core::secrets_in_force(&endpoint, now);
        let signature =
            signature_header(&secrets.iter().collect::<Vec<_>>(), &id, timestamp, &body);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("kopek-event-type", kind)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        Ok((status, excerpt(response).await))
    }
}

fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// The first KiB of an answer, as text (lossy), read within the attempt's timeout.
async fn excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Why a request failed, in words an operator can act on (no URL query strings).
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirected (redirects are not followed)"
    } else {
        "failed"
    };
    let mut cause = std::error::Error::source(&e);
    let mut detail = String::new();
    while let Some(c) = cause {
        detail = c.to_string();
        cause = c.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}
