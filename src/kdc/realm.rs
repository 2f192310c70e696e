//! Opening a realm: the one place that turns "this realm name, this database, this kdc.conf, these
//! overrides" into a [`Kdc`] ([`open_realm`]) or an opened realm database ([`open_database`]),
//! and adds principals with options ([`Kdc::add_principal_with`]). The command-line tool, the C
//! layer and the Python layer all open realms through here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::config::{KdcConf, Profile};
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;

use super::db::postgres::{is_postgres_uri, redact};
use super::{
    stash_path, Kdc, MasterKey, MemoryStore, PostgresStore, PrincipalEntry, PrincipalStore, RealmDatabase, RealmPolicy,
    SqliteStore,
};

/// Asks for the master password of the realm named by its argument: used by [`open_database`]
/// for a database whose master key was derived from a password and whose stash file is gone.
pub type MasterPasswordPrompt = fn(realm: &str) -> Result<Zeroizing<String>>;

/// What realm to open and how: its name, where its principals live, and its policy.
///
/// Start from [`RealmSpec::memory`] or [`RealmSpec::database`] and adjust with the `with_*`
/// methods. Policy precedence, per setting: an explicit override (`with_max_life`, …), else the
/// kdc.conf given with [`RealmSpec::with_kdc_conf`], else the defaults of [`RealmPolicy`]; the
/// enctypes are the override, else kdc.conf's `supported_enctypes`, else the database's (what
/// `ktix db init --enctypes` chose), else all four.
#[derive(Clone, Debug, Default)]
pub struct RealmSpec {
    /// The realm name. Required for an in-memory realm and to create a database; for an existing
    /// database it may be left out (the database names its realm), and when given it must match.
    pub realm: Option<String>,
    /// The realm database: an SQLite file (its master-key stash is [`stash_path`] of it unless
    /// [`RealmSpec::stash`] says otherwise), or a PostgreSQL database named by a
    /// `postgresql://USER@HOST:PORT/DBNAME` URI; `None`: in memory.
    pub db: Option<PathBuf>,
    /// The master-key stash file: required for a PostgreSQL database; for SQLite, `None` is the
    /// stash beside the file.
    pub stash: Option<PathBuf>,
    /// Create the database (a new random master key, stashed first) when no file is there. When
    /// false a missing database is an error.
    pub create: bool,
    /// kdc.conf (possibly merged with krb5.conf): the realm's `max_life`, `max_renewable_life`,
    /// `supported_enctypes` and `[libdefaults] clockskew`.
    pub kdc_conf: Option<Profile>,
    /// Longest ticket life, seconds (must be positive).
    pub max_life: Option<i64>,
    /// Longest renewable life, seconds (must be positive).
    pub max_renewable_life: Option<i64>,
    /// Accepted clock skew, seconds (must be positive).
    pub clock_skew: Option<i64>,
    /// The enctypes of the realm (not empty).
    pub enctypes: Option<Vec<Enctype>>,
    /// How to get the master password when the stash is missing and the database's master key
    /// came from a password; without it that case is an error.
    pub master_password: Option<MasterPasswordPrompt>,
}

impl RealmSpec {
    /// An in-memory realm named `realm`.
    pub fn memory(realm: &str) -> RealmSpec {
        RealmSpec { realm: Some(realm.to_string()), ..RealmSpec::default() }
    }

    /// The existing SQLite realm database at `path` (see [`RealmSpec::creating`] to create it
    /// when absent).
    pub fn database(path: impl Into<PathBuf>) -> RealmSpec {
        RealmSpec { db: Some(path.into()), ..RealmSpec::default() }
    }

    /// Takes the master key from the stash file `stash` (see [`RealmSpec::stash`]).
    pub fn with_stash(mut self, stash: Option<PathBuf>) -> RealmSpec {
        self.stash = stash;
        self
    }

    /// Names the realm (required to create a database; must match an existing one).
    pub fn with_realm(mut self, realm: impl Into<String>) -> RealmSpec {
        self.realm = Some(realm.into());
        self
    }

    /// Creates the database when no file is there (then the realm name is required).
    pub fn creating(mut self, create: bool) -> RealmSpec {
        self.create = create;
        self
    }

    /// Takes the realm's policy from a kdc.conf.
    pub fn with_kdc_conf(mut self, profile: Profile) -> RealmSpec {
        self.kdc_conf = Some(profile);
        self
    }

