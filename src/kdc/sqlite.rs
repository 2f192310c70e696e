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
//! ktix_schema(version)            one row: 1
//! ktix_generation(id = 1, value)  incremented by every write (the cache validator)
//! principals(id, name UNIQUE, name_type, requires_preauth, max_life, max_renewable_life,
//!            expiration (Unix microseconds), disabled, allow_forwardable, allow_renewable)
//! keys(principal_id, kvno, enctype, key_data, salt, s2kparams)   primary key (principal_id, kvno, enctype)
//! ```
//!
//! `name` is the principal's display form (`a/b@REALM`, escaped), which is unique per principal.
//!
//! # Keys under the master key
//!
//! `key_data` is `master.encrypt(KTIX_DB_MASTER_KEY, plaintext)` (usage
//! [`usage::KTIX_DB_MASTER_KEY`], aes256-cts-hmac-sha1-96 with a random confounder) where the
//! plaintext binds the key to its row: `u16 name length ‖ name ‖ u32 kvno ‖ i32 enctype ‖ key bytes`
//! (big-endian), so a key row copied to another principal, kvno or enctype fails to decrypt.
//! `master_check` is the same encryption of a fixed text; opening the database with another
//! master key fails its integrity check, reported as a wrong master key.
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
//! the very next call. The cache holds at most [`MAX_CACHED_ENTRIES`] names and is emptied by any
//! write. [`SqliteStore::set_caching`] turns it off (for measurement). Measured on a 2-core
//! machine (release build, 1,000 principals with 4 keys each, one thread, `measure_get_cost` in
//! `tests/sqlite_store.rs`): about 2.2 µs per cached `get`, about 23 µs uncached (two queries and
//! four key decryptions).
//!
//! # The stash
//!
//! [`MasterKey::save_stash`] writes the master key to a file (0600, atomically) in this format:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "KTIXMKEY"
//! 8       2     format version, big-endian: 1
//! 10      4     enctype, big-endian: 18 (aes256-cts-hmac-sha1-96)
//! 14      2     key length, big-endian: 32
//! 16      32    key
//! 48      4     the first 4 bytes of SHA-256 over bytes 0..48
//! ```
//!
//! The default stash of a database is the database path with `.stash` appended
//! (`realm.db` → `realm.db.stash`): [`stash_path`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use super::store::{KeyEntry, PrincipalEntry, PrincipalStore};
use crate::crypto::{usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::principal::{name_type, Principal};
use crate::time::Time;

/// The SQLite `application_id` of a ktix realm database: the bytes `"ktix"`.
pub const APPLICATION_ID: i32 = 0x6b74_6978;

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a connection waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle read connections kept for reuse.
pub const MAX_IDLE_READERS: usize = 16;

/// The most principal names (found or not) the read cache holds before it is emptied.
pub const MAX_CACHED_ENTRIES: usize = 65_536;

/// The magic bytes at the start of a master-key stash file.
pub const STASH_MAGIC: &[u8; 8] = b"KTIXMKEY";

const STASH_VERSION: u16 = 1;
const STASH_CHECK_LEN: usize = 4;
/// A stash is 52 bytes; anything much larger is not one.
const MAX_STASH_SIZE: usize = 4096;
const KEY_CHECK_TEXT: &[u8] = b"ktix realm database master key check, version 1";
const FORMAT_NAME: &str = "ktix realm database";

const SCHEMA_SQL: &str = "
CREATE TABLE ktix_meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE ktix_schema (version INTEGER NOT NULL);
CREATE TABLE ktix_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_type INTEGER NOT NULL,
    requires_preauth INTEGER NOT NULL,
    max_life INTEGER,
    max_renewable_life INTEGER,
    expiration INTEGER,
    disabled INTEGER NOT NULL,
    allow_forwardable INTEGER NOT NULL,
    allow_renewable INTEGER NOT NULL
);
CREATE TABLE keys (
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    kvno INTEGER NOT NULL,
    enctype INTEGER NOT NULL,
    key_data BLOB NOT NULL,
    salt BLOB NOT NULL,
    s2kparams BLOB,
    PRIMARY KEY (principal_id, kvno, enctype)
) WITHOUT ROWID;
INSERT INTO ktix_generation (id, value) VALUES (1, 0);
";

