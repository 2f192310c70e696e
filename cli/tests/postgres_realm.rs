//! One realm in PostgreSQL served by two `ktix kdc serve` processes, with MIT's `kinit` and
//! `kvno` against each: the realm is moved there from SQLite with `ktix db dump`/`db load` (a
//! keytab exported before the move still works) and back; a principal added (or disabled)
//! through the CLI while both run is served (refused) by both within 2 s; while PostgreSQL is
//! down both serve from their caches, and after its restart both serve new writes. With both KDCs
//! in one krb5.conf, SIGKILL of the first in the middle of 100 MIT logins loses none (MIT's client
//! moves on to the second). The PostgreSQL cluster is a throwaway one (`tests/pg`); MIT's client
//! programs and PostgreSQL are required.

mod mit;
#[path = "../../tests/pg/mod.rs"]
mod pg;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mit::{ktix_ok, require_mit_client, Krb5Conf, KtixKdc, KtixRealm, Mit, ALICE_PW, SERVICE};

/// Retries `f` until it is true, failing the test after `limit`; returns how long it took.
fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    loop {
        if f() {
            return t0.elapsed();
        }
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn two_kdcs_on_one_postgres_realm_moved_from_sqlite_and_back() {
    require_mit_client();
    let cluster = pg::Cluster::start();
    let uri = cluster.database("realm");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();

    // The realm in SQLite, a keytab of the service exported there.
    let lite = KtixRealm::init(d);
    lite.add_password("alice", ALICE_PW);
    lite.add_random(SERVICE);
    let keytab = d.join("service.keytab");
    lite.ktadd(SERVICE, &keytab, false);
    ktix_ok(&["db", "policy", "add", "--db", lite.db_str(), "--max-failures", "3", "strict"], "");

    // SQLite → dump → PostgreSQL, under the same master key (the SQLite stash).
    let dump = d.join("realm.dump");
    // krbtgt, kadmin/changepw (made by `db init`), alice and the service.
    let out = ktix_ok(&["db", "dump", "--db", lite.db_str(), s(&dump)], "");
    assert!(out.contains("dumped 4 principals"), "{out}");
    let text = std::fs::read_to_string(&dump).expect("dump");
    assert!(text.contains("ktix-dump\t1\n") && text.contains("policy\tstrict\t3\t"), "{text}");
    let stash = ktix::kdc::stash_path(lite.db());
    let out = ktix_ok(&["db", "load", "--db", &uri, "--stash", s(&stash), s(&dump)], "");
    assert!(out.contains("loaded 4 principals"), "{out}");
    let pg = KtixRealm::existing(&uri, Some(stash.clone()));
    assert_eq!(pg.list(), lite.list(), "the same principals, kvnos and enctypes");

    // Two KDCs over it; MIT kinit + kvno against each, the ticket checked with the old keytab.
    let kdcs = [
        KtixKdc::serve(&pg, &["--workers", "2"], &d.join("kdc1.log")),
        KtixKdc::serve(&pg, &["--workers", "2"], &d.join("kdc2.log")),
    ];
    let mits: Vec<Mit> = kdcs
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let conf = d.join(format!("krb5-{i}.conf"));
            Krb5Conf::new(k.addr()).write(&conf);
            Mit::new(&conf, &d.join(format!("cc-{i}")))
        })
        .collect();
    for mit in &mits {
        mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let run = mit.run("kvno", &["-k", s(&keytab), SERVICE], "").expect_ok();
        assert!(run.stdout.contains("kvno = 1, keytab entry valid"), "{}", run.stdout);
    }

    // A principal added through the CLI while both run: served by both within 2 s.
    pg.add_password("bob", "bob-pw");
    for (i, mit) in mits.iter().enumerate() {
        let took =
            within(Duration::from_secs(2), &format!("bob on KDC {i}"), || mit.kinit_password(&[], "bob", "bob-pw").ok);
        eprintln!("bob reached KDC {i} after {took:?}");
    }
    // Disabled: refused by both within 2 s.
    ktix_ok(&pg.args_for(&["db", "mod"], &["--disabled", "on", "bob"]), "");
    for (i, mit) in mits.iter().enumerate() {
        let took = within(Duration::from_secs(2), &format!("bob disabled on KDC {i}"), || {
            !mit.kinit_password(&[], "bob", "bob-pw").ok
        });
        eprintln!("bob's disabling reached KDC {i} after {took:?}");
    }

    // PostgreSQL down: both still log alice in from their caches; restarted: both serve a
    // principal added after the restart, without being restarted themselves. The write above
    // (bob disabled) emptied both caches, so alice and the service are looked up once first, as
    // a KDC in use would have done: only what is cached can be served during the outage.
    for mit in &mits {
        mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        mit.run("kvno", &[SERVICE], "").expect_ok();
    }
    cluster.stop();
    for mit in &mits {
        mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        mit.run("kvno", &[SERVICE], "").expect_ok();
    }
    cluster.restart();
    pg.add_password("carol", "carol-pw");
    for (i, mit) in mits.iter().enumerate() {
        within(Duration::from_secs(4), &format!("carol on KDC {i} after the restart"), || {
            mit.kinit_password(&[], "carol", "carol-pw").ok
        });
    }
    drop(kdcs);

    // And back: PostgreSQL → dump → a new SQLite file, the same principals.
    let back_dump = d.join("back.dump");
    ktix_ok(&["db", "dump", "--db", &uri, "--stash", s(&stash), s(&back_dump)], "");
    let back = d.join("back").join("realm.db");
    let out = ktix_ok(&["db", "load", "--db", s(&back), "--stash", s(&stash), s(&back_dump)], "");
    assert!(out.contains("loaded 6 principals"), "{out}");
    let back = KtixRealm::existing(back, Some(stash));
    assert_eq!(back.list(), pg.list());
    assert!(back.list().contains("bob@KTIX.TEST"), "{}", back.list());
}

