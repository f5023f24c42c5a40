//! Invoices, their payments, and the licenses payments extend.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::company::Company;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::{InvoiceStatus, Payer, Position, Quote};
use kopek_domain::money::{Currency, Money};
use kopek_domain::sql::Json;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invoice {
    pub guid: InvoiceId,
    pub organization_guid: OrganizationId,
    /// The gapless per-organization sequence number behind `number`.
    pub seq: i64,
    pub number: String,
    pub catalog_version: i64,
    pub product_guid: String,
    pub plan_guid: String,
    pub period_in_months: i64,
    pub quantity: i64,
    /// The buyer as it was when the invoice was made.
    #[sqlx(try_from = "Json<Company>")]
    pub company: Company,
    /// Its positions, total and VAT, as priced when it was made.
    #[sqlx(flatten, try_from = "Amounts")]
    pub quote: Quote,
    pub status: InvoiceStatus,
    #[sqlx(flatten, try_from = "PayerColumns")]
    pub payer: Payer,
    pub meta: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub paid_at: Option<Timestamp>,
}

impl Invoice {
    pub fn currency(&self) -> Currency {
        self.quote.total.currency()
    }
}

/// A position as the `positions` column keeps it: the invoice's currency is kept
/// once, beside the totals.
#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    name: String,
    quantity: i64,
    price: i64,
    total: i64,
    vat: i64,
}

/// The money columns of an invoice.
#[derive(FromRow)]
struct Amounts {
    positions: Json<Vec<Line>>,
    currency: Currency,
    total: i64,
    vat: i64,
    vat_basis_points: i64,
}

impl From<Amounts> for Quote {
    fn from(a: Amounts) -> Quote {
        let money = |minor| Money::new(minor, a.currency);
        Quote {
            positions: a
                .positions
                .0
                .into_iter()
                .map(|l| Position {
                    name: l.name,
                    quantity: l.quantity,
                    price: money(l.price),
                    total: money(l.total),
                    vat: money(l.vat),
                })
                .collect(),
            total: money(a.total),
            vat: money(a.vat),
            vat_basis_points: a.vat_basis_points,
        }
    }
}

fn lines(positions: &[Position]) -> Vec<Line> {
    positions
        .iter()
        .map(|p| Line {
            name: p.name.clone(),
            quantity: p.quantity,
            price: p.price.minor(),
            total: p.total.minor(),
            vat: p.vat.minor(),
        })
        .collect()
}

#[derive(FromRow)]
pub(crate) struct PayerColumns {
    payer_type: String,
    payer_guid: String,
}

impl TryFrom<PayerColumns> for Payer {
    type Error = String;

    fn try_from(p: PayerColumns) -> Result<Payer, String> {
        let kind = p.payer_type;
        Payer::of_kind(&kind, p.payer_guid).ok_or_else(|| format!("unknown payer type {kind:?}"))
    }
}

impl Record for Invoice {
    const TABLE: &'static str = "invoices";
    const COLUMNS: &'static str = "guid, organization_guid, seq, number, catalog_version, \
        product_guid, plan_guid, period_in_months, quantity, company, positions, currency, total, \
        vat, vat_basis_points, status, payer_type, payer_guid, meta, created_by, created_at, \
        updated_at, paid_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.guid)
            .bind(&self.organization_guid)
            .bind(self.seq)
            .bind(&self.number)
            .bind(self.catalog_version)
            .bind(&self.product_guid)
            .bind(&self.plan_guid)
            .bind(self.period_in_months)
            .bind(self.quantity)
            .bind(Json(&self.company))
            .bind(Json(lines(&self.quote.positions)))
            .bind(self.currency())
            .bind(self.quote.total.minor())
            .bind(self.quote.vat.minor())
            .bind(self.quote.vat_basis_points)
            .bind(self.status)
            .bind(self.payer.kind())
            .bind(self.payer.id())
            .bind(&self.meta)
            .bind(&self.created_by)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.paid_at)
    }
}

/// Stores new invoices, in one statement.
pub async fn insert_many(conn: &mut Conn, invoices: &[Invoice]) -> Result<(), Error> {
    crate::db::insert_many(conn, invoices).await
}

/// The counter an organization's invoice numbers come from (taken in the
/// transaction that stores the invoice, so that a request that fails hands its
/// number back and numbers stay gapless).
pub fn counter(organization_guid: &OrganizationId) -> String {
    format!("invoice:{organization_guid}")
}

