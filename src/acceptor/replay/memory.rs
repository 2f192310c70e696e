//! The in-memory replay cache: authenticators seen within the clock-skew window, in time-bucketed
//! generations.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};
use crate::proto::ReplayGuard;
use crate::time::Time;

/// The default memory ceiling of a replay cache: 1 GiB (see [`ReplayCache`] for what it holds).
pub const DEFAULT_REPLAY_MAX_BYTES: usize = 1 << 30;

/// The bytes of one remembered authenticator: the first 128 bits of its SHA-256 fingerprint.
type Tag = u128;

/// Hash-table control bytes per slot (hashbrown, std's `HashSet`): one.
const CTRL_BYTES: usize = 1;
/// The trailing control group of a hashbrown table.
const GROUP_WIDTH: usize = 16;

/// How often the "replay cache is full" condition is logged at most.
const FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// A time-windowed, thread-safe set of authenticator fingerprints whose memory follows the load up
/// to a ceiling.
///
/// **What is kept, for how long.** An authenticator can be accepted only while its time is within
/// the clock skew of now, so it is remembered until its time plus the skew (the `expires` the
/// AP-REQ verification passes in) and no longer. Entries are filed in *generations*: one hash set
/// per span of `generation_secs` seconds of expiry time (a quarter of the skew for an acceptor).
/// Each call first drops the generations whose whole span has passed — dropping a set is one
/// deallocation, so expiry costs O(1) amortised and nothing is ever scanned entry by entry — then
/// looks the fingerprint up in the live generations (about nine for the skew's window) and files
/// it in the generation of its expiry. An entry may so outlive its expiry by up to one generation
/// span; it never leaves earlier.
///
/// **Memory.** An entry is the first 128 bits of the authenticator's SHA-256 fingerprint (a
/// collision among even 10⁸ live entries has probability below 2⁻⁷⁰) in a hash set: 16 bytes
/// plus one control byte per slot, at a load between 7/16 and 7/8 — **19.4 to 38.9 bytes per entry,
/// about 29 on average** (computed from the table layout; `benches/replay.rs` measures it with a
/// counting allocator). The cache accounts for the bytes its tables really hold and grows freely
/// up to `max_bytes` (default [`DEFAULT_REPLAY_MAX_BYTES`], 1 GiB: 27 to 55 million entries, i.e.
/// at least 72,000 AP-REQs/s sustained with a 300 s skew, whose entries live about 375 s).
///
/// **At the ceiling** — when keeping one more entry would take the tables past `max_bytes`, or
/// past `max_entries` live entries — the request is refused with
/// [`ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL`] and the condition is logged (`log::error!`, at most
/// once a minute): a request is never accepted without being remembered. Replays are still
/// recognised as replays (`KRB_AP_ERR_REPEAT`) when the cache is full.
pub struct ReplayCache {
    state: Mutex<State>,
    generation_secs: i64,
    max_bytes: usize,
    max_entries: usize,
}

struct State {
    /// Ascending by `bucket`.
    generations: VecDeque<Generation>,
    entries: usize,
    bytes: usize,
    hasher: RandomState,
    last_full_log: Option<Instant>,
}

struct Generation {
    /// Entries expiring in `[bucket * generation_secs, (bucket + 1) * generation_secs)`.
    bucket: i64,
    set: HashSet<Tag, RandomState>,
}

/// The heap bytes of a hash set of `capacity` (std's hashbrown layout: a power-of-two number of
/// slots, 7/8 of them usable from 8 slots on, each slot a tag and a control byte, plus one
/// trailing control group).
fn table_bytes(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let slots = if capacity < 7 { (capacity + 1).next_power_of_two() } else { (capacity * 8 / 7).next_power_of_two() };
    slots * (std::mem::size_of::<Tag>() + CTRL_BYTES) + GROUP_WIDTH
}

/// The capacity of a full set of `capacity` after its next growth (the slots double).
fn grown_capacity(capacity: usize) -> usize {
    match capacity {
        0 => 3,
        c if c < 7 => (c + 1) * 2 - 1,
        c => c * 2,
    }
}

impl State {
    /// Drops the whole generations whose span has passed at `now_s`.
    fn expire(&mut self, now_s: i64, span: i64) {
        while self.generations.front().is_some_and(|g| g.bucket.saturating_add(1).saturating_mul(span) <= now_s) {
            if let Some(g) = self.generations.pop_front() {
                self.entries -= g.set.len();
                self.bytes -= table_bytes(g.set.capacity());
            }
        }
    }
}

