//! Fuzz target: `Acceptor::accept_at` on a service keyed like the MIT 1.20 captures (their
//! server.keytab), at the time of MIT's GSS AP-REQ capture, so mutated real AP-REQs reach ticket
//! and authenticator decryption and every check after them. Nothing panics, whatever the input.
#![no_main]

use std::sync::{Arc, OnceLock};

use ktix::{Acceptor, AcceptorConfig, Keytab, SystemClock, Time};
use libfuzzer_sys::fuzz_target;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/mit-1.20");

fn acceptor() -> &'static (Acceptor, Time) {
    static ACCEPTOR: OnceLock<(Acceptor, Time)> = OnceLock::new();
    ACCEPTOR.get_or_init(|| {
        let kt = Keytab::load(&format!("{FIXTURES}/server.keytab")).expect("fixture keytab");
        // A small replay cache: once full of live entries it refuses new AP-REQs, a path worth fuzzing too.
        let config = AcceptorConfig { replay_capacity: 4096, ..AcceptorConfig::default() };
        let acceptor = Acceptor::with_config(kt, config, Arc::new(SystemClock));
        // The AP-REQ was captured seconds after this KRB-ERROR.
        let err = std::fs::read(format!("{FIXTURES}/aes256-cts-hmac-sha1-96/00-krb-error-preauth-required.der"))
            .expect("fixture");
        let now = ktix::internals::wire::time_from(
            &ktix::internals::wire::decode::<ktix::internals::wire::KrbError>(&err).expect("KRB-ERROR").stime,
        );
        (acceptor, now)
    })
}

fuzz_target!(|data: &[u8]| {
    let (acceptor, now) = acceptor();
    let _ = acceptor.accept_at(data, *now);
});
