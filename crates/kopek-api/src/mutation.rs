//! Every POST, PATCH and DELETE runs its work through a [`Mutation`]: it opens the
//! write transaction and, when the request carries an `Idempotency-Key`, claims the
//! key in that transaction and stores the response there before committing.

use crate::AppState;
use crate::error::{ApiError, Dialect};
use crate::limits::Limits;
use axum::extract::FromRequestParts;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kopek_domain::auth::Principal;
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, Reason};
use kopek_store::idempotency::{self, Claim, StoredResponse};
use kopek_store::{Conn, Store, Tx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::marker::PhantomData;
use std::sync::Arc;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

/// Checks an `Idempotency-Key` that was sent (HTTP header or gRPC metadata): 1 to
/// 255 printable ASCII characters.
pub fn idempotency_key(value: &[u8]) -> Result<String, Error> {
    if !value.is_empty() && value.len() <= MAX_KEY_LEN && value.iter().all(u8::is_ascii_graphic) {
        // Printable ASCII is UTF-8.
        Ok(String::from_utf8_lossy(value).into_owned())
    } else {
        Err(Error::field(
            "Idempotency-Key",
            Reason::Format {
                en: "1 to 255 printable ASCII characters, such as a UUID",
                ru: "строкой из 1–255 печатных символов ASCII, например UUID",
            },
        ))
    }
}

pub struct Mutation<D> {
    store: Store,
    limits: Arc<Limits>,
    method: Method,
    target: String,
    key: Option<String>,
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
            store: state.store.clone(),
            limits: state.limits.clone(),
            method: parts.method.clone(),
            target: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            key,
            dialect: PhantomData,
        })
    }
}

impl<D> Mutation<D> {
    /// The write this request is, for code shared with other transports.
    pub fn write(self, body: &[u8]) -> Write {
        let hash = request_hash(self.method.as_str(), &self.target, body);
        Write::new(self.store, self.limits, self.key, hash)
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
        Ok(self
            .write(body)
            .run(caller, status, work)
            .await?
            .into_response())
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
                respond(tx.commit_secret(status, &answer, secret).await?)
            }
        })
    }

    /// Opens the transaction and claims the key (if any) for `caller`. `body` is the
    /// raw request body: together with method and path it must match on a repeat.
    pub async fn begin(self, caller: &Principal, body: &[u8]) -> Result<Begun, Error> {
        self.write(body).begin(caller).await
    }
}

/// A write as idempotency sees it, whatever transport it came by (REST here, gRPC
/// in its own crate): the store, the caller's key if any, and a hash of the request.
pub struct Write {
    store: Store,
    limits: Arc<Limits>,
    key: Option<String>,
    hash: String,
}

pub enum Begun {
    /// The key was used before for this very request: answer with this again.
    Replay(StoredResponse),
    /// Do the work on `conn()`, then commit.
    Work(Work),
}

/// How a write ended: done now (with the response stored for repeats), or a repeat.
pub enum Ran<T> {
    Done(T, StoredResponse),
    Replayed(StoredResponse),
}

impl<T> Ran<T> {
    /// The HTTP response: the stored one, so a first answer and its repeats match.
    pub fn into_response(self) -> Response {
        match self {
            Ran::Done(_, stored) | Ran::Replayed(stored) => respond(stored),
        }
    }

    /// The value, read back from the stored response on a repeat.
    pub fn into_value(self) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned,
    {
        match self {
            Ran::Done(value, _) => Ok(value),
            Ran::Replayed(stored) => serde_json::from_str(&stored.body).map_err(Error::internal),
        }
    }
}

impl Write {
    pub fn new(
        store: Store,
        limits: Arc<Limits>,
        key: Option<String>,
        request_hash: String,
    ) -> Write {
        Write {
            store,
            limits,
            key,
            hash: request_hash,
        }
    }

    pub async fn begin(self, caller: &Principal) -> Result<Begun, Error> {
        self.limits.writes.check(&caller.id, Timestamp::now())?;
        let mut tx = self.store.begin().await?;
        let Some(key) = self.key else {
            return Ok(Begun::Work(Work { tx, claim: None }));
        };
        match idempotency::claim(&mut tx, &caller.id, &key, &self.hash, Timestamp::now()).await? {
            Claim::Fresh => Ok(Begun::Work(Work {
                tx,
                claim: Some((caller.id.clone(), key)),
            })),
            Claim::Replay(stored) => Ok(Begun::Replay(stored)),
            Claim::Mismatch => Err(Error::IdempotencyKeyReused),
        }
    }

    pub async fn run<T: Serialize>(
        self,
        caller: &Principal,
        status: StatusCode,
        work: impl AsyncFnOnce(&mut Work) -> Result<T, Error>,
    ) -> Result<Ran<T>, Error> {
        match self.begin(caller).await? {
            Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
            Begun::Work(mut tx) => {
                let answer = work(&mut tx).await?;
                let stored = tx.commit(status, &answer).await?;
                Ok(Ran::Done(answer, stored))
            }
        }
    }
}

pub struct Work {
    tx: Tx,
    claim: Option<(String, String)>,
}

impl Work {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Stores the response with the key (if any) and commits the work with it.
    pub async fn commit<T: Serialize>(
        self,
        status: StatusCode,
        body: &T,
    ) -> Result<StoredResponse, Error> {
        let body = serde_json::to_string(body).map_err(Error::internal)?;
        self.commit_stored(StoredResponse {
            status: status.as_u16(),
            content_type: Some("application/json".to_owned()),
            body,
        })
        .await
    }

    /// Like [`Work::commit`], but what is stored for repeats has `secret` null; the
    /// response returned (to this caller only) keeps it.
    pub async fn commit_secret<T: Serialize>(
        mut self,
        status: StatusCode,
        body: &T,
        secret: &str,
    ) -> Result<StoredResponse, Error> {
        let full = serde_json::to_string(body).map_err(Error::internal)?;
        let mut kept = serde_json::to_value(body).map_err(Error::internal)?;
        if let Some(field) = kept.get_mut(secret) {
            *field = serde_json::Value::Null;
        }
        let kept = StoredResponse {
            status: status.as_u16(),
            content_type: Some("application/json".to_owned()),
            body: kept.to_string(),
        };
        if let Some((caller, key)) = &self.claim {
            idempotency::save(&mut self.tx, caller, key, &kept).await?;
        }
        self.tx.commit().await.map_err(Error::internal)?;
        Ok(StoredResponse { body: full, ..kept })
    }

    /// Commits with an empty 204 response.
    pub async fn commit_no_content(self) -> Result<StoredResponse, Error> {
        self.commit_stored(StoredResponse {
            status: StatusCode::NO_CONTENT.as_u16(),
            content_type: None,
            body: String::new(),
        })
        .await
    }

    async fn commit_stored(mut self, stored: StoredResponse) -> Result<StoredResponse, Error> {
        if let Some((caller, key)) = &self.claim {
            idempotency::save(&mut self.tx, caller, key, &stored).await?;
        }
        self.tx.commit().await.map_err(Error::internal)?;
        Ok(stored)
    }
}

/// What a repeated request is compared by: method (or RPC), target and body.
pub fn request_hash(method: &str, target: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(target.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
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
