//! The operator console at `/console`: server-rendered pages (maud, the look of
//! the other pages), no JavaScript. Operators sign in with the password set
//! through their setup link; the session token lives only in an HttpOnly,
//! SameSite=Strict cookie scoped to `/console`, and every form carries the
//! anti-forgery token of the pages.

mod api_keys;
mod audit;
mod catalog;
mod events;
mod invoices;
mod operators;
mod organizations;
mod overview;
mod prelude {
    //! What the console's page modules use, imported once: the console's own
    //! helpers, the pages' frame and shared responses, and the extractors.
    pub(super) use super::{
        Acting, Actor, Guard, ListPage, PAGE_SIZE, Signed, console_page, failed, next_page, pick,
    };
    pub(super) use crate::AppState;
    pub(super) use crate::context::RequestContext;
    pub(super) use crate::html::csrf::guarded;
    pub(super) use crate::html::responses::*;
    pub(super) use crate::html::{money, see_other};
    pub(super) use axum::extract::{Path, Query, State};
    pub(super) use axum::http::StatusCode;
    pub(super) use axum::response::Response;
    pub(super) use maud::html;
    pub(super) use serde::Deserialize;
}
mod resellers;
mod session;
mod users;
mod webhooks;

use crate::context::{LANG_COOKIE, RequestContext};
use crate::error::Dialect;
use crate::html::csrf::{Guarded, guarded};
use crate::html::responses::Forged;
use crate::html::{csrf, page, secure, see_other};
use crate::limits::ClientAddress;
use crate::{AppState, Routes};
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use kopek_core::operators as accounts;
use kopek_core::paging::PageQuery;
use kopek_core::write::Write;
use kopek_domain::Error;
use kopek_domain::auth::Principal;
use kopek_domain::lang::Lang;
use maud::{Markup, html};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa_axum::routes;

pub use session::Signed;

pub fn routes() -> Routes {
    Routes::new()
        .api(routes!(home))
        .api(routes!(sign_in_page, sign_in))
        .api(routes!(setup_page, setup))
        .api(routes!(sign_out))
        .api(routes!(language))
        .api(routes!(organizations::list))
        .api(routes!(organizations::show))
        .api(routes!(resellers::list))
        .api(routes!(resellers::show))
        .api(routes!(resellers::confirm, resellers::act))
        .api(routes!(invoices::list))
        .api(routes!(invoices::show))
        .api(routes!(invoices::confirm, invoices::act))
        .api(routes!(api_keys::list, api_keys::create))
        .api(routes!(api_keys::confirm_revoke, api_keys::revoke))
        .api(routes!(users::list))
        .api(routes!(users::confirm, users::act))
        .api(routes!(catalog::show, catalog::load))
        .api(routes!(events::list))
        .api(routes!(webhooks::list))
        .api(routes!(webhooks::show))
        .api(routes!(webhooks::confirm_resend, webhooks::resend))
        .api(routes!(operators::list, operators::create))
        .api(routes!(operators::confirm_disable, operators::disable))
        .api(routes!(audit::list))
        .api(routes!(overview::show))
}

/// The anti-forgery subject of every console form.
const FORM: &str = "console";

/// Rows on a console list's page.
const PAGE_SIZE: i64 = 50;

/// A page of a console list, by the token the page before linked.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListPage {
    /// The next page's token, as the previous page linked it.
    #[param(max_length = 100)]
    page: Option<String>,
}

impl ListPage {
    fn query(self) -> PageQuery {
        PageQuery {
            page_size: Some(PAGE_SIZE),
            page_token: self.page.filter(|p| !p.is_empty()),
        }
    }
}

/// The link to the page of `path` after this one, when there is one.
fn next_page(path: &str, next: &str) -> Option<String> {
    (!next.is_empty()).then(|| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        format!("{path}?{}", url.append_pair("page", next).finish())
    })
}

/// `en` or `ru` as the browser asked.
fn pick<'a>(en: &'a str, ru: &'a str) -> &'a str {
    RequestContext::current().lang.pick(en, ru)
}

/// This browser's anti-forgery token for the forms of one response, and the
/// cookie to set with it when the browser has none yet (issued once a response,
/// so the token matches the cookie set).
struct Guard {
    token: String,
    cookie: Option<HeaderValue>,
}

fn guard(state: &AppState, headers: &HeaderMap) -> Guard {
    let (token, cookie) = csrf::issue(state.store.page_key(), headers, FORM, secure(state));
    Guard { token, cookie }
}

