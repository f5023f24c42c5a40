//! What the operator changes on a subscription: cancel it (at the period's end or
//! now), take a cancel at the period's end back, and change its plan or quantity
//! (an upgrade now, for the prorated difference; a downgrade at the period's end).

use super::{read, record, reopen_renewal, save, void_renewal, write_license};
use crate::Core;
use crate::invoices::{self, Change, Priced};
use crate::licenses;
use crate::write::{Ran, Write};
use kopek_domain::auth::Principal;
use kopek_domain::error::Violations;
use kopek_domain::invoice::{MAX_QUANTITY, quote, upgrade_quote};
use kopek_domain::subscription::{SubscriptionStatus, days_left, prorate};
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, FieldError, Reason};
use kopek_store::invoices::Invoice;
use kopek_store::subscriptions::{self, Subscription};
use kopek_store::{Conn, organizations};
use serde::Serialize;
use serde_json::json;

/// When a cancel takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAt {
    /// The license runs to the period's end and no renewal follows.
    PeriodEnd,
    /// The license ends now.
    Now,
}

fn ended(s: &Subscription) -> Error {
    Error::FailedPrecondition(format!(
        "The subscription is {}; a new invoice for the product starts a new one",
        s.status.as_str()
    ))
}

/// Runs `change` on the subscription `id` within `write`, the subscription as it
/// was (shown by `before`) kept for the audit log.
async fn changing<T: Serialize>(
    write: Write,
    caller: &Principal,
    id: &str,
    status: u16,
    before: impl Fn(&Subscription) -> T,
    change: impl AsyncFnOnce(&mut Conn, Subscription) -> Result<T, Error>,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            let s = read(work.conn(), id).await?;
            work.before(|| before(&s))?;
            change(work.conn(), s).await
        })
        .await
}

/// Cancels a subscription. At the period's end: renewals stop (an issued renewal
/// invoice is canceled) and the scheduler ends it then; asking again changes
/// nothing. Now (or at the period's end of one already past due): the license
/// ends at once.
pub async fn cancel<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    at: CancelAt,
    status: u16,
    answer: impl Fn(&Subscription) -> T,
) -> Result<Ran<T>, Error> {
    changing(write, caller, id, status, &answer, async |conn, mut s| {
        let now = core.now();
        match (s.status, at) {
            (SubscriptionStatus::Expired | SubscriptionStatus::Canceled, _) => {
                return Err(ended(&s));
            }
            (SubscriptionStatus::Active, CancelAt::PeriodEnd) if s.cancel_at_period_end => {}
            (SubscriptionStatus::Active, CancelAt::PeriodEnd) => {
                reopen_renewal(core, conn, &mut s, now).await?;
                s.cancel_at_period_end = true;
                s.updated_at = now;
                save(conn, &mut s).await?;
                let more = json!({"at": "period_end", "endsAt": s.current_period_end.rfc3339()});
                record(core, conn, "subscription.cancel_scheduled", &s, more, now).await?;
            }
            _ => s = end_now(core, conn, s, "canceled", now).await?,
        }
        Ok(answer(&s))
    })
    .await
}

/// Ends a subscription at once (`why`: `canceled` or `refund`): its renewal and
/// upgrade invoices are canceled, the license is cut to `now` and the offline
/// tokens of the periods it still had are revoked.
pub(super) async fn end_now(
    core: &Core,
    conn: &mut Conn,
    mut s: Subscription,
    why: &str,
    now: Timestamp,
) -> Result<Subscription, Error> {
    // The period before this one (paid ahead, or within its grace days) may still
    // have tokens in use: they are cut short too.
    if s.current_period_start > s.created_at {
        licenses::revoke(core, conn, &s.id, s.current_period_start, why, now).await?;
    }
    let revoked = licenses::revoke(core, conn, &s.id, s.current_period_end, why, now).await?;
    void_renewal(core, conn, &s, now).await?;
    cancel_pending_upgrades(core, conn, &s, now).await?;
    // The service of every paid invoice still running ends now (a refund
    // corrects the refunded invoice itself, to nothing).
    let refunded = s.period_invoice_guid.as_ref().filter(|_| why == "refund");
    crate::closing::on_end(
        core,
        conn,
        &s.organization_guid,
        &s.product_guid,
        refunded,
        now,
    )
    .await?;
    s.status = SubscriptionStatus::Canceled;
    s.cancel_at_period_end = false;
    s.current_period_end = s.current_period_end.min(now);
    s.updated_at = now;
    save(conn, &mut s).await?;
    rewrite_license(core, conn, &s, now).await?;
    let more = json!({"at": "now", "reason": why, "revokedTokenId": revoked});
    record(core, conn, "subscription.canceled", &s, more, now).await?;
    Ok(s)
}

