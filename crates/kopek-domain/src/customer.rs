//! Customers of a reseller: who they are, how they are validated, and the states
//! they move through.

use crate::contact::{Email, Phone};
use crate::error::{Error, FieldError, Reason, Violations};
use crate::ids::BillingAccountId;
use crate::text;

/// The longest reseller or customer id the Yandex API accepts.
pub const MAX_ID_LEN: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerState {
    Invited,
    Active,
    Suspended,
}

impl CustomerState {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerState::Invited => "INVITED",
            CustomerState::Active => "ACTIVE",
            CustomerState::Suspended => "SUSPENDED",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerState> {
        [
            CustomerState::Invited,
            CustomerState::Active,
            CustomerState::Suspended,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// Whether the customer's billing account may be used.
    pub fn account_active(self) -> bool {
        self == CustomerState::Active
    }

    /// INVITED → ACTIVE, by the invitee accepting.
    pub fn accept(self) -> Result<CustomerState, Error> {
        self.step(CustomerState::Invited, CustomerState::Active, "accept")
    }

    /// SUSPENDED → ACTIVE.
    pub fn activate(self) -> Result<CustomerState, Error> {
        self.step(CustomerState::Suspended, CustomerState::Active, "activate")
    }

    /// ACTIVE → SUSPENDED.
    pub fn suspend(self) -> Result<CustomerState, Error> {
        self.step(CustomerState::Active, CustomerState::Suspended, "suspend")
    }

    /// Only an INVITED customer has an invitation to send again.
    pub fn resend_invitation(self) -> Result<CustomerState, Error> {
        self.step(
            CustomerState::Invited,
            CustomerState::Invited,
            "resend the invitation of",
        )
    }

    fn step(
        self,
        from: CustomerState,
        to: CustomerState,
        verb: &str,
    ) -> Result<CustomerState, Error> {
        if self == from {
            Ok(to)
        } else {
            Err(Error::FailedPrecondition(format!(
                "Cannot {verb} a customer in state {}; it must be {}",
                self.as_str(),
                from.as_str()
            )))
        }
    }
}

/// The legal person of a customer. Empty strings mean "not given", as in protobuf.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Person {
    pub name: String,
    pub longname: String,
    pub phone: String,
    pub email: String,
    pub post_code: String,
    pub post_address: String,
    pub legal_address: String,
    pub tin: String,
}

/// How a customer comes to a reseller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onboarding {
    /// Invited by email; ACTIVE once the invitation is accepted.
    Invite,
    /// Created ACTIVE, served by the reseller.
    ResellerServed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub onboarding: Onboarding,
    pub reseller_id: BillingAccountId,
    pub name: String,
    pub invitation_email: Option<Email>,
    pub person: Person,
}

impl NewCustomer {
    /// Checks every field that needs nothing but the request. The phone needs the
    /// reseller's country as well: see [`NewCustomer::check_phone`].
    pub fn parse(
        onboarding: Onboarding,
        reseller_id: String,
        name: String,
        invitation_email: String,
        person: Option<Person>,
    ) -> Result<NewCustomer, Error> {
        let mut v = Violations::default();
        v.check(reseller_id_rule(onboarding, &reseller_id));
        if name.is_empty() {
            v.add("name", Reason::Required);
        } else {
            v.check(text::line("name", &name));
        }
        let invitation_email = match onboarding {
            Onboarding::Invite if invitation_email.is_empty() => {
                v.add("invitationEmail", Reason::Required);
                None
            }
            Onboarding::Invite => v.check(Email::parse("invitationEmail", &invitation_email)),
            Onboarding::ResellerServed => None,
        };
        if let Some(p) = &person {
            for (field, value) in [
                ("person.name", &p.name),
                ("person.longname", &p.longname),
                ("person.phone", &p.phone),
                ("person.email", &p.email),
                ("person.postCode", &p.post_code),
                ("person.tin", &p.tin),
            ] {
                v.check(text::line(field, value));
            }
            v.check(text::multiline("person.postAddress", &p.post_address));
            v.check(text::multiline("person.legalAddress", &p.legal_address));
        }
        match &person {
            None => v.add("person", Reason::Required),
            Some(p) if !p.email.is_empty() && text::is_line(&p.email) => {
                v.check(Email::parse("person.email", &p.email));
            }
            Some(_) => {}
        }
        v.finish()?;
        Ok(NewCustomer {
            onboarding,
            reseller_id: reseller_id.into(),
            name,
            invitation_email,
            person: person.unwrap_or_default(),
        })
    }

    /// A phone must be valid in E.164 or in the national form of `region`.
    pub fn check_phone(&self, region: &str) -> Result<(), Error> {
        if !self.person.phone.is_empty() {
            Phone::parse("person.phone", &self.person.phone, region)
                .map_err(|e| Error::Validation(vec![e]))?;
        }
        Ok(())
    }
}

