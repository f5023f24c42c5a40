//! Subscriptions: made when an organization first pays for a product, moved on by
//! a period at each payment after, renewed, reminded, ended and expired by the
//! scheduler, and changed by the operator. The current period is the
//! organization's license for the product (LIFE POS shows it as
//! `acquired_license`), written in the same transaction.

mod changes;
mod mails;
mod scheduler;

pub use changes::{CancelAt, PlanChange, cancel, change_plan, resume};
pub use mails::{BILLING_MAIL, BillingMail};
pub use scheduler::{BATCH, Pass, run_due};

use crate::Core;
use crate::events::{self, Subject};
use crate::invoices::{self, Change};
use crate::paging::PageQuery;
use kopek_domain::Error;
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::subscription::{SubscriptionStatus, paid_period};
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::invoices as invoice_rows;
use kopek_store::invoices::{Invoice, License};
use kopek_store::subscriptions::{self, Filter, Purpose, Subscription};
use serde_json::json;

/// What paying `invoice` does to the organization's subscription to its product,
/// in the payment's transaction: a renewal buys the period it was issued for, an
/// upgrade switches the plan for the rest of the period, any other invoice buys a
/// period following on from a running or past-due one (from the payment once
/// lapsed). The license LIFE POS shows is written to match.
pub(crate) async fn on_payment(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    now: Timestamp,
) -> Result<(), Error> {
    let subscription = subscriptions::of(
        &mut *conn,
        &invoice.organization_guid,
        &invoice.product_guid,
    )
    .await?;
    let months = u32::try_from(invoice.period_in_months).map_err(Error::internal)?;
    let period = match subscriptions::purpose(&mut *conn, &invoice.guid).await? {
        Some(Purpose::PlanChange(period_end)) => {
            let s =
                subscription.ok_or_else(|| Error::internal("plan change without subscription"))?;
            return changes::upgrade_paid(core, conn, invoice, s, period_end, now).await;
        }
        Some(Purpose::Renewal(start)) => {
            let renews = subscription.as_ref().is_some_and(|s| {
                s.current_period_end == start
                    && matches!(
                        s.status,
                        SubscriptionStatus::Active | SubscriptionStatus::PastDue
                    )
            });
            if !renews {
                return Err(Error::FailedPrecondition(format!(
                    "The period from {} this invoice renews is paid already or no longer \
                     due; it cannot be paid",
                    start.rfc3339()
                )));
            }
            (start, start.plus_months(months))
        }
        None => {
            let period = match &subscription {
                // The grace days were used: the period follows on from the end.
                Some(s) if s.status == SubscriptionStatus::PastDue => {
                    let start = s.current_period_end;
                    (start, start.plus_months(months))
                }
                Some(s) => paid_period(Some(s.current_period_end), now, months),
                // A license from before subscriptions existed is followed on from,
                // as one is.
                None => {
                    let license_end =
                        invoice_rows::licenses(&mut *conn, &invoice.organization_guid)
                            .await?
                            .into_iter()
                            .find(|l| l.product_guid.eq_ignore_ascii_case(&invoice.product_guid))
                            .map(|l| l.expires_at);
                    paid_period(license_end, now, months)
                }
            };
            if let Some(s) = &subscription {
                // The period this payment buys supersedes the one the renewal
                // invoice was issued for, which must not be paid as well.
                void_renewal(core, conn, s, now).await?;
            }
            period
        }
    };
    paid(core, conn, invoice, subscription, period, now).await
}

/// What refunding `invoice` does to the organization's subscription to its
/// product: when its payment bought the current period, that period is taken
/// back. Begun, the subscription ends now, as a cancel now ends it; paid ahead
/// and not begun, the period before it runs to its end and the subscription ends
/// then. The offline tokens of the period taken back are revoked either way.
pub(crate) async fn on_refund(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    now: Timestamp,
) -> Result<(), Error> {
    let Some(s) = subscriptions::of(
        &mut *conn,
        &invoice.organization_guid,
        &invoice.product_guid,
    )
    .await?
    else {
        return Ok(());
    };
    let bought_current = s.period_invoice_guid.as_ref() == Some(&invoice.guid)
        && matches!(
            s.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        );
    if !bought_current {
        return Ok(());
    }
    if s.current_period_start > now {
        changes::refunded_ahead(core, conn, s, now).await
    } else {
        changes::end_now(core, conn, s, "refund", now).await?;
        Ok(())
    }
}