/// A console page: the bar with the operator's e-mail and sign-out when signed in.
fn console_page(
    guard: Guard,
    status: StatusCode,
    title: &str,
    signed: Option<&Signed>,
    body: Markup,
) -> Response {
    let token = &guard.token;
    let context = RequestContext::current();
    let other = context.lang.pick(("ru", "Русский"), ("en", "English"));
    let mut switch = url::form_urlencoded::Serializer::new(String::new());
    switch.append_pair("to", other.0);
    if let Some(here) = &context.console_page {
        switch.append_pair("back", here);
    }
    let body = html! {
        p.lang { a href={"/console/language?" (switch.finish())} lang=(other.0) { (other.1) } }
        @if let Some(signed) = signed {
            nav.console {
                a href="/console/overview" { (pick("Overview", "Обзор")) }
                a href="/console/organizations" { (pick("Organizations", "Организации")) }
                a href="/console/invoices" { (pick("Invoices", "Счета")) }
                a href="/console/resellers" { (pick("Resellers", "Реселлеры")) }
                a href="/console/users" { (pick("Users", "Пользователи")) }
                a href="/console/api-keys" { (pick("API keys", "API-ключи")) }
                a href="/console/catalog" { (pick("Catalog", "Каталог")) }
                a href="/console/events" { (pick("Events", "События")) }
                a href="/console/webhooks" { (pick("Webhooks", "Вебхуки")) }
                a href="/console/audit" { (pick("Audit log", "Журнал аудита")) }
                a href="/console/operators" { (pick("Operators", "Операторы")) }
                span.muted { (signed.operator.email.as_str()) " · " (signed.operator.role.as_str()) }
                form method="post" action="/console/sign-out" {
                    input type="hidden" name="csrf" value=(token);
                    button.secondary type="submit" { (pick("Sign out everywhere", "Выйти на всех устройствах")) }
                }
            }
        }
        h1 { (title) }
        (body)
    };
    let mut response = page(status, title, body);
    csrf::set_cookie(&mut response, guard.cookie);
    response
}

/// A 404 page titled `title`, with the link `back` (its address and text).
fn not_found(
    state: &AppState,
    signed: &Signed,
    title: &str,
    (back, back_text): (&str, &str),
) -> Response {
    signed.page(
        state,
        StatusCode::NOT_FOUND,
        title,
        html! { p { a href=(back) { (back_text) } } },
    )
}

/// Whether a posted form is this site's own.
fn forged(state: &AppState, headers: &HeaderMap, token: &str) -> bool {
    !csrf::verify(
        state.store.page_key(),
        headers,
        FORM,
        token,
        &state.settings().public_url,
    )
}

/// A posted form, read and checked to be this site's own (`None`: answer with
/// [`refused`]).
fn checked<F: Guarded>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<F>, FormRejection>,
) -> Option<F> {
    match form {
        Ok(Form(form)) if !forged(state, headers, form.csrf()) => Some(form),
        _ => None,
    }
}

/// An operator who may change things (a support operator only reads). `Err` is
/// the page to answer with instead: on to sign in, or [`read_only`].
pub struct Actor {
    signed: Signed,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        if !signed.operator.role.may_act() {
            return Err(read_only(state, &signed));
        }
        Ok(Actor { signed })
    }
}

impl Signed {
    /// The anti-forgery token for this operator's forms.
    fn guard(&self, state: &AppState) -> Guard {
        guard(state, &self.headers)
    }

    /// A console page for this operator.
    fn page(&self, state: &AppState, status: StatusCode, title: &str, body: Markup) -> Response {
        console_page(self.guard(state), status, title, Some(self), body)
    }
}

impl Actor {
    /// A page asking to confirm an action: the question, the button that posts the
    /// form to `action`, and the link `back` (its address and text).
    fn ask(
        &self,
        state: &AppState,
        title: &str,
        question: Markup,
        (action, button): (&str, &str),
        (back, back_text): (&str, &str),
    ) -> Response {
        let guard = self.signed.guard(state);
        let body = html! {
            p { (question) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(guard.token);
                button type="submit" { (button) }
            }
            p { a href=(back) { (back_text) } }
        };
        console_page(guard, StatusCode::OK, title, Some(&self.signed), body)
    }
}

/// A form posted to change something, taken once it is this site's own and the
/// operator may change things: the form, who posted it, whom the change is made
/// as, and the write it runs as, audited with the operator as the actor and named
/// as the API's writes are (method and target). `Err` is the page to answer with instead:
/// on to sign in, [`refused`] or [`read_only`].
pub struct Acting<F> {
    form: F,
    actor: Actor,
    principal: Principal,
    write: Write,
}

