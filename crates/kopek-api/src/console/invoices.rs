//! An invoice as the operator sees it (positions, VAT, payments, its events) and
//! the actions its state allows (pay, cancel, refund), each behind a confirmation
//! page. A `support` operator sees no actions and is refused (403) one posted by
//! hand. Actions run the core's invoice change as the admin API does, audited
//! with the operator as the actor.

use super::prelude::*;
use crate::invoice_view::InvoiceView;
use kopek_core::invoices::Change;
use kopek_core::paging::PageQuery;
use kopek_domain::ids::{InvoiceId, OrganizationId};
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, Reason};
use kopek_store::events::Feed;
use kopek_store::invoices::Invoice;
use kopek_store::invoices::Search;

/// The actions an operator may take on an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pay,
    Cancel,
    Refund,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        match s {
            "pay" => Some(Action::Pay),
            "cancel" => Some(Action::Cancel),
            "refund" => Some(Action::Refund),
            _ => None,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Action::Pay => "pay",
            Action::Cancel => "cancel",
            Action::Refund => "refund",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Action::Pay => pick("Mark paid", "Отметить оплаченным"),
            Action::Cancel => pick("Cancel", "Отменить"),
            Action::Refund => pick("Refund", "Вернуть деньги"),
        }
    }

    /// Those the invoice's state allows.
    fn allowed(status: InvoiceStatus) -> &'static [Action] {
        match status {
            InvoiceStatus::Pending => &[Action::Pay, Action::Cancel],
            InvoiceStatus::Paid => &[Action::Refund],
            _ => &[],
        }
    }

    fn change(self) -> Change {
        match self {
            Action::Pay => Change::Pay {
                method: "manual".to_owned(),
                reference: None,
            },
            Action::Cancel => Change::Cancel,
            Action::Refund => Change::Refund,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct InvoiceSearch {
    /// `Pending`, `Paid`, `Canceled` or `Refunded`; empty for any.
    #[param(max_length = 20)]
    status: Option<String>,
    /// An organization's guid.
    #[param(max_length = 100)]
    organization: Option<String>,
    /// An invoice number, exactly.
    #[param(max_length = 100)]
    number: Option<String>,
    /// Issued on this day (YYYY-MM-DD, UTC) or later.
    #[param(max_length = 10)]
    from: Option<String>,
    /// Issued on this day (YYYY-MM-DD, UTC) or earlier.
    #[param(max_length = 10)]
    to: Option<String>,
    /// The next page's token, as the previous page linked it.
    #[param(max_length = 100)]
    page: Option<String>,
}

/// A form field: trimmed, `None` when empty.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The start of a `YYYY-MM-DD` day (UTC), or of the day after it.
fn day(field: &'static str, value: &str, after: bool) -> Result<Timestamp, Error> {
    let date = kopek_domain::time::parse_day(value)
        .and_then(|d| if after { d.next_day() } else { Some(d) })
        .ok_or_else(|| {
            Error::field(
                field,
                Reason::Format {
                    en: "a date as YYYY-MM-DD",
                    ru: "датой в виде ГГГГ-ММ-ДД",
                },
            )
        })?;
    Ok(Timestamp::start_of(date))
}

impl InvoiceSearch {
    fn parse(&self) -> Result<Search, Error> {
        let status = match given(&self.status) {
            None => None,
            Some(s) => Some(InvoiceStatus::parse(s).ok_or_else(|| {
                Error::field(
                    "status",
                    Reason::Format {
                        en: "Pending, Paid, Canceled or Refunded",
                        ru: "одним из Pending, Paid, Canceled, Refunded",
                    },
                )
            })?),
        };
        Ok(Search {
            status,
            organization: given(&self.organization)
                .map(|o| OrganizationId::from(o.to_ascii_lowercase())),
            number: given(&self.number).map(str::to_owned),
            created_from: given(&self.from)
                .map(|d| day("from", d, false))
                .transpose()?,
            created_to: given(&self.to).map(|d| day("to", d, true)).transpose()?,
        })
    }

    /// This search's URL with `page` as the page token.
    fn link(&self, page: &str) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, field) in [
            ("status", &self.status),
            ("organization", &self.organization),
            ("number", &self.number),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = given(field) {
                url.append_pair(name, value);
            }
        }
        url.append_pair("page", page);
        format!("/console/invoices?{}", url.finish())
    }
}

