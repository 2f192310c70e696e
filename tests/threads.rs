//! One KDC, one client and one acceptor shared by many threads: every exchange correct, no
//! deadlock (a thread that does not finish within a generous bound fails the test).

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use ktix::ClientConfig;

const THREADS: usize = 8;
const OPS: usize = 200;
/// Logins per thread in the many-clients test (each is two AS exchanges with string-to-key, one TGS).
const ROUNDS: usize = 5;
/// Far above the measured runtime; reaching it means a thread is stuck.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `work(thread_index)` on `n` threads started together; fails if any does not finish in time.
fn run_threads<F>(n: usize, work: F)
where
    F: Fn(usize) + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(n));
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (work, barrier, tx) = (work.clone(), barrier.clone(), tx.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i);
                tx.send(i).unwrap();
            })
        })
        .collect();
    drop(tx);
    let start = Instant::now();
    for _ in 0..n {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("a thread did not finish within {DEADLINE:?}: deadlock?"),
            // A thread panicked before sending: join below reports it.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for h in handles {
        h.join().expect("worker thread panicked");
    }
}

#[test]
fn eight_threads_share_kdc_client_and_acceptor() {
    let realm = Realm::new();
    let client = Arc::new(realm.alice());
    let acceptor = Arc::new(realm.acceptor());
    let started = Instant::now();
    {
        let (client, acceptor) = (client.clone(), acceptor.clone());
        run_threads(THREADS, move |t| {
            for i in 0..OPS {
                let mutual = (t + i) % 4 != 0;
                let (req, mut ctx) = client.ap_req(SERVICE, mutual).unwrap();
                let acc = acceptor.accept(&req).unwrap_or_else(|e| panic!("thread {t} op {i}: {e}"));
                assert_eq!(acc.client, principal("alice"));
                assert_eq!(&acc.session_key, ctx.session_key());
                assert_eq!(acc.subkey.as_ref(), Some(ctx.subkey()));
                match acc.ap_rep {
                    Some(rep) => {
                        assert!(mutual);
                        ctx.verify(&rep).unwrap_or_else(|e| panic!("thread {t} op {i}: {e}"));
                        assert!(ctx.is_verified());
                    }
                    None => assert!(!mutual),
                }
            }
        });
    }
    let elapsed = started.elapsed();
    eprintln!("{THREADS} threads x {OPS} AP exchanges: {elapsed:?}");
    assert_eq!(client.stats().tgs_requests, 1, "one TGS exchange for all threads");
    assert_eq!(acceptor.replay_cache().len(), THREADS * OPS, "every authenticator distinct and remembered");
}

#[test]
fn kdc_serves_many_clients_at_once() {
    let realm = Realm::new();
    for i in 0..THREADS {
        realm.kdc.add_principal(&format!("user{i}"), Some(&format!("pw{i}"))).unwrap();
    }
    let acceptor = Arc::new(realm.acceptor());
    let realm = Arc::new(realm);
    let started = Instant::now();
    {
        let (realm, acceptor) = (realm.clone(), acceptor.clone());
        run_threads(THREADS, move |t| {
            for _ in 0..ROUNDS {
                // A client of its own per round: AS (x2) and TGS on the shared KDC, AP on the shared acceptor.
                let client = realm.client_with(ClientConfig::new(REALM));
                client.login(&format!("user{t}"), &format!("pw{t}")).unwrap();
                let (req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
                let acc = acceptor.accept(&req).unwrap();
                assert_eq!(acc.client, principal(&format!("user{t}")));
                ctx.verify(acc.ap_rep.as_deref().unwrap()).unwrap();
                // A wrong password in between is refused without disturbing the others.
                let bad = realm.client_with(ClientConfig::new(REALM));
                assert_eq!(
                    bad.login(&format!("user{t}"), "wrong").unwrap_err().code(),
                    ktix::ErrorCode::KDC_ERR_PREAUTH_FAILED
                );
            }
        });
    }
    eprintln!("{THREADS} threads x {ROUNDS} logins: {:?}", started.elapsed());
}
