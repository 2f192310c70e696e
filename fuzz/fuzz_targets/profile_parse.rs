//! Fuzz target: MIT's profile format (krb5.conf, kdc.conf) on arbitrary text, then the krb5.conf
//! and kdc.conf views of what parsed (their value parsers: durations, enctype lists, addresses).
//!
//! Inputs naming an `include`/`includedir`/`module` directive are skipped: those read other files
//! by path, and a fuzzer must not walk the file system (the directives' own parsing and bounds are
//! covered by tests/config.rs).
#![no_main]

use ktix::config::{KdcConf, Krb5Conf, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.contains("include") || text.contains("module") {
        return;
    }
    if Profile::parse(text, "fuzz.conf").is_ok() {
        let _ = Krb5Conf::parse(text, "fuzz.conf");
        let _ = KdcConf::parse(text, "fuzz.conf", None);
        let _ = KdcConf::parse(text, "fuzz.conf", Some("KTIX.TEST"));
    }
});
