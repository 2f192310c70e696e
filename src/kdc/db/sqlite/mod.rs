//! The realm database on disk: [`SqliteStore`], a [`PrincipalStore`] in one SQLite file, and the
//! [`MasterKey`] that encrypts the long-term keys in it.
//!
//! # The database file
//!
//! An SQLite 3 database in WAL mode (readers never wait for a writer, and a writer never waits for
//! readers), created with mode 0600. It is recognised by its header's `application_id`
//! ([`APPLICATION_ID`], `"ktix"`), a `ktix_meta` table and a `ktix_schema` table holding the schema
//! version ([`SCHEMA_VERSION`]); anything else is refused with [`ErrorCode::KTIX_ERR_BAD_FILE`]
//! naming the file, and a foreign file is never modified.
//!
//! ```text
//! ktix_meta(name, value)          realm, master_enctype, master_source ("random" | "password"),
//!                                 master_check (see below), created (Unix seconds)
//! ktix_schema(version)            one row: 2
//! ktix_generation(id = 1, value)  incremented by every write (the cache validator)
//! principals(id, name UNIQUE, name_type, requires_preauth, max_life, max_renewable_life,
//!            expiration (Unix microseconds), disabled, allow_forwardable, allow_renewable,
//!            policy (a policies name or NULL), fail_count, last_failed (Unix microseconds))
//! keys(principal_id, kvno, enctype, key_data, salt, s2kparams)   primary key (principal_id, kvno, enctype)
//! policies(name PRIMARY KEY, max_failures, failure_interval, lockout_duration, min_length,
//!          min_classes)                                          see [`super::Policy`]
//! ```
//!
//! A schema-1 database (no policies, no failure counts) is upgraded in place, in one
//! transaction, the first time it is opened with its master key; [`SqliteStore::inspect`] never
//! writes.
//!
//! `name` is the principal's display form (`a/b@REALM`, escaped), which is unique per principal.
//!
//! # Keys under the master key
//!
//! The long-term keys in `key_data` are encrypted under the realm's [`MasterKey`];
//! [`super::master_key`] describes how, and the stash file that holds the master key.
//!
//! # Consistency, crash safety, concurrency
//!
//! Every write (put, add, modify, delete) is one `BEGIN IMMEDIATE` transaction with
//! `synchronous=FULL`: a process killed at any moment leaves every committed change and no partial
//! one. Connections wait up to [`BUSY_TIMEOUT`] for a lock, so `ktix db` commands and a running KDC
//! share the file. Reads use a small pool of connections (one per concurrent reader, at most
//! [`MAX_IDLE_READERS`] kept idle); writes go through one writer connection.
//!
//! # The cache
//!
//! [`PrincipalStore::get`] is on the KDC's hot path. Decoded entries (and misses) are cached in
//! memory; each call reads the generation counter (one indexed row, one prepared statement) and
//! uses the cache only when the counter is unchanged, so a write from another process is seen by
//! the very next call. Within a KDC request ([`PrincipalStore::begin_request`] …
//! [`PrincipalStore::end_request`], which [`Kdc::process`](crate::kdc::Kdc::process) brackets
//! every request with) the counter is read once, at its start, and the request's lookups are
//! answered from the cache while it is still of that generation, and a write from another
//! process is seen by the next request. The counter itself is read (one read transaction, two
//! `fcntl` lock calls in WAL mode) only when the WAL index header at the start of the `-shm` file
//! (which every commit of every process rewrites) differs from the one read just before the
//! counter was last read; otherwise a request's check is one `pread` of those 96 bytes. Found entries are kept in a least-recently-used cache of at most
//! [`MAX_CACHED_ENTRIES`] principals; names that do not exist go to a separate set of at most
//! [`MAX_CACHED_MISSES`] names (emptied when full), so lookups of nonexistent names, however
//! many, never evict a real principal. Any write empties both. [`SqliteStore::cache_hits`]
//! counts the lookups answered from the cache. [`SqliteStore::set_caching`] turns it off (for measurement). Measured on a 2-core
//! machine (release build, 1,000 principals with 4 keys each, one thread, `measure_get_cost` in
//! `tests/sqlite_store.rs`): about 2.2 µs per cached `get`, about 23 µs uncached (two queries and
//! four key decryptions).
//!
//! The schema and the checks that a file is a ktix realm database are in `schema.rs`; reading and
//! writing one principal's rows in `rows.rs`.

