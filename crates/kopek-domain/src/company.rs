//! Russian company details: INN (taxpayer number) with its check digits, and KPP.

use crate::checked::checked_text;
use crate::error::{FieldError, Reason};

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

checked_text!(
    /// A taxpayer number (ИНН): 10 digits for organizations, 12 for individuals and
    /// sole traders, with valid check digits.
    Inn,
    is_inn,
    Reason::Format {
        en: "a valid INN of 10 or 12 digits",
        ru: "корректным ИНН из 10 или 12 цифр",
    }
);

checked_text!(
    /// A tax registration reason code (КПП): `^\d{4}[0-9A-Z]{2}\d{3}$`.
    Kpp,
    is_kpp,
    Reason::Format {
        en: "a KPP of 9 characters: 4 digits, 2 digits or capital letters, 3 digits",
        ru: "КПП из 9 символов: 4 цифры, 2 цифры или заглавные буквы, 3 цифры",
    }
);

fn is_inn(s: &str) -> bool {
    let Some(d) = digits(s) else { return false };
    match d.len() {
        10 => check_digit(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9],
        12 => {
            check_digit(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
                && check_digit(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
        }
        _ => false,
    }
}

fn is_kpp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..6]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[6..].iter().all(u8::is_ascii_digit)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Company {
    pub name: String,
    pub inn: Inn,
    /// Organizations (10-digit INN) have one; sole traders (12-digit INN) do not.
    pub kpp: Option<Kpp>,
}

impl Company {
    /// Checks every field, prefixing field names with `at` (e.g. `company.`).
    pub fn parse(
        at: &str,
        name: Option<String>,
        inn: Option<String>,
        kpp: Option<String>,
    ) -> Result<Company, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = name.map(|n| n.trim().to_owned()).unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::new(format!("{at}name"), Reason::Required));
        } else if name.chars().count() > 1000 {
            errors.push(FieldError::new(
                format!("{at}name"),
                Reason::TooLong { max: 1000 },
            ));
        }
        let raw_inn = inn.unwrap_or_default();
        let inn = if raw_inn.is_empty() {
            errors.push(FieldError::new(format!("{at}inn"), Reason::Required));
            None
        } else {
            Inn::parse(&format!("{at}inn"), &raw_inn)
                .map_err(|e| errors.push(e))
                .ok()
        };
        // Whether a KPP is due follows the INN's length, even when its check digits
        // are wrong, so both mistakes are reported at once.
        let kpp = match kpp.filter(|k| !k.is_empty()) {
            Some(k) => match Kpp::parse(&format!("{at}kpp"), &k) {
                Ok(_) if raw_inn.len() == 12 => {
                    errors.push(FieldError::new(format!("{at}kpp"), Reason::NotAllowed));
                    None
                }
                Ok(kpp) => Some(kpp),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            None if raw_inn.len() == 10 => {
                errors.push(FieldError::new(format!("{at}kpp"), Reason::Required));
                None
            }
            None => None,
        };
        match inn {
            Some(inn) if errors.is_empty() => Ok(Company { name, inn, kpp }),
            _ => Err(errors),
        }
    }
}

/// An organization's alias: 1 to 64 lowercase letters, digits and dashes.
pub fn check_alias(alias: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&alias.len())
        && alias
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if alias.is_empty() {
        Err(FieldError::new("alias", Reason::Required))
    } else if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "alias",
            Reason::Format {
                en: "1 to 64 lowercase letters, digits and dashes",
                ru: "строкой из 1–64 строчных латинских букв, цифр и дефисов",
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inn_check_digits() {
        for ok in ["7707083893", "7704340310", "500100732259", "7830002293"] {
            assert!(is_inn(ok), "{ok}");
        }
        for bad in [
            "7707083894",
            "500100732258",
            "770708389",
            "77070838931",
            "77070838a3",
            "",
        ] {
            assert!(!is_inn(bad), "{bad}");
        }
    }

    #[test]
    fn kpp_format() {
        assert!(is_kpp("773601001"));
        assert!(is_kpp("7736AB001"));
        assert!(!is_kpp("7736ab001"));
        assert!(!is_kpp("77360100"));
        assert!(!is_kpp("A73601001"));
    }

    #[test]
    fn inn_and_kpp_values() {
        assert_eq!(
            Inn::parse("inn", "500100732259").unwrap().as_str(),
            "500100732259"
        );
        let err = Inn::parse("company.inn", "7707083894").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason),
            ("company.inn", Inn::REASON)
        );
        assert_eq!(
            Kpp::parse("kpp", "7736AB001").unwrap().as_str(),
            "7736AB001"
        );
        assert!(Kpp::parse("kpp", "7736ab001").is_err());
        assert!(serde_json::from_str::<Inn>(r#""7707083894""#).is_err());
        let company: Company =
            serde_json::from_str(r#"{"name": "Sber", "inn": "7707083893", "kpp": "773601001"}"#)
                .unwrap();
        assert_eq!(company.kpp.unwrap().as_str(), "773601001");
    }

    #[test]
    fn companies() {
        assert!(
            Company::parse(
                "",
                Some("Sber".into()),
                Some("7707083893".into()),
                Some("773601001".into())
            )
            .is_ok()
        );
        assert!(Company::parse("", Some("IP".into()), Some("500100732259".into()), None).is_ok());
        let fields = |r: Result<Company, Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|f| f.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(Company::parse(
                "company.",
                None,
                Some("7707083893".into()),
                None
            )),
            ["company.name", "company.kpp"]
        );
        assert_eq!(
            fields(Company::parse(
                "",
                Some("x".into()),
                Some("1234567890".into()),
                Some("bad".into())
            )),
            ["inn", "kpp"]
        );
        assert_eq!(
            fields(Company::parse(
                "",
                Some("x".into()),
                Some("500100732259".into()),
                Some("773601001".into())
            )),
            ["kpp"]
        );
    }
}
