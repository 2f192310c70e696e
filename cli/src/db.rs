//! `ktix db …`: the realm database ([`RealmDatabase`]: an SQLite file or a PostgreSQL database)
//! and its master-key stash (`--stash`; for SQLite by default the database path with `.stash`
//! appended, see [`ktix::kdc::stash_path`]).

use std::io::IsTerminal;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use ktix::config::{parse_duration, parse_enctypes};
use ktix::kdc::{
    open_database, stash_path, KeepKeys, MasterKey, NewKeys, Policy, PrincipalEntry, PrincipalStore, RealmDatabase,
    RealmSpec,
};
use ktix::{Enctype, Error, ErrorCode, Keytab, Principal, Result, Time};

use crate::prompt::read_password;
use crate::{DbCommand, DbPath, PolicyCommand, PolicySettings, Switch};

/// Runs one `ktix db` command.
pub fn run(cmd: DbCommand) -> Result<()> {
    match cmd {
        DbCommand::Init { db, realm, master_password, enctypes } => {
            init(&db, &realm, master_password, enctypes.as_deref())
        }
        DbCommand::Add { db, principal, password: _, random, enctypes, policy } => {
            add(&db, &principal, random, enctypes.as_deref(), policy.as_deref())
        }
        DbCommand::Del { db, principal } => del(&db, &principal),
        DbCommand::List { db } => list(&db),
        DbCommand::Mod {
            db,
            principal,
            max_life,
            max_renewable_life,
            requires_preauth,
            disabled,
            forwardable,
            renewable,
            expiration,
            policy,
            clear_policy,
            unlock,
        } => {
            let change = Change {
                max_life: max_life.as_deref().map(limit).transpose()?,
                max_renewable_life: max_renewable_life.as_deref().map(limit).transpose()?,
                requires_preauth: requires_preauth.map(Switch::on),
                disabled: disabled.map(Switch::on),
                forwardable: forwardable.map(Switch::on),
                renewable: renewable.map(Switch::on),
                expiration: expiration.as_deref().map(when).transpose()?,
                policy: if clear_policy { Some(None) } else { policy.map(Some) },
                unlock,
            };
            modify(&db, &principal, change)
        }
        DbCommand::Cpw { db, principal, random, keepold, enctypes } => {
            cpw(&db, &principal, random, keepold, enctypes.as_deref())
        }
        DbCommand::Purgekeys { db, principal, keepkvno, all: _ } => {
            let keep = keepkvno.map_or(KeepKeys::CurrentOnly, KeepKeys::FromKvno);
            purgekeys(&db, &principal, keep)
        }
        DbCommand::Policy(cmd) => policy(cmd),
        DbCommand::Dump { db, file } => dump(&db, &file),
        DbCommand::Load { db, file } => load(&db, &file),
        DbCommand::Ktadd { db, principal, keytab, randkey, keepold } => {
            ktadd(&db, &principal, &keytab, randkey, keepold)
        }
    }
}

/// The enctypes of `--enctypes LIST`, which must all be the realm's (the KDC issues nothing in
/// others); the realm's when no list is given.
fn principal_enctypes(store: &RealmDatabase, list: Option<&str>) -> Result<Vec<Enctype>> {
    let realm = store.enctypes()?;
    let Some(list) = list else { return Ok(realm) };
    let wanted = parse_enctypes(list)?;
    if let Some(e) = wanted.iter().find(|e| !realm.contains(e)) {
        let names: Vec<&str> = realm.iter().map(|e| e.name()).collect();
        return Err(Error::invalid(format!(
            "{e} is not one of the realm's enctypes ({}); a realm opts in with `ktix db init --enctypes`",
            names.join(" ")
        )));
    }
    Ok(wanted)
}

/// Reads a new password: twice on a terminal (the two must match), once from stdin otherwise.
fn read_new_password(label: &str) -> Result<Zeroizing<String>> {
    let pw = read_password(&format!("{label}: "))?;
    if std::io::stdin().is_terminal() {
        let again = read_password(&format!("Verifying - {label}: "))?;
        if *again != *pw {
            return Err(Error::invalid("the two passwords do not match"));
        }
    }
    if pw.is_empty() {
        return Err(Error::invalid("the password is empty"));
    }
    Ok(pw)
}

/// Whether `--db` names a PostgreSQL database.
fn is_uri(db: &DbPath) -> bool {
    db.db.to_str().is_some_and(ktix::kdc::postgres::is_postgres_uri)
}

