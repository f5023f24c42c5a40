//! Russian company details: INN (taxpayer number) with its check digits, and KPP.

use crate::error::{FieldError, Reason};

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

/// A 10-digit INN (organizations) or a 12-digit one (individuals, sole traders),
/// with valid check digits.
pub fn is_inn(s: &str) -> bool {
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

/// `^\d{4}[0-9A-Z]{2}\d{3}$`.
pub fn is_kpp(s: &str) -> bool {
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
    pub inn: String,
    /// Organizations (10-digit INN) have one; sole traders (12-digit INN) do not.
    pub kpp: Option<String>,
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
        let inn = inn.unwrap_or_default();
        if inn.is_empty() {
            errors.push(FieldError::new(format!("{at}inn"), Reason::Required));
        } else if !is_inn(&inn) {
            errors.push(FieldError::new(
                format!("{at}inn"),
                Reason::Format {
                    en: "a valid INN of 10 or 12 digits",
                    ru: "корректным ИНН из 10 или 12 цифр",
                },
            ));
        }
        let kpp = kpp.filter(|k| !k.is_empty());
        match &kpp {
            Some(k) if !is_kpp(k) => errors.push(FieldError::new(
                format!("{at}kpp"),
                Reason::Format {
                    en: "a KPP of 9 characters: 4 digits, 2 digits or capital letters, 3 digits",
                    ru: "КПП из 9 символов: 4 цифры, 2 цифры или заглавные буквы, 3 цифры",
                },
            )),
            None if inn.len() == 10 => {
                errors.push(FieldError::new(format!("{at}kpp"), Reason::Required))
            }
            Some(_) if inn.len() == 12 => {
                errors.push(FieldError::new(format!("{at}kpp"), Reason::NotAllowed))
            }
            _ => {}
        }
        if errors.is_empty() {
            Ok(Company { name, inn, kpp })
        } else {
            Err(errors)
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
