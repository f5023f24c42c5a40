//! Errors as `{code, message, info}` with the codes of the LIFE POS API.

use crate::context::RequestContext;
use crate::error::Dialect;
use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kopek_domain::{Error, Reason};
use serde::Serialize;
use utoipa::ToSchema;

pub struct LifePos;

/// LIFE POS's error: `{code, message, info}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LifePosError)]
pub struct ErrorBody {
    /// One of the API's error codes, e.g. `RequestIsNotValid`.
    pub code: &'static str,
    pub message: String,
    /// What exactly is wrong, e.g. the failing fields or headers.
    pub info: String,
}

pub fn code_and_status(error: &Error) -> (&'static str, StatusCode) {
    match error {
        Error::Validation(fields)
            if fields.iter().all(|f| f.reason == Reason::UnknownReference) =>
        {
            ("ReferenceNotFound", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Error::Validation(_)
        | Error::MalformedBody(_)
        | Error::UnsupportedMediaType(_)
        | Error::PayloadTooLarge { .. }
        | Error::IdempotencyKeyReused => ("RequestIsNotValid", StatusCode::UNPROCESSABLE_ENTITY),
        Error::Unauthenticated => ("Unauthorized", StatusCode::UNAUTHORIZED),
        Error::WrongCredentials => ("WrongUsernameOrPassword", StatusCode::UNAUTHORIZED),
        Error::Forbidden => ("NoPermissions", StatusCode::FORBIDDEN),
        Error::NotFound { .. } => ("NotFound", StatusCode::NOT_FOUND),
        Error::AlreadyExists { .. } => ("Duplicate", StatusCode::UNPROCESSABLE_ENTITY),
        Error::FailedPrecondition(_) => (
            "OperationCannotBePerformed",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Error::MethodNotAllowed => ("NotAllowed", StatusCode::METHOD_NOT_ALLOWED),
        Error::RequestTimeout => ("RequestTimeout", StatusCode::REQUEST_TIMEOUT),
        Error::TooManyRequests { .. } => ("TooManyRequests", StatusCode::TOO_MANY_REQUESTS),
        Error::Internal(_) => ("InternalServerError", StatusCode::INTERNAL_SERVER_ERROR),
        Error::Unavailable { .. } => ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE),
    }
}

pub fn body(error: &Error, context: &RequestContext) -> (StatusCode, ErrorBody) {
    let (code, status) = code_and_status(error);
    let info = match error {
        Error::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message(context.lang)))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("request_id: {}", context.request_id),
    };
    (
        status,
        ErrorBody {
            code,
            message: error.public_message(context.lang),
            info,
        },
    )
}

impl Dialect for LifePos {
    fn render(error: &Error, context: &RequestContext) -> Response {
        let (status, body) = body(error, context);
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopek_domain::Reason;
    use kopek_domain::lang::Lang;

    #[test]
    fn names_the_failing_header_in_russian() {
        let context = RequestContext {
            request_id: "r".into(),
            lang: Lang::Ru,
            console_page: None,
        };
        let (status, rendered) = body(
            &Error::field("X-LP-Client-Type", Reason::Required),
            &context,
        );
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rendered.code, "RequestIsNotValid");
        assert!(
            rendered.info.starts_with("X-LP-Client-Type: Поле"),
            "{}",
            rendered.info
        );
        let (status, rendered) = body(&Error::Internal("secret detail".into()), &context);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!rendered.message.contains("secret") && !rendered.info.contains("secret"));
    }
}
