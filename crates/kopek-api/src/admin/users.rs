//! Users, for the operator: get and list (deleted users included).

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::query::Params;
use axum::extract::{Path, State};
use kopek_core::paging::PageQuery;
use kopek_core::users as users_core;
use kopek_domain::auth::Role;
use kopek_domain::time::Timestamp;
use kopek_domain::user::{Property, User};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub user_type: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub billing_info: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub billing_properties: Vec<Property>,
    pub permissions: Vec<String>,
    pub can_update_password: bool,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id.get(),
            login: u.login,
            name: u.name,
            user_type: u.user_type,
            status: u.status.as_str().to_owned(),
            billing_info: u.billing_info,
            billing_properties: u.billing_properties,
            permissions: u.permissions,
            can_update_password: u.can_update_password,
            created_at: u.created_at.rfc3339(),
            updated_at: u.updated_at.rfc3339(),
            deleted_at: u.deleted_at.map(Timestamp::rfc3339),
        }
    }
}

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