/// The default master-key stash of the database at `db`: the same path with `.stash` appended.
pub fn stash_path(db: &Path) -> PathBuf {
    let mut s = OsString::from(db.as_os_str());
    s.push(".stash");
    PathBuf::from(s)
}

/// A realm's master key: the aes256-cts-hmac-sha1-96 key that encrypts every long-term key in the
/// database. `Debug` never shows the key.
#[derive(Clone)]
pub struct MasterKey {
    key: Key,
}

impl MasterKey {
    /// The enctype of every master key.
    pub const ENCTYPE: Enctype = Enctype::Aes256CtsHmacSha196;

    /// A fresh random master key.
    pub fn generate() -> Result<MasterKey> {
        Ok(MasterKey { key: Key::random(Self::ENCTYPE)? })
    }

    /// The master key derived from a password: string-to-key of aes256-cts-hmac-sha1-96 with the
    /// default iteration count (4096) and the salt [`MasterKey::password_salt`] of `realm`.
    pub fn from_password(password: &[u8], realm: &str) -> Result<MasterKey> {
        if password.is_empty() {
            return Err(Error::invalid("the master password is empty"));
        }
        let salt = MasterKey::password_salt(realm)?;
        Ok(MasterKey { key: Key::from_password(Self::ENCTYPE, password, &salt, None)? })
    }

    /// The salt of a master password: the default salt of the principal `K/M@REALM` (the realm
    /// followed by `K` and `M`, as for MIT's master-key principal), e.g. `KTIX.TESTKM`.
    pub fn password_salt(realm: &str) -> Result<Vec<u8>> {
        let km = Principal::new(name_type::PRINCIPAL, vec!["K".into(), "M".into()], realm)?;
        Ok(km.default_salt())
    }

    /// A master key from a key, which must be aes256-cts-hmac-sha1-96.
    pub fn from_key(key: Key) -> Result<MasterKey> {
        if key.enctype() != Self::ENCTYPE {
            return Err(Error::invalid(format!(
                "a master key must be {}, not {}",
                Self::ENCTYPE.name(),
                key.enctype().name()
            )));
        }
        Ok(MasterKey { key })
    }

    /// The key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Reads a stash file (format in the [module documentation](self)). A missing or unreadable
    /// file is `KTIX_ERR_IO`, a truncated or corrupt one `KTIX_ERR_BAD_FILE`; both name the file.
    pub fn load_stash(path: &Path) -> Result<MasterKey> {
        let bytes = fsutil::read_limited(path, MAX_STASH_SIZE)?;
        MasterKey::parse_stash(&bytes).map_err(|e| e.context(format!("master-key stash {}", path.display())))
    }

    /// Writes the key to a stash file, atomically and readable by the owner only (0600).
    pub fn save_stash(&self, path: &Path) -> Result<()> {
        fsutil::write_atomic(path, &self.stash_bytes())
    }

    fn stash_bytes(&self) -> Zeroizing<Vec<u8>> {
        let key = self.key.bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(16 + key.len() + STASH_CHECK_LEN));
        out.extend_from_slice(STASH_MAGIC);
        out.extend_from_slice(&STASH_VERSION.to_be_bytes());
        out.extend_from_slice(&self.key.enctype().id().to_be_bytes());
        out.extend_from_slice(&(key.len() as u16).to_be_bytes());
        out.extend_from_slice(key);
        let check = openssl::sha::sha256(&out);
        out.extend_from_slice(&check[..STASH_CHECK_LEN]);
        out
    }

    fn parse_stash(bytes: &[u8]) -> Result<MasterKey> {
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, why.to_string());
        if bytes.len() < 16 || &bytes[..8] != STASH_MAGIC {
            return Err(bad("not a ktix master-key stash (no KTIXMKEY header)"));
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != STASH_VERSION {
            return Err(bad(&format!("unsupported stash format version {version}")));
        }
        let enctype = i32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        let key_len = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
        let body_len = 16 + key_len;
        if bytes.len() != body_len + STASH_CHECK_LEN {
            return Err(bad(&format!(
                "truncated or oversized: {} bytes, expected {}",
                bytes.len(),
                body_len + STASH_CHECK_LEN
            )));
        }
        let check = openssl::sha::sha256(&bytes[..body_len]);
        if !openssl::memcmp::eq(&check[..STASH_CHECK_LEN], &bytes[body_len..]) {
            return Err(bad("corrupt (its check value does not match)"));
        }
        let key = Key::from_parts(enctype, &bytes[16..body_len]).map_err(|e| bad(&format!("bad key: {e}")))?;
        MasterKey::from_key(key).map_err(|e| bad(e.message()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.key.enctype().name())
    }
}

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

