//! Closing documents (УПД): when they are made for a paid period, how the
//! period's amount is split between them, and the VAT each part carries.
//!
//! The rules, as the README states them:
//! - `at_payment`: one document for the whole paid period, dated the day of the
//!   payment, with the VAT rate of that day.
//! - `monthly`: one document per month of service, counted from the period's
//!   start (a period of N months has N parts; a shorter rest of a period, as an
//!   upgrade buys, has one part per month begun). Each part is `total / N`
//!   rounded down to the kopeck and the kopecks left over go to the last part, so
//!   the parts add up to the invoice exactly. A part is dated the last day of its
//!   month of service (the day the service is rendered) and carries the VAT rate
//!   of that day: a year paid in December 2025 has its December part at 20% and
//!   the eleven parts from January 2026 at 22%.
//! - A cancel now cuts the service: what was rendered is the days of service
//!   until the cancel, its day included, in proportion, rounded down.
//! - Prices include VAT, so the VAT of a part is the VAT contained in its amount
//!   at its rate, rounded half away from zero (as every VAT in Kopek).

use crate::time::Timestamp;
use crate::vat::{self, VatKind};
use time::Date;

/// When a product's closing documents are made.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// One document for the whole paid period, at payment (licenses).
    #[default]
    AtPayment,
    /// One document per month of service, at the month's end.
    Monthly,
}

impl Schedule {
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::AtPayment => "at_payment",
            Schedule::Monthly => "monthly",
        }
    }

    /// Catalogs written before closing documents existed stay as they were.
    pub fn is_default(&self) -> bool {
        *self == Schedule::AtPayment
    }

    pub fn parse(s: &str) -> Option<Schedule> {
        [Schedule::AtPayment, Schedule::Monthly]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One document's share of a paid period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// 1-based.
    pub index: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When the document is due: the payment, or the end of the month of service.
    pub due: Timestamp,
    /// The document's date: the day the service is rendered.
    pub rendered_on: Date,
}

/// The parts of the period `[start, end)` paid at `paid_at`.
pub fn parts(
    schedule: Schedule,
    start: Timestamp,
    end: Timestamp,
    paid_at: Timestamp,
) -> Vec<Part> {
    match schedule {
        Schedule::AtPayment => vec![Part {
            index: 1,
            start,
            end,
            due: paid_at,
            rendered_on: paid_at.date(),
        }],
        Schedule::Monthly => {
            let mut bounds = vec![start];
            let mut months = 1;
            loop {
                let next = start.plus_months(months);
                if next >= end || months > 1200 {
                    break;
                }
                bounds.push(next);
                months += 1;
            }
            bounds.push(end.max(start));
            bounds
                .windows(2)
                .zip(1..)
                .map(|(w, index)| Part {
                    index,
                    start: w[0],
                    end: w[1],
                    due: w[1],
                    rendered_on: last_day(w[0], w[1]),
                })
                .collect()
        }
    }
}

/// The last day of service of `[start, end)`, counted in whole days as people
/// count a month of service (1 December to 31 December, whatever the hour the
/// period began): the day before `end`'s, never before `start`'s.
pub fn last_day(start: Timestamp, end: Timestamp) -> Date {
    end.date()
        .previous_day()
        .unwrap_or(end.date())
        .max(start.date())
}

/// Part `index` (1-based) of `count` equal parts of `total` minor units: each is
/// `total / count` rounded towards zero and the last takes what is left.
pub fn share(total: i64, index: i64, count: i64) -> i64 {
    let count = count.max(1);
    let each = total / count;
    if index >= count {
        total - each * (count - 1)
    } else {
        each
    }
}

/// Where the service of `[start, end)` ends when it is cut at `cut` (a cancel
/// now): at the end of the cut's day, which is rendered whole, and never
/// outside `[start, end]`.
pub fn cut_end(start: Timestamp, end: Timestamp, cut: Timestamp) -> Timestamp {
    if cut < start {
        return start;
    }
    cut.date()
        .next_day()
        .map_or(end, Timestamp::start_of)
        .min(end)
}

