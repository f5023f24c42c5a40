//! Family C: AIPIX VMS Billing (Laravel-style JSON and validation errors).

pub mod error;
pub mod request;
pub mod users;

use crate::Routes;
use crate::routes::routes;

pub use error::{Aipix, AipixDelete};

pub fn routes() -> Routes {
    Routes::new().api(routes!(users::create, users::update, users::delete))
}
