//! Configuration: defaults, then `kopek.toml` (or the file `KOPEK_CONFIG` names),
//! then `KOPEK_*` environment variables.

use anyhow::Context;
use figment::Figment;
use figment::Provider;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only settings whose environment values are numbers or booleans; every other
/// value is taken as text exactly as written (a token `12345`, a BIK `044525225`).
const NUMBER_KEYS: &[&str] = &[
    "webhook_retry_hours",
    "renewal_lead_days",
    "grace_days",
    "webhook_first_retry_seconds",
    "webhook_allow_private",
    "test_mode",
    "db_max_connections",
    "db_wait_seconds",
    "invitation_ttl_days",
    "http_header_timeout_seconds",
    "http_idle_timeout_seconds",
    "http_body_timeout_seconds",
    "http_request_timeout_seconds",
    "http_max_connections",
    "shutdown_grace_seconds",
    "sign_in_per_minute",
    "writes_per_minute_per_key",
    "yookassa_tax_system_code",
    "yookassa_timeout_seconds",
];

/// Who takes card payments on the hosted invoice page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentProvider {
    /// Kopek's own test form and test cards; no money moves.
    Test,
    /// YooKassa: the buyer pays on YooKassa's page.
    Yookassa,
}

pub use kopek_store::SqliteSynchronous;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address of the HTTP listener.
    pub listen: String,
    /// Where the embedded SQLite database (and mail files) live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; the SQLite file in `data_dir` when unset.
    pub database_url: Option<String>,
    /// Size of the database connection pool; 8 on SQLite, 16 on PostgreSQL when unset.
    pub db_max_connections: Option<u32>,
    /// How long a request waits for the database (a PostgreSQL connection, SQLite's
    /// write lock held by another process) before it is answered 503.
    pub db_wait_seconds: u64,
    /// SQLite's `synchronous`: `full` (an acknowledged write survives a power loss)
    /// or `normal` (faster; the last writes before a power loss may be lost).
    pub sqlite_synchronous: SqliteSynchronous,
    /// A token accepted as admin, for bootstrap and scripts.
    pub admin_token: Option<String>,
    /// Absolute base of the links Kopek hands out; `http://<listen>` when unset.
    pub public_url: Option<String>,
    /// How many days an invitation link works.
    pub invitation_ttl_days: u32,
    /// `smtp://user:pass@host:587?tls=required` or `smtps://...`; when unset, mails
    /// are written as `.eml` files under `<data_dir>/mail`.
    pub smtp_url: Option<String>,
    /// The sender of Kopek's mails.
    pub mail_from: String,
    /// Comma-separated user types an outside billing system may give.
    pub user_types: String,
    /// A catalog file loaded at start (a new version only when it differs).
    pub catalog: Option<PathBuf>,
    /// The template of invoice numbers: `{year}` and `{seq}` or `{seq:N}`.
    pub invoice_number_format: String,
    /// An RFC 3339 time that invoices, payments and licenses are dated with
    /// instead of now; for tests and demos only.
    pub fixed_time: Option<String>,
    /// The seller printed on invoices (`KOPEK_SELLER_NAME`, `_INN`, `_KPP`,
    /// `_ADDRESS`, `_BANK`, `_BIK`, `_ACCOUNT`, `_CORRESPONDENT_ACCOUNT`).
    pub seller_name: String,
    pub seller_inn: String,
    pub seller_kpp: String,
    pub seller_address: String,
    pub seller_bank: String,
    pub seller_bik: String,
    pub seller_account: String,
    pub seller_correspondent_account: String,
    /// The seller on closing documents (УПД), beside the above: its participant
    /// id at its EDO operator (`KOPEK_SELLER_EDO_ID`), who signs them and as what
    /// (`_SIGNER_NAME`, "Фамилия Имя Отчество", and `_SIGNER_POSITION`), and
    /// whether it pays VAT (`_VAT_PAYER`, true by default; false prints «без НДС»).
    pub seller_edo_id: Option<String>,
    pub seller_signer_name: String,
    pub seller_signer_position: String,
    pub seller_vat_payer: bool,
    /// The secret payment providers sign callbacks with.
    pub payment_callback_secret: Option<String>,
    /// `test` or `yookassa`.
    pub payment_provider: PaymentProvider,
    /// The YooKassa shop's id and secret key (Basic auth of its API).
    pub yookassa_shop_id: Option<String>,
    pub yookassa_secret_key: Option<String>,
    /// The base of YooKassa's API (tests point it at a local double).
    pub yookassa_api_url: String,
    /// The shop's tax system for receipts (`tax_system_code`, 1 to 6), when the
    /// shop has more than one.
    pub yookassa_tax_system_code: Option<u8>,
    /// How long Kopek waits for YooKassa's answer before taking the outcome as
    /// unknown (and asking again later with the same key).
    pub yookassa_timeout_seconds: u64,
    /// Address of the gRPC listener; no gRPC when unset.
    pub grpc_listen: Option<String>,
    /// The `host:port` gRPC clients are told to use (ApiEndpointService); the
    /// listener's own address when unset. With TLS it must match the certificate.
    pub grpc_public_address: Option<String>,
    /// PEM certificate and key files for gRPC over TLS; plaintext when unset.
    pub grpc_tls_cert: Option<PathBuf>,
    pub grpc_tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request head, and how long a connection
    /// that sends nothing at all stays open.
    pub http_header_timeout_seconds: u64,
    /// How long a kept-alive connection with no request in flight stays open.
    pub http_idle_timeout_seconds: u64,
    /// The longest pause inside a request body.
    pub http_body_timeout_seconds: u64,
    /// The longest a request may take, head to response.
    pub http_request_timeout_seconds: u64,
    /// Open HTTP connections at most; more wait to be accepted. Keep it below the
    /// process's file descriptor limit (`ulimit -n`).
    pub http_max_connections: u32,
    /// How long a stop waits for requests in flight before dropping connections.
    pub shutdown_grace_seconds: u64,
    /// Sign-in requests per minute from one client address (0: no limit).
    pub sign_in_per_minute: u32,
    /// Writes per minute with one API key (0, the default: no limit).
    pub writes_per_minute_per_key: u32,
    /// This process's outbox worker name; a process restarted with the same name
    /// takes back at once the rows its previous run had leased. Defaults to the
    /// host name and HTTP port (random when the port is 0).
    pub worker_id: Option<String>,
    /// How many hours a webhook delivery is retried before it is given up, and how
    /// long an endpoint may fail everything before it is disabled.
    pub webhook_retry_hours: u32,
    /// Seconds before the first retry of a failed delivery; each next wait doubles
    /// (up to 6 hours), spread by a fifth either way.
    pub webhook_first_retry_seconds: u32,
    /// Whether webhook URLs may be `http://` and reach loopback and private
    /// addresses (tests and on-premises installs).
    pub webhook_allow_private: bool,
    /// Whether `POST /admin/v1/test-clock` may move Kopek's clock (tests and
    /// rehearsals, never production).
    pub test_mode: bool,
    /// How many days before a subscription's period ends its renewal invoice is
    /// issued.
    pub renewal_lead_days: u32,
    /// How many days after a period ends unpaid the subscription stays usable
    /// (past due) before it expires.
    pub grace_days: u32,
    /// Who is mailed when Kopek disables a webhook endpoint.
    pub operator_email: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `kopek=debug,sqlx=warn`.
    pub log: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "***"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "***"))
            .field(
                "payment_callback_secret",
                &self.payment_callback_secret.as_ref().map(|_| "***"),
            )
            .field("payment_provider", &self.payment_provider)
            .field(
                "yookassa_secret_key",
                &self.yookassa_secret_key.as_ref().map(|_| "***"),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./kopek-data"),
            database_url: None,
            db_max_connections: None,
            db_wait_seconds: 5,
            sqlite_synchronous: SqliteSynchronous::Full,
            admin_token: None,
            public_url: None,
            invitation_ttl_days: 7,
            smtp_url: None,
            mail_from: "Kopek <noreply@localhost>".to_owned(),
            user_types: "user".to_owned(),
            catalog: None,
            invoice_number_format: "{year}-{seq:06}".to_owned(),
            fixed_time: None,
            seller_name: String::new(),
            seller_inn: String::new(),
            seller_kpp: String::new(),
            seller_address: String::new(),
            seller_bank: String::new(),
            seller_bik: String::new(),
            seller_account: String::new(),
            seller_correspondent_account: String::new(),
            seller_edo_id: None,
            seller_signer_name: String::new(),
            seller_signer_position: String::new(),
            seller_vat_payer: true,
            payment_callback_secret: None,
            payment_provider: PaymentProvider::Test,
            yookassa_shop_id: None,
            yookassa_secret_key: None,
            yookassa_api_url: crate::yookassa::DEFAULT_API_URL.to_owned(),
            yookassa_tax_system_code: None,
            yookassa_timeout_seconds: 10,
            grpc_listen: None,
            grpc_public_address: None,
            grpc_tls_cert: None,
            grpc_tls_key: None,
            http_header_timeout_seconds: 10,
            http_idle_timeout_seconds: 60,
            http_body_timeout_seconds: 30,
            http_request_timeout_seconds: 60,
            http_max_connections: 1024,
            shutdown_grace_seconds: 30,
            sign_in_per_minute: 20,
            writes_per_minute_per_key: 0,
            worker_id: None,
            webhook_retry_hours: 72,
            webhook_first_retry_seconds: 5,
            webhook_allow_private: false,
            operator_email: None,
            renewal_lead_days: 7,
            grace_days: 3,
            test_mode: false,
            log_format: LogFormat::Text,
            log: "info,sqlx=warn".to_owned(),
        }
    }
}

