//! Backups of the embedded SQLite database: `kopek backup` copies it while servers
//! run; `kopek restore` puts a copy in its place while none does. PostgreSQL has
//! its own tools for both (pg_dump, pg_restore, point-in-time recovery), which the
//! README describes.

use crate::config::{Config, ConfigError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The SQLite file a database URL names; `None` for PostgreSQL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// Held by every `kopek serve` on a SQLite database for as long as it runs (a
/// shared lock on a file beside the database), so that a restore can tell the
/// database is in use. SQLite's own locks cannot tell: a server between requests
/// holds none.
pub struct Serving {
    _lock: File,
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-serving");
    PathBuf::from(name)
}

impl Serving {
    pub fn take(database: &Path) -> anyhow::Result<Serving> {
        let path = lock_path(database);
        let file = File::create(&path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        file.lock_shared()
            .map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", path.display()))?;
        Ok(Serving { _lock: file })
    }
}

fn refused(message: String) -> anyhow::Error {
    ConfigError(message).into()
}

/// `kopek backup FILE`.
pub async fn back_up(config: &Config, target: &Path) -> anyhow::Result<()> {
    let url = config.database_url(false)?;
    let Some(database) = sqlite_file(&url) else {
        return Err(refused(postgres_says()));
    };
    if target.exists() {
        return Err(refused(format!(
            "{} exists: a backup is written to a new file",
            target.display()
        )));
    }
    let target_text = target
        .to_str()
        .ok_or_else(|| refused(format!("{}: not a UTF-8 path", target.display())))?;
    let store = crate::open_store(config, false).await?;
    let copied = store.back_up_into(target_text).await;
    store.close().await;
    copied.map_err(|e| {
        anyhow::anyhow!("backing up {}: {}", database.display(), crate::describe(&e))
    })?;
    File::open(target)?.sync_all()?;
    let size = std::fs::metadata(target)?.len();
    eprintln!(
        "backed up {} to {} ({size} bytes)",
        database.display(),
        target.display()
    );
    Ok(())
}

/// `kopek restore FILE`: the current database (if any) is kept beside it under a
/// new name, never deleted.
pub async fn restore(config: &Config, source: &Path) -> anyhow::Result<()> {
    let url = config.database_url(true)?;
    let Some(database) = sqlite_file(&url) else {
        return Err(refused(postgres_says()));
    };
    check_copy(source).await?;
    let lock = File::create(lock_path(&database))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "a kopek server is using {}: stop it before restoring",
            database.display()
        );
    }
    let kept = if database.exists() {
        let stamp = chrono_stamp();
        let kept = suffixed(&database, &format!(".replaced-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let from = suffixed(&database, suffix);
            if from.exists() {
                std::fs::rename(&from, suffixed(&kept, suffix))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    let part = suffixed(&database, ".restoring");
    std::fs::copy(source, &part)?;
    File::open(&part)?.sync_all()?;
    std::fs::rename(&part, &database)?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    eprintln!("restored {} from {}", database.display(), source.display());
    if let Some(kept) = kept {
        eprintln!("the database it replaced is kept as {}", kept.display());
    }
    eprintln!("`kopek serve` brings its schema up to date if it is older");
    Ok(())
}

/// A copy is restored only if SQLite finds it whole and a kopek made it.
async fn check_copy(source: &Path) -> anyhow::Result<()> {
    if !source.is_file() {
        return Err(refused(format!("no backup at {}", source.display())));
    }
    let unusable =
        |why: String| refused(format!("{} is not a kopek backup: {why}", source.display()));
    let newest = kopek_store::newest_migration();
    match kopek_store::inspect_sqlite_copy(source)
        .await
        .map_err(unusable)?
    {
        Some(v) if v <= newest => Ok(()),
        Some(v) => Err(unusable(format!(
            "its schema is at version {v}, newer than this kopek's {newest}"
        ))),
        None => Err(unusable("it has no kopek schema".to_owned())),
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The time now as `20261204T190512Z`, for file names.
fn chrono_stamp() -> String {
    kopek_domain::time::Timestamp::now()
        .rfc3339()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect::<String>()
        + "Z"
}

fn postgres_says() -> String {
    "kopek backup and restore are for the embedded SQLite database; back up PostgreSQL with \
     pg_dump and restore with pg_restore (README, \"Backups\")"
        .to_owned()
}
