//! Who is calling: roles, scopes and API tokens.

use crate::error::{Error, FieldError, Reason, Violations};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The operator: everything.
    Admin,
    /// A reseller billing account: its own customers. Scope: the account id.
    Reseller,
    /// An organization buying subscriptions. Scope: the organization guid.
    Organization,
    /// An outside billing system provisioning users.
    Integration,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Reseller,
        Role::Organization,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reseller => "reseller",
            Role::Organization => "organization",
            Role::Integration => "integration",
        }
    }

    /// Whether keys of this role are bound to one resource id.
    pub fn needs_scope(self) -> bool {
        matches!(self, Role::Reseller | Role::Organization)
    }
}

/// What a console operator may do: `support` reads everything and changes
/// nothing; `admin` also acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    Admin,
    Support,
}

impl OperatorRole {
    pub const ALL: [OperatorRole; 2] = [OperatorRole::Admin, OperatorRole::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Admin => "admin",
            OperatorRole::Support => "support",
        }
    }

    pub fn may_act(self) -> bool {
        self == OperatorRole::Admin
    }
}

impl FromStr for OperatorRole {
    type Err = String;

    fn from_str(s: &str) -> Result<OperatorRole, String> {
        OperatorRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown operator role {s:?}: expected admin or support"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected admin, reseller, organization or integration")
            })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The API key id, or `bootstrap-admin` for `KOPEK_ADMIN_TOKEN`. Used as
    /// `createdBy` and to scope idempotency keys.
    pub id: String,
    pub role: Role,
    pub scope: Option<String>,
}

impl Principal {
    pub const BOOTSTRAP_ADMIN: &'static str = "bootstrap-admin";

    pub fn bootstrap_admin() -> Principal {
        Principal {
            id: Principal::BOOTSTRAP_ADMIN.to_owned(),
            role: Role::Admin,
            scope: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admin may act for anything; a scoped key only for the id it is bound to.
    pub fn may_act_for(&self, role: Role, id: &str) -> bool {
        self.is_admin() || (self.role == role && self.scope.as_deref() == Some(id))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.is_admin() || self.role == role
    }
}

/// A secret bearer token (API keys, invitation links). Only its hash is ever
/// stored; the plain text exists once, in the response or mail that hands it out.
pub struct SecretToken(String);

impl SecretToken {
    /// 256 random bits, hex-encoded behind a recognisable prefix (so secret scanners
    /// and people can tell what a leaked token is).
    pub fn generate(prefix: &str) -> SecretToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretToken(format!("{prefix}{}", hex::encode(bytes)))
    }

    /// A token for an API key.
    pub fn api_key() -> SecretToken {
        SecretToken::generate("kpk_")
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

/// SHA-256 is enough for tokens: they carry 256 bits of entropy, so there is
/// nothing to brute-force, and a fast hash keeps every request's lookup cheap.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_hash_stably() {
        let a = SecretToken::api_key();
        let b = SecretToken::api_key();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 4 + 64);
        assert_eq!(a.hash(), hash_token(a.expose()));
        assert_ne!(a.hash(), a.expose());
        assert_eq!(format!("{a:?}"), "SecretToken(***)");
    }

    #[test]
    fn scope_rules() {
        let reseller = Principal {
            id: "k1".into(),
            role: Role::Reseller,
            scope: Some("r1".into()),
        };
        assert!(reseller.may_act_for(Role::Reseller, "r1"));
        assert!(!reseller.may_act_for(Role::Reseller, "r2"));
        assert!(!reseller.may_act_for(Role::Organization, "r1"));
        assert!(Principal::bootstrap_admin().may_act_for(Role::Reseller, "r2"));
        assert_eq!("integration".parse::<Role>(), Ok(Role::Integration));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn key_specs_check_scope_against_role() {
        let ok =
            KeySpec::parse(Some("reseller"), Some("dn2aaaaaaaaaaaaaaaaa".into()), None).unwrap();
        assert_eq!(ok.role, Role::Reseller);
        assert_eq!(ok.name, "");
        let fields = |r: Result<KeySpec, Error>| match r {
            Err(Error::Validation(f)) => f
                .into_iter()
                .map(|f| (f.field, f.reason))
                .collect::<Vec<_>>(),
            other => panic!("expected validation error, got {other:?}"),
        };
        assert_eq!(
            fields(KeySpec::parse(None, None, None)),
            [("role".into(), Reason::Required)]
        );
        assert_eq!(
            fields(KeySpec::parse(Some("reseller"), None, None)),
            [("scope".into(), Reason::Required)]
        );
        assert_eq!(
            fields(KeySpec::parse(Some("admin"), Some("x".into()), None)),
            [("scope".into(), Reason::NotAllowed)]
        );
        assert_eq!(
            fields(KeySpec::parse(
                Some("organization"),
                Some("nope".into()),
                None
            ))[0]
                .0,
            "scope"
        );
        assert!(
            KeySpec::parse(
                Some("organization"),
                Some("3fa85f64-5717-4562-b3fc-2c963f66afa6".into()),
                Some("pos".into())
            )
            .is_ok()
        );
        assert_eq!(
            fields(KeySpec::parse(Some("admin"), None, Some("x".repeat(201))))[0].0,
            "name"
        );
    }
}

/// What an operator asks for when issuing a key, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub role: Role,
    pub scope: Option<String>,
    pub name: String,
}

impl KeySpec {
    pub const MAX_NAME_LEN: usize = 200;

    /// Reseller keys need a billing account id as scope, organization keys an
    /// organization guid; admin and integration keys take no scope.
    pub fn parse(
        role: Option<&str>,
        scope: Option<String>,
        name: Option<String>,
    ) -> Result<KeySpec, Error> {
        let mut v = Violations::default();
        let role = match role {
            None | Some("") => {
                v.add("role", Reason::Required);
                None
            }
            Some(r) => v.check(r.parse::<Role>().map_err(|_| {
                FieldError::new(
                    "role",
                    Reason::OneOf(Role::ALL.iter().map(|r| r.as_str().to_owned()).collect()),
                )
            })),
        };
        let scope = scope.filter(|s| !s.is_empty());
        match (role, &scope) {
            (Some(r), None) if r.needs_scope() => v.add("scope", Reason::Required),
            (Some(r), Some(_)) if !r.needs_scope() => v.add("scope", Reason::NotAllowed),
            (Some(Role::Reseller), Some(s)) if !crate::ids::is_yc_id(s) => v.add(
                "scope",
                Reason::Format {
                    en: "a billing account id",
                    ru: "идентификатором платёжного аккаунта",
                },
            ),
            (Some(Role::Organization), Some(s)) if !crate::ids::is_guid(s) => v.add(
                "scope",
                Reason::Format {
                    en: "an organization guid",
                    ru: "guid организации",
                },
            ),
            _ => {}
        }
        let name = name.unwrap_or_default().trim().to_owned();
        if name.chars().count() > Self::MAX_NAME_LEN {
            v.add(
                "name",
                Reason::TooLong {
                    max: Self::MAX_NAME_LEN,
                },
            );
        }
        v.finish()?;
        let role = role.ok_or_else(|| Error::internal("validated key spec lost its role"))?;
        Ok(KeySpec { role, scope, name })
    }
}
