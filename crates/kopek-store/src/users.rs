//! Users. Passwords only as argon2 hashes; a login is unique among live users,
//! enforced by a unique index so two racing creates cannot both win.

use crate::db::{Conn, DbResult, flag, is_unique_violation, next_value};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_domain::user::{User, UserStatus, login_key};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "id, login, password_hash, name, type, status, billing_info, billing_properties, \
                       permissions, can_update_password, created_at, updated_at, deleted_at";

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, Error> {
    let text: String = row.try_get(column).db()?;
    serde_json::from_str(&text).map_err(Error::internal)
}

fn from_row(row: &AnyRow) -> Result<User, Error> {
    let status: String = row.try_get("status").db()?;
    Ok(User {
        id: row.try_get("id").db()?,
        login: row.try_get("login").db()?,
        password_hash: row.try_get("password_hash").db()?,
        name: row.try_get("name").db()?,
        user_type: row.try_get("type").db()?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("unknown user status {status:?}")))?,
        billing_info: json(row, "billing_info")?,
        billing_properties: json(row, "billing_properties")?,
        permissions: json(row, "permissions")?,
        can_update_password: row.try_get::<i64, _>("can_update_password").db()? != 0,
        created_at: Timestamp::from_micros(row.try_get("created_at").db()?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").db()?),
        deleted_at: row
            .try_get::<Option<i64>, _>("deleted_at")
            .db()?
            .map(Timestamp::from_micros),
    })
}

fn text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// Inserts a user with the next id (the given `id` is ignored) and returns it;
/// a live user with the same login is `AlreadyExists`.
pub async fn insert(conn: &mut Conn, user: &User) -> Result<User, Error> {
    let id = next_value(&mut *conn, "users").await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, login, login_key, password_hash, name, type, status, billing_info, \
         billing_properties, permissions, can_update_password, created_at, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)",
    )
    .bind(id)
    .bind(&user.login)
    .bind(login_key(&user.login))
    .bind(&user.password_hash)
    .bind(user.name.as_deref())
    .bind(&user.user_type)
    .bind(user.status.as_str())
    .bind(text(&user.billing_info)?)
    .bind(text(&user.billing_properties)?)
    .bind(text(&user.permissions)?)
    .bind(flag(user.can_update_password))
    .bind(user.created_at.micros())
    .bind(user.updated_at.micros())
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(User { id, ..user.clone() }),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            what: "user",
            id: user.login.clone(),
        }),
        Err(e) => Err(Error::internal(e)),
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
    .bind(user.name.as_deref())
    .bind(&user.user_type)
    .bind(user.status.as_str())
    .bind(text(&user.billing_info)?)
    .bind(text(&user.billing_properties)?)
    .bind(text(&user.permissions)?)
    .bind(flag(user.can_update_password))
    .bind(user.updated_at.micros())
    .bind(user.id)
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// The live user with this login (any case).
pub async fn find_live(conn: &mut Conn, login: &str) -> Result<Option<User>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE login_key = $1 AND deleted_at IS NULL"
    )))
    .bind(login_key(login))
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<User>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .db()?;
    row.as_ref().map(from_row).transpose()
}

/// Marks a live user deleted; false when there was none.
pub async fn soft_delete(conn: &mut Conn, id: i64, now: Timestamp) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(now.micros())
    .bind(id)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected() == 1)
}

/// One page of users (deleted ones too) in id order, after `after`.
pub async fn list(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<User>, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter().map(from_row).collect()
}

/// Recomputes every live user's login key with the current [`login_key`]. A user
/// whose new key another live user already has keeps the old key (and is named in
/// the log), so an upgrade never merges two accounts.
pub async fn rekey_logins(conn: &mut Conn) -> Result<(), Error> {
    let rows =
        sqlx::query("SELECT id, login, login_key FROM users WHERE deleted_at IS NULL ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .db()?;
    for row in rows {
        let id: i64 = row.try_get("id").db()?;
        let login: String = row.try_get("login").db()?;
        let old: String = row.try_get("login_key").db()?;
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
                    user_id = id,
                    "login looks like another user's; its old key is kept"
                );
            }
            Err(e) => return Err(Error::internal(e)),
        }
    }
    Ok(())
}
