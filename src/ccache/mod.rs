//! The client's ticket cache: the TGT and service tickets with their session keys.
//!
//! A [`CCache`] is a shared handle (`Clone`, `Send + Sync`); clones see the same cache. Two
//! backends:
//!
//! - **memory** ([`CCache::memory`], `MEMORY:name`): the credentials live in this process.
//!   [`CCache::memory`] makes a new private cache that lives as long as its last handle; a named
//!   one ([`CCache::resolve`] of `MEMORY:name`) is the same cache for every handle in the process
//!   and, as in MIT krb5, lives until the process ends ([`CCache::destroy`] empties it).
//! - **file** ([`CCache::file`], `FILE:path` or a plain path): MIT's FILE format, version 4
//!   (version 3 is read too), shared with MIT's `kinit`/`klist`/`kvno` and any process using the
//!   same file. The file is the only copy: every call reads it again (a cache is a few kilobytes;
//!   reading and parsing one costs microseconds, and no change by another process — even one
//!   that keeps the file's size and modification time — can be missed). The file is locked and
//!   changed as MIT does it (`fcntl` locks on the file itself, new credentials appended in place),
//!   so MIT's tools, other processes using libktix and this one lose nothing when they write one
//!   cache at the same time, and readers never see half a change. See [`CCache::file`].
//!
//! Besides tickets a cache holds MIT's configuration entries (credentials whose server is
//! `krb5_ccache_conf_data/<key>[/<principal>]@X-CACHECONF:`), exposed by
//! [`CCache::config_entries`] / [`CCache::set_config`] and never as tickets; and, from files
//! written by others, tickets whose session key has an enctype libktix does not implement (say
//! `arcfour-hmac`): those are kept and written back unchanged, listed by [`CCache::entries`] as
//! [`CacheEntry::Opaque`], never returned by [`CCache::get`] or [`CCache::credentials`].
//!
//! [`CCache::destroy`] drops every credential, so each session key is zeroized once the last
//! user of it lets go; a file cache is overwritten with zeros before it is unlinked.
//!
//! The files: `credential.rs` (the MIT credential record: usable [`Credential`]s, raw records and
//! configuration entries), `state.rs` (a cache's contents, the same model for every backend),
//! `file/` (the FILE byte format, and the file handling with its locking), `memory.rs` (the
//! process-wide `MEMORY:` registry); this one holds the [`CCache`] handle.

mod credential;
mod file;
mod memory;
mod state;

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

pub use self::credential::{CacheEntry, ConfigEntry, Credential, RawCredential, CONFIG_COMPONENT, CONFIG_REALM};
pub(crate) use self::file::round_trip as file_round_trip;
pub use self::file::MAX_CCACHE_SIZE;

use self::credential::RawName;
use self::memory::{registry, Registered};
use self::state::{Entry, State};
use crate::error::{Error, Result};
use crate::principal::Principal;

enum Backend {
    Memory(RwLock<State>),
    File(file::FileCache),
}

struct Inner {
    name: String,
    backend: Backend,
}

/// The uid part of the default cache name when the process's uid cannot be found.
const UNKNOWN_UID: &str = "unknown";

/// A credential cache: memory or MIT FILE (see the module documentation).
#[derive(Clone)]
pub struct CCache {
    inner: Arc<Inner>,
}

impl CCache {
    /// A new, empty in-memory cache, private to this handle and its clones (its `MEMORY:` name
    /// resolves to it while a handle is alive).
    pub fn memory() -> CCache {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut reg = registry().lock();
        loop {
            let mut id = [0u8; 8];
            // A unique name only; failure of the RNG here is harmless: the counter keeps names apart.
            if openssl::rand::rand_bytes(&mut id).is_err() {
                id = [0; 8];
            }
            let n = u64::from_be_bytes(id) ^ COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("MEMORY:{n:016x}");
            if reg.caches.contains_key(&name[7..]) {
                continue;
            }
            let inner = Arc::new(Inner { name: name.clone(), backend: Backend::Memory(RwLock::default()) });
            reg.caches.insert(name[7..].to_string(), Registered::Private(Arc::downgrade(&inner)));
            if reg.caches.len() >= reg.sweep_at {
                reg.caches.retain(|_, r| match r {
                    Registered::Pinned(_) => true,
                    Registered::Private(w) => w.strong_count() > 0,
                });
                reg.sweep_at = (reg.caches.len() * 2).max(64);
            }
            return CCache { inner };
        }
    }

