//! Replay caches: where an acceptor remembers the authenticators it accepted, so a second use is
//! refused (`KRB_AP_ERR_REPEAT`). The check plugs into the one AP-REQ verification through
//! [`ReplayGuard`](crate::proto::ReplayGuard), which calls it last.
//!
//! Two stores: [`ReplayCache`] in the process's memory (time-bucketed generations, a memory
//! ceiling) and [`FileReplayCache`] in a file every process of a service shares (fixed size,
//! `flock`ed). Which one an acceptor uses is chosen as MIT chooses ([`ReplayCacheName`]), and
//! acceptors never keep private caches: every acceptor of one service in a process gets the same
//! cache from a process-wide registry. The registry keeps a memory cache while an acceptor uses it
//! *or* it still holds live entries (so `Acceptor::new(keytab).accept(..)` per request is
//! protected), and lets it go once neither is true; file caches are held weakly (the file keeps
//! their state).

mod file;
mod memory;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;

pub use self::file::{FileReplayCache, DEFAULT_REPLAY_FILE_SIZE};
pub use self::memory::{ReplayCache, DEFAULT_REPLAY_MAX_BYTES};
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::proto::ReplayGuard;
use crate::time::{Clock, Time};

/// Where authenticators are remembered, named as MIT names replay caches.
///
/// | name (`KRB5RCACHENAME`) | type alone (`KRB5RCACHETYPE`) | store |
/// |---|---|---|
/// | `dfl:` | `dfl` | the file [`ReplayCacheName::default_file`]: `$KRB5RCACHEDIR/ktix_<uid>.rcache`, else `/var/tmp/ktix_<uid>.rcache` |
/// | `file2:/path`, `file:/path` | — | the file `/path` |
/// | `memory:` | `memory` | this process's memory (a ktix extension) |
/// | `none:` | `none` | no replay detection |
///
/// **Default** (nothing configured, neither variable set): `memory:` — one in-memory cache per
/// service in the process. A service whose requests are verified by several processes (a forking
/// server) must choose `dfl:` or `file2:` so they share one cache. The file is named `ktix_…`,
/// not MIT's `krb5_….rcache2`: its format is ktix's own, and an MIT cache is never touched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplayCacheName {
    /// In this process's memory.
    Memory,
    /// In a file shared across processes.
    File(PathBuf),
    /// No replay detection at all.
    None,
}

impl ReplayCacheName {
    /// Parses a replay cache name: `TYPE:RESIDUAL` with the types in the table above (case
    /// insensitive), or a type alone. `KTIX_ERR_CONFIG` for anything else.
    pub fn parse(name: &str) -> Result<ReplayCacheName> {
        let (kind, residual) = name.split_once(':').unwrap_or((name, ""));
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_CONFIG, format!("replay cache name {name:?}: {why}"));
        match kind.to_ascii_lowercase().as_str() {
            "dfl" => Ok(ReplayCacheName::File(ReplayCacheName::default_file())),
            "none" => Ok(ReplayCacheName::None),
            "memory" | "mem" => Ok(ReplayCacheName::Memory),
            "file2" | "file" if residual.is_empty() => Err(bad("a file cache needs a path")),
            "file2" | "file" => Ok(ReplayCacheName::File(PathBuf::from(residual))),
            other => Err(bad(&format!("type {other:?} is not supported (dfl, file2, memory, none)"))),
        }
    }

    /// The name from the environment, as MIT reads it: `KRB5RCACHENAME` when set and not empty,
    /// else the type in `KRB5RCACHETYPE`, else [`ReplayCacheName::Memory`] (see the type's
    /// documentation for why).
    pub fn from_env() -> Result<ReplayCacheName> {
        ReplayCacheName::from_env_or(ReplayCacheName::Memory)
    }

    /// [`ReplayCacheName::from_env`] with another default for when neither variable is set: the
    /// drop-in GSS-API library takes `dfl:` there, as MIT's does, because the programs that load
    /// it are forking servers whose processes must share one cache.
    pub fn from_env_or(default: ReplayCacheName) -> Result<ReplayCacheName> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        if let Some(name) = var("KRB5RCACHENAME") {
            return ReplayCacheName::parse(&name);
        }
        if let Some(kind) = var("KRB5RCACHETYPE") {
            return match kind.to_ascii_lowercase().as_str() {
                "dfl" | "none" | "memory" | "mem" => ReplayCacheName::parse(&kind),
                _ => Err(Error::new(
                    ErrorCode::KTIX_ERR_CONFIG,
                    format!("KRB5RCACHETYPE={kind:?}: not supported (dfl, memory, none)"),
                )),
            };
        }
        Ok(default)
    }

    /// The default cache file (`dfl:`): `ktix_<uid>.rcache` in `$KRB5RCACHEDIR` when set, else in
    /// `/var/tmp` (where MIT keeps its own, and which survives reboots as the cache should not
    /// need to).
    pub fn default_file() -> PathBuf {
        let dir = std::env::var_os("KRB5RCACHEDIR").filter(|d| !d.is_empty()).unwrap_or_else(|| "/var/tmp".into());
        let uid = fsutil::current_uid().map_or_else(|| "unknown".to_string(), |u| u.to_string());
        Path::new(&dir).join(format!("ktix_{uid}.rcache"))
    }
}