/// A refund took back a period paid ahead, before it began: the period before it
/// runs to its end (taken to be as long as the refunded one) and the subscription
/// ends then, unless resumed, which renews it again.
pub(super) async fn refunded_ahead(
    core: &Core,
    conn: &mut Conn,
    mut s: Subscription,
    now: Timestamp,
) -> Result<(), Error> {
    let revoked = licenses::revoke(core, conn, &s.id, s.current_period_end, "refund", now).await?;
    cancel_pending_upgrades(core, conn, &s, now).await?;
    let months = u32::try_from(s.period_in_months).map_err(Error::internal)?;
    s.current_period_end = s.current_period_start;
    s.current_period_start = s.current_period_start.minus_months(months);
    reopen_renewal(core, conn, &mut s, now).await?;
    s.cancel_at_period_end = true;
    s.period_invoice_guid = None;
    s.updated_at = now;
    save(conn, &mut s).await?;
    rewrite_license(core, conn, &s, now).await?;
    let more = json!({
        "at": "period_end",
        "reason": "refund",
        "endsAt": s.current_period_end.rfc3339(),
        "revokedTokenId": revoked,
    });
    record(core, conn, "subscription.cancel_scheduled", &s, more, now).await
}

/// The license LIFE POS shows, written again after its period was cut.
async fn rewrite_license(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    now: Timestamp,
) -> Result<(), Error> {
    let version = core
        .catalog
        .current(&mut *conn)
        .await?
        .map_or(0, |(v, _)| v);
    write_license(core, conn, s, version, now).await?;
    Ok(())
}

/// Takes back a cancel at the period's end: renewals go on (the scheduler issues
/// the renewal invoice again when it is due).
pub async fn resume<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    status: u16,
    answer: impl Fn(&Subscription) -> T,
) -> Result<Ran<T>, Error> {
    changing(write, caller, id, status, &answer, async |conn, mut s| {
        if s.status != SubscriptionStatus::Active {
            return Err(ended(&s));
        }
        if !s.cancel_at_period_end {
            return Err(Error::FailedPrecondition(
                "The subscription is not set to be canceled; there is nothing to resume".to_owned(),
            ));
        }
        let now = core.now();
        s.cancel_at_period_end = false;
        s.updated_at = now;
        save(conn, &mut s).await?;
        record(core, conn, "subscription.resumed", &s, json!({}), now).await?;
        Ok(answer(&s))
    })
    .await
}

/// The plan and quantity a subscription is to change to.
#[derive(Debug, Clone)]
pub struct PlanChange {
    pub plan: String,
    pub quantity: Option<i64>,
}

/// Changes a subscription's plan or quantity, priced from the catalog in force
/// now for the subscription's period length. Dearer (an upgrade): an invoice for
/// the difference prorated over the days left (see [`days_left`], [`prorate`]),
/// which switches the plan when paid; it replaces an unpaid one asked before.
/// Otherwise (a downgrade): the next renewal is for the new plan and quantity (an
/// issued renewal invoice is replaced). Answers the subscription and the upgrade's
/// invoice.
pub async fn change_plan<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    change: PlanChange,
    status: u16,
    answer: impl Fn(&Subscription, Option<&Invoice>) -> T,
) -> Result<Ran<T>, Error> {
    let before = |s: &Subscription| answer(s, None);
    changing(write, caller, id, status, before, async |conn, mut s| {
        if s.status != SubscriptionStatus::Active {
            return Err(Error::FailedPrecondition(format!(
                "The subscription is {}; only an active one changes plan",
                s.status.as_str()
            )));
        }
        let now = core.now();
        let priced = price_change(core, conn, &s, &change, now).await?;
        cancel_pending_upgrades(core, conn, &s, now).await?;
        let invoice = match priced {
            Repriced::Upgrade(priced) => {
                let (invoice, _) = invoices::issue(core, conn, *priced, &caller.id).await?;
                subscriptions::add_plan_change(
                    conn,
                    &invoice.guid,
                    &s.id,
                    s.current_period_end,
                    now,
                )
                .await?;
                Some(invoice)
            }
            Repriced::Downgrade { plan, quantity } => {
                reopen_renewal(core, conn, &mut s, now).await?;
                let same = plan == s.plan_guid && quantity == s.quantity;
                s.next_plan_guid = (!same).then(|| plan.clone());
                s.next_quantity = (!same).then_some(quantity);
                s.updated_at = now;
                save(conn, &mut s).await?;
                let more = json!({
                    "effective": "period_end",
                    "planGuid": plan,
                    "quantity": quantity,
                    "effectiveAt": s.current_period_end.rfc3339(),
                });
                record(core, conn, "subscription.plan_changed", &s, more, now).await?;
                None
            }
        };
        Ok(answer(&s, invoice.as_ref()))
    })
    .await
}

