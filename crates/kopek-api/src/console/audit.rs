//! The audit log, newest first, filtered by actor and action, paged by position
//! with the filters in the URL. Read only: nothing in Kopek edits or removes an
//! entry.

use super::prelude::*;
use kopek_store::audit::Filter;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// The actor: an API key or operator id.
    #[param(max_length = 100)]
    actor: Option<String>,
    /// A part of the action, such as `/invoices/` or `:refund`.
    #[param(max_length = 200)]
    action: Option<String>,
    /// Entries before this position (the previous page's last).
    before: Option<i64>,
}

#[utoipa::path(get, path = "/console/audit", tag = "console", operation_id = "consoleAuditLog",
    params(AuditQuery),
    responses(
        (status = 200, description = "The entries, newest first", content_type = "text/html", body = String),
        (status = 400, description = "A query that is not text, or a position that is not a number", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<AuditQuery>,
) -> Response {
    let present = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let filter = Filter {
        actor: present(query.actor),
        action: present(query.action),
    };
    let entries =
        match kopek_core::audit::newest(&state.core, query.before, &filter, PAGE_SIZE).await {
            Ok(entries) => entries,
            Err(e) => return failed(&e),
        };
    let older = (entries.len() as i64 == PAGE_SIZE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten()
        .map(|before| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("actor", filter.actor.as_deref().unwrap_or_default())
                .append_pair("action", filter.action.as_deref().unwrap_or_default())
                .append_pair("before", &before.to_string());
            format!("/console/audit?{}", url.finish())
        });
    let body = html! {
        p.muted { (pick(
            "Every change made through the operator API and this console. `kopek audit verify` checks that none was changed or removed.",
            "Все изменения через API оператора и эту консоль. `kopek audit verify` проверяет, что ни одна запись не изменена и не удалена.",
        )) }
        form method="get" action="/console/audit" {
            label { (pick("Actor", "Кто")) input type="text" name="actor" value=(filter.actor.as_deref().unwrap_or_default()); }
            label { (pick("Action contains", "Действие содержит")) input type="text" name="action" value=(filter.action.as_deref().unwrap_or_default()); }
            button type="submit" { (pick("Filter", "Отобрать")) }
        }
        table {
            thead { tr {
                th.num { "#" } th { (pick("When", "Когда")) } th { (pick("Actor", "Кто")) }
                th { (pick("Address", "Адрес")) } th { (pick("Action", "Действие")) } th.num { (pick("Status", "Статус")) }
            } }
            tbody {
                @for e in &entries {
                    tr {
                        td.num { (e.seq) }
                        td { (e.at.rfc3339()) }
                        td { (e.actor) }
                        td { (e.address.as_deref().unwrap_or("")) }
                        td {
                            (e.action)
                            @if e.before_state.is_some() || e.after_state.is_some() {
                                details {
                                    summary { (pick("Before and after", "До и после")) }
                                    @if let Some(before) = &e.before_state { p.muted { (pick("Before", "До")) } pre { (before) } }
                                    @if let Some(after) = &e.after_state { p.muted { (pick("After", "После")) } pre { (after) } }
                                }
                            }
                        }
                        td.num { (e.status) }
                    }
                }
            }
        }
        @if let Some(older) = &older {
            p { a href=(older) { (pick("Older entries", "Более ранние записи")) } }
        }
    };
    signed.page(
        &state,
        StatusCode::OK,
        pick("Audit log", "Журнал аудита"),
        body,
    )
}
