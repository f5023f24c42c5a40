//! API keys: issue (the token is shown once, here), list, revoke.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::operator_views::{ApiKeyView, IssuedApiKey};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::operator;
use kopek_domain::auth::{KeySpec, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKey {
    /// `admin`, `reseller`, `organization` or `integration`.
    pub role: Option<String>,
    /// A reseller billing account id for `reseller`, an organization guid for
    /// `organization`; absent for the others.
    pub scope: Option<String>,
    /// A label for people, at most 200 characters.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

/// Issues an API key. Its token is in this answer only: it is stored as a hash,
/// and a repeat with the same `Idempotency-Key` answers with `token` null (revoke
/// the key and issue another if the first answer was lost).
#[utoipa::path(post, path = "/admin/v1/api-keys", tag = "admin", operation_id = "createApiKey", request_body = CreateApiKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe; a repeat has no token")),
    responses((status = 201, body = IssuedApiKey), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    body: JsonBody<CreateApiKey, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let b = body.value;
    let spec = KeySpec::parse(b.role.as_deref(), b.scope, b.name)?;
    let ran = operator::issue_key(
        mutation.write(&body.raw),
        principal,
        spec,
        StatusCode::CREATED.as_u16(),
        "token",
        IssuedApiKey::new,
    )
    .await?;
    Ok(answer(ran))
}

/// Lists API keys, newest first; revoked keys show `revokedAt`.
#[utoipa::path(get, path = "/admin/v1/api-keys", tag = "admin", operation_id = "listApiKeys",
    responses((status = 200, body = ApiKeyList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
) -> Result<Json<ApiKeyList>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let keys = operator::api_keys(&state.core).await?;
    Ok(Json(ApiKeyList {
        api_keys: keys.into_iter().map(ApiKeyView::from).collect(),
    }))
}

/// Revokes an API key at once; revoking again changes nothing.
#[utoipa::path(delete, path = "/admin/v1/api-keys/{id}", tag = "admin", operation_id = "revokeApiKey",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, body = ApiKeyView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(id): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    let principal = caller.require(Role::Admin)?;
    let ran = operator::revoke_key(
        mutation.write(b""),
        principal,
        &id,
        StatusCode::OK.as_u16(),
        |key| ApiKeyView::from(key.clone()),
    )
    .await?;
    Ok(answer(ran))
}
