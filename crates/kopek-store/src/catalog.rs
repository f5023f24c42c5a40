//! Catalog versions. Every replacement is a new version; invoices keep the version
//! (and so the prices) they were made with.

use crate::db::{Conn, DbResult, Statement, next_value};
use kopek_domain::Error;
use kopek_domain::catalog::Catalog;
use kopek_domain::sql::Json;
use kopek_domain::time::Timestamp;
use sha2::{Digest, Sha256};

/// The newest version and its catalog, if any was ever loaded.
pub async fn current(conn: &mut Conn) -> Result<Option<(i64, Catalog)>, Error> {
    let row: Option<(i64, Json<Catalog>)> = sqlx::query_as(
        "SELECT version, document FROM catalog_versions ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(row.map(|(version, document)| (version, document.0)))
}

pub async fn get(conn: &mut Conn, version: i64) -> Result<Option<Catalog>, Error> {
    let document: Option<Json<Catalog>> =
        sqlx::query_scalar("SELECT document FROM catalog_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(conn)
            .await
            .db()?;
    Ok(document.map(Catalog::from))
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
    let newest: Option<(i64, String)> = sqlx::query_as(
        "SELECT version, digest FROM catalog_versions ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    if let Some((version, newest_digest)) = newest
        && newest_digest == digest
    {
        return Ok((version, false));
    }
    let version = next_value(&mut *conn, "catalog").await?;
    sqlx::query("INSERT INTO catalog_versions (version, document, digest, created_at) VALUES ($1, $2, $3, $4)")
        .bind(version)
        .bind(document)
        .bind(digest)
        .bind(now)
        .run(conn)
        .await?;
    Ok((version, true))
}

/// The number of the newest version, without reading the document.
pub async fn current_version(conn: &mut Conn) -> Result<Option<i64>, Error> {
    sqlx::query_scalar("SELECT version FROM catalog_versions ORDER BY version DESC LIMIT 1")
        .fetch_optional(conn)
        .await
        .db()
}

/// Every version's number and when it was loaded, newest first.
pub async fn versions(conn: &mut Conn) -> Result<Vec<(i64, Timestamp)>, Error> {
    sqlx::query_as("SELECT version, created_at FROM catalog_versions ORDER BY version DESC")
        .fetch_all(conn)
        .await
        .db()
}
