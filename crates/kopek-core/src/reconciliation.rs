//! The reconciliation statement (акт сверки взаиморасчётов) of an organization
//! for a period, from the seller's side: the opening balance, every invoice,
//! payment, refund and closing document in the period, the turnover of each side
//! and the closing balance.
//!
//! Debit is what the buyer came to owe: closing documents (the service
//! rendered; a correction is a negative debit) and refunds paid back to it.
//! Credit is what it paid. Invoices are listed for reference and move neither
//! side. A balance above zero is owed by the buyer, below zero owed to it (paid
//! ahead).

use crate::Core;
use crate::access::OrgAccess;
use kopek_domain::closing::Party;
use kopek_domain::error::Violations;
use kopek_domain::ids::OrganizationId;
use kopek_domain::money::Currency;
use kopek_domain::time::{Timestamp, parse_day};
use kopek_domain::{Error, Reason};
use kopek_store::reconciliation::{self as store, Period};
use time::Date;

/// One line of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub date: Date,
    /// `invoice`, `payment`, `refund`, `upd` or `ukd`.
    pub kind: String,
    pub number: String,
    pub amount: i64,
    pub debit: i64,
    pub credit: i64,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub seller: Party,
    pub buyer: Party,
    pub organization: OrganizationId,
    pub currency: Currency,
    pub from: Date,
    pub to: Date,
    pub opening: i64,
    pub lines: Vec<Line>,
    pub debit: i64,
    pub credit: i64,
    pub closing: i64,
}

/// What the statement is asked for, as the API takes it.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub from: Option<String>,
    pub to: Option<String>,
    pub currency: Option<String>,
}

fn day(field: &str, value: Option<&str>, v: &mut Violations) -> Option<Date> {
    let Some(value) = value.filter(|s| !s.is_empty()) else {
        v.add(field, Reason::Required);
        return None;
    };
    let parsed = parse_day(value);
    if parsed.is_none() {
        v.add(
            field,
            Reason::Format {
                en: "a date as YYYY-MM-DD",
                ru: "датой вида ГГГГ-ММ-ДД",
            },
        );
    }
    parsed
}

/// The statement of `organization` (which `access` may read) for `ask`'s period,
/// `from` and `to` included.
pub async fn statement(
    core: &Core,
    access: &OrgAccess,
    organization: String,
    ask: Ask,
) -> Result<Statement, Error> {
    let mut v = Violations::default();
    let from = day("from", ask.from.as_deref(), &mut v);
    let to = day("to", ask.to.as_deref(), &mut v);
    let currency = match ask.currency.as_deref().filter(|c| !c.is_empty()) {
        None => Some(Currency::Rub),
        Some(code) => Currency::parse("currency", code)
            .map_err(|e| v.add(e.field.clone(), e.reason.clone()))
            .ok(),
    };
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        v.add(
            "to",
            Reason::Format {
                en: "a day on or after from",
                ru: "не раньше from",
            },
        );
    }
    v.finish()?;
    let (Some(from), Some(to), Some(currency)) = (from, to, currency) else {
        return Err(Error::internal("a checked period without its days"));
    };
    let mut conn = core.store.conn().await?;
    let org = access
        .organization(
            &mut conn,
            &OrganizationId::from(organization.to_ascii_lowercase()),
        )
        .await?;
    let period = Period {
        from: Timestamp::start_of(from),
        to: Timestamp::start_of(to.next_day().unwrap_or(to)),
        first_day: from.to_string(),
        last_day: to.to_string(),
    };
    let opening = store::opening(&mut conn, &org.guid, currency, &period).await?;
    let lines: Vec<Line> = store::entries(&mut conn, &org.guid, currency, &period)
        .await?
        .into_iter()
        .map(|e| {
            let (debit, credit) = match e.kind.as_str() {
                "payment" => (0, e.amount),
                "invoice" => (0, 0),
                _ => (e.amount, 0),
            };
            let date = e
                .day
                .as_deref()
                .and_then(parse_day)
                .unwrap_or_else(|| e.at.date());
            Line {
                date,
                kind: e.kind,
                number: e.number,
                amount: e.amount,
                debit,
                credit,
            }
        })
        .collect();
    let debit = lines.iter().map(|l| l.debit).sum();
    let credit = lines.iter().map(|l| l.credit).sum();
    Ok(Statement {
        seller: core.settings.closing_seller.clone(),
        buyer: crate::closing::buyer(&org),
        organization: org.guid,
        currency,
        from,
        to,
        opening,
        lines,
        debit,
        credit,
        closing: opening + debit - credit,
    })
}
