//! Attempts to pay invoices by card through an acquirer, and what the acquirer
//! last said about each.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::card_payment::CardPaymentStatus;
use kopek_domain::contact::Email;
use kopek_domain::ids::InvoiceId;
use kopek_domain::money::{Currency, Money};
use kopek_domain::sql::Flag;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CardPayment {
    /// Kopek's id, also the `Idempotence-Key` of the request that made it.
    pub id: String,
    pub invoice_guid: InvoiceId,
    /// The acquirer's name (`yookassa`).
    pub acquirer: String,
    pub status: CardPaymentStatus,
    /// The acquirer's id, once it answered.
    pub acquirer_payment_id: Option<String>,
    #[sqlx(flatten, try_from = "AmountColumns")]
    pub amount: Money,
    /// Where the fiscal receipt goes (54-FZ).
    pub receipt_email: Email,
    pub return_url: String,
    /// The acquirer's page the buyer confirms the payment on.
    pub confirmation_url: Option<String>,
    /// Who canceled (`merchant`, `yoo_money`, `payment_network`) and why.
    pub cancel_party: Option<String>,
    pub cancel_reason: Option<String>,
    /// The acquirer's refund of this payment, and its status.
    pub refund_id: Option<String>,
    pub refund_status: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(FromRow)]
struct AmountColumns {
    amount: i64,
    currency: Currency,
}

impl From<AmountColumns> for Money {
    fn from(a: AmountColumns) -> Money {
        Money::new(a.amount, a.currency)
    }
}

impl Record for CardPayment {
    const TABLE: &'static str = "card_payments";
    const COLUMNS: &'static str = "id, invoice_guid, acquirer, status, acquirer_payment_id, \
        amount, currency, receipt_email, return_url, confirmation_url, cancel_party, \
        cancel_reason, refund_id, refund_status, created_at, updated_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.invoice_guid)
            .bind(&self.acquirer)
            .bind(self.status)
            .bind(&self.acquirer_payment_id)
            .bind(self.amount.minor())
            .bind(self.amount.currency())
            .bind(&self.receipt_email)
            .bind(&self.return_url)
            .bind(&self.confirmation_url)
            .bind(&self.cancel_party)
            .bind(&self.cancel_reason)
            .bind(&self.refund_id)
            .bind(&self.refund_status)
            .bind(self.created_at)
            .bind(self.updated_at)
    }
}

/// Stores a new attempt as the invoice's open one; false when the invoice has an
/// open attempt already (another click came first).
pub async fn insert_open(conn: &mut Conn, p: &CardPayment) -> Result<bool, Error> {
    let marks = crate::db::marks(CardPayment::COLUMNS.split(',').count());
    let sql = format!(
        "INSERT INTO {} ({}, open) VALUES ({marks}, 1)",
        CardPayment::TABLE,
        CardPayment::COLUMNS
    );
    match p
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .execute(conn)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<CardPayment>, Error> {
    crate::db::by_key(conn, id).await
}

/// The invoice's open attempt (creating or pending), if any.
pub async fn open(conn: &mut Conn, invoice: &InvoiceId) -> Result<Option<CardPayment>, Error> {
    sqlx::query_as(select::<CardPayment>(
        "WHERE invoice_guid = $1 AND open = 1",
    ))
    .bind(invoice)
    .fetch_optional(conn)
    .await
    .db()
}

/// The invoice's attempts, newest first.
pub async fn of_invoice(conn: &mut Conn, invoice: &InvoiceId) -> Result<Vec<CardPayment>, Error> {
    sqlx::query_as(select::<CardPayment>(
        "WHERE invoice_guid = $1 ORDER BY created_at DESC, id DESC",
    ))
    .bind(invoice)
    .fetch_all(conn)
    .await
    .db()
}

/// The attempt the acquirer knows as `acquirer_payment_id`.
pub async fn by_acquirer_id(
    conn: &mut Conn,
    acquirer_payment_id: &str,
) -> Result<Option<CardPayment>, Error> {
    sqlx::query_as(select::<CardPayment>("WHERE acquirer_payment_id = $1"))
        .bind(acquirer_payment_id)
        .fetch_optional(conn)
        .await
        .db()
}

/// Writes what the acquirer said about an attempt, over the status it was read
/// at; false when another writer came first (the caller reads again).
pub async fn update(
    conn: &mut Conn,
    p: &CardPayment,
    read_at: CardPaymentStatus,
) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE card_payments SET status = $1, acquirer_payment_id = $2, confirmation_url = $3, \
         cancel_party = $4, cancel_reason = $5, refund_id = $6, refund_status = $7, \
         updated_at = $8, open = $9 WHERE id = $10 AND status = $11",
    )
    .bind(p.status)
    .bind(&p.acquirer_payment_id)
    .bind(&p.confirmation_url)
    .bind(&p.cancel_party)
    .bind(&p.cancel_reason)
    .bind(&p.refund_id)
    .bind(&p.refund_status)
    .bind(p.updated_at)
    .bind(Flag(p.status.is_open()))
    .bind(&p.id)
    .bind(read_at)
    .changed_one(conn)
    .await
}
