//! The SQLite realm database: round trips, refusals of foreign and missing files, the master
//! key, a KDC serving from it, concurrent readers and writers, and `kill -9` during writes.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktix::kdc::{stash_path, MasterKey, PrincipalEntry, PrincipalStore, SqliteStore};
use ktix::{
    Acceptor, AcceptorConfig, CCache, Client, ClientConfig, Enctype, ErrorCode, FixedClock, InProcess, Kdc, Key,
    Principal, RealmPolicy, Time,
};

const REALM: &str = "SQL.TEST";

fn p(name: &str) -> Principal {
    Principal::parse(name, Some(REALM)).unwrap()
}

fn random_entry(name: &str) -> PrincipalEntry {
    let mut e = PrincipalEntry::new(p(name));
    e.set_random_keys(&Enctype::ALL, 1).unwrap();
    e
}

fn new_db(dir: &Path) -> (PathBuf, MasterKey, SqliteStore) {
    let path = dir.join("realm.db");
    let mk = MasterKey::generate().unwrap();
    let store = SqliteStore::create(&path, REALM, &mk).unwrap();
    (path, mk, store)
}

fn assert_same_entry(a: &PrincipalEntry, b: &PrincipalEntry) {
    assert_eq!(a.principal, b.principal);
    assert_eq!(a.principal.name_type(), b.principal.name_type());
    assert_eq!(a.requires_preauth, b.requires_preauth);
    assert_eq!(a.max_life, b.max_life);
    assert_eq!(a.max_renewable_life, b.max_renewable_life);
    assert_eq!(a.expiration, b.expiration);
    assert_eq!(a.disabled, b.disabled);
    assert_eq!(a.allow_forwardable, b.allow_forwardable);
    assert_eq!(a.allow_renewable, b.allow_renewable);
    let norm = |e: &PrincipalEntry| {
        let mut v: Vec<_> = e
            .keys
            .iter()
            .map(|k| (k.kvno, k.key.enctype().id(), k.key.bytes().to_vec(), k.salt.clone(), k.s2kparams.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(norm(a), norm(b));
}

#[test]
fn put_get_delete_list_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, store) = new_db(dir.path());
    assert_eq!(store.realm(), REALM);
    assert!(store.list().unwrap().is_empty());
    assert!(store.get(&p("alice")).unwrap().is_none());

    let mut alice = PrincipalEntry::new(p("alice"));
    alice.set_password(b"alice-pw", &Enctype::ALL, 3).unwrap();
    let old = Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
    alice.keys.push(ktix::kdc::KeyEntry {
        kvno: 2,
        key: old,
        salt: b"odd salt".to_vec(),
        s2kparams: Some(vec![0, 0, 0x20, 0]),
    });
    alice.requires_preauth = false;
    alice.max_life = Some(3600);
    alice.max_renewable_life = Some(86_400);
    alice.expiration = Some(Time::from_unix_parts(1_900_000_000, 123_456));
    alice.disabled = true;
    alice.allow_forwardable = false;
    alice.allow_renewable = false;
    store.put(alice.clone()).unwrap();
    // A name with characters that need escaping.
    let odd = Principal::new(1, vec!["we/ird@name".into(), "tab\there".into()], REALM).unwrap();
    let mut odd_e = PrincipalEntry::new(odd.clone());
    odd_e.set_random_keys(&[Enctype::Aes256CtsHmacSha384192], 1).unwrap();
    store.put(odd_e.clone()).unwrap();
    store.put(random_entry("host/server.sql.test")).unwrap();

    let got = store.get(&p("alice")).unwrap().unwrap();
    assert_same_entry(&got, &alice);
    assert_eq!(got.current_kvno(), 3);
    assert_same_entry(&store.get(&odd).unwrap().unwrap(), &odd_e);
    let names: Vec<String> = store.list().unwrap().iter().map(|p| p.to_string()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 3);
    assert_eq!(store.list().unwrap().iter().find(|x| **x == odd).unwrap().name_type(), 1);

    // Replacing keeps one entry; add refuses an existing one.
    let mut alice2 = alice.clone();
    alice2.set_password(b"new-pw", &Enctype::ALL, 4).unwrap();
    alice2.disabled = false;
    store.put(alice2.clone()).unwrap();
    assert_same_entry(&store.get(&p("alice")).unwrap().unwrap(), &alice2);
    assert_eq!(store.add(alice.clone()).unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);

    // Refusals: no keys, another realm, duplicate (kvno, enctype).
    assert_eq!(store.put(PrincipalEntry::new(p("nokeys"))).unwrap_err().code(), ErrorCode::KDC_ERR_NULL_KEY);
    let mut other = PrincipalEntry::new(Principal::parse("bob@OTHER.TEST", None).unwrap());
    other.set_random_keys(&Enctype::ALL, 1).unwrap();
    assert!(store.put(other).is_err());
    let mut dup = random_entry("dup");
    dup.keys.push(dup.keys[0].clone());
    assert!(store.put(dup).is_err());
    assert!(store.get(&p("dup")).unwrap().is_none(), "a failed write leaves nothing");

    // modify: one transaction, nothing written when the closure fails.
    let e = store.modify(&p("alice"), |e| e.set_random_keys(&Enctype::ALL, 5)).unwrap();
    assert_eq!(e.current_kvno(), 5);
    let err = store.modify(&p("alice"), |_| Err(ktix::Error::invalid("no"))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().current_kvno(), 5);
    assert_eq!(store.modify(&p("nobody"), |_| Ok(())).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_FOUND);

    // Everything is on disk: a fresh open sees the same.
    drop(store);
    let store = SqliteStore::open(&path, &mk).unwrap();
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().current_kvno(), 5);
    assert_same_entry(&store.get(&odd).unwrap().unwrap(), &odd_e);
    assert!(store.delete(&p("alice")).unwrap());
    assert!(!store.delete(&p("alice")).unwrap());
    assert!(store.get(&p("alice")).unwrap().is_none());
    assert_eq!(store.list().unwrap().len(), 2);

    let info = SqliteStore::inspect(&path).unwrap();
    assert_eq!(info.realm, REALM);
    assert_eq!(info.schema_version, ktix::kdc::sqlite::SCHEMA_VERSION);
    assert!(!info.master_from_password);
    // The file is private.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn create_refuses_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, _store) = new_db(dir.path());
    let e = SqliteStore::create(&path, REALM, &mk).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_EXISTS);
    assert!(e.message().contains(&*path.to_string_lossy()), "{e}");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "keep me").unwrap();
    assert_eq!(SqliteStore::create(&text, REALM, &mk).unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "keep me");
}

