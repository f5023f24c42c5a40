//! API keys: only the hash of a token is stored.

use crate::billing_accounts::{self, AccountKind};
use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::auth::{KeySpec, Principal, Role, SecretToken};
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, Reason};
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApiKey {
    pub id: String,
    pub role: Role,
    pub scope: Option<String>,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            role: self.role,
            scope: self.scope.clone(),
        }
    }
}

impl Record for ApiKey {
    const TABLE: &'static str = "api_keys";
    const COLUMNS: &'static str = "id, role, scope, name, created_at, revoked_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(self.role)
            .bind(&self.scope)
            .bind(&self.name)
            .bind(self.created_at)
            .bind(self.revoked_at)
    }
}

/// Issues a key: checks that a reseller scope names a reseller, stores the token's
/// hash and hands back the token, which nothing can show again.
pub async fn issue(
    conn: &mut Conn,
    spec: KeySpec,
    now: Timestamp,
) -> Result<(ApiKey, SecretToken), Error> {
    if let (Role::Reseller, Some(scope)) = (spec.role, &spec.scope)
        && billing_accounts::get(&mut *conn, AccountKind::Reseller, &scope.as_str().into())
            .await?
            .is_none()
    {
        return Err(Error::field("scope", Reason::UnknownReference));
    }
    let key = ApiKey {
        id: yc_id(prefix::API_KEY),
        role: spec.role,
        scope: spec.scope,
        name: spec.name,
        created_at: now,
        revoked_at: None,
    };
    let token = SecretToken::api_key();
    insert(conn, &key, &token.hash()).await?;
    Ok((key, token))
}

async fn insert(conn: &mut Conn, key: &ApiKey, token_hash: &str) -> Result<(), Error> {
    crate::db::insert(conn, key, &[("token_hash", token_hash)])
        .await
        .db()
}

/// The live (not revoked) key with this token hash.
pub async fn find_live_by_hash(conn: &mut Conn, token_hash: &str) -> Result<Option<ApiKey>, Error> {
    sqlx::query_as(select::<ApiKey>(
        "WHERE token_hash = $1 AND revoked_at IS NULL",
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await
    .db()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ApiKey>, Error> {
    crate::db::by_key(conn, id).await
}

/// Every key, newest first, revoked ones included (they show `revoked_at`).
pub async fn list(conn: &mut Conn) -> Result<Vec<ApiKey>, Error> {
    sqlx::query_as(select::<ApiKey>("ORDER BY created_at DESC, id"))
        .fetch_all(conn)
        .await
        .db()
}

/// Whether any admin key works: a fresh server without one says how to get one.
pub async fn any_live_admin(conn: &mut Conn) -> Result<bool, Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL",
    )
    .fetch_one(conn)
    .await
    .db()?;
    Ok(n > 0)
}

/// Revokes a key; revoking twice keeps the first time. Returns false for an unknown id.
pub async fn revoke(conn: &mut Conn, id: &str, now: Timestamp) -> Result<bool, Error> {
    sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(now)
        .bind(id)
        .changed_one(conn)
        .await
}

/// Stores a short-lived access token standing for a key (only its hash).
pub async fn insert_access_token(
    conn: &mut Conn,
    token_hash: &str,
    api_key_id: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), Error> {
    sqlx::query("INSERT INTO access_tokens (token_hash, api_key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(api_key_id)
        .bind(now)
        .bind(expires_at)
        .run(conn)
        .await
}

/// The live key behind an unexpired access token: revoking the key ends its tokens.
pub async fn find_by_access_token(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<ApiKey>, Error> {
    sqlx::query_as(select::<ApiKey>(
        "WHERE id = (SELECT api_key_id FROM access_tokens WHERE token_hash = $1 AND expires_at > $2) \
         AND revoked_at IS NULL",
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    .db()
}