#[utoipa::path(get, path = "/console/invoices", tag = "console", operation_id = "consoleInvoices",
    params(InvoiceSearch),
    responses(
        (status = 200, description = "The invoices of every organization the filters match, newest first", content_type = "text/html", body = String),
        (status = 400, description = "A filter or page token not understood", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(search): Query<InvoiceSearch>,
) -> Response {
    let query = PageQuery {
        page_size: Some(PAGE_SIZE),
        page_token: given(&search.page).map(str::to_owned),
    };
    let found = match search.parse() {
        Ok(filter) => kopek_core::invoices::search(&state.core, &filter, &query).await,
        Err(e) => Err(e),
    };
    let (found, next) = match found {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let lang = RequestContext::current().lang;
    let value = |field: &Option<String>| given(field).unwrap_or_default().to_owned();
    let chosen = given(&search.status).unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/console/invoices" {
            label { (pick("Status", "Статус"))
                select name="status" {
                    option value="" selected[chosen.is_empty()] { (pick("Any", "Любой")) }
                    @for s in ["Pending", "Paid", "Canceled", "Refunded"] {
                        option value=(s) selected[chosen == s] { (s) }
                    }
                }
            }
            label { (pick("Organization (guid)", "Организация (guid)"))
                input type="text" name="organization" value=(value(&search.organization)); }
            label { (pick("Number", "Номер")) input type="text" name="number" value=(value(&search.number)); }
            label { (pick("Issued from", "Выставлен с")) input type="date" name="from" value=(value(&search.from)); }
            label { (pick("to", "по")) input type="date" name="to" value=(value(&search.to)); }
            button type="submit" { (pick("Show", "Показать")) }
        }
        @if found.is_empty() {
            p.muted { (pick("Nothing found.", "Ничего не найдено.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Number", "Номер")) }
                    th { (pick("Buyer", "Покупатель")) }
                    th { (pick("Status", "Статус")) }
                    th.num { (pick("Total", "Сумма")) }
                    th { (pick("Issued", "Выставлен")) }
                } }
                tbody {
                    @for inv in &found {
                        tr {
                            td { a href={"/console/invoices/" (inv.guid.as_str())} { (inv.number) } }
                            td { a href={"/console/organizations/" (inv.organization_guid.as_str())} { (inv.company.name) } }
                            td { span class={"status status-" (inv.status.as_str())} { (inv.status.as_str()) } }
                            td.num { (money(inv.quote.total, lang)) }
                            td { (inv.created_at.rfc3339()) }
                        }
                    }
                }
            }
        }
        @if !next.is_empty() {
            p { a href=(search.link(&next)) { (pick("Next page", "Следующая страница")) } }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Invoices", "Счета"), body)
}

async fn invoice(state: &AppState, guid: &str) -> Result<Invoice, Error> {
    kopek_core::invoices::get(&state.core, &InvoiceId::from(guid)).await
}

fn not_found(state: &AppState, signed: &Signed) -> Response {
    super::not_found(
        state,
        signed,
        pick("Invoice not found", "Счёт не найден"),
        (
            "/console/invoices",
            pick("Back to the invoices", "Назад к счетам"),
        ),
    )
}

fn title(inv: &Invoice) -> String {
    format!("{} {}", pick("Invoice", "Счёт"), inv.number)
}

#[utoipa::path(get, path = "/console/invoices/{guid}", tag = "console", operation_id = "consoleInvoice",
    params(("guid" = String, Path)),
    responses(
        (status = 200, description = "The invoice, its payments and events, and the actions its state allows", content_type = "text/html", body = String),
        (status = 404, description = "No such invoice", content_type = "text/html", body = String),
        NotSignedIn, PathNotText,
    ))]
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(guid): Path<String>,
) -> Response {
    let inv = match invoice(&state, &guid).await {
        Ok(inv) => inv,
        Err(Error::NotFound { .. }) => return not_found(&state, &signed),
        Err(e) => return failed(&e),
    };
    let payments = match kopek_core::invoices::payments(&state.core, &inv.guid).await {
        Ok(payments) => payments,
        Err(e) => return failed(&e),
    };
    let feed = Feed {
        subject: Some(inv.guid.to_string()),
        oldest_first: true,
        limit: 100,
        ..Feed::default()
    };
    let events = match kopek_core::events::feed(&state.core, &signed.reader(), feed).await {
        Ok((events, _)) => events,
        Err(e) => return failed(&e),
    };
    let lang = RequestContext::current().lang;
    let actions = if signed.operator.role.may_act() {
        Action::allowed(inv.status)
    } else {
        &[]
    };
    let body = html! {
        p { span class={"status status-" (inv.status.as_str())} { (inv.status.as_str()) } }
        p {
            (inv.company.name) " · " (pick("INN", "ИНН")) " " (inv.company.inn.as_str())
            br;
            span.muted { (pick("Issued", "Выставлен")) " " (inv.created_at.rfc3339())
                @if let Some(paid) = inv.paid_at { " · " (pick("paid", "оплачен")) " " (paid.rfc3339()) } }
        }
        table {
            thead { tr {
                th { (pick("Item", "Наименование")) }
                th.num { (pick("Qty", "Кол-во")) }
                th.num { (pick("Price", "Цена")) }
                th.num { (pick("Total", "Сумма")) }
                th.num { (pick("VAT", "НДС")) }
            } }
            tbody {
                @for p in &inv.quote.positions {
                    tr {
                        td { (p.name) }
                        td.num { (p.quantity) }
                        td.num { (money(p.price, lang)) }
                        td.num { (money(p.total, lang)) }
                        td.num { (money(p.vat, lang)) }
                    }
                }
            }
        }
        p.total { (pick("Total", "Итого")) ": " (money(inv.quote.total, lang)) }
        @let (card, transfer) = kopek_core::invoices::payment_links(&state.settings().public_url, state.store.page_key(), &inv.guid);
        p { a href=(card) data-link="card" { (pick("Payment page (card)", "Страница оплаты картой")) } " · "
            a href=(transfer) data-link="transfer" { (pick("Bank transfer invoice", "Счёт для оплаты переводом")) } }
        p.muted { (pick("VAT included", "В том числе НДС")) ": " (money(inv.quote.vat, lang)) }
        h2 { (pick("Payments", "Платежи")) }
        @if payments.is_empty() {
            p.muted { (pick("None.", "Нет.")) }
        } @else {
            table { tbody {
                @for p in &payments {
                    tr {
                        td { (p.created_at.rfc3339()) }
                        td { (p.method) }
                        td { (p.reference.as_deref().unwrap_or("")) }
                        td.num { (money(p.amount, lang)) }
                    }
                }
            } }
        }
        h2 { (pick("Events", "События")) }
        table { tbody {
            @for e in &events {
                tr { td { (e.created_at.rfc3339()) } td { (e.kind) } }
            }
        } }
        @for action in actions {
            p { a href={"/console/invoices/" (inv.guid.as_str()) "/" (action.slug())} { (action.label()) } }
        }
    };
    signed.page(&state, StatusCode::OK, &title(&inv), body)
}

