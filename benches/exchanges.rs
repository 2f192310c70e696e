//! Protocol benchmarks, one thread, no network: the KDC's AS and TGS exchanges through
//! `Kdc::handle`, and `Acceptor::accept`.
//!
//! `cargo bench --bench exchanges -- --warm-up-time 1 --measurement-time 5`
//!
//! The AS figure is the pre-authenticated request (the second of a login's two round trips:
//! PA-ENC-TIMESTAMP checked, TGT issued); the TGS figure a service-ticket request from a TGT.
//! Both replay one captured request at a fixed time, so only the KDC's work is measured.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ktix::kdc::MemoryStore;
use ktix::{
    Acceptor, AcceptorConfig, CCache, Client, ClientConfig, Clock, Enctype, FixedClock, InProcess, Kdc, RealmPolicy,
    Recording, Time,
};

const REALM: &str = "KTIX.TEST";
const SERVICE: &str = "host/server.ktix.test";

struct Setup {
    kdc: Arc<Kdc>,
    clock: Arc<FixedClock>,
    client: Client,
    recorder: Arc<Recording<InProcess>>,
}

fn setup(enctype: Enctype) -> Setup {
    // The realm opts in to all four enctypes (the RFC 8009 ones are not a default), so 20 can be measured.
    let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
    let kdc = Arc::new(Kdc::with_store(REALM, Arc::new(MemoryStore::new()), policy).expect("kdc"));
    kdc.add_principal("alice", Some("alice-pw")).expect("alice");
    kdc.add_principal(SERVICE, None).expect("service");
    let clock = Arc::new(FixedClock::new(Time::from_unix(1_790_000_000)));
    let recorder = Arc::new(Recording::new(InProcess::new(kdc.clone(), clock.clone())));
    let mut config = ClientConfig::new(REALM);
    config.enctypes = vec![enctype];
    config.tgs_enctypes = vec![enctype];
    let client = Client::with_clock(config, recorder.clone(), CCache::memory(), clock.clone());
    Setup { kdc, clock, client, recorder }
}

fn kdc_exchanges(c: &mut Criterion) {
    let mut group = c.benchmark_group("kdc_handle");
    for enctype in [Enctype::Aes256CtsHmacSha196, Enctype::Aes256CtsHmacSha384192] {
        let s = setup(enctype);
        s.client.login("alice", "alice-pw").expect("login");
        let as_req = s.recorder.since(0).last().expect("AS exchange").0.clone();
        let n = s.recorder.count();
        s.client.service_ticket(SERVICE).expect("service ticket");
        let tgs_req = s.recorder.since(n).last().expect("TGS exchange").0.clone();
        let now = s.clock.now();
        group.bench_function(format!("AS {}", enctype.id()), |b| {
            b.iter(|| black_box(s.kdc.handle(black_box(&as_req), now)))
        });
        group.bench_function(format!("TGS {}", enctype.id()), |b| {
            b.iter(|| black_box(s.kdc.handle(black_box(&tgs_req), now)))
        });
    }
    group.finish();
}

fn accept(c: &mut Criterion) {
    let mut group = c.benchmark_group("acceptor_accept");
    for enctype in [Enctype::Aes256CtsHmacSha196, Enctype::Aes256CtsHmacSha384192] {
        let s = setup(enctype);
        s.client.login("alice", "alice-pw").expect("login");
        let keytab = s.kdc.keytab(SERVICE, s.clock.now()).expect("keytab");
        let acceptor = Acceptor::with_config(
            keytab,
            AcceptorConfig { replay_capacity: 10_000_000, ..AcceptorConfig::default() },
            s.clock.clone(),
        );
        // Each AP-REQ is fresh (the replay cache would refuse a repeat); building it is not measured.
        group.bench_function(format!("mutual {}", enctype.id()), |b| {
            b.iter_batched(
                || s.client.ap_req(SERVICE, true).expect("ap_req").0,
                |req| black_box(acceptor.accept(&req).expect("accept")),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, kdc_exchanges, accept);
criterion_main!(benches);
