//! A fixed amount of one exchange's work, for instruction counts under callgrind and for `perf
//! record` (criterion's statistics get in the way there). Not a benchmark: `benches/exchanges.rs` is.
//!
//! `cargo build --release --example kdc_profile`, then e.g.
//! `valgrind --tool=callgrind target/release/examples/kdc_profile tgs 18 sqlite 2000`
//! (run it with N and 2N iterations; the difference over N is the cost of one). The realm is the
//! benches' (`benches/common/realm.rs`): all its keys of the one enctype given.
//!
//! WHAT: `as` (the pre-authenticated AS request), `as0` (the first AS request of a login,
//! answered with KDC_ERR_PREAUTH_REQUIRED), `tgs` (a service ticket from a TGT) or `ap`
//! (an AP-REQ from the cached ticket + `Acceptor::accept`, mutual), `apreq` (the AP-REQ alone:
//! `ap` − `apreq` is the cost of one `accept`). STORE: `memory` or `sqlite`
//! (a realm database in a temporary directory, its read cache on).
//!
//! `as-cold`, `tgs-cold`: the request N times, each after `EVICT_KB` KiB (default 2048) of other
//! data were written, so that it runs with its code and data out of the core's caches, as a
//! server's request does when other processes ran in between; prints the median microseconds of
//! the requests alone. With 16384 KiB (more than the last-level cache) it shows what a request
//! costs from memory; the difference to the hot loop is the price of the request's footprint.
//!
//! `accept-time`: N distinct mutual AP-REQs built first, then one fresh acceptor (replay cache on,
//! system clock) accepts them all on one thread, timed; prints the best microseconds per call of
//! 3 runs. It is the Rust side of `python/bench/accept_bench.py --compare`, which does the same
//! from Python.

use std::sync::Arc;

use ktix::kdc::{MasterKey, MemoryStore, PrincipalStore, SqliteStore};
use ktix::{Acceptor, AcceptorConfig, CCache, Client, Clock, Enctype, InProcess};

#[path = "../benches/common/realm.rs"]
mod realm;
use realm::{bench_realm, REALM, SERVICE};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: kdc_profile as|as0|tgs|as-cold|tgs-cold|ap|apreq|accept-time 17|18|19|20 memory|sqlite N";
    let [_, what, etype, store, n] = &args[..] else {
        eprintln!("{usage}");
        std::process::exit(2)
    };
    let enctype = Enctype::from_name(etype).expect("enctype");
    let n: usize = n.parse().expect(usage);
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn PrincipalStore> = match store.as_str() {
        "memory" => Arc::new(MemoryStore::new()),
        "sqlite" => Arc::new(
            SqliteStore::create(&dir.path().join("realm.db"), REALM, &MasterKey::generate().expect("master"))
                .expect("sqlite"),
        ),
        _ => panic!("{usage}"),
    };
    let realm::BenchRealm { kdc, clock, client, as_req_first, as_req, tgs_req } = bench_realm(enctype, store);
    let now = clock.now();
    match what.as_str() {
        "as" | "tgs" | "as0" => {
            let req = match what.as_str() {
                "as" => &as_req,
                "tgs" => &tgs_req,
                _ => &as_req_first,
            };
            // AS-REP, TGS-REP, or for `as0` the KRB-ERROR asking for pre-authentication.
            let expected: &[u8] = if what == "as0" { &[0x7e] } else { &[0x6b, 0x6d] };
            let first = kdc.handle(req, now);
            assert!(expected.contains(&first[0]), "unexpected reply {:02x}", first[0]);
            for _ in 0..n {
                std::hint::black_box(kdc.handle(std::hint::black_box(req), now));
            }
        }
        "as-cold" | "tgs-cold" => {
            let req = if what == "as-cold" { &as_req } else { &tgs_req };
            let kib: usize = std::env::var("EVICT_KB").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
            let mut junk = vec![0u64; kib * 128];
            let mut times = Vec::with_capacity(n);
            for i in 0..n {
                junk.iter_mut().for_each(|w| *w = w.wrapping_add(i as u64));
                std::hint::black_box(&junk);
                let start = std::time::Instant::now();
                std::hint::black_box(kdc.handle(std::hint::black_box(req), now));
                times.push(start.elapsed().as_secs_f64() * 1e6);
            }
            times.sort_by(f64::total_cmp);
            println!("{:.2}", times[n / 2]);
        }
        "ap" => {
            let keytab = kdc.keytab(SERVICE, now).expect("keytab");
            let acceptor = Acceptor::with_config(
                keytab,
                AcceptorConfig { replay_capacity: 10_000_000, ..AcceptorConfig::default() },
                clock.clone(),
            );
            for _ in 0..n {
                let (req, _) = client.ap_req(SERVICE, true).expect("ap_req");
                std::hint::black_box(acceptor.accept(&req).expect("accept"));
            }
        }
        "apreq" => {
            for _ in 0..n {
                std::hint::black_box(client.ap_req(SERVICE, true).expect("ap_req"));
            }
        }
        "accept-time" => {
            // As accept_bench.py: a realm on the system clock, so the acceptor's checks run on the
            // real time; fresh AP-REQs per run (the replay cache of the service is shared).
            let keytab = kdc.keytab(SERVICE, now).expect("keytab");
            let sys_client = Client::with_clock(
                client.config().clone(),
                Arc::new(InProcess::new(kdc.clone(), Arc::new(ktix::SystemClock))),
                CCache::memory(),
                Arc::new(ktix::SystemClock),
            );
            sys_client.login("alice", "alice-pw").expect("login");
            let mut best = f64::MAX;
            for _ in 0..3 {
                let reqs: Vec<Vec<u8>> = (0..n).map(|_| sys_client.ap_req(SERVICE, true).expect("ap_req").0).collect();
                let acceptor =
                    Acceptor::with_config(keytab.clone(), AcceptorConfig::default(), Arc::new(ktix::SystemClock));
                let start = std::time::Instant::now();
                for r in &reqs {
                    std::hint::black_box(acceptor.accept(r).expect("accept"));
                }
                best = best.min(start.elapsed().as_secs_f64() / n as f64);
            }
            println!("{:.2}", best * 1e6);
        }
        _ => panic!("{usage}"),
    }
}
