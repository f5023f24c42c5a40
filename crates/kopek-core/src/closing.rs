//! Closing documents (УПД): scheduled in the transaction that records a
//! payment, issued by the scheduler when each part comes due, corrected (УКД)
//! when the invoice is refunded. However many processes run the scheduler, each
//! part is issued once: a process moves the schedule on from the part it read
//! (compare and set) in the transaction that inserts the document, under the
//! document's unique `(invoice, part, revision)`. Numbers come from a gapless
//! counter per year, taken in that transaction, as invoice numbers are.

mod mail;

pub use mail::{DocumentMail, MAIL};

use mail::Why;

use crate::Core;
use crate::events::{self, Subject};
use crate::paging::PageQuery;
use kopek_domain::closing::{self, Before, Line, Party, Schedule};
use kopek_domain::error::Violations;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::{InvoiceStatus, format_number};
use kopek_domain::time::{Timestamp, parse_day, ru_date};
use kopek_domain::vat;
use kopek_domain::{Error, Reason};
use kopek_store::Conn;
use kopek_store::closing_documents::{self as store, ClosingDocument, Filter};
use kopek_store::invoices::{self, Invoice};
use kopek_store::organizations::{self, Organization};
use serde_json::json;

/// How many due schedules one pass takes.
pub const BATCH: i64 = 100;

/// The template of closing document numbers: their own gapless sequence per year.
const NUMBER_FORMAT: &str = "{year}-{seq:06}";

/// Records what is to be documented of `invoice`, just paid for `[start, end)`,
/// as its product's closing schedule says, in the payment's transaction.
pub(crate) async fn schedule(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Result<(), Error> {
    let catalog = core.catalog.at(&mut *conn, invoice.catalog_version).await?;
    let schedule = catalog
        .product(&invoice.product_guid)
        .map(|p| p.closing)
        .unwrap_or_default();
    let parts = closing::parts(schedule, start, end, now);
    let Some(first) = parts.first() else {
        return Ok(());
    };
    store::schedule(
        conn,
        &store::Schedule {
            invoice_guid: invoice.guid.clone(),
            schedule: schedule.as_str().to_owned(),
            period_start: start,
            period_end: end,
            paid_at: now,
            parts: parts.len() as i64,
            next_part: 1,
            next_due: Some(first.due),
            created_at: now,
        },
    )
    .await
}

/// Issues the parts due by the core's present time; answers how many documents
/// were made and whether a whole batch was due (more may be waiting).
pub async fn run_due(core: &Core) -> Result<(usize, bool), Error> {
    let now = core.now();
    let due = {
        let mut conn = core.store.conn().await?;
        store::due(&mut conn, now, BATCH).await?
    };
    let full = due.len() as i64 >= BATCH;
    let mut issued = 0;
    for schedule in due {
        let invoice = schedule.invoice_guid.clone();
        let mut tx = core.store.begin().await?;
        match issue_next(core, &mut tx, schedule, now, None).await {
            Ok(true) => {
                tx.commit().await?;
                issued += 1;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, invoice = %invoice, "a closing document could not be issued");
            }
        }
    }
    Ok((issued, full))
}

/// The parts of a schedule's period, and the index of the next to issue.
fn pending(s: &store::Schedule) -> Result<(Vec<closing::Part>, usize), Error> {
    let kind = Schedule::parse(&s.schedule)
        .ok_or_else(|| Error::internal(format!("closing schedule {:?}", s.schedule)))?;
    let index = usize::try_from(s.next_part - 1).map_err(Error::internal)?;
    Ok((
        closing::parts(kind, s.period_start, s.period_end, s.paid_at),
        index,
    ))
}

