//! The principal store interface: the [`PrincipalStore`] trait every store implements, and the
//! records it holds ([`PrincipalEntry`] with its [`KeyEntry`]s).

use std::sync::Arc;

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;
/// One long-term key of a principal.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    /// Key version number.
    pub kvno: u32,
    /// The key.
    pub key: Key,
    /// The salt it was derived with (announced in ETYPE-INFO2).
    pub salt: Vec<u8>,
    /// string-to-key parameters (the iteration count) when not the enctype's default.
    pub s2kparams: Option<Vec<u8>>,
}

/// A principal's record: keys and policy.
#[derive(Clone, Debug)]
pub struct PrincipalEntry {
    /// The principal.
    pub principal: Principal,
    /// Its keys, any kvno, any enctype.
    pub keys: Vec<KeyEntry>,
    /// Whether the AS exchange requires PA-ENC-TIMESTAMP (the default).
    pub requires_preauth: bool,
    /// Longest ticket life for tickets to or from this principal, seconds (`None`: the realm's).
    pub max_life: Option<i64>,
    /// Longest renewable life, seconds (`None`: the realm's).
    pub max_renewable_life: Option<i64>,
    /// When the principal's entry expires.
    pub expiration: Option<Time>,
    /// A disabled principal gets no tickets.
    pub disabled: bool,
    /// Tickets for this principal may be forwardable.
    pub allow_forwardable: bool,
    /// Tickets for this principal may be renewable.
    pub allow_renewable: bool,
}

impl PrincipalEntry {
    /// A new entry with default policy and no keys.
    pub fn new(principal: Principal) -> PrincipalEntry {
        PrincipalEntry {
            principal,
            keys: Vec::new(),
            requires_preauth: true,
            max_life: None,
            max_renewable_life: None,
            expiration: None,
            disabled: false,
            allow_forwardable: true,
            allow_renewable: true,
        }
    }

    /// The highest key version number (0 with no keys).
    pub fn current_kvno(&self) -> u32 {
        self.keys.iter().map(|k| k.kvno).max().unwrap_or(0)
    }

    /// The key of `enctype` at `kvno` (`None`: the highest kvno that has that enctype).
    pub fn key(&self, enctype: Enctype, kvno: Option<u32>) -> Option<&KeyEntry> {
        self.keys
            .iter()
            .filter(|k| k.key.enctype() == enctype && kvno.is_none_or(|v| v == k.kvno))
            .max_by_key(|k| k.kvno)
    }

    /// The key of `enctype` at the current (highest) kvno. Older versions are kept only to open
    /// tickets issued before a key change; nothing new is sealed in them, as MIT does.
    pub fn current_key(&self, enctype: Enctype) -> Option<&KeyEntry> {
        self.key(enctype, Some(self.current_kvno()))
    }

    /// The current key of the strongest enctype among `permitted` (in that preference order).
    pub fn strongest_key(&self, permitted: &[Enctype]) -> Option<&KeyEntry> {
        permitted.iter().find_map(|&e| self.current_key(e))
    }

    /// Sets keys of every enctype in `enctypes` derived from `password` with the default salt, at `kvno`.
    pub fn set_password(&mut self, password: &[u8], enctypes: &[Enctype], kvno: u32) -> Result<()> {
        let salt = self.principal.default_salt();
        let mut keys = Vec::with_capacity(enctypes.len());
        for &e in enctypes {
            keys.push(KeyEntry {
                kvno,
                key: Key::from_password(e, password, &salt, None)?,
                salt: salt.clone(),
                s2kparams: None,
            });
        }
        self.keys = keys;
        Ok(())
    }

    /// Sets random keys of every enctype in `enctypes` at `kvno`.
    pub fn set_random_keys(&mut self, enctypes: &[Enctype], kvno: u32) -> Result<()> {
        let salt = self.principal.default_salt();
        let mut keys = Vec::with_capacity(enctypes.len());
        for &e in enctypes {
            keys.push(KeyEntry { kvno, key: Key::random(e)?, salt: salt.clone(), s2kparams: None });
        }
        self.keys = keys;
        Ok(())
    }
}

/// The error for adding a principal that is already there.
pub(crate) fn exists(principal: &Principal) -> Error {
    Error::new(ErrorCode::KTIX_ERR_EXISTS, format!("principal {principal} already exists"))
}

/// Where the KDC finds principals. Implementations are shared by all KDC threads.
pub trait PrincipalStore: Send + Sync {
    /// The entry of `principal`, or `None`.
    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>>;
    /// Creates or replaces an entry.
    fn put(&self, entry: PrincipalEntry) -> Result<()>;
    /// Creates an entry that must not exist yet: `KTIX_ERR_EXISTS` when it does. The built-in
    /// stores check and write in one step (one lock, one transaction), so two writers adding
    /// the same name cannot both succeed; this default (look up, then [`PrincipalStore::put`])
    /// is for stores that cannot.
    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        if self.get(&entry.principal)?.is_some() {
            return Err(exists(&entry.principal));
        }
        self.put(entry)
    }
    /// Deletes an entry; false when there was none.
    fn delete(&self, principal: &Principal) -> Result<bool>;
    /// Every principal, sorted by name.
    fn list(&self) -> Result<Vec<Principal>>;
}
