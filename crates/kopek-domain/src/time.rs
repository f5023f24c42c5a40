//! Time as the store keeps it: unix microseconds in a BIGINT.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_both_ways() {
        let t = Timestamp::from_micros(1_683_022_730_000_000);
        assert_eq!(t.rfc3339_micros(), "2023-05-02T10:18:50.000000Z");
        assert_eq!(t.rfc3339(), "2023-05-02T10:18:50Z");
        let t = Timestamp::from_micros(1_683_022_730_123_456);
        assert_eq!(t.rfc3339(), "2023-05-02T10:18:50.123456Z");
        assert_eq!(t.plus_seconds(10).micros(), 1_683_022_740_123_456);
    }
}