/// Issues the schedule's next part; false when another process issued it first
/// or the invoice is no longer paid. With `cut` (a cancel now), a part whose
/// service runs past it is issued for the days rendered until then, dated that
/// day; its caller stops the schedule.
async fn issue_next(
    core: &Core,
    conn: &mut Conn,
    s: store::Schedule,
    now: Timestamp,
    cut: Option<Timestamp>,
) -> Result<bool, Error> {
    let (parts, index) = pending(&s)?;
    let Some(whole) = parts.get(index).copied() else {
        store::stop(conn, &s.invoice_guid).await?;
        return Ok(true);
    };
    let next_due = parts.get(index + 1).map(|p| p.due);
    if !store::advance(conn, &s.invoice_guid, s.next_part, next_due).await? {
        return Ok(false);
    }
    let (part, cut) = match cut {
        Some(at) if at < whole.end => {
            let part = closing::Part {
                end: closing::cut_end(whole.start, whole.end, at),
                rendered_on: at.date(),
                ..whole
            };
            (part, Some(at))
        }
        _ => (whole, None),
    };
    let invoice = invoices::get(&mut *conn, &s.invoice_guid)
        .await?
        .ok_or_else(|| Error::internal("a closing schedule without its invoice"))?;
    if invoice.status != InvoiceStatus::Paid {
        store::stop(conn, &s.invoice_guid).await?;
        return Ok(true);
    }
    let org = organization_of(conn, &invoice.organization_guid).await?;
    let seller = &core.settings.closing_seller;
    let kind = vat::kind_of(invoice.quote.vat_basis_points);
    let count = parts.len() as i64;
    let mut rate = 0;
    let lines: Vec<Line> = invoice
        .quote
        .positions
        .iter()
        .map(|p| {
            let share = closing::share(p.total.minor(), part.index, count);
            let amount = cut.map_or(share, |at| {
                closing::rendered(share, whole.start, whole.end, at)
            });
            let (vat, r) = closing::vat_of(amount, kind, part.rendered_on, seller.vat_payer);
            rate = r;
            Line {
                name: line_name(&p.name, &part),
                quantity: p.quantity,
                amount,
                vat,
                before: None,
            }
        })
        .collect();
    let doc = numbered(
        core,
        conn,
        Draft {
            kind: "upd",
            invoice: &invoice,
            buyer: buyer(&org),
            part: part.index,
            revision: 0,
            corrects: None,
            service: (part.start, part.end),
            issued_on: part.rendered_on,
            total: lines.iter().map(|l| l.amount).sum(),
            vat: lines.iter().map(|l| l.vat).sum(),
            vat_basis_points: rate,
            lines,
        },
        now,
    )
    .await?;
    announce(core, conn, &org, &doc, Why::Issued, now).await?;
    Ok(true)
}

/// A position's name with the span of service its part covers.
fn line_name(position: &str, part: &closing::Part) -> String {
    let last = closing::last_day(part.start, part.end);
    format!(
        "{position}: услуги за период {} – {}",
        ru_date(part.start.date()),
        ru_date(last)
    )
}

/// What refunding `invoice` does to its closing documents, in the refund's
/// transaction: no part is issued after it, and each part documented (and not
/// already corrected to nothing) gets a correction to nothing.
pub(crate) async fn on_refund(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    now: Timestamp,
) -> Result<(), Error> {
    store::stop(conn, &invoice.guid).await?;
    correct(core, conn, invoice, now, None).await
}

/// What the end of its service at `now` does to the closing documents of the
/// paid `invoice`, in the transaction that ended it.
/// Parts begun by then and not yet issued are issued now, the last for the days
/// rendered; no later part is issued; and a document issued for service past
/// `now` (a whole period documented at payment) gets a correction to the days
/// rendered. What was paid beyond that stays the buyer's advance, as the
/// reconciliation statement shows, until it is refunded.
async fn on_cancel(
    core: &Core,
    conn: &mut Conn,
    invoice: &InvoiceId,
    now: Timestamp,
) -> Result<(), Error> {
    let Some(invoice) = invoices::get(&mut *conn, invoice).await? else {
        return Ok(());
    };
    if invoice.status != InvoiceStatus::Paid {
        return Ok(());
    }
    while let Some(s) = store::schedule_of(&mut *conn, &invoice.guid).await? {
        let (parts, index) = pending(&s)?;
        let begun = parts.get(index).is_some_and(|p| p.start <= now);
        if !begun {
            break;
        }
        if !issue_next(core, conn, s, now, Some(now)).await? {
            return Err(Error::Unavailable {
                retry_after: 1,
                outcome_unknown: false,
                cause: "a closing document of the invoice was being issued".to_owned(),
            });
        }
    }
    store::stop(conn, &invoice.guid).await?;
    correct(core, conn, &invoice, now, Some(now)).await
}

