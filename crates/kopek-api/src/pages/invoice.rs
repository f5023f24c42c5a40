//! The hosted invoice page behind `payment_by_card_link`: the invoice, and while it
//! is Pending a card form in test mode. Paying records the payment through the same
//! core use case as the operator API, so the license is extended and the event
//! written exactly as there.

use super::checkout;
use crate::AppState;
use crate::context::RequestContext;
use crate::html::csrf::{Guarded, guarded};
use crate::html::responses::{CardOutcome, Forged, LinkNotText, NotPayable, UnknownInvoice};
use crate::html::{csrf, date, money, page, page_moving_on, page_refreshing, secure, see_other};
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kopek_core::acquiring::Checkout;
use kopek_core::invoices;
use kopek_core::test_cards::{Outcome, Provider, TestProvider, parse_card};
use kopek_domain::Error;
use kopek_domain::card_payment::CardPaymentStatus;
use kopek_domain::company::Kpp;
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::lang::Lang;
use kopek_domain::vat;
use kopek_store::card_payments::CardPayment;
use kopek_store::invoices::{Invoice, Payment};
use maud::{Markup, html};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};

/// What a payment link carries besides the invoice's guid.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Link {
    /// The link's signature, as the invoice's `payment_by_*_link` gives it.
    pub token: Option<String>,
    /// `pdf` for the bank-transfer invoice as PDF; HTML otherwise.
    pub format: Option<String>,
}

/// The card form of the hosted payment page (test mode: no real card is charged).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayForm {
    pub card_number: String,
    pub expiry: String,
    pub cvc: String,
    pub csrf: String,
}

/// The 3-D Secure step of the hosted payment page.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmForm {
    pub challenge: String,
    pub decision: String,
    pub csrf: String,
}

/// A page that says something went wrong, in the page look.
pub fn message(
    status: StatusCode,
    title_en: &str,
    title_ru: &str,
    text_en: &str,
    text_ru: &str,
) -> Response {
    let lang = RequestContext::current().lang;
    let title = lang.pick(title_en, title_ru);
    page(
        status,
        title,
        html! { h1 { (title) } p { (lang.pick(text_en, text_ru)) } },
    )
}

pub fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Invoice not found",
        "Счёт не найден",
        "This link is not valid. Check that you opened the whole link.",
        "Ссылка недействительна. Проверьте, что открыли её целиком.",
    )
}

pub fn failed(e: &Error) -> Response {
    tracing::error!(error = %e, "invoice page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Что-то пошло не так",
        "Please try again later.",
        "Попробуйте позже.",
    )
}

/// The invoice a link opens: only with the link's own token.
pub async fn linked(state: &AppState, guid: &str, link: &Link) -> Result<Option<Invoice>, Error> {
    invoices::linked(&state.core, guid, link.token.as_deref()).await
}

fn status_label(status: InvoiceStatus, lang: Lang) -> &'static str {
    match status {
        InvoiceStatus::Pending => lang.pick("Awaiting payment", "Ожидает оплаты"),
        InvoiceStatus::Paid => lang.pick("Paid", "Оплачен"),
        InvoiceStatus::Canceled => lang.pick("Canceled", "Отменён"),
        InvoiceStatus::Refunded => lang.pick("Refunded", "Возвращён"),
    }
}

/// The invoice itself: parties, positions, VAT, total and status.
fn summary(state: &AppState, inv: &Invoice, lang: Lang) -> Markup {
    let seller = &state.config.seller;
    let m = |amount| money(amount, lang);
    let party = |title: &str, name: &str, inn: &str, kpp: Option<&str>| {
        html! {
            div {
                h2 { (title) }
                strong { (name) }
                br;
                (lang.pick("INN", "ИНН")) " " (inn)
                @if let Some(kpp) = kpp.filter(|k| !k.is_empty()) {
                    ", " (lang.pick("KPP", "КПП")) " " (kpp)
                }
            }
        }
    };
    html! {
        h1 { (lang.pick("Invoice", "Счёт №")) " " (inv.number) }
        p.muted {
            (lang.pick("Issued", "Выставлен")) " " (date(inv.created_at, lang)) " · "
            span class={ "status status-" (inv.status.as_str()) } { (status_label(inv.status, lang)) }
        }
        section.parties {
            (party(lang.pick("Seller", "Продавец"), &seller.name, &seller.inn, Some(&seller.kpp)))
            (party(lang.pick("Buyer", "Покупатель"), &inv.company.name, inv.company.inn.as_str(), inv.company.kpp.as_ref().map(Kpp::as_str)))
        }
        table {
            thead {
                tr {
                    th { (lang.pick("Item", "Наименование")) }
                    th.num { (lang.pick("Qty", "Кол-во")) }
                    th.num { (lang.pick("Price", "Цена")) }
                    th.num { (lang.pick("Sum", "Сумма")) }
                }
            }
            tbody {
                @for p in &inv.quote.positions {
                    tr {
                        td { (p.name) }
                        td.num { (p.quantity) }
                        td.num { (m(p.price)) }
                        td.num { (m(p.total)) }
                    }
                }
            }
        }
        p { (lang.pick("Including VAT", "В том числе НДС")) " " (vat::percent(inv.quote.vat_basis_points)) ": " (m(inv.quote.vat)) }
        p.total { (lang.pick("Total", "Итого")) ": " (m(inv.quote.total)) }
    }
}