/// `--db` as shown in messages (a URI's password redacted).
fn shown(db: &DbPath) -> String {
    match db.db.to_str() {
        Some(uri) if is_uri(db) => ktix::kdc::postgres::redact(uri),
        _ => db.db.display().to_string(),
    }
}

/// The master-key stash of `--db`: `--stash`, else (SQLite only) beside the file.
fn stash_of(db: &DbPath) -> Result<PathBuf> {
    match &db.stash {
        Some(s) => Ok(s.clone()),
        None if is_uri(db) => Err(Error::invalid(format!(
            "{}: a PostgreSQL realm database needs --stash FILE (where its master key is kept)",
            shown(db)
        ))),
        None => Ok(stash_path(&db.db)),
    }
}

/// Creates `dir` (mode 0700, with its parents) when it does not exist.
fn private_dir(dir: Option<&Path>) -> Result<()> {
    if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| Error::io(dir.display(), e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(dir.display(), e))?;
    }
    Ok(())
}

fn init(db: &DbPath, realm: &str, master_password: bool, enctypes: Option<&str>) -> Result<()> {
    let enctypes = enctypes.map(parse_enctypes).transpose()?;
    let tgs = Principal::new(ktix::principal::name_type::SRV_INST, vec!["krbtgt".into(), realm.into()], realm)?;
    let stash = stash_of(db)?;
    if !is_uri(db) {
        private_dir(db.db.parent())?;
        if db.db.exists() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_EXISTS,
                format!("{}: already exists, refusing to overwrite it", db.db.display()),
            ));
        }
    }
    private_dir(stash.parent())?;
    if stash.exists() {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_EXISTS,
            format!("{}: a master-key stash already exists here; remove it or choose another --db", stash.display()),
        ));
    }
    let master = if master_password {
        let pw = read_new_password(&format!("Master password for {realm}"))?;
        MasterKey::from_password(pw.as_bytes(), realm)?
    } else {
        MasterKey::generate()?
    };
    master.save_stash(&stash)?;
    let location = db.db.to_str().ok_or_else(|| Error::invalid("--db is not valid UTF-8"))?;
    let store = match RealmDatabase::create(location, realm, &master, master_password) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&stash);
            return Err(e);
        }
    };
    if let Some(list) = &enctypes {
        store.set_enctypes(list)?;
    }
    let changepw = ktix::kdc::changepw_principal(realm);
    for p in [&tgs, &changepw] {
        let mut e = PrincipalEntry::new(p.clone());
        e.set_random_keys(&store.enctypes()?, 1)?;
        store.add(e)?;
    }
    println!("created realm {realm}: database {}, master-key stash {}", store.location(), stash.display());
    println!("added {tgs} (kvno 1, random keys)");
    println!("added {changepw} (kvno 1, random keys; the change-password service)");
    Ok(())
}

fn dump(db: &DbPath, file: &Path) -> Result<()> {
    let store = open(db)?;
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| Error::io(file.display(), e))?;
    let mut out = std::io::BufWriter::new(out);
    let written = ktix::kdc::db::dump::dump(&store, &mut out);
    let n = match written {
        Ok(n) => n,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(file);
            return Err(e);
        }
    };
    println!("dumped {n} principals of {} from {} to {}", store.realm(), store.location(), file.display());
    Ok(())
}

fn load(db: &DbPath, file: &Path) -> Result<()> {
    let stash = stash_of(db)?;
    let master = MasterKey::load_stash(&stash)?;
    let input = std::fs::File::open(file).map_err(|e| Error::io(file.display(), e))?;
    let dump = ktix::kdc::db::dump::read(std::io::BufReader::new(input), &file.display().to_string(), &master)?;
    if !is_uri(db) {
        private_dir(db.db.parent())?;
        if db.db.exists() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_EXISTS,
                format!("{}: already exists; load creates a new database", db.db.display()),
            ));
        }
    }
    let location = db.db.to_str().ok_or_else(|| Error::invalid("--db is not valid UTF-8"))?;
    let store = RealmDatabase::create(location, &dump.header.realm, &master, dump.header.master_from_password)?;
    let n = ktix::kdc::db::dump::load(&store, &dump).map_err(|e| {
        e.context(format!(
            "loading {} (the new database {} is incomplete: remove it and load again)",
            file.display(),
            store.location()
        ))
    })?;
    println!("loaded {n} principals of {} into {}", dump.header.realm, store.location());
    Ok(())
}

