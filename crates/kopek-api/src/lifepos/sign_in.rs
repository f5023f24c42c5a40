//! `POST /auth/sign-in`: a provisioned user signs in and gets a bearer token
//! scoped to the organizations the user is a member of.
//!
//! Five failed attempts for one login within 15 minutes lock that login out: until
//! fewer than five failures lie in the last 15 minutes, every attempt (right or
//! wrong) is 429 `TooManyRequests`.

use super::LifePos;
use crate::AppState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
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
    body: JsonBody<SignInRequest, LifePos>,
) -> Result<Json<SignInResponse>, ApiError<LifePos>> {
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
    let (failures, _) =
        sessions::failures_since(&mut conn, &key, now.plus_seconds(-WINDOW_SECONDS)).await?;
    if failures >= MAX_FAILURES {
        return Err(Error::TooManyRequests.into());
    }
    let user = users::find_live(&mut conn, &login).await?;
    drop(conn);
    let checked: Option<User> = crate::cpu::run(move || match user {
        Some(user) => user.check_password(&secret).then_some(user),
        None => {
            password::verify(decoy_hash(), &secret);
            None
        }
    })
    .await?;

    let mut tx = state.store.begin().await?;
    let Some(user) = checked else {
        sessions::record_failure(&mut tx, &key, now).await?;
        tx.commit().await.map_err(Error::internal)?;
        return Err(Error::WrongCredentials.into());
    };
    sessions::clear_failures(&mut tx, &key, now.plus_seconds(-WINDOW_SECONDS)).await?;
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
