//! Webhook endpoints and their delivery log. The operator manages every endpoint;
//! reseller and organization keys those of their own scope.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::operator_views::DeliveryView;
use crate::path::split_custom_method;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::paging::PageQuery;
use kopek_core::webhooks::{self as webhooks_core, EndpointInput};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_domain::webhook::Secret;
use kopek_store::webhooks::Endpoint;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndpointRequest {
    /// `https://` and a public host (any URL with `KOPEK_WEBHOOK_ALLOW_PRIVATE`).
    pub url: Option<String>,
    /// Event types (`invoice.paid`), prefixes ending in a dot (`invoice.`), or
    /// `["*"]` (the default) for every event.
    pub event_types: Option<Vec<String>>,
    /// `all` (operator keys only), a reseller's billing account id or an
    /// organization's guid; a reseller or organization key's own scope when absent.
    /// Cannot change after creation.
    pub scope: Option<String>,
    /// For people, at most 500 characters.
    pub description: Option<String>,
    /// True when absent.
    pub enabled: Option<bool>,
}

impl From<EndpointRequest> for EndpointInput {
    fn from(r: EndpointRequest) -> EndpointInput {
        EndpointInput {
            url: r.url,
            event_types: r.event_types,
            scope: r.scope,
            description: r.description,
            enabled: r.enabled,
        }
    }
}

