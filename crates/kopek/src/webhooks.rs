//! Delivering webhooks: claims due deliveries one endpoint at a time, sends each as
//! the Standard Webhooks specification says (signed, the event id as `webhook-id`
//! on every retry), and records the outcomes through the core, many to a
//! transaction. Deliveries run side by side, at most 16 to one endpoint, each
//! bounded by a 10 s timeout, so one slow or dead endpoint holds up only its own.
//! Under load a pass claims, and a transaction records, hundreds of deliveries, so
//! the database work of a delivery is a few rows in shared statements.

use kopek_api::admin::events::EventView;
use kopek_core::Core;
use kopek_core::webhooks::{self as webhooks_core, Outcome};
use kopek_domain::time::Timestamp;
use kopek_domain::webhook::{is_public, signature_header};
use kopek_store::webhooks::{Due, Endpoint};
use kopek_store::{Store, events};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// A receiver has this long to answer with 2xx.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer the log keeps.
pub const EXCERPT_BYTES: usize = 1024;
const LEASE: Duration = Duration::from_secs(60);
/// Attempts in flight at once, and to one endpoint.
const IN_FLIGHT: usize = 128;
const PER_ENDPOINT: usize = 16;
/// The most deliveries of one endpoint claimed and not yet recorded.
const CLAIM: usize = 256;
/// The most outcomes one transaction records, and how long the first waits for
/// others to join it.
const RECORD_BATCH: usize = 500;
const RECORD_LINGER: Duration = Duration::from_millis(50);
/// How often an idle worker looks for due deliveries, and how soon one that found
/// some looks again.
const POLL: Duration = Duration::from_millis(500);
const LINGER: Duration = Duration::from_millis(100);

