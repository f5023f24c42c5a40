//! Licenses that work offline: a signed token of an organization's subscription
//! period (see `kopek_domain::license` for its shape), the public keys that check
//! it, their rotation, and the signed list of tokens cut short.
//!
//! Keys live in the database, so every process signs with the same one; the
//! first is made when first needed. A retired key stays published until the
//! last token it signed has expired.

use crate::Core;
use crate::access::OrgAccess;
use crate::write::{Ran, Write};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kopek_domain::Error;
use kopek_domain::auth::Principal;
use kopek_domain::ids::OrganizationId;
use kopek_domain::license::{
    self, Jwk, LicenseClaims, REVOCATIONS_TYPE, RevocationList, Revoked, TOKEN_TYPE,
};
use kopek_domain::subscription::SubscriptionStatus;
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::license_tokens::{self, Revocation, SigningKey};
use kopek_store::subscriptions::{self, Subscription};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Key pairs parsed from the database, by key id: parsing PKCS#8 each time would
/// cost more than the signature.
#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, Arc<Ed25519KeyPair>>>);

impl KeyCache {
    fn pair(&self, key: &SigningKey) -> Result<Arc<Ed25519KeyPair>, Error> {
        let mut pairs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pair) = pairs.get(&key.kid) {
            return Ok(pair.clone());
        }
        let pkcs8 = STANDARD.decode(&key.private_key).map_err(Error::internal)?;
        let pair = Arc::new(Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(Error::internal)?);
        pairs.insert(key.kid.clone(), pair.clone());
        Ok(pair)
    }
}

/// A license token as handed out, with what it says.
#[derive(Debug, Clone)]
pub struct LicenseToken {
    pub token: String,
    pub key_id: String,
    pub claims: LicenseClaims,
}

/// A new key pair, to be stored as the active one.
fn generate(now: Timestamp) -> Result<SigningKey, Error> {
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random).map_err(Error::internal)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(Error::internal)?;
    let jwk = Jwk::ed25519(pair.public_key().as_ref());
    Ok(SigningKey {
        kid: jwk.kid,
        private_key: STANDARD.encode(pkcs8.as_ref()),
        public_key: jwk.x,
        active: true,
        created_at: now,
        retired_at: None,
        signed_until: now,
    })
}

/// The key that signs now; the first one is made here, by whichever process
/// needs it first.
async fn active(core: &Core, conn: &mut Conn) -> Result<SigningKey, Error> {
    if let Some(key) = license_tokens::active(&mut *conn).await? {
        return Ok(key);
    }
    let made = generate(core.now())?;
    if license_tokens::insert_active(&mut *conn, &made).await? {
        return Ok(made);
    }
    license_tokens::active(conn)
        .await?
        .ok_or_else(|| Error::internal("no active license key after a lost race to make one"))
}

/// Signs `claims` under a header of type `typ` with the active key, which stays
/// published until `valid_until`.
async fn sign(
    core: &Core,
    conn: &mut Conn,
    typ: &str,
    claims: &impl Serialize,
    valid_until: Timestamp,
) -> Result<(String, String), Error> {
    let key = active(core, &mut *conn).await?;
    let pair = core.license_keys.pair(&key)?;
    license_tokens::signed_until(conn, &key.kid, valid_until).await?;
    let input = license::signing_input(typ, &key.kid, claims);
    let signature = pair.sign(input.as_bytes());
    Ok((license::compact(&input, signature.as_ref()), key.kid))
}

/// When the licenses of `s`'s current period stop working.
fn grace_end(core: &Core, s: &Subscription) -> Timestamp {
    license::grace_end(
        s.current_period_end,
        core.settings.grace_seconds,
        s.cancel_at_period_end,
    )
}