impl Config {
    /// YooKassa needs its shop's keys, and they must look like YooKassa's.
    fn validate_yookassa(&self, file: Option<&Path>) -> Result<(), ConfigError> {
        let bad = |key: &str, value: &str, allowed: &str| {
            Err(ConfigError::invalid(key, value, allowed, file))
        };
        if let Err(why) = url::Url::parse(&self.yookassa_api_url)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                if matches!(u.scheme(), "http" | "https") {
                    Ok(())
                } else {
                    Err("not http(s)".to_owned())
                }
            })
        {
            return bad(
                "yookassa_api_url",
                &self.yookassa_api_url,
                &format!(
                    "an http(s) URL such as {} ({why})",
                    crate::yookassa::DEFAULT_API_URL
                ),
            );
        }
        if let Some(code) = self.yookassa_tax_system_code
            && !(1..=6).contains(&code)
        {
            return bad(
                "yookassa_tax_system_code",
                &code.to_string(),
                "YooKassa's tax system code, 1 to 6",
            );
        }
        if !(1..=120).contains(&self.yookassa_timeout_seconds) {
            return bad(
                "yookassa_timeout_seconds",
                &self.yookassa_timeout_seconds.to_string(),
                "a whole number of seconds from 1 to 120",
            );
        }
        if self.payment_provider != PaymentProvider::Yookassa {
            return Ok(());
        }
        let shop = self.yookassa_shop_id.as_deref().unwrap_or_default();
        if shop.is_empty() || !shop.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                "yookassa_shop_id",
                shop,
                "the shop's id from YooKassa's dashboard (digits), required with payment_provider = yookassa",
            );
        }
        let secret = self.yookassa_secret_key.as_deref().unwrap_or_default();
        if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(
                "yookassa_secret_key",
                if secret.is_empty() { "" } else { "***" },
                "the shop's secret key (live_… or test_…), required with payment_provider = yookassa",
            );
        }
        Ok(())
    }

    /// The acquirer card payments go through, if not the test form.
    pub fn acquirer(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<dyn kopek_core::acquiring::Acquirer>>> {
        match self.payment_provider {
            PaymentProvider::Test => Ok(None),
            PaymentProvider::Yookassa => {
                Ok(Some(std::sync::Arc::new(crate::yookassa::YooKassa::new(
                    &self.yookassa_api_url,
                    self.yookassa_shop_id.as_deref().unwrap_or_default(),
                    self.yookassa_secret_key.as_deref().unwrap_or_default(),
                    self.yookassa_tax_system_code,
                    std::time::Duration::from_secs(self.yookassa_timeout_seconds),
                )?)))
            }
        }
    }

    /// The seller as closing documents record it.
    pub fn closing_seller(&self) -> kopek_domain::closing::Party {
        let set = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        kopek_domain::closing::Party {
            name: self.seller_name.clone(),
            inn: self.seller_inn.clone(),
            kpp: set(&self.seller_kpp),
            address: set(&self.seller_address),
            edo_id: self.seller_edo_id.as_deref().and_then(set),
            signer_name: set(&self.seller_signer_name),
            signer_position: set(&self.seller_signer_position),
            vat_payer: self.seller_vat_payer,
        }
    }

    pub fn seller(&self) -> kopek_api::Seller {
        kopek_api::Seller {
            name: self.seller_name.clone(),
            inn: self.seller_inn.clone(),
            kpp: self.seller_kpp.clone(),
            address: self.seller_address.clone(),
            bank: self.seller_bank.clone(),
            bik: self.seller_bik.clone(),
            account: self.seller_account.clone(),
            correspondent_account: self.seller_correspondent_account.clone(),
        }
    }

    /// `user_types` as a list, blanks dropped.
    pub fn user_type_list(&self) -> Vec<String> {
        self.user_types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Reads the configuration and checks every value. A file named by `--config`
    /// or `KOPEK_CONFIG` must exist; `kopek.toml` in the working directory is read
    /// when present. Unknown keys in the file are refused; unknown `KOPEK_*`
    /// variables are returned as warnings (the environment holds other programs'
    /// variables too).
    pub fn load(file: Option<PathBuf>) -> Result<(Config, Vec<String>), ConfigError> {
        let named = file.or_else(|| std::env::var_os("KOPEK_CONFIG").map(PathBuf::from));
        let file = match named {
            Some(path) if !path.is_file() => {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => Some(path),
            None => Some(PathBuf::from("kopek.toml")).filter(|p| p.is_file()),
        };
        let known = known_keys();
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &file {
            let toml = Toml::file_exact(path);
            let data = toml.data().map_err(|e| {
                ConfigError(format!("configuration file {}: {}", path.display(), e.kind))
            })?;
            for key in data.values().flat_map(|dict| dict.keys()) {
                if !known.contains(key) {
                    let hint = closest(key, &known)
                        .map(|k| format!(" (did you mean {k:?}?)"))
                        .unwrap_or_default();
                    return Err(ConfigError(format!(
                        "configuration file {}: unknown key {key:?}{hint}",
                        path.display(),
                    )));
                }
            }
            figment = figment.merge(toml);
        }
        let mut warnings = Vec::new();
        // figment would read `12345` in a variable as a number and `044525225` as
        // 44525225; only the numeric settings go through its parsing. An empty
        // variable counts as unset.
        let mut text = BTreeMap::new();
        for (name, value) in std::env::vars() {
            let Some(key) = name.strip_prefix("KOPEK_").map(str::to_ascii_lowercase) else {
                continue;
            };
            if key == "config" || value.is_empty() {
                continue;
            }
            if !known.contains(&key) {
                let hint = closest(&key, &known)
                    .map(|k| format!(" (did you mean KOPEK_{}?)", k.to_ascii_uppercase()))
                    .unwrap_or_default();
                warnings.push(format!("ignoring {name}: not a Kopek setting{hint}"));
                continue;
            }
            if !NUMBER_KEYS.contains(&key.as_str()) {
                text.insert(key, value);
            }
        }
        let numbers = Env::prefixed("KOPEK_")
            .only(NUMBER_KEYS)
            .filter(|k| !std::env::var(format!("KOPEK_{k}")).is_ok_and(|v| v.is_empty()));
        let config: Config = figment
            .merge(numbers)
            .merge(Serialized::defaults(text))
            .extract()
            .map_err(|e| extraction_error(e, file.as_deref()))?;
        config.validate(file.as_deref())?;
        Ok((config, warnings))
    }

    /// Checks what serde cannot: formats, ranges and settings that only make sense
    /// together.
    pub fn validate(&self, file: Option<&Path>) -> Result<(), ConfigError> {
        let bad = |key: &str, value: &str, allowed: &str| {
            Err(ConfigError::invalid(key, value, allowed, file))
        };
        let Some((host, port)) = self.listen.rsplit_once(':') else {
            return bad("listen", &self.listen, "host:port, e.g. 127.0.0.1:8080");
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return bad("listen", &self.listen, "host:port, e.g. 127.0.0.1:8080");
        }
        match &self.public_url {
            Some(url) => {
                if let Err(why) = check_public_url(url) {
                    return bad("public_url", url, why);
                }
            }
            None if is_unspecified(host) => {
                return Err(ConfigError(format!(
                    "{} = {:?} listens on every address, so links in mails and invoices would \
                     point to http://{}: set {} to the address people reach Kopek at, e.g. \
                     https://billing.example.com",
                    setting("listen", file),
                    self.listen,
                    self.listen,
                    setting("public_url", file)
                )));
            }
            None => {}
        }
        if let Some(url) = &self.database_url
            && !["sqlite:", "postgres:", "postgresql:"]
                .iter()
                .any(|s| url.starts_with(s))
        {
            return bad(
                "database_url",
                &kopek_store::redact_url(url),
                "sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE",
            );
        }
        if let Some(n) = self.db_max_connections
            && !(1..=1000).contains(&n)
        {
            return bad(
                "db_max_connections",
                &n.to_string(),
                "a whole number from 1 to 1000",
            );
        }
        for (key, value, range) in [
            ("db_wait_seconds", self.db_wait_seconds, 1..=600),
            (
                "http_header_timeout_seconds",
                self.http_header_timeout_seconds,
                1..=3600,
            ),
            (
                "http_body_timeout_seconds",
                self.http_body_timeout_seconds,
                1..=3600,
            ),
            (
                "http_request_timeout_seconds",
                self.http_request_timeout_seconds,
                1..=3600,
            ),
            (
                "http_max_connections",
                u64::from(self.http_max_connections),
                1..=1_000_000,
            ),
            (
                "shutdown_grace_seconds",
                self.shutdown_grace_seconds,
                0..=3600,
            ),
            (
                "sign_in_per_minute",
                u64::from(self.sign_in_per_minute),
                0..=1_000_000,
            ),
            (
                "writes_per_minute_per_key",
                u64::from(self.writes_per_minute_per_key),
                0..=1_000_000,
            ),
        ] {
            if !range.contains(&value) {
                return bad(
                    key,
                    &value.to_string(),
                    &format!("a whole number from {} to {}", range.start(), range.end()),
                );
            }
        }
        if !(1..=720).contains(&self.webhook_retry_hours) {
            return bad(
                "webhook_retry_hours",
                &self.webhook_retry_hours.to_string(),
                "a whole number of hours from 1 to 720",
            );
        }
        if !(1..=3600).contains(&self.webhook_first_retry_seconds) {
            return bad(
                "webhook_first_retry_seconds",
                &self.webhook_first_retry_seconds.to_string(),
                "a whole number of seconds from 1 to 3600",
            );
        }
        if !(1..=60).contains(&self.renewal_lead_days) {
            return bad(
                "renewal_lead_days",
                &self.renewal_lead_days.to_string(),
                "a whole number of days from 1 to 60",
            );
        }
        if self.grace_days > 60 {
            return bad(
                "grace_days",
                &self.grace_days.to_string(),
                "a whole number of days from 0 to 60",
            );
        }
        if let Some(email) = &self.operator_email
            && kopek_domain::contact::Email::parse("operator_email", email).is_err()
        {
            return bad("operator_email", email, "an e-mail address");
        }
        self.validate_yookassa(file)?;
        if !(1..=365).contains(&self.invitation_ttl_days) {
            return bad(
                "invitation_ttl_days",
                &self.invitation_ttl_days.to_string(),
                "a whole number of days from 1 to 365",
            );
        }
        if let Some(url) = &self.smtp_url
            && let Err(e) = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        {
            return bad(
                "smtp_url",
                &kopek_store::redact_url(url),
                &format!("smtp://USER:PASSWORD@HOST:587?tls=required or smtps://... ({e})"),
            );
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "mail_from",
                &self.mail_from,
                "a mailbox such as Kopek <billing@example.com>",
            );
        }
        if self.user_type_list().is_empty() {
            return bad(
                "user_types",
                &self.user_types,
                "a comma-separated list of user types, e.g. user,operator",
            );
        }
        if let Err(why) = kopek_domain::invoice::check_number_template(&self.invoice_number_format)
        {
            return bad("invoice_number_format", &self.invoice_number_format, &why);
        }
        if let Some(t) = &self.fixed_time
            && kopek_domain::time::Timestamp::parse_rfc3339(t).is_none()
        {
            return bad(
                "fixed_time",
                t,
                "an RFC 3339 time such as 2026-01-01T09:00:00Z",
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return bad(
                "log",
                &self.log,
                "a tracing filter such as info or kopek=debug,sqlx=warn",
            );
        }
        for (key, value, ok, allowed) in [
            (
                "seller_inn",
                &self.seller_inn,
                kopek_domain::company::Inn::parse("seller_inn", &self.seller_inn).is_ok(),
                "10 or 12 digits with valid check digits",
            ),
            (
                "seller_kpp",
                &self.seller_kpp,
                kopek_domain::company::Kpp::parse("seller_kpp", &self.seller_kpp).is_ok(),
                "9 characters: 4 digits, 2 digits or capital letters, 3 digits",
            ),
            (
                "seller_bik",
                &self.seller_bik,
                digits(&self.seller_bik, 9),
                "9 digits",
            ),
            (
                "seller_account",
                &self.seller_account,
                digits(&self.seller_account, 20),
                "20 digits",
            ),
            (
                "seller_correspondent_account",
                &self.seller_correspondent_account,
                digits(&self.seller_correspondent_account, 20),
                "20 digits",
            ),
        ] {
            if !value.is_empty() && !ok {
                return bad(key, value, allowed);
            }
        }
        if self.grpc_tls_cert.is_some() != self.grpc_tls_key.is_some() {
            return Err(ConfigError(format!(
                "set both {} and {}, or neither",
                setting("grpc_tls_cert", file),
                setting("grpc_tls_key", file)
            )));
        }
        Ok(())
    }

    /// The `KOPEK_SELLER_*` settings a bank-transfer invoice needs that are unset.
    pub fn missing_seller_settings(&self) -> Vec<&'static str> {
        self.seller().missing()
    }

    /// The database to open: the configured URL, or an SQLite file in the data
    /// directory. `create` makes the directory (and lets SQLite make the file);
    /// without it a missing SQLite database is an error.
    pub fn database_url(&self, create: bool) -> anyhow::Result<String> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None if create => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| {
                    format!(
                        "cannot create the data directory {}",
                        self.data_dir.display()
                    )
                })?;
                return Ok(format!(
                    "sqlite://{}?mode=rwc",
                    self.data_dir.join("kopek.db").display()
                ));
            }
            None => format!("sqlite://{}", self.data_dir.join("kopek.db").display()),
        };
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Ok(url);
        };
        if create {
            return Ok(url);
        }
        let path = rest.split('?').next().unwrap_or(rest);
        if !Path::new(path).is_file() {
            return Err(ConfigError(format!(
                "no database at {path}: run `kopek migrate` (or `kopek serve`) to create one, or \
                 point KOPEK_DATA_DIR or KOPEK_DATABASE_URL at the server's database"
            ))
            .into());
        }
        // Whatever mode the URL asks for, a command other than serve or migrate
        // never creates the file.
        Ok(format!("sqlite://{path}?mode=rw"))
    }
}

