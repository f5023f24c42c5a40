//! What one client may ask of the server: sign-ins per minute from one address,
//! writes per minute with one API key (off unless configured), and how long a
//! request, and a pause inside its body, may take. Each refusal is an error in
//! the family's dialect; a 429 says when to come back (`Retry-After`).

use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use kopek_core::limits::RateLimit;
use kopek_domain::Error;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tower_http::timeout::TimeoutBody;

/// The limits of one server's HTTP side (writes per key are the core's).
pub struct Limits {
    /// Sign-in requests per client address.
    pub sign_in: RateLimit,
    /// The longest a request body may pause between two pieces.
    pub body_timeout: Duration,
    /// The longest a request may take, from its head read to its response.
    pub request_timeout: Duration,
}

/// The address a request came from, when the listener knows it (not behind a
/// proxy that hides it: then every client shares the proxy's address).
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// Bounds every request in time: a body that pauses too long fails its read (the
/// extractors answer `RequestTimeout`), and a request that runs too long is
/// answered with `RequestTimeout` in its family's dialect.
pub async fn timeouts(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &state.limits;
    let path = request.uri().path().to_owned();
    let request = request.map(|body| Body::new(TimeoutBody::new(limits.body_timeout, body)));
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::render_for_path(&path, Error::RequestTimeout),
    }
}
