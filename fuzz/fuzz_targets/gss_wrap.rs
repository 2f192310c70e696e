//! Fuzz target: RFC 4121 Wrap tokens — `unwrap` of `internals::gss::MessageProtection` with a
//! fixed key of each enctype on arbitrary bytes. Byte 0 picks the receiver (bits 0-1 the enctype
//! 17/18/19/20, bit 2 the AcceptorSubkey flag, bit 3 initiator or acceptor, bit 4
//! REPLAY|SEQUENCE); the rest is the token. Errors are only GSS_DEFECTIVE_TOKEN or GSS_BAD_MIC; a
//! token that opens gives the same data the second time, flagged as a duplicate when replay
//! detection is on. `examples/seed.rs` writes valid tokens (sealed, integrity-only, rotated) made
//! with the same keys.
#![no_main]

use ktix::gss::ContextFlags;
use ktix::internals::gss::MessageProtection;
use ktix::{Enctype, ErrorCode, Key};
use libfuzzer_sys::fuzz_target;

fn receiver(sel: u8) -> MessageProtection {
    let e = [
        Enctype::Aes128CtsHmacSha196,
        Enctype::Aes256CtsHmacSha196,
        Enctype::Aes128CtsHmacSha256128,
        Enctype::Aes256CtsHmacSha384192,
    ][(sel & 3) as usize];
    let key = Key::new(e, &[0x5a; 32][..e.key_len()]).expect("key");
    let flags = if sel & 16 != 0 { ContextFlags::REPLAY.with(ContextFlags::SEQUENCE) } else { ContextFlags::NONE };
    MessageProtection::new(key, sel & 4 != 0, sel & 8 != 0, 0, 0, flags)
}

fuzz_target!(|data: &[u8]| {
    let [sel, token @ ..] = data else { return };
    let p = receiver(*sel);
    match p.unwrap(token) {
        Ok(u) => {
            let again = p.unwrap(token).expect("opened once, opens again");
            assert_eq!((&again.data, again.conf), (&u.data, u.conf));
            let dup = (sel & 16 != 0).then_some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN);
            assert_eq!(again.sequence, dup);
            assert!(token.len() >= 16 + u.data.len(), "the data fits in the token");
        }
        Err(e) => assert!(
            matches!(e.code(), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN | ErrorCode::KTIX_ERR_GSS_BAD_MIC),
            "{e}"
        ),
    }
});