/// A configuration mistake: one line naming the setting, the value and what is
/// allowed. `kopek` exits with code 2 on it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    fn invalid(key: &str, value: &str, allowed: &str, file: Option<&Path>) -> ConfigError {
        ConfigError(format!(
            "{} = {value:?} is not valid: expected {allowed}",
            setting(key, file)
        ))
    }
}

/// Where a setting's value came from, as the operator wrote it: the environment
/// variable when it is set, otherwise the key in the file.
fn setting(key: &str, file: Option<&Path>) -> String {
    let env = format!("KOPEK_{}", key.to_ascii_uppercase());
    match (std::env::var_os(&env), file) {
        (Some(v), _) if !v.is_empty() => env,
        (_, Some(path)) => format!("{key} in {}", path.display()),
        _ => env,
    }
}

fn extraction_error(e: figment::Error, file: Option<&Path>) -> ConfigError {
    use figment::error::Kind;
    let key = e.path.join(".");
    let allowed = match &e.kind {
        Kind::UnknownVariant(_, expected) => format!("one of {}", expected.join(", ")),
        _ if NUMBER_KEYS.contains(&key.as_str()) => "a whole number".to_owned(),
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => expected.clone(),
        other => other.to_string(),
    };
    let value = match &e.kind {
        Kind::UnknownVariant(actual, _) => actual.clone(),
        _ => std::env::var(format!("KOPEK_{}", key.to_ascii_uppercase())).unwrap_or_default(),
    };
    ConfigError::invalid(&key, &value, &allowed, file)
}