pub async fn get(conn: &mut Conn, guid: &InvoiceId) -> Result<Option<Invoice>, Error> {
    crate::db::by_key(conn, guid.as_str().to_ascii_lowercase()).await
}

/// Which invoices of an organization a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
}

const FILTER: &str = "organization_guid = $1 AND created_at >= $2 AND created_at <= $3 \
                      AND updated_at >= $4 AND updated_at <= $5";

fn bounds(f: &Filter) -> [i64; 4] {
    [
        f.created_from.map_or(i64::MIN, Timestamp::micros),
        f.created_to.map_or(i64::MAX, Timestamp::micros),
        f.updated_from.map_or(i64::MIN, Timestamp::micros),
        f.updated_to.map_or(i64::MAX, Timestamp::micros),
    ]
}

pub async fn count(
    conn: &mut Conn,
    organization_guid: &OrganizationId,
    filter: &Filter,
) -> Result<i64, Error> {
    let [a, b, c, d] = bounds(filter);
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM invoices WHERE {FILTER}"
    )))
    .bind(organization_guid)
    .bind(a)
    .bind(b)
    .bind(c)
    .bind(d)
    .fetch_one(conn)
    .await
    .db()
}

/// One page in creation order (newest first when `descending`), after the
/// `(created_at, guid)` of the previous page's last invoice.
pub async fn list(
    conn: &mut Conn,
    organization_guid: &OrganizationId,
    filter: &Filter,
    descending: bool,
    after: Option<(Timestamp, String)>,
    limit: i64,
) -> Result<Vec<Invoice>, Error> {
    let [a, b, c, d] = bounds(filter);
    let (cmp, order) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    // Without a cursor, a bound no row can pass keeps one statement for both cases.
    let (at, guid) = match after {
        Some((t, g)) => (t.micros(), g),
        None if descending => (i64::MAX, String::new()),
        None => (i64::MIN, String::new()),
    };
    let first_page = i64::from(guid.is_empty());
    let sql = select::<Invoice>(&format!(
        "WHERE {FILTER} \
         AND ($6 = 1 OR created_at {cmp} $7 OR (created_at = $7 AND guid {cmp} $8)) \
         ORDER BY created_at {order}, guid {order} LIMIT $9"
    ));
    sqlx::query_as(sql)
        .bind(organization_guid)
        .bind(a)
        .bind(b)
        .bind(c)
        .bind(d)
        .bind(first_page)
        .bind(at)
        .bind(guid)
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}

/// Moves an invoice from `from` to `to`; false when it was no longer in `from`.
pub async fn transition(
    conn: &mut Conn,
    guid: &InvoiceId,
    from: InvoiceStatus,
    to: InvoiceStatus,
    now: Timestamp,
) -> Result<bool, Error> {
    let paid_at = (to == InvoiceStatus::Paid).then_some(now);
    sqlx::query(
        "UPDATE invoices SET status = $1, updated_at = $2, paid_at = COALESCE($3, paid_at) WHERE guid = $4 AND status = $5",
    )
    .bind(to)
    .bind(now)
    .bind(paid_at)
    .bind(guid)
    .bind(from)
    .changed_one(conn).await
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Payment {
    pub id: String,
    pub invoice_guid: InvoiceId,
    #[sqlx(flatten, try_from = "PaidAmount")]
    pub amount: Money,
    /// `manual` (operator), `card`, `transfer`, or a provider's name.
    pub method: String,
    pub reference: Option<String>,
    pub created_at: Timestamp,
}

#[derive(FromRow)]
struct PaidAmount {
    amount: i64,
    currency: Currency,
}

impl From<PaidAmount> for Money {
    fn from(p: PaidAmount) -> Money {
        Money::new(p.amount, p.currency)
    }
}

impl Record for Payment {
    const TABLE: &'static str = "payments";
    const COLUMNS: &'static str =
        "id, invoice_guid, amount, currency, method, reference, created_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.invoice_guid)
            .bind(self.amount.minor())
            .bind(self.amount.currency())
            .bind(&self.method)
            .bind(&self.reference)
            .bind(self.created_at)
    }
}

pub async fn insert_payment(conn: &mut Conn, p: &Payment) -> Result<(), Error> {
    crate::db::insert(conn, p, &[]).await.db()
}

