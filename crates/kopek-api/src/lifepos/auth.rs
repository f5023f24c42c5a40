//! Who may buy for an organization: a user signed in through `/auth/sign-in` (for
//! the organizations the user is a member of), an `organization` key (for its
//! organization) or an admin key (for all).
//!
//! Anyone else asking about an organization, whether it exists or not, gets 403
//! `NoPermissions`; only an admin learns that an organization does not exist (404).

use super::LifePos;
use crate::AppState;
use crate::auth::{authenticate_token, bearer_or_bare};
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role, hash_token};
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::organizations::{self, Organization};
use kopek_store::{sessions, users};

enum Access {
    All,
    Organization(String),
    User(i64),
}

pub struct Buyer {
    /// Who is calling, for `created_by` and idempotency keys.
    pub principal: Principal,
    access: Access,
}

impl Buyer {
    /// Whether this caller may act for the organization (403 if not), without
    /// learning whether it exists.
    pub async fn check(&self, conn: &mut Conn, guid: &str) -> Result<(), Error> {
        let allowed = match &self.access {
            Access::All => true,
            Access::Organization(scope) => scope.eq_ignore_ascii_case(guid),
            Access::User(id) => organizations::is_member(conn, guid, *id).await?,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The organization, if this caller may act for it.
    pub async fn organization(&self, conn: &mut Conn, guid: &str) -> Result<Organization, Error> {
        self.check(&mut *conn, guid).await?;
        read_organization(conn, guid).await
    }

    /// The organization with the newest catalog version, in one round trip.
    pub async fn organization_and_catalog(
        &self,
        conn: &mut Conn,
        guid: &str,
    ) -> Result<(Organization, Option<i64>), Error> {
        self.check(&mut *conn, guid).await?;
        organizations::get_with_catalog_version(conn, guid)
            .await?
            .ok_or_else(|| missing(guid))
    }
}

fn missing(guid: &str) -> Error {
    Error::NotFound {
        what: "organization",
        id: guid.to_owned(),
    }
}

/// The organization, or 404; for a caller already [checked](Buyer::check).
pub async fn read_organization(conn: &mut Conn, guid: &str) -> Result<Organization, Error> {
    organizations::get(conn, guid)
        .await?
        .ok_or_else(|| missing(guid))
}

impl FromRequestParts<AppState> for Buyer {
    type Rejection = ApiError<LifePos>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Session tokens first: they are what LIFE POS clients carry.
        let token = bearer_or_bare(parts);
        if let Some(token) = token.filter(|t| t.starts_with(super::sign_in::TOKEN_PREFIX)) {
            let mut conn = state.store.conn().await?;
            let session = sessions::find_live(&mut conn, &hash_token(token), Timestamp::now())
                .await?
                .ok_or(Error::Unauthenticated)?;
            // A user blocked or deleted after signing in loses access at once.
            let user = users::get(&mut conn, session.user_id)
                .await?
                .filter(|u| u.may_sign_in());
            let user = user.ok_or(Error::Unauthenticated)?;
            return Ok(Buyer {
                principal: Principal {
                    id: format!("user:{}", user.id),
                    role: Role::Organization,
                    scope: None,
                },
                access: Access::User(user.id),
            });
        }
        let principal = authenticate_token(state, token).await?;
        let access = match (principal.role, &principal.scope) {
            (Role::Admin, _) => Access::All,
            (Role::Organization, Some(guid)) => Access::Organization(guid.clone()),
            _ => return Err(Error::Forbidden.into()),
        };
        Ok(Buyer { principal, access })
    }
}