fn card_form(guid: &str, token: &str, csrf_token: &str, lang: Lang) -> Markup {
    html! {
        form.card method="post" action={ "/invoices/" (guid) "/pay?token=" (token) } {
            input type="hidden" name="csrf" value=(csrf_token);
            label { (lang.pick("Card number", "Номер карты")) input name="card_number" inputmode="numeric" autocomplete="cc-number" required; }
            label { (lang.pick("Valid thru", "Срок действия")) input name="expiry" placeholder="MM/YY" autocomplete="cc-exp" required; }
            label { "CVC" input name="cvc" inputmode="numeric" autocomplete="cc-csc" required; }
            button type="submit" { (lang.pick("Pay", "Оплатить")) }
        }
        p.test-cards {
            (lang.pick("Test mode, no money moves. Cards", "Тестовый режим, деньги не списываются. Карты")) ": "
            "4242 4242 4242 4242 " (lang.pick("succeeds", "успешно")) " · "
            "4000 0000 0000 0002 " (lang.pick("is declined", "отклоняется")) " · "
            "4000 0000 0000 3220 " (lang.pick("asks to confirm", "требует подтверждения"))
        }
    }
}

fn receipt(payments: &[Payment], lang: Lang) -> Markup {
    html! {
        @for p in payments {
            div.receipt {
                strong { (lang.pick("Receipt", "Квитанция")) }
                br;
                (money(p.amount, lang)) " · " (date(p.created_at, lang)) " · "
                (p.method) " · " (p.reference.as_deref().unwrap_or(&p.id))
            }
        }
    }
}

/// The whole invoice page, with `alert` shown above the form when set, and the
/// state of the newest card payment through the acquirer when there is one.
async fn render(
    state: &AppState,
    inv: &Invoice,
    token: &str,
    headers: &HeaderMap,
    status: StatusCode,
    alert: Option<&str>,
    attempt: Option<&CardPayment>,
) -> Response {
    let lang = RequestContext::current().lang;
    let mut cookie = None;
    let after = match inv.status {
        InvoiceStatus::Pending => {
            let (csrf_token, set) = csrf::issue(
                state.store.page_key(),
                headers,
                inv.guid.as_str(),
                secure(state),
            );
            cookie = set;
            if state.core.acquirer.is_some() {
                let email = checkout::receipt_email(state, inv).await;
                checkout::form(inv, token, &csrf_token, email.as_deref(), attempt, lang)
            } else {
                card_form(inv.guid.as_str(), token, &csrf_token, lang)
            }
        }
        InvoiceStatus::Paid | InvoiceStatus::Refunded => {
            let payments = invoices::payments(&state.core, &inv.guid)
                .await
                .unwrap_or_default();
            receipt(&payments, lang)
        }
        InvoiceStatus::Canceled => html! {
            p { (lang.pick("This invoice was canceled and cannot be paid.", "Счёт отменён, оплатить его нельзя.")) }
        },
    };
    let returned = attempt.filter(|a| a.status == CardPaymentStatus::Returned);
    let body = html! {
        (summary(state, inv, lang))
        @if let Some(alert) = alert { div.alert { (alert) } }
        @if returned.is_some() { div.alert { (checkout::returned_text(lang)) } }
        (after)
        p.muted {
            a href={ "/invoices/" (inv.guid) "/bank-transfer?token=" (token) } {
                (lang.pick("Invoice for a bank transfer", "Счёт для оплаты банковским переводом"))
            }
        }
    };
    let title = format!("{} {}", lang.pick("Invoice", "Счёт"), inv.number);
    let waiting = inv.status == InvoiceStatus::Pending
        && attempt.is_some_and(|a| a.status == CardPaymentStatus::Pending);
    let mut response = if waiting {
        // The buyer is back from the acquirer before its word: look again shortly.
        page_refreshing(status, &title, body, checkout::REFRESH_SECONDS)
    } else {
        page(status, &title, body)
    };
    csrf::set_cookie(&mut response, cookie);
    response
}

