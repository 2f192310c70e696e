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
//!   that keeps the file's size and modification time — can be missed). Every change is a
//!   read–modify–write of the whole file under an advisory lock on `<path>.lock`, written to a
//!   temporary file and renamed over the cache (mode 0600), so concurrent writers lose nothing
//!   and readers never see half a file. See [`CCache::file`] for the details and limits.
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

mod file;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};

pub use file::MAX_CCACHE_SIZE;

use crate::crypto::Key;
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::EntryKey;
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::Flags;

/// One cached credential: a ticket and the client's copy of its session key.
#[derive(Clone)]
pub struct Credential {
    /// The client principal.
    pub client: Principal,
    /// The server the ticket is for.
    pub server: Principal,
    /// The session key.
    pub key: Key,
    /// When the client authenticated.
    pub auth_time: Time,
    /// Start of validity.
    pub start_time: Option<Time>,
    /// End of validity.
    pub end_time: Time,
    /// Renewable until.
    pub renew_till: Option<Time>,
    /// Ticket flags as the KDC reported them.
    pub flags: Flags,
    /// Whether the ticket is encrypted in another ticket's session key (user-to-user).
    pub is_skey: bool,
    /// Client addresses (type, bytes).
    pub addresses: Vec<(i32, Vec<u8>)>,
    /// Authorization data (type, bytes).
    pub authdata: Vec<(i32, Vec<u8>)>,
    /// The Ticket, DER-encoded.
    pub ticket: Vec<u8>,
    /// The second ticket (user-to-user), DER-encoded, or empty.
    pub second_ticket: Vec<u8>,
}

impl Credential {
    /// When the ticket starts being valid.
    pub fn start(&self) -> Time {
        self.start_time.unwrap_or(self.auth_time)
    }

    /// Whether the ticket is still usable at `now` with `margin` seconds to spare.
    pub fn is_fresh(&self, now: Time, margin: i64) -> bool {
        self.end_time.minus_secs(margin) > now
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("client", &self.client)
            .field("server", &self.server)
            .field("key", &self.key)
            .field("start", &self.start_time)
            .field("end", &self.end_time)
            .field("renew_till", &self.renew_till)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

/// The realm of the server principal of configuration entries.
pub const CONFIG_REALM: &str = "X-CACHECONF:";
/// The first name component of the server principal of configuration entries.
pub const CONFIG_COMPONENT: &str = "krb5_ccache_conf_data";

/// A configuration entry: a key, the principal it is about (if any), a value.
///
/// MIT krb5 stores, for instance, `fast_avail` (`"yes"` when the KDC offered FAST), `pa_type`
/// (the pre-authentication type used, in decimal) for the TGS principal, `start_realm`,
/// `refresh_time`, `proxy_impersonator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The configuration key (`fast_avail`, `pa_type` …).
    pub key: String,
    /// The principal the setting is about, as text (`krbtgt/R@R`), or `None`.
    pub principal: Option<String>,
    /// The value.
    pub value: Vec<u8>,
}

/// A principal name as a cache file stores it, which need not be a valid [`Principal`] (MIT
/// stores referral entries with an empty realm, and names need not be UTF-8).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawName {
    pub(crate) name_type: u32,
    pub(crate) realm: Vec<u8>,
    pub(crate) components: Vec<Vec<u8>>,
}

impl RawName {
    /// The principal, when the name is a valid one (UTF-8, a realm, at least one component).
    fn to_principal(&self) -> Option<Principal> {
        let realm = String::from_utf8(self.realm.clone()).ok()?;
        let comps = self.components.iter().map(|c| String::from_utf8(c.clone()).ok()).collect::<Option<Vec<_>>>()?;
        Principal::new(self.name_type as i32, comps, realm).ok()
    }

    /// The name as text, escaped like a principal's (lossy for bytes that are not UTF-8).
    fn display(&self) -> String {
        let comps: Vec<String> = self.components.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        let name = match Principal::new(0, comps, "R") {
            Ok(p) => p.name_without_realm(),
            Err(_) => String::new(),
        };
        let realm = String::from_utf8_lossy(&self.realm);
        let realm = if realm.is_empty() {
            String::new()
        } else {
            Principal::new(0, vec![realm.into_owned()], "R").map(|p| p.name_without_realm()).unwrap_or_default()
        };
        format!("{name}@{realm}")
    }

