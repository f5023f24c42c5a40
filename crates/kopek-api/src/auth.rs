//! `Authorization: Bearer <token>`: the bootstrap admin token from configuration, or
//! an API key looked up by the hash of its token.

use crate::AppState;
use crate::error::{ApiError, Dialect};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role, hash_token};
use kopek_domain::time::Timestamp;
use kopek_store::api_keys;
use std::marker::PhantomData;

/// The authenticated caller; rejects in dialect `D` with 401 when there is none.
pub struct Caller<D> {
    pub principal: Principal,
    dialect: PhantomData<D>,
}

impl<D> Caller<D> {
    /// Refuses (403) a caller that is neither admin nor of `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, Error> {
        if self.principal.has_role(role) {
            Ok(&self.principal)
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC
/// metadata alike).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(parts.headers.get(AUTHORIZATION)?.to_str().ok()?)
}

/// The token of `Authorization: Bearer <token>` or of a bare `Authorization:
/// <token>`, which LIFE POS clients in the wild send; any other scheme is no token.
pub fn bearer_or_bare(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    if value.contains(' ') {
        bearer_token(value)
    } else {
        (!value.is_empty()).then_some(value)
    }
}

pub async fn authenticate(state: &AppState, parts: &Parts) -> Result<Principal, Error> {
    authenticate_token(state, bearer(parts)).await
}

/// The prefix of access tokens exchanged for an API key.
pub const ACCESS_TOKEN_PREFIX: &str = "kit_";

/// Who a bearer token stands for: the bootstrap admin token, an API key, or an
/// access token exchanged for one. Shared by REST and gRPC.
pub async fn authenticate_token(state: &AppState, token: Option<&str>) -> Result<Principal, Error> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthenticated)?;
    let hash = hash_token(token);
    if token.starts_with(ACCESS_TOKEN_PREFIX) {
        let mut conn = state.store.conn().await?;
        return api_keys::find_by_access_token(&mut conn, &hash, Timestamp::now())
            .await?
            .map(|key| key.principal())
            .ok_or(Error::Unauthenticated);
    }
    if state.config.admin_token_hash.as_deref() == Some(hash.as_str()) {
        return Ok(Principal::bootstrap_admin());
    }
    let mut conn = state.store.conn().await?;
    api_keys::find_live_by_hash(&mut conn, &hash)
        .await?
        .map(|key| key.principal())
        .ok_or(Error::Unauthenticated)
}

impl<D: Dialect> FromRequestParts<AppState> for Caller<D> {
    type Rejection = ApiError<D>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = authenticate(state, parts).await?;
        tracing::Span::current().record("caller", principal.id.as_str());
        Ok(Caller {
            principal,
            dialect: PhantomData,
        })
    }
}

/// How long an exchanged access token works (as Yandex Cloud IAM tokens do).
pub const ACCESS_TOKEN_SECONDS: i64 = 12 * 60 * 60;

/// Exchanges an API key's token for a short-lived access token (IamTokenService).
/// The bootstrap admin token is not exchanged: it has no key to stand for.
pub async fn exchange_api_key(
    state: &AppState,
    api_key_token: &str,
) -> Result<(String, Timestamp), Error> {
    let mut conn = state.store.conn().await?;
    let key = api_keys::find_live_by_hash(&mut conn, &hash_token(api_key_token))
        .await?
        .ok_or(Error::Unauthenticated)?;
    let token = kopek_domain::auth::SecretToken::generate(ACCESS_TOKEN_PREFIX);
    let now = Timestamp::now();
    let expires_at = now.plus_seconds(ACCESS_TOKEN_SECONDS);
    api_keys::insert_access_token(&mut conn, &token.hash(), &key.id, now, expires_at).await?;
    Ok((token.expose().to_owned(), expires_at))
}
