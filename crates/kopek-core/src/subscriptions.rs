//! Subscriptions: made when an organization first pays for a product, moved on by
//! a period at each payment after, and read by the operator. The current period is
//! the organization's license for the product (LIFE POS shows it as
//! `acquired_license`), written in the same transaction.

use crate::Core;
use crate::access::OrgAccess;
use crate::events::{self, Subject};
use crate::invoices::{self, Order};
use crate::paging::PageQuery;
use kopek_domain::Error;
use kopek_domain::subscription::SubscriptionStatus;
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::invoices::Invoice;
use kopek_store::subscriptions::{self, Filter, Subscription};
use serde_json::json;

/// Records that `invoice` paid for the period `start..end`: the organization's
/// subscription to the product is made, or takes the invoice's plan, quantity and
/// period and moves on to the new period (active again, no longer ending).
pub(crate) async fn paid(
    core: &Core,
    conn: &mut Conn,
    invoice: &Invoice,
    existing: Option<Subscription>,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Result<Subscription, Error> {
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
                created_at: now,
                updated_at: now,
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
            s.updated_at = now;
            subscriptions::save(&mut *conn, &s).await?;
            (s, "subscription.renewed")
        }
    };
    let payload = json!({
        "subscriptionId": subscription.id,
        "invoiceGuid": invoice.guid,
        "currentPeriodStart": start.rfc3339(),
        "currentPeriodEnd": end.rfc3339(),
    });
    events::record(
        core,
        conn,
        event,
        Subject::Subscription(&subscription),
        &payload,
        now,
    )
    .await?;
    Ok(subscription)
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
    subscriptions::get(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "subscription",
            id: id.to_owned(),
        })
}

/// How many due subscriptions one scheduler pass takes.
pub const RENEWAL_BATCH: i64 = 100;

/// Issues the renewal invoice of each subscription whose period ends within the
/// lead time (`KOPEK_RENEWAL_LEAD_DAYS`): the same plan, quantity, period and payer,
/// priced from the catalog in force now, numbered from the organization's counter,
/// with a `subscription.renewal_invoiced` event. Each runs in its own transaction,
/// and a period's renewal is recorded under a unique key, so however many
/// processes run this, one invoice is issued per period (a loser's transaction,
/// number included, is rolled back). Answers how many it issued; one that cannot
/// be priced (its product or plan gone from the catalog) is logged and left.
pub async fn renew_due(core: &Core) -> Result<usize, Error> {
    let now = core.now();
    let due = {
        let mut conn = core.store.conn().await?;
        subscriptions::due_for_renewal(
            &mut conn,
            now.plus_seconds(core.settings.renewal_lead_seconds),
            RENEWAL_BATCH,
        )
        .await?
    };
    let mut issued = 0;
    for subscription in due {
        match renew(core, &subscription).await {
            Ok(true) => issued += 1,
            Ok(false) => {}
            Err(e @ Error::Internal(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(subscription = %subscription.id, error = %e, "the renewal invoice could not be issued")
            }
        }
    }
    Ok(issued)
}

async fn renew(core: &Core, subscription: &Subscription) -> Result<bool, Error> {
    let order = Order {
        organization: subscription.organization_guid.clone(),
        product: subscription.product_guid.clone(),
        plan: Some(subscription.plan_guid.clone()),
        quantity: Some(subscription.quantity),
        period_in_months: Some(subscription.period_in_months),
        payer: Some(subscription.payer.id().to_owned()),
    };
    let priced = invoices::price(core, &OrgAccess::All, order).await?;
    let now = priced.now;
    let mut tx = core.store.begin().await?;
    let invoice = invoices::issue(core, &mut tx, priced, "scheduler").await?;
    let period_start = subscription.current_period_end;
    if !subscriptions::add_renewal(&mut tx, &subscription.id, period_start, &invoice.guid, now)
        .await?
    {
        return Ok(false);
    }
    let payload = json!({
        "subscriptionId": subscription.id,
        "invoiceGuid": invoice.guid,
        "number": invoice.number,
        "periodStart": period_start.rfc3339(),
    });
    events::record(
        core,
        &mut tx,
        "subscription.renewal_invoiced",
        Subject::Subscription(subscription),
        &payload,
        now,
    )
    .await?;
    tx.commit().await.map_err(Error::internal)?;
    Ok(true)
}