mod policy;
mod rows;
mod schema;

use std::cell::Cell;
use std::ffi::OsString;
use std::fmt;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use self::rows::{generation, principal_id, read_entry, write_entry};
use self::schema::{
    connect, connect_existing, sql_bare, sql_err, upgrade, validate, wrong_master, FORMAT_NAME, SCHEMA_SQL,
};
use super::cache::Cache;
pub use super::master_key::{stash_path, MasterKey, STASH_MAGIC};
use super::store::{exists, Policy, PrincipalEntry, PrincipalStore};
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::principal::Principal;
use crate::time::Time;

/// The SQLite `application_id` of a ktix realm database: the bytes `"ktix"`.
pub const APPLICATION_ID: i32 = 0x6b74_6978;

/// The schema version this code reads and writes. A database of schema 1 (before policies and
/// lockout) is upgraded when opened with its master key.
pub const SCHEMA_VERSION: i64 = 2;

/// How long a connection waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle read connections kept for reuse.
pub const MAX_IDLE_READERS: usize = 16;

pub use super::cache::{MAX_CACHED_ENTRIES, MAX_CACHED_MISSES};

/// What a realm database says about itself, readable without its master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The realm.
    pub realm: String,
    /// The schema version.
    pub schema_version: i64,
    /// True when the master key was derived from a password (`ktix db init --master-password`),
    /// so a lost stash can be rebuilt from the password.
    pub master_from_password: bool,
}

/// A [`PrincipalStore`] in an SQLite file, long-term keys encrypted under a [`MasterKey`].
/// `Send + Sync`; see the [module documentation](self) for the format, caching and concurrency.
pub struct SqliteStore {
    path: PathBuf,
    realm: String,
    master: MasterKey,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    cache: Mutex<Cache>,
    caching: AtomicBool,
    cache_hits: AtomicU64,
    /// The change check of [`PrincipalStore::begin_request`] without a read transaction.
    shm: Mutex<ShmWatch>,
}

/// The size of the WAL index's header at the start of the `-shm` file: two copies of a 48-byte
/// header (frame count, checksums, salts, change counter) that SQLite rewrites at every commit
/// (the second copy first, then the first) and at every WAL reset.
const WAL_INDEX_HEADER: usize = 96;

/// The database's `-shm` file (the WAL index, shared by every process using the database) and
/// the header that was read there just before the generation counter was last read.
#[derive(Default)]
struct ShmWatch {
    file: Option<std::fs::File>,
    seen: Option<([u8; WAL_INDEX_HEADER], i64)>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).field("realm", &self.realm).finish()
    }
}

/// A pooled read connection, returned to the pool when dropped.
struct Reader<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl Reader<'_> {
    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut pool = self.store.readers.lock();
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
    }
}

impl SqliteStore {
    /// Creates a new, empty realm database at `path` (mode 0600) whose keys will be encrypted
    /// with `master`, and opens it. An existing file is never overwritten
    /// ([`ErrorCode::KTIX_ERR_EXISTS`]). The database holds no principal yet.
    pub fn create(path: &Path, realm: &str, master: &MasterKey) -> Result<SqliteStore> {
        SqliteStore::create_with_source(path, realm, master, false)
    }

    /// Like [`SqliteStore::create`], recording that `master` was derived from a password
    /// ([`DatabaseInfo::master_from_password`]).
    pub fn create_from_password(path: &Path, realm: &str, master: &MasterKey) -> Result<SqliteStore> {
        SqliteStore::create_with_source(path, realm, master, true)
    }

