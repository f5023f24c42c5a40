//! Taking card payments on the hosted page in test mode: the test provider
//! charges a card typed into Kopek's own form or asks for a confirmation step;
//! the hosted page records the outcome through [`crate::invoices`], as the
//! operator's payment is recorded.
//!
//! Real acquirers (YooKassa) take the card on their own page instead: see
//! [`crate::acquiring`].

mod provider;

pub use provider::{CONFIRM, DECLINE, SUCCESS, TestProvider};

use kopek_domain::ids::InvoiceId;
use kopek_domain::money::Money;

/// What the buyer typed into the card form, already checked for shape.
#[derive(Debug, Clone)]
pub struct Card {
    pub number: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
}

/// What a provider says about a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Paid; `reference` is the provider's payment id.
    Approved { reference: String },
    /// Refused; the invoice stays Pending.
    Declined { reason: String },
    /// The card needs one more step (3-D Secure); `challenge` names it.
    NeedsConfirmation { challenge: String },
}

pub trait Provider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Charges `amount` for the invoice `invoice_guid`.
    fn charge(&self, invoice_guid: &InvoiceId, card: &Card, amount: Money) -> Outcome;
    /// Completes a confirmation step; `approved` is the buyer's answer.
    fn confirm(&self, invoice_guid: &InvoiceId, challenge: &str, approved: bool) -> Outcome;
}

/// The Luhn check digit rule every card number follows.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// Reads the card form; `Err` names what is wrong, in the buyer's words.
pub fn parse_card(
    number: &str,
    expiry: &str,
    cvc: &str,
    today: (u16, u8),
    ru: bool,
) -> Result<Card, String> {
    let pick = |en: &str, r: &str| if ru { r.to_owned() } else { en.to_owned() };
    let digits: String = number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&digits.len()) || !luhn(&digits) {
        return Err(pick(
            "The card number is not valid.",
            "Неверный номер карты.",
        ));
    }
    let (month, year) = expiry
        .split_once('/')
        .and_then(|(m, y)| Some((m.trim().parse::<u8>().ok()?, y.trim().parse::<u16>().ok()?)))
        .filter(|(m, _)| (1..=12).contains(m))
        .ok_or_else(|| {
            pick(
                "Enter the expiry date as MM/YY.",
                "Укажите срок действия в виде ММ/ГГ.",
            )
        })?;
    let year = if year < 100 { 2000 + year } else { year };
    if (year, month) < today {
        return Err(pick("The card has expired.", "Срок действия карты истёк."));
    }
    if !(3..=4).contains(&cvc.len()) || !cvc.chars().all(|c| c.is_ascii_digit()) {
        return Err(pick(
            "The CVC is 3 or 4 digits.",
            "CVC — это 3 или 4 цифры.",
        ));
    }
    Ok(Card {
        number: digits,
        expiry_month: month,
        expiry_year: year,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_forms() {
        assert!(luhn("4242424242424242"));
        assert!(!luhn("4242424242424241"));
        let today = (2026, 11);
        assert!(parse_card("4242 4242 4242 4242", "12/30", "123", today, false).is_ok());
        assert!(parse_card("4242 4242 4242 4242", "11/26", "123", today, false).is_ok());
        assert_eq!(
            parse_card("4242 4242 4242 4242", "10/26", "123", today, false).unwrap_err(),
            "The card has expired."
        );
        assert!(parse_card("4242 4242 4242 4241", "12/30", "123", today, false).is_err());
        assert!(
            parse_card("4242424242424242", "13/30", "123", today, true)
                .unwrap_err()
                .contains("ММ/ГГ")
        );
        assert!(parse_card("4242424242424242", "12/30", "12", today, false).is_err());
    }
}
