//! Closing documents (УПД, and УКД correcting them) and the schedules that say
//! which are still to be made for a paid invoice.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::closing::{Line, Party};
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::money::Currency;
use kopek_domain::sql::Json;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

/// What is still to be documented of a paid invoice.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Schedule {
    pub invoice_guid: InvoiceId,
    pub schedule: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub paid_at: Timestamp,
    pub parts: i64,
    /// The next part to issue (1-based).
    pub next_part: i64,
    pub next_due: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Record for Schedule {
    const TABLE: &'static str = "closing_schedules";
    const COLUMNS: &'static str = "invoice_guid, schedule, period_start, period_end, paid_at, \
        parts, next_part, next_due, created_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.invoice_guid)
            .bind(&self.schedule)
            .bind(self.period_start)
            .bind(self.period_end)
            .bind(self.paid_at)
            .bind(self.parts)
            .bind(self.next_part)
            .bind(self.next_due)
            .bind(self.created_at)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClosingDocument {
    pub id: String,
    /// `upd`, or `ukd` for a correction.
    pub kind: String,
    pub number: String,
    pub year: i64,
    pub seq: i64,
    pub invoice_guid: InvoiceId,
    pub organization_guid: OrganizationId,
    pub part: i64,
    pub revision: i64,
    /// The document a correction corrects.
    pub corrects: Option<String>,
    pub service_start: Timestamp,
    pub service_end: Timestamp,
    /// `YYYY-MM-DD`.
    pub issued_on: String,
    pub currency: Currency,
    #[sqlx(try_from = "Json<Vec<Line>>")]
    pub lines: Vec<Line>,
    /// The amount with VAT (a correction's: the change, negative for a decrease).
    pub total: i64,
    pub vat: i64,
    pub vat_basis_points: i64,
    #[sqlx(try_from = "Json<Party>")]
    pub seller: Party,
    #[sqlx(try_from = "Json<Party>")]
    pub buyer: Party,
    /// The GUID in the XML's file id (ИдФайл).
    pub file_guid: String,
    pub created_at: Timestamp,
}

impl ClosingDocument {
    /// The document's date (`issued_on` as a day).
    pub fn date(&self) -> time::Date {
        kopek_domain::time::parse_day(&self.issued_on).unwrap_or_else(|| self.created_at.date())
    }
}

impl Record for ClosingDocument {
    const TABLE: &'static str = "closing_documents";
    const COLUMNS: &'static str = "id, kind, number, year, seq, invoice_guid, organization_guid, \
        part, revision, corrects, service_start, service_end, issued_on, currency, lines, total, \
        vat, vat_basis_points, seller, buyer, file_guid, created_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.kind)
            .bind(&self.number)
            .bind(self.year)
            .bind(self.seq)
            .bind(&self.invoice_guid)
            .bind(&self.organization_guid)
            .bind(self.part)
            .bind(self.revision)
            .bind(&self.corrects)
            .bind(self.service_start)
            .bind(self.service_end)
            .bind(&self.issued_on)
            .bind(self.currency)
            .bind(Json(&self.lines))
            .bind(self.total)
            .bind(self.vat)
            .bind(self.vat_basis_points)
            .bind(Json(&self.seller))
            .bind(Json(&self.buyer))
            .bind(&self.file_guid)
            .bind(self.created_at)
    }
}

/// The name of the gapless counter of closing document numbers in `year`.
pub fn counter(year: i32) -> String {
    format!("closing:{year}")
}

/// Records what is to be documented of a paid invoice; a second schedule of the
/// same invoice (a payment recorded twice cannot happen, but a retry can) is
/// ignored.
pub async fn schedule(conn: &mut Conn, s: &Schedule) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO closing_schedules ({}) VALUES ({}) ON CONFLICT (invoice_guid) DO NOTHING",
        Schedule::COLUMNS,
        crate::db::marks(Schedule::COLUMNS.split(',').count())
    );
    s.bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .run(conn)
        .await
}

