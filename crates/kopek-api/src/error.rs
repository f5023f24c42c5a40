//! The domain error, carried to the response in the dialect `D` of the family that
//! was called. Handlers return `Result<_, ApiError<D>>` and use `?`; no handler
//! builds an error body by hand.

use crate::context::RequestContext;
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use std::marker::PhantomData;

/// How one API family writes errors.
pub trait Dialect: Send + Sync + 'static {
    /// Whether the family's changes are written to the audit log.
    const AUDITED: bool = false;

    fn render(error: &Error, context: &RequestContext) -> Response;
}

pub struct ApiError<D>(pub Error, PhantomData<D>);

impl<D> From<Error> for ApiError<D> {
    fn from(error: Error) -> Self {
        ApiError(error, PhantomData)
    }
}

impl<D> std::fmt::Debug for ApiError<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<D: Dialect> IntoResponse for ApiError<D> {
    fn into_response(self) -> Response {
        render::<D>(&self.0)
    }
}

/// Renders `error` for the current request, logging what the client will not see.
pub fn render<D: Dialect>(error: &Error) -> Response {
    let context = RequestContext::current();
    match error {
        Error::Internal(detail) => {
            tracing::error!(request_id = %context.request_id, error = %detail, "internal error")
        }
        Error::Unavailable { cause, .. } => {
            tracing::warn!(request_id = %context.request_id, error = %cause, "unavailable")
        }
        other => {
            tracing::debug!(request_id = %context.request_id, error = %other, "request refused")
        }
    }
    let mut response = D::render(error, &context);
    if let Error::TooManyRequests { retry_after } | Error::Unavailable { retry_after, .. } = error {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(*retry_after),
        );
    }
    response
}

/// The HTTP status an error has where no dialect says otherwise (the operator API,
/// the pages).
pub fn http_status(error: &Error) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match error {
        Error::Validation(_) => StatusCode::BAD_REQUEST,
        Error::MalformedBody(_) => StatusCode::BAD_REQUEST,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Unauthenticated => StatusCode::UNAUTHORIZED,
        Error::WrongCredentials => StatusCode::UNAUTHORIZED,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::AlreadyExists { .. } => StatusCode::CONFLICT,
        Error::FailedPrecondition(_) => StatusCode::CONFLICT,
        Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    }
}
