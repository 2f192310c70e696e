//! The realm database in PostgreSQL: [`PostgresStore`], a [`PrincipalStore`] shared by any
//! number of KDC processes on any number of hosts (one realm, many KDCs), with the same
//! semantics as [`super::SqliteStore`].
//!
//! # Client, TLS
//!
//! The synchronous `postgres` crate (rust-postgres): the KDC's workers are threads, and every
//! store call is a blocking call from one of them, as with SQLite; the async `tokio-postgres`
//! underneath runs on the crate's own small runtime, so nothing async leaks into the KDC. It is
//! pure Rust (no libpq), so the URI is parsed by the crate; ktix adds what libpq would do that
//! the crate does not: the password from `PGPASSWORD` or the password file (`PGPASSFILE`,
//! `~/.pgpass`, mode 0600), and the user from `PGUSER`/`USER` (see `conninfo.rs`). Connections
//! are made without TLS (`NoTls`): the supported deployment is PostgreSQL on loopback or on a
//! trusted network (the long-term keys in it are encrypted under the master key, which never
//! leaves the KDC hosts); a URI asking for `sslmode=require` fails with a clear error rather
//! than silently going unencrypted.
//!
//! # Schema
//!
//! The tables of the SQLite store (`ktix_meta`, `ktix_schema` with version [`SCHEMA_VERSION`],
//! `ktix_generation`, `principals`, `keys`, `policies`; see `schema.rs`), created in one
//! transaction by [`PostgresStore::create`] (`ktix db init --db postgresql://…`) in an existing,
//! empty database. Keys are wrapped under the master key exactly as in SQLite
//! ([`super::master_key`]).
//!
//! # Many KDCs, the cache, outages
//!
//! Every write is one transaction that also increments `ktix_generation`; adding checks and
//! inserts in that transaction (the `UNIQUE` name makes a concurrent add fail with
//! `KTIX_ERR_EXISTS`), and [`PrincipalStore::record_failure`] reads the counter `FOR UPDATE`,
//! so lockout counts from several KDCs add up.
//!
//! Each process caches decoded entries (the read cache of [`super::SqliteStore`]) for one generation.
//! A `get` trusts the cache for at most [`REVALIDATE`] after it last read the counter, so a write
//! from any process is seen by every KDC within that time (and at once by the writing process);
//! the cached path costs no round trip.
//!
//! Connections time out: connecting after [`CONNECT_TIMEOUT`], a statement (and a connection
//! whose server stops answering) after [`STATEMENT_TIMEOUT`]. When the database cannot be
//! reached, `get` answers cached entries (logging the outage once) and everything else fails
//! with `KTIX_ERR_IO` naming the database; for [`RETRY_AFTER_OUTAGE`] after a failure, misses
//! fail at once instead of waiting for another connect timeout. Broken connections are dropped
//! and new ones made on the next call, so a restarted server is used again without restarting
//! the KDC.
//!
//! # Files
//!
//! `conninfo.rs` (URIs, the password file, error mapping), `schema.rs` (the DDL), `store_impl.rs`
//! (the [`PrincipalStore`] calls); this file is the store itself — its connections, cache
//! validity and the statements that read and write an entry — kept together because each of
//! those statements depends on how the other two behave.

mod conninfo;
mod schema;
mod store_impl;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use postgres::{Client, GenericClient, NoTls, Transaction};

use self::conninfo::{config, pg_err};
pub use self::conninfo::{is_postgres_uri, redact};
use self::schema::{from_hex, to_hex, FORMAT_NAME, SCHEMA_SQL};
use super::cache::Cache;
use super::master_key::MasterKey;
use super::sqlite::DatabaseInfo;
use super::store::{exists, KeyEntry, Policy, PrincipalEntry, PrincipalStore};
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// The schema version this code reads and writes (the SQLite store's numbering).
pub const SCHEMA_VERSION: i64 = 2;

/// How long a cached entry is trusted without reading the generation counter again: the most a
/// write by another process takes to reach this one.
pub const REVALIDATE: Duration = Duration::from_millis(500);

