//! The keys offline license tokens are signed with: the operator lists and rotates
//! them (private keys never leave the database).

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::licenses;
use kopek_domain::auth::Role;
use kopek_domain::time::Timestamp;
use kopek_store::license_tokens::SigningKey;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseKeyView {
    /// The key's RFC 7638 thumbprint, the `kid` of the tokens it signs.
    pub kid: String,
    /// The Ed25519 public key, base64url.
    pub public_key: String,
    /// Whether it signs new tokens (exactly one does).
    pub active: bool,
    pub created_at: String,
    pub retired_at: Option<String>,
    /// The latest expiry of a token it signed: a retired key is published until then.
    pub signed_until: String,
}

impl From<&SigningKey> for LicenseKeyView {
    fn from(k: &SigningKey) -> LicenseKeyView {
        LicenseKeyView {
            kid: k.kid.clone(),
            public_key: k.public_key.clone(),
            active: k.active,
            created_at: k.created_at.rfc3339(),
            retired_at: k.retired_at.map(Timestamp::rfc3339),
            signed_until: k.signed_until.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseKeyList {
    pub license_keys: Vec<LicenseKeyView>,
}

/// The license-signing keys, newest first.
#[utoipa::path(get, path = "/admin/v1/license-keys", tag = "licenses", operation_id = "listLicenseKeys",
    responses((status = 200, body = LicenseKeyList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
) -> Result<Json<LicenseKeyList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let keys = licenses::keys(&state.core).await?;
    Ok(Json(LicenseKeyList {
        license_keys: keys.iter().map(LicenseKeyView::from).collect(),
    }))
}

/// Makes a new signing key, which signs from now on; the one it replaces stays
/// published until the last token it signed has expired.
#[utoipa::path(post, path = "/admin/v1/license-keys:rotate", tag = "licenses", operation_id = "rotateLicenseKey",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = LicenseKeyView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let ran = licenses::rotate(
        &state.core,
        mutation.write(b""),
        principal,
        StatusCode::CREATED.as_u16(),
        |key| LicenseKeyView::from(key),
    )
    .await?;
    Ok(answer(ran))
}
