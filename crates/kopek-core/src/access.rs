//! Who may act for an organization: everyone (an admin), one organization (its
//! key), or a user for the organizations the user is a member of. Anyone else gets
//! `Forbidden` whether the organization exists or not, so ids cannot be probed.

use kopek_domain::Error;
use kopek_domain::ids::{OrganizationId, UserId};
use kopek_store::Conn;
use kopek_store::organizations::{self, Organization};

#[derive(Debug, Clone)]
pub enum OrgAccess {
    All,
    Organization(OrganizationId),
    User(UserId),
}

impl OrgAccess {
    /// Whether this caller may act for the organization (`Forbidden` if not).
    pub async fn check(&self, conn: &mut Conn, guid: &OrganizationId) -> Result<(), Error> {
        let allowed = match self {
            OrgAccess::All => true,
            OrgAccess::Organization(scope) => scope.as_str().eq_ignore_ascii_case(guid.as_str()),
            OrgAccess::User(id) => organizations::is_member(conn, guid, *id).await?,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The organization, if this caller may act for it.
    pub async fn organization(
        &self,
        conn: &mut Conn,
        guid: &OrganizationId,
    ) -> Result<Organization, Error> {
        self.check(&mut *conn, guid).await?;
        read_organization(conn, guid).await
    }

    /// The organization with the newest catalog version, in one round trip.
    pub async fn organization_and_catalog(
        &self,
        conn: &mut Conn,
        guid: &OrganizationId,
    ) -> Result<(Organization, Option<i64>), Error> {
        self.check(&mut *conn, guid).await?;
        organizations::get_with_catalog_version(conn, guid)
            .await?
            .ok_or_else(|| missing(guid))
    }
}

fn missing(guid: &OrganizationId) -> Error {
    Error::NotFound {
        what: "organization",
        id: guid.to_string(),
    }
}

/// The organization, or `NotFound`; for a caller already [checked](OrgAccess::check).
pub async fn read_organization(
    conn: &mut Conn,
    guid: &OrganizationId,
) -> Result<Organization, Error> {
    organizations::get(conn, guid)
        .await?
        .ok_or_else(|| missing(guid))
}
