//! The buyer's own closing documents (УПД and corrections), with their PDF and
//! XML, for its organization key or a member's session. The view is Kopek's own
//! (LIFE POS has no such resource), the errors LIFE POS's.

use super::LifePos;
use super::auth::Buyer;
use crate::AppState;
use crate::closing::statement::{self, StatementQuery, StatementView};
use crate::closing::{self, ClosingDocumentList, ClosingDocumentView, ClosingQuery, FileBody};
use crate::error::ApiError;
use crate::json::Json;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::response::Response;
use kopek_core::closing as closing_core;
use kopek_core::paging::PageQuery;

/// Lists the organization's closing documents, newest first.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/closing-documents", tag = "lifepos", operation_id = "ClosingDocumentList",
    params(
        ("org_guid" = String, Path), ClosingQuery, PageQuery,
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
    ),
    responses((status = 200, body = ClosingDocumentList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(org_guid): Path<String>,
    query: Params<ClosingQuery, LifePos>,
    page: Params<PageQuery, LifePos>,
) -> Result<Json<ClosingDocumentList>, ApiError<LifePos>> {
    let org = closing_core::buyer_scope(&state.core, &buyer.access, org_guid).await?;
    let query = query.value.into_core(Some(org.to_string()));
    let (rows, next_page_token) = closing_core::list(&state.core, query, &page.value).await?;
    Ok(Json(ClosingDocumentList {
        closing_documents: rows.iter().map(closing::view).collect(),
        next_page_token,
    }))
}

/// One of the organization's closing documents; `{id}.pdf` and `{id}.xml` are
/// its files.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/closing-documents/{id}", tag = "lifepos", operation_id = "ClosingDocumentGet",
    params(
        ("org_guid" = String, Path), ("id" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
    ),
    responses((status = 200, body = ClosingDocumentView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    buyer: Buyer,
    Path((org_guid, segment)): Path<(String, String)>,
) -> Result<Response, ApiError<LifePos>> {
    let org = closing_core::buyer_scope(&state.core, &buyer.access, org_guid).await?;
    Ok(closing::answer(&state.core, segment, Some(&org)).await?)
}

/// The document as PDF.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/closing-documents/{id}.pdf", tag = "lifepos", operation_id = "ClosingDocumentPdf",
    params(
        ("org_guid" = String, Path), ("id" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
    ),
    responses((status = 200, content_type = "application/pdf", body = FileBody), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pdf(
    state: State<AppState>,
    buyer: Buyer,
    Path((org_guid, id)): Path<(String, String)>,
) -> Result<Response, ApiError<LifePos>> {
    get(state, buyer, Path((org_guid, format!("{id}.pdf")))).await
}

/// The document as the ФНС XML (format 5.03, windows-1251).
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/closing-documents/{id}.xml", tag = "lifepos", operation_id = "ClosingDocumentXml",
    params(
        ("org_guid" = String, Path), ("id" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
    ),
    responses((status = 200, content_type = "application/xml", body = FileBody), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn xml(
    state: State<AppState>,
    buyer: Buyer,
    Path((org_guid, id)): Path<(String, String)>,
) -> Result<Response, ApiError<LifePos>> {
    get(state, buyer, Path((org_guid, format!("{id}.xml")))).await
}

/// The organization's own reconciliation statement (акт сверки) for a period,
/// as JSON or (`format=pdf`) PDF.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/reconciliation", tag = "lifepos", operation_id = "ReconciliationGet",
    params(
        ("org_guid" = String, Path), StatementQuery,
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
    ),
    responses(
        (status = 200, content((StatementView = "application/json"), (FileBody = "application/pdf"))),
        (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(org_guid): Path<String>,
    query: Params<StatementQuery, LifePos>,
) -> Result<Response, ApiError<LifePos>> {
    Ok(statement::answer(&state.core, &buyer.access, org_guid, query.value).await?)
}
