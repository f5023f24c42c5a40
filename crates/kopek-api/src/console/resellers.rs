//! Resellers and the customers each brings: their state, billing account and
//! newest invitation with how its mail went, and the actions a customer's state
//! allows (activate, suspend, resend the invitation) through a confirmation
//! page. The core's customer change does them, as Yandex's API does, audited
//! with the operator as the actor.

use super::prelude::*;
use kopek_core::customers::Change;
use kopek_domain::Error;
use kopek_domain::customer::CustomerState;
use kopek_domain::ids::{BillingAccountId, CustomerId};
use kopek_store::customers::Customer;

const RESELLERS: &str = "/console/resellers";

#[utoipa::path(get, path = "/console/resellers", tag = "console", operation_id = "consoleResellers",
    params(ListPage),
    responses(
        (status = 200, description = "The resellers' billing accounts", content_type = "text/html", body = String),
        ForeignPageToken, NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(page): Query<ListPage>,
) -> Response {
    let (resellers, next) = match kopek_core::operator::resellers(&state.core, &page.query()).await
    {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let lang = RequestContext::current().lang;
    let body = html! {
        @if resellers.is_empty() {
            p.muted { (pick("None yet.", "Пока нет.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Name", "Название")) } th { "ID" } th { (pick("Country", "Страна")) }
                    th.num { (pick("Balance", "Баланс")) } th { (pick("State", "Состояние")) }
                } }
                tbody {
                    @for r in &resellers {
                        tr {
                            td { a href={(RESELLERS) "/" (r.id.as_str())} { (r.name) } }
                            td { (r.id.as_str()) }
                            td { (r.country_code) }
                            td.num { (money(r.balance, lang)) }
                            td { @if r.active { (pick("active", "действует")) } @else { (pick("inactive", "не действует")) } }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page(RESELLERS, &next) {
            p { a href=(next) { (pick("Next page", "Следующая страница")) } }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Resellers", "Реселлеры"), body)
}

/// The actions an operator may take on a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Activate,
    Suspend,
    Resend,
}

impl Action {
    const ALL: [Action; 3] = [Action::Activate, Action::Suspend, Action::Resend];

    fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.slug() == s)
    }

    fn slug(self) -> &'static str {
        match self {
            Action::Activate => "activate",
            Action::Suspend => "suspend",
            Action::Resend => "resend-invitation",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Action::Activate => pick("Activate", "Активировать"),
            Action::Suspend => pick("Suspend", "Приостановить"),
            Action::Resend => pick("Resend the invitation", "Отправить приглашение снова"),
        }
    }

    fn change(self) -> Change {
        match self {
            Action::Activate => Change::Activate,
            Action::Suspend => Change::Suspend,
            Action::Resend => Change::ResendInvitation,
        }
    }

    /// Whether the customer's state (and, to resend, its invitation by e-mail)
    /// allows it.
    fn allowed(self, customer: &Customer) -> bool {
        let state: CustomerState = customer.state;
        match self {
            Action::Activate => state.activate().is_ok(),
            Action::Suspend => state.suspend().is_ok(),
            Action::Resend => {
                customer.invitation_email.is_some() && state.resend_invitation().is_ok()
            }
        }
    }
}

#[utoipa::path(get, path = "/console/resellers/{id}", tag = "console", operation_id = "consoleReseller",
    params(("id" = String, Path), ListPage),
    responses(
        (status = 200, description = "The reseller and its customers, with their invitations and the actions their states allow", content_type = "text/html", body = String),
        (status = 400, description = "A path that is not text, or a page token not made for this list", content_type = "text/html", body = String),
        (status = 404, description = "No such reseller", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(page): Query<ListPage>,
) -> Response {
    let reseller =
        match kopek_core::operator::reseller(&state.core, &BillingAccountId::from(id.as_str()))
            .await
        {
            Ok(reseller) => reseller,
            Err(e) => return failed(&e),
        };
    let listed =
        kopek_core::customers::list(&state.core, &signed.reader(), &id, &page.query()).await;
    let (customers, next) = match listed {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let ids: Vec<CustomerId> = customers.iter().map(|c| c.id.clone()).collect();
    let invitations = match kopek_core::customers::newest_invitations(&state.core, &ids).await {
        Ok(invitations) => invitations,
        Err(e) => return failed(&e),
    };
    let acts = signed.operator.role.may_act();
    let lang = RequestContext::current().lang;
    let path = format!("{RESELLERS}/{}", reseller.id.as_str());
    let body = html! {
        p { (reseller.id.as_str()) " · " (reseller.country_code) " · " (pick("balance", "баланс")) " " (money(reseller.balance, lang)) }
        h2 { (pick("Customers", "Клиенты")) }
        @if customers.is_empty() {
            p.muted { (pick("None yet.", "Пока нет.")) }
        } @else {
            table {
                thead { tr {
                    th { (pick("Name", "Название")) } th { (pick("State", "Состояние")) }
                    th { (pick("Billing account", "Платёжный аккаунт")) } th { (pick("Invitation", "Приглашение")) } th {}
                } }
                tbody {
                    @for c in &customers {
                        tr data-customer=(c.id.as_str()) {
                            td { (c.name) br; span.muted { (c.id.as_str()) } }
                            td { span class={"status status-" (c.state.as_str())} { (c.state.as_str()) } }
                            td { (c.billing_account_id.as_str()) }
                            td {
                                @if let Some(inv) = invitations.iter().find(|i| i.customer_id == c.id) {
                                    (inv.email.as_str()) br;
                                    span.muted data-delivery=(inv.delivery_state) {
                                        (pick("mail", "письмо")) ": " (inv.delivery_state)
                                        @if let Some(error) = &inv.delivery_error { " (" (error) ")" }
                                        " · "
                                        @if let Some(used) = inv.used_at { (pick("accepted", "принято")) " " (used.rfc3339()) }
                                        @else { (pick("expires", "истекает")) " " (inv.expires_at.rfc3339()) }
                                    }
                                }
                            }
                            td {
                                @if acts {
                                    @for action in Action::ALL.into_iter().filter(|a| a.allowed(c)) {
                                        a href={"/console/customers/" (c.id.as_str()) "/" (action.slug())} { (action.label()) } " "
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page(&path, &next) {
            p { a href=(next) { (pick("Next page", "Следующая страница")) } }
        }
    };
    signed.page(&state, StatusCode::OK, &reseller.name, body)
}

fn not_found(state: &AppState, signed: &Signed) -> Response {
    super::not_found(
        state,
        signed,
        pick("Not found", "Не найдено"),
        (
            RESELLERS,
            pick("Back to the resellers", "Назад к реселлерам"),
        ),
    )
}

#[utoipa::path(get, path = "/console/customers/{id}/{action}", tag = "console", operation_id = "consoleConfirmCustomerAction",
    params(("id" = String, Path), ("action" = String, Path, description = "`activate`, `suspend` or `resend-invitation`")),
    responses(
        (status = 200, description = "The customer and the button that does it", content_type = "text/html", body = String),
        (status = 400, description = "A path that is not text or not a customer id", content_type = "text/html", body = String),
        (status = 404, description = "No such customer or action", content_type = "text/html", body = String),
        (status = 409, description = "The customer's state does not allow it", content_type = "text/html", body = String),
        NotSignedIn, ReadOnly,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, slug)): Path<(String, String)>,
) -> Response {
    let Some(action) = Action::parse(&slug) else {
        return not_found(&state, &actor.signed);
    };
    let customer = match kopek_core::customers::get(&state.core, &actor.signed.reader(), &id).await
    {
        Ok(customer) => customer,
        Err(Error::NotFound { .. }) => return not_found(&state, &actor.signed),
        Err(e) => return failed(&e),
    };
    if !action.allowed(&customer) {
        return failed(&Error::FailedPrecondition(format!(
            "The customer is {}: it cannot be done now",
            customer.state.as_str()
        )));
    }
    let back = format!("{RESELLERS}/{}", customer.reseller_id.as_str());
    let question = html! {
        (action.label()) ": " strong { (customer.name) } " (" (customer.id.as_str()) ", " (customer.state.as_str()) ")?"
    };
    actor.ask(
        &state,
        action.label(),
        question,
        (
            &format!("/console/customers/{id}/{slug}"),
            pick("Confirm", "Подтвердить"),
        ),
        (&back, pick("Back to the reseller", "Назад к реселлеру")),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CustomerActionForm {
    csrf: String,
}

guarded!(CustomerActionForm);

#[utoipa::path(post, path = "/console/customers/{id}/{action}", tag = "console", operation_id = "consoleCustomerAction",
    params(("id" = String, Path), ("action" = String, Path, description = "`activate`, `suspend` or `resend-invitation`")),
    request_body(content = CustomerActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the reseller (or not signed in: on to sign in)"),
        (status = 400, description = "A path that is not text or not a customer id", content_type = "text/html", body = String),
        (status = 404, description = "No such customer or action", content_type = "text/html", body = String),
        (status = 409, description = "The customer's state does not allow it", content_type = "text/html", body = String),
        MayNotAct,
    ))]
pub async fn act(
    State(state): State<AppState>,
    Path((id, slug)): Path<(String, String)>,
    acting: Acting<CustomerActionForm>,
) -> Response {
    let Some(action) = Action::parse(&slug) else {
        return not_found(&state, &acting.actor.signed);
    };
    let done = kopek_core::customers::change(
        &state.core,
        acting.write,
        &acting.principal,
        &id,
        action.change(),
        StatusCode::OK.as_u16(),
        |op| op.clone(),
    )
    .await;
    match done {
        Ok(_) => {
            match kopek_core::customers::get(&state.core, &acting.actor.signed.reader(), &id).await
            {
                Ok(customer) => {
                    see_other(&format!("{RESELLERS}/{}", customer.reseller_id.as_str()))
                }
                Err(e) => failed(&e),
            }
        }
        Err(Error::NotFound { .. }) => not_found(&state, &acting.actor.signed),
        Err(e) => failed(&e),
    }
}
