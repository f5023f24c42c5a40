//! The signed-in operator, from the session cookie: a page asked for without a
//! live session sends the browser to sign in.

use super::{append_cookie, see_other};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use kopek_core::operators;
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_store::operators::Operator;

const COOKIE_NAME: &str = "kopek_console";

/// The signed-in operator, with the request's headers, which the pages'
/// anti-forgery token comes from.
pub struct Signed {
    pub operator: Operator,
    pub(super) headers: HeaderMap,
}

impl Signed {
    /// Whom the operator reads as: the operator API's admin, every tenant's data.
    pub fn reader(&self) -> Principal {
        Principal {
            id: self.operator.id.clone(),
            role: Role::Admin,
            scope: None,
        }
    }
}

pub(super) fn set_cookie(response: &mut Response, token: &str, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    append_cookie(
        response,
        &format!("{COOKIE_NAME}={token}; Path=/console; HttpOnly; SameSite=Strict{secure}"),
    );
}

pub(super) fn clear_cookie(response: &mut Response, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    append_cookie(
        response,
        &format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    );
}

fn token(parts: &Parts) -> Option<&str> {
    crate::html::cookie(&parts.headers, COOKIE_NAME).filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let Some(token) = token(parts) else {
            return Err(see_other("/console/sign-in"));
        };
        match operators::authenticate(&state.core, token).await {
            Ok(operator) => Ok(Signed {
                operator,
                headers: parts.headers.clone(),
            }),
            Err(Error::Unauthenticated) => Err(see_other("/console/sign-in")),
            Err(e) => Err(super::failed(&e)),
        }
    }
}
