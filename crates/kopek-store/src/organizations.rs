//! Organizations (companies that buy subscriptions) and their member users.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, is_unique_violation, select};
use kopek_domain::Error;
use kopek_domain::company::{Company, Inn, Kpp};
use kopek_domain::contact::Email;
use kopek_domain::ids::{BillingAccountId, OrganizationId, UserId};
use kopek_domain::lang::Lang;
use kopek_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Organization {
    pub guid: OrganizationId,
    pub alias: String,
    #[sqlx(flatten, try_from = "CompanyColumns")]
    pub company: Company,
    /// The reseller billing account that serves the organization, if any.
    pub reseller_id: Option<BillingAccountId>,
    /// Who is mailed about renewals, if anyone.
    pub billing_email: Option<Email>,
    /// The language of those mails.
    pub language: Lang,
    /// The legal address its closing documents print.
    pub legal_address: Option<String>,
    /// Its participant id at its EDO operator, where its closing documents go.
    pub edo_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The buyer's details, kept in columns of their own.
#[derive(FromRow)]
struct CompanyColumns {
    company_name: String,
    inn: Inn,
    kpp: Option<Kpp>,
}

impl From<CompanyColumns> for Company {
    fn from(c: CompanyColumns) -> Company {
        Company {
            name: c.company_name,
            inn: c.inn,
            kpp: c.kpp,
        }
    }
}

impl Record for Organization {
    const TABLE: &'static str = "organizations";
    const COLUMNS: &'static str = "guid, alias, company_name, inn, kpp, reseller_id, billing_email, language, legal_address, \
         edo_id, created_at, updated_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.guid)
            .bind(&self.alias)
            .bind(&self.company.name)
            .bind(&self.company.inn)
            .bind(&self.company.kpp)
            .bind(&self.reseller_id)
            .bind(&self.billing_email)
            .bind(self.language)
            .bind(&self.legal_address)
            .bind(&self.edo_id)
            .bind(self.created_at)
            .bind(self.updated_at)
    }
}

/// Inserts an organization; a taken alias is `AlreadyExists`.
pub async fn insert(conn: &mut Conn, org: &Organization) -> Result<(), Error> {
    match crate::db::insert(conn, org, &[]).await {
        Ok(()) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "organization alias",
            id: org.alias.clone(),
        }),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

/// Guids are kept in lowercase; a lookup finds one written in either case.
fn key(guid: &OrganizationId) -> String {
    guid.as_str().to_ascii_lowercase()
}

pub async fn get(conn: &mut Conn, guid: &OrganizationId) -> Result<Option<Organization>, Error> {
    crate::db::by_key(conn, key(guid)).await
}

/// The organizations among `guids` (those that exist), in no particular order.
pub async fn get_many(
    conn: &mut Conn,
    guids: &[&OrganizationId],
) -> Result<Vec<Organization>, Error> {
    let keys: Vec<String> = guids.iter().map(|g| key(g)).collect();
    crate::db::where_in(conn, "guid", &keys, "").await
}

/// The organization and, in the same round trip, the newest catalog version (None
/// before any catalog): what create-invoice needs before it prices anything.
pub async fn get_with_catalog_version(
    conn: &mut Conn,
    guid: &OrganizationId,
) -> Result<Option<(Organization, Option<i64>)>, Error> {
    let row: Option<AnyRow> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, (SELECT MAX(version) FROM catalog_versions) AS catalog_version \
         FROM organizations WHERE guid = $1",
        Organization::COLUMNS
    )))
    .bind(key(guid))
    .fetch_optional(conn)
    .await
    .db()?;
    row.map(|row| {
        Ok((
            Organization::from_row(&row).db()?,
            row.try_get("catalog_version").db()?,
        ))
    })
    .transpose()
}

/// Writes the billing contact, the language of its mails and the details its
/// closing documents need.
pub async fn save_billing_contact(conn: &mut Conn, org: &Organization) -> Result<(), Error> {
    sqlx::query(
        "UPDATE organizations SET billing_email = $1, language = $2, legal_address = $3, \
         edo_id = $4, updated_at = $5 WHERE guid = $6",
    )
    .bind(&org.billing_email)
    .bind(org.language)
    .bind(&org.legal_address)
    .bind(&org.edo_id)
    .bind(org.updated_at)
    .bind(&org.guid)
    .run(conn)
    .await
}

/// One page of organizations in guid order, after `after`.
pub async fn list(
    conn: &mut Conn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, Error> {
    sqlx::query_as(select::<Organization>(
        "WHERE guid > $1 ORDER BY guid LIMIT $2",
    ))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Makes a user a member; adding twice changes nothing.
/// Organizations whose INN or alias is `text`, or whose name contains it
/// (case folded as the database folds it: all of Unicode on PostgreSQL, ASCII on
/// SQLite), in guid order after `after`.
pub async fn search(
    conn: &mut Conn,
    text: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, Error> {
    sqlx::query_as(select::<Organization>(
        "WHERE guid > $1 AND (inn = $2 OR alias = $2 OR \
         LOWER(company_name) LIKE LOWER($3) ESCAPE '\\') ORDER BY guid LIMIT $4",
    ))
    .bind(after.unwrap_or(""))
    .bind(text)
    .bind(crate::db::containing(text))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

pub async fn add_member(
    conn: &mut Conn,
    guid: &OrganizationId,
    user_id: UserId,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO organization_members (organization_guid, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_guid, user_id) DO NOTHING",
    )
    .bind(guid)
    .bind(user_id)
    .bind(now)
    .run(conn)
    .await
}

pub async fn members(conn: &mut Conn, guid: &OrganizationId) -> Result<Vec<UserId>, Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM organization_members WHERE organization_guid = $1 ORDER BY user_id",
    )
    .bind(guid)
    .fetch_all(conn)
    .await
    .db()
}

pub async fn is_member(
    conn: &mut Conn,
    guid: &OrganizationId,
    user_id: UserId,
) -> Result<bool, Error> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM organization_members WHERE organization_guid = $1 AND user_id = $2",
    )
    .bind(key(guid))
    .bind(user_id)
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(row.is_some())
}
