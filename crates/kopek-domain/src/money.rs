//! Money: integer minor units of one currency. An amount never meets an amount of
//! another currency: there is no `+`, and the checked sums refuse a mismatch.

use crate::error::{FieldError, Reason};
use std::fmt;

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

/// On the wire and in stored documents, a currency is its code.
impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let code = String::deserialize(d)?;
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| {
                serde::de::Error::invalid_value(
                    serde::de::Unexpected::Str(&code),
                    &"one of RUB, KZT, USD, EUR, GBP",
                )
            })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A non-negative decimal written with a point and at most `scale` digits after
/// it (`12000.00`, `4500.5`, `3`), as a whole number of 10^-scale units, never
/// through a float: how acquirers and banks write amounts. None for anything
/// else (a comma, a sign, an exponent, more digits) or an overflow.
pub fn parse_decimal(text: &str, scale: u32) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || fraction.len() > scale as usize || !digits(whole) || !digits(fraction) {
        return None;
    }
    let padded = format!("{fraction:0<width$}", width = scale as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(10_i64.checked_pow(scale)?)?
        .checked_add(fraction)
}

/// An amount in the minor units of its currency (kopecks, tiyn, cents).
///
/// Sums are checked: a second currency or an overflow is an error, never a wrong
/// number.
///
/// ```
/// use kopek_domain::money::{Currency, Money, MoneyError};
/// let rub = Money::new(150, Currency::Rub);
/// assert_eq!(rub.checked_add(rub).unwrap().to_string(), "3.00");
/// assert_eq!(
///     rub.checked_add(Money::new(150, Currency::Kzt)),
///     Err(MoneyError::Mismatch(Currency::Rub, Currency::Kzt))
/// );
/// ```
///
/// Adding kopecks to tenge does not compile:
///
/// ```compile_fail
/// use kopek_domain::money::{Currency, Money, MoneyError};
/// let _ = Money::new(150, Currency::Rub) + Money::new(150, Currency::Kzt);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("an amount in {0} cannot be combined with one in {1}")]
    Mismatch(Currency, Currency),
    #[error("the amount does not fit in 64 bits of minor units")]
    Overflow,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    fn same(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::Mismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The amount `n` times over (a unit price times a quantity).
    pub fn times(self, n: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(n).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The VAT that this amount, VAT included, contains at a rate in basis points,
    /// rounded half away from zero.
    pub fn vat_included(self, basis_points: i64) -> Result<Money, MoneyError> {
        let vat = crate::vat::included(self.minor, basis_points).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(vat, self.currency))
    }

    /// The sum of `amounts`, all in `currency`; zero of it when there are none.
    pub fn sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }
}

/// Major units with the currency's decimals (`-12.05`), without the code.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.minor, self.currency))
    }
}

/// An amount of minor units as a decimal string in major units (`-12.05`).
fn format_minor(amount: i64, currency: Currency) -> String {
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
    #[test]
    fn decimals_are_read_exactly() {
        use super::parse_decimal;
        assert_eq!(parse_decimal("990.00", 2), Some(99_000));
        assert_eq!(parse_decimal("2.5", 2), Some(250));
        assert_eq!(parse_decimal("3", 3), Some(3_000));
        assert_eq!(parse_decimal("0.001", 3), Some(1));
        assert_eq!(parse_decimal("7", 0), Some(7));
        assert_eq!(parse_decimal("92233720368547758.07", 2), Some(i64::MAX));
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "+1",
            "1e3",
            "1,00",
            "92233720368547758.08",
        ] {
            assert_eq!(parse_decimal(bad, 2), None, "{bad}");
        }
    }

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
    fn sums_stay_in_one_currency_and_in_range() {
        let rub = |m| Money::new(m, Currency::Rub);
        assert_eq!(Money::sum(Currency::Rub, []), Ok(rub(0)));
        assert_eq!(Money::sum(Currency::Rub, [rub(1), rub(2)]), Ok(rub(3)));
        assert_eq!(
            Money::sum(Currency::Rub, [rub(1), Money::new(2, Currency::Kzt)]),
            Err(MoneyError::Mismatch(Currency::Rub, Currency::Kzt))
        );
        assert_eq!(
            Money::sum(Currency::Kzt, [rub(1)]),
            Err(MoneyError::Mismatch(Currency::Kzt, Currency::Rub))
        );
        assert_eq!(rub(i64::MAX).checked_add(rub(1)), Err(MoneyError::Overflow));
        assert_eq!(rub(i64::MIN).checked_sub(rub(1)), Err(MoneyError::Overflow));
        assert_eq!(rub(5).checked_sub(rub(7)), Ok(rub(-2)));
        assert!(rub(-2).is_negative());
        assert_eq!(rub(i64::MAX / 2 + 1).times(2), Err(MoneyError::Overflow));
        assert_eq!(rub(-3).times(3), Ok(rub(-9)));
        assert_eq!(rub(12200).vat_included(2200), Ok(rub(2200)));
        assert_eq!(rub(5).vat_included(2200), Ok(rub(1)), "0.9 rounds up");
        assert_eq!(rub(-12345).to_string(), "-123.45");
        assert_eq!(Currency::Kzt.to_string(), "KZT");
    }

    #[test]
    fn parses_known_codes_only() {
        assert_eq!(Currency::parse("currency", "RUB"), Ok(Currency::Rub));
        assert!(Currency::parse("currency", "rub").is_err());
        assert!(Currency::parse("currency", "XXX").is_err());
        assert_eq!(Currency::Kzt.exponent(), 2);
        assert_eq!(serde_json::to_string(&Currency::Gbp).unwrap(), r#""GBP""#);
        assert_eq!(
            serde_json::from_str::<Currency>(r#""KZT""#).unwrap(),
            Currency::Kzt
        );
        let err = serde_json::from_str::<Currency>(r#""DOGE""#).unwrap_err();
        assert!(err.to_string().contains("one of RUB, KZT"), "{err}");
    }
}
