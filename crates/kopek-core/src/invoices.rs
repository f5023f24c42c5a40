//! Invoices: made for an order of a subscription product (priced from the catalog
//! in force, numbered from the organization's gapless sequence), then paid (which
//! extends the organization's license), canceled or refunded. Every caller (LIFE
//! POS, the operator API, the payment pages, provider callbacks) comes here.

mod reads;

pub use reads::{InvoicePage, Listing, get, get_of, licenses, linked, list, payments, search};

use crate::Core;
use crate::access::OrgAccess;
use crate::events::{self, Subject};
use crate::write::{Ran, Write};
use kopek_domain::auth::Principal;
use kopek_domain::catalog::{Catalog, MAX_PERIOD_MONTHS};
use kopek_domain::error::Violations;
use kopek_domain::ids::{InvoiceId, OrganizationId, prefix, yc_id};
use kopek_domain::invoice::{InvoiceStatus, MAX_QUANTITY, Payer, Quote, format_number, quote};
use kopek_domain::paging::link_token;
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, FieldError, Reason};
use kopek_store::Conn;
use kopek_store::events::Event;
use kopek_store::invoices::{self, Invoice, Payment};
use kopek_store::organizations::Organization;
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

/// What a buyer orders: a plan of a product for an organization. Absent values
/// take their defaults (one unit, the plan's shortest period, the organization
/// paying for itself).
#[derive(Debug, Clone)]
pub struct Order {
    pub organization: OrganizationId,
    pub product: String,
    pub plan: Option<String>,
    pub quantity: Option<i64>,
    pub period_in_months: Option<i64>,
    /// The organization itself, or the reseller billing account that serves it.
    pub payer: Option<String>,
}

/// An order checked against the catalog and priced: all a new invoice needs.
pub(crate) struct Priced {
    pub(crate) organization: Organization,
    pub(crate) catalog_version: i64,
    pub(crate) product_guid: String,
    pub(crate) plan_guid: String,
    pub(crate) period_in_months: i64,
    pub(crate) quantity: i64,
    pub(crate) quote: Quote,
    pub(crate) payer: Payer,
    pub(crate) now: Timestamp,
}

/// Adds a violation when `value` is outside 1 to `max`.
pub(crate) fn range(field: &str, value: i64, max: i64, v: &mut Violations) {
    if !(1..=max).contains(&value) {
        let (en, ru) = match field {
            "quantity" => ("between 1 and 100000", "от 1 до 100000"),
            _ => ("between 1 and 60", "от 1 до 60"),
        };
        v.add(field, Reason::Format { en, ru });
    }
}

/// Checks an order (who may buy, the product, plan, period, quantity and payer)
/// and prices it, reading outside any write transaction.
pub(crate) async fn price(core: &Core, access: &OrgAccess, order: Order) -> Result<Priced, Error> {
    let mut conn = core.store.conn().await?;
    let (organization, version) = access
        .organization_and_catalog(&mut conn, &order.organization)
        .await?;
    let version = version.ok_or_else(|| no_product(&order))?;
    let catalog = core.catalog.at(&mut conn, version).await?;
    priced(organization, version, &catalog, order, core.now())
}

fn no_product(order: &Order) -> Error {
    Error::NotFound {
        what: "product",
        id: order.product.clone(),
    }
}

/// Checks an order against catalog `version` and prices it at `now`, for an
/// organization already read: no I/O, so a batch prices many from one reading.
pub(crate) fn priced(
    organization: Organization,
    version: i64,
    catalog: &Catalog,
    order: Order,
    now: Timestamp,
) -> Result<Priced, Error> {
    let product = catalog
        .product(&order.product)
        .ok_or_else(|| no_product(&order))?;

    let mut v = Violations::default();
    let plan_guid = order.plan.filter(|g| !g.is_empty());
    if plan_guid.is_none() {
        v.add("plan", Reason::Required);
    }
    let quantity = order.quantity.unwrap_or(1);
    range("quantity", quantity, MAX_QUANTITY, &mut v);
    if let Some(months) = order.period_in_months {
        range("period_in_months", months, MAX_PERIOD_MONTHS, &mut v);
    }
    v.finish()?;
    let plan = product
        .plan(plan_guid.as_deref().unwrap_or_default())
        .ok_or_else(|| Error::field("plan", Reason::UnknownReference))?;
    let months = order
        .period_in_months
        .or_else(|| plan.periods.iter().map(|p| p.period_in_months).min())
        .unwrap_or(1);
    let period = plan.period(months).ok_or_else(|| {
        Error::Validation(vec![FieldError::new(
            "period_in_months",
            Reason::OneOf(
                plan.periods
                    .iter()
                    .map(|p| p.period_in_months.to_string())
                    .collect(),
            ),
        )])
    })?;
    let payer = match order.payer.filter(|g| !g.is_empty()) {
        None => Payer::Organization(organization.guid.clone()),
        Some(g) if g.eq_ignore_ascii_case(organization.guid.as_str()) => {
            Payer::Organization(organization.guid.clone())
        }
        // Only the reseller that serves the organization may pay for it; any
        // other account, existing or not, is the same unknown reference.
        Some(g) => match &organization.reseller_id {
            Some(reseller) if reseller.as_str().eq_ignore_ascii_case(&g) => {
                Payer::BillingAccount(reseller.clone())
            }
            _ => return Err(Error::field("who_pays", Reason::UnknownReference)),
        },
    };
    let quote = quote(product, plan, period, quantity, now)?;
    Ok(Priced {
        catalog_version: version,
        product_guid: product.guid.to_ascii_lowercase(),
        plan_guid: plan.guid.to_ascii_lowercase(),
        period_in_months: period.period_in_months,
        quantity,
        quote,
        payer,
        organization,
        now,
    })
}

