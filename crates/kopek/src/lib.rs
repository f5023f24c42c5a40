//! The Kopek server as a library, so the binary and the integration tests start it
//! the same way.

pub mod backup;
pub mod config;
pub mod http;
pub mod mail;
pub mod telemetry;
pub mod webhooks;
pub mod yookassa;

use anyhow::Context;
use config::Config;
use kopek_api::{ApiConfig, AppState};
use kopek_core::Settings;
use kopek_domain::auth::hash_token;
use kopek_domain::time::Timestamp;
use kopek_store::outbox::Worker;
use kopek_store::{Store, StoreOptions, idempotency, invitations};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Opens the configured database. `serve` and `migrate` create and migrate it
/// (`create`); every other command needs one that exists and is migrated, so that
/// running it in the wrong directory cannot make a new, empty database.
pub async fn open_store(config: &Config, create: bool) -> anyhow::Result<Store> {
    let url = config.database_url(create)?;
    let options = StoreOptions {
        url: url.clone(),
        max_connections: config.db_max_connections,
        wait: Duration::from_secs(config.db_wait_seconds),
        sqlite_synchronous: config.sqlite_synchronous,
    };
    let opened = if create {
        Store::open(&options).await
    } else {
        Store::open_existing(&options).await
    };
    opened.map_err(|e| anyhow::anyhow!("{}: {e}", database_name(&url)))
}

/// The database a URL names, for messages: the SQLite file, or the PostgreSQL URL
/// without its password.
pub fn database_name(url: &str) -> String {
    match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Some(rest) => format!("SQLite database {}", rest.split('?').next().unwrap_or(rest)),
        None => format!("PostgreSQL {}", kopek_store::redact_url(url)),
    }
}

/// A running server: its addresses, and the handle to stop it.
pub struct Server {
    pub addr: SocketAddr,
    /// The gRPC listener's address, when gRPC is on.
    pub grpc_addr: Option<SocketAddr>,
    pub store: Store,
    _serving: Option<backup::Serving>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds, migrates and starts serving, with the outbox worker beside it.
    pub async fn start(
        config: &Config,
        worker: impl FnOnce(Worker) -> Worker,
    ) -> anyhow::Result<Server> {
        let store = open_store(config, true).await?;
        let serving = backup::sqlite_file(&config.database_url(true)?)
            .map(|database| backup::Serving::take(&database))
            .transpose()?;
        if let Some(path) = &config.catalog {
            load_catalog(&store, path).await?;
        }
        kopek_domain::invoice::check_number_template(&config.invoice_number_format)
            .map_err(anyhow::Error::msg)?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let settings = core_settings(config, &addr.to_string())?;
        let api_config = ApiConfig {
            seller: config.seller(),
            payment_callback_secret: config.payment_callback_secret.clone(),
            sign_in_per_minute: config.sign_in_per_minute,
            body_timeout: Duration::from_secs(config.http_body_timeout_seconds),
            request_timeout: Duration::from_secs(config.http_request_timeout_seconds),
        };
        let mut state = AppState::new(store.clone(), settings, api_config)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(acquirer) = config.acquirer()? {
            let core = state.core_mut();
            *core = core.clone().with_acquirer(acquirer);
        }
        let state_core = state.core.clone();
        let app = kopek_api::router(state.clone());
        let shutdown = CancellationToken::new();

        let bounds = http::Bounds {
            header_timeout: Duration::from_secs(config.http_header_timeout_seconds),
            idle_timeout: Duration::from_secs(config.http_idle_timeout_seconds),
            max_connections: usize::try_from(config.http_max_connections).unwrap_or(usize::MAX),
            shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
        };
        let http = {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                http::serve(listener, app, bounds, stop).await;
            })
        };
        let mailer = mail::Mailer::new(
            config.smtp_url.as_deref(),
            config.data_dir.join("mail"),
            &config.mail_from,
        )?;
        let operator_mailer = mail::OperatorMailer {
            mailer: mailer.clone(),
        };
        let billing_mailer = mail::BillingMailer {
            mailer: mailer.clone(),
        };
        let closing_mailer = mail::ClosingMailer {
            core: state_core.clone(),
            mailer: mailer.clone(),
        };
        let invitation_mailer = mail::InvitationMailer {
            store: store.clone(),
            mailer,
        };
        let built_in = Worker::new(store.clone())
            .with_handler(invitations::MAIL_KIND, Arc::new(invitation_mailer))
            .with_handler(
                kopek_core::webhooks::OPERATOR_MAIL,
                Arc::new(operator_mailer),
            )
            .with_handler(
                kopek_core::subscriptions::BILLING_MAIL,
                Arc::new(billing_mailer),
            )
            .with_handler(kopek_core::closing::MAIL, Arc::new(closing_mailer));
        let built_in = match worker_id(config, addr) {
            Some(id) => built_in.with_id(id),
            None => built_in,
        };
        let grpc = start_grpc(config, state, &shutdown).await?;
        let grpc_addr = grpc.as_ref().map(|(addr, _)| *addr);
        let deliverer =
            webhooks::Deliverer::new(state_core.clone(), format!("{}-webhooks", built_in.id()))?;
        let worker = tokio::spawn(worker(built_in).run(shutdown.clone()));
        let webhook_worker = tokio::spawn(deliverer.run(shutdown.clone()));
        let janitor = tokio::spawn(janitor(store.clone(), shutdown.clone()));
        let scheduler = tokio::spawn(scheduler(state_core.clone(), shutdown.clone()));
        tracing::info!(%addr, backend = ?store.backend(), "kopek listening");
        first_steps(config, &store).await;
        let mut tasks = vec![http, worker, webhook_worker, janitor, scheduler];
        tasks.extend(grpc.map(|(_, task)| task));
        Ok(Server {
            addr,
            grpc_addr,
            store,
            _serving: serving,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting, lets requests in flight finish, stops the worker.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.store.close().await;
    }
}

