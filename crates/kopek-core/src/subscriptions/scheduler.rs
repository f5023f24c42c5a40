//! What the scheduler does to subscriptions as time passes: issue the renewal
//! invoice `KOPEK_RENEWAL_LEAD_DAYS` before a period ends, remind 3 days and 1 day
//! before the end while it is unpaid, end the period unpaid (past due, or
//! canceled when so asked), and expire it after `KOPEK_GRACE_DAYS`.
//!
//! Each step reads a batch of due subscriptions. Renewals are issued 100 to a
//! transaction (falling back to one a transaction when any conflicts); the other
//! steps take one a transaction. Each is guarded so that however many processes
//! run it, each thing happens once: a renewal under the period's unique key, a
//! reminder under the invoice's and kind's, a change of status over the version
//! it was read at. A loser rolls back, invoice number and mails included.

use super::mails::{self, Notice};
use super::{pending_renewal, record, record_many, void_renewal};
use crate::Core;
use crate::invoices::{self, Order, Priced};
use kopek_domain::Error;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::subscription::SubscriptionStatus;
use kopek_domain::time::Timestamp;
use kopek_store::organizations::{self, Organization};
use kopek_store::outbox;
use kopek_store::subscriptions::{self, Subscription};
use kopek_store::{Backend, Conn, Tx};
use serde_json::json;

/// How many due subscriptions one step of a pass takes (a renewal batch is one
/// transaction).
pub const BATCH: i64 = 100;

/// How many renewal batches one pass runs at once (on PostgreSQL).
const RENEWING_BATCHES: usize = 4;

const DAY: i64 = 24 * 60 * 60;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub renewal_invoices: usize,
    pub reminders: usize,
    pub past_due: usize,
    pub expired: usize,
    pub canceled: usize,
    /// Some step found a whole batch due: more may be waiting.
    pub full: bool,
}

impl Pass {
    pub fn total(&self) -> usize {
        self.renewal_invoices + self.reminders + self.past_due + self.expired + self.canceled
    }

    /// Notes whether a step took a whole batch; answers what it did.
    fn count<T>(&mut self, (done, taken): (Vec<T>, usize)) -> Vec<T> {
        self.full |= taken as i64 >= BATCH;
        done
    }
}

/// One pass over what has come due by the core's present time. An error of the
/// store stops the pass; one subscription that cannot be treated (its plan gone
/// from the catalog) is logged and left.
pub async fn run_due(core: &Core) -> Result<Pass, Error> {
    let now = core.now();
    let mut pass = Pass::default();
    let due = read(core, async |c| {
        subscriptions::due_for_renewal(
            c,
            now.plus_seconds(core.settings.renewal_lead_seconds),
            BATCH * RENEWING_BATCHES as i64,
        )
        .await
    })
    .await?;
    pass.full |= due.len() >= BATCH as usize * RENEWING_BATCHES;
    // On PostgreSQL the batches' transactions overlap, so the round trips of one
    // hide behind another's. SQLite has one writer, so its batches go one after
    // another (smaller ones were measured slower with about the same API p99).
    let size = BATCH as usize;
    let at_once = match core.store.backend() {
        Backend::Postgres => RENEWING_BATCHES,
        Backend::Sqlite => 1,
    };
    let mut due = due.into_iter().peekable();
    while due.peek().is_some() {
        let mut batches: [Vec<Subscription>; RENEWING_BATCHES] = Default::default();
        for batch in batches.iter_mut().take(at_once) {
            batch.extend(due.by_ref().take(size));
        }
        let [a, b, c, d] = batches;
        let done = tokio::join!(
            renew_batch(core, a),
            renew_batch(core, b),
            renew_batch(core, c),
            renew_batch(core, d)
        );
        for batch in [done.0, done.1, done.2, done.3] {
            pass.renewal_invoices += batch?;
        }
    }
    let mut reminders = 0;
    for (kind, days) in [("1_day", 1u8), ("3_days", 3)] {
        let due = read(core, async |c| {
            subscriptions::due_for_reminder(
                c,
                kind,
                now,
                now.plus_seconds(i64::from(days) * DAY),
                BATCH,
            )
            .await
        })
        .await?;
        reminders += pass
            .count(each(due, |s| remind(core, s, kind, days, now)).await?)
            .len();
    }
    pass.reminders = reminders;
    let ended = read(core, async |c| {
        subscriptions::ended(c, SubscriptionStatus::Active, now, BATCH).await
    })
    .await?;
    let done = pass.count(each(ended, |s| end(core, s, now)).await?);
    pass.canceled = done
        .iter()
        .filter(|st| **st == SubscriptionStatus::Canceled)
        .count();
    pass.past_due = done.len() - pass.canceled;
    let grace_over = read(core, async |c| {
        subscriptions::ended(
            c,
            SubscriptionStatus::PastDue,
            now.plus_seconds(-core.settings.grace_seconds),
            BATCH,
        )
        .await
    })
    .await?;
    pass.expired = pass
        .count(each(grace_over, |s| expire(core, s, now)).await?)
        .len();
    Ok(pass)
}

