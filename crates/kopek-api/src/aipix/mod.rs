//! Family C: AIPIX VMS Billing (Laravel-style JSON and validation errors).

pub mod error;

pub use error::Aipix;