    /// Overrides the longest ticket life (seconds).
    pub fn with_max_life(mut self, seconds: Option<i64>) -> RealmSpec {
        self.max_life = seconds;
        self
    }

    /// Overrides the longest renewable life (seconds).
    pub fn with_max_renewable_life(mut self, seconds: Option<i64>) -> RealmSpec {
        self.max_renewable_life = seconds;
        self
    }

    /// Overrides the accepted clock skew (seconds).
    pub fn with_clock_skew(mut self, seconds: Option<i64>) -> RealmSpec {
        self.clock_skew = seconds;
        self
    }

    /// Asks `prompt` for the master password when the stash is missing (see
    /// [`RealmSpec::master_password`]).
    pub fn with_master_password(mut self, prompt: MasterPasswordPrompt) -> RealmSpec {
        self.master_password = Some(prompt);
        self
    }

    /// The realm policy for the realm `realm` whose database has `db_enctypes` (`None` in
    /// memory), by the precedence described on [`RealmSpec`].
    pub fn policy(&self, realm: &str, db_enctypes: Option<Vec<Enctype>>) -> Result<RealmPolicy> {
        let conf = self.kdc_conf.as_ref().map(|p| KdcConf::from_profile(p, Some(realm))).transpose()?;
        let mut policy = conf.as_ref().map(KdcConf::to_policy).unwrap_or_default();
        let conf_enctypes = conf.and_then(|c| c.supported_enctypes);
        if let Some(e) = self.enctypes.clone().or(conf_enctypes).or(db_enctypes) {
            policy.enctypes = e;
        }
        self.check_overrides()?;
        for (value, slot) in [
            (self.max_life, &mut policy.max_life),
            (self.max_renewable_life, &mut policy.max_renewable_life),
            (self.clock_skew, &mut policy.clock_skew),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        Ok(policy)
    }

    /// The overrides are positive (`KTIX_ERR_INVALID_ARGUMENT` otherwise).
    fn check_overrides(&self) -> Result<()> {
        for (value, what) in [
            (self.max_life, "max_life"),
            (self.max_renewable_life, "max_renewable_life"),
            (self.clock_skew, "clock_skew"),
        ] {
            if let Some(v) = value.filter(|v| *v <= 0) {
                return Err(Error::invalid(format!("{what} must be positive, not {v}")));
            }
        }
        Ok(())
    }
}

/// Opens (or, with [`RealmSpec::create`], creates) the realm database of `spec` — an SQLite file
/// or a PostgreSQL database ([`RealmSpec::db`]) — with its master key from the stash
/// ([`RealmSpec::stash`], for SQLite by default beside the file), or from
/// [`RealmSpec::master_password`] for a database keyed by a master password whose stash is gone.
///
/// Errors: `KTIX_ERR_INVALID_ARGUMENT` (no database in `spec`, an empty realm name, a realm other
/// than the database's, a PostgreSQL database without a stash), `KTIX_ERR_NULL_ARGUMENT`
/// (creating without a realm name), `KTIX_ERR_IO` (no database and not creating, unreadable file,
/// missing stash, an unreachable PostgreSQL server), `KTIX_ERR_BAD_FILE` (not a ktix realm
/// database), `KTIX_ERR_EXISTS` (creating, but a stash is already there),
/// `KRB_AP_ERR_BAD_INTEGRITY` (another master key).
pub fn open_database(spec: &RealmSpec) -> Result<RealmDatabase> {
    let path: &Path = spec.db.as_deref().ok_or_else(|| Error::invalid("the realm spec names no database"))?;
    let realm = spec.realm.as_deref();
    if realm.is_some_and(str::is_empty) {
        return Err(Error::invalid("the realm name is empty"));
    }
    if let Some(uri) = path.to_str().filter(|p| is_postgres_uri(p)) {
        return open_postgres(spec, uri, realm).map(RealmDatabase::Postgres);
    }
    open_sqlite(spec, path, realm).map(RealmDatabase::Sqlite)
}

fn wrong_realm(location: &str, theirs: &str, ours: &str) -> Error {
    Error::invalid(format!("{location}: the database is for realm {theirs}, not {ours}"))
}

fn open_postgres(spec: &RealmSpec, uri: &str, realm: Option<&str>) -> Result<PostgresStore> {
    let shown = redact(uri);
    let stash = spec.stash.as_deref().ok_or_else(|| {
        Error::invalid(format!("{shown}: a PostgreSQL realm database needs its master-key stash (--stash FILE)"))
    })?;
    if std::fs::symlink_metadata(stash).is_err() {
        if spec.create {
            let realm = realm.ok_or_else(|| {
                Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("{shown}: creating a realm needs its name"))
            })?;
            let master = MasterKey::generate()?;
            master.save_stash(stash)?;
            return PostgresStore::create(uri, realm, &master, false).inspect_err(|_| {
                let _ = std::fs::remove_file(stash);
            });
        }
        let info = PostgresStore::inspect(uri)?;
        if let Some(prompt) = spec.master_password.filter(|_| info.master_from_password) {
            let pw = prompt(&info.realm)?;
            return check_realm(
                PostgresStore::open(uri, &MasterKey::from_password(pw.as_bytes(), &info.realm)?)?,
                realm,
            );
        }
        return Err(Error::new(
            ErrorCode::KTIX_ERR_IO,
            format!("{shown}: its master-key stash {} is missing", stash.display()),
        ));
    }
    check_realm(PostgresStore::open(uri, &MasterKey::load_stash(stash)?)?, realm)
}

