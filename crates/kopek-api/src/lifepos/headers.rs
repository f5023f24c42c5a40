//! Every LIFE POS request names its client: `X-LP-Client-Identifier` (a UUID),
//! `X-LP-Client-Type` and `Accept-Language`. A missing or bad one is 422
//! `RequestIsNotValid` naming the header.

use super::LifePos;
use crate::error::render;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use kopek_domain::ids::is_guid;
use kopek_domain::{Error, FieldError, Reason};

pub const CLIENT_TYPES: [&str; 5] = ["Unknown", "App", "WebApp", "Service", "Android"];

fn check(headers: &HeaderMap) -> Vec<FieldError> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut errors = Vec::new();
    match text("x-lp-client-identifier") {
        None => errors.push(FieldError::new("X-LP-Client-Identifier", Reason::Required)),
        Some(id) if !is_guid(id) => errors.push(FieldError::new(
            "X-LP-Client-Identifier",
            Reason::Format {
                en: "a UUID",
                ru: "UUID",
            },
        )),
        Some(_) => {}
    }
    match text("x-lp-client-type") {
        None => errors.push(FieldError::new("X-LP-Client-Type", Reason::Required)),
        Some(t) if !CLIENT_TYPES.contains(&t) => errors.push(FieldError::new(
            "X-LP-Client-Type",
            Reason::OneOf(CLIENT_TYPES.iter().map(|t| (*t).to_owned()).collect()),
        )),
        Some(_) => {}
    }
    if text("accept-language").is_none() {
        errors.push(FieldError::new("Accept-Language", Reason::Required));
    }
    errors
}

pub async fn require_client_headers(request: Request, next: Next) -> Response {
    let errors = check(request.headers());
    if errors.is_empty() {
        next.run(request).await
    } else {
        render::<LifePos>(&Error::Validation(errors))
    }
}
