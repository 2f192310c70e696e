//! The replay cache: authenticators seen within the clock-skew window.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};
use crate::proto::ReplayGuard;
use crate::time::Time;

/// A bounded, time-windowed, thread-safe set of authenticator fingerprints.
///
/// An entry lives until its authenticator's time plus the skew has passed: after that the skew
/// check rejects the authenticator anyway. When the cache is full of live entries, new
/// authenticators are refused (`KRB_ERR_GENERIC`) rather than remembered badly. Expired entries
/// are swept only when the cache is full and the earliest expiry has passed, so a full cache
/// refuses in constant time instead of scanning on every request.
pub struct ReplayCache {
    state: Mutex<State>,
    capacity: usize,
}

struct State {
    entries: HashMap<[u8; 32], Time>,
    /// No entry expires before this (a lower bound; exact after a sweep).
    earliest: Option<Time>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` live authenticators.
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache { state: Mutex::new(State { entries: HashMap::new(), earliest: None }), capacity: capacity.max(1) }
    }

    /// Records `fingerprint` valid until `expires`; `KRB_AP_ERR_REPEAT` if it is already there.
    pub fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        let mut guard = self.state.lock();
        let s = &mut *guard;
        if let Some(&exp) = s.entries.get(&fingerprint) {
            if exp >= now {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_REPEAT, "request is a replay"));
            }
        }
        if s.entries.len() >= self.capacity && !s.entries.contains_key(&fingerprint) {
            let full = || Error::new(ErrorCode::KRB_ERR_GENERIC, "replay cache is full; try again later");
            if s.earliest.is_some_and(|e| e >= now) {
                return Err(full()); // nothing can have expired yet
            }
            s.entries.retain(|_, exp| *exp >= now);
            s.earliest = s.entries.values().min().copied();
            if s.entries.len() >= self.capacity {
                return Err(full());
            }
        }
        s.entries.insert(fingerprint, expires);
        s.earliest = Some(s.earliest.map_or(expires, |e| e.min(expires)));
        Ok(())
    }

    /// Live entries (for tests and monitoring).
    pub fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayGuard for ReplayCache {
    fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        ReplayCache::check_and_insert(self, fingerprint, expires, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_replays_and_expires_entries() {
        let rc = ReplayCache::new(2);
        let now = Time::from_unix(1000);
        rc.check_and_insert([1; 32], now.plus_secs(300), now).unwrap();
        assert_eq!(
            rc.check_and_insert([1; 32], now.plus_secs(300), now).unwrap_err().code(),
            ErrorCode::KRB_AP_ERR_REPEAT
        );
        rc.check_and_insert([2; 32], now.plus_secs(300), now).unwrap();
        assert_eq!(
            rc.check_and_insert([3; 32], now.plus_secs(300), now).unwrap_err().code(),
            ErrorCode::KRB_ERR_GENERIC
        );
        let later = now.plus_secs(301);
        rc.check_and_insert([3; 32], later.plus_secs(300), later).unwrap();
        assert_eq!(rc.len(), 1);
    }

    #[test]
    fn a_full_cache_refuses_until_its_earliest_entry_expires() {
        let rc = ReplayCache::new(3);
        let t0 = Time::from_unix(1000);
        rc.check_and_insert([1; 32], t0.plus_secs(100), t0).unwrap();
        rc.check_and_insert([2; 32], t0.plus_secs(50), t0).unwrap();
        rc.check_and_insert([3; 32], t0.plus_secs(200), t0).unwrap();
        let full = ErrorCode::KRB_ERR_GENERIC;
        assert_eq!(rc.check_and_insert([4; 32], t0.plus_secs(300), t0.plus_secs(50)).unwrap_err().code(), full);
        // Past the earliest expiry: that one entry is swept, the new one fits.
        rc.check_and_insert([4; 32], t0.plus_secs(300), t0.plus_secs(51)).unwrap();
        assert_eq!(rc.len(), 3);
        // Replays are still replays when the cache is full.
        assert_eq!(
            rc.check_and_insert([1; 32], t0.plus_secs(100), t0.plus_secs(60)).unwrap_err().code(),
            ErrorCode::KRB_AP_ERR_REPEAT
        );
        assert_eq!(rc.check_and_insert([5; 32], t0.plus_secs(300), t0.plus_secs(99)).unwrap_err().code(), full);
        rc.check_and_insert([5; 32], t0.plus_secs(300), t0.plus_secs(101)).unwrap();
    }
}
