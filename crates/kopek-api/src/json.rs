//! JSON responses. axum's `Json` writes through a `BytesMut` writer, a `put_slice`
//! call with its capacity checks for every key, quote and comma; a page of 20 full
//! invoices (about 25 KB) spent several per cent of its CPU there. Serializing into
//! a `Vec` first does the same work at the cost of plain copies.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(err) => {
                tracing::error!(error = %err, "a response did not serialize");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}