    fn is_config(&self) -> bool {
        self.realm == CONFIG_REALM.as_bytes()
    }
}

impl From<&Principal> for RawName {
    fn from(p: &Principal) -> RawName {
        RawName {
            name_type: p.name_type() as u32,
            realm: p.realm().as_bytes().to_vec(),
            components: p.components().iter().map(|c| c.as_bytes().to_vec()).collect(),
        }
    }
}

/// A credential kept exactly as a cache file stores it, because libktix cannot use it: its
/// session key has an enctype libktix does not implement, or its names are not valid principals
/// (a referral entry with an empty realm). It is written back unchanged on every rewrite of the
/// cache. `Debug` never shows key bytes.
#[derive(Clone)]
pub struct RawCredential {
    pub(crate) client: RawName,
    pub(crate) server: RawName,
    pub(crate) key: EntryKey,
    pub(crate) auth_time: u32,
    pub(crate) start_time: u32,
    pub(crate) end_time: u32,
    pub(crate) renew_till: u32,
    pub(crate) is_skey: u8,
    pub(crate) flags: u32,
    pub(crate) addresses: Vec<(u16, Vec<u8>)>,
    pub(crate) authdata: Vec<(u16, Vec<u8>)>,
    pub(crate) ticket: Vec<u8>,
    pub(crate) second_ticket: Vec<u8>,
}

fn opt_time(t: u32) -> Option<Time> {
    (t != 0).then(|| Time::from_unix(i64::from(t)))
}

/// A time in a cache file's 32-bit field (clamped to 1970..2106).
fn time32(t: Time) -> u32 {
    t.unix().clamp(0, i64::from(u32::MAX)) as u32
}

/// An address or authorization-data type in a cache file's 16-bit field.
fn type16(t: i32, what: &str) -> Result<u16> {
    u16::try_from(t)
        .or_else(|_| i16::try_from(t).map(|v| v as u16))
        .map_err(|_| Error::invalid(format!("{what} type {t} does not fit a credential cache")))
}

impl RawCredential {
    /// The client, when its name is a valid principal.
    pub fn client(&self) -> Option<Principal> {
        self.client.to_principal()
    }

    /// The server, when its name is a valid principal.
    pub fn server(&self) -> Option<Principal> {
        self.server.to_principal()
    }

    /// The client's name as text (`alice@R`; lossy when it is not UTF-8).
    pub fn client_name(&self) -> String {
        self.client.display()
    }

    /// The server's name as text (`host/x@`, `krbtgt/R@R` …; lossy when it is not UTF-8).
    pub fn server_name(&self) -> String {
        self.server.display()
    }

    /// The session key: supported or not (the bytes are never printed).
    pub fn key(&self) -> &EntryKey {
        &self.key
    }

    /// When the client authenticated.
    pub fn auth_time(&self) -> Time {
        Time::from_unix(i64::from(self.auth_time))
    }

    /// Start of validity, `None` when not stored.
    pub fn start_time(&self) -> Option<Time> {
        opt_time(self.start_time)
    }

    /// End of validity.
    pub fn end_time(&self) -> Time {
        Time::from_unix(i64::from(self.end_time))
    }

    /// Renewable until, `None` when not renewable.
    pub fn renew_till(&self) -> Option<Time> {
        opt_time(self.renew_till)
    }

    /// The ticket flags.
    pub fn flags(&self) -> Flags {
        Flags(self.flags)
    }

    /// Whether the ticket is encrypted in another ticket's session key (user-to-user).
    pub fn is_skey(&self) -> bool {
        self.is_skey != 0
    }

    /// The ticket, as stored (DER for real tickets).
    pub fn ticket(&self) -> &[u8] {
        &self.ticket
    }

    /// MIT marks a removed credential by zeroing its end time, leaving an auth time (config
    /// entries have both zero).
    fn is_removed(&self) -> bool {
        self.end_time == 0 && self.auth_time != 0 && !self.server.is_config()
    }

    /// The configuration entry this is, if it is a well-formed one.
    fn config_entry(&self) -> Option<ConfigEntry> {
        if !self.server.is_config() {
            return None;
        }
        let comps = &self.server.components;
        if !(2..=3).contains(&comps.len()) || comps[0] != CONFIG_COMPONENT.as_bytes() {
            return None;
        }
        let key = String::from_utf8(comps[1].clone()).ok()?;
        let principal = match comps.get(2) {
            Some(p) => Some(String::from_utf8(p.clone()).ok()?),
            None => None,
        };
        Some(ConfigEntry { key, principal, value: self.ticket.clone() })
    }