/// The hosted payment page behind `payment_by_card_link`: the invoice and a card form.
#[utoipa::path(get, path = "/invoices/{guid}/pay", tag = "pages", operation_id = "showPaymentPage",
    params(("guid" = String, Path), Link),
    responses(
        (status = 200, description = "The invoice and, while it is unpaid, the card form", content_type = "text/html", body = String),
        (status = 404, description = "Unknown invoice or a link that does not sign it", content_type = "text/html", body = String),
        LinkNotText,
    ))]
pub async fn show(
    State(state): State<AppState>,
    Path(guid): Path<String>,
    Query(link): Query<Link>,
    headers: HeaderMap,
) -> Response {
    let inv = match linked(&state, &guid, &link).await {
        Ok(Some(inv)) => inv,
        Ok(None) => return not_found(),
        Err(e) => return failed(&e),
    };
    // With an acquirer, the newest payment is asked about first: it may have paid
    // the invoice since the page was last seen.
    let (inv, attempt) = match checkout::latest(&state, inv).await {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    render(
        &state,
        &inv,
        link.token.as_deref().unwrap_or_default(),
        &headers,
        StatusCode::OK,
        None,
        attempt.as_ref(),
    )
    .await
}

/// Records a card payment and sends the browser back to the invoice (Post/Redirect/Get).
async fn record(
    state: &AppState,
    inv: &Invoice,
    token: &str,
    reference: String,
) -> Result<Response, Error> {
    kopek_core::invoices::record_payment(
        &state.core,
        &inv.guid,
        "card".to_owned(),
        Some(reference),
    )
    .await?;
    Ok(see_other(&format!(
        "/invoices/{}/pay?token={token}",
        inv.guid
    )))
}

fn declined_text(reason: &str, lang: Lang) -> String {
    let text = match reason {
        "card_declined" => lang.pick(
            "The card was declined. Try another card.",
            "Банк отклонил платёж. Попробуйте другую карту.",
        ),
        "authentication_failed" => {
            lang.pick("The payment was not confirmed.", "Платёж не подтверждён.")
        }
        _ => lang.pick(
            "This card is not a test card; see the cards below.",
            "Это не тестовая карта; воспользуйтесь картами ниже.",
        ),
    };
    text.to_owned()
}

/// What a provider's answer to a posted card form means for the page.
async fn settle<F>(state: &AppState, posted: &Posted<F>, outcome: Outcome) -> Response {
    let (inv, token, headers) = (&posted.invoice, posted.token.as_str(), &posted.headers);
    let lang = RequestContext::current().lang;
    match outcome {
        Outcome::Approved { reference } => match record(state, inv, token, reference).await {
            Ok(response) => response,
            Err(Error::FailedPrecondition(_)) => refresh(state, inv, token, headers).await,
            Err(e) => failed(&e),
        },
        Outcome::Declined { reason } => {
            render(
                state,
                inv,
                token,
                headers,
                StatusCode::PAYMENT_REQUIRED,
                Some(&declined_text(&reason, lang)),
                None,
            )
            .await
        }
        Outcome::NeedsConfirmation { challenge } => {
            let (csrf_token, cookie) = csrf::issue(
                state.store.page_key(),
                headers,
                inv.guid.as_str(),
                secure(state),
            );
            let title = lang.pick("Confirm the payment", "Подтвердите платёж");
            let body = html! {
                h1 { (title) }
                p { (lang.pick(
                    "Your bank asks you to confirm this payment (3-D Secure, test mode).",
                    "Банк просит подтвердить платёж (3-D Secure, тестовый режим).",
                )) }
                form method="post" action={ "/invoices/" (inv.guid) "/confirm?token=" (token) } {
                    input type="hidden" name="csrf" value=(csrf_token);
                    input type="hidden" name="challenge" value=(challenge);
                    button type="submit" name="decision" value="confirm" { (lang.pick("Confirm", "Подтвердить")) }
                    " "
                    button.secondary type="submit" name="decision" value="refuse" { (lang.pick("Refuse", "Отказаться")) }
                }
            };
            let mut response = page(StatusCode::OK, title, body);
            csrf::set_cookie(&mut response, cookie);
            response
        }
    }
}

/// The invoice as it now is, with a note that it can no longer be paid.
async fn refresh(state: &AppState, inv: &Invoice, token: &str, headers: &HeaderMap) -> Response {
    let lang = RequestContext::current().lang;
    let current = invoices::get(&state.core, &inv.guid).await.ok();
    let inv = current.as_ref().unwrap_or(inv);
    let text = lang.pick(
        "This invoice can no longer be paid.",
        "Этот счёт больше нельзя оплатить.",
    );
    render(
        state,
        inv,
        token,
        headers,
        StatusCode::CONFLICT,
        Some(text),
        None,
    )
    .await
}

/// A form that could not be read: too large (over the 1 MiB every body is held
/// to), or not the form the page sent, which is what a forged post looks like.
fn refused_form(rejection: &FormRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "Слишком большая форма",
            "The form sent is larger than any payment form; open the invoice link again.",
            "Отправленная форма больше любой формы оплаты; откройте ссылку на счёт заново.",
        );
    }
    forged()
}

fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "Форма устарела",
        "Open the invoice link again and repeat the payment.",
        "Откройте ссылку на счёт заново и повторите оплату.",
    )
}

/// A form posted from an invoice page, taken once it reads, its link and
/// anti-forgery token hold and the invoice is still payable. `Err` is the page
/// to answer with instead.
pub struct Posted<F> {
    pub form: F,
    pub invoice: Invoice,
    /// The link's signature, for the pages that follow.
    pub token: String,
    pub headers: HeaderMap,
}

impl<F: Guarded + DeserializeOwned + Send> FromRequest<AppState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(guid) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(link) = Query::<Link>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| refused_form(&rejection))?;
        let invoice = match linked(state, &guid, &link).await {
            Ok(Some(invoice)) => invoice,
            Ok(None) => return Err(not_found()),
            Err(e) => return Err(failed(&e)),
        };
        let token = link.token.unwrap_or_default();
        if !csrf::verify(
            state.store.page_key(),
            &headers,
            invoice.guid.as_str(),
            form.csrf(),
            &state.settings().public_url,
        ) {
            return Err(forged());
        }
        if invoice.status != InvoiceStatus::Pending {
            return Err(refresh(state, &invoice, &token, &headers).await);
        }
        Ok(Posted {
            form,
            invoice,
            token,
            headers,
        })
    }
}

/// Pays with a card from the form (test mode); answers with the result page or
/// the 3-D Secure step. Needs the anti-forgery cookie and field the page set.
#[utoipa::path(post, path = "/invoices/{guid}/pay", tag = "pages", operation_id = "submitCardPayment",
    params(("guid" = String, Path), Link),
    request_body(content = PayForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The result, or the 3-D Secure step", content_type = "text/html", body = String),
        (status = 422, description = "The card details are not valid", content_type = "text/html", body = String),
        LinkNotText, Forged, UnknownInvoice, CardOutcome, NotPayable,
    ))]
pub async fn pay(State(state): State<AppState>, posted: Posted<PayForm>) -> Response {
    let (form, inv) = (&posted.form, &posted.invoice);
    let lang = RequestContext::current().lang;
    let today = state.now().datetime();
    let today = (
        u16::try_from(today.year()).unwrap_or(0),
        u8::from(today.month()),
    );
    let card = match parse_card(
        &form.card_number,
        &form.expiry,
        &form.cvc,
        today,
        lang == Lang::Ru,
    ) {
        Ok(card) => card,
        Err(why) => {
            return render(
                &state,
                inv,
                &posted.token,
                &posted.headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&why),
                None,
            )
            .await;
        }
    };
    let outcome = TestProvider.charge(&inv.guid, &card, inv.quote.total);
    settle(&state, &posted, outcome).await
}

