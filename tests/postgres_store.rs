//! The PostgreSQL principal store against a throwaway cluster (see `tests/pg`): the schema
//! `create` makes, a round trip of every field and key, atomic adds, lockout counts, the cache
//! seeing another process's writes within `REVALIDATE`, and a server restart survived.

#[path = "pg/mod.rs"]
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ktix::kdc::postgres::REVALIDATE;
use ktix::kdc::{open_database, MasterKey, Policy, PostgresStore, PrincipalEntry, PrincipalStore, RealmSpec};
use ktix::{Enctype, ErrorCode, Principal, Time};

const REALM: &str = "PG.TEST";

fn entry(name: &str) -> PrincipalEntry {
    let mut e = PrincipalEntry::new(Principal::parse(name, Some(REALM)).unwrap());
    e.set_random_keys(&[Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196], 1).unwrap();
    e
}

#[test]
fn postgres_store_round_trip_schema_locking_cache_and_restart() {
    let cluster = pg::Cluster::start();
    let uri = cluster.database("realm");
    let master = MasterKey::generate().unwrap();

    // Not a realm yet: a clear error; then created once, refused the second time.
    let e = PostgresStore::open(&uri, &master).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
    assert!(e.message().contains("no ktix_meta table"), "{e}");
    let store = PostgresStore::create(&uri, REALM, &master, false).unwrap();
    assert_eq!(PostgresStore::create(&uri, REALM, &master, false).unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);
    let info = PostgresStore::inspect(&uri).unwrap();
    assert_eq!((info.realm.as_str(), info.schema_version, info.master_from_password), (REALM, 2, false));
    let other = MasterKey::generate().unwrap();
    assert_eq!(PostgresStore::open(&uri, &other).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);

    // Round trip of every field, keys of two kvnos.
    store.put_policy(Policy { max_failures: 2, lockout_duration: 60, ..Policy::new("strict") }).unwrap();
    let mut alice = entry("alice");
    alice.change_keys(ktix::kdc::NewKeys::Password(b"pw"), &[Enctype::Aes256CtsHmacSha196], true).unwrap();
    alice.requires_preauth = false;
    alice.max_life = Some(3600);
    alice.max_renewable_life = Some(7200);
    alice.expiration = Some(Time::from_unix(2_000_000_000));
    alice.disabled = true;
    alice.allow_forwardable = false;
    alice.policy = Some("strict".into());
    store.add(alice.clone()).unwrap();
    assert_eq!(store.add(entry("alice")).unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);
    let got = store.get(&alice.principal).unwrap().expect("alice");
    assert_eq!(got.keys.len(), 3);
    for k in &alice.keys {
        let g = got.key(k.key.enctype(), Some(k.kvno)).expect("key");
        assert_eq!(g.key.bytes(), k.key.bytes());
        assert_eq!(g.salt, k.salt);
    }
    assert!(!got.requires_preauth && got.disabled && !got.allow_forwardable && got.allow_renewable);
    assert_eq!((got.max_life, got.max_renewable_life, got.expiration), (Some(3600), Some(7200), alice.expiration));
    assert_eq!(got.policy.as_deref(), Some("strict"));
    let mut bad = entry("bob");
    bad.policy = Some("nope".into());
    assert_eq!(store.put(bad).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert_eq!(store.delete_policy("strict").unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);

    // The same realm through open_database (the one way front ends open it), with a stash.
    let dir = tempfile::tempdir().unwrap();
    let stash = dir.path().join("pg.stash");
    let spec = RealmSpec::database(&uri).with_stash(Some(stash.clone()));
    assert_eq!(open_database(&spec).unwrap_err().code(), ErrorCode::KTIX_ERR_IO, "the stash is missing");
    let no_stash = open_database(&RealmSpec::database(&uri)).unwrap_err();
    assert!(no_stash.message().contains("--stash"), "{no_stash}");
    master.save_stash(&stash).unwrap();
    let db2 = open_database(&spec).unwrap();
    assert_eq!(db2.realm(), REALM);
    assert_eq!(
        open_database(&spec.clone().with_realm("OTHER")).unwrap_err().code(),
        ErrorCode::KTIX_ERR_INVALID_ARGUMENT
    );

    // Atomic adds from many threads of two "processes".
    let stores: Vec<Arc<dyn PrincipalStore>> = vec![Arc::new(store), Arc::new(db2)];
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = stores[i % 2].clone();
            std::thread::spawn(move || s.add(entry("racer")).map_err(|e| (e.code(), e.to_string())))
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| r.is_ok() || r.as_ref().unwrap_err().0 == ErrorCode::KTIX_ERR_EXISTS),
        "{results:?}"
    );

    // Failure counts from both add up, atomically.
    let strict = stores[0].get_policy("strict").unwrap().unwrap();
    let now = Time::now();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let (s, p, a) = (stores[i % 2].clone(), strict.clone(), alice.principal.clone());
            std::thread::spawn(move || s.record_failure(&a, &p, now).unwrap())
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let seen = |s: &Arc<dyn PrincipalStore>| s.get(&alice.principal).unwrap().unwrap().fail_count;
    assert_eq!(seen(&stores[0]), 6, "the writer sees its own write at once");

    // The other store's cache: a write reaches it within REVALIDATE.
    let carol = entry("carol");
    assert!(stores[1].get(&carol.principal).unwrap().is_none());
    let t0 = Instant::now();
    stores[0].add(carol.clone()).unwrap();
    while stores[1].get(&carol.principal).unwrap().is_none() {
        assert!(t0.elapsed() < REVALIDATE + Duration::from_secs(1), "the write did not reach the other store");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen(&stores[1]), 6);

    // A restart: cached entries are served while it is down, misses fail at once with a clear
    // error, and after it the stores work again without being reopened.
    cluster.stop();
    std::thread::sleep(REVALIDATE);
    assert!(stores[1].get(&carol.principal).unwrap().is_some(), "served from the cache");
    let t0 = Instant::now();
    let e = stores[1].get(&Principal::parse("nobody", Some(REALM)).unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(4), "no hang: {:?}", t0.elapsed());
    assert_eq!(stores[0].add(entry("dave")).unwrap_err().code(), ErrorCode::KTIX_ERR_IO);
    cluster.restart();
    let t0 = Instant::now();
    loop {
        match stores[0].add(entry("dave")) {
            Ok(()) => break,
            Err(e) => assert!(t0.elapsed() < Duration::from_secs(5), "not back after the restart: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dave = Principal::parse("dave", Some(REALM)).unwrap();
    let t0 = Instant::now();
    while stores[1].get(&dave).map(|e| e.is_none()).unwrap_or(true) {
        assert!(t0.elapsed() < Duration::from_secs(3), "the other store did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(stores[1].delete(&dave).unwrap());
}

/// Figures for the README (run with `--ignored --nocapture`, best in release): the cost of one
/// `get` on PostgreSQL and SQLite, cached and not, one thread, 1,000 principals.
#[test]
#[ignore]
fn measure_get_cost_postgres_vs_sqlite() {
    let cluster = pg::Cluster::start();
    let uri = cluster.database("measure");
    let master = MasterKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<(&str, ktix::kdc::RealmDatabase)> = vec![
        ("postgresql", ktix::kdc::RealmDatabase::Postgres(PostgresStore::create(&uri, REALM, &master, false).unwrap())),
        (
            "sqlite",
            ktix::kdc::RealmDatabase::Sqlite(
                ktix::kdc::SqliteStore::create(&dir.path().join("m.db"), REALM, &master).unwrap(),
            ),
        ),
    ];
    const N: usize = 1000;
    let names: Vec<Principal> = (0..N).map(|i| Principal::parse(&format!("user{i}"), Some(REALM)).unwrap()).collect();
    for (label, store) in &stores {
        for n in &names {
            let mut e = PrincipalEntry::new(n.clone());
            e.set_random_keys(&[Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196], 1).unwrap();
            store.put(e).unwrap();
        }
        for caching in [true, false] {
            store.set_caching(caching);
            let iters = if caching { 200_000 } else { 5_000 };
            for n in &names {
                store.get(n).unwrap();
            }
            let t0 = Instant::now();
            for i in 0..iters {
                assert!(store.get(&names[(i * 7) % N]).unwrap().is_some());
            }
            let per = t0.elapsed().as_secs_f64() * 1e6 / iters as f64;
            eprintln!("{label}: {} get: {per:.2} µs", if caching { "cached" } else { "uncached" });
        }
    }
}
