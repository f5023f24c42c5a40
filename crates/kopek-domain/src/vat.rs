//! Russian VAT, by date, and the rounding every amount goes through.

use time::{Date, Month};

/// Which VAT a price carries.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum VatKind {
    /// The general rate: 20% through 2025-12-31, 22% from 2026-01-01.
    #[default]
    Standard,
    /// The reduced rate, 10%.
    Reduced,
    /// No VAT (exempt, e.g. software in the Russian register).
    Exempt,
}

/// A rate in basis points (2200 is 22%).
pub fn rate_basis_points(kind: VatKind, on: Date) -> i64 {
    // The 22% general rate applies from 1 January 2026.
    let rise = Date::from_calendar_date(2026, Month::January, 1).expect("a valid date");
    match kind {
        VatKind::Standard if on < rise => 2000,
        VatKind::Standard => 2200,
        VatKind::Reduced => 1000,
        VatKind::Exempt => 0,
    }
}

/// The kind of VAT a rate (in basis points) was charged at: 0 none, 10% the
/// reduced rate, any other the general one.
pub fn kind_of(basis_points: i64) -> VatKind {
    match basis_points {
        0 => VatKind::Exempt,
        1000 => VatKind::Reduced,
        _ => VatKind::Standard,
    }
}

/// `numerator / denominator` rounded half away from zero; None when the
/// denominator is zero or the result does not fit.
pub fn div_round(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator == 0 {
        return None;
    }
    let q = numerator / denominator;
    let r = numerator % denominator;
    let away = if 2 * r.abs() >= denominator.abs() {
        if (numerator < 0) != (denominator < 0) {
            -1
        } else {
            1
        }
    } else {
        0
    };
    i64::try_from(q + away).ok()
}

/// The VAT contained in a price that includes it, in minor units.
pub fn included(gross: i64, basis_points: i64) -> Option<i64> {
    div_round(
        i128::from(gross) * i128::from(basis_points),
        10_000 + i128::from(basis_points),
    )
}

/// A rate as people write it: `22%`, `10%`, `0%`.
pub fn percent(basis_points: i64) -> String {
    if basis_points % 100 == 0 {
        format!("{}%", basis_points / 100)
    } else {
        format!("{}.{:02}%", basis_points / 100, basis_points % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_rate_rises_on_new_year_2026() {
        assert_eq!(
            rate_basis_points(VatKind::Standard, date!(2025 - 12 - 31)),
            2000
        );
        assert_eq!(
            rate_basis_points(VatKind::Standard, date!(2026 - 01 - 01)),
            2200
        );
        assert_eq!(
            rate_basis_points(VatKind::Reduced, date!(2026 - 06 - 01)),
            1000
        );
        assert_eq!(rate_basis_points(VatKind::Exempt, date!(2026 - 06 - 01)), 0);
        assert_eq!(percent(2200), "22%");
        assert_eq!(percent(1050), "10.50%");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(div_round(5, 2), Some(3));
        assert_eq!(div_round(-5, 2), Some(-3));
        assert_eq!(div_round(4, 3), Some(1));
        assert_eq!(div_round(5, 3), Some(2));
        assert_eq!(div_round(1, 0), None);
        // 20% VAT in 3 kopecks is half a kopeck: it rounds up to 1.
        assert_eq!(included(3, 2000), Some(1));
        assert_eq!(included(2, 2000), Some(0));
        assert_eq!(included(-3, 2000), Some(-1));
        assert_eq!(included(12_200, 2200), Some(2_200));
        assert_eq!(included(11_000, 1000), Some(1_000));
        assert_eq!(included(i64::MAX, 2200).map(|v| v > 0), Some(true));
    }
}
