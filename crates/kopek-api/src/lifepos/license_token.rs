//! `GET /orgs/{org_guid}/profile/subscriptions/products/{product_guid}/license-token`:
//! the organization's license for a product as a signed token that works offline.

use super::LifePos;
use super::auth::Buyer;
use super::wire::Reference;
use crate::AppState;
use crate::error::ApiError;
use crate::json::Json;
use axum::extract::{Path, State};
use kopek_core::licenses;
use kopek_domain::time::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseTokenView {
    /// A JWT signed with Ed25519 (`alg` `EdDSA`, `typ` `kopek-license+jwt`), to be
    /// checked offline with the key its `kid` names.
    pub token: String,
    pub key_id: String,
    pub plan: Reference,
    pub quantity: i64,
    /// The end of the paid period.
    pub period_end: String,
    /// When the token stops working: the period's end and the grace days after it.
    pub expires_at: String,
    /// The keys tokens are checked with (a JWK set).
    pub keys_url: String,
    /// The signed list of tokens cut short by a refund or a cancel.
    pub revocations_url: String,
    pub type_of: &'static str,
}

/// A signed license token for the organization's subscription to a product, valid
/// offline until the period's end and its grace days.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/subscriptions/products/{product_guid}/license-token",
    tag = "lifepos", operation_id = "SubscriptionLicenseToken",
    params(
        ("org_guid" = String, Path), ("product_guid" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header),
    ),
    responses((status = 200, body = LicenseTokenView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    buyer: Buyer,
    Path((org_guid, product_guid)): Path<(String, String)>,
) -> Result<Json<LicenseTokenView>, ApiError<LifePos>> {
    let issued =
        licenses::token(&state.core, &buyer.access, &org_guid.into(), &product_guid).await?;
    let base = state.settings().public_url.trim_end_matches('/');
    let at = |seconds: i64| Timestamp::from_micros(seconds * 1_000_000).rfc3339_millis();
    let c = issued.claims;
    Ok(Json(LicenseTokenView {
        token: issued.token,
        key_id: issued.key_id,
        plan: Reference::to(&c.plan, "Plan"),
        quantity: c.quantity,
        period_end: at(c.period_end),
        expires_at: at(c.exp),
        keys_url: format!("{base}{}", crate::licenses::KEYS_PATH),
        revocations_url: format!("{base}{}", crate::licenses::REVOCATIONS_PATH),
        type_of: "LicenseToken",
    }))
}