/// What the end of a subscription now (a cancel, or a refund of the period in
/// progress) does to the closing documents of the organization's product: every
/// paid invoice whose service runs past `now` (the period in progress, one paid
/// ahead, the upgrades bought for it) is cut there, as [`on_cancel`] says, but
/// the `refunded` one, which its refund corrects to nothing.
pub(crate) async fn on_end(
    core: &Core,
    conn: &mut Conn,
    organization: &OrganizationId,
    product: &str,
    refunded: Option<&InvoiceId>,
    now: Timestamp,
) -> Result<(), Error> {
    for invoice in store::running(&mut *conn, organization, product, now).await? {
        if Some(&invoice) != refunded {
            on_cancel(core, conn, &invoice, now).await?;
        }
    }
    Ok(())
}

/// Corrects each part of `invoice` whose latest document (the document or its
/// last correction) says more than was rendered: to nothing (`cut` None, a
/// refund), or to the days of service until `cut`.
async fn correct(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    now: Timestamp,
    cut: Option<Timestamp>,
) -> Result<(), Error> {
    let docs = store::of_invoice(&mut *conn, &invoice.guid).await?;
    // In (part, revision) order: each part's latest is the last of its run.
    let latest: Vec<&ClosingDocument> = docs
        .iter()
        .enumerate()
        .filter(|(i, d)| docs.get(i + 1).is_none_or(|n| n.part != d.part))
        .map(|(_, d)| d)
        .collect();
    let mut org = None;
    for last in latest {
        let end = cut.map_or(last.service_end, |at| {
            closing::cut_end(last.service_start, last.service_end, at)
        });
        let lines: Vec<Line> = last
            .lines
            .iter()
            .map(|l| {
                let amount = cut.map_or(0, |at| {
                    closing::rendered(l.amount, last.service_start, last.service_end, at)
                });
                Line {
                    amount,
                    vat: vat::included(amount, last.vat_basis_points).unwrap_or(0),
                    before: Some(Before {
                        amount: l.amount,
                        vat: l.vat,
                    }),
                    ..l.clone()
                }
            })
            .collect();
        if lines
            .iter()
            .all(|l| l.before.is_some_and(|b| b.amount == l.amount))
        {
            continue;
        }
        let org = match &org {
            Some(o) => o,
            None => org.insert(organization_of(conn, &invoice.organization_guid).await?),
        };
        let change = |f: fn(&Line) -> i64, g: fn(&Before) -> i64| -> i64 {
            lines
                .iter()
                .map(|l| f(l) - l.before.as_ref().map_or(0, g))
                .sum()
        };
        let doc = numbered(
            core,
            conn,
            Draft {
                kind: "ukd",
                invoice,
                buyer: buyer(org),
                part: last.part,
                revision: last.revision + 1,
                corrects: Some(last.id.clone()),
                service: (last.service_start, end),
                issued_on: now.date(),
                total: change(|l| l.amount, |b| b.amount),
                vat: change(|l| l.vat, |b| b.vat),
                vat_basis_points: last.vat_basis_points,
                lines,
            },
            now,
        )
        .await?;
        let why = match cut {
            Some(_) => Why::Canceled,
            None => Why::Refunded,
        };
        announce(core, conn, org, &doc, why, now).await?;
    }
    Ok(())
}

struct Draft<'a> {
    kind: &'static str,
    invoice: &'a Invoice,
    buyer: Party,
    part: i64,
    revision: i64,
    corrects: Option<String>,
    service: (Timestamp, Timestamp),
    issued_on: time::Date,
    lines: Vec<Line>,
    total: i64,
    vat: i64,
    vat_basis_points: i64,
}

/// Numbers a document from the year's gapless counter and stores it.
async fn numbered(
    core: &Core,
    conn: &mut Conn,
    d: Draft<'_>,
    now: Timestamp,
) -> Result<ClosingDocument, Error> {
    let year = d.issued_on.year();
    let seq = kopek_store::next_value(&mut *conn, &store::counter(year)).await?;
    let seller = core.settings.closing_seller.clone();
    let doc = ClosingDocument {
        id: format!("cdoc_{}", uuid::Uuid::now_v7().simple()),
        kind: d.kind.to_owned(),
        number: format_number(NUMBER_FORMAT, year, seq),
        year: i64::from(year),
        seq,
        invoice_guid: d.invoice.guid.clone(),
        organization_guid: d.invoice.organization_guid.clone(),
        part: d.part,
        revision: d.revision,
        corrects: d.corrects,
        service_start: d.service.0,
        service_end: d.service.1,
        issued_on: d.issued_on.to_string(),
        currency: d.invoice.currency(),
        lines: d.lines,
        total: d.total,
        vat: d.vat,
        vat_basis_points: d.vat_basis_points,
        file_guid: uuid::Uuid::new_v4().to_string(),
        seller,
        buyer: d.buyer,
        created_at: now,
    };
    store::insert(conn, &doc).await?;
    Ok(doc)
}

