//! Invoices for the operator: read one, and move it through its lifecycle
//! (`:pay` records a payment of the total and extends the license, `:cancel`,
//! `:refund`). Answers in the LIFE POS invoice shape.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::invoice_view::InvoiceView;
use crate::json::Json;
use crate::mutation::{Command, answer};
use crate::path::split_custom_method;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::invoices;
use kopek_core::invoices::{self as core_invoices, Change};
use kopek_domain::Error;
use kopek_domain::auth::Role;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PayInvoice {
    /// How it was paid: `manual` (default), `transfer`, `card`, ...
    pub method: Option<String>,
    /// The bank's or provider's reference.
    pub reference: Option<String>,
}

/// Gets any invoice.
#[utoipa::path(get, path = "/admin/v1/invoices/{guid}", tag = "admin", operation_id = "getInvoice", params(("guid" = String, Path)),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(guid): Path<String>,
) -> Result<Json<InvoiceView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let invoice = invoices::get(&state.core, &guid.into()).await?;
    Ok(Json(InvoiceView::new(
        &invoice,
        &state.settings().public_url,
        state.store.page_key(),
    )))
}

/// `POST /admin/v1/invoices/{segment}`: the segment is `{guid}:pay`, `:cancel` or
/// `:refund`.
pub async fn change(
    state: State<AppState>,
    Path(segment): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let (guid, method) = split_custom_method(&segment);
    let guid = Path(guid.to_owned());
    match method {
        Some("pay") => pay(state, guid, command).await,
        Some("cancel") => cancel(state, guid, command).await,
        Some("refund") => refund(state, guid, command).await,
        _ => Err(Error::NotFound {
            what: "method",
            id: segment.clone(),
        }
        .into()),
    }
}

/// Records a payment of the whole total and starts or extends the license. The
/// body is optional.
#[utoipa::path(post, path = "/admin/v1/invoices/{guid}:pay", tag = "admin", operation_id = "payInvoice",
    params(("guid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<PayInvoice>, description = "How it was paid; an empty body is a manual payment"),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pay(
    State(state): State<AppState>,
    Path(guid): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let pay: PayInvoice = crate::body::parse_optional(&command.body.bytes)?;
    let change = Change::Pay {
        method: pay
            .method
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "manual".to_owned()),
        reference: pay.reference,
    };
    apply(&state, command, &guid, change).await
}

/// Cancels an unpaid invoice; its payment links stop working. No body.
#[utoipa::path(post, path = "/admin/v1/invoices/{guid}:cancel", tag = "admin", operation_id = "cancelInvoice",
    params(("guid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(guid): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    apply(&state, command, &guid, Change::Cancel).await
}

/// Marks a paid invoice refunded. No body. (The license time it bought is not
/// taken back.)
#[utoipa::path(post, path = "/admin/v1/invoices/{guid}:refund", tag = "admin", operation_id = "refundInvoice",
    params(("guid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    Path(guid): Path<String>,
    command: Command<Admin>,
) -> Result<Response, ApiError<Admin>> {
    apply(&state, command, &guid, Change::Refund).await
}

async fn apply(
    state: &AppState,
    command: Command<Admin>,
    guid: &str,
    change: Change,
) -> Result<Response, ApiError<Admin>> {
    let principal = command.caller.require(Role::Admin)?;
    let ran = core_invoices::change(
        &state.core,
        command.mutation.write(&command.body.bytes),
        principal,
        &guid.into(),
        change,
        StatusCode::OK.as_u16(),
        |invoice| {
            InvoiceView::new(
                invoice,
                &state.settings().public_url,
                state.store.page_key(),
            )
        },
    )
    .await?;
    Ok(answer(ran))
}
