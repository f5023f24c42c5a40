//! AIPIX's request bodies read as Laravel's validator reads them: field by field,
//! every failure of every field reported at once; absent, null and "" all count as
//! missing; PHP's `[]` for an empty `billing_info`; `properties` as another name of
//! `billing_properties`.

use kopek_domain::error::{Error, FieldError, Reason};
use kopek_domain::user::{
    MAX_LOGIN_LEN, MAX_PASSWORD_LEN, MAX_TEXT_LEN, MAX_TYPE_LEN, NewUser, Property, RESERVED_TYPES,
    UserChange, UserRules, UserStatus, check_login_script,
};
use serde_json::{Map, Value};

const A_STRING: Reason = Reason::Format {
    en: "a string",
    ru: "строкой",
};
const AN_ARRAY: Reason = Reason::Format {
    en: "an array",
    ru: "массивом",
};

/// Field-by-field reading of a request body, collecting every failure.
struct Checker<'a> {
    body: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, field: &str, reason: Reason) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// Absent, null and "" count as missing, as Laravel turns empty strings to null.
    fn present(&self, field: &str) -> Option<&'a Value> {
        match self.body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v) => Some(v),
        }
    }

    fn string_at(&mut self, field: &str, value: &Value, max: usize) -> Option<String> {
        let Value::String(s) = value else {
            self.fail(field, A_STRING);
            return None;
        };
        if s.chars().count() > max {
            self.fail(field, Reason::TooLong { max });
            return None;
        }
        Some(s.clone())
    }

    fn string(&mut self, field: &str, max: usize, required: bool) -> Option<String> {
        match self.present(field) {
            None => {
                if required {
                    self.fail(field, Reason::Required);
                }
                None
            }
            Some(v) => self.string_at(field, v, max),
        }
    }

    /// A login: required, at most [`MAX_LOGIN_LEN`], of one script (Latin and
    /// Cyrillic letters mixed are how look-alike logins are made).
    fn login(&mut self) -> Option<String> {
        let login = self.string("login", MAX_LOGIN_LEN, true)?;
        if let Err(reason) = check_login_script(&login) {
            self.fail("login", reason);
            return None;
        }
        Some(login)
    }

    fn user_type(&mut self, rules: &UserRules, required: bool) -> Option<String> {
        let t = self.string("type", MAX_TYPE_LEN, required);
        if let Some(t) = &t
            && (RESERVED_TYPES.contains(&t.as_str())
                || !rules.types.iter().any(|allowed| allowed == t))
        {
            self.fail("type", Reason::UnknownReference);
            return None;
        }
        // A too-long type is also not one of the allowed ones.
        if self
            .errors
            .iter()
            .any(|e| e.field == "type" && matches!(e.reason, Reason::TooLong { .. }))
        {
            self.fail("type", Reason::UnknownReference);
        }
        t
    }

    fn status(&mut self) -> Option<UserStatus> {
        let s = self.string("status", MAX_TEXT_LEN, false)?;
        let status = UserStatus::parse(&s);
        if status.is_none() {
            self.fail("status", Reason::UnknownReference);
        }
        status
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        let value = match self.present(field)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            Value::String(s) if s == "0" => Some(false),
            Value::String(s) if s == "1" => Some(true),
            _ => None,
        };
        if value.is_none() {
            self.fail(
                field,
                Reason::Format {
                    en: "true or false",
                    ru: "логическим значением",
                },
            );
        }
        value
    }

    /// `{billing_id, billing_extra[]}`; PHP clients send an empty object as `[]`.
    fn billing_info(&mut self) -> Option<Value> {
        let value = self.present("billing_info")?.clone();
        match &value {
            Value::Array(a) if a.is_empty() => Some(Value::Object(Map::new())),
            Value::Object(info) => {
                let mut ok = true;
                match info.get("billing_id") {
                    None | Some(Value::Null | Value::Number(_)) => {}
                    Some(v @ Value::String(_)) => {
                        ok &= self
                            .string_at("billing_info.billing_id", v, MAX_TEXT_LEN)
                            .is_some()
                    }
                    Some(_) => {
                        self.fail("billing_info.billing_id", A_STRING);
                        ok = false;
                    }
                }
                if !matches!(
                    info.get("billing_extra"),
                    None | Some(Value::Null | Value::Array(_))
                ) {
                    self.fail("billing_info.billing_extra", AN_ARRAY);
                    ok = false;
                }
                ok.then_some(value)
            }
            _ => {
                self.fail(
                    "billing_info",
                    Reason::Format {
                        en: "an object",
                        ru: "объектом",
                    },
                );
                None
            }
        }
    }

    /// `billing_properties`, or `properties` as newer clients call it.
    fn properties(&mut self) -> Option<Vec<Property>> {
        let field = if self.body.contains_key("billing_properties") {
            "billing_properties"
        } else {
            "properties"
        };
        let value = self.present(field)?;
        let Value::Array(items) = value else {
            self.fail(field, AN_ARRAY);
            return None;
        };
        let mut properties = Vec::new();
        let before = self.errors.len();
        for (i, item) in items.iter().enumerate() {
            let at = |member: &str| format!("{field}.{i}.{member}");
            let Value::Object(item) = item else {
                self.fail(
                    &format!("{field}.{i}"),
                    Reason::Format {
                        en: "an object",
                        ru: "объектом",
                    },
                );
                continue;
            };
            let member = |checker: &mut Checker, name: &str| match item.get(name) {
                None | Some(Value::Null) => {
                    checker.fail(&at(name), Reason::Required);
                    None
                }
                Some(v) => checker.string_at(&at(name), v, MAX_TEXT_LEN),
            };
            let kind = member(self, "type");
            let value = member(self, "value");
            if let (Some(kind), Some(value)) = (kind, value) {
                properties.push(Property { kind, value });
            }
        }
        (self.errors.len() == before).then_some(properties)
    }

    fn names(&mut self, field: &str) -> Vec<String> {
        let Some(value) = self.present(field) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.fail(field, AN_ARRAY);
            return Vec::new();
        };
        let mut names = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{field}.{i}");
            match item {
                Value::String(s) if s.is_empty() => self.fail(&at, Reason::Required),
                v => names.extend(self.string_at(&at, v, MAX_TEXT_LEN)),
            }
        }
        names
    }

    fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// A create request's body as a new user, every failing field reported at once.
