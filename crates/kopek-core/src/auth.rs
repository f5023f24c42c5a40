//! Who a bearer token stands for: the bootstrap admin token from configuration, an
//! API key (looked up by the hash of its token), or an access token exchanged for
//! one. The same for every transport.

use crate::Core;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, SecretToken, hash_token};
use kopek_domain::time::Timestamp;
use kopek_store::api_keys;

/// The prefix of access tokens exchanged for an API key.
pub const ACCESS_TOKEN_PREFIX: &str = "kit_";

/// How long an exchanged access token works (as Yandex Cloud IAM tokens do).
pub const ACCESS_TOKEN_SECONDS: i64 = 12 * 60 * 60;

/// The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC
/// metadata alike).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The principal of a token; `Unauthenticated` for none, an unknown or a revoked one.
pub async fn authenticate(core: &Core, token: Option<&str>) -> Result<Principal, Error> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthenticated)?;
    let hash = hash_token(token);
    let mut conn = core.store.conn().await?;
    if token.starts_with(ACCESS_TOKEN_PREFIX) {
        return api_keys::find_by_access_token(&mut conn, &hash, Timestamp::now())
            .await?
            .map(|key| key.principal())
            .ok_or(Error::Unauthenticated);
    }
    if core.settings.admin_token_hash.as_deref() == Some(hash.as_str()) {
        return Ok(Principal::bootstrap_admin());
    }
    api_keys::find_live_by_hash(&mut conn, &hash)
        .await?
        .map(|key| key.principal())
        .ok_or(Error::Unauthenticated)
}

/// Exchanges an API key's token for a short-lived access token (Yandex's
/// IamTokenService). The bootstrap admin token is not exchanged: it has no key to
/// stand for.
pub async fn exchange_api_key(
    core: &Core,
    api_key_token: &str,
) -> Result<(SecretToken, Timestamp), Error> {
    let mut conn = core.store.conn().await?;
    let key = api_keys::find_live_by_hash(&mut conn, &hash_token(api_key_token))
        .await?
        .ok_or(Error::Unauthenticated)?;
    let token = SecretToken::generate(ACCESS_TOKEN_PREFIX);
    let now = Timestamp::now();
    let expires_at = now.plus_seconds(ACCESS_TOKEN_SECONDS);
    api_keys::insert_access_token(&mut conn, &token.hash(), &key.id, now, expires_at).await?;
    Ok((token, expires_at))
}
