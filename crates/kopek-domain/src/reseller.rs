//! A reseller: a billing account of kind reseller that brings customers.

use crate::error::{Error, FieldError, Reason, Violations};
use crate::money::Currency;

/// The longest display name we keep; long enough for any legal name.
pub const MAX_NAME_LEN: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReseller {
    pub name: String,
    pub country_code: String,
    pub currency: Currency,
}

impl NewReseller {
    /// Validates every field at once; `country_code` defaults to RU and `currency` to RUB.
    pub fn parse(
        name: Option<String>,
        country_code: Option<String>,
        currency: Option<String>,
    ) -> Result<NewReseller, Error> {
        let mut v = Violations::default();
        let name = v.check(display_name("name", name));
        let country_code = v.check(country(
            "countryCode",
            country_code.as_deref().unwrap_or("RU"),
        ));
        let currency = v.check(Currency::parse(
            "currency",
            currency.as_deref().unwrap_or("RUB"),
        ));
        v.finish()?;
        match (name, country_code, currency) {
            (Some(name), Some(country_code), Some(currency)) => Ok(NewReseller {
                name,
                country_code,
                currency,
            }),
            _ => Err(Error::internal("validated reseller lost a field")),
        }
    }
}

/// A required, trimmed, non-empty name of bounded length.
pub fn display_name(field: &str, value: Option<String>) -> Result<String, FieldError> {
    let value = value.map(|s| s.trim().to_owned()).unwrap_or_default();
    if value.is_empty() {
        Err(FieldError::new(field, Reason::Required))
    } else if value.chars().count() > MAX_NAME_LEN {
        Err(FieldError::new(
            field,
            Reason::TooLong { max: MAX_NAME_LEN },
        ))
    } else {
        Ok(value)
    }
}

/// An ISO 3166-1 alpha-2 code: two uppercase Latin letters.
pub fn country(field: &str, value: &str) -> Result<String, FieldError> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            Reason::Format {
                en: "an ISO 3166-1 alpha-2 country code such as RU",
                ru: "двухбуквенным кодом страны ISO 3166-1, например RU",
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_reports_every_field() {
        let r = NewReseller::parse(Some(" Acme ".into()), None, None).unwrap();
        assert_eq!(r.name, "Acme");
        assert_eq!(r.country_code, "RU");
        assert_eq!(r.currency, Currency::Rub);

        let Err(Error::Validation(fields)) =
            NewReseller::parse(Some("  ".into()), Some("rus".into()), Some("XYZ".into()))
        else {
            panic!("expected a validation error");
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["name", "countryCode", "currency"]);
    }
}