#[test]
fn wrong_master_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _mk, store) = new_db(dir.path());
    store.put(random_entry("alice")).unwrap();
    drop(store);
    let e = SqliteStore::open(&path, &MasterKey::generate().unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{e}");
    assert!(e.message().contains("wrong master key"), "{e}");
    assert!(e.message().contains(&*path.to_string_lossy()), "{e}");

    // A password-derived master key: the same password opens, another does not.
    let pw_path = dir.path().join("pw.db");
    let mk = MasterKey::from_password(b"master pw", REALM).unwrap();
    SqliteStore::create_from_password(&pw_path, REALM, &mk).unwrap();
    assert!(SqliteStore::inspect(&pw_path).unwrap().master_from_password);
    SqliteStore::open(&pw_path, &MasterKey::from_password(b"master pw", REALM).unwrap()).unwrap();
    let e = SqliteStore::open(&pw_path, &MasterKey::from_password(b"other", REALM).unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
}

#[test]
fn foreign_and_missing_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mk = MasterKey::generate().unwrap();
    let check = |path: &Path, code: ErrorCode, words: &str| {
        for e in [SqliteStore::open(path, &mk).unwrap_err(), SqliteStore::inspect(path).unwrap_err()] {
            assert_eq!(e.code(), code, "{e}");
            assert!(e.message().contains(&*path.to_string_lossy()), "{e}");
            assert!(e.message().contains(words), "{e}");
        }
    };
    check(&dir.path().join("missing.db"), ErrorCode::KTIX_ERR_IO, "No such file");
    assert!(!dir.path().join("missing.db").exists(), "opening never creates the file");
    let text = dir.path().join("text.db");
    std::fs::write(&text, "this is not a database\n".repeat(100)).unwrap();
    check(&text, ErrorCode::KTIX_ERR_BAD_FILE, "not an SQLite database");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    check(&empty, ErrorCode::KTIX_ERR_BAD_FILE, "not a ktix realm database");
    check(dir.path(), ErrorCode::KTIX_ERR_BAD_FILE, "not a regular file");

    // Another application's SQLite database: refused and left exactly as it was.
    let other = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    check(&other, ErrorCode::KTIX_ERR_BAD_FILE, "not a ktix realm database");
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!dir.path().join("other.db-wal").exists());
    // Even one that claims our application_id but lacks the tables.
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch(&format!("PRAGMA application_id = {};", ktix::kdc::sqlite::APPLICATION_ID)).unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    check(&other, ErrorCode::KTIX_ERR_BAD_FILE, "no ktix_meta table");
    assert_eq!(std::fs::read(&other).unwrap(), before);

    // A newer schema version is refused.
    let (path, mk2, store) = new_db(&dir.path().join("sub").tap_mkdir());
    drop(store);
    rusqlite::Connection::open(&path).unwrap().execute("UPDATE ktix_schema SET version = 99", []).unwrap();
    let e = SqliteStore::open(&path, &mk2).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
    assert!(e.message().contains("newer"), "{e}");
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn stash_round_trip_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("realm.db");
    let stash = stash_path(&db);
    assert_eq!(stash, dir.path().join("realm.db.stash"));
    let mk = MasterKey::generate().unwrap();
    mk.save_stash(&stash).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&stash).unwrap().permissions().mode() & 0o777, 0o600);
    let loaded = MasterKey::load_stash(&stash).unwrap();
    assert_eq!(loaded.key(), mk.key());
    SqliteStore::create(&db, REALM, &mk).unwrap();
    SqliteStore::open(&db, &loaded).unwrap();
    let bytes = std::fs::read(&stash).unwrap();
    std::fs::write(&stash, &bytes[..40]).unwrap();
    let e = MasterKey::load_stash(&stash).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
    assert!(e.message().contains(&*stash.to_string_lossy()), "{e}");
    let missing = dir.path().join("none.stash");
    let e = MasterKey::load_stash(&missing).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
    assert!(e.message().contains("none.stash"), "{e}");
}