    /// A configuration entry as MIT writes one: every field but the names and value zero.
    fn config(client: &Principal, key: &str, principal: Option<&str>, value: &[u8]) -> RawCredential {
        let mut components = vec![CONFIG_COMPONENT.as_bytes().to_vec(), key.as_bytes().to_vec()];
        components.extend(principal.map(|p| p.as_bytes().to_vec()));
        RawCredential {
            client: RawName::from(client),
            server: RawName {
                name_type: crate::principal::name_type::PRINCIPAL as u32,
                realm: CONFIG_REALM.as_bytes().to_vec(),
                components,
            },
            key: EntryKey::Unsupported(crate::keytab::OpaqueKey::new(0, &[])),
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            is_skey: 0,
            flags: 0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: value.to_vec(),
            second_ticket: Vec::new(),
        }
    }

    /// The stored form of a usable credential.
    fn from_credential(c: &Credential) -> Result<RawCredential> {
        let list = |l: &[(i32, Vec<u8>)], what: &str| -> Result<Vec<(u16, Vec<u8>)>> {
            l.iter().map(|(t, d)| Ok((type16(*t, what)?, d.clone()))).collect()
        };
        Ok(RawCredential {
            client: RawName::from(&c.client),
            server: RawName::from(&c.server),
            key: EntryKey::Supported(c.key.clone()),
            auth_time: time32(c.auth_time),
            start_time: c.start_time.map_or(0, time32),
            end_time: time32(c.end_time),
            renew_till: c.renew_till.map_or(0, time32),
            is_skey: u8::from(c.is_skey),
            flags: c.flags.0,
            addresses: list(&c.addresses, "an address")?,
            authdata: list(&c.authdata, "an authorization data")?,
            ticket: c.ticket.clone(),
            second_ticket: c.second_ticket.clone(),
        })
    }

    /// The usable credential, when the key is supported and both names are valid principals.
    fn to_credential(&self) -> Option<Credential> {
        let key = self.key.key()?.clone();
        let list = |l: &[(u16, Vec<u8>)]| l.iter().map(|(t, d)| (i32::from(*t), d.clone())).collect();
        Some(Credential {
            client: self.client()?,
            server: self.server()?,
            key,
            auth_time: self.auth_time(),
            start_time: self.start_time(),
            end_time: self.end_time(),
            renew_till: self.renew_till(),
            flags: self.flags(),
            is_skey: self.is_skey(),
            addresses: list(&self.addresses),
            authdata: list(&self.authdata),
            ticket: self.ticket.clone(),
            second_ticket: self.second_ticket.clone(),
        })
    }
}

impl fmt::Debug for RawCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawCredential")
            .field("client", &self.client.display())
            .field("server", &self.server.display())
            .field("key", &self.key)
            .field("end", &self.end_time)
            .field("flags", &Flags(self.flags))
            .finish_non_exhaustive()
    }
}

/// One entry of a cache, as [`CCache::entries`] lists them.
#[derive(Clone, Debug)]
pub enum CacheEntry {
    /// A ticket libktix can use.
    Ticket(Credential),
    /// A ticket kept but not usable here (see [`RawCredential`]).
    Opaque(RawCredential),
    /// A configuration entry.
    Config(ConfigEntry),
}

/// An entry in the cache's state: a usable ticket, or a stored record kept as it is
/// (configuration entries and opaque tickets).
#[derive(Clone, Debug)]
pub(crate) enum Entry {
    Ticket(Credential),
    Raw(RawCredential),
}

impl Entry {
    /// A usable ticket when it is one; configuration entries and the rest stay raw.
    fn classify(raw: RawCredential) -> Entry {
        if raw.server.is_config() {
            return Entry::Raw(raw);
        }
        match raw.to_credential() {
            Some(c) => Entry::Ticket(c),
            None => Entry::Raw(raw),
        }
    }

    /// Whether this is a ticket (usable or not) for `server` (and `client`, when given).
    fn is_ticket_for(&self, client: Option<&Principal>, server: &Principal) -> bool {
        match self {
            Entry::Ticket(c) => &c.server == server && client.is_none_or(|cl| &c.client == cl),
            Entry::Raw(r) => {
                !r.server.is_config()
                    && r.server() == Some(server.clone())
                    && client.is_none_or(|cl| r.client() == Some(cl.clone()))
            }
        }
    }

