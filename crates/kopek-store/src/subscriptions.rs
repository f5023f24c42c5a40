//! Subscriptions: one per organization and product, its current period the
//! organization's license for the product.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::{InvoiceStatus, Payer};
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
    /// A downgrade waiting for the period's end: the plan and quantity the next
    /// renewal is for.
    pub next_plan_guid: Option<String>,
    pub next_quantity: Option<i64>,
    /// Whether the next period's renewal invoice has been issued (the renewals
    /// table holds which; this keeps the due ones in an index of their own).
    #[sqlx(try_from = "Flag")]
    pub renewal_issued: bool,
    /// The invoice whose payment bought the current period (none for periods paid
    /// before this was kept).
    pub period_invoice_guid: Option<InvoiceId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Moved on by every [`save`]; a save over a stale version is refused.
    pub version: i64,
}

impl Subscription {
    /// The plan and quantity the next period is for.
    pub fn next_plan(&self) -> (&str, i64) {
        (
            self.next_plan_guid.as_deref().unwrap_or(&self.plan_guid),
            self.next_quantity.unwrap_or(self.quantity),
        )
    }
}

impl Record for Subscription {
    const TABLE: &'static str = "subscriptions";
    const COLUMNS: &'static str = "id, organization_guid, product_guid, plan_guid, quantity, \
        period_in_months, current_period_start, current_period_end, status, cancel_at_period_end, \
        payer_type, payer_guid, next_plan_guid, next_quantity, renewal_issued, \
        period_invoice_guid, created_at, updated_at, version";

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
            .bind(&self.next_plan_guid)
            .bind(self.next_quantity)
            .bind(Flag(self.renewal_issued))
            .bind(&self.period_invoice_guid)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.version)
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

/// Writes every field but the id, the organization, the product and the creation,
/// over the version `s` was read at, and moves the version on. False when another
/// change came first: the caller's reading is stale.
pub async fn save(conn: &mut Conn, s: &mut Subscription) -> Result<bool, Error> {
    if sqlx::query(
        "UPDATE subscriptions SET plan_guid = $1, quantity = $2, period_in_months = $3, \
         current_period_start = $4, current_period_end = $5, status = $6, \
         cancel_at_period_end = $7, payer_type = $8, payer_guid = $9, next_plan_guid = $10, \
         next_quantity = $11, renewal_issued = $12, period_invoice_guid = $13, updated_at = $14, \
         version = version + 1 WHERE id = $15 AND version = $16",
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
    .bind(&s.next_plan_guid)
    .bind(s.next_quantity)
    .bind(Flag(s.renewal_issued))
    .bind(&s.period_invoice_guid)
    .bind(s.updated_at)
    .bind(&s.id)
    .bind(s.version)
    .changed_one(conn)
    .await?
    {
        s.version += 1;
        Ok(true)
    } else {
        Ok(false)
    }
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

/// Subscriptions to renew (active, or past due without their renewal invoice, and
/// not ending) whose period ends by `by` and has no renewal invoice yet: the
/// soonest first. The terms match the partial index `subscriptions_to_renew`, so
/// the renewed ones are never read again.
pub async fn due_for_renewal(
    conn: &mut Conn,
    by: Timestamp,
    limit: i64,
) -> Result<Vec<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "WHERE renewal_issued = 0 AND cancel_at_period_end = 0 \
         AND status NOT IN ('expired', 'canceled') AND current_period_end <= $1 \
         ORDER BY current_period_end, id LIMIT $2",
    ))
    .bind(by)
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Subscriptions in `status` whose period ended by `by`: the soonest first.
pub async fn ended(
    conn: &mut Conn,
    status: SubscriptionStatus,
    by: Timestamp,
    limit: i64,
) -> Result<Vec<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "WHERE status = $1 AND current_period_end <= $2 ORDER BY current_period_end, id LIMIT $3",
    ))
    .bind(status)
    .bind(by)
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Active subscriptions ending after `now` and by `by` whose renewal invoice is
/// pending and has had neither the reminder `kind` nor the later `1_day` one.
pub async fn due_for_reminder(
    conn: &mut Conn,
    kind: &str,
    now: Timestamp,
    by: Timestamp,
    limit: i64,
) -> Result<Vec<Subscription>, Error> {
    sqlx::query_as(select::<Subscription>(
        "s WHERE status = 'active' AND current_period_end > $1 AND current_period_end <= $2 \
         AND EXISTS (SELECT 1 FROM renewals r JOIN invoices i ON i.guid = r.invoice_guid \
         WHERE r.subscription_id = s.id AND r.period_start = s.current_period_end \
         AND i.status = $5 AND NOT EXISTS (SELECT 1 FROM renewal_reminders m \
         WHERE m.invoice_guid = r.invoice_guid AND m.kind IN ($3, '1_day'))) \
         ORDER BY current_period_end, id LIMIT $4",
    ))
    .bind(now)
    .bind(by)
    .bind(kind)
    .bind(limit)
    .bind(InvoiceStatus::Pending)
    .fetch_all(conn)
    .await
    .db()
}