/// A lease long enough for `claimed` deliveries of one endpoint sent
/// [`PER_ENDPOINT`] at a time, each taking up to the whole [`TIMEOUT`].
fn lease_for(claimed: usize) -> Duration {
    let rounds = u32::try_from(claimed.div_ceil(PER_ENDPOINT)).unwrap_or(u32::MAX);
    LEASE.saturating_add(TIMEOUT.saturating_mul(rounds))
}

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

    /// Works until `shutdown`; attempts in flight are finished and recorded first,
    /// those not begun are given back.
    pub async fn run(self, shutdown: CancellationToken) {
        if let Err(e) = self.store().webhook_release(&self.worker).await {
            tracing::warn!(error = %e, "could not release this worker's old webhook leases");
        }
        let busy = Busy::default();
        let (record, finished) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(self.clone().record(finished, busy.clone()));
        let mut dispatch = Dispatch {
            deliverer: self.clone(),
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            gates: HashMap::new(),
            busy: busy.clone(),
            record,
            shutdown: shutdown.clone(),
        };
        loop {
            let endpoints: Vec<Arc<Endpoint>> = match self.store().webhook_enabled_endpoints().await
            {
                Ok(endpoints) => endpoints.into_iter().map(Arc::new).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "webhook worker failed to read the endpoints");
                    Vec::new()
                }
            };
            dispatch
                .gates
                .retain(|id, _| endpoints.iter().any(|e| e.id == *id));
            let room: HashMap<String, usize> = endpoints
                .iter()
                .map(|e| (e.id.clone(), CLAIM.saturating_sub(busy.of(&e.id))))
                .collect();
            let most = room.values().copied().max().unwrap_or(0);
            let claim = webhooks_core::Claim {
                worker: &self.worker,
                lease: lease_for(most),
                room: &room,
            };
            let fanned = match webhooks_core::fan_out(&self.core, claim).await {
                Ok(fanned) => fanned,
                Err(e) => {
                    tracing::error!(error = %e, "webhook worker failed to fan events out");
                    Default::default()
                }
            };
            // A full fan-out or claim may have left more, taken at once; a pass that
            // found less waits a little, so that under load each statement carries
            // the deliveries of many requests.
            let mut more = fanned.taken >= webhooks_core::FAN_OUT_BATCH;
            let mut found = fanned.taken > 0;
            let mut held_back = false;
            let mut queued: HashMap<String, Vec<Due>> = HashMap::new();
            for due in fanned.claimed {
                queued.entry(due.endpoint_id.clone()).or_default().push(due);
            }
            let bodies: Bodies = Ok(fanned.events.into_iter().map(Body::keyed).collect());
            for endpoint in &endpoints {
                if let Some(claimed) = queued.remove(&endpoint.id) {
                    dispatch.send(endpoint, claimed, &bodies);
                }
            }
            // Then what is due again, or was queued beyond an endpoint's room.
            for endpoint in &endpoints {
                let free = CLAIM.saturating_sub(busy.of(&endpoint.id));
                if free == 0 {
                    held_back = true;
                    continue;
                }
                let claimed = match self
                    .store()
                    .webhook_claim(
                        &self.worker,
                        lease_for(free),
                        &endpoint.id,
                        free as i64,
                        Timestamp::now(),
                    )
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook worker failed to claim");
                        Vec::new()
                    }
                };
                if claimed.is_empty() {
                    continue;
                }
                found = true;
                more |= claimed.len() >= free;
                let bodies = self.bodies(&claimed).await;
                dispatch.send(endpoint, claimed, &bodies);
            }
            if shutdown.is_cancelled() {
                break;
            }
            if more {
                continue;
            }
            let wait = if found { LINGER } else { POLL };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = busy.freed.notified(), if held_back => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        drop(dispatch);
        // Attempts in flight finish; the recorder ends with the last of them.
        let _ = recorder.await;
        // What was claimed and not attempted is free for any worker at once.
        if let Err(e) = self.store().webhook_release(&self.worker).await {
            tracing::warn!(error = %e, "could not give back this worker's webhook leases");
        }
    }

    /// Records finished attempts as they come, as many to a transaction as come
    /// within a moment of the first; only then may their endpoints be claimed for
    /// again.
    async fn record(self, mut finished: mpsc::UnboundedReceiver<Finished>, busy: Busy) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while finished.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let until = tokio::time::Instant::now() + RECORD_LINGER;
            while batch.len() < RECORD_BATCH {
                let room = RECORD_BATCH - batch.len();
                match tokio::time::timeout_at(until, finished.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
            let done: Vec<_> = batch.drain(..).map(|f| (f.due, f.outcome)).collect();
            let endpoints: Vec<String> = done.iter().map(|(d, _)| d.endpoint_id.clone()).collect();
            match webhooks_core::attempted(&self.core, &self.worker, done).await {
                Ok(held) => {
                    for (due, _) in held.iter().filter(|(_, kept)| !kept) {
                        tracing::warn!(delivery = %due.id, "webhook lease lost before the attempt was recorded");
                    }
                }
                // The leases run out and the deliveries are tried again.
                Err(e) => tracing::error!(error = %e, "recording webhook attempts failed"),
            }
            for endpoint in &endpoints {
                busy.add(endpoint, -1);
            }
            busy.freed.notify_one();
        }
    }

    /// The claimed deliveries' events as sent, each read and serialized once.
    async fn bodies(&self, claimed: &[Due]) -> Bodies {
        let mut ids: Vec<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let read = async {
            let mut conn = self.store().conn().await?;
            events::get_many(&mut conn, &ids).await
        };
        let events = read.await.map_err(|e| e.to_string())?;
        Ok(events.into_iter().map(Body::keyed).collect())
    }

    async fn deliver(
        &self,
        due: &Due,
        endpoint: &Endpoint,
        body: Option<Arc<Result<Body, String>>>,
    ) -> Outcome {
        let started_at = Timestamp::now();
        let clock = Instant::now();
        let sent = match body {
            Some(body) => self.send(endpoint, &body).await,
            None => Err("the event is gone".to_owned()),
        };
        let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (http_status, error, response_excerpt) = match sent {
            Ok((status, excerpt)) => (
                Some(status),
                (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
                Some(excerpt),
            ),
            Err(error) => (None, Some(error), None),
        };
        if let Some(e) = &error {
            tracing::info!(delivery = %due.id, endpoint = %due.endpoint_id, attempt = due.attempts, error = %e, "webhook attempt failed");
        }
        Outcome {
            started_at,
            latency_ms,
            http_status,
            error,
            response_excerpt,
        }
    }

    /// One POST; the receiver's status and the start of its answer, or why there
    /// was none.
    async fn send(
        &self,
        endpoint: &Endpoint,
        body: &Result<Body, String>,
    ) -> Result<(u16, String), String> {
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| e.to_string())?;
        if !self.core.settings.webhook_allow_private
            && let Some(ip) = literal_ip(&url)
            && !is_public(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        let body = body.as_ref().map_err(Clone::clone)?;
        let now = Timestamp::now();
        let timestamp = now.unix_seconds();
        let secrets = webhooks_core::secrets_in_force(endpoint, now);
        let signature = signature_header(
            &secrets.iter().collect::<Vec<_>>(),
            &body.id,
            timestamp,
            &body.json,
        );
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &body.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("kopek-event-type", &body.kind)
            .body(body.json.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        Ok((status, excerpt(response).await))
    }
}

/// An event as every endpoint is sent it.
struct Body {
    id: String,
    kind: String,
    json: Vec<u8>,
}

impl Body {
    /// The event's id, and the event as sent or why it cannot be.
    fn keyed(event: events::Event) -> (String, Arc<Result<Body, String>>) {
        let (id, kind) = (event.id.clone(), event.kind.clone());
        let body = serde_json::to_vec(&EventView::from(event))
            .map(|json| Body {
                id: id.clone(),
                kind,
                json,
            })
            .map_err(|e| e.to_string());
        (id, Arc::new(body))
    }
}

/// Events as sent, by id, or why they could not be read.
type Bodies = Result<HashMap<String, Arc<Result<Body, String>>>, String>;

/// Sends claimed deliveries, each in a task of its own: at most [`PER_ENDPOINT`]
/// to one endpoint and [`IN_FLIGHT`] in all at once, each outcome passed to the
/// recorder.
struct Dispatch {
    deliverer: Deliverer,
    slots: Arc<Semaphore>,
    gates: HashMap<String, Arc<Semaphore>>,
    busy: Busy,
    record: mpsc::UnboundedSender<Finished>,
    shutdown: CancellationToken,
}

impl Dispatch {
    fn send(&mut self, endpoint: &Arc<Endpoint>, claimed: Vec<Due>, bodies: &Bodies) {
        self.busy.add(&endpoint.id, claimed.len() as isize);
        let gate = self
            .gates
            .entry(endpoint.id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_ENDPOINT)))
            .clone();
        for due in claimed {
            let body = match bodies {
                Ok(bodies) => bodies.get(&due.event_id).cloned(),
                Err(e) => Some(Arc::new(Err(e.clone()))),
            };
            let (this, endpoint) = (self.deliverer.clone(), endpoint.clone());
            let (record, stop) = (self.record.clone(), self.shutdown.clone());
            let (gate, slots) = (gate.clone(), self.slots.clone());
            tokio::spawn(async move {
                // An attempt still waiting for its turn at shutdown is not made: its
                // lease is given back when the worker stops.
                let turn = async { (gate.acquire().await, slots.acquire().await) };
                let turn = tokio::select! {
                    () = stop.cancelled() => return,
                    turn = turn => turn,
                };
                let (Ok(_one), Ok(_slot)) = turn else {
                    return;
                };
                let outcome = this.deliver(&due, &endpoint, body).await;
                let _ = record.send(Finished { due, outcome });
            });
        }
    }
}

/// An attempt made, waiting to be recorded.
struct Finished {
    due: Due,
    outcome: Outcome,
}

/// Attempts in flight (or waiting to be recorded) per endpoint, and a signal when
/// some end.
#[derive(Clone, Default)]
struct Busy {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    freed: Arc<Notify>,
}

impl Busy {
    fn of(&self, endpoint: &str) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(endpoint).copied().unwrap_or(0)
    }

    fn add(&self, endpoint: &str, change: isize) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(endpoint.to_owned()).or_default();
        *count = count.saturating_add_signed(change);
        if *count == 0 {
            counts.remove(endpoint);
        }
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
