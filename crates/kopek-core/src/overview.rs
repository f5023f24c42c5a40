//! The console's overview: money paid per day, invoices issued and paid and
//! revenue per month, subscriptions by product. Sums are per currency, never
//! added across currencies.

use crate::Core;
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_store::stats::{self, DAY, Totals};
use std::collections::BTreeMap;
use time::{Date, Month};

/// Days the daily chart shows, today included.
pub const DAYS: i64 = 30;
/// Calendar months the monthly charts show, this one included.
pub const MONTHS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    /// Minor units paid, by currency code.
    pub paid: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthTotals {
    /// The month's first day.
    pub start: Date,
    pub issued: i64,
    pub paid: i64,
    /// Minor units paid, by currency code.
    pub revenue: BTreeMap<String, i64>,
    /// Monthly recurring revenue, by currency code: see [`overview`].
    pub recurring: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// Oldest first.
    pub days: Vec<Day>,
    /// Oldest first.
    pub months: Vec<MonthTotals>,
    /// (product, status, count).
    pub subscriptions: Vec<(String, String, i64)>,
}

fn date_of(day: i64) -> Date {
    Timestamp::from_micros(day.saturating_mul(DAY)).date()
}

/// The first day of the month `back` months before the one `date` is in.
fn month_start(date: Date, back: usize) -> Date {
    let index =
        date.year() * 12 + i32::from(u8::from(date.month())) - 1 - i32::try_from(back).unwrap_or(0);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1))
        .unwrap_or(Month::January);
    Date::from_calendar_date(index.div_euclid(12), month, 1).unwrap_or(date)
}

/// Whole months from the month starting `from` to the one starting `to`.
fn months_between(from: Date, to: Date) -> i64 {
    let index = |d: Date| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
    index(to) - index(from)
}

fn day_of(t: Timestamp) -> i64 {
    t.micros().div_euclid(DAY)
}

/// The longest period an invoice pays for, in months (the catalog's bound).
const LONGEST_PERIOD: usize = kopek_domain::catalog::MAX_PERIOD_MONTHS as usize;

/// The first day whose sums may still change (yesterday: a transaction begun
/// before midnight may commit after it); the days before are settled, and only a
/// refund changes one of them after that ([`forget_paid_day`]).
fn first_live_day(now: Timestamp) -> i64 {
    now.micros().div_euclid(DAY) - 1
}

/// Called by a refund in its transaction: the stored sums of the day the invoice
/// was paid, when that day is settled, are dropped to be summed again.
pub(crate) async fn forget_paid_day(
    conn: &mut kopek_store::Conn,
    paid_at: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    let day = paid_at.micros().div_euclid(DAY);
    if day < first_live_day(now) {
        stats::forget(conn, day).await?;
    }
    Ok(())
}

/// The overview as of `now` (UTC days and months). A month's recurring revenue
/// is what the invoices paid (and not refunded) for periods covering it bring in a
/// month: each invoice's total spread evenly over its period's months from the
/// month it was paid, the invoices of one day, period and currency summed before
/// the division, which rounds down (a kopeck short at most per such group).
///
/// Settled days are summed once and stored (the first overview after an upgrade
/// sums the last six years); the live days are summed on each request.
pub async fn overview(core: &Core, now: Timestamp) -> Result<Overview, Error> {
    let today = now.date();
    let from = day_of(Timestamp::start_of(month_start(today, MONTHS - 1)));
    let periods_from = day_of(Timestamp::start_of(month_start(
        today,
        MONTHS + LONGEST_PERIOD,
    )));
    let live = first_live_day(now);
    let mut conn = core.store.conn().await?;
    if stats::stored_days(&mut conn, periods_from, live).await? < live - periods_from {
        drop(conn);
        let mut tx = core.store.begin().await?;
        stats::store_missing(&mut tx, periods_from, live).await?;
        tx.commit().await?;
        conn = core.store.conn().await?;
    }
    let mut totals = stats::stored(&mut conn, periods_from, from, live).await?;
    totals.extend(stats::summed(&mut conn, live, i64::MAX / DAY).await?);
    let subscriptions = stats::subscriptions_by_product(&mut conn).await?;
    drop(conn);
    let Totals {
        payments: paid,
        issued: issued_days,
        paid: paid_days,
        paid_by_period: spread,
    } = totals;

    let today_index = now.micros().div_euclid(DAY);
    let mut days: Vec<Day> = (today_index - DAYS + 1..=today_index)
        .map(|d| Day {
            date: date_of(d),
            paid: BTreeMap::new(),
        })
        .collect();
    let mut months: Vec<MonthTotals> = (0..MONTHS)
        .rev()
        .map(|back| MonthTotals {
            start: month_start(today, back),
            issued: 0,
            paid: 0,
            revenue: BTreeMap::new(),
            recurring: BTreeMap::new(),
        })
        .collect();
    let month_of = |day: i64| {
        let start = month_start(date_of(day), 0);
        months.iter().position(|m| m.start == start)
    };
    let mut revenue: Vec<(usize, String, i64)> = Vec::new();
    for (day, currency, amount) in &paid {
        if let Some(slot) = days.iter_mut().find(|d| d.date == date_of(*day)) {
            *slot.paid.entry(currency.clone()).or_default() += amount;
        }
        if let Some(m) = month_of(*day) {
            revenue.push((m, currency.clone(), *amount));
        }
    }
    let issued: Vec<(usize, i64)> = issued_days
        .iter()
        .filter_map(|(day, n)| month_of(*day).map(|m| (m, *n)))
        .collect();
    let settled: Vec<(usize, i64)> = paid_days
        .iter()
        .filter_map(|(day, n)| month_of(*day).map(|m| (m, *n)))
        .collect();
    for (m, currency, amount) in revenue {
        *months[m].revenue.entry(currency).or_default() += amount;
    }
    for (m, n) in issued {
        months[m].issued += n;
    }
    for (m, n) in settled {
        months[m].paid += n;
    }
    for (day, period, currency, total) in spread {
        let paid_in = month_start(date_of(day), 0);
        let share = total / period.max(1);
        for m in months.iter_mut() {
            let since = months_between(paid_in, m.start);
            if (0..period).contains(&since) {
                *m.recurring.entry(currency.clone()).or_default() += share;
            }
        }
    }
    Ok(Overview {
        days,
        months,
        subscriptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_back_cross_years() {
        assert_eq!(month_start(date!(2026 - 12 - 06), 0), date!(2026 - 12 - 01));
        assert_eq!(
            month_start(date!(2026 - 12 - 06), 11),
            date!(2026 - 01 - 01)
        );
        assert_eq!(month_start(date!(2026 - 03 - 31), 3), date!(2025 - 12 - 01));
        assert_eq!(
            month_start(date!(2026 - 01 - 01), 12),
            date!(2025 - 01 - 01)
        );
    }

    #[test]
    fn months_between_counts_calendar_months() {
        assert_eq!(
            months_between(date!(2025 - 12 - 01), date!(2026 - 01 - 01)),
            1
        );
        assert_eq!(
            months_between(date!(2026 - 01 - 01), date!(2026 - 01 - 01)),
            0
        );
        assert_eq!(
            months_between(date!(2026 - 03 - 01), date!(2025 - 03 - 01)),
            -12
        );
    }

    #[test]
    fn day_indexes_are_utc_dates() {
        assert_eq!(date_of(0), date!(1970 - 01 - 01));
        let t = Timestamp::start_of(date!(2026 - 12 - 06));
        assert_eq!(date_of(t.micros() / DAY), date!(2026 - 12 - 06));
    }
}