pub fn new_user(body: &Map<String, Value>, rules: &UserRules) -> Result<NewUser, Error> {
    let mut c = Checker {
        body,
        errors: Vec::new(),
    };
    let login = c.login();
    let password = c.string("password", MAX_PASSWORD_LEN, true);
    let name = c.string("name", MAX_TEXT_LEN, false);
    let user_type = c.user_type(rules, true);
    let status = c.status();
    let billing_info = c.billing_info();
    let billing_properties = c.properties();
    let can_update_password = c.boolean("can_update_password");
    c.finish()?;
    match (login, password, user_type) {
        (Some(login), Some(password), Some(user_type)) => Ok(NewUser {
            login,
            password,
            name,
            user_type,
            status: status.unwrap_or(UserStatus::Active),
            billing_info: billing_info.unwrap_or_else(|| Value::Object(Map::new())),
            billing_properties: billing_properties.unwrap_or_default(),
            can_update_password: can_update_password.unwrap_or(true),
        }),
        _ => Err(Error::internal("validated user lost a required field")),
    }
}

/// An update request's body as a change, every failing field reported at once.
pub fn user_change(body: &Map<String, Value>, rules: &UserRules) -> Result<UserChange, Error> {
    let mut c = Checker {
        body,
        errors: Vec::new(),
    };
    let login = c.login();
    let change = UserChange {
        login: String::new(),
        password: c.string("password", MAX_PASSWORD_LEN, false),
        name: c.string("name", MAX_TEXT_LEN, false),
        user_type: c.user_type(rules, false),
        status: c.status(),
        billing_info: c.billing_info(),
        billing_properties: c.properties(),
        can_update_password: c.boolean("can_update_password"),
        permissions_to_attach: c.names("permissions_to_attach"),
        permissions_to_detach: c.names("permissions_to_detach"),
    };
    c.finish()?;
    let login = login.ok_or_else(|| Error::internal("validated change lost its login"))?;
    Ok(UserChange { login, ..change })
}