fn check_realm(store: PostgresStore, realm: Option<&str>) -> Result<PostgresStore> {
    match realm.filter(|r| *r != store.realm()) {
        Some(r) => Err(wrong_realm(store.location(), store.realm(), r)),
        None => Ok(store),
    }
}

fn open_sqlite(spec: &RealmSpec, path: &Path, realm: Option<&str>) -> Result<SqliteStore> {
    if std::fs::symlink_metadata(path).is_err() {
        if !spec.create {
            return Err(Error::new(ErrorCode::KTIX_ERR_IO, format!("{}: no such realm database", path.display())));
        }
        if let Some(stash) = &spec.stash {
            let realm = realm.ok_or_else(|| {
                Error::new(
                    ErrorCode::KTIX_ERR_NULL_ARGUMENT,
                    format!("{}: no database there, and no realm name to create one", path.display()),
                )
            })?;
            if std::fs::symlink_metadata(stash).is_ok() {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_EXISTS,
                    format!("{}: a master-key stash already exists but the database does not", stash.display()),
                ));
            }
            let master = MasterKey::generate()?;
            master.save_stash(stash)?;
            return SqliteStore::create(path, realm, &master).inspect_err(|_| {
                let _ = std::fs::remove_file(stash);
            });
        }
        return SqliteStore::open_or_create(path, realm);
    }
    let info = SqliteStore::inspect(path)?;
    if let Some(r) = realm.filter(|r| *r != info.realm) {
        return Err(wrong_realm(&path.display().to_string(), &info.realm, r));
    }
    let stash = spec.stash.clone().unwrap_or_else(|| stash_path(path));
    match spec.master_password {
        Some(prompt) if info.master_from_password && std::fs::symlink_metadata(&stash).is_err() => {
            let pw = prompt(&info.realm)?;
            SqliteStore::open(path, &MasterKey::from_password(pw.as_bytes(), &info.realm)?)
        }
        _ if spec.stash.is_some() => {
            if std::fs::symlink_metadata(&stash).is_err() {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_IO,
                    format!("{}: its master-key stash {} is missing", path.display(), stash.display()),
                ));
            }
            SqliteStore::open(path, &MasterKey::load_stash(&stash)?)
        }
        // The stash (or, without one, the error naming it).
        _ => SqliteStore::open_or_create(path, realm),
    }
}

/// Opens the realm `spec` describes: in memory (a fresh `krbtgt/REALM` with random keys), or
/// over its database (see [`open_database`]), with the policy of [`RealmSpec::policy`].
///
/// Errors: those of [`open_database`]; `KTIX_ERR_INVALID_ARGUMENT` for an in-memory realm without
/// a name, an empty realm name, a non-positive lifetime or skew, an empty enctype list;
/// `KTIX_ERR_CONFIG` for an unreadable kdc.conf.
pub fn open_realm(spec: &RealmSpec) -> Result<Kdc> {
    // Before anything is created on disk.
    spec.check_overrides()?;
    let (realm, store, db_enctypes): (String, Arc<dyn PrincipalStore>, _) = match &spec.db {
        None => {
            let realm = spec.realm.clone().ok_or_else(|| Error::invalid("an in-memory realm needs a name"))?;
            (realm, Arc::new(MemoryStore::new()), None)
        }
        Some(_) => {
            let store = open_database(spec)?;
            let enctypes = store.enctypes()?;
            (store.realm().to_string(), Arc::new(store), Some(enctypes))
        }
    };
    let policy = spec.policy(&realm, db_enctypes)?;
    Kdc::with_store(&realm, store, policy)
}

