//! Imported bank statements, line by line, and the payment orders already seen.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, select};
use kopek_domain::Error;
use kopek_domain::bank_statement::Outcome;
use kopek_domain::ids::InvoiceId;
use kopek_domain::money::{Currency, Money};
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct BankStatement {
    pub id: String,
    pub file_sha256: String,
    /// The statement's own accounts, comma-separated.
    pub accounts: String,
    /// `YYYY-MM-DD`, as the file gives them.
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub imported_by: String,
    pub imported_at: Timestamp,
}

impl Record for BankStatement {
    const TABLE: &'static str = "bank_statements";
    const COLUMNS: &'static str =
        "id, file_sha256, accounts, period_from, period_to, imported_by, imported_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.file_sha256)
            .bind(&self.accounts)
            .bind(&self.period_from)
            .bind(&self.period_to)
            .bind(&self.imported_by)
            .bind(self.imported_at)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StatementLine {
    pub statement_id: String,
    /// The document's place in the file, from 0.
    pub position: i64,
    /// The line of the file its section starts on.
    pub file_line: i64,
    pub kind: String,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub order_date: String,
    #[sqlx(flatten, try_from = "LineAmount")]
    pub amount: Money,
    pub payer_inn: String,
    pub payer_name: String,
    pub payer_account: String,
    pub purpose: String,
    pub outcome: Outcome,
    /// The invoice paid, or the one named for the operator to look at.
    pub invoice_guid: Option<InvoiceId>,
    /// Why, for the operator.
    pub note: String,
}

#[derive(FromRow)]
struct LineAmount {
    amount: i64,
    currency: Currency,
}

impl From<LineAmount> for Money {
    fn from(a: LineAmount) -> Money {
        Money::new(a.amount, a.currency)
    }
}

impl Record for StatementLine {
    const TABLE: &'static str = "bank_statement_lines";
    const COLUMNS: &'static str = "statement_id, position, file_line, kind, number, order_date, \
        amount, currency, payer_inn, payer_name, payer_account, purpose, outcome, invoice_guid, \
        note";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.statement_id)
            .bind(self.position)
            .bind(self.file_line)
            .bind(&self.kind)
            .bind(&self.number)
            .bind(&self.order_date)
            .bind(self.amount.minor())
            .bind(self.amount.currency())
            .bind(&self.payer_inn)
            .bind(&self.payer_name)
            .bind(&self.payer_account)
            .bind(&self.purpose)
            .bind(self.outcome)
            .bind(&self.invoice_guid)
            .bind(&self.note)
    }
}

/// The statement imported from a file with this hash, if any.
pub async fn by_hash(conn: &mut Conn, sha256: &str) -> Result<Option<BankStatement>, Error> {
    sqlx::query_as(select::<BankStatement>("WHERE file_sha256 = $1"))
        .bind(sha256)
        .fetch_optional(conn)
        .await
        .db()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<BankStatement>, Error> {
    crate::db::by_key(conn, id).await
}

/// Statements newest first, after `after` (an id) when paging.
pub async fn list(
    conn: &mut Conn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BankStatement>, Error> {
    sqlx::query_as(select::<BankStatement>(
        "WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2",
    ))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()
}

/// Stores a statement; false when a file with its hash was imported meanwhile.
/// (Read [`by_hash`] first: within a PostgreSQL transaction the unique violation
/// this catches ends the transaction.)
pub async fn insert(conn: &mut Conn, s: &BankStatement) -> Result<bool, Error> {
    match crate::db::insert(conn, s, &[]).await {
        Ok(()) => Ok(true),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

pub async fn insert_line(conn: &mut Conn, line: &StatementLine) -> Result<(), Error> {
    crate::db::insert(conn, line, &[]).await.db()
}

pub async fn lines(conn: &mut Conn, statement_id: &str) -> Result<Vec<StatementLine>, Error> {
    sqlx::query_as(select::<StatementLine>(
        "WHERE statement_id = $1 ORDER BY position",
    ))
    .bind(statement_id)
    .fetch_all(conn)
    .await
    .db()
}

/// Notes a payment order as seen in `statement_id` at `position`; when it was seen
/// before, answers where (statement id), and notes nothing.
pub async fn first_seen(
    conn: &mut Conn,
    order_key: &str,
    statement_id: &str,
    position: i64,
) -> Result<Option<String>, Error> {
    if sqlx::query(
        "INSERT INTO bank_payment_orders (order_key, statement_id, position) VALUES ($1, $2, $3) \
         ON CONFLICT (order_key) DO NOTHING",
    )
    .bind(order_key)
    .bind(statement_id)
    .bind(position)
    .changed_one(&mut *conn)
    .await?
    {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT statement_id FROM bank_payment_orders WHERE order_key = $1")
        .bind(order_key)
        .fetch_optional(conn)
        .await
        .db()
}
