//! Protocol benchmarks, one thread, no network: the KDC's AS and TGS exchanges through
//! `Kdc::handle`, and `Acceptor::accept`.
//!
//! `cargo bench --bench exchanges -- --warm-up-time 1 --measurement-time 5`
//!
//! "AS first" is a login's first request (answered with KDC_ERR_PREAUTH_REQUIRED and the
//! client's ETYPE-INFO2); "AS" the pre-authenticated one (the second of a login's two round
//! trips: PA-ENC-TIMESTAMP checked, TGT issued); "TGS" a service-ticket request from a TGT.
//! Each replays one captured request at a fixed time, so only the KDC's work is measured. Each
//! enctype is a realm of that enctype alone (`common/realm.rs`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ktix::kdc::MemoryStore;
use ktix::{Acceptor, AcceptorConfig, Clock, Enctype};

#[path = "common/realm.rs"]
mod realm;
use realm::{bench_realm, SERVICE};

const ENCTYPES: [Enctype; 2] = [Enctype::Aes256CtsHmacSha196, Enctype::Aes256CtsHmacSha384192];

fn kdc_exchanges(c: &mut Criterion) {
    let mut group = c.benchmark_group("kdc_handle");
    for enctype in ENCTYPES {
        let s = bench_realm(enctype, Arc::new(MemoryStore::new()));
        let now = s.clock.now();
        group.bench_function(format!("AS first {}", enctype.id()), |b| {
            b.iter(|| black_box(s.kdc.handle(black_box(&s.as_req_first), now)))
        });
        group.bench_function(format!("AS {}", enctype.id()), |b| {
            b.iter(|| black_box(s.kdc.handle(black_box(&s.as_req), now)))
        });
        group.bench_function(format!("TGS {}", enctype.id()), |b| {
            b.iter(|| black_box(s.kdc.handle(black_box(&s.tgs_req), now)))
        });
    }
    group.finish();
}

fn accept(c: &mut Criterion) {
    let mut group = c.benchmark_group("acceptor_accept");
    for enctype in ENCTYPES {
        let s = bench_realm(enctype, Arc::new(MemoryStore::new()));
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
