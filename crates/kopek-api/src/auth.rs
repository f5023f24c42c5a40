//! `Authorization: Bearer <token>` on HTTP; who a token stands for is the core's.

use crate::AppState;
use crate::error::{ApiError, Dialect};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kopek_core::auth::bearer_token;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
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

/// Who the token stands for (see the core's [`authenticate`](kopek_core::auth::authenticate)).
pub async fn authenticate_token(state: &AppState, token: Option<&str>) -> Result<Principal, Error> {
    kopek_core::auth::authenticate(&state.core, token).await
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
