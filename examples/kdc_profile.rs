//! A fixed amount of one exchange's work, for instruction counts under callgrind and for `perf
//! record` (criterion's statistics get in the way there). Not a benchmark: `benches/exchanges.rs` is.
//!
//! `cargo build --release --example kdc_profile`, then e.g.
//! `valgrind --tool=callgrind target/release/examples/kdc_profile tgs 18 sqlite 2000`
//! (run it with N and 2N iterations; the difference over N is the cost of one).
//!
//! WHAT: `as` (the pre-authenticated AS request), `tgs` (a service ticket from a TGT) or `ap`
//! (an AP-REQ from the cached ticket + `Acceptor::accept`, mutual). STORE: `memory` or `sqlite`
//! (a realm database in a temporary directory, its read cache on).

use std::sync::Arc;

use ktix::kdc::{MasterKey, MemoryStore, PrincipalStore, SqliteStore};
use ktix::{
    Acceptor, AcceptorConfig, CCache, Client, ClientConfig, Clock, Enctype, FixedClock, InProcess, Kdc, RealmPolicy,
    Recording, Time,
};

const REALM: &str = "KTIX.TEST";
const SERVICE: &str = "host/server.ktix.test";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: kdc_profile as|tgs|ap 17|18|19|20 memory|sqlite N";
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
    let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
    let kdc = Arc::new(Kdc::with_store(REALM, store, policy).expect("kdc"));
    kdc.add_principal("alice", Some("alice-pw")).expect("alice");
    kdc.add_principal(SERVICE, None).expect("service");
    let clock = Arc::new(FixedClock::new(Time::from_unix(1_790_000_000)));
    let recorder = Arc::new(Recording::new(InProcess::new(kdc.clone(), clock.clone())));
    let mut config = ClientConfig::new(REALM);
    config.enctypes = vec![enctype];
    config.tgs_enctypes = vec![enctype];
    let client = Client::with_clock(config, recorder.clone(), CCache::memory(), clock.clone());
    client.login("alice", "alice-pw").expect("login");
    let as_req = recorder.since(0).last().expect("AS").0.clone();
    let before = recorder.count();
    client.service_ticket(SERVICE).expect("service ticket");
    let tgs_req = recorder.since(before).last().expect("TGS").0.clone();
    let now = clock.now();
    match what.as_str() {
        "as" | "tgs" => {
            let req = if what == "as" { &as_req } else { &tgs_req };
            let first = kdc.handle(req, now);
            assert!(first[0] == 0x6b || first[0] == 0x6d, "a reply, not an error: {:02x}", first[0]);
            for _ in 0..n {
                std::hint::black_box(kdc.handle(std::hint::black_box(req), now));
            }
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
        _ => panic!("{usage}"),
    }
}
