//! Bank statements: the operator imports the bank's export (1C exchange format)
//! and reads what became of each payment order.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::RawBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kopek_core::bank_statements::{self, Reconciled};
use kopek_core::paging::PageQuery;
use kopek_domain::auth::Role;
use kopek_domain::bank_statement::Outcome;
use kopek_store::bank_statements::{BankStatement, StatementLine};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementView {
    pub id: String,
    /// The statement's own accounts: money paid to one of them is incoming.
    pub accounts: Vec<String>,
    /// `YYYY-MM-DD`, as the file gives them.
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub imported_at: String,
    pub imported_by: String,
}

impl From<&BankStatement> for StatementView {
    fn from(s: &BankStatement) -> StatementView {
        StatementView {
            id: s.id.clone(),
            accounts: s.accounts.split(',').map(str::to_owned).collect(),
            period_from: s.period_from.clone(),
            period_to: s.period_to.clone(),
            imported_at: s.imported_at.rfc3339(),
            imported_by: s.imported_by.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineView {
    /// The document's place in the file, from 0.
    pub position: i64,
    /// The line of the file its section starts on.
    pub file_line: i64,
    /// `Платежное поручение`, `Банковский ордер`, …
    pub kind: String,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// In minor units (kopecks).
    pub amount: i64,
    pub currency: String,
    pub payer_inn: String,
    pub payer_name: String,
    pub payer_account: String,
    pub purpose: String,
    /// `matched` (the invoice was paid), `partial`, `excess`, `unknown_inn`,
    /// `no_invoice`, `several_invoices`, `not_payable`, `duplicate` or `outgoing`.
    pub outcome: String,
    /// The invoice paid, or the one named for the operator to look at.
    pub invoice_guid: Option<String>,
    /// Why, for the operator.
    pub note: String,
}

impl From<&StatementLine> for LineView {
    fn from(l: &StatementLine) -> LineView {
        LineView {
            position: l.position,
            file_line: l.file_line,
            kind: l.kind.clone(),
            number: l.number.clone(),
            date: l.order_date.clone(),
            amount: l.amount.minor(),
            currency: l.amount.currency().to_string(),
            payer_inn: l.payer_inn.clone(),
            payer_name: l.payer_name.clone(),
            payer_account: l.payer_account.clone(),
            purpose: l.purpose.clone(),
            outcome: l.outcome.as_str().to_owned(),
            invoice_guid: l.invoice_guid.as_ref().map(ToString::to_string),
            note: l.note.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciledView {
    #[serde(flatten)]
    pub statement: StatementView,
    /// This file was imported before: nothing was done now, and this is what the
    /// first import did.
    pub already_imported: bool,
    /// How many lines had each outcome.
    pub summary: BTreeMap<String, usize>,
    pub lines: Vec<LineView>,
}

impl From<&Reconciled> for ReconciledView {
    fn from(r: &Reconciled) -> ReconciledView {
        let mut summary: BTreeMap<String, usize> = Outcome::ALL
            .iter()
            .map(|o| (o.as_str().to_owned(), 0))
            .collect();
        for line in &r.lines {
            *summary.entry(line.outcome.as_str().to_owned()).or_default() += 1;
        }
        ReconciledView {
            statement: StatementView::from(&r.statement),
            already_imported: r.repeated,
            summary,
            lines: r.lines.iter().map(LineView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementList {
    pub bank_statements: Vec<StatementView>,
    /// Pass as `pageToken` for the next page; empty on the last page.
    pub next_page_token: String,
}

/// Imports a bank statement: the file the bank exports in the 1C exchange format
/// (`1CClientBankExchange`, windows-1251, cp866 or UTF-8) as the request body.
/// Each incoming payment order that names an invoice of the payer's INN for its
/// total pays it; the others are listed. The same file again changes nothing
/// (200, `alreadyImported`).
#[utoipa::path(post, path = "/admin/v1/bank-statements", tag = "admin", operation_id = "importBankStatement",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The statement file as the bank exports it (any content type is taken)"),
    responses(
        (status = 201, body = ReconciledView, description = "Imported"),
        (status = 200, body = ReconciledView, description = "Imported before: what that import did"),
        (status = "4XX", body = super::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    body: RawBody<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let done = bank_statements::import(&state.core, &principal.id, &body.bytes).await?;
    let status = if done.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(ReconciledView::from(&done))).into_response())
}

/// A statement as imported, line by line.
#[utoipa::path(get, path = "/admin/v1/bank-statements/{id}", tag = "admin", operation_id = "getBankStatement",
    params(("id" = String, Path)),
    responses((status = 200, body = ReconciledView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<ReconciledView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let found = bank_statements::get(&state.core, &id).await?;
    Ok(Json(ReconciledView::from(&found)))
}

/// Imported statements, newest first.
#[utoipa::path(get, path = "/admin/v1/bank-statements", tag = "admin", operation_id = "listBankStatements", params(PageQuery),
    responses((status = 200, body = StatementList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<StatementList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (rows, next_page_token) = bank_statements::list(&state.core, &query.value).await?;
    Ok(Json(StatementList {
        bank_statements: rows.iter().map(StatementView::from).collect(),
        next_page_token,
    }))
}