/// Completes or declines the 3-D Secure step of a card payment (test mode).
#[utoipa::path(post, path = "/invoices/{guid}/confirm", tag = "pages", operation_id = "confirmCardPayment",
    params(("guid" = String, Path), Link),
    request_body(content = ConfirmForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The result page", content_type = "text/html", body = String),
        LinkNotText, Forged, UnknownInvoice, CardOutcome,
    ))]
pub async fn confirm(State(state): State<AppState>, posted: Posted<ConfirmForm>) -> Response {
    let (form, inv) = (&posted.form, &posted.invoice);
    let outcome = TestProvider.confirm(&inv.guid, &form.challenge, form.decision == "confirm");
    settle(&state, &posted, outcome).await
}

/// The hosted page's form when an acquirer takes the card: where the receipt goes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutForm {
    pub email: String,
    pub csrf: String,
}

guarded!(PayForm, ConfirmForm, CheckoutForm);

/// An acquirer is configured; without one the checkout is not found, before its
/// form is read or its invoice looked up.
pub struct Acquiring;

impl FromRequestParts<AppState> for Acquiring {
    type Rejection = Response;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match state.core.acquirer {
            Some(_) => Ok(Acquiring),
            None => Err(not_found()),
        }
    }
}

/// Sends the buyer on to the acquirer's payment page (YooKassa), making the
/// payment there first or taking up the one already open. Needs the anti-forgery
/// cookie and field the page set.
#[utoipa::path(post, path = "/invoices/{guid}/checkout", tag = "pages", operation_id = "startCardCheckout",
    params(("guid" = String, Path), Link),
    request_body(content = CheckoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "On to the acquirer's page (the browser follows at once)", content_type = "text/html", body = String),
        (status = 303, description = "The invoice is settled: back to it"),
        (status = 404, description = "Unknown invoice or link, or no acquirer configured", content_type = "text/html", body = String),
        (status = 422, description = "Not an e-mail address, or the payment service refused the payment", content_type = "text/html", body = String),
        (status = 503, description = "The payment service did not answer; pressing again is safe", content_type = "text/html", body = String),
        LinkNotText, Forged, NotPayable,
    ))]
pub async fn checkout(
    State(state): State<AppState>,
    _: Acquiring,
    posted: Posted<CheckoutForm>,
) -> Response {
    let Posted {
        form,
        invoice: inv,
        token,
        headers,
    } = posted;
    let lang = RequestContext::current().lang;
    let again = async |status, alert: &str| {
        let attempt = kopek_core::acquiring::latest(&state.core, &inv)
            .await
            .ok()
            .flatten();
        render(
            &state,
            &inv,
            &token,
            &headers,
            status,
            Some(alert),
            attempt.as_ref(),
        )
        .await
    };
    let email = match kopek_domain::contact::Email::parse("email", form.email.trim()) {
        Ok(email) => email,
        Err(e) => {
            let text = e.message(lang);
            return again(StatusCode::UNPROCESSABLE_ENTITY, &text).await;
        }
    };
    let (back, _) = kopek_core::invoices::payment_links(
        &state.settings().public_url,
        state.store.page_key(),
        &inv.guid,
    );
    match kopek_core::acquiring::checkout(&state.core, &inv.guid, email, back).await {
        Ok(Checkout::Redirect(url)) => {
            let title = lang.pick("On to the payment page", "Переход к оплате");
            page_moving_on(title, checkout::onward(&url, lang), &url)
        }
        Ok(Checkout::Settled) => see_other(&format!("/invoices/{}/pay?token={token}", inv.guid)),
        Err(Error::Unavailable { cause, .. }) => {
            tracing::warn!(error = %cause, invoice = %inv.guid, "the acquirer did not answer");
            let text = lang.pick(
                "The payment service did not answer. Press Pay to try again; you will not be charged twice.",
                "Платёжный сервис не ответил. Нажмите «Оплатить» ещё раз — дважды деньги не спишутся.",
            );
            again(StatusCode::SERVICE_UNAVAILABLE, text).await
        }
        Err(Error::FailedPrecondition(why)) => {
            tracing::warn!(%why, invoice = %inv.guid, "the acquirer refused a payment");
            let text = lang.pick(
                "The payment service could not take this payment. Please pay by bank transfer or contact the seller.",
                "Платёжный сервис не смог принять этот платёж. Оплатите счёт банковским переводом или свяжитесь с продавцом.",
            );
            again(StatusCode::UNPROCESSABLE_ENTITY, text).await
        }
        Err(e) => failed(&e),
    }
}