/// The limits a shared replay cache is created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReplayLimits {
    pub clock_skew: i64,
    pub max_bytes: usize,
    pub max_entries: usize,
    pub file_size: u64,
}

/// An acceptor's replay cache (cheap to clone; clones are the same cache).
#[derive(Clone, Debug)]
pub enum ReplayStore {
    /// In this process's memory.
    Memory(Arc<ReplayCache>),
    /// In a file shared by processes.
    File(Arc<FileReplayCache>),
    /// None: replays are not detected.
    None,
}

/// Which clock a memory cache's entries were timed by.
#[derive(Clone)]
enum ClockId {
    System,
    /// Another clock object: its address, and a weak reference to tell a new object at a reused
    /// address from it.
    Object(usize, Weak<dyn Clock>),
}

impl ClockId {
    fn of(clock: &Arc<dyn Clock>) -> ClockId {
        if clock.is_system_clock() {
            ClockId::System
        } else {
            ClockId::Object(Arc::as_ptr(clock) as *const () as usize, Arc::downgrade(clock))
        }
    }

    /// The clock's time now; `None` when the clock object is gone.
    fn now(&self) -> Option<Time> {
        match self {
            ClockId::System => Some(Time::now()),
            ClockId::Object(_, w) => w.upgrade().map(|c| c.now()),
        }
    }

    fn same(&self, other: &ClockId) -> bool {
        match (self, other) {
            (ClockId::System, ClockId::System) => true,
            (ClockId::Object(a, wa), ClockId::Object(b, wb)) => a == b && wa.strong_count() > 0 && Weak::ptr_eq(wa, wb),
            _ => false,
        }
    }
}

struct MemoryEntry {
    clock: ClockId,
    services: Vec<String>,
    limits: (i64, usize, usize),
    cache: Arc<ReplayCache>,
}

impl MemoryEntry {
    /// Whether the registry must keep the cache: an acceptor holds it, or entries in it are still
    /// live on its clock.
    fn needed(&self) -> bool {
        Arc::strong_count(&self.cache) > 1 || self.clock.now().is_some_and(|now| self.cache.expire(now) > 0)
    }
}

static MEMORY_CACHES: LazyLock<Mutex<Vec<MemoryEntry>>> = LazyLock::new(|| Mutex::new(Vec::new()));
/// Open file caches by path.
type FileRegistry = Vec<(PathBuf, Weak<FileReplayCache>)>;
static FILE_CACHES: LazyLock<Mutex<FileRegistry>> = LazyLock::new(|| Mutex::new(Vec::new()));

impl ReplayStore {
    /// The cache an acceptor for `services` (the principals it accepts tickets for) on `clock`
    /// uses: the one of the same services, clock and limits in this process (in use by other
    /// acceptors, or left by earlier ones with entries still live), or a new one. File caches are
    /// shared by path (and, through the file, with other processes).
    pub(crate) fn shared(
        name: &ReplayCacheName,
        services: &[String],
        clock: &Arc<dyn Clock>,
        limits: ReplayLimits,
    ) -> Result<ReplayStore> {
        match name {
            ReplayCacheName::None => Ok(ReplayStore::None),
            ReplayCacheName::Memory => {
                let clock = ClockId::of(clock);
                let mut services = services.to_vec();
                services.sort();
                services.dedup();
                let key = (limits.clock_skew, limits.max_bytes, limits.max_entries);
                let mut registry = MEMORY_CACHES.lock();
                registry.retain(MemoryEntry::needed);
                let found = registry.iter().find(|e| e.limits == key && e.services == services && e.clock.same(&clock));
                if let Some(e) = found {
                    return Ok(ReplayStore::Memory(e.cache.clone()));
                }
                let cache = Arc::new(ReplayCache::with_limits(
                    ReplayCache::generation_for_skew(limits.clock_skew),
                    limits.max_bytes,
                    limits.max_entries,
                ));
                registry.push(MemoryEntry { clock, services, limits: key, cache: cache.clone() });
                Ok(ReplayStore::Memory(cache))
            }
            ReplayCacheName::File(path) => {
                let mut registry = FILE_CACHES.lock();
                registry.retain(|(_, c)| c.strong_count() > 0);
                if let Some(cache) = registry.iter().find(|(p, _)| p == path).and_then(|(_, c)| c.upgrade()) {
                    return Ok(ReplayStore::File(cache));
                }
                let cache = Arc::new(FileReplayCache::open(path, limits.file_size)?);
                registry.push((path.clone(), Arc::downgrade(&cache)));
                Ok(ReplayStore::File(cache))
            }
        }
    }

