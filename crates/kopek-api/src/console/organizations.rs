//! Organizations: a search by INN, alias or a part of the name, paged with a
//! cursor, the search kept in the URL so a page can be bookmarked or shared.

use super::{Signed, console_page, failed, guard, pick};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kopek_core::paging::PageQuery;
use maud::html;
use serde::Deserialize;

/// Rows on a page.
const PAGE_SIZE: i64 = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Search {
    /// An INN, an alias or a part of the name.
    #[param(max_length = 200)]
    q: Option<String>,
    /// The next page's token, as the previous page linked it.
    #[param(max_length = 100)]
    page: Option<String>,
}

#[utoipa::path(get, path = "/console/organizations", tag = "console", operation_id = "consoleOrganizations",
    params(Search),
    responses(
        (status = 200, description = "The organizations found", content_type = "text/html", body = String),
        (status = 400, description = "A query that is not text, or a page token not made for this search", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: on to sign in"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<Search>,
    headers: HeaderMap,
) -> Response {
    let text = search.q.as_deref().unwrap_or_default().trim().to_owned();
    let query = PageQuery {
        page_size: Some(PAGE_SIZE),
        page_token: search.page.filter(|p| !p.is_empty()),
    };
    let (found, next) = match kopek_core::organizations::search(&state.core, &text, &query).await {
        Ok(found) => found,
        Err(e) => return failed(&state, &headers, &e),
    };
    let next_link = (!next.is_empty()).then(|| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("q", &text).append_pair("page", &next);
        format!("/console/organizations?{}", url.finish())
    });
    let body = html! {
        form method="get" action="/console/organizations" {
            label { (pick("INN, alias or name", "ИНН, псевдоним или название"))
                input type="search" name="q" value=(text); }
            button type="submit" { (pick("Find", "Найти")) }
        }
        @if found.is_empty() {
            p.muted { (pick("Nothing found.", "Ничего не найдено.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Name", "Название")) }
                    th { (pick("INN", "ИНН")) }
                    th { (pick("KPP", "КПП")) }
                    th { (pick("Alias", "Псевдоним")) }
                    th { (pick("Created", "Создана")) }
                } }
                tbody {
                    @for org in &found {
                        tr {
                            td { (org.company.name) }
                            td { (org.company.inn.as_str()) }
                            td { (org.company.kpp.as_ref().map_or("", |k| k.as_str())) }
                            td { (org.alias) }
                            td { (org.created_at.rfc3339()) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &next_link {
            p { a href=(next) { (pick("Next page", "Следующая страница")) } }
        }
    };
    console_page(
        guard(&state, &headers),
        StatusCode::OK,
        pick("Organizations", "Организации"),
        Some(&signed),
        body,
    )
}
