//! [`MemoryStore`]: a [`PrincipalStore`] held in memory.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::store::{exists, Policy, PrincipalEntry, PrincipalStore};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// A store held in memory (tests, the demo, embedded realms).
#[derive(Default)]
pub struct MemoryStore {
    map: RwLock<HashMap<Principal, Arc<PrincipalEntry>>>,
    policies: RwLock<HashMap<String, Policy>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl MemoryStore {
    /// The policy an entry names must exist (`KTIX_ERR_NOT_FOUND`); call with the principals'
    /// lock held, which orders it before the policies' lock.
    fn check_policy(&self, entry: &PrincipalEntry) -> Result<()> {
        match entry.policy.as_deref().filter(|n| !self.policies.read().contains_key(*n)) {
            Some(name) => Err(no_policy(name)),
            None => Ok(()),
        }
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
        // Locks in one order everywhere: principals, then policies.
        let mut map = self.map.write();
        self.check_policy(&entry)?;
        map.insert(entry.principal.clone(), Arc::new(entry));
        Ok(())
    }

    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        check_keys(&entry)?;
        let mut map = self.map.write();
        self.check_policy(&entry)?;
        match map.entry(entry.principal.clone()) {
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

    fn get_policy(&self, name: &str) -> Result<Option<Policy>> {
        Ok(self.policies.read().get(name).cloned())
    }

    fn put_policy(&self, policy: Policy) -> Result<()> {
        policy.validate()?;
        self.policies.write().insert(policy.name.clone(), policy);
        Ok(())
    }

    fn delete_policy(&self, name: &str) -> Result<bool> {
        // The principals' lock first, as everywhere: no principal can take the policy meanwhile.
        let map = self.map.read();
        if let Some(user) = map.values().find(|e| e.policy.as_deref() == Some(name)) {
            return Err(policy_in_use(name, &user.principal));
        }
        Ok(self.policies.write().remove(name).is_some())
    }

    fn list_policies(&self) -> Result<Vec<Policy>> {
        let mut v: Vec<Policy> = self.policies.read().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    fn record_failure(&self, principal: &Principal, policy: &Policy, now: Time) -> Result<()> {
        let mut map = self.map.write();
        if let Some(e) = map.get_mut(principal) {
            let e = Arc::make_mut(e);
            e.fail_count = policy.count_after_failure(e.fail_count, e.last_failed, now);
            e.last_failed = Some(now);
        }
        Ok(())
    }

    fn clear_failures(&self, principal: &Principal) -> Result<()> {
        if let Some(e) = self.map.write().get_mut(principal) {
            Arc::make_mut(e).fail_count = 0;
        }
        Ok(())
    }
}

/// The error for a principal naming a policy that does not exist.
pub(crate) fn no_policy(name: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no policy {name}"))
}

/// The error for deleting a policy `user` still refers to.
pub(crate) fn policy_in_use(name: &str, user: &Principal) -> Error {
    Error::new(ErrorCode::KTIX_ERR_EXISTS, format!("policy {name} is in use (by {user} and maybe others)"))
}
