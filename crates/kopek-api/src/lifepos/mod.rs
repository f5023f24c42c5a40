//! Family B: LIFE POS (snake_case JSON, `{guid,type_of}` references,
//! `{code,message,info}` errors, `X-LP-*` headers).

pub mod auth;
pub mod closing_documents;
pub mod error;
pub mod headers;
pub mod invoices;
pub mod license_token;
pub mod products;
pub mod sign_in;
pub mod wire;

use crate::Routes;
use crate::routes::routes;
use axum::middleware::from_fn;
use axum::routing::{get, post};

pub use error::LifePos;

pub fn routes() -> Routes {
    Routes::new()
        .api(routes!(sign_in::sign_in))
        .api(routes!(products::list))
        .dispatch(
            "/orgs/{org_guid}/profile/subscriptions/products/{segment}",
            post(invoices::create_invoice),
            [routes!(invoices::create_invoice)],
        )
        .api(routes!(license_token::get))
        .api(routes!(invoices::list))
        .api(routes!(invoices::get))
        .api(routes!(closing_documents::list))
        .api(routes!(closing_documents::reconciliation))
        .dispatch(
            "/orgs/{org_guid}/profile/closing-documents/{segment}",
            get(closing_documents::get),
            [
                routes!(closing_documents::get),
                routes!(closing_documents::pdf),
                routes!(closing_documents::xml),
            ],
        )
        .map(|router| router.route_layer(from_fn(headers::require_client_headers)))
}
