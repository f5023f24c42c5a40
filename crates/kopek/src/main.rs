use anyhow::Context;
use clap::{Parser, Subcommand};
use kopek::Server;
use kopek::config::Config;
use kopek_domain::auth::KeySpec;
use kopek_domain::time::Timestamp;
use kopek_store::api_keys;
use std::path::PathBuf;

// glibc's allocator keeps what each thread's arena once held: after a burst of
// argon2 hashes (19 MiB each) on the blocking pool the server sat at ~750 MiB.
// mimalloc gives large blocks back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Kopek: a billing platform server.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Configuration file (default: kopek.toml, or KOPEK_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve HTTP until SIGTERM or Ctrl-C.
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// TLS helpers for the gRPC listener.
    #[command(subcommand)]
    Tls(TlsCommand),
}

#[derive(Subcommand)]
enum TlsCommand {
    /// Write a self-signed certificate and key (cert.pem, key.pem) for local use.
    SelfSigned {
        /// The host name clients connect to.
        #[arg(long, default_value = "localhost")]
        host: String,
        /// Where to write the files.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Issue a key and print its token (shown only this once).
    Create {
        #[arg(long)]
        role: String,
        /// The reseller billing account id or organization guid the key is bound to.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never their tokens).
    List,
    /// Revoke a key at once.
    Revoke { id: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config)?;
    kopek::telemetry::init(&config);
    match cli.command {
        Command::Serve => serve(&config).await,
        Command::Migrate => {
            let store = kopek::open_store(&config).await?;
            store.close().await;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::ApiKey(command) => api_key(&config, command).await,
        Command::Tls(TlsCommand::SelfSigned { host, dir }) => {
            let (cert, key) = kopek::self_signed(&host, &dir)?;
            eprintln!("wrote {} and {} for {host}", cert.display(), key.display());
            eprintln!(
                "serve with KOPEK_GRPC_TLS_CERT={} KOPEK_GRPC_TLS_KEY={}",
                cert.display(),
                key.display()
            );
            Ok(())
        }
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let server = Server::start(config, |worker| worker).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn api_key(config: &Config, command: ApiKeyCommand) -> anyhow::Result<()> {
    let store = kopek::open_store(config).await?;
    let fail = |e: kopek_domain::Error| kopek::describe(&e);
    match command {
        ApiKeyCommand::Create { role, scope, name } => {
            let spec = KeySpec::parse(Some(&role), scope, name).map_err(fail)?;
            let mut tx = store.begin().await.map_err(fail)?;
            let (key, token) = api_keys::issue(&mut tx, spec, Timestamp::now())
                .await
                .map_err(fail)?;
            tx.commit().await.context("saving the key")?;
            eprintln!(
                "key {} ({}) created; its token is shown only now:",
                key.id, key.role
            );
            println!("{}", token.expose());
        }
        ApiKeyCommand::List => {
            let mut conn = store.pool().acquire().await?;
            for key in api_keys::list(&mut conn).await.map_err(fail)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.role,
                    key.scope.as_deref().unwrap_or("-"),
                    if key.name.is_empty() { "-" } else { &key.name },
                    key.created_at.rfc3339(),
                    key.revoked_at
                        .map_or("active".to_owned(), |t| format!("revoked {}", t.rfc3339())),
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let mut conn = store.pool().acquire().await?;
            if !api_keys::revoke(&mut conn, &id, Timestamp::now())
                .await
                .map_err(fail)?
            {
                anyhow::bail!("no API key {id}");
            }
            eprintln!("key {id} revoked");
        }
    }
    store.close().await;
    Ok(())
}