/// Records that `invoice` paid for the period `start..end`: the organization's
/// subscription to the product is made, or takes the invoice's plan, quantity and
/// period and moves on to the new period (active again, no longer ending), and
/// the license is extended to match.
async fn paid(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    existing: Option<Subscription>,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Result<(), Error> {
    let (subscription, event) = match existing {
        None => {
            let made = Subscription {
                id: format!("sub_{}", uuid::Uuid::now_v7().simple()),
                organization_guid: invoice.organization_guid.clone(),
                product_guid: invoice.product_guid.clone(),
                plan_guid: invoice.plan_guid.clone(),
                quantity: invoice.quantity,
                period_in_months: invoice.period_in_months,
                current_period_start: start,
                current_period_end: end,
                status: SubscriptionStatus::Active,
                cancel_at_period_end: false,
                payer: invoice.payer.clone(),
                next_plan_guid: None,
                next_quantity: None,
                renewal_issued: false,
                period_invoice_guid: Some(invoice.guid.clone()),
                created_at: now,
                updated_at: now,
                version: 0,
            };
            subscriptions::insert(&mut *conn, &made).await?;
            (made, "subscription.created")
        }
        Some(mut s) => {
            s.plan_guid = invoice.plan_guid.clone();
            s.quantity = invoice.quantity;
            s.period_in_months = invoice.period_in_months;
            s.current_period_start = start;
            s.current_period_end = end;
            s.status = SubscriptionStatus::Active;
            s.cancel_at_period_end = false;
            s.payer = invoice.payer.clone();
            s.next_plan_guid = None;
            s.next_quantity = None;
            s.renewal_issued = false;
            s.period_invoice_guid = Some(invoice.guid.clone());
            s.updated_at = now;
            save(conn, &mut s).await?;
            (s, "subscription.renewed")
        }
    };
    let license = write_license(core, conn, &subscription, invoice.catalog_version, now).await?;
    crate::closing::schedule(core, conn, invoice, (start, end), now).await?;
    let payload = json!({
        "organizationGuid": license.organization_guid,
        "productGuid": license.product_guid,
        "planGuid": license.plan_guid,
        "quantity": license.quantity,
        "expiresAt": license.expires_at.rfc3339(),
        "invoiceGuid": invoice.guid,
    });
    events::record(
        core,
        &mut *conn,
        "license.extended",
        Subject::License(&license),
        &payload,
        now,
    )
    .await?;
    let more = json!({
        "invoiceGuid": invoice.guid,
        "currentPeriodStart": start.rfc3339(),
        "currentPeriodEnd": end.rfc3339(),
    });
    record(core, conn, event, &subscription, more, now).await
}

/// Saves a subscription over the version it was read at; a change that came
/// first makes this one fail, to be tried again on a fresh reading.
async fn save(conn: &mut Conn, s: &mut Subscription) -> Result<(), Error> {
    if subscriptions::save(conn, s).await? {
        Ok(())
    } else {
        Err(Error::FailedPrecondition(
            "The subscription changed meanwhile; read it and try again".to_owned(),
        ))
    }
}

/// Writes the license LIFE POS shows from the subscription: its plan (named as
/// the catalog version `catalog_version` names it), quantity and period's end.
async fn write_license(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    catalog_version: i64,
    now: Timestamp,
) -> Result<License, Error> {
    let catalog = core.catalog.at(&mut *conn, catalog_version).await?;
    let plan_name = catalog
        .product(&s.product_guid)
        .and_then(|p| p.plan(&s.plan_guid))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let license = License {
        organization_guid: s.organization_guid.clone(),
        product_guid: s.product_guid.clone(),
        plan_guid: s.plan_guid.clone(),
        plan_name,
        quantity: s.quantity,
        expires_at: s.current_period_end,
        updated_at: now,
    };
    invoice_rows::save_license(&mut *conn, &license).await?;
    Ok(license)
}

/// The pending renewal invoice of the subscription's next period, if there is one.
async fn pending_renewal(conn: &mut Conn, s: &Subscription) -> Result<Option<Invoice>, Error> {
    let Some(guid) =
        subscriptions::renewal_invoice(&mut *conn, &s.id, s.current_period_end).await?
    else {
        return Ok(None);
    };
    Ok(invoice_rows::get(conn, &guid)
        .await?
        .filter(|i| i.status == InvoiceStatus::Pending))
}

/// Cancels the pending renewal invoice of the subscription's next period, if
/// there is one, and answers it.
async fn void_renewal(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    now: Timestamp,
) -> Result<Option<Invoice>, Error> {
    let Some(invoice) = pending_renewal(&mut *conn, s).await? else {
        return Ok(None);
    };
    Box::pin(invoices::apply(
        core,
        conn,
        &invoice.guid,
        Change::Cancel,
        now,
    ))
    .await
    .map(Some)
}

/// [`void_renewal`], and the next period may be renewed again (by an invoice for a
/// changed plan, or after a resumed cancel) once `s` is saved.
async fn reopen_renewal(
    core: &Core,
    conn: &mut Conn,
    s: &mut Subscription,
    now: Timestamp,
) -> Result<(), Error> {
    void_renewal(core, conn, s, now).await?;
    subscriptions::forget_renewal(conn, &s.id, s.current_period_end).await?;
    s.renewal_issued = false;
    Ok(())
}

/// One page of subscriptions in id order, and the next page's token (empty on the
/// last). The page token is bound to the filter.
pub async fn list(
    core: &Core,
    filter: &Filter,
    query: &PageQuery,
) -> Result<(Vec<Subscription>, String), Error> {
    let key = core.store.page_key();
    let context = format!("subscriptions:{filter:?}");
    let page = query.page(key, context)?;
    let mut conn = core.store.conn().await?;
    let mut rows =
        subscriptions::list(&mut conn, filter, page.after.as_deref(), page.fetch_limit()).await?;
    let next = page.finish(key, &mut rows, |s| s.id.as_str());
    Ok((rows, next))
}

pub async fn get(core: &Core, id: &str) -> Result<Subscription, Error> {
    let mut conn = core.store.conn().await?;
    read(&mut conn, id).await
}

async fn read(conn: &mut Conn, id: &str) -> Result<Subscription, Error> {
    subscriptions::get(conn, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "subscription",
            id: id.to_owned(),
        })
}

