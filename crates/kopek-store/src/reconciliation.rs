//! What a reconciliation statement (акт сверки) reads of an organization: its
//! invoices, the payments and refunds of them, and its closing documents, in one
//! currency, in a period and before it.

use crate::db::{Conn, DbResult};
use kopek_domain::Error;
use kopek_domain::ids::OrganizationId;
use kopek_domain::money::Currency;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

/// One entry: what happened, when, with which document, for how much.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Entry {
    /// `invoice`, `payment`, `refund`, `upd` or `ukd`.
    pub kind: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// A closing document's own date (`YYYY-MM-DD`), which the statement shows.
    pub day: Option<String>,
    /// The invoice's number, or the closing document's.
    pub number: String,
    pub amount: i64,
}

/// The period, as the statement reads it: `[from, to)` in time, and the same
/// days as `YYYY-MM-DD` for closing documents, which are dated by day.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
    pub first_day: String,
    pub last_day: String,
}

/// The entries in the period, oldest first.
pub async fn entries(
    conn: &mut Conn,
    org: &OrganizationId,
    currency: Currency,
    p: &Period,
) -> Result<Vec<Entry>, Error> {
    sqlx::query_as(
        "SELECT kind, at, day, number, amount FROM ( \
           SELECT 'invoice' AS kind, created_at AS at, CAST(NULL AS TEXT) AS day, number, \
                  total AS amount FROM invoices \
            WHERE organization_guid = $1 AND currency = $2 AND created_at >= $3 AND created_at < $4 \
           UNION ALL \
           SELECT 'payment', p.created_at, CAST(NULL AS TEXT), i.number, p.amount FROM payments p \
             JOIN invoices i ON i.guid = p.invoice_guid \
            WHERE i.organization_guid = $1 AND p.currency = $2 AND p.created_at >= $3 AND p.created_at < $4 \
           UNION ALL \
           SELECT 'refund', updated_at, CAST(NULL AS TEXT), number, total FROM invoices \
            WHERE organization_guid = $1 AND currency = $2 AND status = 'Refunded' \
              AND updated_at >= $3 AND updated_at < $4 \
           UNION ALL \
           SELECT kind, created_at, issued_on, number, total FROM closing_documents \
            WHERE organization_guid = $1 AND currency = $2 AND issued_on >= $5 AND issued_on <= $6 \
         ) e ORDER BY at, number, kind",
    )
    .bind(org)
    .bind(currency)
    .bind(p.from)
    .bind(p.to)
    .bind(&p.first_day)
    .bind(&p.last_day)
    .fetch_all(conn)
    .await
    .db()
}

/// The balance before the period, from the seller's side: documented sales and
/// refunds paid out, less payments received (positive: the buyer owes).
pub async fn opening(
    conn: &mut Conn,
    org: &OrganizationId,
    currency: Currency,
    p: &Period,
) -> Result<i64, Error> {
    sqlx::query_scalar(
        "SELECT CAST( \
           (SELECT COALESCE(SUM(total), 0) FROM closing_documents \
             WHERE organization_guid = $1 AND currency = $2 AND issued_on < $4) \
         + (SELECT COALESCE(SUM(total), 0) FROM invoices \
             WHERE organization_guid = $1 AND currency = $2 AND status = 'Refunded' AND updated_at < $3) \
         - (SELECT COALESCE(SUM(p.amount), 0) FROM payments p JOIN invoices i ON i.guid = p.invoice_guid \
             WHERE i.organization_guid = $1 AND p.currency = $2 AND p.created_at < $3) \
         AS BIGINT)",
    )
    .bind(org)
    .bind(currency)
    .bind(p.from)
    .bind(&p.first_day)
    .fetch_one(conn)
    .await
    .db()
}
