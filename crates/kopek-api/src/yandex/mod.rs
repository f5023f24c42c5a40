//! Family A: Yandex Cloud Billing (lowerCamelCase JSON, long-running Operations,
//! `google.rpc.Status` errors).

pub mod billing_accounts;
pub mod customers;
pub mod operations;
pub mod status;
pub mod wire;

use crate::Routes;
use crate::routes::routes;
use axum::routing::{get, post};

pub use status::Yandex;

pub fn routes() -> Routes {
    Routes::new()
        .api(routes!(customers::list))
        .api(routes!(customers::invite))
        .api(routes!(customers::create_reseller_served))
        .dispatch(
            "/billing/v1/customers/{segment}",
            post(customers::customer_method),
            [
                routes!(customers::activate),
                routes!(customers::suspend),
                routes!(customers::resend_invitation),
            ],
        )
        .dispatch(
            "/operations/{segment}",
            get(operations::get_or_cancel).post(operations::post_cancel),
            [routes!(operations::get), routes!(operations::cancel)],
        )
        .api(routes!(billing_accounts::list))
        .api(routes!(billing_accounts::get))
}
