//! Kopek's rules, free of I/O: identifiers, roles and tokens, time, money codes,
//! validated newtypes and the one error enum that every API family renders.

pub mod auth;
pub mod bank_statement;
pub mod card_payment;
pub mod catalog;
mod checked;
pub mod closing;
pub mod company;
pub mod contact;
pub mod customer;
pub mod error;
pub mod ids;
pub mod invoice;
pub mod lang;
pub mod license;
pub mod mac;
pub mod money;
pub mod paging;
pub mod password;
pub mod payment_qr;
pub mod reseller;
#[cfg(feature = "sqlx")]
pub mod sql;
pub mod subscription;
pub mod text;
pub mod time;
pub mod user;
pub mod vat;
pub mod webhook;
pub mod words;

pub use error::{Error, FieldError, Reason};
