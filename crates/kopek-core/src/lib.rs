//! Kopek's use cases: one function per business action, beneath every caller (the
//! REST families, gRPC, the pages, and what is to come: a scheduler, webhooks,
//! payment notifications, bank statements, a console). Each takes typed input,
//! applies the domain's rules in one transaction through [`write::Write`] (which
//! also keeps idempotency), writes its events and returns typed results or the
//! domain error. Nothing here knows HTTP or any wire format.

pub mod access;
pub mod acquiring;
pub mod audit;
pub mod auth;
pub mod bank_statements;
pub mod billing_accounts;
pub mod catalog;
pub mod closing;
pub mod cpu;
pub mod customers;
pub mod events;
pub mod invitations;
pub mod invoices;
mod letter;
pub mod licenses;
pub mod limits;
pub mod operations;
pub mod operator;
pub mod operators;
pub mod organizations;
pub mod overview;
pub mod paging;
pub mod reconciliation;
pub mod sessions;
pub mod subscriptions;
pub mod test_cards;
pub mod test_clock;
pub mod users;
pub mod webhooks;
pub mod write;

use kopek_domain::time::Timestamp;
use kopek_store::Store;
use std::sync::Arc;

/// What the use cases need from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SHA-256 of `KOPEK_ADMIN_TOKEN`, when one is configured.
    pub admin_token_hash: Option<String>,
    /// The absolute base of links Kopek hands out (`KOPEK_PUBLIC_URL`).
    pub public_url: String,
    /// How long an invitation link works.
    pub invitation_ttl_seconds: i64,
    /// The user types an outside billing system may give (`KOPEK_USER_TYPES`).
    pub user_types: Vec<String>,
    /// The template of invoice numbers, e.g. `{year}-{seq:06}`.
    pub invoice_number_format: String,
    /// When set, the time invoices, payments and licenses are dated with (tests and
    /// demos that need a particular day, such as the VAT change on 2026-01-01); in
    /// test mode the test clock moves on from it.
    pub fixed_time: Option<Timestamp>,
    /// Writes per minute with one API key (0: no limit).
    pub writes_per_minute: u32,
    /// How long a webhook delivery is retried before it is given up
    /// (`KOPEK_WEBHOOK_RETRY_HOURS`, 72 by default).
    pub webhook_retry_seconds: i64,
    /// Seconds before the first retry (`KOPEK_WEBHOOK_FIRST_RETRY_SECONDS`, 5).
    pub webhook_first_retry_seconds: i64,
    /// Whether webhook URLs may be `http` or name loopback and private addresses
    /// (`KOPEK_WEBHOOK_ALLOW_PRIVATE`; tests and on-premises installs).
    pub webhook_allow_private: bool,
    /// Who is told when an endpoint is disabled (`KOPEK_OPERATOR_EMAIL`).
    pub operator_email: Option<String>,
    /// How long before a period's end its renewal invoice is issued
    /// (`KOPEK_RENEWAL_LEAD_DAYS`, 7 by default).
    pub renewal_lead_seconds: i64,
    /// How long a subscription whose period ended unpaid stays past due before it
    /// expires (`KOPEK_GRACE_DAYS`, 3 by default).
    pub grace_seconds: i64,
    /// Whether the test clock may be moved (`KOPEK_TEST_MODE`).
    pub test_mode: bool,
    /// The seller closing documents name (`KOPEK_SELLER_*`).
    pub closing_seller: kopek_domain::closing::Party,
}

/// The core of one server: the store, the settings, and what is kept between calls.
#[derive(Clone)]
pub struct Core {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub catalog: Arc<catalog::CatalogCache>,
    pub writes: Arc<limits::RateLimit>,
    /// How event subjects look in their API (see [`events::Render`]).
    pub views: Arc<dyn events::Render>,
    /// How far the test clock is ahead of the real time, in microseconds (always 0
    /// outside test mode).
    pub clock_offset: Arc<std::sync::atomic::AtomicI64>,
    /// The license-signing keys, parsed (see [`licenses`]).
    pub license_keys: Arc<licenses::KeyCache>,
    /// The card acquirer buyers are sent to (`KOPEK_PAYMENT_PROVIDER=yookassa`);
    /// none in test mode, where the hosted page takes test cards itself.
    pub acquirer: Option<Arc<dyn acquiring::Acquirer>>,
}

impl Core {
    pub fn new(store: Store, settings: Settings, views: Arc<dyn events::Render>) -> Core {
        Core {
            store,
            views,
            writes: Arc::new(limits::RateLimit::new(settings.writes_per_minute)),
            settings: Arc::new(settings),
            catalog: Arc::default(),
            clock_offset: Arc::default(),
            license_keys: Arc::default(),
            acquirer: None,
        }
    }

    /// The core with `acquirer` taking card payments.
    pub fn with_acquirer(mut self, acquirer: Arc<dyn acquiring::Acquirer>) -> Core {
        self.acquirer = Some(acquirer);
        self
    }

    /// The time business records are dated with: now (moved on by the test clock),
    /// unless the settings fix it.
    pub fn now(&self) -> Timestamp {
        // The test clock moves from the fixed time, when one is set.
        let base = self.settings.fixed_time.unwrap_or_else(Timestamp::now);
        let offset = self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
        Timestamp::from_micros(base.micros().saturating_add(offset))
    }

    /// The write a request is: its idempotency key (if any) and the hash a repeat
    /// must match.
    pub fn write(&self, key: Option<String>, request_hash: String) -> write::Write {
        write::Write::new(self.store.clone(), self.writes.clone(), key, request_hash)
    }
}
