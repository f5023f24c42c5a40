//! API keys: the list (never a token), a new key whose token the answering page
//! shows once, and revocation through a confirmation page. The operator API's
//! own use cases do the work, audited with the operator as the actor.

use super::prelude::*;
use crate::operator_views::{ApiKeyView, IssuedApiKey};
use kopek_core::operator;
use kopek_core::write::Ran;
use kopek_domain::auth::{KeySpec, Role};

const KEYS: &str = "/console/api-keys";

#[utoipa::path(get, path = "/console/api-keys", tag = "console", operation_id = "consoleApiKeys",
    responses(
        (status = 200, description = "The keys, and for an admin operator the form for a new one", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    let keys = match operator::api_keys(&state.core).await {
        Ok(keys) => keys,
        Err(e) => return failed(&e),
    };
    let acts = signed.operator.role.may_act();
    let guard = signed.guard(&state);
    let body = html! {
        table {
            thead { tr {
                th { "ID" } th { (pick("Role", "Роль")) } th { (pick("Scope", "Область")) }
                th { (pick("Name", "Название")) } th { (pick("Created", "Создан")) } th { (pick("State", "Состояние")) }
            } }
            tbody {
                @for key in &keys {
                    tr {
                        td { (key.id) }
                        td { (key.role.as_str()) }
                        td { (key.scope.as_deref().unwrap_or("")) }
                        td { (key.name) }
                        td { (key.created_at.rfc3339()) }
                        td {
                            @if let Some(revoked) = key.revoked_at {
                                (pick("revoked", "отозван")) " " (revoked.rfc3339())
                            } @else if acts {
                                a href={(KEYS) "/" (key.id) "/revoke"} { (pick("Revoke", "Отозвать")) }
                            } @else {
                                (pick("active", "действует"))
                            }
                        }
                    }
                }
            }
        }
        @if acts {
            h2 { (pick("New key", "Новый ключ")) }
            form.card method="post" action=(KEYS) {
                input type="hidden" name="csrf" value=(guard.token);
                label { (pick("Role", "Роль"))
                    select name="role" { @for role in Role::ALL { option value=(role.as_str()) { (role.as_str()) } } } }
                label { (pick("Scope (a reseller id or an organization guid)", "Область (id реселлера или guid организации)"))
                    input type="text" name="scope"; }
                label { (pick("Name", "Название")) input type="text" name="name"; }
                button type="submit" { (pick("Create", "Создать")) }
            }
        }
    };
    console_page(
        guard,
        StatusCode::OK,
        pick("API keys", "API-ключи"),
        Some(&signed),
        body,
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewKeyForm {
    role: String,
    scope: Option<String>,
    name: Option<String>,
    csrf: String,
}

guarded!(NewKeyForm);

#[utoipa::path(post, path = "/console/api-keys", tag = "console", operation_id = "consoleCreateApiKey",
    request_body(content = NewKeyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The new key and its token, shown only on this page", content_type = "text/html", body = String),
        (status = 400, description = "A role, scope or name that is not valid", content_type = "text/html", body = String),
        NotSignedIn, MayNotAct,
    ))]
pub async fn create(State(state): State<AppState>, acting: Acting<NewKeyForm>) -> Response {
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let spec = match KeySpec::parse(
        Some(&acting.form.role),
        present(acting.form.scope),
        present(acting.form.name),
    ) {
        Ok(spec) => spec,
        Err(e) => return failed(&e),
    };
    let issued = operator::issue_key(
        acting.write,
        &acting.principal,
        spec,
        StatusCode::CREATED.as_u16(),
        "token",
        IssuedApiKey::new,
    )
    .await;
    let key = match issued {
        Ok(Ran::Done(key, _)) => key,
        Ok(Ran::Replayed(_)) => return see_other(KEYS),
        Err(e) => return failed(&e),
    };
    let body = html! {
        p { (key.id) " · " (key.role) }
        p.receipt { (pick("The token, shown only now:", "Токен, показан только сейчас:")) br;
            code { (key.token.as_deref().unwrap_or_default()) } }
        p { a href=(KEYS) { (pick("Back to the keys", "Назад к ключам")) } }
    };
    acting.actor.signed.page(
        &state,
        StatusCode::CREATED,
        pick("Key created", "Ключ создан"),
        body,
    )
}

#[utoipa::path(get, path = "/console/api-keys/{id}/revoke", tag = "console", operation_id = "consoleConfirmRevokeApiKey",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The key and the button that revokes it", content_type = "text/html", body = String),
        ConfirmPage,
    ))]
pub async fn confirm_revoke(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Response {
    let question = html! {
        (pick("Revoke the key", "Отозвать ключ")) " " code { (id) } "? "
        (pick("Requests with it are refused at once.", "Запросы с ним сразу перестанут приниматься."))
    };
    actor.ask(
        &state,
        pick("Revoke a key", "Отзыв ключа"),
        question,
        (&format!("{KEYS}/{id}/revoke"), pick("Revoke", "Отозвать")),
        (KEYS, pick("Back to the keys", "Назад к ключам")),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevokeForm {
    csrf: String,
}

guarded!(RevokeForm);

#[utoipa::path(post, path = "/console/api-keys/{id}/revoke", tag = "console", operation_id = "consoleRevokeApiKey",
    params(("id" = String, Path)),
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked (or not signed in: on to sign in)"),
        (status = 404, description = "No such key", content_type = "text/html", body = String),
        PathNotText, MayNotAct,
    ))]
pub async fn revoke(Path(id): Path<String>, acting: Acting<RevokeForm>) -> Response {
    let revoked = operator::revoke_key(
        acting.write,
        &acting.principal,
        &id,
        StatusCode::OK.as_u16(),
        |key| ApiKeyView::from(key.clone()),
    )
    .await;
    match revoked {
        Ok(_) => see_other(KEYS),
        Err(e) => failed(&e),
    }
}
