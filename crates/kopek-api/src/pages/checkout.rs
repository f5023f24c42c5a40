//! The hosted invoice page when an acquirer (YooKassa) takes the card: a button
//! that sends the buyer to the acquirer's page, and the state of the newest
//! payment in words the buyer understands.

use crate::AppState;
use kopek_core::acquiring;
use kopek_domain::Error;
use kopek_domain::card_payment::CardPaymentStatus;
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::lang::Lang;
use kopek_store::card_payments::CardPayment;
use kopek_store::invoices::Invoice;
use maud::{Markup, html};

/// How often a page waiting for the acquirer's word looks again.
pub const REFRESH_SECONDS: u32 = 3;

/// The invoice and its newest card payment, both as they are after asking the
/// acquirer (which may have paid the invoice meanwhile).
pub async fn latest(
    state: &AppState,
    inv: Invoice,
) -> Result<(Invoice, Option<CardPayment>), Error> {
    let attempt = acquiring::latest(&state.core, &inv).await?;
    let paid_now = inv.status == InvoiceStatus::Pending
        && attempt
            .as_ref()
            .is_some_and(|a| a.status == CardPaymentStatus::Succeeded);
    let inv = if paid_now {
        kopek_core::invoices::get(&state.core, &inv.guid).await?
    } else {
        inv
    };
    Ok((inv, attempt))
}

/// The address the receipt form starts with: the organization's billing contact.
pub async fn receipt_email(state: &AppState, inv: &Invoice) -> Option<String> {
    match acquiring::receipt_email(&state.core, inv).await {
        Ok(email) => email.map(|e| e.as_str().to_owned()),
        Err(e) => {
            tracing::warn!(error = %e, "no billing contact for the receipt form");
            None
        }
    }
}

/// Why the acquirer canceled a payment, for the buyer.
pub fn canceled_text(reason: &str, lang: Lang) -> String {
    let why = match reason {
        "insufficient_funds" => lang.pick(
            "there is not enough money on the card",
            "на карте недостаточно средств",
        ),
        "expired_on_confirmation" => {
            lang.pick("it was not confirmed in time", "его не подтвердили вовремя")
        }
        "3d_secure_failed" => lang.pick(
            "the bank's confirmation (3-D Secure) failed",
            "не пройдено подтверждение банка (3-D Secure)",
        ),
        "card_expired" => lang.pick("the card has expired", "срок действия карты истёк"),
        "call_issuer" | "general_decline" | "fraud_suspected" => lang.pick(
            "the bank declined it; contact your bank or try another card",
            "банк отклонил платёж; обратитесь в банк или попробуйте другую карту",
        ),
        "invalid_card_number" | "invalid_csc" => lang.pick(
            "the card details were not right",
            "данные карты указаны неверно",
        ),
        "canceled_by_merchant" => lang.pick("the seller canceled it", "продавец отменил его"),
        _ => lang.pick(
            "the payment service declined it",
            "платёжный сервис отклонил его",
        ),
    };
    lang.pick(
        format!("The payment did not go through: {why}. You can try again."),
        format!("Платёж не прошёл: {why}. Можно попробовать ещё раз."),
    )
}

pub fn returned_text(lang: Lang) -> &'static str {
    lang.pick(
        "A card payment arrived after this invoice was settled; it was returned to the card.",
        "Оплата картой пришла, когда счёт уже был закрыт; деньги возвращены на карту.",
    )
}

/// What the newest attempt means for the buyer now.
fn state_text(attempt: &CardPayment, lang: Lang) -> Option<(bool, String)> {
    match attempt.status {
        CardPaymentStatus::Creating => Some((
            true,
            lang.pick(
                "The payment service did not answer. Press Pay to try again; you will not be charged twice.",
                "Платёжный сервис не ответил. Нажмите «Оплатить» ещё раз — дважды деньги не спишутся.",
            )
            .to_owned(),
        )),
        CardPaymentStatus::Pending => Some((
            false,
            lang.pick(
                "Your payment is being confirmed by the payment service; this page updates by itself.",
                "Платёж подтверждается платёжным сервисом; страница обновится сама.",
            )
            .to_owned(),
        )),
        CardPaymentStatus::Canceled => Some((
            true,
            canceled_text(attempt.cancel_reason.as_deref().unwrap_or_default(), lang),
        )),
        CardPaymentStatus::Succeeded | CardPaymentStatus::Returned => None,
    }
}

/// The receipt address and the button to the acquirer's page, under the state of
/// the newest attempt.
pub fn form(
    inv: &Invoice,
    token: &str,
    csrf_token: &str,
    email: Option<&str>,
    attempt: Option<&CardPayment>,
    lang: Lang,
) -> Markup {
    let state = attempt.and_then(|a| state_text(a, lang));
    let continue_url = attempt
        .filter(|a| a.status == CardPaymentStatus::Pending)
        .and_then(|a| a.confirmation_url.as_deref());
    let email = attempt
        .map(|a| a.receipt_email.as_str())
        .or(email)
        .unwrap_or_default();
    html! {
        @if let Some((alert, text)) = &state {
            @if *alert { div.alert.payment-state { (text) } } @else { p.payment-state { (text) } }
        }
        @if let Some(url) = continue_url {
            p { a href=(url) { (lang.pick("Continue to the payment page", "Перейти на страницу оплаты")) } }
        } @else {
            form.card method="post" action={ "/invoices/" (inv.guid) "/checkout?token=" (token) } {
                input type="hidden" name="csrf" value=(csrf_token);
                label {
                    (lang.pick("E-mail for the receipt", "E-mail для чека"))
                    input type="email" name="email" value=(email) autocomplete="email" required;
                }
                button type="submit" { (lang.pick("Pay by card", "Оплатить картой")) }
            }
            p.muted { (lang.pick(
                "You will pay on YooKassa's page; Kopek never sees the card.",
                "Оплата проходит на странице ЮKassa; данные карты не передаются продавцу.",
            )) }
        }
    }
}

/// The page between the button and the acquirer: the browser goes on by itself.
/// (A redirect straight from the form would be held to the page's
/// `form-action 'self'`.)
pub fn onward(url: &str, lang: Lang) -> Markup {
    html! {
        h1 { (lang.pick("On to the payment page", "Переход к оплате")) }
        p { a id="onward" href=(url) { (lang.pick("Continue to YooKassa", "Перейти в ЮKassa")) } }
    }
}
