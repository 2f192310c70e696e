//! `ktix db …` run as the built binary: init, add, list, ktadd, del, refusals, and `kill -9`
//! during `ktix db add`.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktix::kdc::{stash_path, MasterKey, PrincipalStore, SqliteStore};
use ktix::{CCache, Client, ClientConfig, FixedClock, InProcess, Kdc, Keytab, Principal, RealmPolicy, Time};

const REALM: &str = "CLI.TEST";
const SERVICE: &str = "host/svc.cli.test";

fn ktix(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktix"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = ktix(args, stdin);
    assert!(out.status.success(), "ktix {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], stdin: Option<&str>) -> String {
    let out = ktix(args, stdin);
    assert!(!out.status.success(), "ktix {args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

struct Db {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
}

impl Db {
    fn init() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let db = root.join("realm").join("realm.db");
        let out = ok(&["db", "init", "--db", db.to_str().unwrap(), "--realm", REALM], None);
        assert!(out.contains("created realm CLI.TEST"), "{out}");
        Db { _dir: dir, root, db }
    }

    fn arg(&self) -> &str {
        self.db.to_str().unwrap()
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db, &MasterKey::load_stash(&stash_path(&self.db)).unwrap()).unwrap()
    }
}

/// (principal, kvno, enctype, key bytes) of every keytab entry, sorted.
fn keys_of(kt: &Keytab) -> Vec<(String, u32, i32, Vec<u8>)> {
    let mut v: Vec<_> = kt
        .entries()
        .iter()
        .map(|e| (e.principal.to_string(), e.kvno, e.key.enctype_id(), e.key.bytes().to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn init_add_list_ktadd_del() {
    let d = Db::init();
    let dir_mode = std::fs::metadata(d.db.parent().unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    let stash = stash_path(&d.db);
    assert_eq!(std::fs::metadata(&stash).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(fails(&["db", "init", "--db", d.arg(), "--realm", REALM], None).contains("already exists"));

    let out = ok(&["db", "add", "--db", d.arg(), "alice"], Some("alice-pw\n"));
    assert!(out.contains("added alice@CLI.TEST"), "{out}");
    ok(&["db", "add", "--db", d.arg(), "--random", SERVICE], None);
    assert!(fails(&["db", "add", "--db", d.arg(), "--random", "alice"], None).contains("already exists"));
    assert!(fails(&["db", "add", "--db", d.arg(), "bob"], Some("")).contains("no password"));
    assert!(fails(&["db", "add", "--db", d.arg(), "--random", "bob@ELSEWHERE"], None).contains("not in realm"));

    let list = ok(&["db", "list", "--db", d.arg()], None);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    let names: Vec<&str> = lines.iter().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(
        names,
        ["alice@CLI.TEST", "host/svc.cli.test@CLI.TEST", "kadmin/changepw@CLI.TEST", "krbtgt/CLI.TEST@CLI.TEST"]
    );
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[1], "kvno=1", "{l}");
        // A new realm's keys: MIT 1.20's default enctypes, strongest first.
        assert_eq!(f[2], "enctypes=aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96", "{l}");
    }

    // The password from stdin is alice's: a KDC over the database logs her in.
    {
        let kdc = Arc::new(Kdc::with_store(REALM, Arc::new(d.store()), RealmPolicy::default()).unwrap());
        let clock = Arc::new(FixedClock::new(Time::now()));
        let transport = Arc::new(InProcess::new(kdc, clock.clone()));
        let client = Client::with_clock(ClientConfig::new(REALM), transport, CCache::memory(), clock);
        client.login("alice", "alice-pw").unwrap();
        client.ap_req(SERVICE, false).unwrap();
    }

    // ktadd twice: the same keys, equal to the database's.
    let kt = d.root.join("svc.keytab");
    let kt_name = format!("FILE:{}", kt.display());
    let out = ok(&["db", "ktadd", "--db", d.arg(), SERVICE, "-k", &kt_name], None);
    assert!(out.contains("exported 2 keys"), "{out}");
    assert_eq!(std::fs::metadata(&kt).unwrap().permissions().mode() & 0o777, 0o600);
    let first = keys_of(&Keytab::load(&kt_name).unwrap());
    assert_eq!(first.len(), 2);
    ok(&["db", "ktadd", "--db", d.arg(), SERVICE, "--keytab", kt.to_str().unwrap()], None);
    let second = keys_of(&Keytab::load(&kt_name).unwrap());
    assert_eq!(first, second, "ktadd without --randkey keeps the keys");
    let entry = d.store().get(&Principal::parse(SERVICE, Some(REALM)).unwrap()).unwrap().unwrap();
    let mut db_keys: Vec<_> = entry
        .keys
        .iter()
        .map(|k| (entry.principal.to_string(), k.kvno, k.key.enctype().id(), k.key.bytes().to_vec()))
        .collect();
    db_keys.sort();
    assert_eq!(first, db_keys);

    // --randkey: new keys at kvno 2, added beside the old ones.
    ok(&["db", "ktadd", "--db", d.arg(), SERVICE, "-k", &kt_name, "--randkey"], None);
    let third = keys_of(&Keytab::load(&kt_name).unwrap());
    assert_eq!(third.len(), 4);
    assert_eq!(third.iter().filter(|k| k.1 == 2).count(), 2);
    assert!(first.iter().all(|k| third.contains(k)), "the kvno 1 entries are kept");
    let list = ok(&["db", "list", "--db", d.arg()], None);
    assert!(list.lines().any(|l| l.starts_with("host/svc.cli.test@CLI.TEST\tkvno=2\t")), "{list}");
    assert!(fails(&["db", "ktadd", "--db", d.arg(), "nobody", "-k", &kt_name], None).contains("no principal"));

    // del.
    assert!(ok(&["db", "del", "--db", d.arg(), "alice"], None).contains("deleted alice@CLI.TEST"));
    assert!(fails(&["db", "del", "--db", d.arg(), "alice"], None).contains("no principal alice@CLI.TEST"));
    assert!(fails(&["db", "del", "--db", d.arg(), "krbtgt/CLI.TEST"], None).contains("refusing"));
    assert_eq!(ok(&["db", "list", "--db", d.arg()], None).lines().count(), 3);
}

#[test]
fn master_password_database_opens_without_its_stash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("realm.db");
    let db_arg = db.to_str().unwrap();
    ok(&["db", "init", "--db", db_arg, "--realm", REALM, "--master-password"], Some("master pw\n"));
    assert!(SqliteStore::inspect(&db).unwrap().master_from_password);
    std::fs::remove_file(stash_path(&db)).unwrap();
    // The master password first, then alice's.
    ok(&["db", "add", "--db", db_arg, "alice"], Some("master pw\nalice-pw\n"));
    let err = fails(&["db", "list", "--db", db_arg], Some("not the master pw\n"));
    assert!(err.contains("wrong master key"), "{err}");
    assert_eq!(ok(&["db", "list", "--db", db_arg], Some("master pw\n")).lines().count(), 3);
}

#[test]
fn missing_foreign_and_keyless_databases_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let err = fails(&["db", "list", "--db", missing.to_str().unwrap()], None);
    assert!(err.contains(&*missing.to_string_lossy()) && err.contains("ktix db init"), "{err}");
    assert!(!missing.exists());
    let text = dir.path().join("text.db");
    std::fs::write(&text, "hello\n".repeat(200)).unwrap();
    let err = fails(&["db", "add", "--db", text.to_str().unwrap(), "--random", "x"], None);
    assert!(err.contains(&*text.to_string_lossy()) && err.contains("not a ktix realm database"), "{err}");
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x);").unwrap();
    let err = fails(&["db", "list", "--db", other.to_str().unwrap()], None);
    assert!(err.contains(&*other.to_string_lossy()) && err.contains("not a ktix realm database"), "{err}");
    // A database whose stash is gone (random master key).
    let d = Db::init();
    std::fs::remove_file(stash_path(&d.db)).unwrap();
    let err = fails(&["db", "list", "--db", d.arg()], None);
    assert!(err.contains("stash") && err.contains("missing"), "{err}");
}

fn integrity_ok(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    let r: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(r, "ok");
}

#[test]
fn kill_9_during_db_add_loses_nothing_committed() {
    const ROUNDS: usize = 80;
    let d = Db::init();
    let mut seed = (Time::now().unix_micros() as u64) | 1;
    println!("seed {seed}");
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut reported = HashSet::new();
    let mut killed = 0;
    for i in 0..ROUNDS {
        let name = format!("p{i}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ktix"))
            .args(["db", "add", "--db", d.arg(), "--random", &name])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a random moment within the process's life (one takes about 10 ms).
        let at = Duration::from_micros(next() % 12_000);
        let t0 = Instant::now();
        let mut exited = false;
        while t0.elapsed() < at {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if !exited {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let out = child.wait_with_output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains(&format!("added {name}@{REALM}")) {
            reported.insert(name);
        }
        if i % 10 == 9 {
            integrity_ok(&d.db);
        }
    }
    integrity_ok(&d.db);
    let store = d.store();
    for name in &reported {
        let e = store.get(&Principal::parse(name, Some(REALM)).unwrap()).unwrap();
        assert!(e.is_some_and(|e| e.keys.len() == 2), "{name} was reported added but is not whole");
    }
    for p in store.list().unwrap() {
        assert_eq!(store.get(&p).unwrap().unwrap().keys.len(), 2, "{p}");
    }
    // The database still takes writes.
    ok(&["db", "add", "--db", d.arg(), "--random", "after"], None);
    println!("{killed} of {ROUNDS} adds killed, {} reported committed", reported.len());
}

#[test]
fn realm_enctypes_are_configurable_at_init() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("realm.db");
    let db_arg = db.to_str().unwrap();
    assert!(fails(&["db", "init", "--db", db_arg, "--realm", REALM, "--enctypes", "des-cbc-crc"], None)
        .contains("no supported encryption type"));
    ok(
        &[
            "db",
            "init",
            "--db",
            db_arg,
            "--realm",
            REALM,
            "--enctypes",
            "aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96",
        ],
        None,
    );
    ok(&["db", "add", "--db", db_arg, "alice"], Some("alice-pw\n"));
    ok(&["db", "add", "--db", db_arg, "--random", SERVICE], None);
    let store = SqliteStore::open(&db, &MasterKey::load_stash(&stash_path(&db)).unwrap()).unwrap();
    let want = vec![ktix::Enctype::Aes256CtsHmacSha196, ktix::Enctype::Aes128CtsHmacSha196];
    assert_eq!(store.enctypes().unwrap(), want);
    for name in ["alice", SERVICE, "krbtgt/CLI.TEST"] {
        let p = ktix::Principal::parse(name, Some(REALM)).unwrap();
        let e = store.get(&p).unwrap().unwrap();
        let mut got: Vec<_> = e.keys.iter().map(|k| k.key.enctype()).collect();
        got.sort();
        assert_eq!(got, vec![ktix::Enctype::Aes128CtsHmacSha196, ktix::Enctype::Aes256CtsHmacSha196], "{name}");
    }
    // Without --enctypes: MIT 1.20's supported_enctypes default, SHA-2 opt-in.
    let other = Db::init();
    assert_eq!(other.store().enctypes().unwrap(), ktix::kdc::DEFAULT_ENCTYPES.to_vec());
}

/// A client against a KDC over the database `d`, at the real time.
fn client_for(d: &Db) -> Client {
    let kdc = Arc::new(Kdc::with_store(REALM, Arc::new(d.store()), RealmPolicy::default()).unwrap());
    let clock = Arc::new(FixedClock::new(Time::now()));
    let transport = Arc::new(InProcess::new(kdc, clock.clone()));
    Client::with_clock(ClientConfig::new(REALM), transport, CCache::memory(), clock)
}

#[test]
fn mod_and_cpw_change_policy_and_keys() {
    let d = Db::init();
    ok(&["db", "add", "--db", d.arg(), "alice"], Some("alice-pw\n"));

    let out = ok(&["db", "mod", "--db", d.arg(), "alice", "--max-life", "1h", "--forwardable", "off"], None);
    assert!(out.contains("max_life=3600") && out.contains("no-forwardable"), "{out}");
    let tgt = client_for(&d).login("alice", "alice-pw").unwrap();
    assert_eq!(tgt.end_time.secs_since(tgt.start()), 3600);
    assert!(!tgt.flags.has(ktix::internals::wire::ticket_flags::FORWARDABLE));

    ok(&["db", "mod", "--db", d.arg(), "alice", "--disabled", "on"], None);
    let e = client_for(&d).login("alice", "alice-pw").unwrap_err();
    assert_eq!(e.code(), ktix::ErrorCode::KDC_ERR_CLIENT_REVOKED, "{e}");
    ok(&["db", "mod", "--db", d.arg(), "alice", "--disabled", "off", "--expiration", "2001-01-01 00:00:00"], None);
    assert_eq!(client_for(&d).login("alice", "alice-pw").unwrap_err().code(), ktix::ErrorCode::KDC_ERR_NAME_EXP);
    let out = ok(&["db", "mod", "--db", d.arg(), "alice", "--expiration", "never", "--max-life", "default"], None);
    assert!(!out.contains("expires=") && !out.contains("max_life="), "{out}");
    assert!(fails(&["db", "mod", "--db", d.arg(), "alice", "--expiration", "tomorrow"], None).contains("never"));
    assert!(fails(&["db", "mod", "--db", d.arg(), "nobody", "--disabled", "on"], None).contains("nobody"));

    let out = ok(&["db", "cpw", "--db", d.arg(), "alice"], Some("new-pw\n"));
    assert!(out.contains("kvno 2"), "{out}");
    assert_eq!(client_for(&d).login("alice", "alice-pw").unwrap_err().code(), ktix::ErrorCode::KDC_ERR_PREAUTH_FAILED);
    client_for(&d).login("alice", "new-pw").unwrap();
    ok(&["db", "add", "--db", d.arg(), "--random", SERVICE], None);
    let out = ok(&["db", "cpw", "--db", d.arg(), "--random", SERVICE], None);
    assert!(out.contains("kvno 2"), "{out}");
}

#[test]
fn keepold_purgekeys_and_principal_enctypes() {
    let d = Db::init();
    ok(&["db", "add", "--db", d.arg(), "alice"], Some("alice-pw\n"));
    // --enctypes limits the keys; an enctype the realm does not have is refused by name.
    let out = ok(&["db", "add", "--db", d.arg(), "--random", "--enctypes", "aes128-cts-hmac-sha1-96", SERVICE], None);
    assert!(out.contains("added"), "{out}");
    assert!(ok(&["db", "list", "--db", d.arg()], None).contains("enctypes=aes128-cts-hmac-sha1-96\n"));
    let err = fails(&["db", "add", "--db", d.arg(), "--random", "--enctypes", "aes256-cts-hmac-sha384-192", "x"], None);
    assert!(err.contains("aes256-cts-hmac-sha384-192 is not one of the realm's enctypes"), "{err}");
    let out = ok(&["db", "cpw", "--db", d.arg(), "--random", "--enctypes", "aes256-cts-hmac-sha1-96", SERVICE], None);
    assert!(out.contains("kvno 2"), "{out}");

    // A TGT from before a krbtgt rotation with --keepold still gets service tickets.
    let client = client_for(&d);
    client.login("alice", "alice-pw").unwrap();
    let out = ok(&["db", "cpw", "--db", d.arg(), "--random", "--keepold", "krbtgt/CLI.TEST"], None);
    assert!(out.contains("kvno 2, old keys kept"), "{out}");
    let list = ok(&["db", "list", "--db", d.arg()], None);
    assert!(
        list.lines().any(|l| l.starts_with("krbtgt/CLI.TEST@CLI.TEST\tkvno=2") && l.contains("old_kvnos=1")),
        "{list}"
    );
    // (client_for is a fresh KDC over the same database each time: the change is seen.)
    let kdc = Arc::new(Kdc::with_store(REALM, Arc::new(d.store()), RealmPolicy::default()).unwrap());
    let clock = Arc::new(FixedClock::new(Time::now()));
    let again = Client::with_clock(
        ClientConfig::new(REALM),
        Arc::new(InProcess::new(kdc, clock.clone())),
        client.ccache().clone(),
        clock,
    );
    again.service_ticket(SERVICE).unwrap();
    // New TGTs are sealed in kvno 2.
    let fresh = client_for(&d);
    fresh.login("alice", "alice-pw").unwrap();
    let t = ktix::internals::wire::decode::<ktix::internals::wire::Ticket>(&fresh.tgt().unwrap().ticket).unwrap();
    assert_eq!(t.enc_part.kvno, Some(2));

    // purgekeys: one of --keepkvno / --all; removing the current keys is refused.
    assert!(fails(&["db", "purgekeys", "--db", d.arg(), "krbtgt/CLI.TEST"], None).contains("--keepkvno"));
    let err = fails(&["db", "purgekeys", "--db", d.arg(), "krbtgt/CLI.TEST", "--keepkvno", "3"], None);
    assert!(err.contains("would remove every key"), "{err}");
    let out = ok(&["db", "purgekeys", "--db", d.arg(), "krbtgt/CLI.TEST", "--keepkvno", "2"], None);
    assert!(out.contains("removed 2 old keys") && !out.contains("old_kvnos"), "{out}");
    client.ccache().remove(&Principal::parse(SERVICE, Some(REALM)).unwrap()).unwrap();
    let e = again.service_ticket(SERVICE).unwrap_err();
    assert_eq!(e.code(), ktix::ErrorCode::KRB_AP_ERR_BADKEYVER, "{e}");

    // ktadd --randkey --keepold keeps the old kvno too; --keepold needs --randkey.
    let kt = d.root.join("svc.keytab");
    let kt_arg = kt.to_str().unwrap();
    ok(&["db", "ktadd", "--db", d.arg(), SERVICE, "-k", kt_arg, "--randkey", "--keepold"], None);
    let list = ok(&["db", "list", "--db", d.arg()], None);
    assert!(
        list.lines().any(|l| l.starts_with("host/svc.cli.test@CLI.TEST\tkvno=3") && l.contains("old_kvnos=2")),
        "{list}"
    );
    fails(&["db", "ktadd", "--db", d.arg(), SERVICE, "-k", kt_arg, "--keepold"], None);
    let out = ok(&["db", "purgekeys", "--db", d.arg(), SERVICE, "--all"], None);
    assert!(out.contains("removed 1 old keys"), "{out}");
}

#[test]
fn policies_lock_out_and_check_passwords() {
    let d = Db::init();
    let out = ok(
        &[
            "db",
            "policy",
            "add",
            "--db",
            d.arg(),
            "users",
            "--max-failures",
            "3",
            "--failure-interval",
            "10m",
            "--lockout-duration",
            "1h",
            "--min-length",
            "8",
            "--min-classes",
            "3",
        ],
        None,
    );
    assert!(out.contains("users\tmax_failures=3\tfailure_interval=600\tlockout_duration=3600"), "{out}");
    assert!(fails(&["db", "policy", "add", "--db", d.arg(), "users"], None).contains("already exists"));
    assert!(fails(&["db", "policy", "add", "--db", d.arg(), "x", "--min-classes", "6"], None).contains("5"));

    // Password rules apply to add and cpw, with the rule named.
    let err = fails(&["db", "add", "--db", d.arg(), "--policy", "users", "alice"], Some("Ab1.\n"));
    assert!(err.contains("too short") && err.contains("8 characters"), "{err}");
    let err = fails(&["db", "add", "--db", d.arg(), "--policy", "users", "alice"], Some("alllowercase1\n"));
    assert!(err.contains("2 character classes") && err.contains("requires 3"), "{err}");
    assert!(fails(&["db", "add", "--db", d.arg(), "--policy", "nope", "alice"], Some("x\n")).contains("no policy nope"));
    ok(&["db", "add", "--db", d.arg(), "--policy", "users", "alice"], Some("Alice-pw1\n"));
    assert!(ok(&["db", "list", "--db", d.arg()], None).contains("policy=users"));
    assert!(fails(&["db", "cpw", "--db", d.arg(), "alice"], Some("short\n")).contains("too short"));

    // Three wrong passwords: locked out, even with the right one (KDC_ERR_CLIENT_REVOKED).
    for _ in 0..3 {
        let e = client_for(&d).login("alice", "wrong").unwrap_err();
        assert_eq!(e.code(), ktix::ErrorCode::KDC_ERR_PREAUTH_FAILED, "{e}");
    }
    assert!(ok(&["db", "list", "--db", d.arg()], None).contains("failures=3"));
    let e = client_for(&d).login("alice", "Alice-pw1").unwrap_err();
    assert_eq!(e.code(), ktix::ErrorCode::KDC_ERR_CLIENT_REVOKED, "{e}");
    // --unlock ends it; a success clears the count.
    ok(&["db", "mod", "--db", d.arg(), "alice", "--unlock"], None);
    client_for(&d).login("alice", "wrong").unwrap_err();
    client_for(&d).login("alice", "Alice-pw1").unwrap();
    assert!(!ok(&["db", "list", "--db", d.arg()], None).contains("failures="));

    // A policy in use is not deleted; list and mod.
    assert!(fails(&["db", "policy", "del", "--db", d.arg(), "users"], None).contains("in use"));
    let out = ok(&["db", "policy", "mod", "--db", d.arg(), "users", "--max-failures", "0"], None);
    assert!(out.contains("max_failures=0\tfailure_interval=600"), "{out}");
    for _ in 0..4 {
        client_for(&d).login("alice", "wrong").unwrap_err();
    }
    client_for(&d).login("alice", "Alice-pw1").unwrap();
    ok(&["db", "mod", "--db", d.arg(), "alice", "--clear-policy"], None);
    assert!(ok(&["db", "policy", "list", "--db", d.arg(), "users"], None).starts_with("users\tmax_failures=0"));
    ok(&["db", "policy", "del", "--db", d.arg(), "users"], None);
    assert!(fails(&["db", "policy", "list", "--db", d.arg(), "users"], None).contains("no policy users"));
    assert_eq!(ok(&["db", "policy", "list", "--db", d.arg()], None), "");
    assert!(fails(&["db", "policy", "del", "--db", d.arg(), "users"], None).contains("no policy users"));
}
