//! Family C: AIPIX VMS Billing (Laravel-style JSON and validation errors).

pub mod error;
pub mod request;
pub mod users;

use crate::Routes;
use axum::routing::post;

pub use error::{Aipix, AipixDelete};

pub fn routes() -> Routes {
    Routes::new().route(
        "/api/v1/billing/user/manage",
        post(users::create)
            .patch(users::update)
            .delete(users::delete),
    )
}
