//! The read cache of a database store: decoded entries (and misses) valid for one value of the
//! store's generation counter, shared by [`super::SqliteStore`] and [`super::PostgresStore`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::store::PrincipalEntry;
use crate::principal::Principal;

/// The most principals the read cache holds; beyond it the least recently used is dropped.
pub const MAX_CACHED_ENTRIES: usize = 65_536;

/// The most names of nonexistent principals the read cache remembers (apart from the entries,
/// emptied when full).
pub const MAX_CACHED_MISSES: usize = 4096;

/// The cache of decoded entries, valid for one value of the generation counter: a bounded LRU
/// of found entries (a use tick per entry, the ticks ordered in `order`) and a bounded set of
/// names found missing.
pub(crate) struct Cache {
    pub(crate) generation: i64,
    entries: HashMap<Principal, (Arc<PrincipalEntry>, u64)>,
    order: BTreeMap<u64, Principal>,
    misses: HashSet<Principal>,
    tick: u64,
}

impl Cache {
    pub(crate) fn new() -> Cache {
        Cache { generation: -1, entries: HashMap::new(), order: BTreeMap::new(), misses: HashSet::new(), tick: 0 }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.misses.clear();
    }

    /// The cached answer for `p` (`Some(None)`: known missing), marking it most recently used.
    pub(crate) fn get(&mut self, p: &Principal) -> Option<Option<Arc<PrincipalEntry>>> {
        if self.misses.contains(p) {
            return Some(None);
        }
        self.tick += 1;
        let tick = self.tick;
        let (entry, used) = self.entries.get_mut(p)?;
        let old = std::mem::replace(used, tick);
        let entry = entry.clone();
        if let Some(name) = self.order.remove(&old) {
            self.order.insert(tick, name);
        }
        Some(Some(entry))
    }

    pub(crate) fn insert(&mut self, p: &Principal, entry: Option<Arc<PrincipalEntry>>) {
        let Some(entry) = entry else {
            if self.misses.len() >= MAX_CACHED_MISSES {
                self.misses.clear();
            }
            self.misses.insert(p.clone());
            return;
        };
        self.tick += 1;
        if let Some((_, old)) = self.entries.insert(p.clone(), (entry, self.tick)) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, p.clone());
        while self.entries.len() > MAX_CACHED_ENTRIES {
            match self.order.pop_first() {
                Some((_, lru)) => {
                    self.entries.remove(&lru);
                }
                None => break,
            }
        }
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
    fn the_least_recently_used_entry_goes_first() {
        let mut c = Cache::new();
        c.insert(&name("a"), entry("a"));
        c.insert(&name("b"), entry("b"));
        assert!(c.get(&name("a")).is_some()); // a is now more recent than b
        for i in 0..MAX_CACHED_ENTRIES - 1 {
            c.insert(&name(&format!("p{i}")), entry("x"));
        }
        assert_eq!(c.entries.len(), MAX_CACHED_ENTRIES);
        assert_eq!(c.order.len(), MAX_CACHED_ENTRIES);
        assert!(c.get(&name("b")).is_none(), "b was the least recently used");
        assert!(c.get(&name("a")).is_some());
        // Misses live apart and never push an entry out.
        for i in 0..MAX_CACHED_MISSES * 3 {
            c.insert(&name(&format!("missing{i}")), None);
        }
        assert!(c.misses.len() <= MAX_CACHED_MISSES);
        assert_eq!(c.entries.len(), MAX_CACHED_ENTRIES);
        assert!(c.get(&name("a")).is_some());
    }
}
