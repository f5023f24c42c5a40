//! The domain error, carried to the response in the dialect `D` of the family that
//! was called. Handlers return `Result<_, ApiError<D>>` and use `?`; no handler
//! builds an error body by hand.

use crate::context::RequestContext;
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use std::marker::PhantomData;

/// How one API family writes errors.
pub trait Dialect: Send + Sync + 'static {
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
        other => {
            tracing::debug!(request_id = %context.request_id, error = %other, "request refused")
        }
    }
    let mut response = D::render(error, &context);
    if let Error::TooManyRequests { retry_after } = error {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(*retry_after),
        );
    }
    response
}