/// The cache of decoded entries, valid for one value of the generation counter.
struct Cache {
    generation: i64,
    entries: HashMap<Principal, Option<Arc<PrincipalEntry>>>,
}

/// A [`PrincipalStore`] in an SQLite file, long-term keys encrypted under a [`MasterKey`].
/// `Send + Sync`; see the [module documentation](self) for the format, caching and concurrency.
pub struct SqliteStore {
    path: PathBuf,
    realm: String,
    master: MasterKey,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    cache: RwLock<Cache>,
    caching: AtomicBool,
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
            let check = master.key.encrypt(usage::KTIX_DB_MASTER_KEY, KEY_CHECK_TEXT)?;
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
        let conn = connect_existing(path)?;
        let meta = validate(&conn, path)?;
        if meta.master_enctype != master.key.enctype().id() {
            return Err(wrong_master(path));
        }
        match master.key.decrypt(usage::KTIX_DB_MASTER_KEY, &meta.master_check) {
            Ok(text) if text.as_slice() == KEY_CHECK_TEXT => {}
            _ => return Err(wrong_master(path)),
        }
        // Only now that the file is known to be ours: make sure of WAL and durable commits.
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).map_err(|e| sql_err(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(|e| sql_err(path, e))?;
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| sql_err(path, e))?;
        conn.pragma_update(None, "foreign_keys", true).map_err(|e| sql_err(path, e))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            realm: meta.info.realm,
            master: master.clone(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            cache: RwLock::new(Cache { generation: -1, entries: HashMap::new() }),
            caching: AtomicBool::new(true),
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

    /// The enctypes the realm gives principals keys of, strongest first (`ktix db init
    /// --enctypes`); every supported enctype when the database names none.
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
            self.cache.write().entries.clear();
        }
    }

    /// Adds a new principal; [`ErrorCode::KTIX_ERR_EXISTS`] when it is already there (checked
    /// and written in one transaction, so two concurrent adders cannot both succeed).
    pub fn add(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx| {
            if principal_id(tx, &entry.principal)?.is_some() {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_EXISTS,
                    format!("principal {} already exists", entry.principal),
                ));
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

impl PrincipalStore for SqliteStore {
    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>> {
        let mut reader = self.reader()?;
        let conn = reader.conn();
        if !self.caching.load(Ordering::Relaxed) {
            return Ok(self.load(conn, principal)?.1.map(Arc::new));
        }
        let current = generation(conn).map_err(|e| self.sql(e))?;
        {
            let cache = self.cache.read();
            if cache.generation == current {
                if let Some(hit) = cache.entries.get(principal) {
                    return Ok(hit.clone());
                }
            }
        }
        let (read_at, entry) = self.load(conn, principal)?;
        let entry = entry.map(Arc::new);
        let mut cache = self.cache.write();
        // Entries are cached with the generation they were read at; a different generation
        // (newer, or an older snapshot of a slower reader) replaces the whole cache.
        if cache.generation != read_at {
            cache.entries.clear();
            cache.generation = read_at;
        }
        if cache.entries.len() >= MAX_CACHED_ENTRIES {
            cache.entries.clear();
        }
        cache.entries.insert(principal.clone(), entry.clone());
        Ok(entry)
    }

    fn put(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx| {
            let id = principal_id(tx, &entry.principal)?;
            write_entry(tx, &self.master, &entry, id)
        })
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
}

/// Opens a connection (read-write, never creating the file, no URI names) with the busy timeout.
fn connect(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql_err(path, e))?;
    Ok(conn)
}