/// The invoices numbered any of `numbers`, of any organization.
pub async fn numbered(conn: &mut Conn, numbers: &[&str]) -> Result<Vec<Invoice>, Error> {
    crate::db::where_in(conn, "number", numbers, "").await
}

/// The payments of an invoice, oldest first.
pub async fn payments_of(conn: &mut Conn, invoice_guid: &InvoiceId) -> Result<Vec<Payment>, Error> {
    sqlx::query_as(select::<Payment>(
        "WHERE invoice_guid = $1 ORDER BY created_at, id",
    ))
    .bind(invoice_guid)
    .fetch_all(conn)
    .await
    .db()
}

/// An organization's license for one product.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct License {
    pub organization_guid: OrganizationId,
    pub product_guid: String,
    pub plan_guid: String,
    pub plan_name: String,
    pub quantity: i64,
    pub expires_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Record for License {
    const TABLE: &'static str = "licenses";
    const COLUMNS: &'static str =
        "organization_guid, product_guid, plan_guid, plan_name, quantity, expires_at, updated_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.organization_guid)
            .bind(&self.product_guid)
            .bind(&self.plan_guid)
            .bind(&self.plan_name)
            .bind(self.quantity)
            .bind(self.expires_at)
            .bind(self.updated_at)
    }
}

pub async fn licenses(
    conn: &mut Conn,
    organization_guid: &OrganizationId,
) -> Result<Vec<License>, Error> {
    sqlx::query_as(select::<License>(
        "WHERE organization_guid = $1 ORDER BY product_guid",
    ))
    .bind(organization_guid)
    .fetch_all(conn)
    .await
    .db()
}

/// Saves a license, replacing the organization's license for the same product.
pub async fn save_license(conn: &mut Conn, l: &License) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO licenses ({}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (organization_guid, product_guid) DO UPDATE SET \
         plan_guid = $3, plan_name = $4, quantity = $5, expires_at = $6, updated_at = $7",
        License::COLUMNS
    );
    l.bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .run(conn)
        .await
}

/// Which invoices a search across organizations finds; `None` matches any.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub status: Option<InvoiceStatus>,
    pub organization: Option<OrganizationId>,
    pub number: Option<String>,
    pub created_from: Option<Timestamp>,
    /// Exclusive.
    pub created_to: Option<Timestamp>,
}

/// One page of a search across organizations, newest first, after the
/// `(created_at, guid)` of the previous page's last invoice. Only the conditions
/// asked for are in the statement, so each search uses the index that fits it.
pub async fn search(
    conn: &mut Conn,
    search: &Search,
    after: Option<(Timestamp, String)>,
    limit: i64,
) -> Result<Vec<Invoice>, Error> {
    fn equal<'a>(column: &str, value: &'a str, texts: &mut Vec<&'a str>) -> String {
        texts.push(value);
        format!("{column} = ${}", texts.len())
    }
    let mut conditions: Vec<String> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    if let Some(status) = search.status {
        conditions.push(equal("status", status.as_str(), &mut texts));
    }
    if let Some(org) = &search.organization {
        conditions.push(equal("organization_guid", org.as_str(), &mut texts));
    }
    if let Some(number) = &search.number {
        conditions.push(equal("number", number, &mut texts));
    }
    let n = texts.len();
    let mut times: Vec<i64> = Vec::new();
    if let Some(from) = search.created_from {
        times.push(from.micros());
        conditions.push(format!("created_at >= ${}", n + times.len()));
    }
    if let Some(to) = search.created_to {
        times.push(to.micros());
        conditions.push(format!("created_at < ${}", n + times.len()));
    }
    let n = n + times.len();
    if after.is_some() {
        conditions.push(format!(
            "(created_at < ${a} OR (created_at = ${a} AND guid < ${g}))",
            a = n + 1,
            g = n + 2
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit_at = n + if after.is_some() { 3 } else { 1 };
    let sql = select::<Invoice>(&format!(
        "{filter} ORDER BY created_at DESC, guid DESC LIMIT ${limit_at}"
    ));
    let mut query = sqlx::query_as(sql);
    for value in texts {
        query = query.bind(value);
    }
    for value in times {
        query = query.bind(value);
    }
    if let Some((at, guid)) = after {
        query = query.bind(at).bind(guid);
    }
    query.bind(limit).fetch_all(conn).await.db()
}