async fn organization_of(conn: &mut Conn, guid: &OrganizationId) -> Result<Organization, Error> {
    organizations::get(conn, guid)
        .await?
        .ok_or_else(|| Error::internal("an invoice without its organization"))
}

pub(crate) fn buyer(org: &Organization) -> Party {
    Party {
        name: org.company.name.clone(),
        inn: org.company.inn.to_string(),
        kpp: org.company.kpp.as_ref().map(ToString::to_string),
        address: org.legal_address.clone(),
        edo_id: org.edo_id.clone(),
        ..Party::default()
    }
}

/// Tells of a new document: its event, and its mail to the billing contact.
async fn announce(
    core: &Core,
    conn: &mut Conn,
    org: &Organization,
    doc: &ClosingDocument,
    why: Why,
    now: Timestamp,
) -> Result<(), Error> {
    let kind = match why {
        Why::Issued => "closing_document.issued",
        Why::Refunded | Why::Canceled => "closing_document.corrected",
    };
    let payload = json!({
        "closingDocumentId": doc.id,
        "number": doc.number,
        "invoiceGuid": doc.invoice_guid,
        "organizationGuid": doc.organization_guid,
        "total": doc.total,
        "currency": doc.currency,
    });
    events::record(
        core,
        conn,
        kind,
        Subject::ClosingDocument(doc),
        &payload,
        now,
    )
    .await?;
    mail::queue(conn, org, doc, why).await
}

/// A document and, when it was corrected, the id of its correction.
#[derive(Debug, Clone)]
pub struct Listed {
    pub document: ClosingDocument,
    pub corrected_by: Option<String>,
}

/// The listing's filters as the API takes them.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub organization: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub number: Option<String>,
}