    fn create_with_source(path: &Path, realm: &str, master: &MasterKey, from_password: bool) -> Result<SqliteStore> {
        if realm.is_empty() {
            return Err(Error::invalid("the realm name is empty"));
        }
        // Exclusive creation: refuses any existing file and gives the database mode 0600.
        match OpenOptions::new().write(true).create_new(true).mode(fsutil::SECRET_FILE_MODE).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_EXISTS,
                    format!("{}: already exists, refusing to overwrite it", path.display()),
                ))
            }
            Err(e) => return Err(Error::io(path.display(), e)),
        }
        let initialized = (|| -> Result<()> {
            let mut conn = connect(path)?;
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(|e| sql_err(path, e))?;
            let check = master.check_value()?;
            let source = if from_password { "password" } else { "random" };
            let now = Time::now().unix();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive).map_err(|e| sql_err(path, e))?;
            (|| -> rusqlite::Result<()> {
                tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))?;
                tx.execute_batch(SCHEMA_SQL)?;
                tx.execute("INSERT INTO ktix_schema (version) VALUES (?1)", [SCHEMA_VERSION])?;
                let mut meta = tx.prepare("INSERT INTO ktix_meta (name, value) VALUES (?1, ?2)")?;
                meta.execute(params!["format", FORMAT_NAME])?;
                meta.execute(params!["realm", realm])?;
                meta.execute(params!["master_enctype", MasterKey::ENCTYPE.id()])?;
                meta.execute(params!["master_source", source])?;
                meta.execute(params!["master_check", check])?;
                meta.execute(params!["created", now])?;
                let enctypes: Vec<&str> = crate::kdc::DEFAULT_ENCTYPES.iter().map(|e| e.name()).collect();
                meta.execute(params!["enctypes", enctypes.join(",")])?;
                Ok(())
            })()
            .map_err(|e| sql_err(path, e))?;
            tx.commit().map_err(|e| sql_err(path, e))
        })();
        if let Err(e) = initialized {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = OsString::from(path.as_os_str());
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
            return Err(e.context("creating the realm database"));
        }
        SqliteStore::open(path, master)
    }

    /// The database at `path` with its stash beside it ([`stash_path`]): opened when it exists
    /// (its realm must be `realm` when one is given), created with a new random master key,
    /// stashed first, when it does not (then `realm` is required). For embedders (the C and
    /// Python layers); the `ktix db` commands create and open explicitly.
    pub fn open_or_create(path: &Path, realm: Option<&str>) -> Result<SqliteStore> {
        let stash = stash_path(path);
        if std::fs::symlink_metadata(path).is_ok() {
            let info = SqliteStore::inspect(path)?;
            if let Some(r) = realm {
                if r != info.realm {
                    return Err(Error::invalid(format!(
                        "{}: the database is for realm {}, not {r}",
                        path.display(),
                        info.realm
                    )));
                }
            }
            if std::fs::symlink_metadata(&stash).is_err() {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_IO,
                    format!("{}: its master-key stash {} is missing", path.display(), stash.display()),
                ));
            }
            return SqliteStore::open(path, &MasterKey::load_stash(&stash)?);
        }
        let realm = realm.ok_or_else(|| {
            Error::new(
                ErrorCode::KTIX_ERR_NULL_ARGUMENT,
                format!("{}: no database there, and realm is NULL (needed to create one)", path.display()),
            )
        })?;
        if realm.is_empty() {
            return Err(Error::invalid("the realm name is empty"));
        }
        if std::fs::symlink_metadata(&stash).is_ok() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_EXISTS,
                format!("{}: a master-key stash already exists but the database does not", stash.display()),
            ));
        }
        let master = MasterKey::generate()?;
        master.save_stash(&stash)?;
        SqliteStore::create(path, realm, &master).inspect_err(|_| {
            let _ = std::fs::remove_file(&stash);
        })
    }

    /// Opens an existing realm database. Errors name the file: a missing or unreadable file
    /// (`KTIX_ERR_IO`); a file that is not SQLite, or an SQLite database that is not a ktix realm
    /// database, or of a newer schema (`KTIX_ERR_BAD_FILE`); a master key other than the one the
    /// database was created with (`KRB_AP_ERR_BAD_INTEGRITY`).
    pub fn open(path: &Path, master: &MasterKey) -> Result<SqliteStore> {
        let mut conn = connect_existing(path)?;
        let meta = validate(&conn, path)?;
        if !master.matches_check(meta.master_enctype, &meta.master_check) {
            return Err(wrong_master(path));
        }
        // Only now that the file is known to be ours: make sure of WAL and durable commits.
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).map_err(|e| sql_err(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(|e| sql_err(path, e))?;
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| sql_err(path, e))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(|e| sql_err(path, e))?;
        upgrade(&mut conn, path, meta.info.schema_version)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            realm: meta.info.realm,
            master: master.clone(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            cache: Mutex::new(Cache::new()),
            cache_hits: AtomicU64::new(0),
            caching: AtomicBool::new(true),
            shm: Mutex::new(ShmWatch::default()),
        })
    }

    /// Reads what a realm database says about itself (realm, schema version, master-key source)
    /// without its master key; errors as for [`SqliteStore::open`]. Nothing is written.
    pub fn inspect(path: &Path) -> Result<DatabaseInfo> {
        let conn = connect_existing(path)?;
        Ok(validate(&conn, path)?.info)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The realm the database was created for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The master key the database was opened with.
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The enctypes the realm gives principals keys of, strongest first (`ktix db init
    /// --enctypes`; a new database has [`crate::kdc::DEFAULT_ENCTYPES`]); every supported
    /// enctype for a database created before that default (it names none).
    pub fn enctypes(&self) -> Result<Vec<Enctype>> {
        let mut r = self.reader()?;
        let value: Option<String> = r
            .conn()
            .query_row("SELECT value FROM ktix_meta WHERE name = 'enctypes'", [], |row| row.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        match value {
            None => Ok(Enctype::ALL.to_vec()),
            Some(v) => v.split(',').map(Enctype::from_name).collect::<Result<Vec<_>>>().map_err(|e| {
                Error::new(
                    ErrorCode::KTIX_ERR_BAD_FILE,
                    format!("{}: realm enctypes: {}", self.path.display(), e.message()),
                )
            }),
        }
    }

    /// Sets the enctypes the realm gives principals keys of (new keys only; existing keys stay).
    pub fn set_enctypes(&self, enctypes: &[Enctype]) -> Result<()> {
        if enctypes.is_empty() {
            return Err(Error::invalid("the realm needs at least one enctype"));
        }
        let names: Vec<&str> = enctypes.iter().map(|e| e.name()).collect();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO ktix_meta (name, value) VALUES ('enctypes', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                [names.join(",")],
            )
            .map_err(|e| self.sql(e))?;
            Ok(())
        })
    }

    /// Turns the in-memory cache of decoded entries on (the default) or off.
    pub fn set_caching(&self, on: bool) {
        self.caching.store(on, Ordering::Relaxed);
        if !on {
            self.cache.lock().clear();
        }
    }

    /// How many [`PrincipalStore::get`] calls were answered from the read cache so far (for
    /// tests and measurement: see the [module documentation](self)).
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// Adds a new principal; [`ErrorCode::KTIX_ERR_EXISTS`] when it is already there (checked
    /// and written in one transaction, so two concurrent adders cannot both succeed).
    pub fn add(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx| {
            if principal_id(tx, &entry.principal)?.is_some() {
                return Err(exists(&entry.principal));
            }
            write_entry(tx, &self.master, &entry, None)
        })
    }

    /// Changes a principal in one transaction: reads it, lets `f` change it, writes it back, and
    /// returns the new entry. [`ErrorCode::KTIX_ERR_NOT_FOUND`] when there is no such principal;
    /// when `f` fails nothing is written.
    pub fn modify(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut PrincipalEntry) -> Result<()>,
    ) -> Result<Arc<PrincipalEntry>> {
        self.write(|tx| {
            let id = principal_id(tx, principal)?;
            let mut entry = match id {
                Some(_) => read_entry(tx, &self.master, principal)?,
                None => None,
            }
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no principal {principal}")))?;
            f(&mut entry)?;
            if entry.principal != *principal {
                return Err(Error::invalid("a principal cannot be renamed by modify"));
            }
            self.check_entry(&entry)?;
            write_entry(tx, &self.master, &entry, id)?;
            Ok(Arc::new(entry))
        })
    }

    fn check_entry(&self, entry: &PrincipalEntry) -> Result<()> {
        if entry.keys.is_empty() {
            return Err(Error::new(ErrorCode::KDC_ERR_NULL_KEY, format!("{} has no keys", entry.principal)));
        }
        if entry.principal.realm() != self.realm {
            return Err(Error::invalid(format!("{} is not in realm {}", entry.principal, self.realm)));
        }
        Ok(())
    }

    /// Runs `f` in one immediate transaction on the writer connection, bumps the generation
    /// counter and commits; on any error the transaction is rolled back.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.sql(e))?;
        let out = f(&tx).map_err(|e| e.context(self.path.display()))?;
        tx.execute("UPDATE ktix_generation SET value = value + 1 WHERE id = 1", []).map_err(|e| self.sql(e))?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(out)
    }

    fn reader(&self) -> Result<Reader<'_>> {
        let pooled = self.readers.lock().pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = connect(&self.path)?;
                c.pragma_update(None, "query_only", true).map_err(|e| self.sql(e))?;
                c
            }
        };
        Ok(Reader { store: self, conn: Some(conn) })
    }

    fn sql(&self, e: rusqlite::Error) -> Error {
        sql_err(&self.path, e)
    }

    /// Reads one entry (and the generation it was read at) in one read transaction.
    fn load(&self, conn: &mut Connection, principal: &Principal) -> Result<(i64, Option<PrincipalEntry>)> {
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let generation = generation(&tx).map_err(|e| self.sql(e))?;
        let entry = read_entry(&tx, &self.master, principal).map_err(|e| e.context(self.path.display()))?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok((generation, entry))
    }
}

