//! Fuzz target: `ktix::internals::wire::decode::<AsReq>` on arbitrary bytes; on success the value must re-encode, and the
//! re-encoding must decode to the same value (a lenient decode may change the bytes, never the meaning).
#![no_main]

use ktix::internals::wire::{self, AsReq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = wire::decode::<AsReq>(data) {
        let again = wire::encode(&value).expect("a decoded value re-encodes");
        let back = wire::decode::<AsReq>(&again).expect("the re-encoding decodes");
        assert_eq!(back, value, "the re-encoding decodes to the same value");
    }
});
