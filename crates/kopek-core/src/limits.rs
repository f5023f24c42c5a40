//! How often one caller may act: a fixed one-minute window per key (an address, an
//! API key id), kept in this process.

use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// Requests per minute per key (an address, an API key id), counted in fixed
/// one-minute windows in this process. 0 means no limit.
pub struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

/// Keys are dropped once this many are held and their minute has passed.
const MAX_KEYS: usize = 10_000;

impl RateLimit {
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// Counts one request for `key`; refused, with the seconds until the next
    /// minute, once `per_minute` were counted in this one.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), Error> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let seconds = now.micros().div_euclid(1_000_000);
        let minute = seconds.div_euclid(60);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let (at, count) = windows.entry(key.to_owned()).or_insert((minute, 0));
        if *at != minute {
            *at = minute;
            *count = 0;
        }
        if *count >= self.per_minute {
            let retry_after = u64::try_from((minute + 1) * 60 - seconds).unwrap_or(1);
            return Err(Error::TooManyRequests { retry_after });
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_requests_per_minute_then_waits_for_the_next_minute() {
        let limit = RateLimit::new(3);
        let start =
            Timestamp::from_micros(1_700_000_000_000_000 - 1_700_000_000_000_000 % 60_000_000);
        for _ in 0..3 {
            assert!(limit.check("a", start.plus_seconds(10)).is_ok());
        }
        assert!(matches!(
            limit.check("a", start.plus_seconds(15)),
            Err(Error::TooManyRequests { retry_after: 45 })
        ));
        assert!(
            limit.check("b", start.plus_seconds(15)).is_ok(),
            "keys are apart"
        );
        assert!(
            limit.check("a", start.plus_seconds(60)).is_ok(),
            "a new minute"
        );
        let off = RateLimit::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", start).is_ok());
        }
    }
}