/// Records a subscription event whose payload names the subscription and adds
/// `more`.
async fn record(
    core: &Core,
    conn: &mut Conn,
    kind: &str,
    s: &Subscription,
    more: serde_json::Value,
    now: Timestamp,
) -> Result<(), Error> {
    record_many(core, conn, kind, &[(s, more)], now).await
}

/// [`record`] for many subscriptions at once, each with its own `more`.
async fn record_many(
    core: &Core,
    conn: &mut Conn,
    kind: &str,
    subscriptions: &[(&Subscription, serde_json::Value)],
    now: Timestamp,
) -> Result<(), Error> {
    let payloads: Vec<serde_json::Value> = subscriptions
        .iter()
        .map(|(s, more)| {
            let mut payload = json!({
                "subscriptionId": s.id,
                "organizationGuid": s.organization_guid,
                "productGuid": s.product_guid,
                "status": s.status.as_str(),
            });
            if let (Some(target), serde_json::Value::Object(extra)) =
                (payload.as_object_mut(), more)
            {
                target.extend(extra.clone());
            }
            payload
        })
        .collect();
    let events: Vec<(&str, Subject, &serde_json::Value)> = subscriptions
        .iter()
        .zip(&payloads)
        .map(|((s, _), payload)| (kind, Subject::Subscription(s), payload))
        .collect();
    events::record_many(core, conn, &events, now).await?;
    Ok(())
}