    /// A FILE cache at `path`, in MIT's format. No I/O happens until the cache is used.
    ///
    /// Reads parse the file afresh each time (a missing file is an empty, uninitialized cache; a
    /// file that is not a valid cache is a [`ErrorCode::KTIX_ERR_BAD_FILE`] error naming it, and is
    /// never replaced except by [`CCache::initialize`]).
    ///
    /// Locking and writing follow MIT krb5, so that MIT's `kinit`/`kvno`/`klist` and libktix can
    /// use one cache at the same moment: a whole-file `fcntl` read lock on the cache file to read
    /// it, a write lock to change it (waiting at most 10 s); a stored ticket is appended to the
    /// file in place, a replaced or removed one marked removed in place (MIT's marker), and
    /// [`CCache::initialize`] replaces the file (a new file, renamed over it: 0600, fsynced). A
    /// crash while appending can leave a torn last record, which readers drop and the next write
    /// overwrites; nothing else is ever half-written. The details, and the one race left (a
    /// writer that adds to a cache at the moment it is initialized again, as with MIT's `kinit`),
    /// are in the documentation of `src/ccache/file/mod.rs`.
    ///
    /// A symbolic link at `path` is followed, as MIT does, except by [`CCache::initialize`], which
    /// replaces it with a regular file.
    ///
    /// [`ErrorCode::KTIX_ERR_BAD_FILE`]: crate::error::ErrorCode::KTIX_ERR_BAD_FILE
    pub fn file(path: impl AsRef<Path>) -> CCache {
        let path = path.as_ref().to_path_buf();
        let name = format!("FILE:{}", path.display());
        CCache { inner: Arc::new(Inner { name, backend: Backend::File(file::FileCache::new(path)) }) }
    }

    /// The cache named `name`: `FILE:path`, a plain path, or `MEMORY:name` (in one process, every
    /// `MEMORY:` cache of one name is the same cache). Other types (`DIR:`, `KEYRING:`, `KCM:` …)
    /// are not supported.
    pub fn resolve(name: &str) -> Result<CCache> {
        let (kind, rest) = match name.split_once(':') {
            Some((kind, rest)) if !kind.is_empty() && !kind.contains('/') => (Some(kind), rest),
            _ => (None, name),
        };
        if rest.is_empty() {
            return Err(Error::invalid(format!("credential cache name {name:?} is empty")));
        }
        match kind {
            None | Some("FILE") => Ok(CCache::file(rest)),
            Some("MEMORY") => {
                let mut reg = registry().lock();
                if let Some(Registered::Private(w)) = reg.caches.get(rest) {
                    if let Some(inner) = w.upgrade() {
                        return Ok(CCache { inner });
                    }
                }
                if let Some(Registered::Pinned(inner)) = reg.caches.get(rest) {
                    return Ok(CCache { inner: inner.clone() });
                }
                let inner =
                    Arc::new(Inner { name: format!("MEMORY:{rest}"), backend: Backend::Memory(RwLock::default()) });
                reg.caches.insert(rest.to_string(), Registered::Pinned(inner.clone()));
                Ok(CCache { inner })
            }
            Some(other) => Err(Error::invalid(format!(
                "credential cache {name:?}: type {other:?} is not supported (only FILE and MEMORY)"
            ))),
        }
    }

    /// The default cache name: `$KRB5CCNAME` when set and not empty, else `FILE:/tmp/krb5cc_<uid>`
    /// (the uid this process runs as), as MIT's.
    pub fn default_name() -> String {
        match std::env::var("KRB5CCNAME") {
            Ok(n) if !n.is_empty() => n,
            _ => match file::current_uid() {
                Some(uid) => format!("FILE:/tmp/krb5cc_{uid}"),
                None => format!("FILE:/tmp/krb5cc_{UNKNOWN_UID}"),
            },
        }
    }

    /// The default cache: [`CCache::resolve`] of [`CCache::default_name`].
    // Not the `Default` trait: resolving a name can fail (`KRB5CCNAME=KEYRING:…`).
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> Result<CCache> {
        CCache::resolve(&CCache::default_name())
    }