/// The realm database of `--db`/`--stash`, as the `ktix` commands open it: with its stash, or
/// (for a database whose master key came from a password and whose stash is gone) the master
/// password, asked for.
pub fn spec(db: &DbPath) -> RealmSpec {
    RealmSpec::database(&db.db)
        .with_stash(db.stash.clone())
        .with_master_password(|realm| read_password(&format!("Master password for {realm}: ")))
}

/// Adds to an error opening the database of `db` how to create one, when there is none.
pub fn hint(db: &DbPath, e: Error) -> Error {
    if e.code() == ErrorCode::KTIX_ERR_IO && !is_uri(db) && std::fs::symlink_metadata(&db.db).is_err() {
        let d = db.db.display();
        return Error::new(e.code(), format!("{d}: no such realm database (create one with `ktix db init --db {d}`)"));
    }
    e
}

/// Opens the database of `db` (see [`spec`]).
pub fn open(db: &DbPath) -> Result<RealmDatabase> {
    open_database(&spec(db)).map_err(|e| hint(db, e))
}

/// Parses `name` in the database's realm; a name in another realm is an error.
fn principal_in(store: &RealmDatabase, name: &str) -> Result<Principal> {
    let p = Principal::parse(name, Some(store.realm()))?;
    if p.realm() != store.realm() {
        return Err(Error::invalid(format!("{p} is not in realm {} of {}", store.realm(), store.location())));
    }
    Ok(p)
}

fn not_found(store: &RealmDatabase, p: &Principal) -> Error {
    Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("{}: no principal {p}", store.location()))
}

fn add(db: &DbPath, name: &str, random: bool, enctypes: Option<&str>, policy: Option<&str>) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    if store.get(&p)?.is_some() {
        return Err(Error::new(ErrorCode::KTIX_ERR_EXISTS, format!("principal {p} already exists")));
    }
    let enctypes = principal_enctypes(&store, enctypes)?;
    let mut e = PrincipalEntry::new(p.clone());
    // kadmin's addprinc: the named policy, else the one called "default" when there is one.
    e.policy = match policy {
        Some(name) => Some(store.get_policy(name)?.ok_or_else(|| no_policy(&store, name))?.name),
        None => store.get_policy("default")?.map(|p| p.name),
    };
    if random {
        e.set_random_keys(&enctypes, 1)?;
    } else {
        let pw = read_new_password(&format!("Password for {p}"))?;
        store.check_new_password(&e, &pw)?;
        e.set_password(pw.as_bytes(), &enctypes, 1)?;
    }
    store.add(e)?;
    // Printed only after the commit: a caller may rely on this line meaning "stored".
    println!("added {p} (kvno 1, {} keys)", if random { "random" } else { "password" });
    Ok(())
}

fn no_policy(store: &RealmDatabase, name: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("{}: no policy {name}", store.location()))
}

fn del(db: &DbPath, name: &str) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    if p == Principal::krbtgt(store.realm()) {
        return Err(Error::invalid(format!("refusing to delete {p}, the realm's ticket-granting service")));
    }
    if !store.delete(&p)? {
        return Err(not_found(&store, &p));
    }
    println!("deleted {p}");
    Ok(())
}

/// One line per principal: name, current kvno, its enctypes, then any non-default attributes,
/// separated by tabs (names never contain a raw tab: it is printed as `\t`).
fn describe(e: &PrincipalEntry) -> String {
    let kvno = e.current_kvno();
    let enctypes: Vec<&str> = e.current_enctypes().iter().map(|e| e.name()).collect();
    let mut fields = vec![e.principal.to_string(), format!("kvno={kvno}"), format!("enctypes={}", enctypes.join(","))];
    let mut old: Vec<u32> = e.keys.iter().map(|k| k.kvno).filter(|&v| v != kvno).collect();
    old.sort_unstable();
    old.dedup();
    if !old.is_empty() {
        let old: Vec<String> = old.iter().map(u32::to_string).collect();
        fields.push(format!("old_kvnos={}", old.join(",")));
    }
    if let Some(p) = &e.policy {
        fields.push(format!("policy={p}"));
    }
    if e.fail_count > 0 {
        fields.push(format!("failures={}", e.fail_count));
    }
    if !e.requires_preauth {
        fields.push("no-preauth".into());
    }
    if e.disabled {
        fields.push("disabled".into());
    }
    if !e.allow_forwardable {
        fields.push("no-forwardable".into());
    }
    if !e.allow_renewable {
        fields.push("no-renewable".into());
    }
    if let Some(l) = e.max_life {
        fields.push(format!("max_life={l}"));
    }
    if let Some(l) = e.max_renewable_life {
        fields.push(format!("max_renewable_life={l}"));
    }
    if let Some(t) = e.expiration {
        fields.push(format!("expires={}", t.to_utc_string()));
    }
    fields.join("\t")
}