fn known_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The known key one or two edits away from a mistyped one.
fn closest<'k>(key: &str, known: &'k [String]) -> Option<&'k String> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn is_unspecified(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

fn check_public_url(text: &str) -> Result<(), &'static str> {
    const ALLOWED: &str = "an absolute http:// or https:// URL without query or fragment, e.g. https://billing.example.com";
    let url = url::Url::parse(text).map_err(|_| ALLOWED)?;
    let host_ok = url.host_str().is_some_and(|h| !is_unspecified(h));
    if !matches!(url.scheme(), "http" | "https")
        || !host_ok
        || url.query().is_some()
        || url.fragment().is_some()
        || url.username() != ""
    {
        return Err(ALLOWED);
    }
    Ok(())
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kopek.toml",
                "listen = \"0.0.0.0:9000\"\nlog_format = \"json\"\n",
            )?;
            jail.set_env("KOPEK_LISTEN", "127.0.0.1:9999");
            jail.set_env("KOPEK_ADMIN_TOKEN", "12345");
            jail.set_env("KOPEK_SELLER_BIK", "044525225");
            jail.set_env("KOPEK_INVITATION_TTL_DAYS", "3");
            jail.set_env("KOPEK_DB_MAX_CONNECTIONS", "32");
            let (config, _) = Config::load(None).map_err(|e| format!("{e:#}"))?;
            assert_eq!(config.listen, "127.0.0.1:9999");
            assert_eq!(config.log_format, LogFormat::Json);
            assert_eq!(config.admin_token.as_deref(), Some("12345"));
            assert_eq!(config.seller_bik, "044525225");
            assert_eq!(config.invitation_ttl_days, 3);
            assert_eq!(config.db_max_connections, Some(32));
            assert!(!format!("{config:?}").contains("12345"));
            Ok(())
        });
    }
}
