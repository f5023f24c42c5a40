//! Users provisioned by an outside billing system (AIPIX VMS Billing), who later sign
//! in to buy subscriptions: their rules (limits, reserved types, who may sign in,
//! how a change applies, how logins compare). Reading AIPIX's request bodies is the
//! AIPIX family's.

use crate::error::Reason;
use crate::ids::UserId;
use crate::password;
use crate::time::Timestamp;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

pub const MAX_LOGIN_LEN: usize = 255;
pub const MAX_PASSWORD_LEN: usize = 100;
pub const MAX_TYPE_LEN: usize = 50;
pub const MAX_TEXT_LEN: usize = 255;
/// Types no outside system may give a user, whatever the configuration says.
pub const RESERVED_TYPES: [&str; 2] = ["special", "subuser"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Blocked,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Blocked => "blocked",
        }
    }

    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "blocked" => Some(UserStatus::Blocked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Property {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A user as Kopek keeps it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub password_hash: String,
    pub name: Option<String>,
    #[cfg_attr(feature = "sqlx", sqlx(rename = "type"))]
    pub user_type: String,
    pub status: UserStatus,
    /// `{billing_id, billing_extra}` as the billing system sent it.
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "crate::sql::Json<Value>"))]
    pub billing_info: Value,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "crate::sql::Json<Vec<Property>>"))]
    pub billing_properties: Vec<Property>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "crate::sql::Json<Vec<String>>"))]
    pub permissions: Vec<String>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "crate::sql::Flag"))]
    pub can_update_password: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl User {
    /// Blocked and deleted users cannot sign in.
    pub fn may_sign_in(&self) -> bool {
        self.status == UserStatus::Active && self.deleted_at.is_none()
    }

    /// The sign-in check: a user who may sign in, with this password. Slow (argon2):
    /// call it off the async runtime.
    pub fn check_password(&self, password: &str) -> bool {
        self.may_sign_in() && password::verify(&self.password_hash, password)
    }

    /// Applies a validated change; `password_hash` is the hash of its new password.
    pub fn apply(&mut self, change: UserChange, password_hash: Option<String>, now: Timestamp) {
        if let Some(hash) = password_hash {
            self.password_hash = hash;
        }
        if let Some(name) = change.name {
            self.name = Some(name);
        }
        if let Some(t) = change.user_type {
            self.user_type = t;
        }
        if let Some(s) = change.status {
            self.status = s;
        }
        if let Some(info) = change.billing_info {
            self.billing_info = info;
        }
        if let Some(p) = change.billing_properties {
            self.billing_properties = p;
        }
        if let Some(c) = change.can_update_password {
            self.can_update_password = c;
        }
        self.permissions
            .retain(|p| !change.permissions_to_detach.contains(p));
        for p in change.permissions_to_attach {
            if !self.permissions.contains(&p) {
                self.permissions.push(p);
            }
        }
        self.permissions.sort();
        self.updated_at = now;
    }
}

/// What the configuration allows for `type`.
pub struct UserRules<'a> {
    pub types: &'a [String],
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub login: String,
    pub password: String,
    pub name: Option<String>,
    pub user_type: String,
    pub status: UserStatus,
    pub billing_info: Value,
    pub billing_properties: Vec<Property>,
    pub can_update_password: bool,
}

/// A change to the user with `login`; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct UserChange {
    pub login: String,
    pub password: Option<String>,
    pub name: Option<String>,
    pub user_type: Option<String>,
    pub status: Option<UserStatus>,
    pub billing_info: Option<Value>,
    pub billing_properties: Option<Vec<Property>>,
    pub can_update_password: Option<bool>,
    pub permissions_to_attach: Vec<String>,
    pub permissions_to_detach: Vec<String>,
}

/// A login must be written in one script: Latin and Cyrillic letters mixed are
/// how look-alike logins are made.
pub fn check_login_script(login: &str) -> Result<(), Reason> {
    if login.is_single_script() {
        Ok(())
    } else {
        Err(Reason::Format {
            en: "written in one script (not, say, Latin and Cyrillic letters mixed)",
            ru: "записан буквами одной письменности (не, например, латиницей вперемешку с кириллицей)",
        })
    }
}

/// Logins compare as people read them: compatibility-normalized and case-folded
/// (NFKC, full case folding, NFKC again: `STRASSE` is `straße`, fullwidth `ｉｖａｎ`
/// is `ivan`, NFD `renée` is NFC `renée`), with the dot above a soft-dotted `i`
/// or `j` dropped, since `İVAN` folds to `i̇van`, which reads as `ivan`.
pub fn login_key(login: &str) -> String {
    let folded = caseless::default_case_fold_str(&login.nfkc().collect::<String>());
    let mut key = String::with_capacity(folded.len());
    let mut previous = None;
    for c in folded.nfkc() {
        if c == '\u{307}' && matches!(previous, Some('i' | 'j')) {
            continue;
        }
        key.push(c);
        previous = Some(c);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_and_sign_in_rules() {
        let change = UserChange {
            login: "a".into(),
            password: None,
            name: None,
            user_type: None,
            status: Some(UserStatus::Blocked),
            billing_info: None,
            billing_properties: None,
            can_update_password: None,
            permissions_to_attach: vec!["archives-show".into(), "live".into()],
            permissions_to_detach: vec!["old".into()],
        };
        let mut user = User {
            id: UserId::new(1),
            login: "a".into(),
            password_hash: password::hash("secret").unwrap(),
            name: None,
            user_type: "user".into(),
            status: UserStatus::Active,
            billing_info: json!({}),
            billing_properties: vec![],
            permissions: vec!["old".into(), "live".into()],
            can_update_password: true,
            created_at: Timestamp::from_micros(0),
            updated_at: Timestamp::from_micros(0),
            deleted_at: None,
        };
        assert!(user.check_password("secret"));
        assert!(!user.check_password("Secret"));
        user.apply(change, None, Timestamp::from_micros(5));
        assert_eq!(user.permissions, ["archives-show", "live"]);
        assert_eq!(user.status, UserStatus::Blocked);
        assert!(
            !user.check_password("secret"),
            "blocked users cannot sign in"
        );
        user.status = UserStatus::Active;
        user.deleted_at = Some(Timestamp::from_micros(6));
        assert!(
            !user.check_password("secret"),
            "deleted users cannot sign in"
        );
    }

    #[test]
    fn logins_compare_as_read_and_keep_to_one_script() {
        assert_eq!(login_key("Test@Mail.com"), "test@mail.com");
        for (a, b) in [
            ("straße", "STRASSE"),
            ("ivan", "İVAN"),
            ("ren\u{e9}e", "rene\u{301}e"),
            ("ivan@mail.ru", "ｉｖａｎ＠ｍａｉｌ．ｒｕ"),
            ("Σίσυφος", "ΣΊΣΥΦΟΣ"),
        ] {
            assert_eq!(login_key(a), login_key(b), "{a} and {b}");
        }
        assert_ne!(
            login_key("renee"),
            login_key("renée"),
            "accents still count"
        );
        assert_ne!(
            login_key("ivan"),
            login_key("іvan"),
            "a Cyrillic і is another letter"
        );
        assert!(check_login_script("ivan@mail.ru").is_ok());
        assert!(check_login_script("иван@почта.рф").is_ok());
        assert!(check_login_script("ivаn@mail.ru").is_err(), "a Cyrillic а");
    }
}
