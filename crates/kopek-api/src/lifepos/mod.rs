//! Family B: LIFE POS (snake_case JSON, `{guid,type_of}` references,
//! `{code,message,info}` errors, `X-LP-*` headers).

pub mod auth;
pub mod error;
pub mod headers;
pub mod invoices;
pub mod products;
pub mod sign_in;
pub mod wire;

use crate::Routes;
use axum::middleware::from_fn;
use axum::routing::{get, post};

pub use error::LifePos;

pub fn routes() -> Routes {
    Routes::new()
        .route("/auth/sign-in", post(sign_in::sign_in))
        .route(
            "/orgs/{org_guid}/profile/subscriptions/products",
            get(products::list),
        )
        .route(
            "/orgs/{org_guid}/profile/subscriptions/products/{segment}",
            post(invoices::create_invoice),
        )
        .route("/orgs/{org_guid}/profile/invoices", get(invoices::list))
        .route(
            "/orgs/{org_guid}/profile/invoices/{guid}",
            get(invoices::get),
        )
        .map(|router| router.route_layer(from_fn(headers::require_client_headers)))
}
