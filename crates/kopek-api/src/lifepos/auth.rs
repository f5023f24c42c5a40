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
use kopek_core::access::OrgAccess;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};

pub struct Buyer {
    /// Who is calling, for `created_by` and idempotency keys.
    pub principal: Principal,
    /// The organizations the caller may act for.
    pub access: OrgAccess,
}

impl FromRequestParts<AppState> for Buyer {
    type Rejection = ApiError<LifePos>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Session tokens first: they are what LIFE POS clients carry.
        let token = bearer_or_bare(parts);
        if let Some(token) = token.filter(|t| t.starts_with(kopek_core::sessions::TOKEN_PREFIX)) {
            let user = kopek_core::sessions::authenticate(&state.core, token).await?;
            return Ok(Buyer {
                principal: Principal {
                    id: format!("user:{}", user.id),
                    role: Role::Organization,
                    scope: None,
                },
                access: OrgAccess::User(user.id),
            });
        }
        let principal = authenticate_token(state, token).await?;
        let access = match (principal.role, &principal.scope) {
            (Role::Admin, _) => OrgAccess::All,
            (Role::Organization, Some(guid)) => OrgAccess::Organization(guid.as_str().into()),
            _ => return Err(Error::Forbidden.into()),
        };
        Ok(Buyer { principal, access })
    }
}