#[test]
fn kdc_serves_a_login_and_ap_exchange_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, store) = new_db(dir.path());
    let kdc = Kdc::with_store(REALM, Arc::new(store), RealmPolicy::default()).unwrap();
    kdc.add_principal("alice", Some("alice-pw")).unwrap();
    kdc.add_principal("host/server.sql.test", None).unwrap();
    let clock = Arc::new(FixedClock::new(Time::from_unix(1_790_000_000)));
    let run = |kdc: Arc<Kdc>| {
        let keytab = kdc.keytab("host/server.sql.test", Time::from_unix(1_790_000_000)).unwrap();
        let transport = Arc::new(InProcess::new(kdc, clock.clone()));
        let client = Client::with_clock(ClientConfig::new(REALM), transport, CCache::memory(), clock.clone());
        client.login("alice", "alice-pw").unwrap();
        let (ap_req, mut ctx) = client.ap_req("host/server.sql.test", true).unwrap();
        let acceptor = Acceptor::with_config(keytab, AcceptorConfig::default(), clock.clone());
        let accepted = acceptor.accept(&ap_req).unwrap();
        assert_eq!(accepted.client.to_string(), "alice@SQL.TEST");
        ctx.verify(accepted.ap_rep.as_deref().unwrap()).unwrap();
        let e = client.login("alice", "wrong").unwrap_err();
        assert_eq!(e.code(), ErrorCode::KDC_ERR_PREAUTH_FAILED);
    };
    run(Arc::new(kdc));
    // The realm survives a restart: a new KDC over a fresh open of the file.
    let store = SqliteStore::open(&path, &mk).unwrap();
    assert_eq!(store.list().unwrap().len(), 3, "krbtgt, alice, the service");
    run(Arc::new(Kdc::with_store(REALM, Arc::new(store), RealmPolicy::default()).unwrap()));
}

