//! Users, provisioned by an outside billing system (AIPIX VMS Billing): created,
//! changed (a new password ends every session the user had), blocked and deleted.
//! A deleted user's login may be created again as a new user; the deleted one stays
//! on record for the operator. Passwords are hashed with argon2 off the runtime and
//! never kept otherwise.

use crate::Core;
use crate::events::{self, Subject};
use crate::paging::PageQuery;
use crate::write::{Ran, Write};
use kopek_domain::auth::Principal;
use kopek_domain::ids::UserId;
use kopek_domain::time::Timestamp;
use kopek_domain::user::{NewUser, User, UserChange, UserStatus};
use kopek_domain::{Error, Reason, password};
use kopek_store::{Conn, sessions, users};
use serde::Serialize;

/// argon2 takes tens of milliseconds of CPU: never on the async runtime.
async fn hash_password(password: String) -> Result<String, Error> {
    crate::cpu::run(move || password::hash(&password))
        .await?
        .map_err(Error::internal)
}

fn unknown_login() -> Error {
    Error::field("login", Reason::UnknownReference)
}

/// Whether a live user has this login (as logins compare).
pub async fn is_taken(core: &Core, login: &str) -> Result<bool, Error> {
    let mut conn = core.store.conn().await?;
    Ok(users::find_live(&mut conn, login).await?.is_some())
}

/// Creates a user; a login a live user has is `Taken` (the unique index decides
/// races: of two at once, one is created and the other told so).
pub async fn create<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    new: NewUser,
    status: u16,
    answer: impl FnOnce(&User) -> T,
) -> Result<Ran<T>, Error> {
    if let Some(stored) = write.replay(caller).await? {
        return Ok(Ran::Replayed(stored));
    }
    let password_hash = hash_password(new.password.clone()).await?;
    write
        .run(caller, status, async |work| {
            let now = Timestamp::now();
            let user = User {
                id: UserId::new(0),
                login: new.login,
                password_hash,
                name: new.name,
                user_type: new.user_type,
                status: new.status,
                billing_info: new.billing_info,
                billing_properties: new.billing_properties,
                permissions: Vec::new(),
                can_update_password: new.can_update_password,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            };
            let user = match users::insert(work.conn(), &user).await {
                Err(Error::AlreadyExists { .. }) => {
                    return Err(Error::field("login", Reason::Taken));
                }
                other => other?,
            };
            user_event(core, work.conn(), "user.created", &user).await?;
            Ok(answer(&user))
        })
        .await
}

/// Changes the user with `change.login`. A new password ends every session and
/// token of the user: whoever knew the old one must sign in again.
pub async fn update<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    mut change: UserChange,
    status: u16,
    answer: impl FnOnce(&User) -> T,
) -> Result<Ran<T>, Error> {
    if let Some(stored) = write.replay(caller).await? {
        return Ok(Ran::Replayed(stored));
    }
    let password_hash = match change.password.take() {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    write
        .run(caller, status, async |work| {
            let mut user = users::find_live(work.conn(), &change.login)
                .await?
                .ok_or_else(unknown_login)?;
            let new_password = password_hash.is_some();
            user.apply(change, password_hash, Timestamp::now());
            users::update(work.conn(), &user).await?;
            if new_password {
                sessions::end_all(work.conn(), user.id).await?;
            }
            user_event(core, work.conn(), "user.updated", &user).await?;
            Ok(answer(&user))
        })
        .await
}

/// Deletes the user with `login` (marks it deleted); answered with no content.
pub async fn delete(
    core: &Core,
    write: Write,
    caller: &Principal,
    login: &str,
) -> Result<Ran<()>, Error> {
    write
        .run_no_content(caller, async |work| {
            let mut user = users::find_live(work.conn(), login)
                .await?
                .ok_or_else(unknown_login)?;
            let now = Timestamp::now();
            users::soft_delete(work.conn(), user.id, now).await?;
            user.deleted_at = Some(now);
            user.updated_at = now;
            user_event(core, work.conn(), "user.deleted", &user).await?;
            Ok(())
        })
        .await
}

/// Blocks or unblocks the live user with the numeric `id` (the operator's
/// console); a deleted or unknown user is `NotFound`. The user as it was goes to
/// the audit log when the write is audited.
pub async fn set_status<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    status: UserStatus,
    answer: impl Fn(&User) -> T,
) -> Result<Ran<T>, Error> {
    let not_found = || Error::NotFound {
        what: "user",
        id: id.to_owned(),
    };
    let id = id.parse().map(UserId::new).map_err(|_| not_found())?;
    write
        .run(caller, 200, async |work| {
            let mut user = users::get(work.conn(), id)
                .await?
                .filter(|u| u.deleted_at.is_none())
                .ok_or_else(not_found)?;
            work.before(|| answer(&user))?;
            user.status = status;
            user.updated_at = Timestamp::now();
            users::update(work.conn(), &user).await?;
            user_event(core, work.conn(), "user.updated", &user).await?;
            Ok(answer(&user))
        })
        .await
}

async fn user_event(core: &Core, conn: &mut Conn, kind: &str, user: &User) -> Result<(), Error> {
    let payload = serde_json::json!({ "userId": user.id.get(), "login": user.login });
    let now = user.updated_at;
    events::record(core, conn, kind, Subject::User(user), &payload, now).await?;
    Ok(())
}

/// A user by its numeric id (deleted users included); any other id is `NotFound`.
pub async fn get(core: &Core, id: &str) -> Result<User, Error> {
    let not_found = || Error::NotFound {
        what: "user",
        id: id.to_owned(),
    };
    let id = id.parse().map(UserId::new).map_err(|_| not_found())?;
    let mut conn = core.store.conn().await?;
    users::get(&mut conn, id).await?.ok_or_else(not_found)
}

/// One page of users in id order, deleted ones included, and the next page's
/// token (empty on the last).
pub async fn list(core: &Core, query: &PageQuery) -> Result<(Vec<User>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, "users".to_owned())?;
    let after = match &page.after {
        None => 0,
        Some(cursor) => cursor.parse().map_err(Error::internal)?,
    };
    let mut conn = core.store.conn().await?;
    let rows = users::list(&mut conn, after, page.fetch_limit()).await?;
    let mut ids: Vec<(String, User)> = rows.into_iter().map(|u| (u.id.to_string(), u)).collect();
    let next_page_token = page.finish(key, &mut ids, |(id, _)| id.as_str());
    Ok((ids.into_iter().map(|(_, u)| u).collect(), next_page_token))
}