/// How long connecting to the server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one statement may take (server side), and how long an unanswered connection lives.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// After a failure to reach the database, how long lookups not in the cache fail at once.
pub const RETRY_AFTER_OUTAGE: Duration = Duration::from_secs(1);

/// Idle connections kept for reuse.
pub const MAX_IDLE_CONNECTIONS: usize = 8;

struct Validity {
    cache: Cache,
    /// When the generation was last read from the database.
    checked: Option<Instant>,
    /// Until when misses fail at once (the database was just found unreachable).
    down_until: Option<Instant>,
    /// Whether the outage has been logged.
    outage_logged: bool,
}

/// A [`PrincipalStore`] in a PostgreSQL database, long-term keys encrypted under a
/// [`MasterKey`]. `Send + Sync`; see the [module documentation](self).
pub struct PostgresStore {
    shown: String,
    config: postgres::Config,
    realm: String,
    master: MasterKey,
    idle: Mutex<Vec<Client>>,
    validity: Mutex<Validity>,
    caching: AtomicBool,
    cache_hits: AtomicU64,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore").field("db", &self.shown).field("realm", &self.realm).finish()
    }
}

/// A pooled connection, returned to the pool when dropped (unless broken).
struct Conn<'a> {
    store: &'a PostgresStore,
    client: Option<Client>,
}

impl Conn<'_> {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(c) = self.client.take() else { return };
        let mut idle = self.store.idle.lock();
        if c.is_closed() {
            // The server went away (a restart, an outage): the idle connections are as dead.
            idle.clear();
        } else if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(c);
        }
    }
}

struct Meta {
    info: DatabaseInfo,
    master_enctype: i32,
    master_check: Vec<u8>,
    enctypes: Option<String>,
}

fn connect_to(uri: &str) -> Result<(String, postgres::Config, Client)> {
    let shown = redact(uri);
    let cfg = config(uri, CONNECT_TIMEOUT, STATEMENT_TIMEOUT)?;
    let client = cfg.connect(NoTls).map_err(|e| pg_err(&shown, e))?;
    Ok((shown, cfg, client))
}

/// Reads and checks the metadata of the realm database `client` is connected to.
fn read_meta(client: &mut impl GenericClient, shown: &str) -> Result<Meta> {
    let foreign =
        |why: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{shown}: not a ktix realm database ({why})"));
    let has: bool = client
        .query_one("SELECT to_regclass('ktix_meta') IS NOT NULL AND to_regclass('ktix_schema') IS NOT NULL", &[])
        .map_err(|e| pg_err(shown, e))?
        .get(0);
    if !has {
        return Err(foreign("no ktix_meta table; create one with `ktix db init`"));
    }
    let version: Option<i64> =
        client.query_one("SELECT max(version) FROM ktix_schema", &[]).map_err(|e| pg_err(shown, e))?.get(0);
    let version = version.ok_or_else(|| foreign("no schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_BAD_FILE,
            format!("{shown}: schema version {version} is newer than this ktix reads ({SCHEMA_VERSION}); upgrade ktix"),
        ));
    }
    if version < SCHEMA_VERSION {
        return Err(foreign(&format!("schema version {version}")));
    }
    let rows = client.query("SELECT name, value FROM ktix_meta", &[]).map_err(|e| pg_err(shown, e))?;
    let get = |name: &str| -> Result<String> {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == name)
            .map(|r| r.get::<_, String>(1))
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{shown}: no {name} in ktix_meta")))
    };
    let bad = |name: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{shown}: bad ktix_meta {name}"));
    if get("format")? != FORMAT_NAME {
        return Err(foreign("wrong format name in ktix_meta"));
    }
    let realm = get("realm")?;
    if realm.is_empty() {
        return Err(bad("realm"));
    }
    let master_enctype = get("master_enctype")?.parse().map_err(|_| bad("master_enctype"))?;
    let master_check = from_hex(&get("master_check")?).ok_or_else(|| bad("master_check"))?;
    let master_from_password = match get("master_source")?.as_str() {
        "password" => true,
        "random" => false,
        _ => return Err(bad("master_source")),
    };
    Ok(Meta {
        info: DatabaseInfo { realm, schema_version: version, master_from_password },
        master_enctype,
        master_check,
        enctypes: get("enctypes").ok(),
    })
}