fn list(db: &DbPath) -> Result<()> {
    let store = open(db)?;
    for p in store.list()? {
        // A principal deleted meanwhile by another process is simply not shown.
        if let Some(e) = store.get(&p)? {
            println!("{}", describe(&e));
        }
    }
    Ok(())
}

fn ktadd(db: &DbPath, name: &str, keytab: &str, randkey: bool, keepold: bool) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    let entry = if randkey {
        let enctypes = store.enctypes()?;
        store.modify(&p, |e| e.change_keys(NewKeys::Random, &enctypes, keepold).map(|_| ()))?
    } else {
        store.get(&p)?.ok_or_else(|| not_found(&store, &p))?
    };
    let path = keytab.strip_prefix("FILE:").or_else(|| keytab.strip_prefix("WRFILE:")).unwrap_or(keytab);
    let mut kt = if Path::new(path).exists() { Keytab::load(keytab)? } else { Keytab::new() };
    let kvno = entry.current_kvno();
    let now = Time::now();
    let mut n = 0;
    for k in entry.keys.iter().filter(|k| k.kvno == kvno) {
        kt.add(entry.principal.clone(), kvno, k.key.clone(), now);
        n += 1;
    }
    kt.save(keytab).map_err(|e| {
        if randkey {
            e.context(format!(
                "the new keys (kvno {kvno}) are in the database; export them with `ktix db ktadd` without --randkey"
            ))
        } else {
            e
        }
    })?;
    println!("exported {n} keys of {} (kvno {kvno}) to {keytab}", entry.principal);
    Ok(())
}

/// The settings `ktix db mod` changes (`None`: leave as it is).
struct Change {
    max_life: Option<Option<i64>>,
    max_renewable_life: Option<Option<i64>>,
    requires_preauth: Option<bool>,
    disabled: Option<bool>,
    forwardable: Option<bool>,
    renewable: Option<bool>,
    expiration: Option<Option<Time>>,
    policy: Option<Option<String>>,
    unlock: bool,
}

/// A lifetime limit: a duration, or "default" (the realm's).
fn limit(text: &str) -> Result<Option<i64>> {
    if text.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    match parse_duration(text)? {
        d if d > 0 => Ok(Some(d)),
        d => Err(Error::invalid(format!("a lifetime must be positive, not {d} s"))),
    }
}

/// An expiration: "never", seconds since the epoch, or `YYYY-MM-DD HH:MM:SS` in UTC.
fn when(text: &str) -> Result<Option<Time>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    if let Ok(secs) = t.parse::<i64>() {
        return Ok(Some(Time::from_unix(secs)));
    }
    let bad = || Error::invalid(format!("{text:?} is not \"never\", seconds or YYYY-MM-DD HH:MM:SS"));
    let (date, clock) = t.split_once([' ', 'T']).unwrap_or((t, "00:00:00"));
    let d: Vec<&str> = date.split('-').collect();
    let c: Vec<&str> = clock.trim_end_matches('Z').split(':').collect();
    if d.len() != 3 || c.len() != 3 {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let year = d[0].parse::<i64>().map_err(|_| bad())?;
    Time::from_civil(year, n(d[1])?, n(d[2])?, n(c[0])?, n(c[1])?, n(c[2])?).map(Some).ok_or_else(bad)
}

