//! The operator API's own error shape:
//! `{"error": {"code", "message", "requestId", "fields": [{"field", "message"}]}}`.

use crate::context::RequestContext;
use crate::error::Dialect;
use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use serde::Serialize;
use utoipa::ToSchema;

pub struct Admin;

/// The operator API's error: `{"error": {code, message, requestId, fields}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminError)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AdminErrorDetail)]
pub struct ErrorDetail {
    /// A stable machine-readable code such as `invalid_argument` or `not_found`.
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMessage>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminFieldMessage)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// The operator API's name for an error.
pub fn code(error: &Error) -> &'static str {
    match error {
        Error::Validation(_) => "invalid_argument",
        Error::MalformedBody(_) => "malformed_body",
        Error::UnsupportedMediaType(_) => "unsupported_media_type",
        Error::PayloadTooLarge { .. } => "payload_too_large",
        Error::IdempotencyKeyReused => "idempotency_key_reused",
        Error::Unauthenticated => "unauthenticated",
        Error::WrongCredentials => "wrong_credentials",
        Error::Forbidden => "permission_denied",
        Error::NotFound { .. } => "not_found",
        Error::AlreadyExists { .. } => "already_exists",
        Error::FailedPrecondition(_) => "failed_precondition",
        Error::MethodNotAllowed => "method_not_allowed",
        Error::RequestTimeout => "request_timeout",
        Error::TooManyRequests { .. } => "too_many_requests",
        Error::Internal(_) => "internal",
        Error::Unavailable { .. } => "unavailable",
    }
}

pub fn code_and_status(error: &Error) -> (&'static str, StatusCode) {
    (code(error), crate::error::http_status(error))
}

impl Dialect for Admin {
    const AUDITED: bool = true;

    fn render(error: &Error, context: &RequestContext) -> Response {
        let (code, status) = code_and_status(error);
        let fields = match error {
            Error::Validation(fields) => fields
                .iter()
                .map(|f| FieldMessage {
                    field: f.field.clone(),
                    message: f.message(context.lang),
                })
                .collect(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: error.public_message(context.lang),
                request_id: context.request_id.clone(),
                fields,
            },
        };
        (status, Json(body)).into_response()
    }
}
