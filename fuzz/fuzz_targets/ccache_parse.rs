//! Fuzz target: the FILE credential cache reader (MIT's format v3/v4) on arbitrary bytes. A cache
//! that parses and names a principal must write out, and writing the re-parsed file again must
//! give the same bytes.
#![no_main]

use ktix::internals::ccache_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(stable) = ccache_file::round_trip(data) {
        assert!(stable, "a cache written, re-read and written again changed");
    }
});
