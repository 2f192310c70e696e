//! Crypto benchmarks: per enctype (17, 18, 19, 20), one encrypt + decrypt round of a 256-byte
//! message with a cached key, what a TGS does with a one-shot key (the TGT session key: made
//! from its bytes, an authenticator opened, a checksum verified, a reply sealed, dropped), and
//! string-to-key with the enctype's default iteration count.
//!
//! `cargo bench --bench crypto -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ktix::crypto::usage;
use ktix::{Enctype, Key};

const MESSAGE_LEN: usize = 256;

fn encrypt_decrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("encrypt_decrypt_256");
    group.throughput(Throughput::Bytes(MESSAGE_LEN as u64));
    let message = [0x5au8; MESSAGE_LEN];
    for enctype in Enctype::ALL {
        let key = Key::random(enctype).expect("random key");
        // Derive and cache the usage keys outside the measurement, as a long-lived key would.
        let sealed = key.encrypt(usage::AP_REQ_AUTH, &message).expect("encrypt");
        assert_eq!(&key.decrypt(usage::AP_REQ_AUTH, &sealed).expect("decrypt")[..], &message[..]);
        let id = format!("{} {}", enctype.id(), enctype.name());
        group.bench_with_input(BenchmarkId::from_parameter(id), &message, |b, m| {
            b.iter(|| {
                let ct = key.encrypt(usage::AP_REQ_AUTH, black_box(m)).expect("encrypt");
                let pt = key.decrypt(usage::AP_REQ_AUTH, black_box(&ct)).expect("decrypt");
                black_box(pt);
            })
        });
    }
    group.finish();
}

/// A key used for one exchange: every derived key and AES context is made, used and dropped in the
/// iteration, as for the TGT session key the KDC opens from each TGS-REQ.
fn one_shot_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_shot_key_tgs");
    let authenticator = [0x3cu8; 120];
    let body = [0xa5u8; 150];
    let reply = [0x5au8; 300];
    for enctype in Enctype::ALL {
        let bytes = Key::random(enctype).expect("random key").bytes().to_vec();
        let sealer = Key::new(enctype, &bytes).expect("key");
        let sealed = sealer.encrypt(usage::TGS_REQ_AUTH, &authenticator).expect("encrypt");
        let cksum = sealer.checksum(usage::TGS_REQ_AUTH_CKSUM, &body).expect("checksum");
        let id = format!("{} {}", enctype.id(), enctype.name());
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                let key = Key::new(enctype, black_box(&bytes)).expect("key");
                black_box(key.decrypt(usage::TGS_REQ_AUTH, black_box(&sealed)).expect("decrypt"));
                key.verify_checksum(usage::TGS_REQ_AUTH_CKSUM, enctype.checksum_type(), black_box(&body), &cksum)
                    .expect("checksum");
                black_box(key.encrypt(usage::TGS_REP_ENC_PART_SESSION, black_box(&reply)).expect("encrypt"))
            })
        });
    }
    group.finish();
}

fn string_to_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("string_to_key_default_iterations");
    // Each call runs thousands of PBKDF2 rounds: fewer, longer samples.
    group.sample_size(10);
    for enctype in Enctype::ALL {
        let id = format!("{} {} ({} iterations)", enctype.id(), enctype.name(), enctype.default_iterations());
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                Key::from_password(enctype, black_box(b"correct horse battery staple"), b"KTIX.TESTalice", None)
                    .expect("string-to-key")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encrypt_decrypt, one_shot_key, string_to_key);
criterion_main!(benches);
