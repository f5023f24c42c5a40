//! Subscriptions: what an organization pays for, period after period, and the
//! states it moves through.

use crate::money::Money;
use crate::time::Timestamp;
use crate::vat::div_round;

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

/// The days of a period an upgrade on `on` is billed for, and the period's days:
/// UTC calendar days from the day of the change, which counts whole, to the day
/// the period ends, over the days from its first day to that one. A change on the
/// first day bills every day, one on the last day (or in the hours of the end's
/// own day) bills one. None outside the period.
pub fn days_left(start: Timestamp, end: Timestamp, on: Timestamp) -> Option<(i64, i64)> {
    if on < start || on >= end {
        return None;
    }
    let total = (end.date() - start.date()).whole_days().max(1);
    let left = (end.date() - on.date()).whole_days().clamp(1, total);
    Some((left, total))
}

/// The part of `difference` (between two period prices) that `left` of `total`
/// days come to: `difference × left / total`, rounded half away from zero to the
/// minor unit, in exact integer arithmetic.
pub fn prorate(difference: Money, (left, total): (i64, i64)) -> Option<Money> {
    let minor = div_round(
        i128::from(difference.minor()) * i128::from(left),
        i128::from(total),
    )?;
    Some(Money::new(minor, difference.currency()))
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

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn an_upgrade_bills_the_days_from_its_own_to_the_end() {
        let start = t("2026-03-10T09:00:00Z");
        let end = t("2026-04-10T09:00:00Z");
        // The first day counts whole: all 31 days.
        assert_eq!(days_left(start, end, start), Some((31, 31)));
        assert_eq!(
            days_left(start, end, t("2026-03-10T23:59:59Z")),
            Some((31, 31))
        );
        assert_eq!(
            days_left(start, end, t("2026-03-11T00:00:00Z")),
            Some((30, 31))
        );
        // The last full day, and the hours of the end's own day, bill one day.
        assert_eq!(
            days_left(start, end, t("2026-04-09T12:00:00Z")),
            Some((1, 31))
        );
        assert_eq!(
            days_left(start, end, t("2026-04-10T08:59:59Z")),
            Some((1, 31))
        );
        // Outside the period there is nothing to bill.
        assert_eq!(days_left(start, end, end), None);
        assert_eq!(days_left(start, end, t("2026-03-10T08:59:59Z")), None);
    }

    #[test]
    fn leap_years_have_their_366_days() {
        let start = t("2028-01-01T00:00:00Z");
        let end = start.plus_months(12);
        assert_eq!(days_left(start, end, start), Some((366, 366)));
        assert_eq!(
            days_left(start, end, t("2028-02-29T10:00:00Z")),
            Some((307, 366))
        );
        let start = t("2027-01-01T00:00:00Z");
        assert_eq!(
            days_left(start, start.plus_months(12), start),
            Some((365, 365))
        );
    }

    #[test]
    fn prorating_rounds_half_away_from_zero_to_the_kopeck() {
        let rub = |minor| Money::new(minor, crate::money::Currency::Rub);
        assert_eq!(prorate(rub(100_000), (31, 31)), Some(rub(100_000)));
        assert_eq!(prorate(rub(100_000), (1, 31)), Some(rub(3_226))); // 3225.806…
        assert_eq!(prorate(rub(1), (1, 2)), Some(rub(1))); // 0.5 rounds up
        assert_eq!(prorate(rub(1), (1, 3)), Some(rub(0)));
        assert_eq!(prorate(rub(-1), (1, 2)), Some(rub(-1)));
        assert_eq!(prorate(rub(3), (1, 6)), Some(rub(1))); // 0.5 again
        // The largest amount times the longest period does not overflow.
        assert_eq!(
            prorate(rub(i64::MAX), (1826, 1827)).map(|m| m.minor()),
            Some(((i128::from(i64::MAX) * 1826 + 913) / 1827) as i64)
        );
    }
}