/// The core over `store`, as the command line uses it (the server's comes with its
/// API state).
pub fn command_core(config: &Config, store: &Store) -> anyhow::Result<kopek_core::Core> {
    Ok(kopek_api::core(
        store.clone(),
        core_settings(config, &config.listen)?,
    ))
}

/// What the core's use cases take from the configuration; links are made from
/// `KOPEK_PUBLIC_URL`, or from `listen` (the address bound) without one.
pub fn core_settings(config: &Config, listen: &str) -> anyhow::Result<Settings> {
    let fixed_time = match &config.fixed_time {
        None => None,
        Some(t) => Some(
            Timestamp::parse_rfc3339(t)
                .with_context(|| format!("KOPEK_FIXED_TIME {t:?} is not RFC 3339"))?,
        ),
    };
    Ok(Settings {
        admin_token_hash: config.admin_token.as_deref().map(hash_token),
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}")),
        invitation_ttl_seconds: i64::from(config.invitation_ttl_days) * 24 * 60 * 60,
        user_types: config.user_type_list(),
        invoice_number_format: config.invoice_number_format.clone(),
        fixed_time,
        writes_per_minute: config.writes_per_minute_per_key,
        webhook_retry_seconds: i64::from(config.webhook_retry_hours) * 60 * 60,
        webhook_first_retry_seconds: i64::from(config.webhook_first_retry_seconds),
        webhook_allow_private: config.webhook_allow_private,
        operator_email: config.operator_email.clone(),
        renewal_lead_seconds: i64::from(config.renewal_lead_days) * 24 * 60 * 60,
        grace_seconds: i64::from(config.grace_days) * 24 * 60 * 60,
        test_mode: config.test_mode,
        closing_seller: config.closing_seller(),
    })
}

/// The outbox worker's name: configured, or this host and HTTP port, which a
/// restarted process keeps (none for a random port: a fresh name each start).
fn worker_id(config: &Config, addr: std::net::SocketAddr) -> Option<String> {
    if let Some(id) = &config.worker_id {
        return Some(id.clone());
    }
    let requested_port = config.listen.rsplit_once(':').map(|(_, port)| port);
    if requested_port == Some("0") {
        return None;
    }
    let host = hostname::get().ok()?.into_string().ok()?;
    Some(format!("{host}:{}", addr.port()))
}

/// What a new operator needs to hear once, at start: how to get an admin key when
/// there is none, and which seller settings bank-transfer invoices still lack.
async fn first_steps(config: &Config, store: &Store) {
    if config.admin_token.is_none() {
        let any_admin = match store.conn().await {
            Ok(mut conn) => kopek_store::api_keys::any_live_admin(&mut conn).await,
            Err(e) => Err(e),
        };
        if let Ok(false) = any_admin {
            tracing::warn!(
                "no admin key yet: create one with `kopek api-key create --role admin --name ops` \
                 (same directory or KOPEK_DATABASE_URL as this server), or restart with \
                 KOPEK_ADMIN_TOKEN=<a long random secret>"
            );
        }
    }
    let missing = config.missing_seller_settings();
    if !missing.is_empty() {
        tracing::warn!(
            missing = %missing.join(", "),
            "bank-transfer invoices say they cannot be paid until the seller's details are set"
        );
    }
    if !config.closing_seller().is_named() {
        tracing::info!(
            "closing documents are made but not mailed until KOPEK_SELLER_NAME and \
             KOPEK_SELLER_INN are set"
        );
    }
}

