//! Family C: AIPIX VMS Billing (Laravel-style JSON and validation errors).

pub mod error;
pub mod users;

use crate::AppState;
use axum::Router;
use axum::routing::post;

pub use error::{Aipix, AipixDelete};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/billing/user/manage",
        post(users::create)
            .patch(users::update)
            .delete(users::delete),
    )
}