/// An endpoint; its secret is shown only when made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    /// `all`, or the reseller id or organization guid the endpoint is scoped to.
    pub scope: String,
    /// `all`, `reseller` or `organization`.
    pub scope_type: String,
    pub description: String,
    pub enabled: bool,
    /// Why Kopek disabled the endpoint, if it did.
    pub disabled_reason: Option<String>,
    /// Until when deliveries also carry a signature with the secret before the
    /// last rotation.
    pub previous_secret_valid_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> EndpointView {
        EndpointView {
            id: e.id.clone(),
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            scope: e.scope_id.clone().unwrap_or_else(|| "all".to_owned()),
            scope_type: e.scope_type.clone(),
            description: e.description.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            previous_secret_valid_until: e
                .previous_secret
                .as_ref()
                .and(e.previous_secret_until)
                .map(Timestamp::rfc3339),
            created_at: e.created_at.rfc3339(),
            updated_at: e.updated_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_` and the base64 of 256 random bits, as Standard Webhooks receivers
    /// take it. Shown only in this response; null in the answer to a repeat with
    /// the same `Idempotency-Key`.
    pub secret: Option<String>,
}

fn with_secret(endpoint: &Endpoint, secret: &Secret) -> EndpointWithSecret {
    EndpointWithSecret {
        endpoint: endpoint.into(),
        secret: Some(secret.expose().to_owned()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub webhook_endpoints: Vec<EndpointView>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Creates an endpoint; the answer holds its signing secret, once.
#[utoipa::path(post, path = "/admin/v1/webhook-endpoints", tag = "webhooks", operation_id = "createWebhookEndpoint",
    request_body = EndpointRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe; a repeat has no secret")),
    responses((status = 201, body = EndpointWithSecret), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    body: JsonBody<EndpointRequest, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let ran = webhooks_core::create(
        &state.core,
        mutation.write(&body.raw),
        &caller.principal,
        body.value.into(),
        StatusCode::CREATED.as_u16(),
        "secret",
        with_secret,
    )
    .await?;
    Ok(answer(ran))
}

/// Lists the endpoints the key may manage, in id order.
#[utoipa::path(get, path = "/admin/v1/webhook-endpoints", tag = "webhooks", operation_id = "listWebhookEndpoints",
    params(PageQuery),
    responses((status = 200, body = EndpointList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<EndpointList>, ApiError<Admin>> {
    let (rows, next_page_token) =
        webhooks_core::list(&state.core, &caller.principal, &query.value).await?;
    Ok(Json(EndpointList {
        webhook_endpoints: rows.iter().map(EndpointView::from).collect(),
        next_page_token,
    }))
}

/// One endpoint.
#[utoipa::path(get, path = "/admin/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "getWebhookEndpoint",
    params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, ApiError<Admin>> {
    let endpoint = webhooks_core::get(&state.core, &caller.principal, &id).await?;
    Ok(Json((&endpoint).into()))
}

/// Changes the given fields of an endpoint (not its scope). Enabling an endpoint
/// Kopek disabled clears the reason.
#[utoipa::path(patch, path = "/admin/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "updateWebhookEndpoint",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = EndpointRequest,
    responses((status = 200, body = EndpointView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(id): Path<String>,
    body: JsonBody<EndpointRequest, Admin>,
) -> Result<Response, ApiError<Admin>> {
    let ran = webhooks_core::update(
        &state.core,
        mutation.write(&body.raw),
        &caller.principal,
        &id,
        body.value.into(),
        StatusCode::OK.as_u16(),
        |e| EndpointView::from(e),
    )
    .await?;
    Ok(answer(ran))
}

/// Deletes an endpoint with its deliveries and their log.
#[utoipa::path(delete, path = "/admin/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "deleteWebhookEndpoint",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204, description = "Deleted"), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(id): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    let ran = webhooks_core::delete(mutation.write(b""), &caller.principal, &id).await?;
    Ok(answer(ran))
}

/// `POST /admin/v1/webhook-endpoints/{segment}`: the segment is `{id}:rotate-secret`.
pub async fn endpoint_method(
    state: State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    match split_custom_method(&segment) {
        (id, Some("rotate-secret")) => {
            rotate_secret(state, caller, mutation, Path(id.to_owned())).await
        }
        _ => Err(Error::NotFound {
            what: "method",
            id: format!("POST /admin/v1/webhook-endpoints/{segment}"),
        }
        .into()),
    }
}

/// Issues a new signing secret, shown once. Deliveries are signed with the old one
/// too for 24 hours, so receivers can switch without losing any.
#[utoipa::path(post, path = "/admin/v1/webhook-endpoints/{id}:rotate-secret", tag = "webhooks", operation_id = "rotateWebhookSecret",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe; a repeat has no secret")),
    responses((status = 200, body = EndpointWithSecret), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(id): Path<String>,
) -> Result<Response, ApiError<Admin>> {
    let ran = webhooks_core::rotate_secret(
        &state.core,
        mutation.write(b""),
        &caller.principal,
        &id,
        StatusCode::OK.as_u16(),
        "secret",
        with_secret,
    )
    .await?;
    Ok(answer(ran))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// An endpoint's deliveries, newest first, each with every attempt.
#[utoipa::path(get, path = "/admin/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = DeliveryList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
    query: Params<PageQuery, Admin>,
) -> Result<Json<DeliveryList>, ApiError<Admin>> {
    let (rows, next_page_token) =
        webhooks_core::deliveries(&state.core, &caller.principal, &id, &query.value).await?;
    Ok(Json(DeliveryList {
        deliveries: rows.into_iter().map(DeliveryView::from).collect(),
        next_page_token,
    }))
}

/// `POST /admin/v1/webhook-endpoints/{id}/deliveries/{segment}`: the segment is
/// `{deliveryId}:resend`.
pub async fn delivery_method(
    state: State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path((endpoint_id, segment)): Path<(String, String)>,
) -> Result<Response, ApiError<Admin>> {
    match split_custom_method(&segment) {
        (id, Some("resend")) => {
            resend(state, caller, mutation, Path((endpoint_id, id.to_owned()))).await
        }
        _ => Err(Error::NotFound {
            what: "method",
            id: format!("POST /admin/v1/webhook-endpoints/{endpoint_id}/deliveries/{segment}"),
        }
        .into()),
    }
}

/// Sends a delivery again as soon as a worker is free, with a new retry window,
/// whatever became of it (the receiver gets the same `webhook-id`).
#[utoipa::path(post, path = "/admin/v1/webhook-endpoints/{id}/deliveries/{delivery_id}:resend", tag = "webhooks", operation_id = "resendWebhookDelivery",
    params(("id" = String, Path), ("delivery_id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DeliveryView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resend(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path((endpoint_id, delivery_id)): Path<(String, String)>,
) -> Result<Response, ApiError<Admin>> {
    let ran = webhooks_core::resend(
        &state.core,
        mutation.write(b""),
        &caller.principal,
        &endpoint_id,
        &delivery_id,
        StatusCode::OK.as_u16(),
        DeliveryView::from,
    )
    .await?;
    Ok(answer(ran))
}
