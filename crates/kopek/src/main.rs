use clap::{Parser, Subcommand};
use kopek::Server;
use kopek::config::{Config, ConfigError};
use kopek_core::audit::Audit;
use kopek_core::operator;
use kopek_domain::auth::{KeySpec, OperatorRole, Principal, Role};
use kopek_domain::contact::Email;
use kopek_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Reconcile bank statements.
    #[command(subcommand, name = "bank-statement")]
    BankStatement(BankStatementCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the console's operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Copy the SQLite database to a new file, consistently, while servers run.
    Backup { file: PathBuf },
    /// Put a backup in place of the SQLite database (none of its servers may run;
    /// the database it replaces is kept beside it).
    Restore { file: PathBuf },
    /// Ask the server this configuration describes whether it is ready (GET
    /// /readyz on its listen address): exit 0 if so, 1 if not. For health checks
    /// where there is no curl, as in the container image.
    Ready,
}

#[derive(Subcommand)]
enum BankStatementCommand {
    /// Import a statement exported by the bank (1C exchange format): each incoming
    /// payment order that names an invoice of the payer for its total pays it; the
    /// others are listed. The same file again changes nothing.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Add an operator and print the one-time link (good for 24 hours) where they
    /// set their password.
    Create {
        #[arg(long)]
        email: String,
        /// `support` reads everything and changes nothing; `admin` also acts.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(OperatorRole::ALL.map(OperatorRole::as_str)))]
        role: String,
    },
    /// List operators.
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the audit log's hash chain and name every entry changed, removed or
    /// put in behind Kopek's back: exit 0 if the chain is whole, 1 if not.
    Verify,
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
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::as_str)))]
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

