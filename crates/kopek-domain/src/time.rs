//! Time as the store keeps it: unix microseconds in a BIGINT.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microseconds since the Unix epoch (serialized as that number).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        Timestamp((t.unix_timestamp_nanos() / 1_000) as i64)
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.micros().div_euclid(1_000_000)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The same wall-clock time `months` calendar months later (UTC); a day that the
    /// target month lacks becomes its last day (31 January + 1 month = 28/29 February).
    pub fn plus_months(self, months: u32) -> Timestamp {
        self.shift_months(i64::from(months))
    }

    /// The same wall-clock time `months` calendar months earlier (UTC), the day
    /// clamped to the month's last as [`plus_months`](Self::plus_months) does.
    pub fn minus_months(self, months: u32) -> Timestamp {
        self.shift_months(-i64::from(months))
    }

    fn shift_months(self, months: i64) -> Timestamp {
        let t = self.datetime();
        let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + months;
        let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
        let Ok(year) = i32::try_from(year) else {
            return self;
        };
        let Ok(month) = time::Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)) else {
            return self;
        };
        let day = t.day().min(time::util::days_in_month(month, year));
        match time::Date::from_calendar_date(year, month, day) {
            Ok(date) => Timestamp::from_datetime(t.replace_date(date)),
            Err(_) => self,
        }
    }

    pub fn date(self) -> time::Date {
        self.datetime().date()
    }

    /// The start of a day: 00:00 UTC.
    pub fn start_of(day: time::Date) -> Timestamp {
        Timestamp::from_datetime(day.midnight().assume_utc())
    }

    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    /// RFC 3339 in UTC with as many fraction digits as needed
    /// (`2026-11-22T07:18:22.123456Z`).
    pub fn rfc3339(self) -> String {
        self.datetime()
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
    }

    /// RFC 3339 with milliseconds, as .NET prints (`2024-10-23T06:47:41.929Z`).
    pub fn rfc3339_millis(self) -> String {
        let t = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// Parses RFC 3339 (any offset, any fraction).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(Timestamp::from_datetime)
    }

    /// RFC 3339 with exactly six fraction digits, as Laravel prints
    /// (`2023-05-02T10:18:50.000000Z`).
    pub fn rfc3339_micros(self) -> String {
        let t = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }
}

/// A day written `YYYY-MM-DD`, as the APIs take and give days.
pub fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// A day as Russian documents write it: `dd.mm.yyyy`.
pub fn ru_date(d: time::Date) -> String {
    format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_and_print() {
        let day = parse_day("2026-01-31").unwrap();
        assert_eq!(ru_date(day), "31.01.2026");
        assert_eq!(Timestamp::start_of(day).rfc3339(), "2026-01-31T00:00:00Z");
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("31.01.2026"), None);
    }

    #[test]
    fn formats_both_ways() {
        let t = Timestamp::from_micros(1_683_022_730_000_000);
        assert_eq!(t.rfc3339_micros(), "2023-05-02T10:18:50.000000Z");
        assert_eq!(t.rfc3339(), "2023-05-02T10:18:50Z");
        let t = Timestamp::from_micros(1_683_022_730_123_456);
        assert_eq!(t.rfc3339(), "2023-05-02T10:18:50.123456Z");
        assert_eq!(t.rfc3339_millis(), "2023-05-02T10:18:50.123Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2023-05-02T13:18:50.123456+03:00"),
            Some(t)
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
        assert_eq!(t.plus_seconds(10).micros(), 1_683_022_740_123_456);
    }

    #[test]
    fn months_are_calendar_months() {
        let at = |s: &str| Timestamp::from_datetime(OffsetDateTime::parse(s, &Rfc3339).unwrap());
        assert_eq!(
            at("2026-01-31T10:00:00Z").plus_months(1),
            at("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            at("2028-01-31T10:00:00Z").plus_months(1),
            at("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            at("2025-11-15T00:00:00Z").plus_months(12),
            at("2026-11-15T00:00:00Z")
        );
        assert_eq!(
            at("2025-12-01T00:00:00Z").plus_months(36),
            at("2028-12-01T00:00:00Z")
        );
        assert_eq!(
            at("2025-12-01T00:00:00Z").plus_months(0),
            at("2025-12-01T00:00:00Z")
        );
        assert_eq!(
            at("2026-03-31T10:00:00Z").minus_months(1),
            at("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            at("2026-01-15T00:00:00Z").minus_months(13),
            at("2024-12-15T00:00:00Z")
        );
    }
}