/// Like [`connect`], after checking with the file system that `path` is a readable and writable
/// regular file (for errors that say what is wrong).
fn connect_existing(path: &Path) -> Result<Connection> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display(), e))?;
    if !meta.is_file() {
        return Err(Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: not a regular file", path.display())));
    }
    OpenOptions::new().read(true).write(true).open(path).map_err(|e| Error::io(path.display(), e))?;
    connect(path)
}

struct Meta {
    info: DatabaseInfo,
    master_enctype: i32,
    master_check: Vec<u8>,
}

/// Checks that `conn` is a ktix realm database of a schema we read, and reads its metadata.
/// Reads only: a foreign file is left as it is.
fn validate(conn: &Connection, path: &Path) -> Result<Meta> {
    let foreign = |why: String| {
        Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: not a ktix realm database ({why})", path.display()))
    };
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            foreign("not an SQLite database file".into())
        }
        e => sql_err(path, e),
    })?;
    if app_id != APPLICATION_ID {
        return Err(foreign(if app_id == 0 {
            "an empty file or an SQLite database of another application".into()
        } else {
            format!("an SQLite database with application_id {app_id:#x}")
        }));
    }
    let has_table = |name: &str| -> Result<bool> {
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
        .map_err(|e| sql_err(path, e))
    };
    for t in ["ktix_meta", "ktix_schema", "ktix_generation", "principals", "keys"] {
        if !has_table(t)? {
            return Err(foreign(format!("no {t} table")));
        }
    }
    let version: i64 = conn
        .query_row("SELECT max(version) FROM ktix_schema", [], |r| r.get::<_, Option<i64>>(0))
        .map_err(|e| sql_err(path, e))?
        .ok_or_else(|| foreign("no schema version".into()))?;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_BAD_FILE,
            format!(
                "{}: schema version {version} is newer than this ktix reads ({SCHEMA_VERSION}); upgrade ktix",
                path.display()
            ),
        ));
    }
    if version < 1 {
        return Err(foreign(format!("schema version {version}")));
    }
    let meta = |name: &str| -> Result<rusqlite::types::Value> {
        conn.query_row("SELECT value FROM ktix_meta WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(path, e))?
            .ok_or_else(|| {
                Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: no {name} in ktix_meta", path.display()))
            })
    };
    use rusqlite::types::Value;
    let bad_meta = |name: &str| {
        Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: ktix_meta {name} has the wrong type", path.display()))
    };
    match meta("format")? {
        Value::Text(t) if t == FORMAT_NAME => {}
        _ => return Err(foreign("wrong format name in ktix_meta".into())),
    }
    let realm = match meta("realm")? {
        Value::Text(t) if !t.is_empty() => t,
        _ => return Err(bad_meta("realm")),
    };
    let master_enctype = match meta("master_enctype")? {
        Value::Integer(n) => i32::try_from(n).map_err(|_| bad_meta("master_enctype"))?,
        _ => return Err(bad_meta("master_enctype")),
    };
    let master_check = match meta("master_check")? {
        Value::Blob(b) => b,
        _ => return Err(bad_meta("master_check")),
    };
    let master_from_password = match meta("master_source")? {
        Value::Text(t) if t == "password" => true,
        Value::Text(t) if t == "random" => false,
        _ => return Err(bad_meta("master_source")),
    };
    Ok(Meta {
        info: DatabaseInfo { realm, schema_version: version, master_from_password },
        master_enctype,
        master_check,
    })
}

fn wrong_master(path: &Path) -> Error {
    Error::new(
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
        format!("{}: wrong master key (the stash or master password does not belong to this database)", path.display()),
    )
}

/// An SQLite error as an [`Error`] naming the file: `KTIX_ERR_BAD_FILE` for a corrupt or foreign
/// file, `KTIX_ERR_IO` otherwise.
fn sql_err(path: &Path, e: rusqlite::Error) -> Error {
    sql_bare(e).context(path.display())
}

/// An SQLite error as an [`Error`], for callers that add the file name.
fn sql_bare(e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) =>
        {
            ErrorCode::KTIX_ERR_BAD_FILE
        }
        _ => ErrorCode::KTIX_ERR_IO,
    };
    Error::new(code, format!("SQLite: {e}"))
}