/// Exit codes: 0 done, 1 a failure (the database unreachable, a file unreadable),
/// 2 a mistake in the configuration or on the command line (as clap's own).
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, warnings) = match Config::load(cli.config) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e.into()),
    };
    kopek::telemetry::init(&config);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let outcome = match cli.command {
        Command::Serve => serve(&config).await,
        Command::Migrate => migrate(&config).await,
        Command::ApiKey(command) => api_key(&config, command).await,
        Command::Tls(TlsCommand::SelfSigned { host, dir }) => self_signed(&host, &dir),
        Command::BankStatement(BankStatementCommand::Import { file }) => {
            import_statement(&config, &file).await
        }
        Command::Audit(AuditCommand::Verify) => verify_audit(&config).await,
        Command::Operator(command) => operator_command(&config, command).await,
        Command::Backup { file } => kopek::backup::back_up(&config, &file).await,
        Command::Restore { file } => kopek::backup::restore(&config, &file).await,
        Command::Ready => ready(&config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// One line for the operator, never a backtrace.
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("kopek: {e:#}");
    if e.is::<ConfigError>() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = kopek::open_store(config, true).await?;
    store.close().await;
    eprintln!("{} is up to date", database(config, true)?);
    Ok(())
}

async fn ready(config: &Config) -> anyhow::Result<()> {
    let url = format!("http://{}/readyz", local_address(&config.listen));
    let answer = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(&url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{url}: {status} {}", body.trim());
    eprintln!("{url}: ready");
    Ok(())
}

/// The address to reach a listener on from this machine: a wildcard listener is
/// reached on loopback.
fn local_address(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.to_owned(),
    }
}

fn self_signed(host: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let (cert, key) = kopek::self_signed(host, dir)?;
    eprintln!("wrote {} and {} for {host}", cert.display(), key.display());
    eprintln!(
        "serve with KOPEK_GRPC_TLS_CERT={} KOPEK_GRPC_TLS_KEY={}",
        cert.display(),
        key.display()
    );
    Ok(())
}

/// The database the configuration names, for messages.
fn database(config: &Config, create: bool) -> anyhow::Result<String> {
    Ok(kopek::database_name(&config.database_url(create)?))
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

/// Opens an existing database for a command and says which one it is.
async fn existing_store(config: &Config) -> anyhow::Result<Store> {
    let store = kopek::open_store(config, false).await?;
    eprintln!("using {}", database(config, false)?);
    Ok(store)
}

async fn import_statement(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let store = existing_store(config).await?;
    let core = kopek::command_core(config, &store)?;
    let done = kopek_core::bank_statements::import(&core, "cli", &bytes)
        .await
        .map_err(|e| kopek::describe(&e))?;
    if done.repeated {
        eprintln!(
            "{} was imported before, as {}: nothing changed; this is what that import did",
            file.display(),
            done.statement.id
        );
    } else {
        eprintln!("imported {} as {}", file.display(), done.statement.id);
    }
    println!("LINE	NUMBER	DATE	AMOUNT	PAYER INN	OUTCOME	NOTE");
    for line in &done.lines {
        println!(
            "{}	{}	{}	{}	{}	{}	{}",
            line.file_line,
            line.number,
            line.order_date,
            line.amount,
            if line.payer_inn.is_empty() {
                "-"
            } else {
                &line.payer_inn
            },
            line.outcome.as_str(),
            line.note
        );
    }
    store.close().await;
    Ok(())
}

async fn operator_command(config: &Config, command: OperatorCommand) -> anyhow::Result<()> {
    let store = existing_store(config).await?;
    let core = kopek::command_core(config, &store)?;
    let fail = |e: kopek_domain::Error| kopek::describe(&e);
    match command {
        OperatorCommand::Create { email, role } => {
            let email = Email::parse("email", &email)
                .map_err(|_| ConfigError(format!("--email: {email:?} is not an e-mail address")))?;
            let role: OperatorRole = role.parse().map_err(|e: String| ConfigError(e))?;
            // Recorded in the audit log as the command line's doing.
            let write = core.write(None, String::new()).audited(Audit {
                address: None,
                action: "kopek operator create".to_owned(),
            });
            let caller = Principal {
                id: "kopek-cli".to_owned(),
                role: Role::Admin,
                scope: None,
            };
            let (operator, token) = kopek_core::operators::create(write, &caller, email, role)
                .await
                .map_err(fail)?;
            eprintln!(
                "operator {} ({}) created; the link to set a password, shown only now and \
                 good for 24 hours:",
                operator.email.as_str(),
                operator.role.as_str()
            );
            println!(
                "{}/console/setup?token={}",
                core.settings.public_url.trim_end_matches('/'),
                token.expose()
            );
        }
        OperatorCommand::List => {
            println!("ID\tEMAIL\tROLE\tCREATED\tSTATE");
            for o in kopek_core::operators::list(&core).await.map_err(fail)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    o.id,
                    o.email.as_str(),
                    o.role.as_str(),
                    o.created_at.rfc3339(),
                    o.disabled_at
                        .map_or("active".to_owned(), |t| format!("disabled {}", t.rfc3339()))
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn verify_audit(config: &Config) -> anyhow::Result<()> {
    let store = existing_store(config).await?;
    let core = kopek::command_core(config, &store)?;
    let log = kopek_core::audit::verify(&core)
        .await
        .map_err(|e| kopek::describe(&e))?;
    let events = kopek_core::audit::verify_events(&core)
        .await
        .map_err(|e| kopek::describe(&e))?;
    store.close().await;
    let mut broken = Vec::new();
    for (chain, verdict) in [("the audit log", &log), ("the event chain", &events)] {
        if verdict.breaks.is_empty() {
            println!(
                "{chain} is whole: {} entries, each linked to the one before",
                verdict.entries
            );
            continue;
        }
        for link in &verdict.breaks {
            println!("{chain}: {link}");
        }
        broken.push(format!(
            "{chain} is broken at entry {} ({} entries read; whole up to entry {})",
            verdict.breaks[0].seq(),
            verdict.entries,
            verdict.whole_to
        ));
    }
    if broken.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(broken.join("; "))
    }
}

async fn api_key(config: &Config, command: ApiKeyCommand) -> anyhow::Result<()> {
    let store = existing_store(config).await?;
    let invalid =
        |e: kopek_domain::Error| anyhow::Error::new(ConfigError(kopek::describe(&e).to_string()));
    let fail = |e: kopek_domain::Error| kopek::describe(&e);
    match command {
        ApiKeyCommand::Create { role, scope, name } => {
            let spec = KeySpec::parse(Some(&role), scope, name).map_err(invalid)?;
            let core = kopek::command_core(config, &store)?;
            let (key, token) = operator::issue_key_now(&core, spec).await.map_err(fail)?;
            eprintln!(
                "key {} ({}) created; its token is shown only now:",
                key.id, key.role
            );
            println!("{}", token.expose());
        }
        ApiKeyCommand::List => {
            let core = kopek::command_core(config, &store)?;
            println!("ID\tROLE\tSCOPE\tNAME\tCREATED\tSTATE");
            for key in operator::api_keys(&core).await.map_err(fail)? {
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
            let core = kopek::command_core(config, &store)?;
            match operator::revoke_key_now(&core, &id).await {
                Ok(_) => eprintln!("key {id} revoked"),
                Err(kopek_domain::Error::NotFound { .. }) => anyhow::bail!("no API key {id}"),
                Err(e) => return Err(fail(e)),
            }
        }
    }
    store.close().await;
    Ok(())
}