    /// The cache's name (`MEMORY:…` or `FILE:/path`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The file of a FILE cache; `None` for a memory cache.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::File(f) => Some(f.path()),
            Backend::Memory(_) => None,
        }
    }

    /// Whether the cache exists: a file cache's file is there; a memory cache is initialized.
    pub fn exists(&self) -> Result<bool> {
        match &self.inner.backend {
            Backend::File(f) => f.exists(),
            Backend::Memory(s) => Ok(s.read().principal.is_some()),
        }
    }

    /// Runs `f` on the current contents (a missing file reads as an empty, uninitialized cache).
    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T> {
        match &self.inner.backend {
            Backend::Memory(s) => Ok(f(&s.read())),
            Backend::File(fc) => Ok(f(&fc.load()?.unwrap_or_default())),
        }
    }

    /// Changes the contents with `f`, which says whether it changed anything; a file cache is
    /// written (under its lock) only then, and never when `f` fails.
    fn update<T>(&self, f: impl FnOnce(&mut State) -> Result<(T, bool)>) -> Result<T> {
        match &self.inner.backend {
            Backend::Memory(s) => Ok(f(&mut s.write())?.0),
            Backend::File(fc) => fc.update(f),
        }
    }

    /// Empties the cache and makes `principal` its owner (what `kinit` does first). A file cache
    /// is replaced whatever it held, even a corrupt file.
    pub fn initialize(&self, principal: &Principal) -> Result<()> {
        let fresh = State { principal: Some(principal.clone()), header: Vec::new(), entries: Vec::new() };
        match &self.inner.backend {
            Backend::Memory(s) => *s.write() = fresh,
            Backend::File(fc) => fc.initialize(&fresh)?,
        }
        Ok(())
    }

    /// The cache's principal, `None` when it was never initialized or was destroyed (for a file
    /// cache: when the file does not exist).
    pub fn principal(&self) -> Result<Option<Principal>> {
        self.read(|s| s.principal.clone())
    }

    /// Adds a credential, replacing one for the same client and server (a ticket kept opaque for
    /// them is replaced too). A memory cache keeps the replacement in the old one's place; a file
    /// cache appends it at the end of the file and marks the old one removed, as MIT does.
    pub fn store(&self, cred: Credential) -> Result<()> {
        let name = self.inner.name.clone();
        self.update(|s| s.store(cred, &name).map(|()| ((), true)))
    }

    /// The credential for `server`, if cached (expired ones too: the caller checks the times).
    /// Configuration entries and opaque tickets are never returned.
    pub fn get(&self, server: &Principal) -> Result<Option<Credential>> {
        self.read(|s| s.get(server))
    }

    /// Every usable credential, in the order stored (no configuration entries, no opaque tickets).
    pub fn credentials(&self) -> Result<Vec<Credential>> {
        self.read(State::credentials)
    }

    /// Every entry in the order stored: usable tickets, opaque ones and configuration entries.
    pub fn entries(&self) -> Result<Vec<CacheEntry>> {
        self.read(State::entries)
    }

    /// Removes the tickets (usable or opaque) for `server`; false when there was none.
    pub fn remove(&self, server: &Principal) -> Result<bool> {
        self.update(|s| {
            let removed = s.remove(server);
            Ok((removed, removed))
        })
    }

    /// The configuration entries, in the order stored.
    pub fn config_entries(&self) -> Result<Vec<ConfigEntry>> {
        self.read(State::config_entries)
    }

    /// The value of configuration `key` about `principal` (or about no principal).
    pub fn config(&self, key: &str, principal: Option<&Principal>) -> Result<Option<Vec<u8>>> {
        let principal = principal.map(Principal::to_string);
        self.read(|s| {
            s.config_entries().into_iter().find(|c| c.key == key && c.principal == principal).map(|c| c.value)
        })
    }

    /// Sets configuration `key` about `principal` (or about no principal) to `value`, replacing
    /// an earlier value. The cache must be initialized.
    pub fn set_config(&self, key: &str, principal: Option<&Principal>, value: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("a configuration key cannot be empty"));
        }
        let name = self.inner.name.clone();
        let principal = principal.map(Principal::to_string);
        self.update(|s| s.set_config(key, principal.as_deref(), value, &name).map(|()| ((), true)))
    }

    /// Removes configuration `key` about `principal`; false when it was not set.
    pub fn remove_config(&self, key: &str, principal: Option<&Principal>) -> Result<bool> {
        let principal = principal.map(Principal::to_string);
        self.update(|s| {
            let removed = s.remove_config(key, principal.as_deref());
            Ok((removed, removed))
        })
    }

    /// The KDC time offset a file cache's header records (seconds, microseconds), if any.
    pub fn kdc_time_offset(&self) -> Result<Option<(i32, i32)>> {
        self.read(State::kdc_time_offset)
    }

    /// Flushes the cache: every credential and its session key is dropped (zeroized once no one
    /// else holds it) and the principal forgotten.
    ///
    /// A file cache's file is unlinked and its content overwritten with zeros (as MIT's
    /// `kdestroy` does; earlier versions of the file, replaced by [`CCache::initialize`], are not
    /// reachable through the file system any more but are not wiped). A
    /// missing file is a [`ErrorCode::KTIX_ERR_NOT_FOUND`] error ("no credentials cache found").
    ///
    /// [`ErrorCode::KTIX_ERR_NOT_FOUND`]: crate::error::ErrorCode::KTIX_ERR_NOT_FOUND
    pub fn destroy(&self) -> Result<()> {
        match &self.inner.backend {
            Backend::Memory(s) => {
                let mut s = s.write();
                *s = State::default();
                s.entries.shrink_to_fit();
                Ok(())
            }
            Backend::File(fc) => fc.destroy(),
        }
    }
}

impl fmt::Debug for CCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CCache({})", self.inner.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::principal::Principal;
    use crate::time::Time;

    fn cred(server: &str) -> Credential {
        Credential::for_test(server)
    }

    #[test]
    fn store_replace_destroy() {
        let c = CCache::memory();
        assert!(c.store(cred("krbtgt/R@R")).is_err());
        c.initialize(&Principal::parse("alice@R", None).unwrap()).unwrap();
        c.store(cred("krbtgt/R@R")).unwrap();
        c.store(cred("host/x@R")).unwrap();
        c.store(cred("host/x@R")).unwrap();
        assert_eq!(c.credentials().unwrap().len(), 2);
        let other = c.clone();
        other.destroy().unwrap();
        assert!(c.credentials().unwrap().is_empty());
        assert!(c.principal().unwrap().is_none());
        assert!(cred("a@R").is_fresh(Time::from_unix(600), 300));
        assert!(!cred("a@R").is_fresh(Time::from_unix(701), 300));
    }
}