fn generation(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM ktix_generation WHERE id = 1")?.query_row([], |r| r.get(0))
}

fn principal_id(conn: &Connection, principal: &Principal) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM principals WHERE name = ?1")
        .and_then(|mut s| s.query_row([principal.to_string()], |r| r.get(0)).optional())
        .map_err(sql_bare)
}

/// The plaintext a stored key is encrypted as: its row's identity, then the key bytes.
fn key_plaintext(name: &str, kvno: u32, enctype: i32, key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let name_len = u16::try_from(name.len()).map_err(|_| Error::invalid("principal name too long"))?;
    let mut p = Zeroizing::new(Vec::with_capacity(2 + name.len() + 8 + key.len()));
    p.extend_from_slice(&name_len.to_be_bytes());
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(&kvno.to_be_bytes());
    p.extend_from_slice(&enctype.to_be_bytes());
    p.extend_from_slice(key);
    Ok(p)
}

/// Writes `entry` inside the caller's transaction, replacing the row and its keys when the
/// principal already has one (`id_known`).
fn write_entry(conn: &Connection, master: &MasterKey, entry: &PrincipalEntry, id_known: Option<i64>) -> Result<()> {
    let name = entry.principal.to_string();
    let mut encrypted = Vec::with_capacity(entry.keys.len());
    for k in &entry.keys {
        let enctype = k.key.enctype().id();
        let pt = key_plaintext(&name, k.kvno, enctype, k.key.bytes())?;
        encrypted.push((k, enctype, master.key.encrypt(usage::KTIX_DB_MASTER_KEY, &pt)?));
    }
    let e = entry;
    let sql = sql_bare;
    // One statement for both cases: the row is keyed by the principal's name.
    let id: i64 = conn
        .query_row(
            "INSERT INTO principals (name, name_type, requires_preauth, max_life, max_renewable_life,
             expiration, disabled, allow_forwardable, allow_renewable) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(name) DO UPDATE SET name_type = excluded.name_type,
                 requires_preauth = excluded.requires_preauth, max_life = excluded.max_life,
                 max_renewable_life = excluded.max_renewable_life, expiration = excluded.expiration,
                 disabled = excluded.disabled, allow_forwardable = excluded.allow_forwardable,
                 allow_renewable = excluded.allow_renewable
             RETURNING id",
            params![
                name,
                e.principal.name_type(),
                e.requires_preauth,
                e.max_life,
                e.max_renewable_life,
                e.expiration.map(Time::unix_micros),
                e.disabled,
                e.allow_forwardable,
                e.allow_renewable
            ],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if id_known.is_some() {
        conn.execute("DELETE FROM keys WHERE principal_id = ?1", [id]).map_err(sql)?;
    }
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO keys (principal_id, kvno, enctype, key_data, salt, s2kparams) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sql)?;
    for (k, enctype, data) in encrypted {
        ins.execute(params![id, k.kvno, enctype, data, k.salt, k.s2kparams]).map_err(|err| match err {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Error::invalid(format!("{name} has two keys of enctype {enctype} at kvno {}", k.kvno))
            }
            err => sql(err),
        })?;
    }
    Ok(())
}

