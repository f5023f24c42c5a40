//! The reconciliation statement (акт сверки) as JSON and as PDF in the usual
//! two-column layout: the seller's records and the buyer's, mirrored.

use super::file;
use crate::html::money;
use crate::pdf::{Align, BODY, Block, STRONG, TITLE, cell, paragraph, render_blocks};
use axum::response::{IntoResponse, Response};
use kopek_core::Core;
use kopek_core::access::OrgAccess;
use kopek_core::reconciliation::{self as core_statement, Ask, Statement};
use kopek_domain::closing::Party;
use kopek_domain::lang::Lang;
use kopek_domain::money::Money;
use kopek_domain::time::ru_date;
use kopek_domain::{Error, Reason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// The first day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// The last day, included.
    pub to: Option<String>,
    /// `RUB` (the default) or another currency the organization was invoiced in.
    pub currency: Option<String>,
    /// `json` (the default) or `pdf`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementView {
    pub organization_guid: String,
    pub from: String,
    pub to: String,
    pub currency: String,
    /// From the seller's side, in minor units: above zero the buyer owes, below
    /// zero it paid ahead.
    pub opening_balance: i64,
    pub lines: Vec<StatementLine>,
    pub debit_turnover: i64,
    pub credit_turnover: i64,
    pub closing_balance: i64,
    pub seller: super::PartyView,
    pub buyer: super::PartyView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementLine {
    pub date: String,
    /// `invoice` (for reference: it moves neither side), `payment`, `refund`,
    /// `upd` (a closing document) or `ukd` (its correction).
    pub kind: String,
    pub number: String,
    pub amount: i64,
    pub debit: i64,
    pub credit: i64,
}

fn view(s: &Statement) -> StatementView {
    StatementView {
        organization_guid: s.organization.to_string(),
        from: s.from.to_string(),
        to: s.to.to_string(),
        currency: s.currency.code().to_owned(),
        opening_balance: s.opening,
        lines: s
            .lines
            .iter()
            .map(|l| StatementLine {
                date: l.date.to_string(),
                kind: l.kind.clone(),
                number: l.number.clone(),
                amount: l.amount,
                debit: l.debit,
                credit: l.credit,
            })
            .collect(),
        debit_turnover: s.debit,
        credit_turnover: s.credit,
        closing_balance: s.closing,
        seller: super::party(&s.seller),
        buyer: super::party(&s.buyer),
    }
}

/// Answers a statement for `organization` as `query` asks, in JSON or PDF.
pub async fn answer(
    core: &Core,
    access: &OrgAccess,
    organization: String,
    query: StatementQuery,
) -> Result<Response, Error> {
    let pdf = match query.format.as_deref() {
        None | Some("" | "json") => false,
        Some("pdf") => true,
        Some(_) => {
            return Err(Error::field(
                "format",
                Reason::OneOf(vec!["json".into(), "pdf".into()]),
            ));
        }
    };
    let ask = Ask {
        from: query.from,
        to: query.to,
        currency: query.currency,
    };
    let statement = core_statement::statement(core, access, organization, ask).await?;
    if !pdf {
        return Ok(crate::json::Json(view(&statement)).into_response());
    }
    let name = format!("akt-sverki-{}-{}.pdf", statement.from, statement.to);
    let bytes = kopek_core::cpu::run(move || render(&statement)).await??;
    Ok(file(bytes, "application/pdf", &name))
}

fn short(p: &Party) -> String {
    format!("{} (ИНН {})", p.name, p.inn)
}

fn render(s: &Statement) -> Result<Vec<u8>, Error> {
    let m = |minor: i64| {
        if minor == 0 {
            String::new()
        } else {
            money(Money::new(minor, s.currency), Lang::Ru)
        }
    };
    let title = format!(
        "Акт сверки взаимных расчётов за период с {} по {}",
        ru_date(s.from),
        ru_date(s.to)
    );
    let header: Vec<_> = [
        "Дата",
        "Документ",
        "Дебет",
        "Кредит",
        "Дата",
        "Документ",
        "Дебет",
        "Кредит",
    ]
    .iter()
    .map(|h| cell(h, STRONG, Align::Left))
    .collect();
    let (open_debit, open_credit) = split(s.opening);
    let (close_debit, close_credit) = split(s.closing);
    let mut rows = vec![balance_row(
        "Сальдо начальное",
        &m(open_debit),
        &m(open_credit),
    )];
    for l in &s.lines {
        let what = match l.kind.as_str() {
            "invoice" => format!("Счёт № {} ({})", l.number, m(l.amount)),
            "payment" => format!("Оплата по счёту № {}", l.number),
            "refund" => format!("Возврат оплаты по счёту № {}", l.number),
            "ukd" => format!("Корректировка (УКД) № {}", l.number),
            _ => format!("Реализация (УПД) № {}", l.number),
        };
        let d = ru_date(l.date);
        // The buyer's records mirror the seller's: a debit here is a credit there.
        rows.push(vec![
            cell(&d, BODY, Align::Left),
            cell(&what, BODY, Align::Left),
            cell(&m(l.debit), BODY, Align::Right),
            cell(&m(l.credit), BODY, Align::Right),
            cell(&d, BODY, Align::Left),
            cell(&what, BODY, Align::Left),
            cell(&m(l.credit), BODY, Align::Right),
            cell(&m(l.debit), BODY, Align::Right),
        ]);
    }
    rows.push(balance_row("Обороты за период", &m(s.debit), &m(s.credit)));
    rows.push(balance_row(
        "Сальдо конечное",
        &m(close_debit),
        &m(close_credit),
    ));
    let owed = match s.closing {
        0 => "задолженность отсутствует".to_owned(),
        c if c > 0 => format!(
            "задолженность в пользу {} составляет {}",
            s.seller.name,
            money(Money::new(c, s.currency), Lang::Ru)
        ),
        c => format!(
            "задолженность в пользу {} составляет {}",
            s.buyer.name,
            money(Money::new(-c, s.currency), Lang::Ru)
        ),
    };
    let blocks = vec![
        paragraph(title.clone(), TITLE, Align::Left),
        Block::Gap(0.5),
        paragraph(
            format!(
                "между {} и {}, по договору оказания услуг, в валюте {}",
                short(&s.seller),
                short(&s.buyer),
                s.currency.code()
            ),
            BODY,
            Align::Left,
        ),
        Block::Gap(0.5),
        Block::Table {
            columns: &[1.0, 1.0],
            header: None,
            rows: vec![vec![
                cell(&format!("По данным {}", s.seller.name), STRONG, Align::Left),
                cell(&format!("По данным {}", s.buyer.name), STRONG, Align::Left),
            ]],
        },
        Block::Table {
            columns: &[2.6, 3.0, 2.7, 2.7, 2.6, 3.0, 2.7, 2.7],
            header: Some(header),
            rows,
        },
        Block::Gap(1.0),
        paragraph(
            format!("По данным {} на {}: {owed}.", s.seller.name, ru_date(s.to)),
            BODY,
            Align::Left,
        ),
        Block::Gap(2.0),
        paragraph(
            format!(
                "От {}: {} ____________________ {}",
                s.seller.name,
                s.seller
                    .signer_position
                    .as_deref()
                    .unwrap_or("Руководитель"),
                s.seller.signer_name.as_deref().unwrap_or("")
            ),
            BODY,
            Align::Left,
        ),
        Block::Gap(1.0),
        paragraph(
            format!("От {}: ____________________", s.buyer.name),
            BODY,
            Align::Left,
        ),
    ];
    render_blocks(&title, &blocks)
}

/// A balance as its debit (owed to the seller) or credit (owed to the buyer).
fn split(balance: i64) -> (i64, i64) {
    if balance >= 0 {
        (balance, 0)
    } else {
        (0, -balance)
    }
}

fn balance_row(label: &str, debit: &str, credit: &str) -> Vec<crate::pdf::Cell> {
    vec![
        cell("", STRONG, Align::Left),
        cell(label, STRONG, Align::Left),
        cell(debit, STRONG, Align::Right),
        cell(credit, STRONG, Align::Right),
        cell("", STRONG, Align::Left),
        cell(label, STRONG, Align::Left),
        cell(credit, STRONG, Align::Right),
        cell(debit, STRONG, Align::Right),
    ]
}