/// The `login` of a delete request.
pub fn parse_login(body: &Map<String, Value>) -> Result<String, Error> {
    let mut c = Checker {
        body,
        errors: Vec::new(),
    };
    let login = c.string("login", MAX_LOGIN_LEN, true);
    c.finish()?;
    login.ok_or_else(|| Error::internal("validated login lost"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Vec<String> {
        vec![
            "user".to_owned(),
            "type_value".to_owned(),
            "special".to_owned(),
        ]
    }

    fn errors(body: Value) -> Vec<(String, Reason)> {
        let types = rules();
        match new_user(body.as_object().unwrap(), &UserRules { types: &types }) {
            Err(Error::Validation(f)) => f.into_iter().map(|f| (f.field, f.reason)).collect(),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn the_seed_request_is_valid() {
        let body = json!({
            "login": "test@mail.com", "password": "qweasdzxc", "type": "type_value",
            "billing_info": {"billing_id": "123123123", "billing_extra": []},
            "status": "active",
            "billing_properties": [{"type": "phone", "value": "+80283289362"}]
        });
        let types = rules();
        let user = new_user(body.as_object().unwrap(), &UserRules { types: &types }).unwrap();
        assert_eq!(user.login, "test@mail.com");
        assert_eq!(user.status, UserStatus::Active);
        assert!(user.can_update_password);
        assert_eq!(user.billing_properties[0].kind, "phone");
    }

    #[test]
    fn every_failure_at_once() {
        let found = errors(json!({
            "password": "p".repeat(101), "type": "special", "status": "sleeping",
            "billing_properties": [{"type": 1}], "can_update_password": "yes", "billing_info": "x"
        }));
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "login",
                "password",
                "type",
                "status",
                "billing_info",
                "billing_properties.0.type",
                "billing_properties.0.value",
                "can_update_password"
            ]
        );
        let long_type = errors(json!({"login": "a", "password": "b", "type": "t".repeat(51)}));
        assert_eq!(
            long_type.len(),
            2,
            "too long and not allowed: {long_type:?}"
        );
        assert_eq!(
            errors(json!({"login": 5, "password": "", "type": "user"}))[0].1,
            A_STRING
        );
        assert_eq!(
            errors(json!({"login": "a", "password": "b", "type": "user", "properties": "string"}))
                [0]
            .0,
            "properties"
        );
    }

    #[test]
    fn changes_and_logins_are_read() {
        let types = rules();
        let rules = UserRules { types: &types };
        let change = user_change(
            json!({"login": "a", "status": "blocked", "permissions_to_attach": ["archives-show", "live"], "permissions_to_detach": ["old"]})
                .as_object()
                .unwrap(),
            &rules,
        )
        .unwrap();
        assert_eq!(change.status, Some(UserStatus::Blocked));
        assert_eq!(change.permissions_to_attach, ["archives-show", "live"]);
        assert!(user_change(json!({}).as_object().unwrap(), &rules).is_err());
        assert_eq!(
            parse_login(json!({"login": "x"}).as_object().unwrap()).unwrap(),
            "x"
        );
        assert!(
            new_user(
                json!({"login": "ivаn", "password": "p", "type": "user"})
                    .as_object()
                    .unwrap(),
                &rules
            )
            .is_err()
        );
    }
}
