//! Time: the [`Time`] value used throughout, and the [`Clock`] that protocol code takes `now` from.
//!
//! Protocol code never reads the system clock itself; it is handed a `Clock` (the
//! [`SystemClock`] in production, a [`FixedClock`] in tests), so expiry, skew and renewal can be
//! tested without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, UTC, with microsecond precision (Kerberos carries seconds + microseconds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    micros: i64,
}

impl Time {
    /// The Unix epoch.
    pub const EPOCH: Time = Time { micros: 0 };

    /// From whole seconds since the Unix epoch.
    pub const fn from_unix(secs: i64) -> Time {
        Time { micros: secs.saturating_mul(1_000_000) }
    }

    /// From seconds and microseconds (0..1_000_000) since the Unix epoch.
    pub const fn from_unix_parts(secs: i64, usec: u32) -> Time {
        Time { micros: secs.saturating_mul(1_000_000).saturating_add(usec as i64) }
    }

    /// From microseconds since the Unix epoch.
    pub const fn from_unix_micros(micros: i64) -> Time {
        Time { micros }
    }

    /// The current system time.
    pub fn now() -> Time {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Time { micros: d.as_micros().min(i64::MAX as u128) as i64 }
    }

    /// Whole seconds since the epoch (floor).
    pub const fn unix(self) -> i64 {
        self.micros.div_euclid(1_000_000)
    }

    /// The microseconds within the second (0..1_000_000).
    pub const fn subsec_micros(self) -> u32 {
        self.micros.rem_euclid(1_000_000) as u32
    }

    /// Microseconds since the epoch.
    pub const fn unix_micros(self) -> i64 {
        self.micros
    }

    /// This time truncated to whole seconds (what a KerberosTime can carry).
    pub const fn whole_seconds(self) -> Time {
        Time::from_unix(self.unix())
    }

    /// `self + secs` seconds, saturating.
    pub const fn plus_secs(self, secs: i64) -> Time {
        Time { micros: self.micros.saturating_add(secs.saturating_mul(1_000_000)) }
    }

    /// `self - secs` seconds, saturating.
    pub const fn minus_secs(self, secs: i64) -> Time {
        Time { micros: self.micros.saturating_sub(secs.saturating_mul(1_000_000)) }
    }

    /// Signed difference `self - other` in whole seconds (truncated toward zero, saturating).
    pub const fn secs_since(self, other: Time) -> i64 {
        self.micros.saturating_sub(other.micros) / 1_000_000
    }

    /// Absolute difference in microseconds.
    pub const fn abs_diff_micros(self, other: Time) -> u64 {
        self.micros.abs_diff(other.micros)
    }

    /// Whether `self` and `other` are at most `secs` seconds apart: the clock-skew check. A
    /// negative `secs` (a misconfigured skew) counts as 0, never as "any difference".
    pub const fn within_secs(self, other: Time, secs: i64) -> bool {
        let allowed = if secs < 0 { 0 } else { secs as u64 };
        self.abs_diff_micros(other) <= allowed.saturating_mul(1_000_000)
    }

    /// As a `SystemTime` (times before the epoch clamp to it).
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.micros.max(0) as u64)
    }

    /// `YYYY-MM-DD HH:MM:SS` UTC, for people.
    pub fn to_utc_string(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }

    /// The civil (proleptic Gregorian) UTC fields: year, month, day, hour, minute, second.
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let secs = self.unix();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        (y, m, d, (rem / 3600) as u32, ((rem % 3600) / 60) as u32, (rem % 60) as u32)
    }

    /// From civil UTC fields; `None` when a field is out of range.
    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Time> {
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let y2 = if mo <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2.rem_euclid(400);
        let mp = if mo > 2 { mo - 3 } else { mo + 9 } as i64;
        let doy = (153 * mp + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(Time::from_unix(days * 86_400 + h as i64 * 3600 + mi as i64 * 60 + s.min(59) as i64))
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}Z", self.to_utc_string(), self.subsec_micros())
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_utc_string())
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Time;

    /// True for the system clock. Acceptors on the system clock share one replay cache per
    /// service in a process; acceptors on another clock share theirs only with acceptors on the
    /// same clock object (a test's fixed clock is its own time line).
    fn is_system_clock(&self) -> bool {
        false
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        Time::now()
    }

    fn is_system_clock(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to: for tests and the demo's "8 hours later".
#[derive(Debug)]
pub struct FixedClock {
    micros: AtomicI64,
}

impl FixedClock {
    /// A clock standing at `t`.
    pub fn new(t: Time) -> FixedClock {
        FixedClock { micros: AtomicI64::new(t.unix_micros()) }
    }

    /// Sets the time.
    pub fn set(&self, t: Time) {
        self.micros.store(t.unix_micros(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` seconds (backward when negative).
    pub fn advance(&self, secs: i64) {
        self.micros.fetch_add(secs.saturating_mul(1_000_000), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Time {
        Time::from_unix_micros(self.micros.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Time {
        (**self).now()
    }

    fn is_system_clock(&self) -> bool {
        (**self).is_system_clock()
    }
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01 (Howard
/// Hinnant's days-from-civil inverse). [`Time::civil`] and the DER time encoder share it.
#[inline]
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        let t = Time::from_civil(2026, 11, 25, 13, 31, 49).unwrap();
        assert_eq!(t.to_utc_string(), "2026-11-25 13:31:49");
        assert_eq!(Time::from_civil(1970, 1, 1, 0, 0, 0), Some(Time::EPOCH));
        for secs in [0i64, 951_782_400, 4_102_444_800, 1_700_000_000] {
            let t = Time::from_unix(secs);
            let (y, mo, d, h, mi, s) = t.civil();
            assert_eq!(Time::from_civil(y, mo, d, h, mi, s), Some(t));
        }
    }

    #[test]
    fn skew_window_and_extremes() {
        let t = Time::from_unix(1000);
        assert!(t.within_secs(t.plus_secs(300), 300));
        assert!(!t.within_secs(t.plus_secs(301), 300));
        assert!(!t.within_secs(t.minus_secs(1), -5), "a negative skew allows nothing, not everything");
        assert!(t.within_secs(t, -5));
        assert!(t.within_secs(Time::from_unix(i64::MAX), i64::MAX));
        // No overflow at the ends of the range.
        assert_eq!(Time::from_unix_micros(i64::MAX).secs_since(Time::from_unix_micros(i64::MIN)), i64::MAX / 1_000_000);
        assert_eq!(Time::from_unix_micros(i64::MIN).secs_since(Time::from_unix_micros(i64::MAX)), i64::MIN / 1_000_000);
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(Time::from_unix(1000));
        assert_eq!(c.now().unix(), 1000);
        c.advance(8 * 3600);
        assert_eq!(c.now().unix(), 1000 + 8 * 3600);
    }
}
