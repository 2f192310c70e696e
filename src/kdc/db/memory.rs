//! [`MemoryStore`]: a [`PrincipalStore`] held in memory.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::store::{exists, PrincipalEntry, PrincipalStore};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;

/// A store held in memory (tests, the demo, embedded realms).
#[derive(Default)]
pub struct MemoryStore {
    map: RwLock<HashMap<Principal, Arc<PrincipalEntry>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn check_keys(entry: &PrincipalEntry) -> Result<()> {
    if entry.keys.is_empty() {
        return Err(Error::new(ErrorCode::KDC_ERR_NULL_KEY, format!("{} has no keys", entry.principal)));
    }
    Ok(())
}

impl PrincipalStore for MemoryStore {
    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>> {
        Ok(self.map.read().get(principal).cloned())
    }

    fn put(&self, entry: PrincipalEntry) -> Result<()> {
        check_keys(&entry)?;
        self.map.write().insert(entry.principal.clone(), Arc::new(entry));
        Ok(())
    }

    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        check_keys(&entry)?;
        match self.map.write().entry(entry.principal.clone()) {
            Entry::Occupied(_) => Err(exists(&entry.principal)),
            Entry::Vacant(v) => {
                v.insert(Arc::new(entry));
                Ok(())
            }
        }
    }

    fn delete(&self, principal: &Principal) -> Result<bool> {
        Ok(self.map.write().remove(principal).is_some())
    }

    fn list(&self) -> Result<Vec<Principal>> {
        let mut v: Vec<Principal> = self.map.read().keys().cloned().collect();
        v.sort_by_key(|p| p.to_string());
        Ok(v)
    }
}