    /// Live entries (a memory cache's count; a file cache's count needs a scan of the file; 0 when
    /// there is no cache or the file cannot be read).
    pub fn len(&self) -> usize {
        match self {
            ReplayStore::Memory(c) => c.len(),
            ReplayStore::File(c) => c.live_entries().unwrap_or(0),
            ReplayStore::None => 0,
        }
    }

    /// True when no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `fingerprint` valid until `expires`; `KRB_AP_ERR_REPEAT` when it is already there.
    pub fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        match self {
            ReplayStore::Memory(c) => c.check_and_insert(fingerprint, expires, now),
            ReplayStore::File(c) => c.check_and_insert(fingerprint, expires, now),
            ReplayStore::None => Ok(()),
        }
    }
}

impl ReplayGuard for ReplayStore {
    fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        ReplayStore::check_and_insert(self, fingerprint, expires, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{FixedClock, SystemClock};

    fn limits() -> ReplayLimits {
        ReplayLimits {
            clock_skew: 300,
            max_bytes: DEFAULT_REPLAY_MAX_BYTES,
            max_entries: usize::MAX,
            file_size: DEFAULT_REPLAY_FILE_SIZE,
        }
    }

    #[test]
    fn names_parse_as_mit_names_them() {
        assert_eq!(ReplayCacheName::parse("none:").unwrap(), ReplayCacheName::None);
        assert_eq!(ReplayCacheName::parse("NONE").unwrap(), ReplayCacheName::None);
        assert_eq!(ReplayCacheName::parse("memory:").unwrap(), ReplayCacheName::Memory);
        assert_eq!(ReplayCacheName::parse("file2:/x/rc").unwrap(), ReplayCacheName::File("/x/rc".into()));
        assert_eq!(ReplayCacheName::parse("FILE:/x/rc").unwrap(), ReplayCacheName::File("/x/rc".into()));
        match ReplayCacheName::parse("dfl:").unwrap() {
            ReplayCacheName::File(p) => assert!(p.file_name().unwrap().to_string_lossy().starts_with("ktix_")),
            other => panic!("{other:?}"),
        }
        for bad in ["file2:", "rcache:/x", "KEYRING:x"] {
            assert_eq!(ReplayCacheName::parse(bad).unwrap_err().code(), ErrorCode::KTIX_ERR_CONFIG, "{bad}");
        }
    }

    #[test]
    fn acceptors_of_one_service_and_clock_share_one_cache_kept_while_needed() {
        let system: Arc<dyn Clock> = Arc::new(SystemClock);
        let other_system: Arc<dyn Clock> = Arc::new(SystemClock);
        let fixed: Arc<dyn Clock> = Arc::new(FixedClock::new(Time::from_unix(1)));
        let svc = ["host/registry-test@R".to_string()];
        let get = |c: &Arc<dyn Clock>, s: &[String], l: ReplayLimits| match ReplayStore::shared(
            &ReplayCacheName::Memory,
            s,
            c,
            l,
        )
        .unwrap()
        {
            ReplayStore::Memory(m) => m,
            _ => unreachable!(),
        };
        let a = get(&system, &svc, limits());
        assert!(Arc::ptr_eq(&a, &get(&other_system, &svc, limits())), "every system clock is one time line");
        assert!(!Arc::ptr_eq(&a, &get(&fixed, &svc, limits())));
        assert!(!Arc::ptr_eq(&a, &get(&system, &["HTTP/registry-test@R".to_string()], limits())));
        assert!(!Arc::ptr_eq(&a, &get(&system, &svc, ReplayLimits { clock_skew: 5, ..limits() })));
        let f1 = get(&fixed, &svc, limits());
        assert!(Arc::ptr_eq(&f1, &get(&fixed, &svc, limits())));
        // Kept while it has live entries, though no acceptor holds it…
        let now = Time::now();
        a.check_and_insert([7; 32], now.plus_secs(300), now).unwrap();
        let weak = Arc::downgrade(&a);
        drop(a);
        let b = get(&system, &svc, limits());
        assert!(Arc::ptr_eq(&b, &weak.upgrade().unwrap()));
        assert_eq!(
            b.check_and_insert([7; 32], now.plus_secs(300), now).unwrap_err().code(),
            ErrorCode::KRB_AP_ERR_REPEAT
        );
        drop(b);
        // …and let go when empty and unused: the next acceptor starts afresh.
        let f2 = get(&fixed, &["empty-test@R".to_string()], limits());
        let weak = Arc::downgrade(&f2);
        drop(f2);
        let _other = get(&fixed, &["trigger-prune@R".to_string()], limits());
        assert!(weak.upgrade().is_none());
    }
}
