//! Per-request context (request id, language) kept in a task-local, so error
//! renderers and log lines reach it without threading it through every call.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use kopek_domain::lang::Lang;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub lang: Lang,
    /// The path and query of a console page asked for (its language switch
    /// comes back to it); `None` elsewhere.
    pub console_page: Option<String>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

impl RequestContext {
    /// The context of the request being served (a blank one outside a request).
    pub fn current() -> RequestContext {
        CONTEXT.try_with(Clone::clone).unwrap_or(RequestContext {
            request_id: String::new(),
            lang: Lang::En,
            console_page: None,
        })
    }
}

/// A client's request id is kept when it is short printable ASCII; otherwise (or
/// when absent) a fresh UUID stands in. Either way it is echoed in the response.
fn accept_request_id(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The cookie a browser keeps the language chosen in the console in (sent back
/// only on the console's paths); it wins over `Accept-Language`.
pub const LANG_COOKIE: &str = "kopek_lang";

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let request_id = accept_request_id(request.headers().get(&REQUEST_ID));
    let headers = request.headers();
    let lang = crate::html::cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Lang::from_accept_language)
        })
        .unwrap_or_default();
    let header = HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("invalid"));
    request
        .headers_mut()
        .insert(REQUEST_ID.clone(), header.clone());
    let console_page = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with("/console/"))
        .map(str::to_owned);
    let context = RequestContext {
        request_id,
        lang,
        console_page,
    };
    let mut response = CONTEXT.scope(context, next.run(request)).await;
    response.headers_mut().insert(REQUEST_ID.clone(), header);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sane_ids_and_replaces_others() {
        let ok = HeaderValue::from_static("abc-123");
        assert_eq!(accept_request_id(Some(&ok)), "abc-123");
        let spaced = HeaderValue::from_static("a b");
        assert_ne!(accept_request_id(Some(&spaced)), "a b");
        assert_eq!(accept_request_id(None).len(), 36);
    }
}
