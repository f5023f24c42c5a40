//! Users, for the operator: get and list (deleted users included).

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::operator_views::UserView;
use crate::query::Params;
use axum::extract::{Path, State};
use kopek_core::paging::PageQuery;
use kopek_core::users as users_core;
use kopek_domain::auth::Role;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub users: Vec<UserView>,
    pub next_page_token: String,
}

/// Gets a user (never its password or hash).
#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "admin", operation_id = "getUser",
    params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let user = users_core::get(&state.core, &id).await?;
    Ok(Json(user.into()))
}

/// Lists users in id order, deleted ones included.
#[utoipa::path(get, path = "/admin/v1/users", tag = "admin", operation_id = "listUsers", params(PageQuery),
    responses((status = 200, body = UserList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<UserList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let (users, next_page_token) = users_core::list(&state.core, &query.value).await?;
    Ok(Json(UserList {
        users: users.into_iter().map(UserView::from).collect(),
        next_page_token,
    }))
}