/// A required id of at most 50 characters (`resellerId`, `customerId`).
pub fn id_rule(field: &str, id: &str) -> Result<(), FieldError> {
    if id.is_empty() {
        Err(FieldError::new(field, Reason::Required))
    } else if id.chars().count() > MAX_ID_LEN {
        Err(FieldError::new(field, Reason::TooLong { max: MAX_ID_LEN }))
    } else {
        text::line(field, id)
    }
}

fn reseller_id_rule(onboarding: Onboarding, id: &str) -> Result<(), FieldError> {
    id_rule("resellerId", id)?;
    if onboarding == Onboarding::ResellerServed && !matches_reseller_id_patterns(id) {
        return Err(FieldError::new(
            "resellerId",
            Reason::Format {
                en: "a UUID or an id of lowercase letters, digits, '-' and '.' starting with a letter",
                ru: "UUID или идентификатором из строчных букв, цифр, '-' и '.', начинающимся с буквы",
            },
        ));
    }
    Ok(())
}

/// The three patterns CreateResellerServedCustomer accepts:
/// `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
/// the same with a last group of 32, and `^[a-z][-a-zA-Z0-9.]{0,48}[a-zA-Z0-9]$`.
pub fn matches_reseller_id_patterns(id: &str) -> bool {
    let hex_groups = |last: usize| {
        let groups: Vec<&str> = id.split('-').collect();
        groups.len() == 5
            && groups.iter().zip([8, 4, 4, 4, last]).all(|(g, n)| {
                g.len() == n
                    && g.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
    };
    let bytes = id.as_bytes();
    let name_like = (2..=50).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes[1..bytes.len() - 1]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.');
    hex_groups(12) || hex_groups(32) || name_like
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Result<NewCustomer, Error>) -> Vec<String> {
        match r {
            Err(Error::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn transitions() {
        use CustomerState::*;
        assert_eq!(Invited.accept().unwrap(), Active);
        assert_eq!(Suspended.activate().unwrap(), Active);
        assert_eq!(Active.suspend().unwrap(), Suspended);
        for bad in [
            Active.accept(),
            Suspended.accept(),
            Invited.activate(),
            Active.activate(),
            Invited.suspend(),
            Suspended.suspend(),
            Active.resend_invitation(),
        ] {
            assert!(matches!(bad, Err(Error::FailedPrecondition(_))), "{bad:?}");
        }
        assert!(
            !Invited.account_active() && Active.account_active() && !Suspended.account_active()
        );
        assert_eq!(CustomerState::parse("SUSPENDED"), Some(Suspended));
    }

    #[test]
    fn reseller_id_patterns() {
        for ok in [
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "3fa85f64-5717-4562-b3fc-2c963f66afa63fa85f6457174562b3fc",
            "dn2abc",
            "a.b-C9",
            "ab",
        ] {
            assert!(matches_reseller_id_patterns(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Dn2abc",
            "1abc",
            "abc-",
            "a_b",
            "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
            &format!("a{}", "b".repeat(50)),
        ] {
            assert!(!matches_reseller_id_patterns(bad), "{bad}");
        }
    }

    #[test]
    fn invite_needs_every_documented_field() {
        let person = Some(Person::default());
        assert_eq!(
            fields(NewCustomer::parse(
                Onboarding::Invite,
                "".into(),
                "".into(),
                "".into(),
                None
            )),
            ["resellerId", "name", "invitationEmail", "person"]
        );
        assert_eq!(
            fields(NewCustomer::parse(
                Onboarding::Invite,
                "r".repeat(51),
                "n".into(),
                "not-an-email".into(),
                person.clone()
            )),
            ["resellerId", "invitationEmail"]
        );
        let bad_email = Some(Person {
            email: "x@".into(),
            ..Person::default()
        });
        assert_eq!(
            fields(NewCustomer::parse(
                Onboarding::Invite,
                "r".into(),
                "n".into(),
                "a@b.c".into(),
                bad_email
            )),
            ["person.email"]
        );
        assert_eq!(
            fields(NewCustomer::parse(
                Onboarding::ResellerServed,
                "Bad_Id".into(),
                "n".into(),
                "".into(),
                person.clone()
            )),
            ["resellerId"]
        );
        let ok = NewCustomer::parse(
            Onboarding::ResellerServed,
            "dn2abc".into(),
            "n".into(),
            "".into(),
            person,
        )
        .unwrap();
        assert_eq!(ok.invitation_email, None);
    }

    #[test]
    fn phone_is_read_in_the_resellers_country() {
        let with_phone = |phone: &str| {
            NewCustomer::parse(
                Onboarding::ResellerServed,
                "dn2abc".into(),
                "n".into(),
                "".into(),
                Some(Person {
                    phone: phone.into(),
                    ..Person::default()
                }),
            )
            .unwrap()
        };
        assert!(with_phone("8 495 739-70-00").check_phone("RU").is_ok());
        assert!(with_phone("1-800-FLOWERS").check_phone("US").is_ok());
        assert!(with_phone("").check_phone("RU").is_ok());
        assert!(
            matches!(with_phone("555").check_phone("RU"), Err(Error::Validation(f)) if f[0].field == "person.phone")
        );
    }
}
