//! Catalog versions. Every replacement is a new version; invoices keep the version
//! (and so the prices) they were made with.

use crate::db::{Conn, DbResult, next_value};
use kopek_domain::Error;
use kopek_domain::catalog::Catalog;
use kopek_domain::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::Row;

fn parse(document: &str) -> Result<Catalog, Error> {
    serde_json::from_str(document).map_err(Error::internal)
}

/// The newest version and its catalog, if any was ever loaded.
pub async fn current(conn: &mut Conn) -> Result<Option<(i64, Catalog)>, Error> {
    let row =
        sqlx::query("SELECT version, document FROM catalog_versions ORDER BY version DESC LIMIT 1")
            .fetch_optional(conn)
            .await
            .db()?;
    row.map(|row| {
        let document: String = row.try_get("document").db()?;
        Ok((row.try_get("version").db()?, parse(&document)?))
    })
    .transpose()
}

pub async fn get(conn: &mut Conn, version: i64) -> Result<Option<Catalog>, Error> {
    let row = sqlx::query("SELECT document FROM catalog_versions WHERE version = $1")
        .bind(version)
        .fetch_optional(conn)
        .await
        .db()?;
    row.map(|row| parse(&row.try_get::<String, _>("document").db()?))
        .transpose()
}

/// Stores `catalog` as the newest version, unless it equals the newest already;
/// returns the version in force and whether it is new.
pub async fn replace(
    conn: &mut Conn,
    catalog: &Catalog,
    now: Timestamp,
) -> Result<(i64, bool), Error> {
    let document = serde_json::to_string(catalog).map_err(Error::internal)?;
    let digest = hex::encode(Sha256::digest(document.as_bytes()));
    let newest =
        sqlx::query("SELECT version, digest FROM catalog_versions ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .db()?;
    if let Some(row) = newest
        && row.try_get::<String, _>("digest").db()? == digest
    {
        return Ok((row.try_get("version").db()?, false));
    }
    let version = next_value(&mut *conn, "catalog").await?;
    sqlx::query("INSERT INTO catalog_versions (version, document, digest, created_at) VALUES ($1, $2, $3, $4)")
        .bind(version)
        .bind(document)
        .bind(digest)
        .bind(now.micros())
        .execute(conn)
        .await
        .db()?;
    Ok((version, true))
}

/// The number of the newest version, without reading the document.
pub async fn current_version(conn: &mut Conn) -> Result<Option<i64>, Error> {
    let row = sqlx::query("SELECT version FROM catalog_versions ORDER BY version DESC LIMIT 1")
        .fetch_optional(conn)
        .await
        .db()?;
    row.map(|row| row.try_get("version").db()).transpose()
}
