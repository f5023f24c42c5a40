//! Bank statement reconciliation: a statement exported from the bank (1C exchange
//! format) is read line by line; each incoming payment order is matched to an
//! invoice by the number its purpose names, its payer's INN and its amount, and a
//! match is paid through the same use case as the operator's `:pay` (method
//! `bank_transfer`, the order's number and date as reference). Partial, excess and
//! unmatched payments are listed for the operator, never guessed. The import is
//! one transaction; a file imported before changes nothing, and a payment order
//! that an earlier statement brought (statements of overlapping periods repeat
//! documents) is listed as a duplicate.

use crate::Core;
use crate::invoices::{self, Change};
use crate::paging::PageQuery;
use kopek_domain::bank_statement::{
    self, Candidate, Outcome, PaymentOrder, Statement, classify, names,
};
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::money::{Currency, Money};
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, Reason};
use kopek_store::bank_statements::{self, BankStatement, StatementLine};
use kopek_store::invoices::{self as invoice_rows, Invoice};
use kopek_store::{Conn, DbResult};
use sha2::{Digest, Sha256};

/// The payment method a matched payment order is recorded under.
pub const METHOD: &str = "bank_transfer";

/// A statement and what became of each of its documents.
#[derive(Debug, Clone)]
pub struct Reconciled {
    pub statement: BankStatement,
    pub lines: Vec<StatementLine>,
    /// The file was imported before: nothing was done now.
    pub repeated: bool,
}

/// Imports a statement file (see `kopek_domain::bank_statement` for the format).
/// A file that is not a statement is a validation error naming the line.
pub async fn import(core: &Core, imported_by: &str, file: &[u8]) -> Result<Reconciled, Error> {
    let parsed = bank_statement::parse(file)
        .map_err(|e| Error::field("statement", Reason::Unreadable(e.to_string())))?;
    let sha256 = hex::encode(Sha256::digest(file));
    let mut tx = core.store.begin().await?;
    if let Some(before) = bank_statements::by_hash(&mut tx, &sha256).await? {
        drop(tx);
        return reconciled(core, before, true).await;
    }
    let now = core.now();
    let statement = BankStatement {
        id: format!("bst_{}", uuid::Uuid::now_v7().simple()),
        file_sha256: sha256.clone(),
        accounts: parsed.accounts.join(","),
        period_from: parsed.from.map(|d| d.to_string()),
        period_to: parsed.to.map(|d| d.to_string()),
        imported_by: imported_by.to_owned(),
        imported_at: now,
    };
    if !bank_statements::insert(&mut tx, &statement).await? {
        // The same file, imported at the same moment by another request.
        drop(tx);
        let mut conn = core.store.conn().await?;
        let before = bank_statements::by_hash(&mut conn, &sha256)
            .await?
            .ok_or_else(|| Error::internal("a statement's hash taken, but no statement"))?;
        drop(conn);
        return reconciled(core, before, true).await;
    }
    let mut lines = Vec::with_capacity(parsed.documents.len());
    for (position, order) in parsed.documents.iter().enumerate() {
        let position = i64::try_from(position).map_err(Error::internal)?;
        let line = reconcile(core, &mut tx, &parsed, &statement.id, position, order, now).await?;
        bank_statements::insert_line(&mut tx, &line).await?;
        lines.push(line);
    }
    tx.commit().await?;
    Ok(Reconciled {
        statement,
        lines,
        repeated: false,
    })
}