/// Records that the reminder `kind` of a renewal invoice was sent; false when it
/// had been (another process sent it first).
pub async fn add_reminder(
    conn: &mut Conn,
    invoice_guid: &InvoiceId,
    kind: &str,
    now: Timestamp,
) -> Result<bool, Error> {
    sqlx::query(
        "INSERT INTO renewal_reminders (invoice_guid, kind, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (invoice_guid, kind) DO NOTHING",
    )
    .bind(invoice_guid)
    .bind(kind)
    .bind(now)
    .changed_one(conn)
    .await
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
    sqlx::query(
        "INSERT INTO renewals (subscription_id, period_start, invoice_guid, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (subscription_id, period_start) DO NOTHING",
    )
    .bind(subscription_id)
    .bind(period_start)
    .bind(invoice_guid)
    .bind(now)
    .changed_one(conn)
    .await
}

/// [`add_renewal`] for many (subscription, period start, invoice) at once;
/// answers how many were added (fewer when another process came first for some).
pub async fn add_renewals(
    conn: &mut Conn,
    renewals: &[(&str, Timestamp, &InvoiceId)],
    now: Timestamp,
) -> Result<u64, Error> {
    if renewals.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "INSERT INTO renewals (subscription_id, period_start, invoice_guid, created_at) \
         VALUES {} ON CONFLICT (subscription_id, period_start) DO NOTHING",
        crate::db::row_marks(renewals.len(), 4)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (subscription, start, invoice) in renewals {
        query = query
            .bind(*subscription)
            .bind(*start)
            .bind(*invoice)
            .bind(now);
    }
    Ok(query.execute(conn).await.db()?.rows_affected())
}

/// Marks the subscriptions' next renewal as issued, each over the version it was
/// read at (and moves it on); false when any had changed meanwhile (the caller
/// rolls back).
pub async fn mark_renewal_issued(
    conn: &mut Conn,
    subscriptions: &mut [Subscription],
    now: Timestamp,
) -> Result<bool, Error> {
    if subscriptions.is_empty() {
        return Ok(true);
    }
    let which = (0..subscriptions.len())
        .map(|i| format!("(id = ${} AND version = ${})", 2 + 2 * i, 3 + 2 * i))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "UPDATE subscriptions SET renewal_issued = 1, updated_at = $1, version = version + 1 \
         WHERE {which}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for s in subscriptions.iter() {
        query = query.bind(&s.id).bind(s.version);
    }
    let done = query.execute(conn).await.db()?;
    if done.rows_affected() != subscriptions.len() as u64 {
        return Ok(false);
    }
    for s in subscriptions.iter_mut() {
        s.renewal_issued = true;
        s.updated_at = now;
        s.version += 1;
    }
    Ok(true)
}

/// The renewal invoice of the period starting at `period_start`, if one was issued.
pub async fn renewal_invoice(
    conn: &mut Conn,
    subscription_id: &str,
    period_start: Timestamp,
) -> Result<Option<InvoiceId>, Error> {
    sqlx::query_scalar(
        "SELECT invoice_guid FROM renewals WHERE subscription_id = $1 AND period_start = $2",
    )
    .bind(subscription_id)
    .bind(period_start)
    .fetch_optional(conn)
    .await
    .db()
}

/// Forgets the renewal of a period whose invoice was canceled while the
/// subscription goes on (a downgrade, a resumed cancel), so that it is issued anew.
pub async fn forget_renewal(
    conn: &mut Conn,
    subscription_id: &str,
    period_start: Timestamp,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM renewals WHERE subscription_id = $1 AND period_start = $2")
        .bind(subscription_id)
        .bind(period_start)
        .run(conn)
        .await
}

/// What paying an invoice does to a subscription besides buying a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Renews the subscription for the period starting at this instant.
    Renewal(Timestamp),
    /// Switches the subscription to the invoice's plan for the rest of the period
    /// ending at this instant.
    PlanChange(Timestamp),
}

/// Whether an invoice renews a period or changes a plan (neither: a new purchase).
pub async fn purpose(conn: &mut Conn, invoice_guid: &InvoiceId) -> Result<Option<Purpose>, Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT CAST(0 AS BIGINT), period_start FROM renewals WHERE invoice_guid = $1 \
         UNION ALL SELECT CAST(1 AS BIGINT), period_end FROM plan_changes WHERE invoice_guid = $1",
    )
    .bind(invoice_guid)
    .fetch_optional(conn)
    .await
    .db()?;
    Ok(row.map(|(kind, at)| match kind {
        0 => Purpose::Renewal(Timestamp::from_micros(at)),
        _ => Purpose::PlanChange(Timestamp::from_micros(at)),
    }))
}

/// Records `invoice_guid` as the upgrade of a subscription for the rest of the
/// period ending at `period_end`.
pub async fn add_plan_change(
    conn: &mut Conn,
    invoice_guid: &InvoiceId,
    subscription_id: &str,
    period_end: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO plan_changes (invoice_guid, subscription_id, period_end, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(invoice_guid)
    .bind(subscription_id)
    .bind(period_end)
    .bind(now)
    .run(conn)
    .await
}

/// The unpaid upgrade invoices of a subscription.
pub async fn pending_plan_changes(
    conn: &mut Conn,
    subscription_id: &str,
) -> Result<Vec<InvoiceId>, Error> {
    sqlx::query_scalar(
        "SELECT p.invoice_guid FROM plan_changes p JOIN invoices i ON i.guid = p.invoice_guid \
         WHERE p.subscription_id = $1 AND i.status = $2 ORDER BY p.created_at",
    )
    .bind(subscription_id)
    .bind(InvoiceStatus::Pending)
    .fetch_all(conn)
    .await
    .db()
}
