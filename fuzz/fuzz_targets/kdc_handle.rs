//! Fuzz target: the whole KDC path, `Kdc::handle(bytes, now)`, on a realm whose keys are those of
//! the MIT 1.20 captures (alice's password, the captured krbtgt and service keytabs), at the
//! captures' time — so mutated real AS-REQs and TGS-REQs reach pre-authentication, ticket opening,
//! authenticator and checksum checks. Nothing panics; input shaped like a request (first byte
//! 0x6a/0x6c) gets a reply, anything else none.
#![no_main]

use std::sync::{Arc, OnceLock};

use ktix::kdc::{KeyEntry, MemoryStore, PrincipalEntry, PrincipalStore};
use ktix::{Kdc, Keytab, Principal, RealmPolicy, Time};
use libfuzzer_sys::fuzz_target;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/mit-1.20/nofast");

fn realm() -> &'static (Kdc, Time) {
    static REALM: OnceLock<(Kdc, Time)> = OnceLock::new();
    REALM.get_or_init(|| {
        let store = Arc::new(MemoryStore::new());
        for file in ["krbtgt.keytab", "server.keytab"] {
            let kt = Keytab::load(&format!("{FIXTURES}/{file}")).expect("fixture keytab");
            for p in kt.principals() {
                let mut e = PrincipalEntry::new(p.clone());
                for k in kt.entries().iter().filter(|k| k.principal == p) {
                    if let Some(key) = k.key.key() {
                        e.keys.push(KeyEntry {
                            kvno: k.kvno,
                            key: key.clone(),
                            salt: p.default_salt(),
                            s2kparams: None,
                        });
                    }
                }
                store.put(e).expect("put");
            }
        }
        let mut alice = PrincipalEntry::new(Principal::parse("alice@KTIX.TEST", None).expect("name"));
        alice.set_password(b"alice-pw", &ktix::Enctype::ALL, 1).expect("keys");
        store.put(alice).expect("put");
        let kdc = Kdc::with_store("KTIX.TEST", store, RealmPolicy::default()).expect("kdc");
        // The captures were made within seconds of each other: the KDC's time in the first
        // KRB-ERROR is "now" for all of them.
        let err = std::fs::read(format!("{FIXTURES}/aes256-cts-hmac-sha1-96/00-krb-error-preauth-required.der"))
            .expect("fixture");
        let now = ktix::internals::wire::time_from(
            &ktix::internals::wire::decode::<ktix::internals::wire::KrbError>(&err).expect("KRB-ERROR").stime,
        );
        (kdc, now)
    })
}

fuzz_target!(|data: &[u8]| {
    let (kdc, now) = realm();
    let reply = kdc.handle(data, *now);
    let request_shaped = matches!(data.first(), Some(0x6a | 0x6c));
    assert_eq!(!reply.is_empty(), request_shaped, "the KDC answers requests, and only requests");
});
