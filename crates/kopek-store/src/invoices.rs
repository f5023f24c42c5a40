//! Invoices, their payments, and the licenses payments extend.

use crate::db::{Conn, DbResult, next_value};
use kopek_domain::Error;
use kopek_domain::company::Company;
use kopek_domain::invoice::{InvoiceStatus, Position};
use kopek_domain::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub guid: String,
    pub organization_guid: String,
    /// The gapless per-organization sequence number behind `number`.
    pub seq: i64,
    pub number: String,
    pub catalog_version: i64,
    pub product_guid: String,
    pub plan_guid: String,
    pub period_in_months: i64,
    pub quantity: i64,
    /// The buyer as it was when the invoice was made.
    pub company: Company,
    pub positions: Vec<Position>,
    pub currency: String,
    pub total: i64,
    pub vat: i64,
    pub vat_basis_points: i64,
    pub status: InvoiceStatus,
    /// Who pays: `Organization` (the buyer) or `BillingAccount` (a reseller).
    pub payer_type: String,
    pub payer_guid: String,
    pub meta: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub paid_at: Option<Timestamp>,
}

const COLUMNS: &str = "guid, organization_guid, seq, number, catalog_version, product_guid, plan_guid, \
    period_in_months, quantity, company, positions, currency, total, vat, vat_basis_points, status, \
    payer_type, payer_guid, meta, created_by, created_at, updated_at, paid_at";

fn from_row(row: &AnyRow) -> Result<Invoice, Error> {
    let company: String = row.try_get("company").db()?;
    let positions: String = row.try_get("positions").db()?;
    let status: String = row.try_get("status").db()?;
    Ok(Invoice {
        guid: row.try_get("guid").db()?,
        organization_guid: row.try_get("organization_guid").db()?,
        seq: row.try_get("seq").db()?,
        number: row.try_get("number").db()?,
        catalog_version: row.try_get("catalog_version").db()?,
        product_guid: row.try_get("product_guid").db()?,
        plan_guid: row.try_get("plan_guid").db()?,
        period_in_months: row.try_get("period_in_months").db()?,
        quantity: row.try_get("quantity").db()?,
        company: serde_json::from_str(&company).map_err(Error::internal)?,
        positions: serde_json::from_str(&positions).map_err(Error::internal)?,
        currency: row.try_get("currency").db()?,
        total: row.try_get("total").db()?,
        vat: row.try_get("vat").db()?,
        vat_basis_points: row.try_get("vat_basis_points").db()?,
        status: InvoiceStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("unknown invoice status {status:?}")))?,
        payer_type: row.try_get("payer_type").db()?,
        payer_guid: row.try_get("payer_guid").db()?,
        meta: row.try_get("meta").db()?,
        created_by: row.try_get("created_by").db()?,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").db()?),
        paid_at: row
            .try_get::<Option<i64>, _>("paid_at")
            .db()?
            .map(Timestamp::from_micros),
    })
}

/// The next number in an organization's sequence, in the caller's transaction, so
/// that a request that fails hands its number back and numbers stay gapless.
pub async fn next_seq(conn: &mut Conn, organization_guid: &str) -> Result<i64, Error> {
    next_value(conn, &format!("invoice:{organization_guid}")).await
}

pub async fn insert(conn: &mut Conn, inv: &Invoice) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO invoices (guid, organization_guid, seq, number, catalog_version, product_guid, plan_guid, \
         period_in_months, quantity, company, positions, currency, total, vat, vat_basis_points, status, \
         payer_type, payer_guid, meta, created_by, created_at, updated_at, paid_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, NULL)",
    )
    .bind(&inv.guid)
    .bind(&inv.organization_guid)
    .bind(inv.seq)
    .bind(&inv.number)
    .bind(inv.catalog_version)
    .bind(&inv.product_guid)
    .bind(&inv.plan_guid)
    .bind(inv.period_in_months)
    .bind(inv.quantity)
    .bind(serde_json::to_string(&inv.company).map_err(Error::internal)?)
    .bind(serde_json::to_string(&inv.positions).map_err(Error::internal)?)
    .bind(&inv.currency)
    .bind(inv.total)
    .bind(inv.vat)
    .bind(inv.vat_basis_points)
    .bind(inv.status.as_str())
    .bind(&inv.payer_type)
    .bind(&inv.payer_guid)
    .bind(inv.meta.as_deref())
    .bind(&inv.created_by)
    .bind(inv.created_at.micros())
    .bind(inv.updated_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

pub async fn get(conn: &mut Conn, guid: &str) -> Result<Option<Invoice>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invoices WHERE guid = $1"
    )))
    .bind(guid.to_ascii_lowercase())
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
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
    organization_guid: &str,
    filter: &Filter,
) -> Result<i64, Error> {
    let [a, b, c, d] = bounds(filter);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM invoices WHERE {FILTER}"
    )))
    .bind(organization_guid)
    .bind(a)
    .bind(b)
    .bind(c)
    .bind(d)
    .fetch_one(conn)
    .await
    .db()?;
    row.try_get("n").db()
}