    fn is_config_for(&self, key: &str, principal: Option<&str>) -> bool {
        match self {
            Entry::Raw(r) => r.config_entry().is_some_and(|c| c.key == key && c.principal.as_deref() == principal),
            Entry::Ticket(_) => false,
        }
    }
}

/// The contents of a cache: the same model for memory and file caches.
#[derive(Clone, Default, Debug)]
pub(crate) struct State {
    /// The default principal; `None` for a cache not initialized (or destroyed).
    pub(crate) principal: Option<Principal>,
    /// Header fields (tag, value) of a file cache, kept as read.
    pub(crate) header: Vec<(u16, Vec<u8>)>,
    pub(crate) entries: Vec<Entry>,
}

impl State {
    fn require_principal(&self, name: &str) -> Result<&Principal> {
        self.principal.as_ref().ok_or_else(|| {
            Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("credential cache {name} is not initialized"))
        })
    }

    /// Puts `entry` in place of the first entry `matches`, dropping any further ones; appends it
    /// when none matches.
    fn replace(&mut self, entry: Entry, matches: impl Fn(&Entry) -> bool) {
        match self.entries.iter().position(&matches) {
            Some(i) => {
                let rest = self.entries.split_off(i + 1);
                self.entries[i] = entry;
                self.entries.extend(rest.into_iter().filter(|e| !matches(e)));
            }
            None => self.entries.push(entry),
        }
    }

    fn store(&mut self, cred: Credential, name: &str) -> Result<()> {
        self.require_principal(name)?;
        let (client, server) = (cred.client.clone(), cred.server.clone());
        self.replace(Entry::Ticket(cred), |e| e.is_ticket_for(Some(&client), &server));
        Ok(())
    }

    fn get(&self, server: &Principal) -> Option<Credential> {
        self.entries.iter().find_map(|e| match e {
            Entry::Ticket(c) if &c.server == server => Some(c.clone()),
            _ => None,
        })
    }

    fn credentials(&self) -> Vec<Credential> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Ticket(c) => Some(c.clone()),
                Entry::Raw(_) => None,
            })
            .collect()
    }

    fn remove(&mut self, server: &Principal) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.is_ticket_for(None, server));
        self.entries.len() != before
    }

    fn entries(&self) -> Vec<CacheEntry> {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Ticket(c) => CacheEntry::Ticket(c.clone()),
                Entry::Raw(r) => match r.config_entry() {
                    Some(c) => CacheEntry::Config(c),
                    None => CacheEntry::Opaque(r.clone()),
                },
            })
            .collect()
    }

    fn config_entries(&self) -> Vec<ConfigEntry> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Raw(r) => r.config_entry(),
                Entry::Ticket(_) => None,
            })
            .collect()
    }

    fn set_config(&mut self, key: &str, principal: Option<&str>, value: &[u8], name: &str) -> Result<()> {
        let me = self.require_principal(name)?;
        let entry = Entry::Raw(RawCredential::config(me, key, principal, value));
        self.replace(entry, |e| e.is_config_for(key, principal));
        Ok(())
    }

    fn remove_config(&mut self, key: &str, principal: Option<&str>) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.is_config_for(key, principal));
        self.entries.len() != before
    }

    fn kdc_time_offset(&self) -> Option<(i32, i32)> {
        self.header
            .iter()
            .find(|(t, v)| *t == file::TAG_KDC_OFFSET && v.len() == 8)
            .map(|(_, v)| (i32::from_be_bytes([v[0], v[1], v[2], v[3]]), i32::from_be_bytes([v[4], v[5], v[6], v[7]])))
    }
}

enum Backend {
    Memory(RwLock<State>),
    File(file::FileCache),
}

struct Inner {
    name: String,
    backend: Backend,
}

/// How a memory cache is known to the process-wide registry.
enum Registered {
    /// Named by the user (`MEMORY:name`): kept for the life of the process, like MIT's.
    Pinned(Arc<Inner>),
    /// Made by [`CCache::memory`]: found by name while some handle holds it.
    Private(Weak<Inner>),
}