impl<F: Guarded + DeserializeOwned + Send> FromRequest<AppState> for Acting<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let ClientAddress(address) = ClientAddress::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let audit =
            crate::mutation::audit(&parts.method, &crate::mutation::target(&parts), address);
        let form = Form::<F>::from_request(Request::from_parts(parts, body), state).await;
        let Some(form) = checked(state, &signed.headers, form) else {
            return Err(refused(state, &signed.headers));
        };
        let Some(principal) = accounts::principal(&signed.operator) else {
            return Err(read_only(state, &signed));
        };
        let write = state.core.write(None, String::new()).audited(audit);
        Ok(Acting {
            form,
            actor: Actor { signed },
            principal,
            write,
        })
    }
}

fn read_only(state: &AppState, signed: &Signed) -> Response {
    signed.page(
        state,
        StatusCode::FORBIDDEN,
        pick("Not allowed", "Нет прав"),
        html! { p { (pick(
            "Your role (support) reads everything and changes nothing.",
            "Ваша роль (support) видит всё и ничего не меняет.",
        )) } },
    )
}

fn refused(state: &AppState, headers: &HeaderMap) -> Response {
    console_page(
        guard(state, headers),
        StatusCode::FORBIDDEN,
        pick("Form expired", "Форма устарела"),
        None,
        html! { p { a href="/console/sign-in" { (pick("Open the page again", "Откройте страницу заново")) } } },
    )
}

/// The console's errors, as a page without the bar (the operator may not be known).
pub struct Console;

impl Dialect for Console {
    fn render(error: &Error, context: &RequestContext) -> Response {
        let title = context
            .lang
            .pick("Something went wrong", "Что-то пошло не так");
        let body = html! { h1 { (title) } p { (error.public_message(context.lang)) } };
        page(crate::error::http_status(error), title, body)
    }
}

/// An error met while serving a page: logged, and answered with `Retry-After`
/// where it applies, as every family's errors are.
fn failed(error: &Error) -> Response {
    crate::error::render::<Console>(error)
}

/// The console's start: its first page for an operator signed in.
#[utoipa::path(get, path = "/console", tag = "console", operation_id = "consoleHome",
    responses((status = 303, description = "On to the overview, or to sign in")))]
pub async fn home() -> Response {
    see_other("/console/overview")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
}

fn sign_in_form(guard: &Guard, email: &str) -> Markup {
    html! {
        form.card method="post" action="/console/sign-in" {
            input type="hidden" name="csrf" value=(guard.token);
            label { (pick("E-mail", "Эл. почта")) input type="email" name="email" value=(email) required autocomplete="username"; }
            label { (pick("Password", "Пароль")) input type="password" name="password" required autocomplete="current-password"; }
            button type="submit" { (pick("Sign in", "Войти")) }
        }
    }
}

#[utoipa::path(get, path = "/console/sign-in", tag = "console", operation_id = "consoleSignInPage",
    responses((status = 200, description = "The sign-in form", content_type = "text/html", body = String)))]
pub async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let guard = guard(&state, &headers);
    let form = sign_in_form(&guard, "");
    console_page(
        guard,
        StatusCode::OK,
        pick("Kopek console", "Консоль Kopek"),
        None,
        form,
    )
}

#[utoipa::path(post, path = "/console/sign-in", tag = "console", operation_id = "consoleSignIn",
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to the console, with the session cookie"),
        (status = 401, description = "Wrong e-mail or password", content_type = "text/html", body = String),
        (status = 429, description = "Too many failed attempts for this e-mail: locked for a while", content_type = "text/html", body = String),
        Forged,
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Some(form) = checked(&state, &headers, form) else {
        return refused(&state, &headers);
    };
    let address = address.map(|ip| ip.to_string());
    match accounts::sign_in(&state.core, &form.email, form.password, address).await {
        Ok((token, _)) => {
            let mut response = see_other("/console/overview");
            session::set_cookie(&mut response, token.expose(), secure(&state));
            response
        }
        Err(Error::WrongCredentials) => {
            let lang = RequestContext::current().lang;
            let guard = guard(&state, &headers);
            let body = html! {
                p.alert { (Error::WrongCredentials.public_message(lang)) }
                (sign_in_form(&guard, &form.email))
            };
            console_page(
                guard,
                StatusCode::UNAUTHORIZED,
                pick("Kopek console", "Консоль Kopek"),
                None,
                body,
            )
        }
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SetupLink {
    /// The token of the link `kopek operator create` printed.
    #[param(max_length = 100)]
    token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetupForm {
    token: String,
    password: String,
    csrf: String,
}

fn link_not_valid(state: &AppState, headers: &HeaderMap) -> Response {
    console_page(
        guard(state, headers),
        StatusCode::NOT_FOUND,
        pick("This link does not work", "Эта ссылка не работает"),
        None,
        html! { p { (pick(
            "It was used already or is older than 24 hours; ask for a new one (kopek operator create).",
            "Ею уже воспользовались или ей больше суток; попросите новую (kopek operator create).",
        )) } },
    )
}

#[utoipa::path(get, path = "/console/setup", tag = "console", operation_id = "consoleSetupPage",
    params(SetupLink),
    responses(
        (status = 200, description = "The form to set the password", content_type = "text/html", body = String),
        (status = 400, description = "A query that is not text", content_type = "text/html", body = String),
        (status = 404, description = "A link used already, expired or unknown", content_type = "text/html", body = String),
    ))]
