//! Webhook endpoints (never their secrets) and each one's deliveries, newest
//! first, with every attempt (time, HTTP status, latency, the start of the
//! answer); an admin sends a delivery again through a confirmation page, by the
//! operator API's own use case, audited.

use super::prelude::*;
use crate::operator_views::DeliveryView;
use kopek_core::webhooks;

const WEBHOOKS: &str = "/console/webhooks";

#[utoipa::path(get, path = "/console/webhooks", tag = "console", operation_id = "consoleWebhooks",
    params(ListPage),
    responses(
        (status = 200, description = "The webhook endpoints", content_type = "text/html", body = String),
        ForeignPageToken, NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(page): Query<ListPage>,
) -> Response {
    let (endpoints, next) = match webhooks::list(&state.core, &signed.reader(), &page.query()).await
    {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let body = html! {
        @if endpoints.is_empty() {
            p.muted { (pick("None yet: they are made through the operator API (POST /admin/v1/webhook-endpoints).",
                            "Пока нет: они создаются через API оператора (POST /admin/v1/webhook-endpoints).")) }
        } @else {
            table {
                thead { tr {
                    th { "URL" } th { (pick("Events", "События")) } th { (pick("Scope", "Область")) }
                    th { (pick("State", "Состояние")) } th { (pick("Last success", "Последний успех")) }
                } }
                tbody {
                    @for e in &endpoints {
                        tr {
                            td { a href={(WEBHOOKS) "/" (e.id)} { (e.url) } br; span.muted { (e.description) } }
                            td { (e.event_types.join(", ")) }
                            td { (e.scope_type) " " (e.scope_id.as_deref().unwrap_or("")) }
                            td { @if e.enabled { (pick("enabled", "включён")) }
                                 @else { (pick("disabled", "отключён")) " " (e.disabled_reason.as_deref().unwrap_or("")) } }
                            td { (e.last_success_at.map(|t| t.rfc3339()).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page(WEBHOOKS, &next) {
            p { a href=(next) { (pick("Next page", "Следующая страница")) } }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Webhooks", "Вебхуки"), body)
}

#[utoipa::path(get, path = "/console/webhooks/{id}", tag = "console", operation_id = "consoleWebhook",
    params(("id" = String, Path), ListPage),
    responses(
        (status = 200, description = "The endpoint and its deliveries, newest first, with every attempt", content_type = "text/html", body = String),
        (status = 400, description = "A path that is not text, or a page token not made for this list", content_type = "text/html", body = String),
        (status = 404, description = "No such endpoint", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(page): Query<ListPage>,
) -> Response {
    let reader = signed.reader();
    let endpoint = match webhooks::get(&state.core, &reader, &id).await {
        Ok(endpoint) => endpoint,
        Err(e) => return failed(&e),
    };
    let (deliveries, next) =
        match webhooks::deliveries(&state.core, &reader, &id, &page.query()).await {
            Ok(found) => found,
            Err(e) => return failed(&e),
        };
    let acts = signed.operator.role.may_act();
    let path = format!("{WEBHOOKS}/{id}");
    let body = html! {
        p { (endpoint.url) }
        p.muted { (endpoint.event_types.join(", ")) " · " (endpoint.scope_type) " "
            (endpoint.scope_id.as_deref().unwrap_or(""))
            " · " @if endpoint.enabled { (pick("enabled", "включён")) } @else { (pick("disabled", "отключён")) } }
        h2 { (pick("Deliveries", "Доставки")) }
        @if deliveries.is_empty() {
            p.muted { (pick("None yet.", "Пока нет.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Event", "Событие")) } th { (pick("State", "Состояние")) }
                    th { (pick("Attempts", "Попытки")) } th {}
                } }
                tbody {
                    @for logged in &deliveries {
                        @let d = &logged.delivery;
                        tr data-delivery=(d.id) {
                            td { (d.event_type) br; span.muted { (d.created_at.rfc3339()) } }
                            td { span class={"status status-" (d.state)} { (d.state) } }
                            td {
                                @for a in &logged.attempts {
                                    div {
                                        (a.started_at.rfc3339()) " · "
                                        (a.http_status.map_or_else(|| "—".to_owned(), |s| s.to_string()))
                                        " · " (a.latency_ms) " ms"
                                        @if let Some(error) = &a.error { " · " (error) }
                                        @if let Some(excerpt) = &a.response_excerpt {
                                            details { summary { (pick("Answer", "Ответ")) } pre { (excerpt) } }
                                        }
                                    }
                                }
                            }
                            td { @if acts {
                                a href={(path) "/deliveries/" (d.id) "/resend"} { (pick("Send again", "Отправить снова")) }
                            } }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page(&path, &next) {
            p { a href=(next) { (pick("Older deliveries", "Более ранние доставки")) } }
        }
    };
    signed.page(
        &state,
        StatusCode::OK,
        pick("Webhook endpoint", "Адрес вебхуков"),
        body,
    )
}

#[utoipa::path(get, path = "/console/webhooks/{id}/deliveries/{delivery}/resend", tag = "console", operation_id = "consoleConfirmResendDelivery",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses(
        (status = 200, description = "The delivery and the button that sends it again", content_type = "text/html", body = String),
        ConfirmPage,
    ))]
pub async fn confirm_resend(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, delivery)): Path<(String, String)>,
) -> Response {
    let question = html! {
        (pick("Send the delivery", "Отправить доставку")) " " code { (delivery) } " "
        (pick("again now, with a new retry window?", "снова сейчас, с новым окном повторов?"))
    };
    actor.ask(
        &state,
        pick("Send again", "Отправить снова"),
        question,
        (
            &format!("{WEBHOOKS}/{id}/deliveries/{delivery}/resend"),
            pick("Send again", "Отправить снова"),
        ),
        (
            &format!("{WEBHOOKS}/{id}"),
            pick("Back to the endpoint", "Назад к адресу"),
        ),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResendForm {
    csrf: String,
}

guarded!(ResendForm);

#[utoipa::path(post, path = "/console/webhooks/{id}/deliveries/{delivery}/resend", tag = "console", operation_id = "consoleResendDelivery",
    params(("id" = String, Path), ("delivery" = String, Path)),
    request_body(content = ResendForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Queued again: back to the endpoint (or not signed in: on to sign in)"),
        (status = 404, description = "No such endpoint or delivery", content_type = "text/html", body = String),
        PathNotText, MayNotAct,
    ))]
pub async fn resend(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    acting: Acting<ResendForm>,
) -> Response {
    let done = webhooks::resend(
        &state.core,
        acting.write,
        &acting.principal,
        &id,
        &delivery,
        StatusCode::OK.as_u16(),
        DeliveryView::from,
    )
    .await;
    match done {
        Ok(_) => see_other(&format!("{WEBHOOKS}/{id}")),
        Err(e) => failed(&e),
    }
}