/// Reads and decrypts the entry of `principal` (inside the caller's transaction, if any).
fn read_entry(conn: &Connection, master: &MasterKey, principal: &Principal) -> Result<Option<PrincipalEntry>> {
    let name = principal.to_string();
    let sql = sql_bare;
    type Row = (i64, i32, bool, Option<i64>, Option<i64>, Option<i64>, bool, bool, bool);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT id, name_type, requires_preauth, max_life, max_renewable_life, expiration, disabled,
             allow_forwardable, allow_renewable FROM principals WHERE name = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
            })
            .optional()
        })
        .map_err(sql)?;
    let Some((id, nt, requires_preauth, max_life, max_renewable_life, expiration, disabled, fwd, renew)) = row else {
        return Ok(None);
    };
    let bad = |what: String| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("principal {name}: {what}"));
    let mut stmt = conn
        .prepare_cached(
            "SELECT kvno, enctype, key_data, salt, s2kparams FROM keys WHERE principal_id = ?1
             ORDER BY kvno DESC, enctype DESC",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Option<Vec<u8>>>(4)?,
            ))
        })
        .map_err(sql)?;
    let mut keys = Vec::new();
    for row in rows {
        let (kvno, enctype, data, salt, s2kparams) = row.map_err(sql)?;
        let kvno = u32::try_from(kvno).map_err(|_| bad(format!("key version {kvno} out of range")))?;
        let enctype = i32::try_from(enctype).map_err(|_| bad(format!("enctype {enctype} out of range")))?;
        let et = Enctype::from_i32(enctype).map_err(|_| bad(format!("unsupported enctype {enctype}")))?;
        let pt = master.key.decrypt(usage::KTIX_DB_MASTER_KEY, &data).map_err(|_| {
            Error::new(
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                format!("principal {name}: key kvno {kvno} enctype {enctype} does not decrypt with the master key"),
            )
        })?;
        let header = key_plaintext(&name, kvno, enctype, &[])?;
        if pt.len() != header.len() + et.key_len() || !openssl::memcmp::eq(&pt[..header.len()], &header) {
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                format!("principal {name}: key kvno {kvno} enctype {enctype} belongs to another row"),
            ));
        }
        let key = Key::new(et, &pt[header.len()..])?;
        keys.push(KeyEntry { kvno, key, salt, s2kparams });
    }
    Ok(Some(PrincipalEntry {
        principal: principal.clone().with_name_type(nt),
        keys,
        requires_preauth,
        max_life,
        max_renewable_life,
        expiration: expiration.map(Time::from_unix_micros),
        disabled,
        allow_forwardable: fwd,
        allow_renewable: renew,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stash_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let mk = MasterKey::generate().unwrap();
        mk.save_stash(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 52);
        assert_eq!(&bytes[..8], STASH_MAGIC);
        assert_eq!(MasterKey::load_stash(&p).unwrap().key(), mk.key());
        for cut in [0, 5, 16, 30, 51] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e = MasterKey::load_stash(&p).unwrap_err();
            assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
            assert!(e.message().contains(&*p.to_string_lossy()), "{e}");
        }
        for i in [3, 9, 12, 20, 50] {
            let mut b = bytes.clone();
            b[i] ^= 1;
            std::fs::write(&p, &b).unwrap();
            assert_eq!(MasterKey::load_stash(&p).unwrap_err().code(), ErrorCode::KTIX_ERR_BAD_FILE);
        }
    }

    #[test]
    fn password_master_key_uses_km_salt() {
        assert_eq!(MasterKey::password_salt("R.TEST").unwrap(), b"R.TESTKM");
        let a = MasterKey::from_password(b"pw", "R.TEST").unwrap();
        let b = Key::from_password(MasterKey::ENCTYPE, b"pw", b"R.TESTKM", None).unwrap();
        assert_eq!(a.key(), &b);
        assert!(MasterKey::from_password(b"", "R.TEST").is_err());
        assert!(MasterKey::from_key(Key::random(Enctype::Aes128CtsHmacSha196).unwrap()).is_err());
        assert_eq!(stash_path(Path::new("/x/realm.db")), Path::new("/x/realm.db.stash"));
    }

    #[test]
    fn key_rows_are_bound_to_their_principal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let mk = MasterKey::generate().unwrap();
        let store = SqliteStore::create(&path, "R.TEST", &mk).unwrap();
        for n in ["a", "b"] {
            let mut e = PrincipalEntry::new(Principal::parse(n, Some("R.TEST")).unwrap());
            e.set_random_keys(&[Enctype::Aes256CtsHmacSha196], 1).unwrap();
            store.put(e).unwrap();
        }
        // Copy a's key blob over b's: b no longer decrypts.
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE keys SET key_data = (SELECT key_data FROM keys k JOIN principals p ON p.id = k.principal_id
             WHERE p.name = 'a@R.TEST') WHERE principal_id = (SELECT id FROM principals WHERE name = 'b@R.TEST')",
            [],
        )
        .unwrap();
        conn.execute("UPDATE ktix_generation SET value = value + 1", []).unwrap();
        let b = Principal::parse("b", Some("R.TEST")).unwrap();
        let e = store.get(&b).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{e}");
        assert!(e.message().contains("another row"), "{e}");
    }
}