/// What of `amount`, for the service of `[start, end)`, was rendered when the
/// service was cut at `cut`: in proportion to the days of service until
/// [`cut_end`] (the day of the cut counted), rounded down to the kopeck (what is
/// left is the buyer's, as an advance).
pub fn rendered(amount: i64, start: Timestamp, end: Timestamp, cut: Timestamp) -> i64 {
    let until = cut_end(start, end, cut);
    if until >= end {
        return amount;
    }
    if until <= start {
        return 0;
    }
    let days = |to: Timestamp| (last_day(start, to) - start.date()).whole_days() + 1;
    let part = i128::from(amount) * i128::from(days(until)) / i128::from(days(end));
    i64::try_from(part).unwrap_or(amount)
}

/// The VAT contained in `gross` at `kind`'s rate on `on`, with that rate in basis
/// points; a seller who does not pay VAT charges none.
pub fn vat_of(gross: i64, kind: VatKind, on: Date, seller_pays_vat: bool) -> (i64, i64) {
    if !seller_pays_vat {
        return (0, 0);
    }
    let rate = vat::rate_basis_points(kind, on);
    (vat::included(gross, rate).unwrap_or(0), rate)
}

/// An EDO participant id as operators issue them (`2BM-…`, `2AE…`): 4 to 46
/// ASCII letters, digits and dashes.
pub fn is_edo_id(s: &str) -> bool {
    (4..=46).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The XML's file id, which is also its file name (without `.xml`):
/// `ON_NSCHFDOPPR_<recipient>_<sender>_<yyyymmdd>_<guid>_0_0_0_0_0_00`, the
/// recipient and the sender named by their EDO participant ids (`0` for one not
/// set: such a file cannot go through an operator until it is).
pub fn file_id(seller: &Party, buyer: &Party, on: Date, guid: &str) -> String {
    let id = |p: &Party| p.edo_id.clone().unwrap_or_else(|| "0".to_owned());
    format!(
        "ON_NSCHFDOPPR_{}_{}_{}{:02}{:02}_{guid}_0_0_0_0_0_00",
        id(buyer),
        id(seller),
        on.year(),
        u8::from(on.month()),
        on.day(),
    )
}

/// A party to a closing document, as it was when the document was made.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Party {
    pub name: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub address: Option<String>,
    /// The participant id at its EDO operator (ИдУчастника); without it a
    /// document cannot go through an operator.
    pub edo_id: Option<String>,
    /// The seller's signer, as the document prints them: "Фамилия Имя Отчество".
    pub signer_name: Option<String>,
    pub signer_position: Option<String>,
    /// The seller's: whether it charges VAT.
    #[serde(default)]
    pub vat_payer: bool,
}

impl Party {
    /// Whether it has its name and INN: a document is of no use without them.
    pub fn is_named(&self) -> bool {
        !self.name.trim().is_empty() && !self.inn.trim().is_empty()
    }
}

/// One line of a closing document, in minor units with VAT. A correction keeps
/// the amounts before it beside those after.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub name: String,
    pub quantity: i64,
    pub amount: i64,
    pub vat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
}

