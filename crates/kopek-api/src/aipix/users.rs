//! `POST`, `PATCH` and `DELETE /api/v1/billing/user/manage`: an outside billing
//! system creates, changes and deletes users, who are found by `login`.
//!
//! A deleted user's login may be created again: the new user gets a new id, and the
//! deleted one stays on record (with `deleted_at`) for the operator.

use super::error::Refused;
use super::request;
use super::{Aipix, AipixDelete};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::mutation::{Command, Mutation, answer};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::users;
use kopek_domain::auth::Role;
use kopek_domain::time::Timestamp;
use kopek_domain::user::{Property, User, UserRules};
use kopek_domain::{Error, FieldError, Reason};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The user object, as VMS Billing returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserObject {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub user_type: String,
    /// `active` or `blocked`.
    pub status: String,
    /// With microseconds: `2023-05-02T10:18:50.000000Z`.
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub can_update_password: bool,
    pub billing_properties: Vec<PropertyObject>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl From<&User> for UserObject {
    fn from(u: &User) -> UserObject {
        UserObject {
            id: u.id.get(),
            login: u.login.clone(),
            name: u.name.clone(),
            user_type: u.user_type.clone(),
            status: u.status.as_str().to_owned(),
            created_at: u.created_at.rfc3339_micros(),
            updated_at: u.updated_at.rfc3339_micros(),
            deleted_at: u.deleted_at.map(Timestamp::rfc3339_micros),
            can_update_password: u.can_update_password,
            billing_properties: u
                .billing_properties
                .iter()
                .map(|Property { kind, value }| PropertyObject {
                    kind: kind.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}

/// The create request (documentation only: the handler reads the body field by
/// field, so that every failing field is reported).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ManageUserRequest {
    /// Required; unique among users that are not deleted (case-insensitive).
    login: String,
    /// Required on create, at most 100 characters. Stored only as an argon2id hash.
    password: String,
    /// Required on create; at most 50 characters; one of `KOPEK_USER_TYPES`
    /// (`special` and `subuser` are always refused).
    #[schema(rename = "type")]
    user_type: String,
    name: Option<String>,
    /// `active` (default) or `blocked`.
    status: Option<String>,
    /// `{billing_id, billing_extra: []}`; `[]` is taken as empty.
    #[schema(value_type = Option<Object>)]
    billing_info: Option<Value>,
    /// `[{type, value}]`; also accepted as `properties`.
    billing_properties: Option<Vec<PropertyObjectSchema>>,
    /// Defaults to true.
    can_update_password: Option<bool>,
    /// PATCH only: permission names to grant, such as `archives-show`.
    permissions_to_attach: Option<Vec<String>>,
    /// PATCH only: permission names to take away.
    permissions_to_detach: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PropertyObjectSchema {
    #[schema(rename = "type")]
    kind: String,
    value: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeleteUserRequest {
    login: String,
}

fn rules(state: &AppState) -> UserRules<'_> {
    UserRules {
        types: &state.settings().user_types,
    }
}

/// What idempotency compares on a repeat: the body without the password, so that
/// not even a fast hash of it is kept.
fn fingerprint(body: &Map<String, Value>) -> Vec<u8> {
    let mut body = body.clone();
    body.remove("password");
    Value::Object(body).to_string().into_bytes()
}

/// A user to create or change, as the request writes it.
type Manage = Command<Aipix, JsonBody<Map<String, Value>, Aipix>>;

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/billing/user/manage", tag = "aipix-billing", operation_id = "BillingUserCreate",
    request_body = ManageUserRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = UserObject), Refused),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    command: Manage,
) -> Result<Response, ApiError<Aipix>> {
    let principal = command.caller.require(Role::Integration)?;
    let (mutation, body) = (command.mutation, command.body.value);
    let new = match request::new_user(&body, &rules(&state)) {
        Ok(new) => new,
        // A taken login is reported with the other failures, as one answer. When
        // nothing else fails, the unique index below says it (after a repeat with
        // the same Idempotency-Key has had its chance to replay).
        Err(Error::Validation(mut fields)) => {
            if let Some(Value::String(login)) = body.get("login").filter(|l| l.as_str() != Some(""))
                && users::is_taken(&state.core, login).await?
            {
                fields.insert(0, FieldError::new("login", Reason::Taken));
            }
            return Err(Error::Validation(fields).into());
        }
        Err(e) => return Err(e.into()),
    };
    let ran = users::create(
        &state.core,
        mutation.write(&fingerprint(&body)),
        principal,
        new,
        StatusCode::OK.as_u16(),
        |user| UserObject::from(user),
    )
    .await?;
    Ok(answer(ran))
}

/// Changes the user with `login`.
#[utoipa::path(patch, path = "/api/v1/billing/user/manage", tag = "aipix-billing", operation_id = "BillingUserUpdate",
    request_body = ManageUserRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = UserObject), Refused),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    command: Manage,
) -> Result<Response, ApiError<Aipix>> {
    let principal = command.caller.require(Role::Integration)?;
    let (mutation, body) = (command.mutation, command.body.value);
    let change = request::user_change(&body, &rules(&state))?;
    let ran = users::update(
        &state.core,
        mutation.write(&fingerprint(&body)),
        principal,
        change,
        StatusCode::OK.as_u16(),
        |user| UserObject::from(user),
    )
    .await?;
    Ok(answer(ran))
}

/// Deletes the user with `login`: 204, or 400 with the validation body.
#[utoipa::path(delete, path = "/api/v1/billing/user/manage", tag = "aipix-billing", operation_id = "BillingUserDelete",
    request_body = DeleteUserRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = super::error::ErrorBody, description = "No such login, or no login given"),
        (status = "4XX", body = super::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller<AipixDelete>,
    mutation: Mutation<AipixDelete>,
    body: JsonBody<Map<String, Value>, AipixDelete>,
) -> Result<Response, ApiError<AipixDelete>> {
    let principal = caller.require(Role::Integration)?;
    let login = request::parse_login(&body.value)?;
    Ok(answer(
        users::delete(&state.core, mutation.write(&body.raw), principal, &login).await?,
    ))
}
