//! Console operators: made from the command line with a one-time setup link,
//! signed in with a password (argon2id on the bounded pool) and a session whose
//! token only the browser holds (its hash is kept). Signing in is locked as the
//! LIFE POS sign-in is: five failures for one e-mail within 15 minutes, counted
//! before the password is checked.

use crate::Core;
use crate::sessions::{count_attempt, decoy_hash};
use crate::write::{Ran, Write};
use kopek_domain::auth::{OperatorRole, Principal, Role, SecretToken, hash_token};
use kopek_domain::contact::Email;
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_domain::user::login_key;
use kopek_domain::{Error, Reason, password};
use kopek_store::operators::{self, Operator};
use kopek_store::sessions;

/// Setup links and session tokens start so.
const SETUP_PREFIX: &str = "kos_";
const SESSION_PREFIX: &str = "koc_";
const SETUP_SECONDS: i64 = 24 * 60 * 60;
/// A console session lasts a working day.
const SESSION_SECONDS: i64 = 12 * 60 * 60;
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 12..=256;

/// What an operator's actions are made as: the operator's id is the actor the
/// audit log names. A `support` operator acts as nobody (it changes nothing).
pub fn principal(operator: &Operator) -> Option<Principal> {
    operator.role.may_act().then(|| Principal {
        id: operator.id.clone(),
        role: Role::Admin,
        scope: None,
    })
}

/// The operator as the audit log records it (never a token or hash).
fn shown(operator: &Operator) -> serde_json::Value {
    serde_json::json!({
        "id": operator.id,
        "email": operator.email.as_str(),
        "role": operator.role.as_str(),
        "created_at": operator.created_at.rfc3339(),
        "disabled_at": operator.disabled_at.map(|t| t.rfc3339()),
    })
}

/// Adds an operator (by `caller`, through `write`: the console or the command
/// line) and returns the token of its setup link, shown only now and good for 24
/// hours.
pub async fn create(
    write: Write,
    caller: &Principal,
    email: Email,
    role: OperatorRole,
) -> Result<(Operator, SecretToken), Error> {
    let now = Timestamp::now();
    let operator = Operator {
        id: yc_id(prefix::OPERATOR),
        email,
        role,
        created_at: now,
        disabled_at: None,
    };
    let token = SecretToken::generate(SETUP_PREFIX);
    let key = login_key(operator.email.as_str());
    let hash = token.hash();
    write
        .run(caller, 201, async |work| {
            let expires = now.plus_seconds(SETUP_SECONDS);
            if !operators::insert(work.conn(), &operator, &key, &hash, expires).await? {
                return Err(Error::field("email", Reason::Taken));
            }
            Ok(shown(&operator))
        })
        .await?;
    Ok((operator, token))
}

/// Disables an operator (by another operator: nobody locks themselves out), who
/// loses access at once: every session ends, and signing in no longer works.
pub async fn disable(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
) -> Result<Ran<serde_json::Value>, Error> {
    if caller.id == id {
        return Err(Error::FailedPrecondition(
            "An operator cannot disable themselves; ask another admin".to_owned(),
        ));
    }
    let now = core.now();
    write
        .run(caller, 200, async |work| {
            let mut operator = operators::get(work.conn(), id)
                .await?
                .filter(|o| o.disabled_at.is_none())
                .ok_or_else(|| Error::NotFound {
                    what: "operator",
                    id: id.to_owned(),
                })?;
            work.before(|| shown(&operator))?;
            operators::disable(work.conn(), id, now).await?;
            operators::end_sessions(work.conn(), id).await?;
            operator.disabled_at = Some(now);
            Ok(shown(&operator))
        })
        .await
}

/// The operator a setup link is for, while it is good.
pub async fn setting_up(core: &Core, setup_token: &str) -> Result<Operator, Error> {
    let mut conn = core.store.conn().await?;
    operators::by_setup_token(&mut conn, &hash_token(setup_token), Timestamp::now())
        .await?
        .ok_or(Error::Unauthenticated)
}

/// Sets the password through the setup link, which is then used up.
pub async fn set_up(core: &Core, setup_token: &str, secret: String) -> Result<Operator, Error> {
    if !PASSWORD_CHARS.contains(&secret.chars().count()) {
        return Err(Error::field(
            "password",
            Reason::Format {
                en: "12 to 256 characters long",
                ru: "длиной от 12 до 256 символов",
            },
        ));
    }
    let operator = setting_up(core, setup_token).await?;
    let phc = crate::cpu::run(move || password::hash(&secret))
        .await?
        .map_err(Error::internal)?;
    let mut tx = core.store.begin().await?;
    if !operators::set_password(&mut tx, &operator.id, &hash_token(setup_token), &phc).await? {
        return Err(Error::Unauthenticated);
    }
    tx.commit().await?;
    Ok(operator)
}

/// Signs an operator in: the session token (for the browser's cookie only) and the
/// operator.
pub async fn sign_in(
    core: &Core,
    email: &str,
    secret: String,
    address: Option<String>,
) -> Result<(SecretToken, Operator), Error> {
    // Kept apart from the LIFE POS logins that share the attempts table.
    let key = format!("operator:{}", login_key(email));
    let now = Timestamp::now();
    let mut conn = core.store.conn().await?;
    let since = count_attempt(&mut conn, &key, now).await?;
    let found = operators::credentials(&mut conn, &login_key(email)).await?;
    drop(conn);
    let checked = crate::cpu::run(move || match found {
        Some((operator, Some(phc))) => password::verify(&phc, &secret).then_some(operator),
        _ => {
            password::verify(decoy_hash(), &secret);
            None
        }
    })
    .await?;
    let operator = checked.ok_or(Error::WrongCredentials)?;
    let token = SecretToken::generate(SESSION_PREFIX);
    let mut tx = core.store.begin().await?;
    sessions::clear_attempts(&mut tx, &key, since).await?;
    operators::insert_session(
        &mut tx,
        &yc_id(prefix::OPERATOR_SESSION),
        &operator.id,
        &token.hash(),
        address.as_deref(),
        now,
        now.plus_seconds(SESSION_SECONDS),
    )
    .await?;
    tx.commit().await?;
    Ok((token, operator))
}

/// The operator a live session token belongs to; a disabled operator loses access
/// at once.
pub async fn authenticate(core: &Core, token: &str) -> Result<Operator, Error> {
    let mut conn = core.store.conn().await?;
    operators::by_session(&mut conn, &hash_token(token), Timestamp::now())
        .await?
        .ok_or(Error::Unauthenticated)
}

/// Ends every session of the operator, in every browser.
pub async fn sign_out_everywhere(core: &Core, operator: &Operator) -> Result<(), Error> {
    let mut tx = core.store.begin().await?;
    operators::end_sessions(&mut tx, &operator.id).await?;
    tx.commit().await
}

pub async fn list(core: &Core) -> Result<Vec<Operator>, Error> {
    let mut conn = core.store.conn().await?;
    operators::list(&mut conn).await
}