/// Schedules with a part due by `now`, the longest waiting first.
pub async fn due(conn: &mut Conn, now: Timestamp, limit: i64) -> Result<Vec<Schedule>, Error> {
    sqlx::query_as(select::<Schedule>(
        "WHERE next_due IS NOT NULL AND next_due <= $1 ORDER BY next_due, invoice_guid LIMIT $2",
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

pub async fn schedule_of(conn: &mut Conn, invoice: &InvoiceId) -> Result<Option<Schedule>, Error> {
    crate::db::by_key(conn, invoice.as_str()).await
}

/// The paid invoices of an organization's product whose documented service runs
/// past `now`, oldest first.
pub async fn running(
    conn: &mut Conn,
    organization: &OrganizationId,
    product: &str,
    now: Timestamp,
) -> Result<Vec<InvoiceId>, Error> {
    sqlx::query_scalar(
        "SELECT s.invoice_guid FROM closing_schedules s \
         JOIN invoices i ON i.guid = s.invoice_guid \
         WHERE i.organization_guid = $1 AND i.product_guid = $2 AND i.status = $3 \
         AND s.period_end > $4 ORDER BY s.created_at, s.invoice_guid",
    )
    .bind(organization)
    .bind(product)
    .bind(InvoiceStatus::Paid)
    .bind(now)
    .fetch_all(conn)
    .await
    .db()
}

/// Moves a schedule from part `from` on to the next (due at `next_due`, None when
/// none is left); false when another process moved it first.
pub async fn advance(
    conn: &mut Conn,
    invoice: &InvoiceId,
    from: i64,
    next_due: Option<Timestamp>,
) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE closing_schedules SET next_part = next_part + 1, next_due = $1 \
         WHERE invoice_guid = $2 AND next_part = $3",
    )
    .bind(next_due)
    .bind(invoice)
    .bind(from)
    .changed_one(conn)
    .await
}

/// Ends a schedule: nothing more is issued for the invoice. The part moves past
/// the last, so a process about to issue the next one finds it moved.
pub async fn stop(conn: &mut Conn, invoice: &InvoiceId) -> Result<(), Error> {
    sqlx::query(
        "UPDATE closing_schedules SET next_due = NULL, next_part = parts + 1 \
         WHERE invoice_guid = $1",
    )
    .bind(invoice)
    .run(conn)
    .await
}

pub async fn insert(conn: &mut Conn, d: &ClosingDocument) -> Result<(), Error> {
    crate::db::insert(conn, d, &[]).await.db()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ClosingDocument>, Error> {
    crate::db::by_key(conn, id).await
}

/// The documents and corrections of an invoice, in the order they were made.
pub async fn of_invoice(
    conn: &mut Conn,
    invoice: &InvoiceId,
) -> Result<Vec<ClosingDocument>, Error> {
    sqlx::query_as(select::<ClosingDocument>(
        "WHERE invoice_guid = $1 ORDER BY part, revision",
    ))
    .bind(invoice)
    .fetch_all(conn)
    .await
    .db()
}

/// The ids among `ids` that a correction corrects.
pub async fn corrected(conn: &mut Conn, ids: &[&str]) -> Result<Vec<String>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT corrects FROM closing_documents WHERE corrects IN ({})",
        crate::db::marks(ids.len())
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(conn).await.db()
}

/// Which documents a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub organization: Option<OrganizationId>,
    /// Documents dated on or after (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Documents dated on or before.
    pub to: Option<String>,
    /// `issued` (not corrected), `corrected`, or `correction` (the УКД).
    pub status: Option<String>,
    pub number: Option<String>,
}

/// One page, newest first (ids grow with time), after the previous page's last
/// id.
pub async fn list(
    conn: &mut Conn,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ClosingDocument>, Error> {
    let status = match f.status.as_deref() {
        Some("issued") => {
            "AND kind = 'upd' AND NOT EXISTS \
             (SELECT 1 FROM closing_documents c WHERE c.corrects = closing_documents.id)"
        }
        // A correction that was corrected again (a cancel's, then a refund's)
        // is listed, and shown, as a correction.
        Some("corrected") => {
            "AND kind = 'upd' AND EXISTS \
             (SELECT 1 FROM closing_documents c WHERE c.corrects = closing_documents.id)"
        }
        Some("correction") => "AND kind = 'ukd'",
        _ => "",
    };
    let sql = select::<ClosingDocument>(&format!(
        "WHERE ($1 = '' OR organization_guid = $1) AND ($2 = '' OR issued_on >= $2) \
         AND ($3 = '' OR issued_on <= $3) AND ($4 = '' OR number = $4) {status} \
         AND ($5 = '' OR id < $5) ORDER BY id DESC LIMIT $6"
    ));
    sqlx::query_as(sql)
        .bind(f.organization.as_ref().map_or("", |o| o.as_str()))
        .bind(f.from.as_deref().unwrap_or_default())
        .bind(f.to.as_deref().unwrap_or_default())
        .bind(f.number.as_deref().unwrap_or_default())
        .bind(after.unwrap_or_default())
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}