pub async fn setup_page(
    State(state): State<AppState>,
    Query(link): Query<SetupLink>,
    headers: HeaderMap,
) -> Response {
    let token = link.token.unwrap_or_default();
    let operator = match accounts::setting_up(&state.core, &token).await {
        Ok(operator) => operator,
        Err(Error::Unauthenticated) => return link_not_valid(&state, &headers),
        Err(e) => return failed(&e),
    };
    let guard = guard(&state, &headers);
    let body = html! {
        p { (operator.email.as_str()) " · " (operator.role.as_str()) }
        form.card method="post" action="/console/setup" {
            input type="hidden" name="csrf" value=(guard.token);
            input type="hidden" name="token" value=(token);
            label { (pick("New password (12 characters or more)", "Новый пароль (от 12 символов)"))
                input type="password" name="password" required minlength="12" autocomplete="new-password"; }
            button type="submit" { (pick("Set the password", "Задать пароль")) }
        }
    };
    console_page(
        guard,
        StatusCode::OK,
        pick("Set your password", "Задайте пароль"),
        None,
        body,
    )
}

#[utoipa::path(post, path = "/console/setup", tag = "console", operation_id = "consoleSetup",
    request_body(content = SetupForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "The password is set: on to sign in"),
        (status = 400, description = "A password too short or too long", content_type = "text/html", body = String),
        (status = 404, description = "A link used already, expired or unknown", content_type = "text/html", body = String),
        Forged,
    ))]
pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SetupForm>, FormRejection>,
) -> Response {
    let Some(form) = checked(&state, &headers, form) else {
        return refused(&state, &headers);
    };
    match accounts::set_up(&state.core, &form.token, form.password).await {
        Ok(_) => see_other("/console/sign-in"),
        Err(Error::Unauthenticated) => link_not_valid(&state, &headers),
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignOutForm {
    csrf: String,
}

guarded!(SignInForm, SetupForm, SignOutForm);

#[utoipa::path(post, path = "/console/sign-out", tag = "console", operation_id = "consoleSignOut",
    request_body(content = SignOutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Every session of the operator ended: on to sign in"),
        Forged,
    ))]
pub async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Response {
    let Some(_form) = checked(&state, &headers, form) else {
        return refused(&state, &headers);
    };
    if let Err(e) = accounts::sign_out_everywhere(&state.core, &signed.operator).await {
        return failed(&e);
    }
    let mut response = see_other("/console/sign-in");
    session::clear_cookie(&mut response, secure(&state));
    response
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LanguageChoice {
    /// `en` or `ru`.
    #[param(max_length = 10)]
    to: Option<String>,
    /// The console page (path and query) to go back to.
    #[param(max_length = 2000)]
    back: Option<String>,
}

/// The console page to go back to: `back` when it is one (never another site).
fn back_to(back: Option<&str>) -> &str {
    back.filter(|b| b.starts_with("/console/") && !b.contains("//"))
        .unwrap_or("/console/overview")
}

#[utoipa::path(get, path = "/console/language", tag = "console", operation_id = "consoleLanguage",
    params(LanguageChoice),
    responses(
        (status = 303, description = "Back to the console page named, the language kept in a cookie"),
        (status = 400, description = "A language other than en and ru", content_type = "text/html", body = String),
    ))]
pub async fn language(
    State(state): State<AppState>,
    Query(choice): Query<LanguageChoice>,
) -> Response {
    let Some(lang) = choice.to.as_deref().and_then(Lang::parse) else {
        return failed(&Error::field(
            "to",
            kopek_domain::Reason::Format {
                en: "en or ru",
                ru: "en или ru",
            },
        ));
    };
    let mut response = see_other(back_to(choice.back.as_deref()));
    let secure = if secure(&state) { "; Secure" } else { "" };
    append_cookie(
        &mut response,
        &format!(
            "{LANG_COOKIE}={}; Path=/console; Max-Age=31536000; SameSite=Lax{secure}",
            lang.as_str()
        ),
    );
    response
}

fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}