enum Repriced {
    Upgrade(Box<Priced>),
    Downgrade { plan: String, quantity: i64 },
}

/// Prices a plan change against the subscription's current plan, both from the
/// catalog in force now.
async fn price_change(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    change: &PlanChange,
    now: Timestamp,
) -> Result<Repriced, Error> {
    let quantity = change.quantity.unwrap_or(s.quantity);
    let mut v = Violations::default();
    invoices::range("quantity", quantity, MAX_QUANTITY, &mut v);
    v.finish()?;
    let (version, catalog) = core
        .catalog
        .current(&mut *conn)
        .await?
        .ok_or_else(|| Error::internal("a subscription without a catalog"))?;
    let product = catalog.product(&s.product_guid).ok_or_else(|| {
        Error::FailedPrecondition("The subscription's product is no longer sold".to_owned())
    })?;
    let plan = product
        .plan(&change.plan)
        .ok_or_else(|| Error::field("plan", Reason::UnknownReference))?;
    let period = plan.period(s.period_in_months).ok_or_else(|| {
        Error::Validation(vec![FieldError::new(
            "plan",
            Reason::Format {
                en: "a plan sold for the subscription's period length",
                ru: "тарифом, который продаётся на срок подписки",
            },
        )])
    })?;
    let current = product
        .plan(&s.plan_guid)
        .and_then(|p| Some((p, p.period(s.period_in_months)?)))
        .ok_or_else(|| {
            Error::FailedPrecondition(
                "The subscription's plan is no longer sold, so an upgrade cannot be priced"
                    .to_owned(),
            )
        })?;
    let new_total = quote(product, plan, period, quantity, now)?.total;
    let old_total = quote(product, current.0, current.1, s.quantity, now)?.total;
    let plan_guid = plan.guid.to_ascii_lowercase();
    if new_total.minor() <= old_total.minor() {
        return Ok(Repriced::Downgrade {
            plan: plan_guid,
            quantity,
        });
    }
    let days = days_left(s.current_period_start, s.current_period_end, now)
        .ok_or_else(|| Error::FailedPrecondition("The period has ended".to_owned()))?;
    let difference = new_total
        .checked_sub(old_total)
        .map_err(|_| Error::internal("price difference overflow"))?;
    let amount = prorate(difference, days).ok_or_else(|| Error::internal("proration overflow"))?;
    let organization = organizations::get(&mut *conn, &s.organization_guid)
        .await?
        .ok_or_else(|| Error::internal("subscription without organization"))?;
    Ok(Repriced::Upgrade(Box::new(Priced {
        organization,
        catalog_version: version,
        product_guid: s.product_guid.clone(),
        plan_guid,
        period_in_months: s.period_in_months,
        quantity,
        quote: upgrade_quote(product, plan, quantity, amount, days, now)?,
        payer: s.payer.clone(),
        now,
    })))
}

/// Cancels the unpaid upgrade invoices of a subscription (a newer change, or the
/// end of the subscription, replaces them).
async fn cancel_pending_upgrades(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    now: Timestamp,
) -> Result<(), Error> {
    for guid in subscriptions::pending_plan_changes(&mut *conn, &s.id).await? {
        invoices::apply(core, &mut *conn, &guid, Change::Cancel, now).await?;
    }
    Ok(())
}

/// An upgrade's invoice was paid: the subscription takes its plan and quantity at
/// once, for the rest of the period it was priced for.
pub(super) async fn upgrade_paid(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    mut s: Subscription,
    period_end: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    if s.status != SubscriptionStatus::Active || s.current_period_end != period_end {
        return Err(Error::FailedPrecondition(format!(
            "This plan change was priced for the period ending {}, which is over",
            period_end.rfc3339()
        )));
    }
    // The renewal issued for the old plan is issued again for the new one.
    reopen_renewal(core, conn, &mut s, now).await?;
    s.plan_guid = invoice.plan_guid.clone();
    s.quantity = invoice.quantity;
    s.next_plan_guid = None;
    s.next_quantity = None;
    s.updated_at = now;
    save(conn, &mut s).await?;
    write_license(core, conn, &s, invoice.catalog_version, now).await?;
    crate::closing::schedule(core, conn, invoice, (now, period_end), now).await?;
    let more = json!({
        "effective": "now",
        "planGuid": s.plan_guid,
        "quantity": s.quantity,
        "invoiceGuid": invoice.guid,
    });
    record(core, conn, "subscription.plan_changed", &s, more, now).await
}