/// A signed token of the organization's license for `product`: its current
/// period, valid offline until the grace end. Only a subscription in force (active,
/// or past due within its grace days) has one.
pub async fn token(
    core: &Core,
    access: &OrgAccess,
    organization: &OrganizationId,
    product: &str,
) -> Result<LicenseToken, Error> {
    let mut conn = core.store.conn().await?;
    access.organization(&mut conn, organization).await?;
    let s = subscriptions::of(&mut conn, organization, product)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "license",
            id: product.to_owned(),
        })?;
    let now = core.now();
    let until = grace_end(core, &s);
    let in_force = matches!(
        s.status,
        SubscriptionStatus::Active | SubscriptionStatus::PastDue
    ) && until > now;
    if !in_force {
        return Err(Error::FailedPrecondition(format!(
            "The organization's subscription to this product is {} since {}; there is no \
             license in force to sign",
            s.status.as_str(),
            s.current_period_end.min(until).rfc3339()
        )));
    }
    let claims = LicenseClaims {
        iss: core.settings.public_url.clone(),
        sub: s.organization_guid.to_string(),
        jti: license::token_id(&s.id, s.current_period_end),
        iat: now.unix_seconds(),
        exp: until.unix_seconds(),
        subscription: s.id.clone(),
        product: s.product_guid.clone(),
        plan: s.plan_guid.clone(),
        quantity: s.quantity,
        status: s.status.as_str().to_owned(),
        period_start: s.current_period_start.unix_seconds(),
        period_end: s.current_period_end.unix_seconds(),
        grace_end: until.unix_seconds(),
    };
    let (token, key_id) = sign(core, &mut conn, TOKEN_TYPE, &claims, until).await?;
    Ok(LicenseToken {
        token,
        key_id,
        claims,
    })
}

/// The public keys a token may be checked with: the active one, and those retired
/// while tokens they signed may still be valid.
pub async fn published_keys(core: &Core) -> Result<Vec<Jwk>, Error> {
    let mut conn = core.store.conn().await?;
    active(core, &mut conn).await?;
    let keys = license_tokens::published(&mut conn, core.now()).await?;
    keys.iter()
        .map(|key| {
            let public = URL_SAFE_NO_PAD
                .decode(&key.public_key)
                .map_err(Error::internal)?;
            Ok(Jwk::ed25519(&public))
        })
        .collect()
}

/// The revocation list, signed: every token cut short that would still be valid.
pub async fn revocations(core: &Core) -> Result<String, Error> {
    let mut conn = core.store.conn().await?;
    let now = core.now();
    let revoked = license_tokens::in_force(&mut conn, now)
        .await?
        .into_iter()
        .map(|r| Revoked {
            jti: r.token_id,
            revoked_at: r.revoked_at.unix_seconds(),
            reason: r.reason,
            exp: r.expires_at.unix_seconds(),
        })
        .collect();
    let list = RevocationList {
        iss: core.settings.public_url.clone(),
        iat: now.unix_seconds(),
        revoked,
    };
    let (signed, _) = sign(core, &mut conn, REVOCATIONS_TYPE, &list, now).await?;
    Ok(signed)
}

/// Every key with its state, for the operator (never a private key).
pub async fn keys(core: &Core) -> Result<Vec<SigningKey>, Error> {
    let mut conn = core.store.conn().await?;
    license_tokens::all(&mut conn).await
}

/// Retires the active key and makes a new one, which signs from now on; the old one
/// stays published while tokens it signed may be in use.
pub async fn rotate<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    status: u16,
    answer: impl FnOnce(&SigningKey) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let conn = work.conn();
            let now = core.now();
            let raced = || {
                Error::FailedPrecondition(
                    "Another rotation of the license key came first; read the keys again"
                        .to_owned(),
                )
            };
            if let Some(old) = license_tokens::active(&mut *conn).await?
                && !license_tokens::retire(&mut *conn, &old.kid, now).await?
            {
                return Err(raced());
            }
            let made = generate(now)?;
            if !license_tokens::insert_active(conn, &made).await? {
                return Err(raced());
            }
            Ok(answer(&made))
        })
        .await
}

/// Revokes the tokens of `subscription`'s period ending at `period_end`, which is
/// being cut short, and answers their id. A token carries the grace days unless
/// it was signed after a cancel at the period's end, so a revocation lasts that
/// long; a period whose tokens have all expired is not listed.
pub(crate) async fn revoke(
    core: &Core,
    conn: &mut Conn,
    subscription: &str,
    period_end: Timestamp,
    reason: &str,
    now: Timestamp,
) -> Result<String, Error> {
    let token_id = license::token_id(subscription, period_end);
    let expires_at = license::grace_end(period_end, core.settings.grace_seconds, false);
    if expires_at > now {
        let revocation = Revocation {
            token_id: token_id.clone(),
            subscription_id: subscription.to_owned(),
            reason: reason.to_owned(),
            revoked_at: now,
            expires_at,
        };
        license_tokens::revoke(conn, &revocation).await?;
    }
    Ok(token_id)
}
