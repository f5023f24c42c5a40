//! `POST /auth/sign-in`: a provisioned user signs in and gets a bearer token
//! scoped to the organizations the user is a member of. The rules (the lock after
//! five failures, and what it answers) are the core's; a lock is 429
//! `TooManyRequests` with `Retry-After`.

use super::LifePos;
use crate::AppState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::limits::ClientAddress;
use axum::extract::State;
use kopek_core::sessions::{self, Lifetime};
use kopek_domain::Reason;
use kopek_domain::error::Violations;
use kopek_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    /// The user's login.
    pub full_username: Option<String>,
    pub password: Option<String>,
    /// `Session` (valid 24 hours, the default) or `Token` (valid 30 days).
    pub response_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInResponse {
    pub token: String,
}

/// Signs a user in.
#[utoipa::path(post, path = "/auth/sign-in", tag = "lifepos", operation_id = "SignIn",
    request_body = SignInRequest,
    params(
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header),
    ),
    responses(
        (status = 200, body = SignInResponse),
        (status = 401, body = super::error::ErrorBody, description = "WrongUsernameOrPassword"),
        (status = 422, body = super::error::ErrorBody),
        (status = 429, body = super::error::ErrorBody, description = "Too many failed attempts"),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddress,
    body: JsonBody<SignInRequest, LifePos>,
) -> Result<Json<SignInResponse>, ApiError<LifePos>> {
    // Spraying passwords over many logins from one address is throttled here; the
    // lock below is per login, whatever the address.
    if let ClientAddress(Some(address)) = client {
        state
            .limits
            .sign_in
            .check(&address.to_string(), Timestamp::now())?;
    }
    let b = body.value;
    let mut v = Violations::default();
    let login = b.full_username.filter(|s| !s.is_empty());
    let secret = b.password.filter(|s| !s.is_empty());
    if login.is_none() {
        v.add("full_username", Reason::Required);
    }
    if secret.is_none() {
        v.add("password", Reason::Required);
    }
    let kind = b.response_type.unwrap_or_else(|| "Session".to_owned());
    if kind != "Session" && kind != "Token" {
        v.add(
            "response_type",
            Reason::OneOf(vec!["Session".to_owned(), "Token".to_owned()]),
        );
    }
    v.finish()?;
    let (login, secret) = (login.unwrap_or_default(), secret.unwrap_or_default());
    let lifetime = if kind == "Token" {
        Lifetime::Token
    } else {
        Lifetime::Session
    };
    let (token, _) = sessions::sign_in(&state.core, &login, secret, lifetime).await?;
    Ok(Json(SignInResponse {
        token: token.expose().to_owned(),
    }))
}