#[test]
fn writes_from_another_handle_are_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, kdc_side) = new_db(dir.path());
    let admin = SqliteStore::open(&path, &mk).unwrap();
    // Cached: a miss, then a hit.
    assert!(kdc_side.get(&p("svc")).unwrap().is_none());
    assert!(kdc_side.get(&p("svc")).unwrap().is_none());
    admin.put(random_entry("svc")).unwrap();
    let e = kdc_side.get(&p("svc")).unwrap().unwrap();
    assert_eq!(e.current_kvno(), 1);
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 1);
    admin.modify(&p("svc"), |e| e.set_random_keys(&Enctype::ALL, 2)).unwrap();
    let e2 = kdc_side.get(&p("svc")).unwrap().unwrap();
    assert_eq!(e2.current_kvno(), 2);
    assert_ne!(e2.keys[0].key, e.keys[0].key);
    admin.delete(&p("svc")).unwrap();
    assert!(kdc_side.get(&p("svc")).unwrap().is_none());
    // And with the cache off, the same.
    kdc_side.set_caching(false);
    admin.put(random_entry("svc")).unwrap();
    assert!(kdc_side.get(&p("svc")).unwrap().is_some());
}

#[test]
fn a_request_checks_the_cache_once_and_the_next_request_sees_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, kdc_side) = new_db(dir.path());
    let admin = SqliteStore::open(&path, &mk).unwrap();
    admin.put(random_entry("svc")).unwrap();
    // Request 1 reads svc (a load: the first lookup), then again (a hit without a check).
    kdc_side.begin_request();
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 1);
    let hits = kdc_side.cache_hits();
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 1);
    assert_eq!(kdc_side.cache_hits(), hits + 1);
    // Another handle (as another process would) writes during the request: the request keeps
    // the state it began with for what it has read …
    admin.modify(&p("svc"), |e| e.set_random_keys(&Enctype::ALL, 2)).unwrap();
    admin.put(random_entry("other")).unwrap();
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 1);
    // … a lookup it has to load sees the new state (and drops the older cache) …
    assert!(kdc_side.get(&p("other")).unwrap().is_some());
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 2);
    kdc_side.end_request();
    // … and the next request sees every write, as does a lookup outside any request.
    admin.modify(&p("svc"), |e| e.set_random_keys(&Enctype::ALL, 3)).unwrap();
    kdc_side.begin_request();
    assert_eq!(kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno(), 3);
    kdc_side.end_request();
    admin.delete(&p("svc")).unwrap();
    assert!(kdc_side.get(&p("svc")).unwrap().is_none());
    // A request on one store does not mark another store's lookups as checked.
    kdc_side.begin_request();
    admin.put(random_entry("svc")).unwrap();
    assert!(admin.get(&p("svc")).unwrap().is_some());
    kdc_side.end_request();
}

#[test]
fn concurrent_readers_while_another_handle_writes() {
    const N: usize = 120;
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, store) = new_db(dir.path());
    store.put(random_entry("krbtgt/SQL.TEST")).unwrap();
    let store = Arc::new(store);
    let writer = SqliteStore::open(&path, &mk).unwrap();
    let committed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|t| {
            let (store, committed, done) = (store.clone(), committed.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0usize;
                let mut x = 0x9e37_79b9u64 + t;
                while !done.load(Ordering::Acquire) {
                    let tgs = store.get(&p("krbtgt/SQL.TEST")).unwrap().unwrap();
                    assert_eq!(tgs.keys.len(), 4);
                    let n = committed.load(Ordering::Acquire);
                    if n > 0 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let i = (x % n as u64) as usize;
                        let e = store.get(&p(&format!("user{i}"))).unwrap();
                        let e = e.unwrap_or_else(|| panic!("user{i} committed but not seen"));
                        assert_eq!(e.keys.len(), 4);
                    }
                    reads += 2;
                }
                reads
            })
        })
        .collect();
    for i in 0..N {
        writer.add(random_entry(&format!("user{i}"))).unwrap();
        committed.store(i + 1, Ordering::Release);
    }
    done.store(true, Ordering::Release);
    let reads: usize = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(reads > 0);
    assert_eq!(store.list().unwrap().len(), N + 1);
    for i in 0..N {
        assert!(store.get(&p(&format!("user{i}"))).unwrap().is_some());
    }
}