/// One page in creation order (newest first when `descending`), after the
/// `(created_at, guid)` of the previous page's last invoice.
pub async fn list(
    conn: &mut Conn,
    organization_guid: &str,
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
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE {FILTER} \
         AND ($6 = 1 OR created_at {cmp} $7 OR (created_at = $7 AND guid {cmp} $8)) \
         ORDER BY created_at {order}, guid {order} LIMIT $9"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
        .db()?;
    rows.iter().map(from_row).collect()
}

/// Moves an invoice from `from` to `to`; false when it was no longer in `from`.
pub async fn transition(
    conn: &mut Conn,
    guid: &str,
    from: InvoiceStatus,
    to: InvoiceStatus,
    now: Timestamp,
) -> Result<bool, Error> {
    let paid_at = (to == InvoiceStatus::Paid).then_some(now.micros());
    let done = sqlx::query(
        "UPDATE invoices SET status = $1, updated_at = $2, paid_at = COALESCE($3, paid_at) WHERE guid = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now.micros())
    .bind(paid_at)
    .bind(guid)
    .bind(from.as_str())
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub invoice_guid: String,
    pub amount: i64,
    pub currency: String,
    /// `manual` (operator), `card`, `transfer`, or a provider's name.
    pub method: String,
    pub reference: Option<String>,
    pub created_at: Timestamp,
}

pub async fn insert_payment(conn: &mut Conn, p: &Payment) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO payments (id, invoice_guid, amount, currency, method, reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&p.id)
    .bind(&p.invoice_guid)
    .bind(p.amount)
    .bind(&p.currency)
    .bind(&p.method)
    .bind(p.reference.as_deref())
    .bind(p.created_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The payments of an invoice, oldest first.
pub async fn payments_of(conn: &mut Conn, invoice_guid: &str) -> Result<Vec<Payment>, Error> {
    let rows = sqlx::query(
        "SELECT id, invoice_guid, amount, currency, method, reference, created_at FROM payments \
         WHERE invoice_guid = $1 ORDER BY created_at, id",
    )
    .bind(invoice_guid)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter()
        .map(|row| {
            Ok(Payment {
                id: row.try_get("id").db()?,
                invoice_guid: row.try_get("invoice_guid").db()?,
                amount: row.try_get("amount").db()?,
                currency: row.try_get("currency").db()?,
                method: row.try_get("method").db()?,
                reference: row.try_get("reference").db()?,
                created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
            })
        })
        .collect()
}

/// An organization's license for one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub organization_guid: String,
    pub product_guid: String,
    pub plan_guid: String,
    pub plan_name: String,
    pub quantity: i64,
    pub expires_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn licenses(conn: &mut Conn, organization_guid: &str) -> Result<Vec<License>, Error> {
    let rows = sqlx::query(
        "SELECT organization_guid, product_guid, plan_guid, plan_name, quantity, expires_at, updated_at \
         FROM licenses WHERE organization_guid = $1 ORDER BY product_guid",
    )
    .bind(organization_guid)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter()
        .map(|row| {
            Ok(License {
                organization_guid: row.try_get("organization_guid").db()?,
                product_guid: row.try_get("product_guid").db()?,
                plan_guid: row.try_get("plan_guid").db()?,
                plan_name: row.try_get("plan_name").db()?,
                quantity: row.try_get("quantity").db()?,
                expires_at: Timestamp::from_micros(row.try_get("expires_at").db()?),
                updated_at: Timestamp::from_micros(row.try_get("updated_at").db()?),
            })
        })
        .collect()
}

pub async fn save_license(conn: &mut Conn, l: &License) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO licenses (organization_guid, product_guid, plan_guid, plan_name, quantity, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (organization_guid, product_guid) DO UPDATE SET \
         plan_guid = $3, plan_name = $4, quantity = $5, expires_at = $6, updated_at = $7",
    )
    .bind(&l.organization_guid)
    .bind(&l.product_guid)
    .bind(&l.plan_guid)
    .bind(&l.plan_name)
    .bind(l.quantity)
    .bind(l.expires_at.micros())
    .bind(l.updated_at.micros())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}
