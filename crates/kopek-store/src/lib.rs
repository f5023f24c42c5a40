//! Kopek's storage: one [`Store`] over sqlx's `Any` driver, so the same portable SQL
//! runs on SQLite (the embedded default) and PostgreSQL (for scale-out). Where the
//! backends need different statements, the branch stays small and lives here.

pub mod api_keys;
pub mod audit;
pub mod bank_statements;
pub mod billing_accounts;
pub mod card_payments;
pub mod catalog;
pub mod closing_documents;
pub mod customers;
mod db;
pub mod event_chain;
pub mod events;
pub mod idempotency;
pub mod invitations;
pub mod invoices;
pub mod license_tokens;
pub mod operations;
pub mod operators;
pub mod organizations;
pub mod outbox;
pub mod reconciliation;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod test_clock;
pub mod users;
pub mod webhooks;
mod writer;

pub use db::{
    Backend, Conn, DbResult, OpenError, SqliteSynchronous, Store, StoreOptions, Tx,
    inspect_sqlite_copy, newest_migration, next_value, next_values, redact_url, savepoint,
    schema_fingerprint,
};
