//! Fuzz target: RFC 4121 MIC tokens — `verify_mic` of `internals::gss::MessageProtection` with a
//! fixed key of each enctype on arbitrary bytes. Byte 0 picks the receiver (bits 0-1 the enctype
//! 17/18/19/20, bit 2 the AcceptorSubkey flag, bit 3 initiator or acceptor, bit 4 REPLAY|SEQUENCE),
//! byte 1 the token's length; the token follows, then the data it covers. Errors are only
//! GSS_DEFECTIVE_TOKEN or GSS_BAD_MIC; a token that verifies is a duplicate the second time when
//! replay detection is on. `examples/seed.rs` writes valid tokens made with the same keys.
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
    let [sel, len, rest @ ..] = data else { return };
    let (token, covered) = rest.split_at((*len as usize).min(rest.len()));
    let p = receiver(*sel);
    match p.verify_mic(covered, token) {
        Ok(_) => {
            let again = p.verify_mic(covered, token).expect("verified once, verifies again");
            if sel & 16 != 0 {
                assert_eq!(again, Some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN));
            } else {
                assert_eq!(again, None);
            }
        }
        Err(e) => assert!(
            matches!(e.code(), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN | ErrorCode::KTIX_ERR_GSS_BAD_MIC),
            "{e}"
        ),
    }
});
