//! Family A: Yandex Cloud Billing (lowerCamelCase JSON, long-running Operations,
//! `google.rpc.Status` errors).

pub mod status;

pub use status::Yandex;
