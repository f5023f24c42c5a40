//! Organizations (companies that buy subscriptions): created by the operator,
//! optionally served by a reseller, with the users who may buy for them.

use crate::Core;
use crate::events::{self, Subject};
use crate::paging::PageQuery;
use crate::write::{Ran, Write};
use kopek_domain::auth::Principal;
use kopek_domain::company::Company;
use kopek_domain::contact::Email;
use kopek_domain::ids::{BillingAccountId, OrganizationId, UserId};
use kopek_domain::lang::Lang;
use kopek_domain::{Error, Reason};
use kopek_store::billing_accounts::{self, AccountKind};
use kopek_store::organizations::{self, Organization};
use kopek_store::users;
use serde::Serialize;

/// An organization as asked for, its fields already checked for form.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub alias: String,
    pub company: Company,
    /// The reseller billing account that serves it, which must exist.
    pub reseller_id: Option<BillingAccountId>,
    pub billing: BillingContact,
}

/// Who is mailed about an organization's renewals, and in which language; in an
/// update, an absent field is left as it is.
#[derive(Debug, Clone, Default)]
pub struct BillingContact {
    /// `Some(None)` removes the address.
    pub email: Option<Option<Email>>,
    pub language: Option<Lang>,
    /// The legal address closing documents print; `Some(None)` removes it.
    pub legal_address: Option<Option<String>>,
    /// The participant id at its EDO operator; `Some(None)` removes it.
    pub edo_id: Option<Option<String>>,
}

/// Creates an organization; a taken alias and an unknown reseller name their field.
pub async fn create<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    new: NewOrganization,
    status: u16,
    answer: impl FnOnce(&Organization) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let now = core.now();
            if let Some(r) = &new.reseller_id
                && billing_accounts::get(work.conn(), AccountKind::Reseller, r)
                    .await?
                    .is_none()
            {
                return Err(Error::field("resellerId", Reason::UnknownReference));
            }
            let org = Organization {
                guid: OrganizationId::generate(),
                alias: new.alias,
                company: new.company,
                reseller_id: new.reseller_id,
                billing_email: new.billing.email.flatten(),
                language: new.billing.language.unwrap_or(Lang::Ru),
                legal_address: new.billing.legal_address.flatten(),
                edo_id: new.billing.edo_id.flatten(),
                created_at: now,
                updated_at: now,
            };
            match organizations::insert(work.conn(), &org).await {
                Err(Error::AlreadyExists { .. }) => {
                    return Err(Error::field("alias", Reason::Taken));
                }
                other => other?,
            }
            let payload = serde_json::json!({ "organizationGuid": org.guid, "alias": org.alias });
            events::record(
                core,
                work.conn(),
                "organization.created",
                Subject::Organization(&org, &[]),
                &payload,
                now,
            )
            .await?;
            Ok(answer(&org))
        })
        .await
}

/// Makes the provisioned user with `login` a member of the organization; answers
/// with the organization and the ids of its members.
pub async fn add_member<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    guid: &OrganizationId,
    login: &str,
    status: u16,
    answer: impl FnOnce(&Organization, Vec<UserId>) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let org = organizations::get(work.conn(), guid)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: "organization",
                    id: guid.to_string(),
                })?;
            let user = users::find_live(work.conn(), login)
                .await?
                .ok_or_else(|| Error::field("login", Reason::UnknownReference))?;
            let now = core.now();
            organizations::add_member(work.conn(), &org.guid, user.id, now).await?;
            let members = organizations::members(work.conn(), &org.guid).await?;
            let payload =
                serde_json::json!({ "organizationGuid": org.guid, "userId": user.id.get() });
            events::record(
                core,
                work.conn(),
                "organization.member_added",
                Subject::Organization(&org, &members),
                &payload,
                now,
            )
            .await?;
            Ok(answer(&org, members))
        })
        .await
}

/// Sets who is mailed about the organization's renewals and in which language,
/// with an `organization.updated` event; answers with the organization and the ids
/// of its members.
pub async fn update_billing<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    guid: &OrganizationId,
    change: BillingContact,
    status: u16,
    answer: impl Fn(&Organization, Vec<UserId>) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let mut org = crate::access::read_organization(work.conn(), guid).await?;
            let members = organizations::members(work.conn(), &org.guid).await?;
            work.before(|| answer(&org, members.clone()))?;
            if let Some(email) = change.email {
                org.billing_email = email;
            }
            if let Some(language) = change.language {
                org.language = language;
            }
            if let Some(address) = change.legal_address {
                org.legal_address = address;
            }
            if let Some(edo_id) = change.edo_id {
                org.edo_id = edo_id;
            }
            org.updated_at = core.now();
            organizations::save_billing_contact(work.conn(), &org).await?;
            let payload = serde_json::json!({
                "organizationGuid": org.guid,
                "billingEmail": org.billing_email,
                "language": org.language.as_str(),
                "legalAddress": org.legal_address,
                "edoId": org.edo_id,
            });
            events::record(
                core,
                work.conn(),
                "organization.updated",
                Subject::Organization(&org, &members),
                &payload,
                org.updated_at,
            )
            .await?;
            Ok(answer(&org, members))
        })
        .await
}

/// An organization and its members.
pub async fn get(core: &Core, guid: &OrganizationId) -> Result<(Organization, Vec<UserId>), Error> {
    let mut conn = core.store.conn().await?;
    let org = crate::access::read_organization(&mut conn, guid).await?;
    let members = organizations::members(&mut conn, &org.guid).await?;
    Ok((org, members))
}

/// One page of organizations in guid order, each with its members, and the next
/// page's token (empty on the last).
pub async fn list(
    core: &Core,
    query: &PageQuery,
) -> Result<(Vec<(Organization, Vec<UserId>)>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, "organizations".to_owned())?;
    let mut conn = core.store.conn().await?;
    let mut rows =
        organizations::list(&mut conn, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(key, &mut rows, |o| o.guid.as_str());
    let mut items = Vec::with_capacity(rows.len());
    for org in rows {
        let members = organizations::members(&mut conn, &org.guid).await?;
        items.push((org, members));
    }
    Ok((items, next_page_token))
}

/// One page of the organizations a search finds (by INN, alias or a part of the
/// name; all when `text` is empty), in guid order, and the next page's token.
pub async fn search(
    core: &Core,
    text: &str,
    query: &PageQuery,
) -> Result<(Vec<Organization>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, format!("organizations?q={text}"))?;
    let mut conn = core.store.conn().await?;
    let after = page.after.as_deref();
    let mut rows = if text.is_empty() {
        organizations::list(&mut conn, after, page.fetch_limit()).await?
    } else {
        organizations::search(&mut conn, text, after, page.fetch_limit()).await?
    };
    let next_page_token = page.finish(key, &mut rows, |o| o.guid.as_str());
    Ok((rows, next_page_token))
}