#[utoipa::path(get, path = "/console/invoices/{guid}/{action}", tag = "console", operation_id = "consoleConfirmInvoiceAction",
    params(("guid" = String, Path), ("action" = String, Path, description = "`pay`, `cancel` or `refund`")),
    responses(
        (status = 200, description = "What the action will do, and the button that does it", content_type = "text/html", body = String),
        (status = 404, description = "No such invoice or action", content_type = "text/html", body = String),
        (status = 409, description = "The invoice's state does not allow it", content_type = "text/html", body = String),
        ConfirmPage,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    actor: Actor,
    Path((guid, slug)): Path<(String, String)>,
) -> Response {
    let Some(action) = Action::parse(&slug) else {
        return not_found(&state, &actor.signed);
    };
    let inv = match invoice(&state, &guid).await {
        Ok(inv) => inv,
        Err(Error::NotFound { .. }) => return not_found(&state, &actor.signed),
        Err(e) => return failed(&e),
    };
    let lang = RequestContext::current().lang;
    let guard = actor.signed.guard(&state);
    let allowed = Action::allowed(inv.status).contains(&action);
    let body = html! {
        @if allowed {
            p { (action.label()) ": " (inv.number) ", " (inv.company.name) ", " (money(inv.quote.total, lang)) "?" }
            form method="post" action={"/console/invoices/" (inv.guid.as_str()) "/" (action.slug())} {
                input type="hidden" name="csrf" value=(guard.token);
                button type="submit" { (pick("Confirm", "Подтвердить")) }
            }
        } @else {
            p.alert { (pick("The invoice's state does not allow this.", "Состояние счёта этого не допускает.")) }
        }
        p { a href={"/console/invoices/" (inv.guid.as_str())} { (pick("Back to the invoice", "Назад к счёту")) } }
    };
    let status = if allowed {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    console_page(guard, status, &title(&inv), Some(&actor.signed), body)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionForm {
    csrf: String,
}

guarded!(ActionForm);

#[utoipa::path(post, path = "/console/invoices/{guid}/{action}", tag = "console", operation_id = "consoleInvoiceAction",
    params(("guid" = String, Path), ("action" = String, Path, description = "`pay`, `cancel` or `refund`")),
    request_body(content = ActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the invoice"),
        (status = 400, description = "A path that is not text, or the invoice's state does not allow it", content_type = "text/html", body = String),
        (status = 404, description = "No such invoice or action", content_type = "text/html", body = String),
        MayNotAct,
    ))]
pub async fn act(
    State(state): State<AppState>,
    Path((guid, slug)): Path<(String, String)>,
    acting: Acting<ActionForm>,
) -> Response {
    let Some(action) = Action::parse(&slug) else {
        return not_found(&state, &acting.actor.signed);
    };
    let public_url = &state.settings().public_url;
    let done = kopek_core::invoices::change(
        &state.core,
        acting.write,
        &acting.principal,
        &InvoiceId::from(guid.as_str()),
        action.change(),
        StatusCode::OK.as_u16(),
        |inv| InvoiceView::new(inv, public_url, state.store.page_key()),
    )
    .await;
    match done {
        Ok(_) => see_other(&format!("/console/invoices/{guid}")),
        Err(Error::NotFound { .. }) => not_found(&state, &acting.actor.signed),
        Err(e) => failed(&e),
    }
}