#[derive(Default)]
struct Registry {
    caches: HashMap<String, Registered>,
    /// Dead private entries are swept when the map reaches this size.
    sweep_at: usize,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
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
    /// never replaced except by [`CCache::initialize`]). Changes take an exclusive `flock` on
    /// `<path>.lock` (created 0600 beside the cache, waiting at most 10 s), read the file, change
    /// it, and replace it with [`crate::fsutil::write_atomic`] (0600, fsynced, renamed), so
    /// concurrent writers in this and other processes that use libktix lose nothing, and readers
    /// see the old file or the new one.
    ///
    /// Limits: MIT krb5 locks cache files with `fcntl` and changes them in place; it does not see
    /// our lock, so a write by MIT at the very moment we rewrite the file can be lost (MIT's
    /// tools replace or append to a cache only at `kinit`/`kvno` time). A symbolic link at `path`
    /// is replaced by a regular file on the first change.
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
    /// rewritten (under its lock) only then, and never when `f` fails.
    fn update<T>(&self, f: impl FnOnce(&mut State) -> Result<(T, bool)>) -> Result<T> {
        match &self.inner.backend {
            Backend::Memory(s) => Ok(f(&mut s.write())?.0),
            Backend::File(fc) => {
                let _guard = fc.lock()?;
                let mut state = fc.load()?.unwrap_or_default();
                let (out, changed) = f(&mut state)?;
                if changed {
                    fc.save(&state)?;
                }
                Ok(out)
            }
        }
    }

    /// Empties the cache and makes `principal` its owner (what `kinit` does first). A file cache
    /// is replaced whatever it held, even a corrupt file.
    pub fn initialize(&self, principal: &Principal) -> Result<()> {
        let fresh = State { principal: Some(principal.clone()), header: Vec::new(), entries: Vec::new() };
        match &self.inner.backend {
            Backend::Memory(s) => *s.write() = fresh,
            Backend::File(fc) => {
                let _guard = fc.lock()?;
                fc.save(&fresh)?;
            }
        }
        Ok(())
    }

    /// The cache's principal, `None` when it was never initialized or was destroyed (for a file
    /// cache: when the file does not exist).
    pub fn principal(&self) -> Result<Option<Principal>> {
        self.read(|s| s.principal.clone())
    }

    /// Adds a credential, replacing one for the same client and server (in its place; a ticket
    /// kept opaque for them is replaced too).
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
    /// `kdestroy` does; earlier versions of the file, replaced by renames, are not reachable
    /// through the file system any more but are not wiped); its lock file is removed too. A
    /// missing file is a [`ErrorCode::KTIX_ERR_NOT_FOUND`] error ("no credentials cache found").
    pub fn destroy(&self) -> Result<()> {
        match &self.inner.backend {
            Backend::Memory(s) => {
                let mut s = s.write();
                *s = State::default();
                s.entries.shrink_to_fit();
                Ok(())
            }
            Backend::File(fc) => {
                let guard = fc.lock()?;
                fc.destroy(guard)
            }
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
    use crate::crypto::Enctype;

    fn cred(server: &str) -> Credential {
        Credential {
            client: Principal::parse("alice@R", None).unwrap(),
            server: Principal::parse(server, None).unwrap(),
            key: Key::random(Enctype::Aes256CtsHmacSha196).unwrap(),
            auth_time: Time::from_unix(100),
            start_time: None,
            end_time: Time::from_unix(1000),
            renew_till: None,
            flags: Flags::NONE,
            is_skey: false,
            addresses: vec![],
            authdata: vec![],
            ticket: vec![1, 2, 3],
            second_ticket: vec![],
        }
    }

    #[test]
    fn store_replaces_the_first_match_in_place_and_drops_duplicates() {
        // An MIT file can hold several tickets for one server (MIT appends).
        let mut s = State { principal: Some(Principal::parse("alice@R", None).unwrap()), ..State::default() };
        for server in ["krbtgt/R@R", "host/x@R", "host/y@R", "host/x@R"] {
            s.entries.push(Entry::Ticket(cred(server)));
        }
        let new = cred("host/x@R");
        s.store(new.clone(), "test").unwrap();
        let servers: Vec<String> = s.credentials().iter().map(|c| c.server.to_string()).collect();
        assert_eq!(servers, ["krbtgt/R@R", "host/x@R", "host/y@R"]);
        assert_eq!(s.get(&new.server).unwrap().key, new.key);
        assert!(s.remove(&new.server));
        assert_eq!(s.credentials().len(), 2);
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