thread_local! {
    /// The store (by address) and the generation the calling thread's current KDC request
    /// checked at its start ([`PrincipalStore::begin_request`]).
    static REQUEST_GENERATION: Cell<Option<(usize, i64)>> = const { Cell::new(None) };
}

impl SqliteStore {
    /// This store's identity for [`REQUEST_GENERATION`].
    fn id(&self) -> usize {
        self as *const SqliteStore as usize
    }

    /// The WAL index header as it is now, when it can be read and its two copies agree (they
    /// differ while a commit is publishing its header: then `None`, as when the `-shm` file is
    /// missing, and the caller reads the generation in a transaction).
    fn wal_index_header(watch: &mut ShmWatch, path: &Path) -> Option<[u8; WAL_INDEX_HEADER]> {
        use std::os::unix::fs::FileExt;
        if watch.file.is_none() {
            let mut shm = path.as_os_str().to_owned();
            shm.push("-shm");
            watch.file = std::fs::File::open(shm).ok();
        }
        let mut header = [0u8; WAL_INDEX_HEADER];
        watch.file.as_ref()?.read_exact_at(&mut header, 0).ok()?;
        let (first, second) = header.split_at(WAL_INDEX_HEADER / 2);
        (first == second).then_some(header)
    }

    /// The generation the current request on this thread checked, if one is open on this store.
    fn request_generation(&self) -> Option<i64> {
        REQUEST_GENERATION.with(Cell::get).and_then(|(id, g)| (id == self.id()).then_some(g))
    }
}

