//! What a device needs to check license tokens offline, public like any JWK set:
//! the keys, and the signed list of tokens cut short.

use crate::AppState;
use crate::admin::Admin;
use crate::error::ApiError;
use crate::json::Json;
use axum::extract::State;
use kopek_core::licenses;
use kopek_domain::license::Jwk;
use serde::Serialize;
use utoipa::ToSchema;

pub const KEYS_PATH: &str = "/.well-known/kopek-license-keys";
pub const REVOCATIONS_PATH: &str = "/.well-known/kopek-license-revocations";

#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSet {
    /// The active key first, then retired ones whose tokens may still be valid.
    pub keys: Vec<Jwk>,
}

/// The public keys license tokens are signed with, as a JWK set (RFC 7517, Ed25519
/// keys as RFC 8037 writes them).
#[utoipa::path(get, path = "/.well-known/kopek-license-keys", tag = "licenses", operation_id = "licenseKeys",
    responses((status = 200, body = JwkSet)))]
pub async fn keys(State(state): State<AppState>) -> Result<Json<JwkSet>, ApiError<Admin>> {
    let keys = licenses::published_keys(&state.core).await?;
    Ok(Json(JwkSet { keys }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedRevocations {
    /// A JWT (`typ` `kopek-license-revocations+jwt`) signed like the tokens, with
    /// the claims `{iss, iat, revoked: [{jti, revoked_at, reason, exp}]}`.
    pub jwt: String,
}

/// The tokens cut short by a refund or a cancel that would still be valid, signed
/// with the license key so that a device can trust a copy from anywhere.
#[utoipa::path(get, path = "/.well-known/kopek-license-revocations", tag = "licenses", operation_id = "licenseRevocations",
    responses((status = 200, body = SignedRevocations)))]
pub async fn revocations(
    State(state): State<AppState>,
) -> Result<Json<SignedRevocations>, ApiError<Admin>> {
    let jwt = licenses::revocations(&state.core).await?;
    Ok(Json(SignedRevocations { jwt }))
}
