//! Invoices for the operator: read one, and move it through its lifecycle
//! (`:pay` records a payment of the total and extends the license, `:cancel`,
//! `:refund`). Answers in the LIFE POS invoice shape.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::RawBody;
use crate::error::ApiError;
use crate::invoicing::{self, Change};
use crate::json::Json;
use crate::lifepos::wire::InvoiceView;
use crate::mutation::Mutation;
use crate::path::split_custom_method;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_domain::Error;
use kopek_domain::auth::Role;
use kopek_store::invoices;
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
#[utoipa::path(get, path = "/admin/v1/invoices/{guid}", tag = "admin", params(("guid" = String, Path)),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    Path(guid): Path<String>,
) -> Result<Json<InvoiceView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let mut conn = state.store.conn().await?;
    let invoice = invoices::get(&mut conn, &guid)
        .await?
        .ok_or(Error::NotFound {
            what: "invoice",
            id: guid,
        })?;
    Ok(Json(InvoiceView::new(
        &invoice,
        &state.config.public_url,
        state.store.page_key(),
    )))
}

/// `POST /admin/v1/invoices/{guid}:pay` (optional body `{method, reference}`),
/// `:cancel` and `:refund`.
#[utoipa::path(post, path = "/admin/v1/invoices/{guid}:pay", tag = "admin",
    params(("guid" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<PayInvoice>, description = "For :pay only; :cancel and :refund take no body"),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    mutation: Mutation<Admin>,
    Path(segment): Path<String>,
    body: RawBody<Admin>,
) -> Result<Response, ApiError<Admin>> {
    let body = body.bytes;
    let principal = caller.require(Role::Admin)?;
    let (guid, method) = split_custom_method(&segment);
    let change = match method {
        Some("pay") => {
            let pay: PayInvoice = if body.iter().all(u8::is_ascii_whitespace) {
                PayInvoice::default()
            } else {
                crate::body::parse(&body)?
            };
            Change::Pay {
                method: pay
                    .method
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "manual".to_owned()),
                reference: pay.reference,
            }
        }
        Some("cancel") => Change::Cancel,
        Some("refund") => Change::Refund,
        _ => {
            return Err(Error::NotFound {
                what: "method",
                id: segment.clone(),
            }
            .into());
        }
    };
    Ok(mutation
        .run(principal, &body, StatusCode::OK, async |work| {
            let invoice = invoicing::apply(work.conn(), guid, change, state.now()).await?;
            let view = InvoiceView::new(&invoice, &state.config.public_url, state.store.page_key());
            Ok(view)
        })
        .await?)
}
