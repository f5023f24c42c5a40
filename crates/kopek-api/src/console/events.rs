//! The event feed as the operator reads it: newest first, narrowed by type (exact
//! or a prefix such as `invoice.`) and subject, each event's data folded under it;
//! the filters are kept in the next page's link.

use super::prelude::*;
use kopek_store::events::Feed;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventSearch {
    /// An exact type, or a prefix ending in a dot (`invoice.`).
    #[param(max_length = 100)]
    r#type: Option<String>,
    /// A subject's id (an invoice guid, a customer id, a user id).
    #[param(max_length = 200)]
    subject: Option<String>,
    /// The last event of the previous page, as it linked it.
    #[param(max_length = 100)]
    after: Option<String>,
}

fn given(field: &Option<String>) -> Option<String> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Where an event's subject is shown in the console, if anywhere.
fn subject_link(kind: &str, id: &str) -> Option<String> {
    match kind {
        "invoice" => Some(format!("/console/invoices/{id}")),
        "organization" => Some(format!("/console/organizations/{id}")),
        _ => None,
    }
}

#[utoipa::path(get, path = "/console/events", tag = "console", operation_id = "consoleEvents",
    params(EventSearch),
    responses(
        (status = 200, description = "The events, newest first", content_type = "text/html", body = String),
        (status = 400, description = "A query that is not text", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<EventSearch>,
) -> Response {
    let kind = given(&search.r#type);
    let subject = given(&search.subject);
    let feed = Feed {
        kind: kind.clone(),
        subject: subject.clone(),
        after: given(&search.after),
        limit: PAGE_SIZE,
        ..Feed::default()
    };
    let (events, next) = match kopek_core::events::feed(&state.core, &signed.reader(), feed).await {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let next_link = next.map(|after| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("type", &kind), ("subject", &subject)] {
            if let Some(value) = value {
                url.append_pair(name, value);
            }
        }
        url.append_pair("after", &after);
        format!("/console/events?{}", url.finish())
    });
    let body = html! {
        form.filters method="get" action="/console/events" {
            label { (pick("Type or prefix", "Тип или его начало"))
                input type="text" name="type" placeholder="invoice." value=(kind.as_deref().unwrap_or_default()); }
            label { (pick("Subject id", "Id объекта"))
                input type="text" name="subject" value=(subject.as_deref().unwrap_or_default()); }
            button type="submit" { (pick("Show", "Показать")) }
        }
        @if events.is_empty() {
            p.muted { (pick("Nothing found.", "Ничего не найдено.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Time", "Время")) } th { (pick("Type", "Тип")) }
                    th { (pick("Subject", "Объект")) } th { (pick("Tenant", "Владелец")) } th { (pick("Data", "Данные")) }
                } }
                tbody {
                    @for e in &events {
                        tr data-event=(e.id) {
                            td { (e.created_at.rfc3339()) }
                            td { (e.kind) }
                            td { (e.subject_type) " "
                                @if let Some(link) = subject_link(&e.subject_type, &e.subject) {
                                    a href=(link) { (e.subject) }
                                } @else { (e.subject) } }
                            td { (e.tenant_type.as_deref().unwrap_or("")) " " (e.tenant_id.as_deref().unwrap_or("")) }
                            td { @if let Some(data) = &e.data {
                                details { summary { (pick("Show", "Показать")) } pre { (data.get()) } }
                            } }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &next_link {
            p { a href=(next) { (pick("Older events", "Более ранние события")) } }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Events", "События"), body)
}
