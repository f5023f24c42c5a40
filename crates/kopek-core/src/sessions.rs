//! Signing in: a provisioned user's login and password buy a session token (only
//! its hash is kept). Five failed attempts for one login within 15 minutes lock
//! that login until fewer than five failures lie in the window; an attempt is
//! counted before its password is checked, so however many guesses arrive at
//! once, at most five are checked. A locked login answers the same whether it
//! exists or not, and a wrong login takes as long as a wrong password.

use crate::Core;
use kopek_domain::auth::{SecretToken, hash_token};
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_domain::user::{User, login_key};
use kopek_domain::{Error, password};
use kopek_store::sessions::{self, Session};
use kopek_store::{Conn, users};
use std::sync::OnceLock;

/// Session tokens start so, which tells them from API keys.
pub const TOKEN_PREFIX: &str = "lps_";
pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// How long what sign-in hands out lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// 24 hours (LIFE POS's `Session`).
    Session,
    /// 30 days (LIFE POS's `Token`).
    Token,
}

impl Lifetime {
    fn seconds(self) -> i64 {
        match self {
            Lifetime::Session => 24 * 60 * 60,
            Lifetime::Token => 30 * 24 * 60 * 60,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lifetime::Session => "Session",
            Lifetime::Token => "Token",
        }
    }
}

/// A hash to check against when the login is unknown, so that a wrong login and a
/// wrong password take the same time.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| password::hash("decoy password").unwrap_or_default())
}

/// Counts a sign-in attempt for `key` before its password is checked, or refuses
/// it while the key is locked. Answers the start of the window the attempts are
/// counted in (a successful sign-in clears them from there).
pub(crate) async fn count_attempt(
    conn: &mut Conn,
    key: &str,
    now: Timestamp,
) -> Result<Timestamp, Error> {
    let since = now.plus_seconds(-WINDOW_SECONDS);
    let (attempt, attempts, oldest) = sessions::begin_attempt(&mut *conn, key, now, since).await?;
    if attempts > MAX_FAILURES {
        sessions::forget_attempt(conn, &attempt).await?;
        // Free again when the oldest counted attempt leaves the window.
        let free_at = oldest.plus_seconds(WINDOW_SECONDS);
        let retry_after = (free_at.micros() - now.micros()).max(0) / 1_000_000 + 1;
        return Err(Error::TooManyRequests {
            retry_after: u64::try_from(retry_after).unwrap_or(1),
        });
    }
    Ok(since)
}

/// Signs `login` in with `secret`: the token (shown once) and its session.
pub async fn sign_in(
    core: &Core,
    login: &str,
    secret: String,
    lifetime: Lifetime,
) -> Result<(SecretToken, Session), Error> {
    let key = login_key(login);
    let now = Timestamp::now();
    let mut conn = core.store.conn().await?;
    let since = count_attempt(&mut conn, &key, now).await?;
    let user = users::find_live(&mut conn, login).await?;
    drop(conn);
    let checked: Option<User> = crate::cpu::run(move || match user {
        Some(user) => user.check_password(&secret).then_some(user),
        None => {
            password::verify(decoy_hash(), &secret);
            None
        }
    })
    .await?;
    // A failed attempt stays counted: its row is the failure.
    let user = checked.ok_or(Error::WrongCredentials)?;
    let mut tx = core.store.begin().await?;
    sessions::clear_attempts(&mut tx, &key, since).await?;
    let token = SecretToken::generate(TOKEN_PREFIX);
    let session = Session {
        id: yc_id(prefix::SESSION),
        user_id: user.id,
        kind: lifetime.name().to_owned(),
        created_at: now,
        expires_at: now.plus_seconds(lifetime.seconds()),
    };
    sessions::insert(&mut tx, &session, &token.hash()).await?;
    tx.commit().await?;
    Ok((token, session))
}

/// The user a live session token belongs to. A user blocked or deleted after
/// signing in loses access at once.
pub async fn authenticate(core: &Core, token: &str) -> Result<User, Error> {
    let mut conn = core.store.conn().await?;
    let session = sessions::find_live(&mut conn, &hash_token(token), Timestamp::now())
        .await?
        .ok_or(Error::Unauthenticated)?;
    users::get(&mut conn, session.user_id)
        .await?
        .filter(|u| u.may_sign_in())
        .ok_or(Error::Unauthenticated)
}
