//! Licenses that work offline: a subscription's current period as a signed token
//! that a VMS server or POS terminal checks with Kopek's public key and no network.
//!
//! The token is a JWT (RFC 7519) signed with Ed25519 (`alg: EdDSA`, RFC 8037), so
//! any JOSE library verifies it; its header is explicitly typed (RFC 8725) so that
//! a license token and a revocation list can never be taken for one another. Keys
//! are published as a JWK set, each named by its RFC 7638 thumbprint. Signing
//! itself (the private key) is the core's; this module only shapes what is signed.

use crate::time::Timestamp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `typ` of a license token's header.
pub const TOKEN_TYPE: &str = "kopek-license+jwt";
/// The `typ` of a revocation list's header.
pub const REVOCATIONS_TYPE: &str = "kopek-license-revocations+jwt";

/// What a license token says: who may use which product, how much of it, and
/// until when. Times are seconds since the Unix epoch, as JWT's NumericDate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseClaims {
    /// Kopek's public URL.
    pub iss: String,
    /// The organization's guid.
    pub sub: String,
    /// The token's id: the same for every token of one subscription period, so a
    /// revocation names them all.
    pub jti: String,
    pub iat: i64,
    /// The last moment the license may be used: the grace end.
    pub exp: i64,
    pub subscription: String,
    pub product: String,
    pub plan: String,
    pub quantity: i64,
    /// `active` or `past_due`: a past-due license runs on into its grace days.
    pub status: String,
    pub period_start: i64,
    pub period_end: i64,
    pub grace_end: i64,
}

/// One revoked token: its id, when and why, and until when it would have run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub jti: String,
    pub revoked_at: i64,
    /// `refund` or `canceled`.
    pub reason: String,
    pub exp: i64,
}

/// The revocation list's claims: every token cut short that would still be valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    pub iss: String,
    pub iat: i64,
    pub revoked: Vec<Revoked>,
}

/// The id of every token of the subscription period ending at `period_end`:
/// opaque (128 bits of a hash), so a published revocation names no subscription.
pub fn token_id(subscription_id: &str, period_end: Timestamp) -> String {
    let mut h = Sha256::new();
    h.update(b"kopek-license\0");
    h.update(subscription_id.as_bytes());
    h.update(b"\0");
    h.update(period_end.micros().to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

/// When a license for the period ending at `period_end` stops working: after the
/// grace days, unless the subscription ends with its period as asked.
pub fn grace_end(period_end: Timestamp, grace_seconds: i64, ends_with_period: bool) -> Timestamp {
    if ends_with_period {
        period_end
    } else {
        period_end.plus_seconds(grace_seconds)
    }
}

/// An Ed25519 public key as a JWK (RFC 8037), named by its thumbprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// The key's RFC 7638 thumbprint.
    pub kid: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Always `EdDSA`.
    pub alg: String,
}

impl Jwk {
    pub fn ed25519(public_key: &[u8]) -> Jwk {
        let x = URL_SAFE_NO_PAD.encode(public_key);
        Jwk {
            kid: thumbprint(&x),
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x,
            use_: "sig".to_owned(),
            alg: "EdDSA".to_owned(),
        }
    }
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, no spaces.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// `base64url(header).base64url(claims)`: the bytes the signature covers.
pub fn signing_input(typ: &str, kid: &str, claims: &impl Serialize) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": typ, "kid": kid});
    // Serializing these plain structs cannot fail.
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// The compact token: the signing input and the signature over it.
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_has_one_opaque_token_id() {
        let end = Timestamp::from_micros(1_767_225_600_000_000);
        let id = token_id("sub_1", end);
        assert_eq!(id.len(), 32);
        assert_eq!(id, token_id("sub_1", end));
        assert_ne!(id, token_id("sub_1", end.plus_seconds(1)));
        assert_ne!(id, token_id("sub_2", end));
        assert!(!id.contains("sub"));
    }

    #[test]
    fn the_grace_end_follows_the_period_unless_it_ends_with_it() {
        let end = Timestamp::from_micros(1_000_000_000);
        assert_eq!(grace_end(end, 3 * 86_400, false), end.plus_seconds(259_200));
        assert_eq!(grace_end(end, 3 * 86_400, true), end);
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        assert_eq!(thumbprint(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let public = URL_SAFE_NO_PAD.decode(x).unwrap();
        assert_eq!(Jwk::ed25519(&public).kid, thumbprint(x));
    }

    #[test]
    fn the_signing_input_is_the_typed_header_and_the_claims() {
        let input = signing_input(TOKEN_TYPE, "k1", &serde_json::json!({"sub": "o"}));
        let (header, claims) = input.split_once('.').unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "EdDSA", "typ": "kopek-license+jwt", "kid": "k1"})
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(claims).unwrap(), br#"{"sub":"o"}"#);
        assert_eq!(compact(&input, &[0xff, 0xfe]), format!("{input}.__4"));
    }
}
