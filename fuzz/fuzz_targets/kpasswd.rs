//! Fuzz target: the change-password service (RFC 3244), `Kdc::kpasswd(bytes, now, local, None)`,
//! on a realm whose `kadmin/changepw` keys are those the seeder's requests were made for
//! (`common/realm.rs`), at their time — so mutated real requests reach the framing, the
//! AP-REQ's ticket and authenticator, the KRB-PRIV and the password change itself. Nothing
//! panics; input shaped like a request (its length field, version 1 or 0xff80) gets a framed
//! reply, anything else none.
#![no_main]

use std::sync::OnceLock;

use ktix::internals::proto::kpasswd as kp;
use ktix::kdc::PrincipalEntry;
use ktix::Kdc;
use libfuzzer_sys::fuzz_target;

#[path = "../common/realm.rs"]
mod realm;

/// The realm and alice's entry as it was made (put back after a request that changed it, so
/// every input meets the same realm).
fn state() -> &'static (Kdc, PrincipalEntry) {
    static STATE: OnceLock<(Kdc, PrincipalEntry)> = OnceLock::new();
    STATE.get_or_init(|| {
        let kdc = realm::kdc();
        let alice = kdc.principal(realm::ALICE).expect("name");
        let entry = (*kdc.entry(&alice).expect("alice")).clone();
        (kdc, entry)
    })
}

fuzz_target!(|data: &[u8]| {
    let (kdc, alice) = state();
    let outcome = kdc.kpasswd(data, realm::now(), realm::local(), None);
    if kp::is_request(data) {
        assert!(kp::parse_reply(&outcome.reply).is_ok(), "a request gets a framed reply");
    } else {
        assert!(outcome.reply.is_empty(), "only requests are answered");
    }
    if outcome.facts.code == ktix::ErrorCode::KDC_ERR_NONE {
        kdc.put_principal(alice.clone()).expect("alice back");
    }
});
