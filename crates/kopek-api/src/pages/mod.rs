//! Pages people open in a browser. They work without JavaScript, send no referrer
//! (their URLs carry secrets) and may not be framed.

pub mod invitations;

use crate::AppState;
use crate::context::RequestContext;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use kopek_domain::lang::Lang;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/invitations/{segment}",
        get(invitations::show).post(invitations::accept),
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already escaped HTML), with the security headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let lang = match RequestContext::current().lang {
        Lang::En => "en",
        Lang::Ru => "ru",
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}}\
         h1{{font-size:1.5rem}}button{{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;\
         background:#1a56db;color:#fff;cursor:pointer}}.muted{{color:#6b7280}}\
         </style></head><body>{body}</body></html>\n",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}