async fn read(
    core: &Core,
    query: impl AsyncFnOnce(&mut Conn) -> Result<Vec<Subscription>, Error>,
) -> Result<Vec<Subscription>, Error> {
    let mut conn = core.store.conn().await?;
    query(&mut conn).await
}

/// Runs `step` on each subscription; answers what the ones that acted gave, and
/// how many were taken.
async fn each<T, F>(
    due: Vec<Subscription>,
    mut step: impl FnMut(Subscription) -> F,
) -> Result<(Vec<T>, usize), Error>
where
    F: Future<Output = Result<Option<T>, Error>>,
{
    let taken = due.len();
    let mut done = Vec::new();
    for s in due {
        let id = s.id.clone();
        match step(s).await {
            Ok(Some(t)) => done.push(t),
            Ok(None) => {}
            Err(e @ Error::Internal(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "a subscription could not be moved on")
            }
        }
    }
    Ok((done, taken))
}

/// Saves `s` in `tx` and commits, unless another change came first (then the
/// transaction is rolled back and nothing happened).
async fn commit_over(mut tx: Tx, s: &mut Subscription) -> Result<bool, Error> {
    if !subscriptions::save(&mut tx, s).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Issues the renewal invoices of `due` in one transaction, a few statements for
/// the whole batch; if any cannot be issued there (another process came first),
/// that transaction is rolled back and each is tried in a transaction of its own.
/// One that cannot be priced is left, as [`each`] says.
async fn renew_batch(core: &Core, due: Vec<Subscription>) -> Result<usize, Error> {
    let priced = price(core, due).await?;
    if priced.is_empty() {
        return Ok(0);
    }
    let left: Vec<Subscription> = priced.iter().map(|(s, _)| s.clone()).collect();
    let mut tx = core.store.begin().await?;
    if let Ok(true) = renew_in(core, &mut tx, priced).await {
        tx.commit().await?;
        return Ok(left.len());
    }
    drop(tx);
    Ok(each(left, |s| renew(core, s)).await?.0.len())
}

/// The renewal invoices' orders: the same period and payer, the plan and quantity
/// the next period is for, priced from the catalog in force now, with each
/// organization read once for the batch. One that cannot be priced (its plan gone
/// from the catalog) is logged and left out.
async fn price(core: &Core, due: Vec<Subscription>) -> Result<Vec<(Subscription, Priced)>, Error> {
    let mut conn = core.store.conn().await?;
    let Some((version, catalog)) = core.catalog.current(&mut conn).await? else {
        tracing::warn!("subscriptions are due but there is no catalog to price them from");
        return Ok(Vec::new());
    };
    let guids: Vec<&OrganizationId> = due.iter().map(|s| &s.organization_guid).collect();
    let organizations = organizations::get_many(&mut conn, &guids).await?;
    drop(conn);
    let now = core.now();
    let mut priced = Vec::with_capacity(due.len());
    for s in due {
        let Some(org) = organizations.iter().find(|o| {
            o.guid
                .as_str()
                .eq_ignore_ascii_case(s.organization_guid.as_str())
        }) else {
            tracing::warn!(subscription = %s.id, "a due subscription without its organization");
            continue;
        };
        let (plan, quantity) = s.next_plan();
        let order = Order {
            organization: s.organization_guid.clone(),
            product: s.product_guid.clone(),
            plan: Some(plan.to_owned()),
            quantity: Some(quantity),
            period_in_months: Some(s.period_in_months),
            payer: Some(s.payer.id().to_owned()),
        };
        match invoices::priced(org.clone(), version, &catalog, order, now) {
            Ok(p) => priced.push((s, p)),
            Err(e @ Error::Internal(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(subscription = %s.id, error = %e, "the renewal invoice could not be priced")
            }
        }
    }
    Ok(priced)
}

/// Issues one renewal invoice in a transaction of its own.
async fn renew(core: &Core, s: Subscription) -> Result<Option<()>, Error> {
    let priced = price(core, vec![s]).await?;
    if priced.is_empty() {
        return Err(Error::FailedPrecondition(
            "the renewal invoice could not be priced".to_owned(),
        ));
    }
    let mut tx = core.store.begin().await?;
    if !renew_in(core, &mut tx, priced).await? {
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(()))
}

/// Issues the renewal invoices of the periods after the current ones in `conn`'s
/// transaction, numbered from the organizations' counters and mailed to their
/// billing contacts, in a few statements however many. False when a period has
/// its renewal or a subscription changed meanwhile: the caller rolls back.
async fn renew_in(
    core: &Core,
    conn: &mut Conn,
    priced: Vec<(Subscription, Priced)>,
) -> Result<bool, Error> {
    let Some(now) = priced.first().map(|(_, p)| p.now) else {
        return Ok(true);
    };
    let (mut due, orders): (Vec<Subscription>, Vec<Priced>) = priced.into_iter().unzip();
    let organizations: Vec<Organization> = orders.iter().map(|p| p.organization.clone()).collect();
    let issued = invoices::issue_many(core, &mut *conn, orders, "scheduler").await?;
    let renewals: Vec<(&str, Timestamp, &InvoiceId)> = due
        .iter()
        .zip(&issued)
        .map(|(s, (invoice, _))| (s.id.as_str(), s.current_period_end, &invoice.guid))
        .collect();
    if subscriptions::add_renewals(&mut *conn, &renewals, now).await? != due.len() as u64 {
        return Ok(false);
    }
    let mails: Vec<Option<mails::BillingMail>> = due
        .iter()
        .zip(&issued)
        .zip(&organizations)
        .map(|((s, (invoice, _)), org)| mails::mail(core, org, s, invoice, Notice::Invoiced))
        .collect();
    let payloads = mails
        .iter()
        .flatten()
        .map(|m| serde_json::to_value(m).map_err(Error::internal))
        .collect::<Result<Vec<_>, _>>()?;
    outbox::enqueue_many(&mut *conn, mails::BILLING_MAIL, &payloads).await?;
    let mores: Vec<serde_json::Value> = due
        .iter()
        .zip(&issued)
        .zip(&mails)
        .map(|((s, (invoice, _)), mail)| {
            json!({
                "invoiceGuid": invoice.guid,
                "number": invoice.number,
                "periodStart": s.current_period_end.rfc3339(),
                "mailedTo": mail.as_ref().map(|m| &m.to),
            })
        })
        .collect();
    let events: Vec<(&Subscription, serde_json::Value)> = due.iter().zip(mores).collect();
    record_many(
        core,
        &mut *conn,
        "subscription.renewal_invoiced",
        &events,
        now,
    )
    .await?;
    subscriptions::mark_renewal_issued(conn, &mut due, now).await
}

async fn remind(
    core: &Core,
    s: Subscription,
    kind: &str,
    days: u8,
    now: Timestamp,
) -> Result<Option<()>, Error> {
    let mut tx = core.store.begin().await?;
    let Some(invoice) = pending_renewal(&mut tx, &s).await? else {
        return Ok(None);
    };
    if !subscriptions::add_reminder(&mut tx, &invoice.guid, kind, now).await? {
        return Ok(None);
    }
    let mailed = mails::send(core, &mut tx, &s, &invoice, Notice::Reminder(days)).await?;
    let more = json!({
        "invoiceGuid": invoice.guid,
        "reminder": kind,
        "mailedTo": mailed,
    });
    record(core, &mut tx, "subscription.reminder_sent", &s, more, now).await?;
    tx.commit().await?;
    Ok(Some(()))
}

/// A period ended: canceled when so asked, otherwise past due (the license usable
/// for the grace days, the renewal invoice still payable).
async fn end(
    core: &Core,
    mut s: Subscription,
    now: Timestamp,
) -> Result<Option<SubscriptionStatus>, Error> {
    let mut tx = core.store.begin().await?;
    s.updated_at = now;
    if s.cancel_at_period_end {
        s.status = SubscriptionStatus::Canceled;
        record(
            core,
            &mut tx,
            "subscription.canceled",
            &s,
            json!({"at": "period_end"}),
            now,
        )
        .await?;
    } else {
        s.status = SubscriptionStatus::PastDue;
        let grace_end = s
            .current_period_end
            .plus_seconds(core.settings.grace_seconds);
        let invoice = pending_renewal(&mut tx, &s).await?;
        let mailed = match &invoice {
            Some(i) => mails::send(core, &mut tx, &s, i, Notice::PastDue(grace_end)).await?,
            None => None,
        };
        let more = json!({
            "graceEndsAt": grace_end.rfc3339(),
            "invoiceGuid": invoice.as_ref().map(|i| &i.guid),
            "mailedTo": mailed,
        });
        record(core, &mut tx, "subscription.past_due", &s, more, now).await?;
    }
    Ok(commit_over(tx, &mut s).await?.then_some(s.status))
}

/// The grace days passed unpaid: the subscription expires and its renewal invoice
/// is canceled.
async fn expire(core: &Core, mut s: Subscription, now: Timestamp) -> Result<Option<()>, Error> {
    let mut tx = core.store.begin().await?;
    let invoice = void_renewal(core, &mut tx, &s, now).await?;
    s.status = SubscriptionStatus::Expired;
    s.updated_at = now;
    let mailed = match &invoice {
        Some(i) => mails::send(core, &mut tx, &s, i, Notice::Expired).await?,
        None => None,
    };
    let more = json!({
        "canceledInvoiceGuid": invoice.as_ref().map(|i| &i.guid),
        "mailedTo": mailed,
    });
    record(core, &mut tx, "subscription.expired", &s, more, now).await?;
    Ok(commit_over(tx, &mut s).await?.then_some(()))
}
