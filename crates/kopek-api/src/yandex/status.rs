//! Errors as `google.rpc.Status`, with the HTTP status of the gRPC code, a
//! `google.rpc.BadRequest` naming the fields and a `google.rpc.RequestInfo`.

use crate::context::RequestContext;
use crate::error::Dialect;
use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub struct Yandex;

/// `google.rpc.Status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// A `google.rpc.Code` value.
    pub code: i32,
    pub message: String,
    /// Typed details, each with an `@type` member.
    pub details: Vec<Value>,
}

/// The HTTP status Yandex Cloud's REST gateway uses for a gRPC code.
pub fn http_status(code: i32) -> StatusCode {
    let status = match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn status(error: &Error, context: &RequestContext) -> Status {
    let mut details = Vec::new();
    if let Error::Validation(fields) = error {
        let violations: Vec<Value> = fields
            .iter()
            .map(|f| json!({"field": f.field, "description": f.message(context.lang)}))
            .collect();
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
    }
    details.push(json!({
        "@type": "type.googleapis.com/google.rpc.RequestInfo",
        "requestId": context.request_id,
    }));
    Status {
        code: error.rpc_code(),
        message: error.public_message(context.lang),
        details,
    }
}

impl Dialect for Yandex {
    fn render(error: &Error, context: &RequestContext) -> Response {
        let body = status(error, context);
        (http_status(body.code), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopek_domain::Reason;
    use kopek_domain::lang::Lang;

    #[test]
    fn validation_names_the_field_and_the_request() {
        let context = RequestContext {
            request_id: "req-1".into(),
            lang: Lang::En,
            console_page: None,
        };
        let s = status(&Error::field("person.email", Reason::Required), &context);
        assert_eq!(s.code, 3);
        assert_eq!(s.details[0]["fieldViolations"][0]["field"], "person.email");
        assert_eq!(s.details[1]["requestId"], "req-1");
        assert_eq!(http_status(s.code), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn codes_map_to_the_documented_http_statuses() {
        let expected = [
            (1, 499),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 400),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
        ];
        for (code, http) in expected {
            assert_eq!(http_status(code).as_u16(), http, "code {code}");
        }
    }
}
