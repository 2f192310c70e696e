//! [`RealmDatabase`]: a realm's database, whichever store holds it — what
//! [`crate::kdc::open_database`] returns and every front end (`ktix db`, `ktix kdc serve`, C,
//! Python) works with, so none of them has store-specific code.

use std::sync::Arc;

use super::postgres::{is_postgres_uri, PostgresStore};
use super::sqlite::{DatabaseInfo, SqliteStore};
use super::store::{Policy, PrincipalEntry, PrincipalStore};
use super::MasterKey;
use crate::crypto::Enctype;
use crate::error::Result;
use crate::principal::Principal;
use crate::time::Time;

/// A realm database: an SQLite file or a PostgreSQL database. (One per process, opened once:
/// the size difference between the variants does not matter.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum RealmDatabase {
    /// One SQLite file ([`SqliteStore`]).
    Sqlite(SqliteStore),
    /// A PostgreSQL database ([`PostgresStore`]).
    Postgres(PostgresStore),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            RealmDatabase::Sqlite($s) => $e,
            RealmDatabase::Postgres($s) => $e,
        }
    };
}

impl RealmDatabase {
    /// Creates a new realm database at `location` (a file path, or a `postgresql://` URI) whose
    /// keys are encrypted with `master` (`from_password`: derived from a master password).
    pub fn create(location: &str, realm: &str, master: &MasterKey, from_password: bool) -> Result<RealmDatabase> {
        if is_postgres_uri(location) {
            return Ok(RealmDatabase::Postgres(PostgresStore::create(location, realm, master, from_password)?));
        }
        let path = std::path::Path::new(location);
        Ok(RealmDatabase::Sqlite(if from_password {
            SqliteStore::create_from_password(path, realm, master)?
        } else {
            SqliteStore::create(path, realm, master)?
        }))
    }

    /// The realm the database was created for.
    pub fn realm(&self) -> &str {
        each!(self, s => s.realm())
    }

    /// Where the database is, for messages: the file, or the URI with its password redacted.
    pub fn location(&self) -> String {
        match self {
            RealmDatabase::Sqlite(s) => s.path().display().to_string(),
            RealmDatabase::Postgres(s) => s.location().to_string(),
        }
    }

    /// The enctypes the realm gives principals keys of.
    pub fn enctypes(&self) -> Result<Vec<Enctype>> {
        each!(self, s => s.enctypes())
    }

    /// Sets the enctypes the realm gives principals keys of.
    pub fn set_enctypes(&self, enctypes: &[Enctype]) -> Result<()> {
        each!(self, s => s.set_enctypes(enctypes))
    }

    /// Changes a principal in one transaction (see [`SqliteStore::modify`]).
    pub fn modify(
        &self,
        principal: &Principal,
        f: impl FnOnce(&mut PrincipalEntry) -> Result<()>,
    ) -> Result<Arc<PrincipalEntry>> {
        each!(self, s => s.modify(principal, f))
    }

    /// The master key the database was opened with.
    pub(crate) fn master(&self) -> &MasterKey {
        each!(self, s => s.master())
    }

    /// What the database says about itself (realm, schema, master-key source).
    pub fn info(&self) -> Result<DatabaseInfo> {
        match self {
            RealmDatabase::Sqlite(s) => SqliteStore::inspect(s.path()),
            RealmDatabase::Postgres(s) => s.info(),
        }
    }

    /// Turns the read cache on or off.
    pub fn set_caching(&self, on: bool) {
        each!(self, s => s.set_caching(on))
    }

    /// How many lookups the read cache answered.
    pub fn cache_hits(&self) -> u64 {
        each!(self, s => s.cache_hits())
    }
}

impl PrincipalStore for RealmDatabase {
    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>> {
        each!(self, s => s.get(principal))
    }
    fn put(&self, entry: PrincipalEntry) -> Result<()> {
        each!(self, s => s.put(entry))
    }
    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        each!(self, s => PrincipalStore::add(s, entry))
    }
    fn delete(&self, principal: &Principal) -> Result<bool> {
        each!(self, s => s.delete(principal))
    }
    fn list(&self) -> Result<Vec<Principal>> {
        each!(self, s => s.list())
    }
    fn get_policy(&self, name: &str) -> Result<Option<Policy>> {
        each!(self, s => s.get_policy(name))
    }
    fn put_policy(&self, policy: Policy) -> Result<()> {
        each!(self, s => s.put_policy(policy))
    }
    fn delete_policy(&self, name: &str) -> Result<bool> {
        each!(self, s => s.delete_policy(name))
    }
    fn list_policies(&self) -> Result<Vec<Policy>> {
        each!(self, s => s.list_policies())
    }
    fn record_failure(&self, principal: &Principal, policy: &Policy, now: Time) -> Result<()> {
        each!(self, s => s.record_failure(principal, policy, now))
    }
    fn clear_failures(&self, principal: &Principal) -> Result<()> {
        each!(self, s => s.clear_failures(principal))
    }
    fn cache_hits(&self) -> Option<u64> {
        each!(self, s => PrincipalStore::cache_hits(s))
    }
    fn begin_request(&self) {
        each!(self, s => s.begin_request())
    }
    fn end_request(&self) {
        each!(self, s => s.end_request())
    }
}
