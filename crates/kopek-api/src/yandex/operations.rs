//! OperationService over REST: Get and Cancel.
//!
//! Kopek's customer operations complete inside the request that starts them, so
//! every operation a client can see is already `done`. Cancel therefore has nothing
//! to stop: it returns the operation unchanged, as a finished operation does under
//! google.longrunning's "best effort" cancellation.

use super::Yandex;
use super::wire::OperationView;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::split_custom_method;
use axum::extract::{Path, State};
use kopek_core::operations;
use kopek_domain::Error;

/// `GET /operations/{segment}`: Get, or Cancel when the segment ends in `:cancel`
/// (the service definition maps Cancel to GET; REST clients also POST it).
pub async fn get_or_cancel(
    state: State<AppState>,
    caller: Caller<Yandex>,
    Path(segment): Path<String>,
) -> Result<Json<OperationView>, ApiError<Yandex>> {
    match split_custom_method(&segment) {
        (id, None) => get(state, caller, Path(id.to_owned())).await,
        (id, Some("cancel")) => cancel(state, caller, Path(id.to_owned())).await,
        _ => Err(Error::NotFound {
            what: "method",
            id: format!("/operations/{segment}"),
        }
        .into()),
    }
}

/// `POST /operations/{segment}`: only `{operationId}:cancel`.
pub async fn post_cancel(
    state: State<AppState>,
    caller: Caller<Yandex>,
    Path(segment): Path<String>,
) -> Result<Json<OperationView>, ApiError<Yandex>> {
    match split_custom_method(&segment) {
        (id, Some("cancel")) => cancel(state, caller, Path(id.to_owned())).await,
        _ => Err(Error::MethodNotAllowed.into()),
    }
}

/// Returns the specified Operation resource.
#[utoipa::path(get, path = "/operations/{operationId}", tag = "yandex-operation", operation_id = "OperationService_Get",
    params(("operationId" = String, Path)),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    Path(id): Path<String>,
) -> Result<Json<OperationView>, ApiError<Yandex>> {
    view(&state, &caller, &id).await
}

async fn view(
    state: &AppState,
    caller: &Caller<Yandex>,
    id: &str,
) -> Result<Json<OperationView>, ApiError<Yandex>> {
    let op = operations::visible(&state.core, &caller.principal, id).await?;
    Ok(Json(op.into()))
}

/// Cancels the specified operation. Kopek's operations are done when they are
/// returned, so this returns the operation unchanged. Also served as GET.
#[utoipa::path(post, path = "/operations/{operationId}:cancel", tag = "yandex-operation", operation_id = "OperationService_Cancel",
    params(("operationId" = String, Path)),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    Path(id): Path<String>,
) -> Result<Json<OperationView>, ApiError<Yandex>> {
    view(&state, &caller, &id).await
}
