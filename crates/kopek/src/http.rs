//! The HTTP listener: the router on hyper, with the bounds `axum::serve` lacks. A
//! connection that sends nothing is closed after the header timeout, and so is one
//! whose request head is not complete by then; a kept-alive connection with no
//! request in flight is closed after the idle timeout; at most so many connections
//! are open at once (more wait in the accept queue); and a stop waits only so long
//! for requests in flight before dropping what is left.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown`, then lets open connections finish
/// their requests for up to the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    bounds: Bounds,
    shutdown: CancellationToken,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The connection's watch below keeps the time of heads and idle spells;
    // hyper's own header timer would also cut idle keep-alive at the header limit.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(bounds.header_timeout))
        .keep_alive_timeout(bounds.header_timeout);
    let slots = Arc::new(Semaphore::new(bounds.max_connections));
    let closing = CancellationToken::new();
    let mut connections = JoinSet::new();
    let open: Mutex<Vec<Open>> = Mutex::default();
    loop {
        // Finished connections are reaped as we go, so the set holds open ones.
        while connections.try_join_next().is_some() {}
        let Some(slot) = free_slot(&slots, &open, &shutdown).await else {
            break;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, typically: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let activity = Arc::new(Activity::new());
        let evict = CancellationToken::new();
        {
            let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
            open.retain(|o| o.activity.strong_count() > 0);
            open.push(Open {
                activity: Arc::downgrade(&activity),
                evict: evict.clone(),
            });
        }
        let service = {
            let (app, activity) = (app.clone(), activity.clone());
            tower::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let (app, busy) = (app.clone(), activity.busy());
                async move {
                    let response = app.oneshot(request).await;
                    drop(busy);
                    response
                }
            })
        };
        let builder = builder.clone();
        let closing = closing.clone();
        connections.spawn(async move {
            let _slot = slot;
            let io = TokioIo::new(Watched {
                inner: stream,
                activity: activity.clone(),
            });
            let connection =
                builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = activity.idle(bounds) => {}
                () = evict.cancelled() => {}
                () = closing.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    closing.cancel();
    let open = connections.len();
    let finished = tokio::time::timeout(bounds.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            open,
            left = connections.len(),
            grace_seconds = bounds.shutdown_grace.as_secs(),
            "dropping the connections still open after the grace period"
        );
        connections.abort_all();
    }
}

/// An open connection, as the accept loop sees it.
struct Open {
    activity: Weak<Activity>,
    evict: CancellationToken,
}

/// A slot for one more connection; None once `shutdown` is asked for. When the
/// server is full it makes room by closing the connection quiet the longest, so a
/// flood of silent connections cannot keep real clients waiting.
async fn free_slot(
    slots: &Arc<Semaphore>,
    open: &Mutex<Vec<Open>>,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    loop {
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return Some(slot);
        }
        evict_quietest(open);
        tokio::select! {
            slot = slots.clone().acquire_owned() => return slot.ok(),
            () = tokio::time::sleep(EVICTION_AGE / 4) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}

/// A connection this young may not have been read yet, so it is never evicted.
const EVICTION_AGE: Duration = Duration::from_secs(1);

/// Closes the open connection with nothing in flight that has been quiet longest
/// (at least [`EVICTION_AGE`]).
fn evict_quietest(open: &Mutex<Vec<Open>>) {
    let open = open.lock().unwrap_or_else(|e| e.into_inner());
    let quietest = open
        .iter()
        .filter_map(|o| Some((o.activity.upgrade()?, &o.evict)))
        .filter(|(a, _)| a.in_flight.load(Ordering::Relaxed) == 0 && a.quiet() >= EVICTION_AGE)
        .max_by_key(|(a, _)| a.quiet());
    if let Some((_, evict)) = quietest {
        evict.cancel();
    }
}

/// What a connection has been doing, in milliseconds since it opened: when the
/// request head now arriving began (0: none), when its last request finished, and
/// how many of its requests are in flight.
struct Activity {
    opened: Instant,
    head_started: AtomicU64,
    idle_since: AtomicU64,
    served: AtomicBool,
    in_flight: AtomicUsize,
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::Relaxed);
        self.0.served.store(true, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            served: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// A request reached the router: its head is complete.
    fn busy(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Bytes arrived; with nothing in flight they begin a request head.
    fn read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(
                0,
                self.now(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// How long since the connection last began a head or finished a request (or
    /// opened).
    fn quiet(&self) -> Duration {
        let head = self.head_started.load(Ordering::Relaxed);
        let since = if head != 0 {
            head
        } else {
            self.idle_since.load(Ordering::Relaxed)
        };
        Duration::from_millis(self.now().saturating_sub(since))
    }

    /// Resolves when the connection should be closed: a head not complete within
    /// the header timeout; no request at all within the header timeout; nothing in
    /// flight for the idle timeout since the last request finished.
    async fn idle(&self, bounds: Bounds) {
        let tick = bounds.header_timeout.min(bounds.idle_timeout) / 4;
        loop {
            if self.in_flight.load(Ordering::Relaxed) == 0 {
                let now = Duration::from_millis(self.now());
                let head = self.head_started.load(Ordering::Relaxed);
                let (since, limit) = if head != 0 {
                    (head, bounds.header_timeout)
                } else if self.served.load(Ordering::Relaxed) {
                    (self.idle_since.load(Ordering::Relaxed), bounds.idle_timeout)
                } else {
                    (0, bounds.header_timeout)
                };
                if now.saturating_sub(Duration::from_millis(since)) >= limit {
                    return;
                }
            }
            tokio::time::sleep(tick.max(Duration::from_millis(50))).await;
        }
    }
}

/// A stream that tells its connection's [`Activity`] when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
