//! Organizations (companies that buy subscriptions) and their member users.

use crate::db::{Conn, DbResult, is_unique_violation};
use kopek_domain::Error;
use kopek_domain::company::Company;
use kopek_domain::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub guid: String,
    pub alias: String,
    pub company: Company,
    /// The reseller billing account that serves the organization, if any.
    pub reseller_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "guid, alias, company_name, inn, kpp, reseller_id, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Organization, Error> {
    Ok(Organization {
        guid: row.try_get("guid").db()?,
        alias: row.try_get("alias").db()?,
        company: Company {
            name: row.try_get("company_name").db()?,
            inn: row.try_get("inn").db()?,
            kpp: row.try_get("kpp").db()?,
        },
        reseller_id: row.try_get("reseller_id").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").db()?),
    })
}

/// Inserts an organization; a taken alias is `AlreadyExists`.
pub async fn insert(conn: &mut Conn, org: &Organization) -> Result<(), Error> {
    let done = sqlx::query(
        "INSERT INTO organizations (guid, alias, company_name, inn, kpp, reseller_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&org.guid)
    .bind(&org.alias)
    .bind(&org.company.name)
    .bind(&org.company.inn)
    .bind(org.company.kpp.as_deref())
    .bind(org.reseller_id.as_deref())
    .bind(org.created_at.micros())
    .bind(org.updated_at.micros())
    .execute(conn)
    .await;
    match done {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "organization alias",
            id: org.alias.clone(),
        }),
        Err(e) => Err(Error::internal(e)),
    }
}

pub async fn get(conn: &mut Conn, guid: &str) -> Result<Option<Organization>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM organizations WHERE guid = $1"
    )))
    .bind(guid.to_ascii_lowercase())
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// The organization and, in the same round trip, the newest catalog version (None
/// before any catalog): what create-invoice needs before it prices anything.
pub async fn get_with_catalog_version(
    conn: &mut Conn,
    guid: &str,
) -> Result<Option<(Organization, Option<i64>)>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, (SELECT MAX(version) FROM catalog_versions) AS catalog_version \
         FROM organizations WHERE guid = $1"
    )))
    .bind(guid.to_ascii_lowercase())
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(|row| Ok((from_row(&row)?, row.try_get("catalog_version").db()?)))
        .transpose()
}

/// One page of organizations in guid order, after `after`.
pub async fn list(
    conn: &mut Conn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM organizations WHERE guid > $1 ORDER BY guid LIMIT $2"
    )))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(from_row).collect()
}

/// Makes a user a member; adding twice changes nothing.
pub async fn add_member(
    conn: &mut Conn,
    guid: &str,
    user_id: i64,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO organization_members (organization_guid, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_guid, user_id) DO NOTHING",
    )
    .bind(guid)
    .bind(user_id)
    .bind(now.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn members(conn: &mut Conn, guid: &str) -> Result<Vec<i64>, Error> {
    let rows = sqlx::query(
        "SELECT user_id FROM organization_members WHERE organization_guid = $1 ORDER BY user_id",
    )
    .bind(guid)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(|r| r.try_get("user_id").db()).collect()
}

pub async fn is_member(conn: &mut Conn, guid: &str, user_id: i64) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM organization_members WHERE organization_guid = $1 AND user_id = $2",
    )
    .bind(guid.to_ascii_lowercase())
    .bind(user_id)
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(row.is_some())
}