/// The settings of a principal added by [`Kdc::add_principal_with`]; the default is what
/// [`Kdc::add_principal`] gives (pre-authentication required).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrincipalOptions {
    /// Whether the AS exchange requires pre-authentication (PA-ENC-TIMESTAMP).
    pub requires_preauth: bool,
}

impl Default for PrincipalOptions {
    fn default() -> PrincipalOptions {
        PrincipalOptions { requires_preauth: true }
    }
}

impl PrincipalOptions {
    /// Sets [`PrincipalOptions::requires_preauth`].
    pub fn with_preauth(mut self, required: bool) -> PrincipalOptions {
        self.requires_preauth = required;
        self
    }
}

impl Kdc {
    /// Adds a principal with keys of every realm enctype, from `password` (default salt) or
    /// random when `None`, and the settings of `options`, written in one store write (the entry
    /// never exists with other settings). A name in another realm is `KTIX_ERR_INVALID_ARGUMENT`;
    /// an existing principal is `KTIX_ERR_EXISTS`.
    pub fn add_principal_with(
        &self,
        name: &str,
        password: Option<&str>,
        options: &PrincipalOptions,
    ) -> Result<Principal> {
        let p = self.principal(name)?;
        if p.realm() != self.realm {
            return Err(Error::invalid(format!("{p} is not in realm {}", self.realm)));
        }
        let mut e = PrincipalEntry::new(p.clone());
        match password {
            Some(pw) => e.set_password(pw.as_bytes(), &self.policy.enctypes, 1)?,
            None => e.set_random_keys(&self.policy.enctypes, 1)?,
        }
        e.requires_preauth = options.requires_preauth;
        self.store.add(e)?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.expect_err("an error").code()
    }

