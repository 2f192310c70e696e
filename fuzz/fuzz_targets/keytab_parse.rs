//! Fuzz target: `Keytab::parse` (MIT's keytab file format) on arbitrary bytes. What parses must
//! write out (`try_to_bytes`) and parse back to the same entries.
#![no_main]

use ktix::Keytab;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kt) = Keytab::parse(data) {
        if let Ok(bytes) = kt.try_to_bytes() {
            let back = Keytab::parse(&bytes).expect("a keytab we wrote parses");
            assert_eq!(back.entries(), kt.entries(), "the written keytab holds the same entries");
        }
    }
});
