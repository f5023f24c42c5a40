//! Subscriptions: one per organization and product, its current period the
//! organization's license for the product.

use crate::db::{AnyQuery, Conn, DbResult, Record, select};
use kopek_domain::Error;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::Payer;
use kopek_domain::sql::Flag;
use kopek_domain::subscription::SubscriptionStatus;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Subscription {
    pub id: String,
    pub organization_guid: OrganizationId,
    pub product_guid: String,
    pub plan_guid: String,
    pub quantity: i64,
    pub period_in_months: i64,
    pub current_period_start: Timestamp,
    pub current_period_end: Timestamp,
    pub status: SubscriptionStatus,
    #[sqlx(try_from = "Flag")]
    pub cancel_at_period_end: bool,
    #[sqlx(flatten, try_from = "crate::invoices::PayerColumns")]
    pub payer: Payer,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for Subscription {
    const TABLE: &'static str = "subscriptions";
    const COLUMNS: &'static str = "id, organization_guid, product_guid, plan_guid, quantity, \
        period_in_months, current_period_start, current_period_end, status, cancel_at_period_end, \
        payer_type, payer_guid, created_at, updated_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.organization_guid)
            .bind(&self.product_guid)
            .bind(&self.plan_guid)
            .bind(self.quantity)
            .bind(self.period_in_months)
            .bind(self.current_period_start)
            .bind(self.current_period_end)
            .bind(self.status)
            .bind(Flag(self.cancel_at_period_end))
            .bind(self.payer.kind())
            .bind(self.payer.id())
            .bind(self.created_at)
            .bind(self.updated_at)
    }
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Subscription>, Error> {
    crate::db::by_key(conn, id).await
}

/// The organization's subscription to the product, if it has one.
pub async fn of(
    conn: &mut Conn,
    organization_guid: &OrganizationId,
    product_guid: &str,
) -> Result<Option<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "WHERE organization_guid = $1 AND LOWER(product_guid) = LOWER($2)",
    ))
    .bind(organization_guid)
    .bind(product_guid)
    .fetch_optional(conn)
    .await
    .db()
}

pub async fn insert(conn: &mut Conn, s: &Subscription) -> Result<(), Error> {
    crate::db::insert(conn, s, &[]).await.db()
}

/// Writes every field but the id, the organization, the product and the creation.
pub async fn save(conn: &mut Conn, s: &Subscription) -> Result<(), Error> {
    sqlx::query(
        "UPDATE subscriptions SET plan_guid = $1, quantity = $2, period_in_months = $3, \
         current_period_start = $4, current_period_end = $5, status = $6, \
         cancel_at_period_end = $7, payer_type = $8, payer_guid = $9, updated_at = $10 \
         WHERE id = $11",
    )
    .bind(&s.plan_guid)
    .bind(s.quantity)
    .bind(s.period_in_months)
    .bind(s.current_period_start)
    .bind(s.current_period_end)
    .bind(s.status)
    .bind(Flag(s.cancel_at_period_end))
    .bind(s.payer.kind())
    .bind(s.payer.id())
    .bind(s.updated_at)
    .bind(&s.id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Which subscriptions a listing holds.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<SubscriptionStatus>,
    pub organization: Option<OrganizationId>,
    /// Only those whose current period ends before this.
    pub ending_before: Option<Timestamp>,
}

/// Subscriptions in id order after `after`, as `filter` says.
pub async fn list(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "WHERE ($1 = '' OR status = $1) AND ($2 = '' OR organization_guid = $2) \
         AND current_period_end < $3 AND id > $4 ORDER BY id LIMIT $5",
    ))
    .bind(filter.status.map_or("", SubscriptionStatus::as_str))
    .bind(filter.organization.as_ref().map_or("", |o| o.as_str()))
    .bind(filter.ending_before.map_or(i64::MAX, Timestamp::micros))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Active subscriptions, not ending, whose period ends by `by` and has no renewal
/// invoice yet: the soonest first.
pub async fn due_for_renewal(
    conn: &mut Conn,
    by: Timestamp,
    limit: i64,
) -> Result<Vec<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "s WHERE status = 'active' AND cancel_at_period_end = 0 AND current_period_end <= $1 \
         AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.subscription_id = s.id \
         AND r.period_start = s.current_period_end) \
         ORDER BY current_period_end, id LIMIT $2",
    ))
    .bind(by)
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Records `invoice_guid` as the renewal of the period starting at `period_start`,
/// in the invoice's transaction. False when the period has one already (another
/// process issued it first): the caller rolls back.
pub async fn add_renewal(
    conn: &mut Conn,
    subscription_id: &str,
    period_start: Timestamp,
    invoice_guid: &InvoiceId,
    now: Timestamp,
) -> Result<bool, Error> {
    let added = sqlx::query(
        "INSERT INTO renewals (subscription_id, period_start, invoice_guid, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (subscription_id, period_start) DO NOTHING",
    )
    .bind(subscription_id)
    .bind(period_start)
    .bind(invoice_guid)
    .bind(now)
    .execute(conn)
    .await
    .db()?;
    Ok(added.rows_affected() == 1)
}
