//! Organizations: a search by INN, alias or a part of the name, paged with a
//! cursor, the search kept in the URL so a page can be bookmarked or shared.

use super::prelude::*;
use kopek_core::access::OrgAccess;
use kopek_core::invoices::Listing;
use kopek_core::paging::PageQuery;
use kopek_domain::ids::OrganizationId;
use kopek_store::subscriptions::Filter as SubscriptionFilter;

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
        NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<Search>,
) -> Response {
    let text = search.q.as_deref().unwrap_or_default().trim().to_owned();
    let query = PageQuery {
        page_size: Some(PAGE_SIZE),
        page_token: search.page.filter(|p| !p.is_empty()),
    };
    let (found, next) = match kopek_core::organizations::search(&state.core, &text, &query).await {
        Ok(found) => found,
        Err(e) => return failed(&e),
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
                            td { a href={"/console/organizations/" (org.guid.as_str())} { (org.company.name) } }
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
    signed.page(
        &state,
        StatusCode::OK,
        pick("Organizations", "Организации"),
        body,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InvoicesPage {
    /// The next page of the organization's invoices, as the previous one linked it.
    #[param(max_length = 200)]
    page: Option<String>,
}

#[utoipa::path(get, path = "/console/organizations/{guid}", tag = "console", operation_id = "consoleOrganization",
    params(("guid" = String, Path), InvoicesPage),
    responses(
        (status = 200, description = "The organization, its members, subscriptions and invoices", content_type = "text/html", body = String),
        (status = 400, description = "A path that is not text, or a page token not made for this list", content_type = "text/html", body = String),
        (status = 404, description = "No such organization", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(guid): Path<String>,
    Query(page): Query<InvoicesPage>,
) -> Response {
    let guid = OrganizationId::from(guid.as_str());
    let (org, members) = match kopek_core::organizations::get(&state.core, &guid).await {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let filter = SubscriptionFilter {
        organization: Some(org.guid.clone()),
        ..SubscriptionFilter::default()
    };
    // One subscription an organization and product: a page holds them all.
    let every = PageQuery {
        page_size: Some(1000),
        page_token: None,
    };
    let subscriptions = match kopek_core::subscriptions::list(&state.core, &filter, &every).await {
        Ok((subscriptions, _)) => subscriptions,
        Err(e) => return failed(&e),
    };
    let listing = Listing {
        per_page: PAGE_SIZE,
        page_token: page.page.filter(|p| !p.is_empty()),
        ..Listing::default()
    };
    let invoices =
        match kopek_core::invoices::list(&state.core, &OrgAccess::All, &org.guid, &listing).await {
            Ok(invoices) => invoices,
            Err(e) => return failed(&e),
        };
    let licenses =
        match kopek_core::invoices::licenses(&state.core, &OrgAccess::All, &org.guid).await {
            Ok(licenses) => licenses,
            Err(e) => return failed(&e),
        };
    let lang = RequestContext::current().lang;
    let body = html! {
        p { (pick("INN", "ИНН")) " " (org.company.inn.as_str())
            @if let Some(kpp) = &org.company.kpp { " · " (pick("KPP", "КПП")) " " (kpp.as_str()) }
            " · " (org.alias) }
        p.muted {
            (pick("Billing e-mail", "Эл. почта для счетов")) ": "
            (org.billing_email.as_ref().map_or("—", |e| e.as_str()))
            @if let Some(reseller) = &org.reseller_id { " · " (pick("served by", "обслуживает")) " " (reseller.as_str()) }
        }
        h2 { (pick("Members", "Участники")) }
        p { @if members.is_empty() { span.muted { (pick("None.", "Нет.")) } }
            @for (i, user) in members.iter().enumerate() { @if i > 0 { ", " } (user.get()) } }
        h2 { (pick("Licenses", "Лицензии")) }
        @if licenses.is_empty() {
            p.muted { (pick("None.", "Нет.")) }
        } @else {
            table { tbody {
                @for l in &licenses {
                    tr data-license=(l.product_guid) { td { (l.plan_name) } td.num { (l.quantity) }
                         td { (pick("until", "до")) " " (l.expires_at.rfc3339()) } }
                }
            } }
        }
        h2 { (pick("Subscriptions", "Подписки")) }
        @if subscriptions.is_empty() {
            p.muted { (pick("None.", "Нет.")) }
        } @else {
            table { tbody {
                @for s in &subscriptions {
                    tr { td { (s.product_guid) } td { (s.status.as_str()) } td.num { (s.quantity) }
                         td { (pick("until", "до")) " " (s.current_period_end.rfc3339()) } }
                }
            } }
        }
        h2 { (pick("Invoices", "Счета")) }
        @if invoices.invoices.is_empty() {
            p.muted { (pick("None.", "Нет.")) }
        } @else {
            table { tbody {
                @for inv in &invoices.invoices {
                    tr {
                        td { a href={"/console/invoices/" (inv.guid.as_str())} { (inv.number) } }
                        td { span class={"status status-" (inv.status.as_str())} { (inv.status.as_str()) } }
                        td.num { (money(inv.quote.total, lang)) }
                        td { (inv.created_at.rfc3339()) }
                    }
                }
            } }
        }
        @if let Some(next) = &invoices.next_page_token {
            @let mut url = url::form_urlencoded::Serializer::new(String::new());
            p { a href={"/console/organizations/" (org.guid.as_str()) "?" (url.append_pair("page", next).finish())} { (pick("More invoices", "Ещё счета")) } }
        }
    };
    signed.page(&state, StatusCode::OK, &org.company.name, body)
}