/// AS requests a KDC answered (from its log).
fn as_requests(kdc: &KtixKdc) -> usize {
    kdc.lines_since(0).iter().filter(|l| l.exchange == "AS").count()
}

#[test]
fn killing_one_of_two_kdcs_in_the_middle_of_100_mit_logins_loses_none() {
    const LOGINS: usize = 100;
    const CLIENTS: usize = 4;
    const KILL_AFTER: usize = 50;
    require_mit_client();
    let cluster = pg::Cluster::start();
    let uri = cluster.database("realm");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let stash = d.join("realm.stash");
    let out = ktix_ok(&["db", "init", "--db", &uri, "--stash", s(&stash), "--realm", mit::REALM], "");
    assert!(out.contains("created realm"), "{out}");
    let pg = KtixRealm::existing(&uri, Some(stash));
    pg.add_password("alice", ALICE_PW);

    let mut first = KtixKdc::serve(&pg, &["--workers", "2"], &d.join("kdc1.log"));
    let second = KtixKdc::serve(&pg, &["--workers", "2"], &d.join("kdc2.log"));
    // MIT tries the KDCs in the file's order: every login goes to the first until it dies. Its
    // client has no timeout settings in 1.20; a datagram to the dead KDC's port is refused at
    // once on loopback (ICMP), one already sent when it died is retried at the second after 1 s.
    let conf = d.join("krb5.conf");
    Krb5Conf::new(first.addr()).also_kdc(second.addr()).write(&conf);

    let started = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let (in_flight_at_kill, status) = std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let mit = Mit::new(&conf, &d.join(format!("cc-{c}")));
            let (started, finished, failures) = (&started, &finished, &failures);
            scope.spawn(move || loop {
                let n = started.fetch_add(1, Ordering::SeqCst);
                if n >= LOGINS {
                    break;
                }
                let run = mit.kinit_password(&[], "alice", ALICE_PW);
                if !run.ok {
                    failures.lock().unwrap().push(format!("login {n}: {}", run.error_line()));
                }
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        within(Duration::from_secs(60), "half the logins", || finished.load(Ordering::SeqCst) >= KILL_AFTER);
        let in_flight = started.load(Ordering::SeqCst).min(LOGINS) - finished.load(Ordering::SeqCst);
        (in_flight, first.kill())
    });
    assert_eq!(status.code(), None, "the first KDC was ended by SIGKILL: {status}");
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {LOGINS} logins failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(finished.load(Ordering::SeqCst), LOGINS);

    // The first served the logins before its death (lines of the last ones may be lost to the
    // kill: it writes a line just after its reply), the second at least every login started after.
    let after = LOGINS - KILL_AFTER - CLIENTS;
    second.wait_lines(0, &format!("{after} AS requests"), |l| l.iter().filter(|l| l.exchange == "AS").count() >= after);
    let (by_first, by_second) = (as_requests(&first), as_requests(&second));
    eprintln!("{in_flight_at_kill} logins in flight at the kill; AS requests: {by_first} by the first, {by_second} by the second");
    assert!(by_first >= KILL_AFTER / 2, "the first KDC logged {by_first} AS requests");
}
