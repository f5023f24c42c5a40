//! Reading invoices: an organization's listing and one invoice, each scoped to what
//! the caller may see; the operator's look-up; the invoice a payment link opens.

use crate::Core;
use crate::access::{OrgAccess, read_organization};
use crate::paging::{PageQuery, bad_token, open_token, seal_token};
use kopek_domain::Error;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::paging::check_link_token;
use kopek_domain::time::Timestamp;
use kopek_store::invoices::{self, Filter, Invoice, License, Payment};

/// Which page of an organization's invoices to read.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub filter: Filter,
    pub oldest_first: bool,
    /// Already checked to be within the family's bounds.
    pub per_page: i64,
    /// Kopek keeps no archive, so a listing of archived invoices is always empty.
    pub archived_only: bool,
    /// Also count every matching invoice (a scan).
    pub with_total: bool,
    pub page_token: Option<String>,
}

#[derive(Debug)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    /// 1 for the first page.
    pub page_number: i64,
    pub next_page_token: Option<String>,
    /// When asked for: how many invoices match.
    pub total: Option<i64>,
}

impl Listing {
    /// A token is good only for the listing (organization, filters, order, size) it
    /// came from.
    fn context(&self, organization: &OrganizationId) -> String {
        let f = &self.filter;
        let micros = |t: Option<Timestamp>| t.map(Timestamp::micros);
        format!(
            "invoices:{}:{:?}:{}:{}",
            organization.as_str().to_ascii_lowercase(),
            [
                micros(f.created_from),
                micros(f.created_to),
                micros(f.updated_from),
                micros(f.updated_to)
            ],
            !self.oldest_first,
            self.per_page
        )
    }

    /// The page number and the last invoice of the previous page.
    fn resume(
        &self,
        key: &[u8],
        context: &str,
    ) -> Result<(i64, Option<(Timestamp, String)>), Error> {
        let Some(token) = self.page_token.as_deref().filter(|t| !t.is_empty()) else {
            return Ok((1, None));
        };
        let cursor = open_token(key, context, token, "page_token")?;
        let bad = || bad_token("page_token");
        let mut parts = cursor.splitn(3, '|');
        let page: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let at: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let guid = parts.next().ok_or_else(bad)?.to_owned();
        Ok((page, Some((Timestamp::from_micros(at), guid))))
    }
}

/// A page of the organization's invoices, newest first unless asked otherwise.
pub async fn list(
    core: &Core,
    access: &OrgAccess,
    organization: &OrganizationId,
    listing: &Listing,
) -> Result<InvoicePage, Error> {
    let key = core.store.page_key();
    let context = listing.context(organization);
    let (page_number, after) = listing.resume(key, &context)?;
    let organization = OrganizationId::from(organization.as_str().to_ascii_lowercase());
    let mut conn = core.store.conn().await?;
    access.check(&mut conn, &organization).await?;
    let per_page = listing.per_page;
    let mut rows = if listing.archived_only {
        Vec::new()
    } else {
        invoices::list(
            &mut conn,
            &organization,
            &listing.filter,
            !listing.oldest_first,
            after,
            per_page + 1,
        )
        .await?
    };
    // Invoices reference their organization, so only an empty page leaves open
    // whether it exists: the organization is read for that case alone.
    if rows.is_empty() {
        read_organization(&mut conn, &organization).await?;
    }
    let total = match (listing.with_total, listing.archived_only) {
        (false, _) => None,
        (true, true) => Some(0),
        (true, false) => Some(invoices::count(&mut conn, &organization, &listing.filter).await?),
    };
    let next_page_token = if rows.len() as i64 > per_page {
        rows.truncate(per_page as usize);
        rows.last().map(|last| {
            let cursor = format!(
                "{}|{}|{}",
                page_number + 1,
                last.created_at.micros(),
                last.guid
            );
            seal_token(key, &context, &cursor)
        })
    } else {
        None
    };
    Ok(InvoicePage {
        invoices: rows,
        page_number,
        next_page_token,
        total,
    })
}

/// One invoice of the organization; `NotFound` for another organization's.
pub async fn get_of(
    core: &Core,
    access: &OrgAccess,
    organization: &OrganizationId,
    guid: &InvoiceId,
) -> Result<Invoice, Error> {
    let mut conn = core.store.conn().await?;
    let org = access.organization(&mut conn, organization).await?;
    invoices::get(&mut conn, guid)
        .await?
        .filter(|inv| inv.organization_guid == org.guid)
        .ok_or_else(|| missing(guid))
}

/// Any invoice, for the operator.
pub async fn get(core: &Core, guid: &InvoiceId) -> Result<Invoice, Error> {
    let mut conn = core.store.conn().await?;
    invoices::get(&mut conn, guid)
        .await?
        .ok_or_else(|| missing(guid))
}

/// The invoice a payment link opens, only with the link's own token; `None` for a
/// wrong token or an unknown invoice alike.
pub async fn linked(
    core: &Core,
    guid: &str,
    token: Option<&str>,
) -> Result<Option<Invoice>, Error> {
    if !token.is_some_and(|t| check_link_token(core.store.page_key(), guid, t)) {
        return Ok(None);
    }
    let mut conn = core.store.conn().await?;
    invoices::get(&mut conn, &guid.into()).await
}

/// The payments recorded for an invoice, oldest first.
pub async fn payments(core: &Core, guid: &InvoiceId) -> Result<Vec<Payment>, Error> {
    let mut conn = core.store.conn().await?;
    invoices::payments_of(&mut conn, guid).await
}

/// The organization's licenses, one per product it has paid for.
pub async fn licenses(
    core: &Core,
    access: &OrgAccess,
    organization: &OrganizationId,
) -> Result<Vec<License>, Error> {
    let mut conn = core.store.conn().await?;
    let org = access.organization(&mut conn, organization).await?;
    invoices::licenses(&mut conn, &org.guid).await
}

fn missing(guid: &InvoiceId) -> Error {
    Error::NotFound {
        what: "invoice",
        id: guid.to_string(),
    }
}

/// A page of the invoices of every organization the search matches, newest first
/// (the operator's console), and the next page's token (empty on the last page).
pub async fn search(
    core: &Core,
    search: &invoices::Search,
    query: &PageQuery,
) -> Result<(Vec<Invoice>, String), Error> {
    let key = core.store.page_key();
    let micros = |t: Option<Timestamp>| t.map(Timestamp::micros);
    let context = format!(
        "invoice-search:{:?}:{:?}:{:?}:{:?}:{:?}",
        search.status.map(|s| s.as_str()),
        search.organization.as_ref().map(|o| o.as_str()),
        search.number,
        micros(search.created_from),
        micros(search.created_to),
    );
    let page = query.page(key, context)?;
    let after = match page.after.as_deref() {
        None => None,
        Some(cursor) => {
            let (at, guid) = cursor
                .split_once('|')
                .and_then(|(at, guid)| Some((at.parse::<i64>().ok()?, guid)))
                .ok_or_else(|| bad_token("pageToken"))?;
            Some((Timestamp::from_micros(at), guid.to_owned()))
        }
    };
    let mut conn = core.store.conn().await?;
    let rows = invoices::search(&mut conn, search, after, page.fetch_limit()).await?;
    let mut rows: Vec<(String, Invoice)> = rows
        .into_iter()
        .map(|i| (format!("{}|{}", i.created_at.micros(), i.guid), i))
        .collect();
    let next = page.finish(key, &mut rows, |(cursor, _)| cursor);
    Ok((rows.into_iter().map(|(_, i)| i).collect(), next))
}