impl PrincipalStore for SqliteStore {
    fn cache_hits(&self) -> Option<u64> {
        Some(SqliteStore::cache_hits(self))
    }

    fn begin_request(&self) {
        if !self.caching.load(Ordering::Relaxed) {
            return;
        }
        // Every commit (of any process) rewrites the WAL index header in the `-shm` file: while
        // it is the one read just before the generation was last read, nothing was committed
        // since and that generation is current, without a read transaction (whose `fcntl` locks
        // and statement cost more than this one `pread`).
        let header = {
            let mut watch = self.shm.lock();
            let header = Self::wal_index_header(&mut watch, &self.path);
            if let (Some(now), Some((seen, generation))) = (header, watch.seen) {
                if now == seen {
                    drop(watch);
                    REQUEST_GENERATION.with(|g| g.set(Some((self.id(), generation))));
                    return;
                }
            }
            header
        };
        // When the counter cannot be read, nothing is marked and every lookup checks on its own.
        let Ok(mut reader) = self.reader() else { return };
        let Ok(current) = generation(reader.conn()) else { return };
        drop(reader);
        {
            let mut cache = self.cache.lock();
            if cache.generation != current {
                cache.clear();
                cache.generation = current;
            }
        }
        // The header read before the counter: a commit in between changed the header, so the
        // next request reads the counter again.
        self.shm.lock().seen = header.map(|h| (h, current));
        REQUEST_GENERATION.with(|g| g.set(Some((self.id(), current))));
    }

