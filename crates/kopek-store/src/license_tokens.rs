//! What offline license tokens need kept: the signing keys (one active, retired ones
//! while tokens they signed may still be in use) and the tokens cut short.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::sql::Flag;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SigningKey {
    /// The public key's RFC 7638 thumbprint.
    pub kid: String,
    /// PKCS#8, base64.
    pub private_key: String,
    /// The raw 32 bytes, base64url.
    pub public_key: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// The latest expiry of a token this key signed: a retired key is published
    /// until then.
    pub signed_until: Timestamp,
}

impl Record for SigningKey {
    const TABLE: &'static str = "license_keys";
    const COLUMNS: &'static str =
        "kid, private_key, public_key, active, created_at, retired_at, signed_until";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.kid)
            .bind(&self.private_key)
            .bind(&self.public_key)
            .bind(Flag(self.active))
            .bind(self.created_at)
            .bind(self.retired_at)
            .bind(self.signed_until)
    }
}

/// The key that signs now, if there is one.
pub async fn active(conn: &mut Conn) -> Result<Option<SigningKey>, Error> {
    sqlx::query_as(select::<SigningKey>("WHERE active = 1"))
        .fetch_optional(conn)
        .await
        .db()
}

/// Stores `key` as the active one unless another process made one first; false
/// then (the caller reads that one).
pub async fn insert_active(conn: &mut Conn, key: &SigningKey) -> Result<bool, Error> {
    match crate::db::insert(conn, key, &[]).await {
        Ok(()) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

/// Retires the active key `kid` (false when it is no longer the active one).
pub async fn retire(conn: &mut Conn, kid: &str, at: Timestamp) -> Result<bool, Error> {
    sqlx::query("UPDATE license_keys SET active = 0, retired_at = $1 WHERE kid = $2 AND active = 1")
        .bind(at)
        .bind(kid)
        .changed_one(conn)
        .await
}

/// Notes that `kid` signed a token valid until `until`, so it stays published
/// that long.
pub async fn signed_until(conn: &mut Conn, kid: &str, until: Timestamp) -> Result<(), Error> {
    sqlx::query("UPDATE license_keys SET signed_until = $1 WHERE kid = $2 AND signed_until < $1")
        .bind(until)
        .bind(kid)
        .run(conn)
        .await
}

/// The keys to publish at `now`: the active one and the retired ones whose tokens
/// may still be valid, newest first.
pub async fn published(conn: &mut Conn, now: Timestamp) -> Result<Vec<SigningKey>, Error> {
    sqlx::query_as(select::<SigningKey>(
        "WHERE active = 1 OR signed_until > $1 ORDER BY created_at DESC, kid",
    ))
    .bind(now)
    .fetch_all(conn)
    .await
    .db()
}

/// Every key, newest first (the operator's view).
pub async fn all(conn: &mut Conn) -> Result<Vec<SigningKey>, Error> {
    sqlx::query_as(select::<SigningKey>("ORDER BY created_at DESC, kid"))
        .fetch_all(conn)
        .await
        .db()
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Revocation {
    pub token_id: String,
    pub subscription_id: String,
    pub reason: String,
    pub revoked_at: Timestamp,
    /// When the token would have expired; the revocation is listed until then.
    pub expires_at: Timestamp,
}

impl Record for Revocation {
    const TABLE: &'static str = "license_revocations";
    const COLUMNS: &'static str = "token_id, subscription_id, reason, revoked_at, expires_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.token_id)
            .bind(&self.subscription_id)
            .bind(&self.reason)
            .bind(self.revoked_at)
            .bind(self.expires_at)
    }
}

/// Revokes a token; a token revoked already stays as it was first revoked. (No
/// unique violation is raised, which would end a PostgreSQL transaction.)
pub async fn revoke(conn: &mut Conn, r: &Revocation) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO NOTHING",
        Revocation::TABLE,
        Revocation::COLUMNS
    );
    r.bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .run(conn)
        .await
}

/// The revocations of tokens that would still be valid at `now`, oldest first.
pub async fn in_force(conn: &mut Conn, now: Timestamp) -> Result<Vec<Revocation>, Error> {
    sqlx::query_as(select::<Revocation>(
        "WHERE expires_at > $1 ORDER BY revoked_at, token_id",
    ))
    .bind(now)
    .fetch_all(conn)
    .await
    .db()
}