impl ReplayCache {
    /// A cache of at most `capacity` live authenticators (and the default memory ceiling), in
    /// generations of 75 s (a quarter of the default 300 s skew).
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache::with_limits(75, DEFAULT_REPLAY_MAX_BYTES, capacity)
    }

    /// A cache whose generations span `generation_secs` seconds of expiry time (at least 1), that
    /// keeps at most `max_bytes` of tables and `max_entries` live entries.
    pub fn with_limits(generation_secs: i64, max_bytes: usize, max_entries: usize) -> ReplayCache {
        ReplayCache {
            state: Mutex::new(State {
                generations: VecDeque::new(),
                entries: 0,
                bytes: 0,
                hasher: RandomState::new(),
                last_full_log: None,
            }),
            generation_secs: generation_secs.max(1),
            max_bytes,
            max_entries: max_entries.max(1),
        }
    }

    /// The generation span for an acceptor with `clock_skew` seconds of skew: a quarter of it.
    pub(crate) fn generation_for_skew(clock_skew: i64) -> i64 {
        (clock_skew.max(0) / 4).max(1)
    }

    /// Records `fingerprint` valid until `expires`; `KRB_AP_ERR_REPEAT` if it is already there,
    /// [`ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL`] when it cannot be kept.
    pub fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&fingerprint[..16]);
        let tag = Tag::from_be_bytes(tag);
        let span = self.generation_secs;
        let mut guard = self.state.lock();
        let s = &mut *guard;

        let now_s = now.unix();
        s.expire(now_s, span);
        if s.generations.iter().any(|g| g.set.contains(&tag)) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_REPEAT, "request is a replay"));
        }
        let bucket = expires.unix().div_euclid(span);
        if bucket.saturating_add(1).saturating_mul(span) <= now_s {
            return Ok(()); // already out of the window: nothing to remember
        }
        if s.entries >= self.max_entries {
            return Err(self.full(s, format!("{} live entries (the configured maximum)", s.entries)));
        }
        let at = match s.generations.binary_search_by_key(&bucket, |g| g.bucket) {
            Ok(i) => i,
            Err(i) => {
                s.generations.insert(i, Generation { bucket, set: HashSet::with_hasher(s.hasher.clone()) });
                i
            }
        };
        let capacity = s.generations[at].set.capacity();
        if s.generations[at].set.len() == capacity {
            let growth = table_bytes(grown_capacity(capacity)) - table_bytes(capacity);
            if s.bytes + growth > self.max_bytes {
                if s.generations[at].set.is_empty() {
                    s.generations.remove(at);
                }
                let bytes = s.bytes;
                return Err(self.full(s, format!("{bytes} bytes in use, {growth} more needed")));
            }
        }
        let set = &mut s.generations[at].set;
        set.insert(tag);
        let grown = set.capacity();
        s.bytes = s.bytes - table_bytes(capacity) + table_bytes(grown);
        s.entries += 1;
        Ok(())
    }

    /// The ceiling error, logged at most once per [`FULL_LOG_INTERVAL`].
    fn full(&self, s: &mut State, why: String) -> Error {
        let message = format!("replay cache is full: {why}; ceiling {} bytes", self.max_bytes);
        if s.last_full_log.is_none_or(|t| t.elapsed() >= FULL_LOG_INTERVAL) {
            s.last_full_log = Some(Instant::now());
            log::error!("ktix acceptor: {message}; AP-REQs are refused until entries expire");
        }
        Error::new(ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL, message)
    }

    /// Drops the generations that have passed at `now`; returns the entries left.
    pub(crate) fn expire(&self, now: Time) -> usize {
        let mut s = self.state.lock();
        s.expire(now.unix(), self.generation_secs);
        s.entries
    }

    /// Entries in the live generations (for tests and monitoring); may include entries up to one
    /// generation span past their expiry.
    pub fn len(&self) -> usize {
        self.state.lock().entries
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The heap bytes the cache's tables hold now (the figure the ceiling applies to).
    pub fn memory_bytes(&self) -> usize {
        self.state.lock().bytes
    }

    /// The memory ceiling, bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl ReplayGuard for ReplayCache {
    fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        ReplayCache::check_and_insert(self, fingerprint, expires, now)
    }
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayCache")
            .field("entries", &self.len())
            .field("memory_bytes", &self.memory_bytes())
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(i: u64) -> [u8; 32] {
        let mut f = [0u8; 32];
        f[..8].copy_from_slice(&i.to_be_bytes());
        f[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        f
    }

    #[test]
    fn detects_replays_and_expires_whole_generations() {
        let rc = ReplayCache::with_limits(10, DEFAULT_REPLAY_MAX_BYTES, usize::MAX);
        let t0 = Time::from_unix(1000);
        rc.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap();
        assert_eq!(rc.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
        rc.check_and_insert(fp(2), t0.plus_secs(305), t0).unwrap();
        assert_eq!(rc.len(), 2);
        // Until the generation's span [1300, 1310) has passed, both stay.
        let t = t0.plus_secs(309);
        assert_eq!(rc.check_and_insert(fp(1), t.plus_secs(300), t).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
        let t = t0.plus_secs(310);
        rc.check_and_insert(fp(3), t.plus_secs(300), t).unwrap();
        assert_eq!(rc.len(), 1);
        // Already out of the window: not kept.
        rc.check_and_insert(fp(4), t0, t).unwrap();
        assert_eq!(rc.len(), 1);
    }

    #[test]
    fn the_entry_ceiling_refuses_with_its_own_code_and_replays_stay_replays() {
        let rc = ReplayCache::with_limits(10, DEFAULT_REPLAY_MAX_BYTES, 2);
        let t0 = Time::from_unix(1000);
        rc.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap();
        rc.check_and_insert(fp(2), t0.plus_secs(300), t0).unwrap();
        let e = rc.check_and_insert(fp(3), t0.plus_secs(300), t0).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL);
        assert_eq!(e.code().name(), "KTIX_ERR_REPLAY_CACHE_FULL");
        assert_eq!(rc.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
        let t = t0.plus_secs(310);
        rc.check_and_insert(fp(3), t.plus_secs(300), t).unwrap();
    }

    #[test]
    fn the_memory_ceiling_is_honoured_and_accounted() {
        let max = 64 * 1024;
        let rc = ReplayCache::with_limits(1000, max, usize::MAX);
        let t0 = Time::from_unix(1000);
        let mut n = 0u64;
        let err = loop {
            match rc.check_and_insert(fp(n), t0.plus_secs(300), t0) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err.code(), ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL);
        assert!(rc.memory_bytes() <= max, "{} > {max}", rc.memory_bytes());
        // One table: it stopped short of doubling past the ceiling, full to 7/8.
        assert_eq!(rc.len() as u64, n);
        assert!(n >= 1500, "{n} entries in {max} bytes");
        let per_entry = rc.memory_bytes() as f64 / n as f64;
        assert!((19.0..=39.0).contains(&per_entry), "{per_entry} bytes per entry");
        // The next generation, once the first has passed, starts from nothing.
        let t = t0.plus_secs(1000);
        rc.check_and_insert(fp(n), t.plus_secs(300), t).unwrap();
        assert_eq!(rc.len(), 1);
        assert!(rc.memory_bytes() < 1024);
    }

    #[test]
    fn ten_seconds_at_44000_per_second_with_the_default_limits_are_never_refused() {
        // The rate at which the old 100,000-entry cache locked a service out after 2–3 s; the
        // skew (300 s) and the generations an acceptor with the default settings uses.
        let rc = ReplayCache::with_limits(ReplayCache::generation_for_skew(300), DEFAULT_REPLAY_MAX_BYTES, usize::MAX);
        let t0 = Time::from_unix(1_790_000_000);
        let mut i = 0u64;
        for second in 0..10 {
            let now = t0.plus_secs(second);
            for _ in 0..44_000 {
                rc.check_and_insert(fp(i), now.plus_secs(300), now).unwrap();
                i += 1;
            }
        }
        assert_eq!(rc.len(), 440_000);
        let per_entry = rc.memory_bytes() as f64 / rc.len() as f64;
        assert!((19.0..=39.0).contains(&per_entry), "{per_entry} bytes per entry");
    }

    #[test]
    fn table_bytes_follow_hashbrown() {
        // Every capacity std reports maps to a power-of-two slot count.
        let mut set: HashSet<Tag> = HashSet::new();
        for i in 0..5000u128 {
            let before = set.capacity();
            set.insert(i);
            if set.capacity() != before {
                assert_eq!(set.capacity(), grown_capacity(before), "growth from {before}");
            }
            let slots = (table_bytes(set.capacity()) - GROUP_WIDTH) / 17;
            assert!(slots.is_power_of_two() && slots > set.capacity());
        }
    }
}
