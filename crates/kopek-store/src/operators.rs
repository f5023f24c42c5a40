//! Console operators and their sessions: only hashes of passwords (argon2id),
//! setup tokens and session tokens are kept.

use crate::db::{AnyQuery, Conn, DbResult, Record, Statement, is_unique_violation, select};
use kopek_domain::Error;
use kopek_domain::auth::OperatorRole;
use kopek_domain::contact::Email;
use kopek_domain::time::Timestamp;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Operator {
    pub id: String,
    pub email: Email,
    pub role: OperatorRole,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl Record for Operator {
    const TABLE: &'static str = "operators";
    const COLUMNS: &'static str = "id, email, role, created_at, disabled_at";

    fn bind<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.id)
            .bind(&self.email)
            .bind(self.role)
            .bind(self.created_at)
            .bind(self.disabled_at)
    }
}

/// Adds an operator who signs in once a password is set through the setup link
/// whose token hashes to `setup_hash`. An e-mail already in use (compared by
/// `email_key`) is refused: `Ok(false)`.
pub async fn insert(
    conn: &mut Conn,
    operator: &Operator,
    email_key: &str,
    setup_hash: &str,
    setup_expires_at: Timestamp,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO operators (id, email, role, created_at, disabled_at, email_key, \
         setup_token_hash, setup_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&operator.id)
    .bind(&operator.email)
    .bind(operator.role)
    .bind(operator.created_at)
    .bind(operator.disabled_at)
    .bind(email_key)
    .bind(setup_hash)
    .bind(setup_expires_at)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(crate::db::driver_error(e)),
    }
}

/// The operator whose unexpired setup token hashes to `setup_hash`.
pub async fn by_setup_token(
    conn: &mut Conn,
    setup_hash: &str,
    now: Timestamp,
) -> Result<Option<Operator>, Error> {
    sqlx::query_as(select::<Operator>(
        "WHERE setup_token_hash = $1 AND setup_expires_at > $2 AND disabled_at IS NULL",
    ))
    .bind(setup_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    .db()
}

/// Sets the operator's password and uses up the setup token: `false` if the token
/// was used meanwhile.
pub async fn set_password(
    conn: &mut Conn,
    id: &str,
    setup_hash: &str,
    password_hash: &str,
) -> Result<bool, Error> {
    sqlx::query(
        "UPDATE operators SET password_hash = $1, setup_token_hash = NULL, \
         setup_expires_at = NULL WHERE id = $2 AND setup_token_hash = $3",
    )
    .bind(password_hash)
    .bind(id)
    .bind(setup_hash)
    .changed_one(conn)
    .await
}

/// The enabled operator with this e-mail key and its password hash (none until
/// the setup link is used).
pub async fn credentials(
    conn: &mut Conn,
    email_key: &str,
) -> Result<Option<(Operator, Option<String>)>, Error> {
    #[derive(FromRow)]
    struct Credentials {
        #[sqlx(flatten)]
        operator: Operator,
        password_hash: Option<String>,
    }
    let sql = format!(
        "SELECT {}, password_hash FROM operators WHERE email_key = $1 AND disabled_at IS NULL",
        Operator::COLUMNS
    );
    let found: Option<Credentials> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(email_key)
        .fetch_optional(conn)
        .await
        .db()?;
    Ok(found.map(|c| (c.operator, c.password_hash)))
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Operator>, Error> {
    crate::db::by_key(conn, id).await
}

/// Marks an operator disabled from `now` on.
pub async fn disable(conn: &mut Conn, id: &str, now: Timestamp) -> Result<(), Error> {
    sqlx::query("UPDATE operators SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
        .bind(now)
        .bind(id)
        .run(conn)
        .await
}

pub async fn list(conn: &mut Conn) -> Result<Vec<Operator>, Error> {
    sqlx::query_as(select::<Operator>("ORDER BY email"))
        .fetch_all(conn)
        .await
        .db()
}

pub async fn insert_session(
    conn: &mut Conn,
    id: &str,
    operator_id: &str,
    token_hash: &str,
    address: Option<&str>,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO operator_sessions (id, operator_id, token_hash, address, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(operator_id)
    .bind(token_hash)
    .bind(address)
    .bind(now)
    .bind(expires_at)
    .run(conn)
    .await
}

/// The enabled operator whose unexpired session token hashes to `token_hash`.
pub async fn by_session(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<Operator>, Error> {
    sqlx::query_as(select::<Operator>(
        "WHERE disabled_at IS NULL AND id = (SELECT operator_id FROM operator_sessions \
         WHERE token_hash = $1 AND expires_at > $2)",
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    .db()
}

/// Ends every session of an operator (signing out everywhere).
pub async fn end_sessions(conn: &mut Conn, operator_id: &str) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1")
        .bind(operator_id)
        .execute(conn)
        .await
        .db()?;
    Ok(done.rows_affected())
}
