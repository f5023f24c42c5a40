//! `POST /auth/sign-in`: a provisioned user signs in and gets a bearer token
//! scoped to the organizations the user is a member of.
//!
//! Five failed attempts for one login within 15 minutes lock that login out: until
//! fewer than five failures lie in the last 15 minutes, every attempt (right or
//! wrong) is 429 `TooManyRequests` with `Retry-After`. An attempt is counted before
//! its password is checked, so however many guesses arrive at once, at most five
//! are ever checked. A locked login answers the same whether it exists or not.

use super::LifePos;
use crate::AppState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::limits::ClientAddress;
use axum::extract::State;
use kopek_domain::auth::SecretToken;
use kopek_domain::error::Violations;
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_domain::user::{User, login_key};
use kopek_domain::{Error, Reason, password};
use kopek_store::sessions::{self, Session};
use kopek_store::users;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use utoipa::ToSchema;

pub const TOKEN_PREFIX: &str = "lps_";
pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;
const SESSION_SECONDS: i64 = 24 * 60 * 60;
const TOKEN_SECONDS: i64 = 30 * 24 * 60 * 60;

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

/// A hash to check against when the login is unknown, so that a wrong login and a
/// wrong password take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| password::hash("decoy password").unwrap_or_default())
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
    let key = login_key(&login);
    let now = Timestamp::now();

    let mut conn = state.store.conn().await?;
    let since = now.plus_seconds(-WINDOW_SECONDS);
    let (attempt, attempts, oldest) = sessions::begin_attempt(&mut conn, &key, now, since).await?;
    if attempts > MAX_FAILURES {
        sessions::forget_attempt(&mut conn, &attempt).await?;
        // Free again when the oldest counted attempt leaves the window.
        let free_at = oldest.plus_seconds(WINDOW_SECONDS);
        let retry_after = (free_at.micros() - now.micros()).max(0) / 1_000_000 + 1;
        return Err(Error::TooManyRequests {
            retry_after: u64::try_from(retry_after).unwrap_or(1),
        }
        .into());
    }
    let user = users::find_live(&mut conn, &login).await?;
    drop(conn);
    let checked: Option<User> = kopek_core::cpu::run(move || match user {
        Some(user) => user.check_password(&secret).then_some(user),
        None => {
            password::verify(decoy_hash(), &secret);
            None
        }
    })
    .await?;

    // A failed attempt stays counted: its row is the failure.
    let Some(user) = checked else {
        return Err(Error::WrongCredentials.into());
    };
    let mut tx = state.store.begin().await?;
    sessions::clear_attempts(&mut tx, &key, since).await?;
    let token = SecretToken::generate(TOKEN_PREFIX);
    let lifetime = if kind == "Token" {
        TOKEN_SECONDS
    } else {
        SESSION_SECONDS
    };
    let session = Session {
        id: yc_id(prefix::SESSION),
        user_id: user.id,
        kind,
        created_at: now,
        expires_at: now.plus_seconds(lifetime),
    };
    sessions::insert(&mut tx, &session, &token.hash()).await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(Json(SignInResponse {
        token: token.expose().to_owned(),
    }))
}