/// Starts the gRPC listener when `grpc_listen` is set.
async fn start_grpc(
    config: &Config,
    state: AppState,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let Some(listen) = &config.grpc_listen else {
        return Ok(None);
    };
    let tls = match (&config.grpc_tls_cert, &config.grpc_tls_key) {
        (Some(cert), Some(key)) => Some((
            std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?,
            std::fs::read(key).with_context(|| format!("reading {}", key.display()))?,
        )),
        (None, None) => None,
        _ => anyhow::bail!("set both KOPEK_GRPC_TLS_CERT and KOPEK_GRPC_TLS_KEY, or neither"),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding gRPC on {listen}"))?;
    let addr = listener.local_addr()?;
    // On loopback the name is localhost, as `kopek tls self-signed` writes it.
    let public = config.grpc_public_address.clone().unwrap_or_else(|| {
        if addr.ip().is_loopback() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        }
    });
    let secure = tls.is_some();
    let services = kopek_grpc::Services::new(state.core.clone(), public);
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = kopek_grpc::serve(listener, services, tls, stop.cancelled_owned()).await {
            tracing::error!(error = %e, "gRPC server failed");
        }
    });
    tracing::info!(%addr, tls = secure, "kopek gRPC listening");
    Ok(Some((addr, task)))
}

/// Writes a self-signed certificate for `host` (and its key) as PEM files, for
/// gRPC over TLS on a developer's machine.
pub fn self_signed(
    host: &str,
    dir: &std::path::Path,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let certified = rcgen::generate_simple_self_signed(vec![host.to_owned()])?;
    std::fs::create_dir_all(dir)?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    Ok((cert, key))
}

/// Loads a catalog file; a new version is made only when it differs from the one
/// in force, so restarts do not pile up versions.
pub async fn load_catalog(store: &Store, path: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read(path).with_context(|| format!("reading the catalog {}", path.display()))?;
    let catalog: kopek_domain::catalog::Catalog = kopek_api::body::parse(&text)
        .map_err(|e| describe(&e))
        .with_context(|| format!("the catalog {} is not valid", path.display()))?;
    let (version, created) = kopek_core::operator::replace_catalog_now(store, &catalog)
        .await
        .map_err(|e| describe(&e))
        .with_context(|| format!("the catalog {} is not valid", path.display()))?;
    tracing::info!(version, created, path = %path.display(), "catalog loaded");
    Ok(())
}

/// An error as an operator should read it: every failing field of a validation.
pub fn describe(e: &kopek_domain::Error) -> anyhow::Error {
    match e {
        kopek_domain::Error::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message(Default::default())))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Seals new events into their hash chain and moves subscriptions on as time
/// passes (renewal invoices, reminders, past due, expiry), every few seconds; a
/// pass that found a full batch is followed at once by the next.
async fn scheduler(core: kopek_core::Core, shutdown: CancellationToken) {
    loop {
        if let Err(e) = kopek_core::test_clock::refresh(&core).await {
            tracing::warn!(error = %e, "could not read the test clock");
        }
        if let Err(e) = kopek_core::audit::seal_events(&core).await {
            tracing::warn!(error = %e, "could not seal the events into their chain");
        }
        let closing_full = match kopek_core::closing::run_due(&core).await {
            Ok((issued, full)) => {
                if issued > 0 {
                    tracing::info!(issued, "closing documents issued");
                }
                full
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not issue closing documents");
                false
            }
        };
        let wait = match kopek_core::subscriptions::run_due(&core).await {
            Ok(pass) => {
                if pass.total() > 0 {
                    tracing::info!(
                        renewal_invoices = pass.renewal_invoices,
                        reminders = pass.reminders,
                        past_due = pass.past_due,
                        expired = pass.expired,
                        canceled = pass.canceled,
                        "subscriptions moved on"
                    );
                }
                if (pass.full && pass.total() > 0) || closing_full {
                    Duration::ZERO
                } else {
                    Duration::from_secs(2)
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler failed; trying again shortly");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Forgets expired idempotency keys now and then.
async fn janitor(store: Store, shutdown: CancellationToken) {
    loop {
        match store.pool().acquire().await {
            Ok(mut conn) => match idempotency::purge_expired(&mut conn, Timestamp::now()).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys forgotten"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
            },
            Err(e) => tracing::warn!(error = %e, "janitor could not reach the database"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
    }
}