    fn end_request(&self) {
        REQUEST_GENERATION.with(|g| {
            if g.get().is_some_and(|(id, _)| id == self.id()) {
                g.set(None);
            }
        });
    }

    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>> {
        if let Some(checked) = self.request_generation().filter(|_| self.caching.load(Ordering::Relaxed)) {
            let mut cache = self.cache.lock();
            if cache.generation == checked {
                if let Some(hit) = cache.get(principal) {
                    self.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(hit);
                }
            }
        }
        let mut reader = self.reader()?;
        let conn = reader.conn();
        if !self.caching.load(Ordering::Relaxed) {
            return Ok(self.load(conn, principal)?.1.map(Arc::new));
        }
        let current = generation(conn).map_err(|e| self.sql(e))?;
        {
            let mut cache = self.cache.lock();
            if cache.generation == current {
                if let Some(hit) = cache.get(principal) {
                    self.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(hit);
                }
            }
        }
        let (read_at, entry) = self.load(conn, principal)?;
        let entry = entry.map(Arc::new);
        let mut cache = self.cache.lock();
        // Entries are cached with the generation they were read at; a different generation
        // (newer, or an older snapshot of a slower reader) replaces the whole cache.
        if cache.generation != read_at {
            cache.clear();
            cache.generation = read_at;
        }
        cache.insert(principal, entry.clone());
        Ok(entry)
    }

    fn put(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx| {
            let id = principal_id(tx, &entry.principal)?;
            write_entry(tx, &self.master, &entry, id)
        })
    }

    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        SqliteStore::add(self, entry)
    }

    fn delete(&self, principal: &Principal) -> Result<bool> {
        self.write(|tx| {
            let name = principal.to_string();
            let sql = sql_bare;
            tx.execute("DELETE FROM keys WHERE principal_id IN (SELECT id FROM principals WHERE name = ?1)", [&name])
                .map_err(sql)?;
            Ok(tx.execute("DELETE FROM principals WHERE name = ?1", [&name]).map_err(sql)? > 0)
        })
    }

    fn list(&self) -> Result<Vec<Principal>> {
        let mut reader = self.reader()?;
        let conn = reader.conn();
        let mut stmt =
            conn.prepare_cached("SELECT name, name_type FROM principals ORDER BY name").map_err(|e| self.sql(e))?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i32>(1)?))).map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, nt) = row.map_err(|e| self.sql(e))?;
            let p = Principal::parse(&name, None).map_err(|e| {
                Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: bad principal name: {e}", self.path.display()))
            })?;
            out.push(p.with_name_type(nt));
        }
        Ok(out)
    }

    fn get_policy(&self, name: &str) -> Result<Option<Policy>> {
        let mut reader = self.reader()?;
        policy::get(reader.conn(), name).map_err(|e| e.context(self.path.display()))
    }

    fn put_policy(&self, p: Policy) -> Result<()> {
        p.validate()?;
        self.write(|tx| policy::put(tx, &p))
    }

    fn delete_policy(&self, name: &str) -> Result<bool> {
        self.write(|tx| policy::delete(tx, name))
    }

    fn list_policies(&self) -> Result<Vec<Policy>> {
        let mut reader = self.reader()?;
        policy::list(reader.conn()).map_err(|e| e.context(self.path.display()))
    }

    fn record_failure(&self, principal: &Principal, p: &Policy, now: Time) -> Result<()> {
        self.write(|tx| policy::record_failure(tx, principal, p, now))
    }

    fn clear_failures(&self, principal: &Principal) -> Result<()> {
        self.write(|tx| policy::clear_failures(tx, principal))
    }
}
