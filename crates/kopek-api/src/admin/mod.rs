//! The operator API under `/admin/v1`: admin keys only.

pub mod api_keys;
pub mod catalog;
pub mod error;
pub mod invoices;
pub mod organizations;
pub mod resellers;
pub mod users;

use crate::Routes;
use crate::routes::routes;
use axum::routing::get;

pub use error::Admin;

pub fn routes() -> Routes {
    Routes::new()
        .api(routes!(resellers::list, resellers::create))
        .api(routes!(resellers::get))
        .api(routes!(api_keys::list, api_keys::create))
        .api(routes!(api_keys::revoke))
        .api(routes!(users::list))
        .api(routes!(users::get))
        .api(routes!(catalog::get, catalog::replace))
        .api(routes!(organizations::list, organizations::create))
        .api(routes!(organizations::get))
        .api(routes!(organizations::add_member))
        .dispatch(
            "/admin/v1/invoices/{segment}",
            get(invoices::get).post(invoices::change),
            [
                routes!(invoices::get),
                routes!(invoices::pay),
                routes!(invoices::cancel),
                routes!(invoices::refund),
            ],
        )
}
