//! Currencies. Amounts are integer minor units of one of these.

use crate::error::{FieldError, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Rub,
    Kzt,
    Usd,
    Eur,
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 5] = [
        Currency::Rub,
        Currency::Kzt,
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Rub => "RUB",
            Currency::Kzt => "KZT",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
        }
    }

    /// The ISO 4217 exponent: how many minor units make a major one, as a power of 10.
    pub fn exponent(self) -> u32 {
        2
    }

    pub fn parse(field: &str, code: &str) -> Result<Currency, FieldError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    Reason::OneOf(Currency::ALL.iter().map(|c| c.code().to_owned()).collect()),
                )
            })
    }
}

/// An amount of minor units as a decimal string in major units (`-12.05`).
pub fn format_minor(amount: i64, currency: Currency) -> String {
    let scale = 10u64.pow(currency.exponent());
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = currency.exponent() as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minor_units() {
        assert_eq!(format_minor(0, Currency::Rub), "0.00");
        assert_eq!(format_minor(12345, Currency::Rub), "123.45");
        assert_eq!(format_minor(-5, Currency::Rub), "-0.05");
        assert_eq!(
            format_minor(i64::MIN, Currency::Rub),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn parses_known_codes_only() {
        assert_eq!(Currency::parse("currency", "RUB"), Ok(Currency::Rub));
        assert!(Currency::parse("currency", "rub").is_err());
        assert!(Currency::parse("currency", "XXX").is_err());
        assert_eq!(Currency::Kzt.exponent(), 2);
    }
}
