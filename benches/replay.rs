//! Replay-cache benchmarks, one thread: inserts into the in-memory and the file cache, and
//! `Acceptor::accept` with each; plus the memory cache's real heap bytes per entry, measured with
//! a counting allocator and printed before the timings.
//!
//! `cargo bench --bench replay -- --warm-up-time 1 --measurement-time 5`
//!
//! Each insert is a fresh fingerprint at a clock that advances one second per 44,000 inserts,
//! so the memory cache rotates generations as it would under that load.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, BatchSize, Criterion};
use ktix::acceptor::{
    FileReplayCache, ReplayCache, ReplayCacheName, DEFAULT_REPLAY_FILE_SIZE, DEFAULT_REPLAY_MAX_BYTES,
};
use ktix::{Acceptor, AcceptorConfig, CCache, Client, ClientConfig, Clock, FixedClock, InProcess, Kdc, Time};

/// Counts the heap bytes in use, to measure the cache's footprint.
struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const REALM: &str = "KTIX.TEST";
const SERVICE: &str = "host/server.ktix.test";
const RATE: u64 = 44_000;
const T0: i64 = 1_790_000_000;

fn fingerprint(i: u64) -> [u8; 32] {
    openssl::sha::sha256(&i.to_be_bytes())
}

/// Heap bytes per entry of the memory cache after `n` inserts at [`RATE`] per second.
fn measure_bytes_per_entry(n: u64) {
    let fps: Vec<[u8; 32]> = (0..n).map(fingerprint).collect();
    let before = IN_USE.load(Ordering::Relaxed);
    let rc = ReplayCache::with_limits(75, DEFAULT_REPLAY_MAX_BYTES, usize::MAX);
    for (i, fp) in fps.iter().enumerate() {
        let now = Time::from_unix(T0 + (i as u64 / RATE) as i64);
        rc.check_and_insert(*fp, now.plus_secs(300), now).expect("insert");
    }
    let heap = IN_USE.load(Ordering::Relaxed) - before;
    println!(
        "replay_memory_footprint {n} entries: heap {heap} B measured = {:.1} B/entry; accounted {} B = {:.1} B/entry",
        heap as f64 / n as f64,
        rc.memory_bytes(),
        rc.memory_bytes() as f64 / n as f64
    );
}

fn inserts(c: &mut Criterion) {
    for n in [1_000_000, 4_000_000] {
        measure_bytes_per_entry(n);
    }
    let mut group = c.benchmark_group("replay_insert");
    let rc = ReplayCache::with_limits(75, DEFAULT_REPLAY_MAX_BYTES, usize::MAX);
    let mut i = 0u64;
    group.bench_function("memory", |b| {
        b.iter_batched(
            || {
                i += 1;
                (fingerprint(i), Time::from_unix(T0 + (i / RATE) as i64))
            },
            |(fp, now)| rc.check_and_insert(fp, now.plus_secs(300), now).expect("insert"),
            BatchSize::SmallInput,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let frc = FileReplayCache::open(&dir.path().join("bench.rcache"), DEFAULT_REPLAY_FILE_SIZE).expect("file cache");
    let mut i = 0u64;
    group.bench_function("file", |b| {
        b.iter_batched(
            || {
                i += 1;
                (fingerprint(i), Time::from_unix(T0 + (i / RATE) as i64))
            },
            |(fp, now)| frc.check_and_insert(fp, now.plus_secs(300), now).expect("insert"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn accept(c: &mut Criterion) {
    let kdc = Arc::new(Kdc::new(REALM).expect("kdc"));
    kdc.add_principal("alice", Some("alice-pw")).expect("alice");
    kdc.add_principal(SERVICE, None).expect("service");
    let clock = Arc::new(FixedClock::new(Time::from_unix(T0)));
    let transport = Arc::new(InProcess::new(kdc.clone(), clock.clone()));
    let client = Client::with_clock(ClientConfig::new(REALM), transport, CCache::memory(), clock.clone());
    client.login("alice", "alice-pw").expect("login");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("acceptor_accept_replay");
    for (label, name) in
        [("memory", ReplayCacheName::Memory), ("file", ReplayCacheName::File(dir.path().join("accept.rcache")))]
    {
        let keytab = kdc.keytab(SERVICE, clock.now()).expect("keytab");
        let config = AcceptorConfig { replay_cache: Some(name), ..AcceptorConfig::default() };
        let acceptor = Acceptor::try_with_config(keytab, config, clock.clone()).expect("acceptor");
        group.bench_function(label, |b| {
            b.iter_batched(
                || client.ap_req(SERVICE, false).expect("ap_req").0,
                |req| black_box(acceptor.accept(&req).expect("accept")),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, inserts, accept);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
