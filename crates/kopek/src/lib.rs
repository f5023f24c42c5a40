//! The Kopek server as a library, so the binary and the integration tests start it
//! the same way.

pub mod config;
pub mod mail;
pub mod telemetry;

use anyhow::Context;
use config::Config;
use kopek_api::{ApiConfig, AppState};
use kopek_domain::auth::hash_token;
use kopek_domain::time::Timestamp;
use kopek_store::outbox::Worker;
use kopek_store::{Store, StoreOptions, idempotency, invitations};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        url: config.database_url()?,
        max_connections: config.db_max_connections,
    };
    Store::open(&options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("opening the database")
}

/// A running server: its address, and the handle to stop it.
pub struct Server {
    pub addr: SocketAddr,
    pub store: Store,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds, migrates and starts serving, with the outbox worker beside it.
    pub async fn start(
        config: &Config,
        worker: impl FnOnce(Worker) -> Worker,
    ) -> anyhow::Result<Server> {
        let store = open_store(config).await?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let api_config = ApiConfig {
            admin_token_hash: config.admin_token.as_deref().map(hash_token),
            public_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            invitation_ttl_seconds: i64::from(config.invitation_ttl_days) * 24 * 60 * 60,
            user_types: config.user_type_list(),
        };
        let state = AppState::new(store.clone(), api_config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let app = kopek_api::router(state);
        let shutdown = CancellationToken::new();

        let http = {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
                {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            })
        };
        let mailer = mail::Mailer::new(
            config.smtp_url.as_deref(),
            config.data_dir.join("mail"),
            &config.mail_from,
        )?;
        let invitation_mailer = mail::InvitationMailer {
            store: store.clone(),
            mailer,
        };
        let built_in = Worker::new(store.clone())
            .with_handler(invitations::MAIL_KIND, Arc::new(invitation_mailer));
        let worker = tokio::spawn(worker(built_in).run(shutdown.clone()));
        let janitor = tokio::spawn(janitor(store.clone(), shutdown.clone()));
        tracing::info!(%addr, backend = ?store.backend(), "kopek listening");
        Ok(Server {
            addr,
            store,
            shutdown,
            tasks: vec![http, worker, janitor],
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