impl PostgresStore {
    /// Creates the realm tables in the existing database of `uri` (which must hold no ktix realm
    /// yet: `KTIX_ERR_EXISTS`), keys to be encrypted with `master` (`from_password`: it was
    /// derived from a password), and opens it. All in one transaction.
    pub fn create(uri: &str, realm: &str, master: &MasterKey, from_password: bool) -> Result<PostgresStore> {
        if realm.is_empty() {
            return Err(Error::invalid("the realm name is empty"));
        }
        let (shown, _, mut client) = connect_to(uri)?;
        let check = master.check_value()?;
        let enctypes: Vec<&str> = crate::kdc::DEFAULT_ENCTYPES.iter().map(|e| e.name()).collect();
        let now = Time::now().unix().to_string();
        let source = if from_password { "password" } else { "random" };
        let mut tx = client.transaction().map_err(|e| pg_err(&shown, e))?;
        let taken: bool =
            tx.query_one("SELECT to_regclass('ktix_meta') IS NOT NULL", &[]).map_err(|e| pg_err(&shown, e))?.get(0);
        if taken {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_EXISTS,
                format!("{shown}: already holds a ktix realm database, refusing to overwrite it"),
            ));
        }
        tx.batch_execute(SCHEMA_SQL).map_err(|e| pg_err(&shown, e).context("creating the realm tables"))?;
        tx.execute("INSERT INTO ktix_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])
            .map_err(|e| pg_err(&shown, e))?;
        let master_enctype = MasterKey::ENCTYPE.id().to_string();
        for (name, value) in [
            ("format", FORMAT_NAME.to_string()),
            ("realm", realm.to_string()),
            ("master_enctype", master_enctype),
            ("master_source", source.to_string()),
            ("master_check", to_hex(&check)),
            ("created", now),
            ("enctypes", enctypes.join(",")),
        ] {
            tx.execute("INSERT INTO ktix_meta (name, value) VALUES ($1, $2)", &[&name, &value])
                .map_err(|e| pg_err(&shown, e))?;
        }
        tx.commit().map_err(|e| pg_err(&shown, e))?;
        PostgresStore::open(uri, master)
    }

    /// Opens the realm database of `uri`. Errors name the database (password redacted): an
    /// unreachable server or refused login (`KTIX_ERR_IO`), a database that is not a ktix realm
    /// or of a newer schema (`KTIX_ERR_BAD_FILE`), another master key (`KRB_AP_ERR_BAD_INTEGRITY`).
    pub fn open(uri: &str, master: &MasterKey) -> Result<PostgresStore> {
        let (shown, config, mut client) = connect_to(uri)?;
        let meta = read_meta(&mut client, &shown)?;
        if !master.matches_check(meta.master_enctype, &meta.master_check) {
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                format!("{shown}: wrong master key (the stash or master password does not belong to this database)"),
            ));
        }
        Ok(PostgresStore {
            shown,
            config,
            realm: meta.info.realm,
            master: master.clone(),
            idle: Mutex::new(vec![client]),
            validity: Mutex::new(Validity {
                cache: Cache::new(),
                checked: None,
                down_until: None,
                outage_logged: false,
            }),
            caching: AtomicBool::new(true),
            cache_hits: AtomicU64::new(0),
        })
    }

    /// What the realm database of `uri` says about itself, without its master key.
    pub fn inspect(uri: &str) -> Result<DatabaseInfo> {
        let (shown, _, mut client) = connect_to(uri)?;
        Ok(read_meta(&mut client, &shown)?.info)
    }

    /// What the database says about itself (over this store's connections).
    pub fn info(&self) -> Result<DatabaseInfo> {
        let mut c = self.conn()?;
        Ok(read_meta(c.client(), &self.shown)?.info)
    }

    /// The database's URI, password redacted.
    pub fn location(&self) -> &str {
        &self.shown
    }

    /// The realm the database was created for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The master key the database was opened with.
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The enctypes the realm gives principals keys of (as [`super::SqliteStore::enctypes`]).
    pub fn enctypes(&self) -> Result<Vec<Enctype>> {
        let mut c = self.conn()?;
        let meta = read_meta(c.client(), &self.shown)?;
        match meta.enctypes {
            None => Ok(Enctype::ALL.to_vec()),
            Some(v) => v.split(',').map(Enctype::from_name).collect::<Result<Vec<_>>>().map_err(|e| {
                Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: realm enctypes: {}", self.shown, e.message()))
            }),
        }
    }

    /// Sets the enctypes the realm gives principals keys of (new keys only).
    pub fn set_enctypes(&self, enctypes: &[Enctype]) -> Result<()> {
        if enctypes.is_empty() {
            return Err(Error::invalid("the realm needs at least one enctype"));
        }
        let names: Vec<&str> = enctypes.iter().map(|e| e.name()).collect();
        let value = names.join(",");
        self.write(|tx, shown| {
            tx.execute(
                "INSERT INTO ktix_meta (name, value) VALUES ('enctypes', $1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&value],
            )
            .map_err(|e| pg_err(shown, e))?;
            Ok(())
        })
    }

    /// Turns the read cache on (the default) or off.
    pub fn set_caching(&self, on: bool) {
        self.caching.store(on, Ordering::Relaxed);
        if !on {
            self.validity.lock().cache.clear();
        }
    }

    /// How many [`PrincipalStore::get`] calls were answered from the read cache so far.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// Adds a new principal; `KTIX_ERR_EXISTS` when it is already there (one transaction).
    pub fn add(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx, _| self.write_entry(tx, &entry, Upsert::AddOnly))
    }

    /// Changes a principal in one transaction (as [`super::SqliteStore::modify`]).
    pub fn modify(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut PrincipalEntry) -> Result<()>,
    ) -> Result<Arc<PrincipalEntry>> {
        self.write(|tx, shown| {
            let mut entry = self
                .read_entry(tx, principal, true)
                .map_err(|e| e.context(shown))?
                .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no principal {principal}")))?;
            f(&mut entry)?;
            if entry.principal != *principal {
                return Err(Error::invalid("a principal cannot be renamed by modify"));
            }
            self.check_entry(&entry)?;
            self.write_entry(tx, &entry, Upsert::Replace)?;
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

    fn conn(&self) -> Result<Conn<'_>> {
        loop {
            let Some(c) = self.idle.lock().pop() else { break };
            if !c.is_closed() {
                return Ok(Conn { store: self, client: Some(c) });
            }
        }
        let client = self.config.connect(NoTls).map_err(|e| pg_err(&self.shown, e))?;
        Ok(Conn { store: self, client: Some(client) })
    }

    /// Runs `f` in one transaction, increments the generation counter and commits; on any error
    /// the transaction is rolled back. This process's cache is revalidated on its next read.
    fn write<T>(&self, f: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        let shown = &self.shown;
        let mut tx = c.client().transaction().map_err(|e| pg_err(shown, e))?;
        let out = f(&mut tx, shown)?;
        tx.execute("UPDATE ktix_generation SET value = value + 1 WHERE id = 1", &[]).map_err(|e| pg_err(shown, e))?;
        tx.commit().map_err(|e| pg_err(shown, e))?;
        self.validity.lock().checked = None;
        Ok(out)
    }

    fn write_entry(&self, tx: &mut Transaction<'_>, e: &PrincipalEntry, mode: Upsert) -> Result<()> {
        let shown = &self.shown;
        let name = e.principal.to_string();
        let mut wrapped = Vec::with_capacity(e.keys.len());
        for k in &e.keys {
            wrapped.push((k, self.master.wrap_key(&name, k.kvno, &k.key)?));
        }
        if let Some(p) = &e.policy {
            let found =
                tx.query_opt("SELECT 1 FROM policies WHERE name = $1", &[p]).map_err(|err| pg_err(shown, err))?;
            if found.is_none() {
                return Err(Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no policy {p}")));
            }
        }
        let on_conflict = match mode {
            Upsert::AddOnly => "DO NOTHING",
            Upsert::Replace => {
                "DO UPDATE SET name_type = excluded.name_type,
                     requires_preauth = excluded.requires_preauth, max_life = excluded.max_life,
                     max_renewable_life = excluded.max_renewable_life, expiration = excluded.expiration,
                     disabled = excluded.disabled, allow_forwardable = excluded.allow_forwardable,
                     allow_renewable = excluded.allow_renewable, policy = excluded.policy,
                     fail_count = excluded.fail_count, last_failed = excluded.last_failed"
            }
        };
        let sql = format!(
            "INSERT INTO principals (name, name_type, requires_preauth, max_life, max_renewable_life,
             expiration, disabled, allow_forwardable, allow_renewable, policy, fail_count, last_failed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (name) {on_conflict} RETURNING id"
        );
        let row = tx
            .query_opt(
                &sql,
                &[
                    &name,
                    &e.principal.name_type(),
                    &e.requires_preauth,
                    &e.max_life,
                    &e.max_renewable_life,
                    &e.expiration.map(Time::unix_micros),
                    &e.disabled,
                    &e.allow_forwardable,
                    &e.allow_renewable,
                    &e.policy,
                    &i64::from(e.fail_count),
                    &e.last_failed.map(Time::unix_micros),
                ],
            )
            .map_err(|err| pg_err(shown, err))?;
        let Some(row) = row else { return Err(exists(&e.principal)) };
        let id: i64 = row.get(0);
        // An existing row's keys (also one written by a concurrent put since we looked).
        tx.execute("DELETE FROM keys WHERE principal_id = $1", &[&id]).map_err(|err| pg_err(shown, err))?;
        let ins = tx
            .prepare("INSERT INTO keys (principal_id, kvno, enctype, key_data, salt, s2kparams) VALUES ($1, $2, $3, $4, $5, $6)")
            .map_err(|err| pg_err(shown, err))?;
        for (k, data) in wrapped {
            let enctype = k.key.enctype().id();
            tx.execute(&ins, &[&id, &i64::from(k.kvno), &enctype, &data, &k.salt, &k.s2kparams]).map_err(|err| {
                if err.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Error::invalid(format!("{name} has two keys of enctype {enctype} at kvno {}", k.kvno))
                } else {
                    pg_err(shown, err)
                }
            })?;
        }
        Ok(())
    }

    /// Reads and decrypts the entry of `principal` (`lock`: `FOR UPDATE`, in a write).
    fn read_entry(
        &self,
        c: &mut impl GenericClient,
        principal: &Principal,
        lock: bool,
    ) -> Result<Option<PrincipalEntry>> {
        let shown = &self.shown;
        let name = principal.to_string();
        let sql = format!(
            "SELECT id, name_type, requires_preauth, max_life, max_renewable_life, expiration, disabled,
             allow_forwardable, allow_renewable, policy, fail_count, last_failed FROM principals WHERE name = $1{}",
            if lock { " FOR UPDATE" } else { "" }
        );
        let Some(r) = c.query_opt(&sql, &[&name]).map_err(|e| pg_err(shown, e))? else { return Ok(None) };
        let bad = |what: String| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{shown}: principal {name}: {what}"));
        let id: i64 = r.get(0);
        let fail_count: i64 = r.get(10);
        let rows = c
            .query(
                "SELECT kvno, enctype, key_data, salt, s2kparams FROM keys WHERE principal_id = $1
                 ORDER BY kvno DESC, enctype DESC",
                &[&id],
            )
            .map_err(|e| pg_err(shown, e))?;
        let mut keys = Vec::with_capacity(rows.len());
        for k in rows {
            let kvno: i64 = k.get(0);
            let kvno = u32::try_from(kvno).map_err(|_| bad(format!("key version {kvno} out of range")))?;
            let key = self.master.unwrap_key(&name, kvno, k.get(1), k.get::<_, &[u8]>(2))?;
            keys.push(KeyEntry { kvno, key, salt: k.get(3), s2kparams: k.get(4) });
        }
        Ok(Some(PrincipalEntry {
            principal: principal.clone().with_name_type(r.get(1)),
            keys,
            requires_preauth: r.get(2),
            max_life: r.get(3),
            max_renewable_life: r.get(4),
            expiration: r.get::<_, Option<i64>>(5).map(Time::from_unix_micros),
            disabled: r.get(6),
            allow_forwardable: r.get(7),
            allow_renewable: r.get(8),
            policy: r.get(9),
            fail_count: u32::try_from(fail_count)
                .map_err(|_| bad(format!("failure count {fail_count} out of range")))?,
            last_failed: r.get::<_, Option<i64>>(11).map(Time::from_unix_micros),
        }))
    }

    fn read_generation(&self, c: &mut impl GenericClient) -> Result<i64> {
        Ok(c.query_one("SELECT value FROM ktix_generation WHERE id = 1", &[])
            .map_err(|e| pg_err(&self.shown, e))?
            .get(0))
    }

    /// Reads one entry and the generation it was read at, in one snapshot.
    fn load(&self, principal: &Principal) -> Result<(i64, Option<PrincipalEntry>)> {
        let mut c = self.conn()?;
        let mut tx = c
            .client()
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| pg_err(&self.shown, e))?;
        let generation = self.read_generation(&mut tx)?;
        let entry = self.read_entry(&mut tx, principal, false)?;
        tx.commit().map_err(|e| pg_err(&self.shown, e))?;
        Ok((generation, entry))
    }

    /// The cached answer for `principal` when the cache is known current (read the counter
    /// within [`REVALIDATE`]), or — the database being unreachable — any cached answer.
    fn cached(&self, principal: &Principal) -> Result<Option<Option<Arc<PrincipalEntry>>>> {
        let now = Instant::now();
        {
            let mut v = self.validity.lock();
            let fresh = v.checked.is_some_and(|t| now.duration_since(t) < REVALIDATE);
            let down = v.down_until.is_some_and(|t| now < t);
            if fresh || down {
                if let Some(hit) = v.cache.get(principal) {
                    return Ok(Some(hit));
                }
                if down {
                    return Err(Error::new(
                        ErrorCode::KTIX_ERR_IO,
                        format!("{}: the database is unreachable (retrying); {principal} is not cached", self.shown),
                    ));
                }
                if fresh {
                    return Ok(None);
                }
            }
        }
        let read = self.conn().and_then(|mut c| self.read_generation(c.client()));
        let mut v = self.validity.lock();
        match read {
            Ok(g) => {
                if v.outage_logged {
                    log::warn!("{}: the database is reachable again", self.shown);
                }
                v.down_until = None;
                v.outage_logged = false;
                if v.cache.generation != g {
                    v.cache.clear();
                    v.cache.generation = g;
                }
                v.checked = Some(now);
                Ok(v.cache.get(principal))
            }
            Err(e) => {
                if !v.outage_logged {
                    log::warn!("{} (serving cached entries meanwhile)", e.message());
                    v.outage_logged = true;
                }
                v.down_until = Some(now + RETRY_AFTER_OUTAGE);
                match v.cache.get(principal) {
                    Some(hit) => Ok(Some(hit)),
                    None => Err(e),
                }
            }
        }
    }

    fn policies(&self) -> Result<Vec<Policy>> {
        let mut c = self.conn()?;
        let rows = c
            .client()
            .query(
                "SELECT name, max_failures, failure_interval, lockout_duration, min_length, min_classes
                 FROM policies ORDER BY name",
                &[],
            )
            .map_err(|e| pg_err(&self.shown, e))?;
        rows.iter().map(|r| policy_from_row(&self.shown, r)).collect()
    }
}

fn policy_from_row(shown: &str, r: &postgres::Row) -> Result<Policy> {
    let u = |i: usize| -> Result<u32> {
        let v: i64 = r.get(i);
        u32::try_from(v).map_err(|_| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{shown}: policy value {v}")))
    };
    Ok(Policy {
        name: r.get(0),
        max_failures: u(1)?,
        failure_interval: r.get(2),
        lockout_duration: r.get(3),
        min_length: u(4)?,
        min_classes: u(5)?,
    })
}

/// How [`PostgresStore::write_entry`] treats an existing row of the name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Upsert {
    /// Replaces it (and its keys).
    Replace,
    /// Fails with `KTIX_ERR_EXISTS` (`INSERT … ON CONFLICT DO NOTHING` waits for a concurrent
    /// adder of the same name and then sees its row, so one of two adders wins).
    AddOnly,
}
