//! Email addresses and telephone numbers.

use crate::checked::checked_text;
use crate::error::{FieldError, Reason};

checked_text!(
    /// An email address as the WHATWG HTML standard defines a valid one (what
    /// browsers accept in `<input type=email>`), at most 254 characters.
    Email,
    is_email,
    Reason::Format {
        en: "a valid email address",
        ru: "корректным адресом электронной почты",
    }
);

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    s.len() <= 254
        && !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c))
        && !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The keypad digit of a letter (ITU E.161): ABC 2, DEF 3, ... WXYZ 9.
fn keypad_digit(c: char) -> Option<char> {
    let digit = match c.to_ascii_uppercase() {
        'A'..='C' => '2',
        'D'..='F' => '3',
        'G'..='I' => '4',
        'J'..='L' => '5',
        'M'..='O' => '6',
        'P'..='S' => '7',
        'T'..='V' => '8',
        'W'..='Z' => '9',
        _ => return None,
    };
    Some(digit)
}

use phonenumber::metadata::DATABASE;

/// A telephone number, in E.164 form (`+7 495 739-70-00`) or in the national form
/// of a region, or a phoneword whose letters map to keypad digits
/// (`1-800-FLOWERS`), kept as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Why a number is refused.
    pub const REASON: Reason = Reason::Format {
        en: "a valid telephone number or phoneword",
        ru: "корректным номером телефона или буквенным номером",
    };

    /// The number, read in `region` (an ISO 3166-1 alpha-2 code) when it has no
    /// country code, or the error that names `field`.
    pub fn parse(field: &str, value: &str, region: &str) -> Result<Phone, FieldError> {
        if is_phone(value, region) {
            Ok(Phone(value.to_owned()))
        } else {
            Err(FieldError::new(field, Phone::REASON))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_phone(s: &str, region: &str) -> bool {
    const PUNCTUATION: &str = " -().+/";
    if s.trim().is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PUNCTUATION.contains(c))
    {
        return false;
    }
    let digits: String = s
        .chars()
        .map(|c| keypad_digit(c).unwrap_or(c))
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let Some((code, national)) = split_country_code(&digits, region) else {
        return false;
    };
    // The crate's parser strips a national prefix that a number only seems to start
    // with (the 8 of St Petersburg's 812 after +7), so the national number is
    // checked against the numbering plans here, as libphonenumber's validator does:
    // it must fit the plan of a region with that country code and one of its types.
    DATABASE.by_code(&code).is_some_and(|regions| {
        regions.iter().any(|meta| {
            let d = meta.descriptors();
            d.general().is_match(&national)
                && [
                    d.fixed_line(),
                    d.mobile(),
                    d.toll_free(),
                    d.premium_rate(),
                    d.shared_cost(),
                    d.personal_number(),
                    d.voip(),
                    d.pager(),
                    d.uan(),
                    d.voicemail(),
                ]
                .into_iter()
                .flatten()
                .any(|t| t.is_match(&national))
        })
    })
}

/// The country calling code and the national significant number of a number in
/// international form (`+7...`) or in the national form of `region`.
fn split_country_code(digits: &str, region: &str) -> Option<(u16, String)> {
    if let Some(rest) = digits.strip_prefix('+') {
        let code = phonenumber::parse(None, digits).ok()?.code().value();
        let national = rest.strip_prefix(&code.to_string())?;
        return Some((code, national.to_owned()));
    }
    let id = region.parse::<phonenumber::country::Id>().ok()?;
    let meta = DATABASE.by_id(id.as_ref())?;
    let national = match meta.national_prefix() {
        Some(prefix) => digits.strip_prefix(prefix).unwrap_or(digits),
        None => digits,
    };
    Some((meta.country_code(), national.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.c",
            "first.last+tag@example.co.uk",
            "x@localhost",
            "o'neil@example.com",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.c",
            "a@b..c",
            "a b@c.d",
            "Name <a@b.c>",
            "a@-b.c",
            "a@b.c-",
            "a@b@c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn parsed_values_keep_the_text_and_name_the_field() {
        let email = Email::parse("person.email", "o'neil@example.com").unwrap();
        assert_eq!(email.as_str(), "o'neil@example.com");
        assert_eq!(email.to_string(), "o'neil@example.com");
        let err = Email::parse("invitationEmail", "a@b@c").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason),
            ("invitationEmail", Email::REASON)
        );
        assert_eq!(
            serde_json::from_str::<Email>(r#""a@b.c""#).unwrap(),
            Email::parse("x", "a@b.c").unwrap()
        );
        assert!(serde_json::from_str::<Email>(r#""a@""#).is_err());
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            r#""o'neil@example.com""#
        );
        assert_eq!(
            Email::try_from("x".to_owned()).unwrap_err(),
            "The Email must be a valid email address."
        );

        let phone = Phone::parse("person.phone", "8 (495) 739-70-00", "RU").unwrap();
        assert_eq!(phone.as_str(), "8 (495) 739-70-00");
        assert!(Phone::parse("person.phone", "8 (495) 739-70-00", "ZZ").is_err());
        let err = Phone::parse("person.phone", "call me", "RU").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason),
            ("person.phone", Phone::REASON)
        );
    }

    #[test]
    fn phones_and_phonewords() {
        assert!(is_phone("+7 495 739-70-00", "RU"));
        assert!(is_phone("+74957397000", "US"));
        assert!(is_phone("8 (495) 739-70-00", "RU"));
        assert!(
            is_phone("8 (812) 309-73-00", "RU"),
            "an area code that starts like the prefix"
        );
        assert!(is_phone("+7 812 309-73-00", "KZ"));
        assert!(is_phone("+7 (800) 555-35-35", "RU"));
        assert!(is_phone("+39 06 6982 0000", "RU"), "a leading zero kept");
        assert!(!is_phone("+7 123 309-73-00", "RU"));
        assert!(is_phone("1-800-FLOWERS", "US"));
        assert!(is_phone("+1 800 FLOWERS", "KZ"));
        assert!(!is_phone("12", "RU"));
        assert!(!is_phone("+7 495", "RU"));
        assert!(!is_phone("call me", "RU"));
        assert!(!is_phone("+7 495 739-70-00 ext; drop", "RU"));
        assert!(!is_phone("", "RU"));
    }
}
