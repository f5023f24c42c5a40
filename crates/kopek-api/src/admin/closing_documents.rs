//! Closing documents (УПД and corrections) across organizations, with their PDF
//! and XML.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::closing::statement::{self, StatementQuery, StatementView};
use crate::closing::{self, ClosingDocumentList, ClosingDocumentView, ClosingQuery, FileBody};
use crate::error::ApiError;
use crate::json::Json;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::response::Response;
use kopek_core::access::OrgAccess;
use kopek_core::closing as closing_core;
use kopek_core::paging::PageQuery;
use kopek_domain::auth::Role;

/// Lists closing documents, newest first.
#[utoipa::path(get, path = "/admin/v1/closing-documents", tag = "admin", operation_id = "listClosingDocuments",
    params(ClosingQuery, PageQuery),
    responses((status = 200, body = ClosingDocumentList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<ClosingQuery, Admin>,
    page: Params<PageQuery, Admin>,
) -> Result<Json<ClosingDocumentList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (rows, next_page_token) =
        closing_core::list(&state.core, query.value.into_core(None), &page.value).await?;
    Ok(Json(ClosingDocumentList {
        closing_documents: rows.iter().map(closing::view).collect(),
        next_page_token,
    }))
}

/// Gets a closing document; `{id}.pdf` and `{id}.xml` are its files.
#[utoipa::path(get, path = "/admin/v1/closing-documents/{id}", tag = "admin", operation_id = "getClosingDocument",
    params(("id" = String, Path)),
    responses((status = 200, body = ClosingDocumentView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    Ok(closing::answer(&state.core, segment, None).await?)
}

/// The document as PDF.
#[utoipa::path(get, path = "/admin/v1/closing-documents/{id}.pdf", tag = "admin", operation_id = "getClosingDocumentPdf",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = FileBody), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pdf(
    state: State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    get(state, caller, Path(format!("{id}.pdf"))).await
}

/// The document as the ФНС XML (format 5.03, windows-1251), named by its
/// ИдФайл; 409 names what must be set first.
#[utoipa::path(get, path = "/admin/v1/closing-documents/{id}.xml", tag = "admin", operation_id = "getClosingDocumentXml",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = FileBody), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn xml(
    state: State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    get(state, caller, Path(format!("{id}.xml"))).await
}

/// The organization's reconciliation statement (акт сверки) for a period, as
/// JSON or (`format=pdf`) PDF.
#[utoipa::path(get, path = "/admin/v1/organizations/{guid}/reconciliation", tag = "admin", operation_id = "getReconciliation",
    params(("guid" = String, Path), StatementQuery),
    responses(
        (status = 200, content((StatementView = "application/json"), (FileBody = "application/pdf"))),
        (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(guid): Path<String>,
    query: Params<StatementQuery, Admin>,
) -> Result<Response, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    Ok(statement::answer(&state.core, &OrgAccess::All, guid, query.value).await?)
}
