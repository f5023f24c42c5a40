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

pub fn code_and_status(error: &Error) -> (&'static str, StatusCode) {
    match error {
        Error::Validation(_) => ("invalid_argument", StatusCode::BAD_REQUEST),
        Error::MalformedBody(_) => ("malformed_body", StatusCode::BAD_REQUEST),
        Error::UnsupportedMediaType(_) => {
            ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
        Error::PayloadTooLarge { .. } => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
        Error::IdempotencyKeyReused => ("idempotency_key_reused", StatusCode::UNPROCESSABLE_ENTITY),
        Error::Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
        Error::WrongCredentials => ("wrong_credentials", StatusCode::UNAUTHORIZED),
        Error::Forbidden => ("permission_denied", StatusCode::FORBIDDEN),
        Error::NotFound { .. } => ("not_found", StatusCode::NOT_FOUND),
        Error::AlreadyExists { .. } => ("already_exists", StatusCode::CONFLICT),
        Error::FailedPrecondition(_) => ("failed_precondition", StatusCode::CONFLICT),
        Error::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
        Error::RequestTimeout => ("request_timeout", StatusCode::REQUEST_TIMEOUT),
        Error::TooManyRequests { .. } => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS),
        Error::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
    }
}

impl Dialect for Admin {
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