fn modify(db: &DbPath, name: &str, c: Change) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    let e = store.modify(&p, |e| {
        if let Some(v) = c.max_life {
            e.max_life = v;
        }
        if let Some(v) = c.max_renewable_life {
            e.max_renewable_life = v;
        }
        if let Some(v) = c.requires_preauth {
            e.requires_preauth = v;
        }
        if let Some(v) = c.disabled {
            e.disabled = v;
        }
        if let Some(v) = c.forwardable {
            e.allow_forwardable = v;
        }
        if let Some(v) = c.renewable {
            e.allow_renewable = v;
        }
        if let Some(v) = c.expiration {
            e.expiration = v;
        }
        if let Some(v) = &c.policy {
            e.policy = v.clone();
        }
        if c.unlock {
            e.fail_count = 0;
        }
        Ok(())
    })?;
    println!("{}", describe(&e));
    Ok(())
}

fn cpw(db: &DbPath, name: &str, random: bool, keepold: bool, enctypes: Option<&str>) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    let current = store.get(&p)?.ok_or_else(|| not_found(&store, &p))?;
    let enctypes = principal_enctypes(&store, enctypes)?;
    let pw = if random { None } else { Some(read_new_password(&format!("New password for {p}"))?) };
    if let Some(pw) = &pw {
        store.check_new_password(&current, pw)?;
    }
    let e = store.modify(&p, |e| {
        let new = match &pw {
            Some(pw) => NewKeys::Password(pw.as_bytes()),
            None => NewKeys::Random,
        };
        e.change_keys(new, &enctypes, keepold).map(|_| ())
    })?;
    let kept = if keepold { ", old keys kept" } else { "" };
    println!("changed the keys of {p} (kvno {}{kept})", e.current_kvno());
    Ok(())
}

fn purgekeys(db: &DbPath, name: &str, keep: KeepKeys) -> Result<()> {
    let store = open(db)?;
    let p = principal_in(&store, name)?;
    let mut removed = 0;
    let e = store.modify(&p, |e| {
        removed = e.purge_keys(keep)?;
        Ok(())
    })?;
    println!("removed {removed} old keys of {p}; {}", describe(&e));
    Ok(())
}

/// A policy duration: a duration as kdc.conf writes them (`10m`, `1h 0m 0s`, seconds), 0 for none.
fn duration(text: &str) -> Result<i64> {
    match parse_duration(text)? {
        d if d >= 0 => Ok(d),
        d => Err(Error::invalid(format!("a duration cannot be negative ({d} s)"))),
    }
}

fn apply(p: &mut Policy, s: &PolicySettings) -> Result<()> {
    if let Some(v) = s.max_failures {
        p.max_failures = v;
    }
    if let Some(v) = &s.failure_interval {
        p.failure_interval = duration(v)?;
    }
    if let Some(v) = &s.lockout_duration {
        p.lockout_duration = duration(v)?;
    }
    if let Some(v) = s.min_length {
        p.min_length = v;
    }
    if let Some(v) = s.min_classes {
        p.min_classes = v;
    }
    p.validate()
}

/// One line per policy: its name and settings, tab-separated.
fn describe_policy(p: &Policy) -> String {
    format!(
        "{}\tmax_failures={}\tfailure_interval={}\tlockout_duration={}\tmin_length={}\tmin_classes={}",
        p.name, p.max_failures, p.failure_interval, p.lockout_duration, p.min_length, p.min_classes
    )
}

fn policy(cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Add { db, name, settings } => {
            let store = open(&db)?;
            if store.get_policy(&name)?.is_some() {
                return Err(Error::new(ErrorCode::KTIX_ERR_EXISTS, format!("policy {name} already exists")));
            }
            let mut p = Policy::new(&name);
            apply(&mut p, &settings)?;
            store.put_policy(p.clone())?;
            println!("added policy {}", describe_policy(&p));
        }
        PolicyCommand::Mod { db, name, settings } => {
            let store = open(&db)?;
            let mut p = store.get_policy(&name)?.ok_or_else(|| no_policy(&store, &name))?;
            apply(&mut p, &settings)?;
            store.put_policy(p.clone())?;
            println!("{}", describe_policy(&p));
        }
        PolicyCommand::Del { db, name } => {
            let store = open(&db)?;
            if !store.delete_policy(&name)? {
                return Err(no_policy(&store, &name));
            }
            println!("deleted policy {name}");
        }
        PolicyCommand::List { db, name: None } => {
            for p in open(&db)?.list_policies()? {
                println!("{}", describe_policy(&p));
            }
        }
        PolicyCommand::List { db, name: Some(name) } => {
            let store = open(&db)?;
            println!("{}", describe_policy(&store.get_policy(&name)?.ok_or_else(|| no_policy(&store, &name))?));
        }
    }
    Ok(())
}
