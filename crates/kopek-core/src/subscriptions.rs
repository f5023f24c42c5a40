//! Subscriptions: made when an organization first pays for a product, moved on by
//! a period at each payment after, and read by the operator. The current period is
//! the organization's license for the product (LIFE POS shows it as
//! `acquired_license`), written in the same transaction.

use crate::Core;
use crate::events::{self, Subject};
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