/// Creates an invoice for `order` (LIFE POS's SubscriptionCreateInvoice) with an
/// `invoice.created` event. The number is taken in the transaction that stores the
/// invoice, so a failure hands it back. A repeat of an idempotent write gets its
/// first answer before anything is checked again. `answer` renders the invoice as
/// the caller's wire shows it, stored with `status` for repeats; it is handed the
/// invoice as its API shows it too (the event's data), rendered once already.
pub async fn create<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    access: &OrgAccess,
    order: Order,
    status: u16,
    answer: impl FnOnce(&Invoice, &RawValue) -> T,
) -> Result<Ran<T>, Error> {
    if let Some(stored) = write.replay(caller).await? {
        return Ok(Ran::Replayed(stored));
    }
    let priced = price(core, access, order).await?;
    write
        .run(caller, status, async |work| {
            let (invoice, event) = issue(core, work.conn(), priced, &caller.id).await?;
            let view = event
                .data
                .ok_or_else(|| Error::internal("an invoice event without its data"))?;
            Ok(answer(&invoice, &view))
        })
        .await
}

/// Stores a priced order as a pending invoice numbered from the organization's
/// gapless counter, with its `invoice.created` event, in the caller's transaction.
pub(crate) async fn issue(
    core: &Core,
    conn: &mut Conn,
    priced: Priced,
    created_by: &str,
) -> Result<(Invoice, Event), Error> {
    issue_many(core, conn, vec![priced], created_by)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("an invoice issued, none answered"))
}

/// [`issue`] for many orders priced at one instant, in a few statements however
/// many: the numbers of each organization's counter taken at once, the invoices,
/// their events.
pub(crate) async fn issue_many(
    core: &Core,
    conn: &mut Conn,
    orders: Vec<Priced>,
    created_by: &str,
) -> Result<Vec<(Invoice, Event)>, Error> {
    let Some(now) = orders.first().map(|p| p.now) else {
        return Ok(Vec::new());
    };
    let mut counts: Vec<(String, i64)> = Vec::new();
    for order in &orders {
        let name = invoices::counter(&order.organization.guid);
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    let last = kopek_store::next_values(&mut *conn, &counts).await?;
    let mut next: std::collections::HashMap<String, i64> = counts
        .into_iter()
        .map(|(name, count)| {
            let first = last.get(&name).map(|l| l - count + 1);
            (name, first.unwrap_or(0))
        })
        .collect();
    let mut issued = Vec::with_capacity(orders.len());
    for priced in orders {
        let seq = next
            .get_mut(&invoices::counter(&priced.organization.guid))
            .map(|n| {
                *n += 1;
                *n - 1
            })
            .filter(|seq| *seq > 0)
            .ok_or_else(|| Error::internal("no invoice number for an organization"))?;
        issued.push(Invoice {
            guid: InvoiceId::generate(),
            organization_guid: priced.organization.guid.clone(),
            seq,
            number: format_number(
                &core.settings.invoice_number_format,
                priced.now.date().year(),
                seq,
            ),
            catalog_version: priced.catalog_version,
            product_guid: priced.product_guid,
            plan_guid: priced.plan_guid,
            period_in_months: priced.period_in_months,
            quantity: priced.quantity,
            company: priced.organization.company.clone(),
            quote: priced.quote,
            status: InvoiceStatus::Pending,
            payer: priced.payer,
            meta: None,
            created_by: created_by.to_owned(),
            created_at: priced.now,
            updated_at: priced.now,
            paid_at: None,
        });
    }
    invoices::insert_many(&mut *conn, &issued).await?;
    let payloads: Vec<serde_json::Value> = issued
        .iter()
        .map(|invoice| {
            json!({
                "invoiceGuid": invoice.guid, "organizationGuid": invoice.organization_guid,
                "number": invoice.number, "total": invoice.quote.total.minor(),
                "currency": invoice.currency(),
            })
        })
        .collect();
    let created: Vec<(&str, Subject, &serde_json::Value)> = issued
        .iter()
        .zip(&payloads)
        .map(|(invoice, payload)| ("invoice.created", Subject::Invoice(invoice), payload))
        .collect();
    let events = events::record_many(core, conn, &created, now).await?;
    Ok(issued.into_iter().zip(events).collect())
}

/// Moves an invoice through its lifecycle as one write (the operator's `:pay`,
/// `:cancel`, `:refund`), answering as `answer` renders the invoice. A refund of
/// an invoice paid by card through the acquirer gives the money back there first;
/// one the acquirer refuses is no refund.
pub async fn change<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    guid: &InvoiceId,
    change: Change,
    status: u16,
    answer: impl Fn(&Invoice) -> T,
) -> Result<Ran<T>, Error> {
    if let Change::Refund = change {
        if let Some(stored) = write.replay(caller).await? {
            return Ok(Ran::Replayed(stored));
        }
        crate::acquiring::refund_paid(core, guid).await?;
    }
    write
        .run(caller, status, async |work| {
            if work.audited()
                && let Some(before) = invoices::get(work.conn(), guid).await?
            {
                work.before(|| answer(&before))?;
            }
            let invoice = apply(core, work.conn(), guid, change, core.now()).await?;
            Ok(answer(&invoice))
        })
        .await
}

