//! The read cache of a database store: decoded entries (and misses) valid for one value of the
//! store's generation counter, shared by [`super::SqliteStore`] and [`super::PostgresStore`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::store::PrincipalEntry;
use crate::principal::Principal;

/// The most principals the read cache holds; beyond it the least recently used is dropped.
pub const MAX_CACHED_ENTRIES: usize = 65_536;

/// The most names of nonexistent principals the read cache remembers (apart from the entries,
/// emptied when full).
pub const MAX_CACHED_MISSES: usize = 4096;

/// The cache of decoded entries, valid for one value of the generation counter: a bounded map of
/// found entries, each with the tick of its last use, and a bounded set of names found missing.
///
/// A hit only stamps the entry with the next tick. When an insert takes the map past
/// [`MAX_CACHED_ENTRIES`], the least recently used eighth goes in one sweep (the ticks' 1/8
/// quantile found by selection, linear): amortized over the inserts until the next sweep, that is
/// a few instructions each, where an ordered index of the ticks cost two tree updates per hit.
pub(crate) struct Cache {
    pub(crate) generation: i64,
    entries: HashMap<Principal, (Arc<PrincipalEntry>, u64)>,
    misses: HashSet<Principal>,
    tick: u64,
}

/// How many entries a sweep leaves: 7/8 of the most.
const KEPT_BY_SWEEP: usize = MAX_CACHED_ENTRIES - MAX_CACHED_ENTRIES / 8;

impl Cache {
    pub(crate) fn new() -> Cache {
        Cache { generation: -1, entries: HashMap::new(), misses: HashSet::new(), tick: 0 }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.misses.clear();
    }

    /// The cached answer for `p` (`Some(None)`: known missing), marking it most recently used.
    pub(crate) fn get(&mut self, p: &Principal) -> Option<Option<Arc<PrincipalEntry>>> {
        // Entries first: a hit is the common case, and costs one hash of the name.
        if let Some((entry, used)) = self.entries.get_mut(p) {
            self.tick += 1;
            *used = self.tick;
            return Some(Some(entry.clone()));
        }
        self.misses.contains(p).then_some(None)
    }

    pub(crate) fn insert(&mut self, p: &Principal, entry: Option<Arc<PrincipalEntry>>) {
        let Some(entry) = entry else {
            if self.misses.len() >= MAX_CACHED_MISSES {
                self.misses.clear();
            }
            self.misses.insert(p.clone());
            return;
        };
        self.misses.remove(p);
        self.tick += 1;
        self.entries.insert(p.clone(), (entry, self.tick));
        if self.entries.len() > MAX_CACHED_ENTRIES {
            self.sweep();
        }
    }

    /// Drops all but the [`KEPT_BY_SWEEP`] most recently used entries.
    fn sweep(&mut self) {
        let mut ticks: Vec<u64> = self.entries.values().map(|(_, used)| *used).collect();
        let dropped = ticks.len().saturating_sub(KEPT_BY_SWEEP);
        if dropped == 0 {
            return;
        }
        // Ticks are distinct, so exactly `dropped` entries are older than the `dropped`-th.
        let (_, &mut oldest_kept, _) = ticks.select_nth_unstable(dropped);
        self.entries.retain(|_, (_, used)| *used >= oldest_kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Option<Arc<PrincipalEntry>> {
        Some(Arc::new(PrincipalEntry::new(Principal::parse(name, Some("R")).unwrap())))
    }

    fn name(n: &str) -> Principal {
        Principal::parse(n, Some("R")).unwrap()
    }

    #[test]
    fn the_least_recently_used_entries_go_first() {
        let mut c = Cache::new();
        c.insert(&name("a"), entry("a"));
        c.insert(&name("b"), entry("b"));
        for i in 0..MAX_CACHED_ENTRIES - 2 {
            c.insert(&name(&format!("p{i}")), entry("x"));
        }
        assert_eq!(c.entries.len(), MAX_CACHED_ENTRIES, "full, nothing dropped yet");
        // a and p0 are now the most recently used; b and p1, p2, ... the least.
        assert!(c.get(&name("a")).is_some());
        assert!(c.get(&name("p0")).is_some());
        c.insert(&name("one-more"), entry("x"));
        assert_eq!(c.entries.len(), KEPT_BY_SWEEP, "a sweep keeps 7/8");
        assert!(c.get(&name("b")).is_none(), "b was the least recently used");
        let eighth = MAX_CACHED_ENTRIES / 8;
        for i in 1..=eighth {
            assert!(c.get(&name(&format!("p{i}"))).is_none(), "p{i} was among the oldest eighth");
        }
        let survivor = format!("p{}", eighth + 1);
        assert!(c.get(&name(&survivor)).is_some(), "{survivor} was the oldest kept");
        for kept in ["a", "p0", "one-more"] {
            assert!(c.get(&name(kept)).is_some(), "{kept} was used recently");
        }
        // Misses live apart and never push an entry out.
        for i in 0..MAX_CACHED_MISSES * 3 {
            c.insert(&name(&format!("missing{i}")), None);
        }
        assert!(c.misses.len() <= MAX_CACHED_MISSES);
        assert_eq!(c.entries.len(), KEPT_BY_SWEEP);
        assert!(c.get(&name("a")).is_some());
        // A name found after being missing is an entry, not a miss.
        c.insert(&name("late"), None);
        assert!(matches!(c.get(&name("late")), Some(None)));
        c.insert(&name("late"), entry("late"));
        assert!(matches!(c.get(&name("late")), Some(Some(_))));
    }
}
