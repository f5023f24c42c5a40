//! The console's operators: the list, a new operator whose setup link the
//! answering page shows once (as `kopek operator create` prints it), and disabling
//! one through a confirmation page. An admin acts; nobody disables themselves.

use super::prelude::*;
use kopek_core::operators;
use kopek_domain::auth::OperatorRole;
use kopek_domain::contact::Email;
use kopek_domain::{Error, Reason};

const OPERATORS: &str = "/console/operators";

#[utoipa::path(get, path = "/console/operators", tag = "console", operation_id = "consoleOperators",
    responses(
        (status = 200, description = "The operators, and for an admin the form for a new one", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    let all = match operators::list(&state.core).await {
        Ok(all) => all,
        Err(e) => return failed(&e),
    };
    let acts = signed.operator.role.may_act();
    let guard = signed.guard(&state);
    let body = html! {
        table {
            thead { tr {
                th { (pick("E-mail", "Эл. почта")) } th { (pick("Role", "Роль")) }
                th { (pick("Created", "Создан")) } th { (pick("State", "Состояние")) }
            } }
            tbody {
                @for o in &all {
                    tr {
                        td { (o.email.as_str()) }
                        td { (o.role.as_str()) }
                        td { (o.created_at.rfc3339()) }
                        td {
                            @if let Some(disabled) = o.disabled_at {
                                (pick("disabled", "отключён")) " " (disabled.rfc3339())
                            } @else if acts && o.id != signed.operator.id {
                                a href={(OPERATORS) "/" (o.id) "/disable"} { (pick("Disable", "Отключить")) }
                            } @else {
                                (pick("active", "действует"))
                            }
                        }
                    }
                }
            }
        }
        @if acts {
            h2 { (pick("New operator", "Новый оператор")) }
            form.card method="post" action=(OPERATORS) {
                input type="hidden" name="csrf" value=(guard.token);
                label { (pick("E-mail", "Эл. почта")) input type="email" name="email" required; }
                label { (pick("Role", "Роль"))
                    select name="role" { option value="support" { "support" } option value="admin" { "admin" } } }
                button type="submit" { (pick("Create", "Создать")) }
            }
        }
    };
    console_page(
        guard,
        StatusCode::OK,
        pick("Operators", "Операторы"),
        Some(&signed),
        body,
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOperatorForm {
    email: String,
    role: String,
    csrf: String,
}

guarded!(NewOperatorForm);

#[utoipa::path(post, path = "/console/operators", tag = "console", operation_id = "consoleCreateOperator",
    request_body(content = NewOperatorForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The new operator and its setup link, shown only on this page", content_type = "text/html", body = String),
        (status = 400, description = "An e-mail or role that is not valid, or an e-mail taken", content_type = "text/html", body = String),
        NotSignedIn, MayNotAct,
    ))]
pub async fn create(State(state): State<AppState>, acting: Acting<NewOperatorForm>) -> Response {
    let email =
        Email::parse("email", acting.form.email.trim()).map_err(|e| Error::Validation(vec![e]));
    let role = acting.form.role.parse::<OperatorRole>().map_err(|_| {
        Error::field(
            "role",
            Reason::OneOf(vec!["admin".to_owned(), "support".to_owned()]),
        )
    });
    let made = match (email, role) {
        (Ok(email), Ok(role)) => {
            operators::create(acting.write, &acting.principal, email, role).await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let (operator, token) = match made {
        Ok(made) => made,
        Err(e) => return failed(&e),
    };
    let link = format!(
        "{}/console/setup?token={}",
        state.settings().public_url.trim_end_matches('/'),
        token.expose()
    );
    let body = html! {
        p { (operator.email.as_str()) " · " (operator.role.as_str()) }
        p.receipt { (pick("The link to set a password, shown only now and good for 24 hours:",
                          "Ссылка для выбора пароля, показана только сейчас и действует сутки:")) br;
            code.setup-link { (link) } }
        p { a href=(OPERATORS) { (pick("Back to the operators", "Назад к операторам")) } }
    };
    acting.actor.signed.page(
        &state,
        StatusCode::CREATED,
        pick("Operator created", "Оператор создан"),
        body,
    )
}

#[utoipa::path(get, path = "/console/operators/{id}/disable", tag = "console", operation_id = "consoleConfirmDisableOperator",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The operator and the button that disables it", content_type = "text/html", body = String),
        ConfirmPage,
    ))]
pub async fn confirm_disable(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Response {
    let question = html! {
        (pick("Disable the operator", "Отключить оператора")) " " code { (id) } "? "
        (pick("Their sessions end at once.", "Все их сеансы сразу закончатся."))
    };
    actor.ask(
        &state,
        pick("Disable an operator", "Отключение оператора"),
        question,
        (
            &format!("{OPERATORS}/{id}/disable"),
            pick("Disable", "Отключить"),
        ),
        (
            OPERATORS,
            pick("Back to the operators", "Назад к операторам"),
        ),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DisableForm {
    csrf: String,
}

guarded!(DisableForm);

#[utoipa::path(post, path = "/console/operators/{id}/disable", tag = "console", operation_id = "consoleDisableOperator",
    params(("id" = String, Path)),
    request_body(content = DisableForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Disabled (or not signed in: on to sign in)"),
        (status = 404, description = "No such enabled operator", content_type = "text/html", body = String),
        (status = 409, description = "The operator's own account", content_type = "text/html", body = String),
        PathNotText, MayNotAct,
    ))]
pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    acting: Acting<DisableForm>,
) -> Response {
    match operators::disable(&state.core, acting.write, &acting.principal, &id).await {
        Ok(_) => see_other(OPERATORS),
        Err(e) => failed(&e),
    }
}
