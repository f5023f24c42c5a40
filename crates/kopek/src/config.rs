//! Configuration: defaults, then `kopek.toml` (or the file `KOPEK_CONFIG` names),
//! then `KOPEK_*` environment variables.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The only settings whose environment values are numbers; every other value is
/// taken as text exactly as written (a token `12345`, a BIK `044525225`).
const NUMBER_KEYS: &[&str] = &["db_max_connections", "invitation_ttl_days"];

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
    /// The secret payment providers sign callbacks with.
    pub payment_callback_secret: Option<String>,
    /// Address of the gRPC listener; no gRPC when unset.
    pub grpc_listen: Option<String>,
    /// The `host:port` gRPC clients are told to use (ApiEndpointService); the
    /// listener's own address when unset. With TLS it must match the certificate.
    pub grpc_public_address: Option<String>,
    /// PEM certificate and key files for gRPC over TLS; plaintext when unset.
    pub grpc_tls_cert: Option<PathBuf>,
    pub grpc_tls_key: Option<PathBuf>,
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
            payment_callback_secret: None,
            grpc_listen: None,
            grpc_public_address: None,
            grpc_tls_cert: None,
            grpc_tls_key: None,
            log_format: LogFormat::Text,
            log: "info,sqlx=warn".to_owned(),
        }
    }
}

impl Config {
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

    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Config> {
        let file = file
            .or_else(|| std::env::var_os("KOPEK_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("kopek.toml"));
        // figment would read `12345` in a variable as a number and `044525225` as
        // 44525225; only the numeric settings go through its parsing.
        let text: BTreeMap<String, String> = std::env::vars()
            .filter_map(|(k, v)| Some((k.strip_prefix("KOPEK_")?.to_ascii_lowercase(), v)))
            .filter(|(k, _)| k != "config" && !NUMBER_KEYS.contains(&k.as_str()))
            .collect();
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(Env::prefixed("KOPEK_").only(NUMBER_KEYS))
            .merge(Serialized::defaults(text))
            .extract()
            .with_context(|| {
                format!(
                    "reading configuration ({} and KOPEK_* variables)",
                    file.display()
                )
            })
    }

    /// The database to open: the configured URL, or an SQLite file in the data
    /// directory, which is created on first start.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating data directory {}", self.data_dir.display()))?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("kopek.db").display()
        ))
    }
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
            let config = Config::load(None).map_err(|e| format!("{e:#}"))?;
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