/// The child side of `kill_9_during_writes_loses_nothing_committed`: adds principals in a loop,
/// printing each name after its commit. Does nothing unless started by that test.
#[test]
fn kill9_child() {
    let (Ok(db), Ok(start)) = (std::env::var("KTIX_KILL9_DB"), std::env::var("KTIX_KILL9_START")) else {
        return;
    };
    let db = PathBuf::from(db);
    let start: usize = start.parse().unwrap();
    let mk = MasterKey::load_stash(&stash_path(&db)).unwrap();
    let store = SqliteStore::open(&db, &mk).unwrap();
    for i in start..start + 100_000 {
        let name = format!("k{i}");
        store.add(random_entry(&name)).unwrap();
        // Also rewrite an existing entry now and then, so kills land in updates too.
        if i % 3 == 0 {
            store.modify(&p("krbtgt/SQL.TEST"), |e| e.set_random_keys(&Enctype::ALL, e.current_kvno() + 1)).unwrap();
        }
        println!("committed {name}");
    }
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn integrity_ok(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    let r: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(r, "ok");
    let fk: Vec<String> = c
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(fk.is_empty(), "{fk:?}");
}

#[test]
fn kill_9_during_writes_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, store) = new_db(dir.path());
    store.put(random_entry("krbtgt/SQL.TEST")).unwrap();
    drop(store);
    mk.save_stash(&stash_path(&path)).unwrap();
    let mut seed = Time::now().unix_micros() as u64 | 1;
    println!("seed {seed}");
    let mut committed = HashSet::new();
    for round in 0..8 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["kill9_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("KTIX_KILL9_DB", &path)
            .env("KTIX_KILL9_START", (round * 1_000_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines =
            std::thread::spawn(move || BufReader::new(stdout).lines().map_while(|l| l.ok()).collect::<Vec<String>>());
        // Let it commit a few, then kill it at a random moment.
        let wait = Duration::from_millis(150 + xorshift(&mut seed) % 400);
        let t0 = Instant::now();
        while t0.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reported: Vec<String> =
            lines.join().unwrap().into_iter().filter_map(|l| l.strip_prefix("committed ").map(String::from)).collect();
        committed.extend(reported);
        integrity_ok(&path);
        let store = SqliteStore::open(&path, &mk).unwrap();
        for name in &committed {
            let e = store.get(&p(name)).unwrap().unwrap_or_else(|| panic!("{name} was committed but is gone"));
            assert_eq!(e.keys.len(), 4);
        }
        // Whatever is there is whole: every principal has all four keys of one kvno.
        for q in store.list().unwrap() {
            let e = store.get(&q).unwrap().unwrap();
            assert_eq!(e.keys.len(), 4, "{q}");
            assert!(e.keys.iter().all(|k| k.kvno == e.current_kvno()), "{q}");
        }
    }
    assert!(committed.len() > 8, "the children committed only {}", committed.len());
    println!("{} principals committed across 8 kills", committed.len());
}

/// Measures `get()` with and without the cache: `cargo test --release --test sqlite_store -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_get_cost() {
    let dir = tempfile::tempdir().unwrap();
    let (_path, _mk, store) = new_db(dir.path());
    const N: usize = 1000;
    for i in 0..N {
        store.put(random_entry(&format!("user{i}"))).unwrap();
    }
    let names: Vec<Principal> = (0..N).map(|i| p(&format!("user{i}"))).collect();
    let store = Arc::new(store);
    for caching in [true, false] {
        store.set_caching(caching);
        for threads in [1usize, 2, 4] {
            let iters = if caching { 200_000 } else { 20_000 } / threads;
            // Warm up (fills the cache).
            for n in &names {
                store.get(n).unwrap();
            }
            let t0 = Instant::now();
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let (store, names) = (store.clone(), names.clone());
                    std::thread::spawn(move || {
                        for i in 0..iters {
                            assert!(store.get(&names[(i * 7 + t) % N]).unwrap().is_some());
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            let el = t0.elapsed();
            let total = iters * threads;
            println!(
                "cache {:>3}, {threads} thread(s): {:.2} µs per get (wall), {:.0} gets/s",
                if caching { "on" } else { "off" },
                el.as_secs_f64() * 1e6 * threads as f64 / total as f64,
                total as f64 / el.as_secs_f64()
            );
        }
    }
}

#[test]
fn policies_and_failure_counts_round_trip_and_a_schema_1_database_is_upgraded() {
    use ktix::kdc::Policy;
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, store) = new_db(dir.path());
    assert_eq!(store.enctypes().unwrap(), ktix::kdc::DEFAULT_ENCTYPES.to_vec(), "a new database's default");
    let mut pol = Policy::new("users");
    pol.max_failures = 3;
    pol.failure_interval = 600;
    pol.lockout_duration = 3600;
    pol.min_length = 8;
    pol.min_classes = 2;
    store.put_policy(pol.clone()).unwrap();
    store.put_policy(Policy::new("other")).unwrap();
    assert_eq!(store.get_policy("users").unwrap(), Some(pol.clone()));
    assert_eq!(store.list_policies().unwrap().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["other", "users"]);
    assert_eq!(
        store.put_policy(Policy { lockout_duration: -1, ..Policy::new("bad") }).unwrap_err().code(),
        ErrorCode::KTIX_ERR_INVALID_ARGUMENT
    );

    // A principal naming a missing policy is refused; one naming an existing policy pins it.
    let mut alice = random_entry("alice");
    alice.policy = Some("nope".into());
    assert_eq!(store.put(alice.clone()).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    alice.policy = Some("users".into());
    store.put(alice).unwrap();
    assert_eq!(store.delete_policy("users").unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);
    assert!(store.delete_policy("other").unwrap());
    assert!(!store.delete_policy("other").unwrap());

    // Failures count within the interval, start again after it; clear resets.
    let t0 = Time::from_unix(1_790_000_000);
    for (i, at) in [0, 100, 200].into_iter().enumerate() {
        store.record_failure(&p("alice"), &pol, t0.plus_secs(at)).unwrap();
        assert_eq!(store.get(&p("alice")).unwrap().unwrap().fail_count, i as u32 + 1);
    }
    let e = store.get(&p("alice")).unwrap().unwrap();
    assert!(pol.is_locked(&e, t0.plus_secs(300)) && !pol.is_locked(&e, t0.plus_secs(200 + 3600)));
    assert_eq!(e.last_failed, Some(t0.plus_secs(200)));
    store.record_failure(&p("alice"), &pol, t0.plus_secs(200 + 3600 + 1)).unwrap();
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().fail_count, 1, "an ended lockout starts the count again");
    store.record_failure(&p("alice"), &pol, t0.plus_secs(200 + 3600 + 1 + 601)).unwrap();
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().fail_count, 1, "outside the interval: again");
    store.clear_failures(&p("alice")).unwrap();
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().fail_count, 0);
    store.record_failure(&p("nobody"), &pol, t0).unwrap();
    drop(store);

    // Rebuild the file as schema 1 had it (no policies table, no policy/failure columns).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         BEGIN;
         CREATE TABLE principals_v1 (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, name_type INTEGER NOT NULL,
             requires_preauth INTEGER NOT NULL, max_life INTEGER, max_renewable_life INTEGER, expiration INTEGER,
             disabled INTEGER NOT NULL, allow_forwardable INTEGER NOT NULL, allow_renewable INTEGER NOT NULL);
         INSERT INTO principals_v1 SELECT id, name, name_type, requires_preauth, max_life, max_renewable_life,
             expiration, disabled, allow_forwardable, allow_renewable FROM principals;
         DROP TABLE principals;
         ALTER TABLE principals_v1 RENAME TO principals;
         DROP TABLE policies;
         UPDATE ktix_schema SET version = 1;
         COMMIT;",
    )
    .unwrap();
    drop(conn);
    assert_eq!(SqliteStore::inspect(&path).unwrap().schema_version, 1, "inspect does not write");
    let store = SqliteStore::open(&path, &mk).unwrap();
    assert_eq!(SqliteStore::inspect(&path).unwrap().schema_version, ktix::kdc::sqlite::SCHEMA_VERSION);
    let alice = store.get(&p("alice")).unwrap().unwrap();
    assert_eq!((alice.policy.as_deref(), alice.fail_count, alice.last_failed), (None, 0, None));
    assert_eq!(alice.keys.len(), 4, "keys survive the upgrade");
    store.put_policy(pol).unwrap();
    store
        .modify(&p("alice"), |e| {
            e.policy = Some("users".into());
            Ok(())
        })
        .unwrap();
    drop(store);
    // Opening again is a no-op.
    let store = SqliteStore::open(&path, &mk).unwrap();
    assert_eq!(store.get(&p("alice")).unwrap().unwrap().policy.as_deref(), Some("users"));
}