/// A corrected line's amount and VAT before the correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Before {
    pub amount: i64,
    pub vat: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn a_cut_keeps_the_days_rendered_rounded_down() {
        let (start, end) = (at("2025-12-01T09:00:00Z"), at("2026-12-01T09:00:00Z"));
        // 365 days from 1 December 2025; cut on the 10th day.
        assert_eq!(
            rendered(36_500, start, end, at("2025-12-10T15:00:00Z")),
            10_00
        );
        assert_eq!(rendered(100, start, end, at("2025-12-01T09:00:00Z")), 0);
        // December's 31 days and the 1st of January.
        assert_eq!(
            rendered(99_000, start, end, at("2026-01-01T00:00:00Z")),
            8_679
        );
        // Before the start nothing, from the end everything, and the last day
        // of service counts whole.
        assert_eq!(rendered(99_000, start, end, at("2025-11-30T00:00:00Z")), 0);
        assert_eq!(rendered(99_000, start, end, end), 99_000);
        assert_eq!(
            rendered(99_000, start, end, at("2026-11-30T23:00:00Z")),
            99_000
        );
        // The service ends with the cut's day, and the days it states are the
        // days it charges.
        let cut = at("2026-01-15T12:00:00Z");
        let until = cut_end(start, end, cut);
        assert_eq!(until, at("2026-01-16T00:00:00Z"));
        assert_eq!(last_day(start, until).to_string(), "2026-01-15");
        assert_eq!(rendered(36_500, start, end, cut), 46_00);
        assert_eq!(cut_end(start, end, at("2025-11-30T10:00:00Z")), start);
        assert_eq!(
            cut_end(start, end, at("2026-11-30T23:00:00Z")),
            at("2026-12-01T00:00:00Z")
        );
        assert_eq!(cut_end(start, end, at("2026-12-01T08:00:00Z")), end);
    }

    #[test]
    fn a_year_paid_in_december_crosses_the_rate_change() {
        let parts = parts(
            Schedule::Monthly,
            at("2025-12-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            at("2025-12-01T00:00:00Z"),
        );
        assert_eq!(parts.len(), 12);
        assert_eq!(parts[0].rendered_on.to_string(), "2025-12-31");
        assert_eq!(parts[1].rendered_on.to_string(), "2026-01-31");
        assert_eq!(parts[11].end, at("2026-12-01T00:00:00Z"));
        assert_eq!(parts[11].index, 12);
        let rate = |p: &Part| vat_of(100, VatKind::Standard, p.rendered_on, true).1;
        assert_eq!(rate(&parts[0]), 2000);
        assert_eq!(rate(&parts[1]), 2200);
        assert_eq!(
            vat_of(12_200, VatKind::Standard, parts[1].rendered_on, false),
            (0, 0)
        );
    }

    #[test]
    fn a_rest_of_a_period_has_a_part_per_month_begun_and_at_payment_one() {
        let monthly = parts(
            Schedule::Monthly,
            at("2026-03-15T10:00:00Z"),
            at("2026-05-01T00:00:00Z"),
            at("2026-03-15T10:00:00Z"),
        );
        assert_eq!(monthly.len(), 2);
        assert_eq!(monthly[1].start, at("2026-04-15T10:00:00Z"));
        assert_eq!(monthly[1].rendered_on.to_string(), "2026-04-30");
        let once = parts(
            Schedule::AtPayment,
            at("2026-03-15T10:00:00Z"),
            at("2027-03-15T10:00:00Z"),
            at("2026-03-14T09:00:00Z"),
        );
        assert_eq!(once.len(), 1);
        assert_eq!(once[0].due, at("2026-03-14T09:00:00Z"));
        assert_eq!(once[0].rendered_on.to_string(), "2026-03-14");
    }

    #[test]
    fn shares_add_up_and_the_last_takes_the_kopecks_left() {
        let shares: Vec<i64> = (1..=12).map(|i| share(100_001, i, 12)).collect();
        assert_eq!(shares[0], 8_333);
        assert_eq!(shares[11], 100_001 - 8_333 * 11);
        assert_eq!(shares.iter().sum::<i64>(), 100_001);
        assert_eq!(share(5, 1, 1), 5);
        assert_eq!(
            (1..=3).map(|i| share(2, i, 3)).collect::<Vec<_>>(),
            [0, 0, 2]
        );
        assert_eq!(Schedule::parse("monthly"), Some(Schedule::Monthly));
        assert_eq!(Schedule::parse("yearly"), None);
    }
}
