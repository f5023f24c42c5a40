//! Every POST, PUT, PATCH and DELETE runs its work through a [`Mutation`]: the
//! request as the core's [`Write`] (its `Idempotency-Key`, and a hash of method,
//! path and body that a repeat must match), answered in HTTP.

use crate::AppState;
use crate::auth::Caller;
use crate::body::RawBody;
use crate::error::{ApiError, Dialect};
use crate::limits::ClientAddress;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kopek_core::Core;
use kopek_core::audit::Audit;
use kopek_core::write::{Begun, IDEMPOTENCY_KEY, Ran, Work, Write, idempotency_key, request_hash};
use kopek_domain::Error;
use kopek_domain::auth::Principal;
use kopek_store::idempotency::StoredResponse;
use serde::Serialize;
use std::marker::PhantomData;
use std::net::IpAddr;

/// What a write takes besides its path: who asks, the write to run through, and
/// the body (as sent, unless a handler reads it as more).
pub struct Command<D, B = RawBody<D>> {
    pub caller: Caller<D>,
    pub mutation: Mutation<D>,
    pub body: B,
}

impl<D: Dialect, B> FromRequest<AppState> for Command<D, B>
where
    B: FromRequest<AppState, Rejection = ApiError<D>>,
{
    type Rejection = ApiError<D>;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError<D>> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let mutation = Mutation::from_request_parts(&mut parts, state).await?;
        let body = B::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Command {
            caller,
            mutation,
            body,
        })
    }
}

/// A request's target as sent: its path and query, percent-encoded as they came.
pub(crate) fn target(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

/// How the audit log names a write that came as a request: its method and target,
/// and the address it came from.
pub(crate) fn audit(method: &Method, target: &str, address: Option<IpAddr>) -> Audit {
    Audit {
        address: address.map(|ip| ip.to_string()),
        action: format!("{method} {target}"),
    }
}

pub struct Mutation<D> {
    core: Core,
    method: Method,
    target: String,
    key: Option<String>,
    address: Option<IpAddr>,
    dialect: PhantomData<D>,
}

impl<D: Dialect> FromRequestParts<AppState> for Mutation<D> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(IDEMPOTENCY_KEY)
            .map(|v| idempotency_key(v.as_bytes()))
            .transpose()?;
        Ok(Mutation {
            core: state.core.clone(),
            method: parts.method.clone(),
            target: target(parts),
            key,
            address: ClientAddress::from_request_parts(parts, state)
                .await
                .unwrap_or_else(|never| match never {})
                .0,
            dialect: PhantomData,
        })
    }
}

impl<D: Dialect> Mutation<D> {
    /// The write this request is, for code shared with other transports; audited
    /// when its family's changes are.
    pub fn write(self, body: &[u8]) -> Write {
        // Only a request with an idempotency key is ever compared by its hash.
        let hash = match self.key {
            Some(_) => request_hash(self.method.as_str(), &self.target, body),
            None => String::new(),
        };
        let write = self.core.write(self.key, hash);
        if D::AUDITED {
            write.audited(audit(&self.method, &self.target, self.address))
        } else {
            write
        }
    }

    /// The usual shape of a write: begin (or replay), do `work` in the transaction,
    /// commit its result as the response with `status`.
    pub async fn run<T: Serialize>(
        self,
        caller: &Principal,
        body: &[u8],
        status: StatusCode,
        work: impl AsyncFnOnce(&mut Work) -> Result<T, Error>,
    ) -> Result<Response, Error> {
        Ok(answer(
            self.write(body).run(caller, status.as_u16(), work).await?,
        ))
    }

    /// [`Mutation::run`] for an answer that holds a secret shown only once (the
    /// `secret` field): a repeat with the same key gets the answer with that field
    /// null, since the secret is never stored.
    pub async fn run_secret<T: Serialize>(
        self,
        caller: &Principal,
        body: &[u8],
        status: StatusCode,
        secret: &'static str,
        work: impl AsyncFnOnce(&mut Work) -> Result<T, Error>,
    ) -> Result<Response, Error> {
        let write = self.write(body);
        Ok(match write.begin(caller).await? {
            Begun::Replay(stored) => respond(stored),
            Begun::Work(mut tx) => {
                let answer = work(&mut tx).await?;
                respond(tx.commit_secret(status.as_u16(), &answer, secret).await?)
            }
        })
    }

    /// Opens the transaction and claims the key (if any) for `caller`. `body` is the
    /// raw request body: together with method and path it must match on a repeat.
    pub async fn begin(self, caller: &Principal, body: &[u8]) -> Result<Begun, Error> {
        self.write(body).begin(caller).await
    }
}

/// A stored response as an HTTP response.
pub fn respond(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    if let Some(ct) = stored
        .content_type
        .and_then(|ct| HeaderValue::from_str(&ct).ok())
    {
        response.headers_mut().insert(CONTENT_TYPE, ct);
    }
    response
}

/// How a write ended, as an HTTP response: the stored one, so a first answer and
/// its repeats match.
pub fn answer<T>(ran: Ran<T>) -> Response {
    respond(ran.stored())
}