#[test]
fn lookups_of_nonexistent_names_never_evict_real_principals() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, store) = new_db(dir.path());
    store.put(random_entry("alice")).unwrap();
    assert!(store.get(&p("alice")).unwrap().is_some());
    let hits = store.cache_hits();
    assert!(store.get(&p("alice")).unwrap().is_some());
    assert_eq!(store.cache_hits(), hits + 1, "alice is cached");
    // A stranger asks for far more nonexistent names than the cache holds misses.
    let n = ktix::kdc::sqlite::MAX_CACHED_MISSES * 2 + 10;
    for i in 0..n {
        assert!(store.get(&p(&format!("nobody-{i}"))).unwrap().is_none());
    }
    let hits = store.cache_hits();
    assert!(store.get(&p("alice")).unwrap().is_some());
    assert_eq!(store.cache_hits(), hits + 1, "alice is still a cache hit");
    // A miss asked twice in a row is answered from the cache too.
    assert!(store.get(&p("nobody-x")).unwrap().is_none());
    assert!(store.get(&p("nobody-x")).unwrap().is_none());
    assert_eq!(store.cache_hits(), hits + 2);
}

/// The child side of `a_request_sees_every_commit_of_another_process`: for each line on standard
/// input, `kvno N` gives `svc` random keys of kvno N, `checkpoint` checkpoints and truncates the
/// WAL (so the next commit starts it again, with new salts); prints `done` after each. Does
/// nothing unless started by that test.
#[test]
fn writer_child() {
    let Ok(db) = std::env::var("KTIX_WRITER_DB") else {
        return;
    };
    let db = PathBuf::from(db);
    let store = SqliteStore::open(&db, &MasterKey::load_stash(&stash_path(&db)).unwrap()).unwrap();
    for line in std::io::stdin().lines() {
        let line = line.unwrap();
        if let Some(kvno) = line.strip_prefix("kvno ") {
            let kvno: u32 = kvno.parse().unwrap();
            store.modify(&p("svc"), |e| e.set_random_keys(&Enctype::ALL, kvno)).unwrap();
        } else if line == "checkpoint" {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        }
        println!("done");
    }
}

