//! Verifying a payment provider's callback: the body is signed with a shared
//! secret as `X-Kopek-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
//! (the scheme Stripe uses), and a stale timestamp is refused so a captured
//! callback cannot be replayed later.

use crate::AppState;
use crate::json::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use kopek_domain::mac;
use kopek_domain::time::Timestamp;
use serde::Deserialize;
use serde_json::json;

/// How old a signed callback may be.
pub const TOLERANCE_SECONDS: i64 = 300;

pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac::sign(secret, &[timestamp.to_string().as_bytes(), b".", body]);
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Whether `header` signs `body` with `secret`, within the tolerance of `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(given)) = (timestamp, signature) else {
        return false;
    };
    if (now - t).abs() > TOLERANCE_SECONDS {
        return false;
    }
    // The whole tag, not a prefix: a provider sends all of it.
    given.len() == 32 && mac::verify(secret, &[t.to_string().as_bytes(), b".", body], &given)
}

/// What a provider reports about a payment it took.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Notice {
    pub invoice_guid: String,
    /// The provider's payment id.
    pub reference: String,
    /// `succeeded`; anything else is acknowledged and ignored.
    pub status: String,
}

/// `POST /payments/callback/{provider}`: a provider says a payment succeeded. The
/// signature is checked before anything else is read; a notice about an invoice
/// already paid is acknowledged again without a second payment, since providers
/// retry until they get a 2xx.
///
/// The configured acquirer's notifications (`/payments/callback/yookassa`) carry
/// no signature: only the payment's id is read from them, and what the
/// acquirer's API says about that payment is applied (see `kopek_core::acquiring`).
#[utoipa::path(post, path = "/payments/callback/{provider}", tag = "payments", operation_id = "receivePaymentCallback",
    params(
        ("provider" = String, Path, description = "The provider's name; recorded as the payment method"),
        ("X-Kopek-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">`"),
    ),
    request_body = Notice,
    responses(
        (status = 200, description = "Received (also for a repeat, or a status other than `succeeded`)", body = Object),
        (status = 400, description = "The body is not a notice", body = Object),
        (status = 401, description = "A missing, wrong or stale signature", body = Object),
        (status = 404, description = "No such invoice, or callbacks are not configured (`KOPEK_PAYMENT_CALLBACK_SECRET`)", body = Object),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if state
        .core
        .acquirer
        .as_ref()
        .is_some_and(|a| a.name() == provider)
    {
        return acquirer_notice(&state, body).await;
    }
    let Some(secret) = state.config.payment_callback_secret.as_deref() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "payment callbacks are not configured"})),
        )
            .into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return (
                rejection.status(),
                Json(json!({"error": rejection.body_text()})),
            )
                .into_response();
        }
    };
    let signature = headers
        .get("x-kopek-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(
        secret.as_bytes(),
        signature,
        &body,
        Timestamp::now().micros() / 1_000_000,
    ) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "bad signature"})),
        )
            .into_response();
    }
    // The same reading as every JSON body: control characters refused by field.
    let notice: Notice = match crate::body::parse(&body) {
        Ok(notice) => notice,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.public_message(kopek_domain::lang::Lang::En)})),
            )
                .into_response();
        }
    };
    if notice.status != "succeeded" {
        return (StatusCode::OK, Json(json!({"received": true}))).into_response();
    }
    let applied = kopek_core::invoices::record_payment(
        &state.core,
        &notice.invoice_guid.as_str().into(),
        provider,
        Some(notice.reference),
    )
    .await;
    match applied {
        Ok(invoice) => (
            StatusCode::OK,
            Json(json!({"received": true, "status": invoice.status.as_str()})),
        )
            .into_response(),
        Err(Error::FailedPrecondition(_)) => (
            StatusCode::OK,
            Json(json!({"received": true, "status": "unchanged"})),
        )
            .into_response(),
        Err(Error::NotFound { .. }) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such invoice"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "payment callback failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What an acquirer's notification is read for: the id of its payment. Anything
/// else in it may be forged and is not read.
#[derive(Debug, Deserialize)]
struct AcquirerNotice {
    object: NoticeObject,
}

#[derive(Debug, Deserialize)]
struct NoticeObject {
    id: String,
}

/// Applies what the acquirer's API says about the payment a notification names.
/// 200 when done or about a payment Kopek did not make; 503 when the API did not
/// answer, so the acquirer sends the notification again.
async fn acquirer_notice(state: &AppState, body: Result<Bytes, BytesRejection>) -> Response {
    let notice: Option<AcquirerNotice> = body
        .ok()
        .and_then(|b| crate::body::parse::<AcquirerNotice>(&b).ok());
    let Some(notice) = notice else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "not a notification"})),
        )
            .into_response();
    };
    match kopek_core::acquiring::notified(&state.core, &notice.object.id).await {
        Ok(known) => (
            StatusCode::OK,
            Json(json!({"received": true, "known": known})),
        )
            .into_response(),
        Err(Error::Unavailable { cause, .. }) => {
            tracing::warn!(error = %cause, "the acquirer's API did not confirm a notification");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "try again"})),
            )
                .into_response()
        }
        Err(Error::FailedPrecondition(why)) => {
            // Not a payment of this shop (the API refused to show it): nothing to do.
            tracing::warn!(%why, "a notification about a payment the acquirer would not show");
            (
                StatusCode::OK,
                Json(json!({"received": true, "known": false})),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "an acquirer notification failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let header = sign(b"whsec", 1_000, b"{}");
        assert!(verify(b"whsec", &header, b"{}", 1_010));
        assert!(!verify(b"whsec", &header, b"{ }", 1_010));
        assert!(!verify(b"other", &header, b"{}", 1_010));
        assert!(!verify(b"whsec", &header, b"{}", 2_000), "stale");
        assert!(!verify(b"whsec", "garbage", b"{}", 1_000));
    }
}
