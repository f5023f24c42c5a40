//! The operator API under `/admin/v1`: admin keys only, but for the event feed and
//! webhook endpoints, which reseller, organization and integration keys reach
//! within their own scope.

pub mod api_keys;
pub mod bank_statements;
pub mod catalog;
pub mod closing_documents;
pub mod error;
pub mod events;
pub mod invoices;
pub mod license_keys;
pub mod organizations;
pub mod resellers;
pub mod subscriptions;
pub mod test_clock;
pub mod users;
pub mod webhooks;

use crate::Routes;
use crate::routes::routes;
use axum::routing::{get, post};

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
        .api(routes!(organizations::get, organizations::update))
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
        .api(routes!(closing_documents::list))
        .api(routes!(closing_documents::reconciliation))
        .dispatch(
            "/admin/v1/closing-documents/{segment}",
            get(closing_documents::get),
            [
                routes!(closing_documents::get),
                routes!(closing_documents::pdf),
                routes!(closing_documents::xml),
            ],
        )
        .api(routes!(subscriptions::list))
        .dispatch(
            "/admin/v1/subscriptions/{segment}",
            get(subscriptions::get).post(subscriptions::action),
            [
                routes!(subscriptions::get),
                routes!(subscriptions::cancel),
                routes!(subscriptions::resume),
                routes!(subscriptions::change_plan),
            ],
        )
        .api(routes!(test_clock::get, test_clock::advance))
        .api(routes!(bank_statements::list, bank_statements::import))
        .api(routes!(bank_statements::get))
        .api(routes!(license_keys::list))
        .api(routes!(license_keys::rotate))
        .api(routes!(events::list))
        .api(routes!(webhooks::list, webhooks::create))
        .dispatch(
            "/admin/v1/webhook-endpoints/{segment}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete)
                .post(webhooks::endpoint_method),
            [
                routes!(webhooks::get),
                routes!(webhooks::update),
                routes!(webhooks::delete),
                routes!(webhooks::rotate_secret),
            ],
        )
        .dispatch(
            "/admin/v1/webhook-endpoints/{segment}/deliveries",
            get(webhooks::deliveries),
            [routes!(webhooks::deliveries)],
        )
        .dispatch(
            "/admin/v1/webhook-endpoints/{segment}/deliveries/{delivery}",
            post(webhooks::delivery_method),
            [routes!(webhooks::resend)],
        )
}