#[test]
fn a_request_sees_every_commit_of_another_process() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (path, mk, kdc_side) = new_db(dir.path());
    kdc_side.put(random_entry("svc")).unwrap();
    mk.save_stash(&stash_path(&path)).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["writer_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("KTIX_WRITER_DB", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let mut from_child = BufReader::new(child.stdout.take().unwrap()).lines().map_while(|l| l.ok());
    let mut ask = |what: String| {
        writeln!(to_child, "{what}").unwrap();
        // (The first `done` follows libtest's `test writer_child ... ` on its line.)
        assert!(from_child.any(|l| l.ends_with("done")), "the writer process stopped before {what}");
    };
    let kvno_in_a_request = || {
        kdc_side.begin_request();
        let kvno = kdc_side.get(&p("svc")).unwrap().unwrap().current_kvno();
        kdc_side.end_request();
        kvno
    };
    let mut want = 1;
    for round in 2..=40u32 {
        // Unchanged requests (the check without a read transaction) keep seeing the same state …
        assert_eq!(kvno_in_a_request(), want, "round {round}");
        assert_eq!(kvno_in_a_request(), want, "round {round}");
        // … and the first request after a commit of the other process sees it, also when the
        // WAL was checkpointed and restarted in between.
        if round % 4 == 0 {
            ask("checkpoint".into());
            assert_eq!(kvno_in_a_request(), want, "round {round}, after a checkpoint");
        }
        ask(format!("kvno {round}"));
        want = round;
        assert_eq!(kvno_in_a_request(), want, "round {round}, after the commit");
    }
    drop(to_child);
    assert!(child.wait().unwrap().success());
}
