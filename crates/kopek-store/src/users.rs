//! Users. Passwords only as argon2 hashes; a login is unique among live users,
//! enforced by a unique index so two racing creates cannot both win.

use crate::db::{
    AnyQuery, Conn, DbResult, Record, Statement, is_unique_violation, next_value, select,
};
use kopek_domain::Error;
use kopek_domain::ids::UserId;
use kopek_domain::sql::{Flag, Json};
use kopek_domain::time::Timestamp;
use kopek_domain::user::{User, login_key};

impl Record for User {
    const TABLE: &'static str = "users";
    const COLUMNS: &'static str = "id, login, password_hash, name, type, status, billing_info, \
        billing_properties, permissions, can_update_password, created_at, updated_at, deleted_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.id)
            .bind(&self.login)
            .bind(&self.password_hash)
            .bind(&self.name)
            .bind(&self.user_type)
            .bind(self.status)
            .bind(Json(&self.billing_info))
            .bind(Json(&self.billing_properties))
            .bind(Json(&self.permissions))
            .bind(Flag(self.can_update_password))
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.deleted_at)
    }
}

/// Inserts a user with the next id (the given `id` is ignored) and returns it;
/// a live user with the same login is `AlreadyExists`.
pub async fn insert(conn: &mut Conn, user: &User) -> Result<User, Error> {
    let user = User {
        id: UserId::new(next_value(&mut *conn, "users").await?),
        ..user.clone()
    };
    let key = login_key(&user.login);
    match crate::db::insert(conn, &user, &[("login_key", &key)]).await {
        Ok(()) => Ok(user),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "user",
            id: user.login.clone(),
        }),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

/// Saves every changeable field of a live user.
pub async fn update(conn: &mut Conn, user: &User) -> Result<(), Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, name = $2, type = $3, status = $4, billing_info = $5, \
         billing_properties = $6, permissions = $7, can_update_password = $8, updated_at = $9 \
         WHERE id = $10 AND deleted_at IS NULL",
    )
    .bind(&user.password_hash)
    .bind(&user.name)
    .bind(&user.user_type)
    .bind(user.status)
    .bind(Json(&user.billing_info))
    .bind(Json(&user.billing_properties))
    .bind(Json(&user.permissions))
    .bind(Flag(user.can_update_password))
    .bind(user.updated_at)
    .bind(user.id)
    .run(conn)
    .await
}

/// The live user with this login (any case).
pub async fn find_live(conn: &mut Conn, login: &str) -> Result<Option<User>, Error> {
    sqlx::query_as(select::<User>(
        "WHERE login_key = $1 AND deleted_at IS NULL",
    ))
    .bind(login_key(login))
    .fetch_optional(conn)
    .await
    .db()
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<Option<User>, Error> {
    crate::db::by_key(conn, id).await
}

/// Marks a live user deleted; false when there was none.
pub async fn soft_delete(conn: &mut Conn, id: UserId, now: Timestamp) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .changed_one(conn)
    .await
}

/// One page of users (deleted ones too) in id order, after `after`.
pub async fn list(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<User>, Error> {
    sqlx::query_as(select::<User>("WHERE id > $1 ORDER BY id LIMIT $2"))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .db()
}

/// Recomputes every live user's login key with the current [`login_key`]. A user
/// whose new key another live user already has keeps the old key (and is named in
/// the log), so an upgrade never merges two accounts.
pub async fn rekey_logins(conn: &mut Conn) -> Result<(), Error> {
    let rows: Vec<(UserId, String, String)> = sqlx::query_as(
        "SELECT id, login, login_key FROM users WHERE deleted_at IS NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .db()?;
    for (id, login, old) in rows {
        let key = login_key(&login);
        if key == old {
            continue;
        }
        let done = sqlx::query("UPDATE users SET login_key = $1 WHERE id = $2")
            .bind(&key)
            .bind(id)
            .execute(&mut *conn)
            .await;
        match done {
            Ok(_) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                tracing::warn!(
                    user_id = id.get(),
                    "login looks like another user's; its old key is kept"
                );
            }
            Err(e) => return Err(crate::db::driver_error(e)),
        }
    }
    Ok(())
}