/// What becomes of one document of the statement, in the import's transaction.
async fn reconcile(
    core: &Core,
    conn: &mut Conn,
    parsed: &Statement,
    statement_id: &str,
    position: i64,
    order: &PaymentOrder,
    now: Timestamp,
) -> Result<StatementLine, Error> {
    let amount = Money::new(order.kopecks, Currency::Rub);
    let mut line = StatementLine {
        statement_id: statement_id.to_owned(),
        position,
        file_line: i64::try_from(order.line).map_err(Error::internal)?,
        kind: order.kind.clone(),
        number: order.number.clone(),
        order_date: order.date.to_string(),
        amount,
        payer_inn: order.payer_inn.clone(),
        payer_name: order.payer_name.clone(),
        payer_account: order.payer_account.clone(),
        purpose: order.purpose.clone(),
        outcome: Outcome::Outgoing,
        invoice_guid: None,
        note: "Paid out of the account".to_owned(),
    };
    if !parsed.is_incoming(order) {
        return Ok(line);
    }
    if let Some(first) =
        bank_statements::first_seen(&mut *conn, &order.key(), statement_id, position).await?
    {
        line.outcome = Outcome::Duplicate;
        line.note = if first == statement_id {
            "The same payment order appears earlier in this statement".to_owned()
        } else {
            format!("Imported before, with statement {first}")
        };
        return Ok(line);
    }
    let named = named_invoices(&mut *conn, &order.purpose).await?;
    let candidates: Vec<Candidate> = named
        .iter()
        .map(|i| Candidate {
            number: &i.number,
            buyer_inn: i.company.inn.as_str(),
            total_kopecks: i.quote.total.minor(),
            payable: i.status == InvoiceStatus::Pending,
        })
        .collect();
    let (outcome, which) = classify(order, &candidates);
    let invoice = which.map(|i| &named[i]);
    line.outcome = outcome;
    line.invoice_guid = invoice.map(|i| i.guid.clone());
    line.note = note(outcome, order, invoice, &named);
    if outcome == Outcome::Matched
        && let Some(invoice) = invoice
    {
        // A savepoint: an invoice the rules will not let be paid (a renewal whose
        // period another invoice paid) leaves the import going.
        let mut savepoint = kopek_store::savepoint(&mut *conn).await?;
        let pay = Change::Pay {
            method: METHOD.to_owned(),
            reference: Some(order.reference()),
        };
        match invoices::apply(core, &mut savepoint, &invoice.guid, pay, now).await {
            Ok(_) => savepoint.commit().await.db()?,
            Err(Error::FailedPrecondition(why)) => {
                savepoint.rollback().await.db()?;
                line.outcome = Outcome::NotPayable;
                line.note = format!("Invoice {} cannot be paid: {why}", invoice.number);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(line)
}

/// The invoices whose numbers the purpose names as whole tokens.
async fn named_invoices(conn: &mut Conn, purpose: &str) -> Result<Vec<Invoice>, Error> {
    let mut tokens: Vec<&str> = purpose
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '/'))
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()) && t.len() <= 64)
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens.truncate(50);
    let mut found = invoice_rows::numbered(conn, &tokens).await?;
    found.retain(|i| names(purpose, &i.number));
    found.sort_by(|a, b| a.number.cmp(&b.number).then(a.guid.cmp(&b.guid)));
    Ok(found)
}

fn rub(kopecks: i64) -> String {
    Money::new(kopecks, Currency::Rub).to_string()
}

/// Why, for the operator.
fn note(
    outcome: Outcome,
    order: &PaymentOrder,
    invoice: Option<&Invoice>,
    named: &[Invoice],
) -> String {
    let number = invoice.map_or("", |i| i.number.as_str());
    let total = invoice.map_or(0, |i| i.quote.total.minor());
    match outcome {
        Outcome::Matched => format!("Paid invoice {number}"),
        Outcome::Partial => format!(
            "{} RUB is less than invoice {number}'s total of {} RUB: not paid",
            rub(order.kopecks),
            rub(total)
        ),
        Outcome::Excess => format!(
            "{} RUB is more than invoice {number}'s total of {} RUB by {} RUB: not paid",
            rub(order.kopecks),
            rub(total),
            rub(order.kopecks - total)
        ),
        Outcome::UnknownInn => format!(
            "The payer's INN {} is not the buyer's INN of the invoice{} named ({})",
            if order.payer_inn.is_empty() {
                "(none)"
            } else {
                &order.payer_inn
            },
            if named.len() == 1 { "" } else { "s" },
            named
                .iter()
                .map(|i| format!("{}, INN {}", i.number, i.company.inn))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::NoInvoice => "The purpose names no invoice".to_owned(),
        Outcome::SeveralInvoices => format!(
            "The purpose names several invoices of the payer ({}): not guessed",
            named
                .iter()
                .map(|i| i.number.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::NotPayable => format!(
            "Invoice {number} is {} already",
            invoice.map_or("", |i| i.status.as_str())
        ),
        Outcome::Duplicate | Outcome::Outgoing => String::new(),
    }
}

/// A statement as imported, line by line.
pub async fn get(core: &Core, id: &str) -> Result<Reconciled, Error> {
    let mut conn = core.store.conn().await?;
    let statement = bank_statements::get(&mut conn, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "bank statement",
            id: id.to_owned(),
        })?;
    drop(conn);
    reconciled(core, statement, false).await
}

async fn reconciled(
    core: &Core,
    statement: BankStatement,
    repeated: bool,
) -> Result<Reconciled, Error> {
    let mut conn = core.store.conn().await?;
    let lines = bank_statements::lines(&mut conn, &statement.id).await?;
    Ok(Reconciled {
        statement,
        lines,
        repeated,
    })
}

/// Statements newest first, a page at a time, and the next page's token (empty on
/// the last).
pub async fn list(core: &Core, query: &PageQuery) -> Result<(Vec<BankStatement>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, "bank-statements".to_owned())?;
    let mut conn = core.store.conn().await?;
    let mut rows =
        bank_statements::list(&mut conn, page.after.as_deref(), page.fetch_limit()).await?;
    let next = page.finish(key, &mut rows, |s| s.id.as_str());
    Ok((rows, next))
}
