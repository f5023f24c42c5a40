//! Kopek's integration tests: one binary, every test against a spawned server on
//! both SQLite and PostgreSQL.

mod harness;
mod smtp;
mod users;

mod admin;
mod audit;
mod auth;
mod backups;
mod bank_statements;
mod browser;
mod cli;
mod closing;
mod connections;
mod console;
mod customers;
mod database;
mod errors;
mod idempotency;
mod licenses;
mod lifepos;
mod observability;
mod openapi;
mod outage;
mod outbox;
mod pages;
mod renewals;
mod schemathesis;
mod sdk;
mod security;
mod shutdown;
mod subscriptions;
mod text;
mod webhooks;
mod yookassa;
mod yookassa_double;
