//! Subscriptions: what an organization pays for, period after period, and the
//! states it moves through.

use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// Paid up: the current period is the license.
    Active,
    /// The period ended unpaid; the license stays usable for the grace days.
    PastDue,
    /// Unpaid past the grace days.
    Expired,
    /// Ended at the buyer's or the operator's wish.
    Canceled,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 4] = [
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Expired,
        SubscriptionStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Expired => "expired",
            SubscriptionStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The period a payment for `months` at `paid_at` buys: a period still running is
/// followed on from its end (never from the payment's date), a lapsed one (or none)
/// starts at the payment.
pub fn paid_period(
    current_end: Option<Timestamp>,
    paid_at: Timestamp,
    months: u32,
) -> (Timestamp, Timestamp) {
    let start = current_end.filter(|end| *end > paid_at).unwrap_or(paid_at);
    (start, start.plus_months(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for st in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(SubscriptionStatus::parse("Active"), None);
    }

    #[test]
    fn a_period_follows_the_running_one_or_starts_at_payment() {
        let t = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let paid = t("2026-03-10T00:00:00Z");
        assert_eq!(
            paid_period(None, paid, 12),
            (paid, t("2027-03-10T00:00:00Z"))
        );
        // Paid early: the new period starts where the running one ends.
        let end = t("2026-05-01T00:00:00Z");
        assert_eq!(
            paid_period(Some(end), paid, 1),
            (end, t("2026-06-01T00:00:00Z"))
        );
        // Lapsed: from the payment.
        assert_eq!(
            paid_period(Some(t("2025-05-01T00:00:00Z")), paid, 1),
            (paid, t("2026-04-10T00:00:00Z"))
        );
        // Paid at the very instant the period ends: follows on from it.
        assert_eq!(
            paid_period(Some(paid), paid, 1),
            (paid, t("2026-04-10T00:00:00Z"))
        );
        // Month ends: 31 January plus one month is the end of February.
        assert_eq!(
            paid_period(None, t("2028-01-31T12:00:00Z"), 1).1,
            t("2028-02-29T12:00:00Z")
        );
    }
}
