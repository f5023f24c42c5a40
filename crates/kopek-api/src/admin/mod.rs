//! The operator API under `/admin/v1`: admin keys only.

pub mod api_keys;
pub mod catalog;
pub mod error;
pub mod invoices;
pub mod organizations;
pub mod resellers;
pub mod users;

use crate::Routes;
use axum::routing::{delete, get, post};

pub use error::Admin;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/admin/v1/resellers",
            get(resellers::list).post(resellers::create),
        )
        .route("/admin/v1/resellers/{id}", get(resellers::get))
        .route(
            "/admin/v1/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route("/admin/v1/api-keys/{id}", delete(api_keys::revoke))
        .route("/admin/v1/users", get(users::list))
        .route("/admin/v1/users/{id}", get(users::get))
        .route("/admin/v1/catalog", get(catalog::get).put(catalog::replace))
        .route(
            "/admin/v1/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route("/admin/v1/organizations/{guid}", get(organizations::get))
        .route(
            "/admin/v1/organizations/{guid}/members",
            post(organizations::add_member),
        )
        .route(
            "/admin/v1/invoices/{segment}",
            get(invoices::get).post(invoices::change),
        )
}
