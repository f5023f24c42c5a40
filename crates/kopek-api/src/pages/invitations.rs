//! The invitation link: a page showing who invites whom, with an Accept button.
//!
//! The form needs no separate anti-forgery token: it posts to the secret link
//! itself, so a forged request would have to know the secret already.

use crate::AppState;
use crate::context::RequestContext;
use crate::html::page;
use crate::html::responses::{LinkNotText, SpentInvitation};
use crate::path::split_custom_method;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::invitations::{self as invitations_core, Refusal};
use kopek_domain::lang::Lang;
use kopek_store::invitations::Unusable;
use maud::html;

fn refusal_page(refusal: Refusal) -> Response {
    let lang = RequestContext::current().lang;
    let (status, title, text) = match refusal {
        Refusal::Unknown => (
            StatusCode::NOT_FOUND,
            lang.pick("Invitation not found", "Приглашение не найдено"),
            lang.pick(
                "This invitation link is not valid. Check that you opened the whole link from the email.",
                "Ссылка приглашения недействительна. Проверьте, что открыли ссылку из письма целиком.",
            ),
        ),
        Refusal::Unusable(Unusable::Used) => (
            StatusCode::GONE,
            lang.pick("Invitation already accepted", "Приглашение уже принято"),
            lang.pick("This invitation has already been used.", "Это приглашение уже использовано."),
        ),
        Refusal::Unusable(Unusable::Superseded) => (
            StatusCode::GONE,
            lang.pick("Invitation replaced", "Приглашение заменено"),
            lang.pick(
                "A newer invitation was sent; use the link from the latest email.",
                "Было отправлено новое приглашение; используйте ссылку из последнего письма.",
            ),
        ),
        Refusal::Unusable(Unusable::Expired) => (
            StatusCode::GONE,
            lang.pick("Invitation expired", "Срок приглашения истёк"),
            lang.pick(
                "This invitation has expired. Ask the reseller to send a new one.",
                "Срок действия приглашения истёк. Попросите отправить новое.",
            ),
        ),
        Refusal::NotInvited => (
            StatusCode::CONFLICT,
            lang.pick("Invitation no longer open", "Приглашение больше не действует"),
            lang.pick(
                "The customer of this invitation is no longer waiting for acceptance.",
                "Клиент этого приглашения больше не ожидает подтверждения.",
            ),
        ),
        Refusal::Internal(e) => {
            tracing::error!(error = %e, "invitation page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.pick("Something went wrong", "Что-то пошло не так"),
                lang.pick("Please try again later.", "Попробуйте позже."),
            )
        }
    };
    page(status, title, html! { h1 { (title) } p { (text) } })
}

/// The invitation page: who invites whom, and an Accept button.
#[utoipa::path(get, path = "/invitations/{token}", tag = "pages", operation_id = "showInvitation",
    params(("token" = String, Path, description = "The secret from the invitation mail")),
    responses(
        (status = 200, description = "The invitation", content_type = "text/html", body = String),
        LinkNotText, SpentInvitation,
    ))]
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let lang = RequestContext::current().lang;
    let shown = invitations_core::open(&state.core, &token).await;
    match shown {
        Err(refusal) => refusal_page(refusal),
        Ok((customer, reseller)) => {
            let title = lang.pick("Accept the invitation", "Принять приглашение");
            let (reseller, customer) = (&reseller.name, &customer.name);
            let body = html! {
                h1 { (title) }
                p {
                    @match lang {
                        Lang::En => { strong { (reseller) } " invites " strong { (customer) } " to its billing." },
                        Lang::Ru => { strong { (reseller) } " приглашает " strong { (customer) } " подключиться к биллингу." },
                    }
                }
                form method="post" action={ "/invitations/" (token) ":accept" } {
                    button type="submit" { (lang.pick("Accept", "Принять")) }
                }
            };
            page(StatusCode::OK, title, body)
        }
    }
}

/// Accepts the invitation: the customer becomes ACTIVE. Works once.
#[utoipa::path(post, path = "/invitations/{token}:accept", tag = "pages", operation_id = "acceptInvitation",
    params(("token" = String, Path, description = "The secret from the invitation mail")),
    responses(
        (status = 200, description = "Accepted", content_type = "text/html", body = String),
        LinkNotText, SpentInvitation,
    ))]
pub async fn accept(State(state): State<AppState>, Path(segment): Path<String>) -> Response {
    let lang = RequestContext::current().lang;
    let (token, method) = split_custom_method(&segment);
    if method != Some("accept") {
        return refusal_page(Refusal::Unknown);
    }
    let accepted = invitations_core::accept(&state.core, token).await;
    match accepted {
        Err(refusal) => refusal_page(refusal),
        Ok(customer) => {
            let title = lang.pick("Invitation accepted", "Приглашение принято");
            let text = match lang {
                Lang::En => format!("{} is now an active customer.", customer.name),
                Lang::Ru => format!("{} теперь активный клиент.", customer.name),
            };
            page(StatusCode::OK, title, html! { h1 { (title) } p { (text) } })
        }
    }
}
