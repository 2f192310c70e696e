//! The replay cache: authenticators seen within the clock-skew window.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};
use crate::time::Time;

/// A bounded, time-windowed, thread-safe set of authenticator fingerprints.
///
/// An entry lives until its authenticator's time plus the skew has passed: after that the skew
/// check rejects the authenticator anyway. When the cache is full of live entries, new
/// authenticators are refused (`KRB_ERR_GENERIC`) rather than remembered badly.
pub struct ReplayCache {
    entries: Mutex<HashMap<[u8; 32], Time>>,
    capacity: usize,
}

impl ReplayCache {
    /// A cache holding at most `capacity` live authenticators.
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    /// Records `fingerprint` valid until `expires`; `KRB_AP_ERR_REPEAT` if it is already there.
    pub fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        let mut m = self.entries.lock();
        if let Some(&exp) = m.get(&fingerprint) {
            if exp >= now {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_REPEAT, "request is a replay"));
            }
        }
        if m.len() >= self.capacity {
            m.retain(|_, exp| *exp >= now);
            if m.len() >= self.capacity {
                return Err(Error::new(ErrorCode::KRB_ERR_GENERIC, "replay cache is full; try again later"));
            }
        }
        m.insert(fingerprint, expires);
        Ok(())
    }

    /// Live entries (for tests and monitoring).
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
}
