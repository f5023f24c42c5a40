//! The catalog, read and replaced whole. Each replacement is a new version;
//! invoices keep the version they were priced with.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::operator_views::CatalogVersion;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::operator;
use kopek_domain::auth::Role;
use kopek_domain::catalog::Catalog;

/// The catalog in force.
#[utoipa::path(get, path = "/admin/v1/catalog", tag = "admin", operation_id = "getCatalog",
    responses((status = 200, body = CatalogVersion), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
) -> Result<Json<CatalogVersion>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (version, catalog) = kopek_core::catalog::in_force(&state.core).await?;
    Ok(Json(CatalogVersion {
        version,
        created: None,
        catalog: (*catalog).clone(),
    }))
}

/// Replaces the whole catalog, prices in minor units with VAT. Loading the same
/// catalog again makes no new version.
#[utoipa::path(put, path = "/admin/v1/catalog", tag = "admin", operation_id = "replaceCatalog",
    request_body(content = Catalog, description = "The whole catalog"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, body = CatalogVersion), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    body: JsonBody<Catalog, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let ran = operator::replace_catalog(
        &state.core,
        mutation.write(&body.raw),
        principal,
        body.value,
        StatusCode::OK.as_u16(),
        |version, created, catalog| CatalogVersion {
            version,
            created: Some(created),
            catalog,
        },
    )
    .await?;
    Ok(answer(ran))
}
