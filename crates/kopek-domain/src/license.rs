//! Licenses: paying for a period extends the organization's license for the product.

use crate::time::Timestamp;

/// When a license runs out after paying for `months` at `paid_at`: a license still
/// running is extended from its end, a lapsed one (or none) from the payment.
pub fn extended_expiry(current: Option<Timestamp>, paid_at: Timestamp, months: u32) -> Timestamp {
    let from = current.filter(|end| *end > paid_at).unwrap_or(paid_at);
    from.plus_months(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_from_the_later_of_end_and_payment() {
        let t = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let paid = t("2026-03-10T00:00:00Z");
        assert_eq!(extended_expiry(None, paid, 12), t("2027-03-10T00:00:00Z"));
        assert_eq!(
            extended_expiry(Some(t("2026-05-01T00:00:00Z")), paid, 1),
            t("2026-06-01T00:00:00Z")
        );
        assert_eq!(
            extended_expiry(Some(t("2025-05-01T00:00:00Z")), paid, 1),
            t("2026-04-10T00:00:00Z")
        );
    }
}
