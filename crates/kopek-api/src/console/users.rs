//! Users provisioned by an outside billing system (AIPIX), in id order, deleted
//! ones included, and blocking or unblocking one through a confirmation page.
//! The core's use case does it, audited with the operator as the actor.

use super::prelude::*;
use crate::operator_views::UserView;
use kopek_domain::Error;
use kopek_domain::user::UserStatus;

const USERS: &str = "/console/users";

/// What blocking or unblocking makes of a user.
fn parse(action: &str) -> Option<UserStatus> {
    match action {
        "block" => Some(UserStatus::Blocked),
        "unblock" => Some(UserStatus::Active),
        _ => None,
    }
}

fn verb(status: UserStatus) -> (&'static str, &'static str) {
    match status {
        UserStatus::Blocked => ("block", pick("Block", "Заблокировать")),
        UserStatus::Active => ("unblock", pick("Unblock", "Разблокировать")),
    }
}

#[utoipa::path(get, path = "/console/users", tag = "console", operation_id = "consoleUsers",
    params(ListPage),
    responses(
        (status = 200, description = "The users, and for an admin operator a block or unblock link on each live one", content_type = "text/html", body = String),
        ForeignPageToken, NotSignedIn,
    ))]
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    Query(page): Query<ListPage>,
) -> Response {
    let query = page.query();
    let (users, next) = match kopek_core::users::list(&state.core, &query).await {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let acts = signed.operator.role.may_act();
    let body = html! {
        @if users.is_empty() {
            p.muted { (pick("None yet.", "Пока нет.")) }
        } @else {
            table {
                thead { tr {
                    th { "ID" } th { (pick("Login", "Логин")) } th { (pick("Name", "Имя")) }
                    th { (pick("Type", "Тип")) } th { (pick("Status", "Статус")) } th { (pick("Created", "Создан")) } th {}
                } }
                tbody {
                    @for user in &users {
                        tr {
                            td { (user.id.get()) }
                            td { (user.login) }
                            td { (user.name.as_deref().unwrap_or("")) }
                            td { (user.user_type) }
                            td {
                                @if let Some(deleted) = user.deleted_at {
                                    (pick("deleted", "удалён")) " " (deleted.rfc3339())
                                } @else {
                                    span class={"status status-" (user.status.as_str())} { (user.status.as_str()) }
                                }
                            }
                            td { (user.created_at.rfc3339()) }
                            td {
                                @if acts && user.deleted_at.is_none() {
                                    @let (slug, label) = verb(match user.status {
                                        UserStatus::Active => UserStatus::Blocked,
                                        UserStatus::Blocked => UserStatus::Active,
                                    });
                                    a href={(USERS) "/" (user.id.get()) "/" (slug)} { (label) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page(USERS, &next) {
            p { a href=(next) { (pick("Next page", "Следующая страница")) } }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Users", "Пользователи"), body)
}

fn not_found(state: &AppState, signed: &Signed) -> Response {
    super::not_found(
        state,
        signed,
        pick("User not found", "Пользователь не найден"),
        (USERS, pick("Back to the users", "Назад к пользователям")),
    )
}

#[utoipa::path(get, path = "/console/users/{id}/{action}", tag = "console", operation_id = "consoleConfirmUserAction",
    params(("id" = String, Path), ("action" = String, Path, description = "`block` or `unblock`")),
    responses(
        (status = 200, description = "The user and the button that blocks or unblocks it", content_type = "text/html", body = String),
        (status = 404, description = "No such live user, or no such action", content_type = "text/html", body = String),
        ConfirmPage,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let Some(status) = parse(&action) else {
        return not_found(&state, &actor.signed);
    };
    let user = match kopek_core::users::get(&state.core, &id).await {
        Ok(user) if user.deleted_at.is_none() => user,
        Ok(_) | Err(Error::NotFound { .. }) => {
            return not_found(&state, &actor.signed);
        }
        Err(e) => return failed(&e),
    };
    let (slug, label) = verb(status);
    let question = html! { (label) " " strong { (user.login) } " (" (user.id.get()) ")?" };
    actor.ask(
        &state,
        label,
        question,
        (&format!("{USERS}/{id}/{slug}"), label),
        (USERS, pick("Back to the users", "Назад к пользователям")),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserActionForm {
    csrf: String,
}

guarded!(UserActionForm);

#[utoipa::path(post, path = "/console/users/{id}/{action}", tag = "console", operation_id = "consoleUserAction",
    params(("id" = String, Path), ("action" = String, Path, description = "`block` or `unblock`")),
    request_body(content = UserActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done: back to the users (or not signed in: on to sign in)"),
        (status = 404, description = "No such live user, or no such action", content_type = "text/html", body = String),
        PathNotText, MayNotAct,
    ))]
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    acting: Acting<UserActionForm>,
) -> Response {
    let Some(status) = parse(&action) else {
        return not_found(&state, &acting.actor.signed);
    };
    let done = kopek_core::users::set_status(
        &state.core,
        acting.write,
        &acting.principal,
        &id,
        status,
        |user| UserView::from(user.clone()),
    )
    .await;
    match done {
        Ok(_) => see_other(USERS),
        Err(Error::NotFound { .. }) => not_found(&state, &acting.actor.signed),
        Err(e) => failed(&e),
    }
}
