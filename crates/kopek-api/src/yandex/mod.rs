//! Family A: Yandex Cloud Billing (lowerCamelCase JSON, long-running Operations,
//! `google.rpc.Status` errors).

pub mod billing_accounts;
pub mod customers;
pub mod operations;
pub mod status;
pub mod wire;

use crate::Routes;
use axum::routing::{get, post};

pub use status::Yandex;

pub fn routes() -> Routes {
    Routes::new()
        .route("/billing/v1/customers", get(customers::list))
        .route("/billing/v1/customers:invite", post(customers::invite))
        .route(
            "/billing/v1/customers:createResellerServedCustomer",
            post(customers::create_reseller_served),
        )
        .route(
            "/billing/v1/customers/{segment}",
            post(customers::customer_method),
        )
        .route(
            "/operations/{segment}",
            get(operations::get_or_cancel).post(operations::post_cancel),
        )
        .route("/billing/v1/billingAccounts", get(billing_accounts::list))
        .route(
            "/billing/v1/billingAccounts/{id}",
            get(billing_accounts::get),
        )
}