    #[test]
    fn memory_realms_need_a_name_and_take_the_overrides() {
        assert_eq!(code(open_realm(&RealmSpec::default())), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        assert_eq!(code(open_realm(&RealmSpec::memory(""))), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        let kdc =
            open_realm(&RealmSpec::memory("M.TEST").with_max_life(Some(600)).with_clock_skew(Some(60))).expect("realm");
        assert_eq!(kdc.realm(), "M.TEST");
        assert_eq!(kdc.policy().max_life, 600);
        assert_eq!(kdc.policy().clock_skew, 60);
        assert_eq!(kdc.policy().max_renewable_life, RealmPolicy::default().max_renewable_life);
        assert!(kdc.entry(&Principal::krbtgt("M.TEST")).is_ok());
        for bad in [0, -5] {
            let spec = RealmSpec::memory("M.TEST").with_max_renewable_life(Some(bad));
            assert_eq!(code(open_realm(&spec)), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        }
        let none = RealmSpec { enctypes: Some(vec![]), ..RealmSpec::memory("M.TEST") };
        assert_eq!(code(open_realm(&none)), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn kdc_conf_policy_yields_to_overrides_and_gives_enctypes() {
        let conf = Profile::parse(
            "[realms]\n C.TEST = {\n  max_life = 2h\n  supported_enctypes = aes128-cts-hmac-sha1-96:normal\n }\n",
            "kdc.conf",
        )
        .expect("kdc.conf");
        let spec = RealmSpec::memory("C.TEST").with_kdc_conf(conf);
        let kdc = open_realm(&spec).expect("realm");
        assert_eq!(kdc.policy().max_life, 7200);
        assert_eq!(kdc.policy().enctypes, vec![Enctype::Aes128CtsHmacSha196]);
        let kdc = open_realm(&spec.with_max_life(Some(60))).expect("realm");
        assert_eq!(kdc.policy().max_life, 60);
    }

    #[test]
    fn databases_are_created_only_when_asked_and_keep_their_realm_and_enctypes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("realm.db");
        assert_eq!(code(open_realm(&RealmSpec::database(&db))), ErrorCode::KTIX_ERR_IO);
        assert_eq!(code(open_realm(&RealmSpec::database(&db).creating(true))), ErrorCode::KTIX_ERR_NULL_ARGUMENT);
        let bad = RealmSpec::database(&db).with_realm("D.TEST").creating(true).with_max_life(Some(0));
        assert_eq!(code(open_realm(&bad)), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        assert!(!db.exists() && !stash_path(&db).exists(), "nothing is created for a bad spec");
        let kdc = open_realm(&RealmSpec::database(&db).with_realm("D.TEST").creating(true)).expect("created");
        kdc.add_principal("alice", Some("pw")).expect("alice");
        drop(kdc);
        open_database(&RealmSpec::database(&db))
            .expect("open")
            .set_enctypes(&[Enctype::Aes256CtsHmacSha196])
            .expect("enctypes");
        // Reopened without a name: the database's realm, enctypes and principals.
        let kdc = open_realm(&RealmSpec::database(&db)).expect("reopened");
        assert_eq!(kdc.realm(), "D.TEST");
        assert_eq!(kdc.policy().enctypes, vec![Enctype::Aes256CtsHmacSha196]);
        assert!(kdc.entry(&kdc.principal("alice").expect("name")).is_ok());
        let other = RealmSpec::database(&db).with_realm("OTHER.TEST");
        assert_eq!(code(open_realm(&other)), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        assert_eq!(code(open_database(&RealmSpec::memory("D.TEST"))), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn a_missing_stash_is_an_error_unless_a_master_password_can_be_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("pw.db");
        let master = MasterKey::from_password(b"master-pw", "P.TEST").expect("master");
        SqliteStore::create_from_password(&db, "P.TEST", &master).expect("create");
        assert_eq!(code(open_database(&RealmSpec::database(&db))), ErrorCode::KTIX_ERR_IO);
        let right = RealmSpec::database(&db).with_master_password(|_| Ok(Zeroizing::new("master-pw".into())));
        assert_eq!(open_database(&right).expect("opened").realm(), "P.TEST");
        let wrong = RealmSpec::database(&db).with_master_password(|_| Ok(Zeroizing::new("wrong".into())));
        assert_eq!(code(open_database(&wrong)), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    }

    #[test]
    fn principals_are_added_with_their_options_in_one_write() {
        let kdc = Kdc::new("O.TEST").expect("realm");
        let no_preauth = PrincipalOptions::default().with_preauth(false);
        let bob = kdc.add_principal_with("bob", Some("pw"), &no_preauth).expect("bob");
        assert!(!kdc.entry(&bob).expect("entry").requires_preauth);
        let carol = kdc.add_principal_with("carol", None, &PrincipalOptions::default()).expect("carol");
        assert!(kdc.entry(&carol).expect("entry").requires_preauth);
        assert_eq!(code(kdc.add_principal_with("bob", None, &no_preauth)), ErrorCode::KTIX_ERR_EXISTS);
        assert_eq!(
            code(kdc.add_principal_with("dave@OTHER.TEST", None, &no_preauth)),
            ErrorCode::KTIX_ERR_INVALID_ARGUMENT
        );
    }
}

#[cfg(test)]
mod add_tests {
    use std::sync::Arc;

    use super::*;

    /// Many threads add the same name at once: exactly one wins, the others get
    /// `KTIX_ERR_EXISTS`, and the winner's options are what the store holds.
    fn one_writer_wins(kdc: Arc<Kdc>) {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let kdc = kdc.clone();
                std::thread::spawn(move || {
                    let opts = PrincipalOptions::default().with_preauth(i % 2 == 0);
                    kdc.add_principal_with("racer", Some(&format!("pw{i}")), &opts).map(|_| i % 2 == 0)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        let won: Vec<bool> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code() == ErrorCode::KTIX_ERR_EXISTS));
        let entry = kdc.entry(&kdc.principal("racer").expect("name")).expect("entry");
        assert_eq!(entry.requires_preauth, won[0]);
    }

    #[test]
    fn adding_is_atomic_in_memory() {
        one_writer_wins(Arc::new(open_realm(&RealmSpec::memory("A.TEST")).expect("realm")));
    }

    #[test]
    fn adding_is_atomic_in_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = RealmSpec::database(dir.path().join("realm.db")).with_realm("A.TEST").creating(true);
        one_writer_wins(Arc::new(open_realm(&spec).expect("realm")));
    }
}