/// One page of closing documents, newest first; `organization` (a buyer's own
/// listing) overrides the query's.
pub async fn list(core: &Core, q: Query, page: &PageQuery) -> Result<(Vec<Listed>, String), Error> {
    let mut v = Violations::default();
    for (field, value) in [("from", &q.from), ("to", &q.to)] {
        if value.as_deref().is_some_and(|d| parse_day(d).is_none()) {
            v.add(
                field,
                Reason::Format {
                    en: "a date as YYYY-MM-DD",
                    ru: "датой вида ГГГГ-ММ-ДД",
                },
            );
        }
    }
    if let Some(s) = q.status.as_deref()
        && !["issued", "corrected", "correction"].contains(&s)
    {
        v.add(
            "status",
            Reason::OneOf(vec![
                "issued".into(),
                "corrected".into(),
                "correction".into(),
            ]),
        );
    }
    v.finish()?;
    let filter = Filter {
        organization: q.organization.map(|o| o.to_ascii_lowercase().into()),
        from: q.from,
        to: q.to,
        status: q.status,
        number: q.number,
    };
    let key = core.store.page_key();
    let context = format!(
        "closingDocuments:{:?}:{:?}:{:?}:{:?}:{:?}",
        filter.organization, filter.from, filter.to, filter.status, filter.number
    );
    let page = page.page(key, context)?;
    let mut conn = core.store.conn().await?;
    let mut rows = store::list(
        &mut conn,
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(key, &mut rows, |d| d.id.as_str());
    complete(core, &mut conn, &mut rows).await?;
    let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let corrected = store::corrected(&mut conn, &ids).await?;
    let corrections = correction_ids(&mut conn, &rows, &corrected).await?;
    Ok((
        rows.into_iter()
            .map(|document| {
                let corrected_by = corrections
                    .iter()
                    .find(|(of, _)| *of == document.id)
                    .map(|(_, by)| by.clone());
                Listed {
                    document,
                    corrected_by,
                }
            })
            .collect(),
        next,
    ))
}

/// (corrected id, correction id) for the corrected among `rows`.
async fn correction_ids(
    conn: &mut Conn,
    rows: &[ClosingDocument],
    corrected: &[String],
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for doc in rows.iter().filter(|d| corrected.contains(&d.id)) {
        let all = store::of_invoice(&mut *conn, &doc.invoice_guid).await?;
        if let Some(c) = all.iter().find(|c| c.corrects.as_deref() == Some(&doc.id)) {
            out.push((doc.id.clone(), c.id.clone()));
        }
    }
    Ok(out)
}

/// The organization a buyer's listing is limited to, once the caller may act
/// for it.
pub async fn buyer_scope(
    core: &Core,
    access: &crate::access::OrgAccess,
    organization: String,
) -> Result<OrganizationId, Error> {
    let guid = OrganizationId::from(organization.to_ascii_lowercase());
    let mut conn = core.store.conn().await?;
    access.check(&mut conn, &guid).await?;
    Ok(guid)
}

/// A document by id; `organization` limits it to a buyer's own (another's is
/// not found, as one that does not exist).
pub async fn get(
    core: &Core,
    id: &str,
    organization: Option<&OrganizationId>,
) -> Result<Listed, Error> {
    let mut conn = core.store.conn().await?;
    let not_found = || Error::NotFound {
        what: "closing document",
        id: id.to_owned(),
    };
    let document = store::get(&mut conn, id).await?.ok_or_else(not_found)?;
    if organization.is_some_and(|o| {
        !o.as_str()
            .eq_ignore_ascii_case(document.organization_guid.as_str())
    }) {
        return Err(not_found());
    }
    let mut rows = [document];
    complete(core, &mut conn, &mut rows).await?;
    let corrected = store::corrected(&mut conn, &[rows[0].id.as_str()]).await?;
    let corrected_by = correction_ids(&mut conn, &rows, &corrected)
        .await?
        .pop()
        .map(|(_, by)| by);
    let [document] = rows;
    Ok(Listed {
        document,
        corrected_by,
    })
}

/// A document as its files show it: with the invoice it documents.
#[derive(Debug, Clone)]
pub struct Download {
    pub listed: Listed,
    pub invoice_number: String,
    pub invoice_date: time::Date,
}

pub async fn download(
    core: &Core,
    id: &str,
    organization: Option<&OrganizationId>,
) -> Result<Download, Error> {
    let listed = get(core, id, organization).await?;
    let mut conn = core.store.conn().await?;
    let invoice = invoices::get(&mut conn, &listed.document.invoice_guid)
        .await?
        .ok_or_else(|| Error::internal("a closing document without its invoice"))?;
    Ok(Download {
        listed,
        invoice_number: invoice.number,
        invoice_date: invoice.created_at.date(),
    })
}

/// Completes documents made before a party's address, EDO id or signer was set
/// with those details as they are now.
async fn complete(core: &Core, conn: &mut Conn, docs: &mut [ClosingDocument]) -> Result<(), Error> {
    let guids: Vec<&OrganizationId> = docs.iter().map(|d| &d.organization_guid).collect();
    let orgs = organizations::get_many(conn, &guids).await?;
    for doc in docs.iter_mut() {
        if let Some(org) = orgs.iter().find(|o| o.guid == doc.organization_guid) {
            fill(&mut doc.buyer, &buyer(org));
        }
        fill(&mut doc.seller, &core.settings.closing_seller);
    }
    Ok(())
}

/// Sets what `party` lacks from `now`.
fn fill(party: &mut Party, now: &Party) {
    for (field, current) in [
        (&mut party.address, &now.address),
        (&mut party.edo_id, &now.edo_id),
        (&mut party.signer_name, &now.signer_name),
        (&mut party.signer_position, &now.signer_position),
    ] {
        if field.is_none() {
            field.clone_from(current);
        }
    }
}

/// The documents of an invoice, in the order they were made.
pub async fn of_invoice(core: &Core, invoice: &InvoiceId) -> Result<Vec<ClosingDocument>, Error> {
    let mut conn = core.store.conn().await?;
    store::of_invoice(&mut conn, invoice).await
}