/// Records a payment a provider took (the hosted card page, a provider's signed
/// callback) in a transaction of its own, and returns the invoice as it now is.
pub async fn record_payment(
    core: &Core,
    guid: &InvoiceId,
    method: String,
    reference: Option<String>,
) -> Result<Invoice, Error> {
    let mut tx = core.store.begin().await?;
    let invoice = apply(
        core,
        &mut tx,
        guid,
        Change::Pay { method, reference },
        core.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(invoice)
}

#[derive(Debug, Clone)]
pub enum Change {
    /// Record a payment of the whole total.
    Pay {
        method: String,
        reference: Option<String>,
    },
    Cancel,
    Refund,
}

/// Applies `change` to the invoice in the caller's transaction and returns it as
/// it now is. Any change the lifecycle does not allow is `FailedPrecondition`.
pub(crate) async fn apply(
    core: &Core,
    conn: &mut Conn,
    guid: &InvoiceId,
    change: Change,
    now: Timestamp,
) -> Result<Invoice, Error> {
    let mut invoice = invoices::get(&mut *conn, guid)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "invoice",
            id: guid.to_string(),
        })?;
    let previous = invoice.status;
    let (next, event) = match &change {
        Change::Pay { .. } => (previous.pay()?, "invoice.paid"),
        Change::Cancel => (previous.cancel()?, "invoice.canceled"),
        Change::Refund => (previous.refund()?, "invoice.refunded"),
    };
    if !invoices::transition(&mut *conn, &invoice.guid, previous, next, now).await? {
        return Err(Error::FailedPrecondition(
            "The invoice changed meanwhile; read it and try again".to_owned(),
        ));
    }
    invoice.status = next;
    invoice.updated_at = now;
    let refunded = matches!(change, Change::Refund);
    if let Change::Pay { method, reference } = change {
        invoice.paid_at = Some(now);
        let payment = Payment {
            id: yc_id(prefix::PAYMENT),
            invoice_guid: invoice.guid.clone(),
            amount: invoice.quote.total,
            method,
            reference,
            created_at: now,
        };
        invoices::insert_payment(&mut *conn, &payment).await?;
        crate::subscriptions::on_payment(core, &mut *conn, &invoice, now).await?;
    }
    if refunded {
        if let Some(paid_at) = invoice.paid_at {
            crate::overview::forget_paid_day(&mut *conn, paid_at, now).await?;
        }
        crate::closing::on_refund(core, &mut *conn, &invoice, now).await?;
        // Boxed: ending a subscription cancels invoices through this function.
        Box::pin(crate::subscriptions::on_refund(
            core, &mut *conn, &invoice, now,
        ))
        .await?;
    }
    let payload = json!({
        "invoiceGuid": invoice.guid,
        "organizationGuid": invoice.organization_guid,
        "number": invoice.number,
        "status": next.as_str(),
        "previousStatus": previous.as_str(),
        "total": invoice.quote.total.minor(),
        "currency": invoice.currency(),
    });
    events::record(core, conn, event, Subject::Invoice(&invoice), &payload, now).await?;
    Ok(invoice)
}

/// The two payment links of an invoice, each carrying its unguessable token.
pub fn payment_links(public_url: &str, key: &[u8], guid: &InvoiceId) -> (String, String) {
    let base = public_url.trim_end_matches('/');
    let token = link_token(key, guid.as_str());
    (
        format!("{base}/invoices/{guid}/pay?token={token}"),
        format!("{base}/invoices/{guid}/bank-transfer?token={token}"),
    )
}
