//! `ktix_result`: the status every fallible C call returns, and its names.
//!
//! The numbers are the core [`ktix::ErrorCode`]s: Kerberos codes keep their RFC 4120 numbers,
//! ktix's own codes start at 1000. This module invents no codes or names of its own beyond
//! `KTIX_OK` for success and `KTIX_ERR_UNKNOWN` for a number that names nothing.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use ktix::ErrorCode;

/// The status of a libktix call: `KTIX_OK` (0) on success, otherwise an error code
/// (a Kerberos error code from RFC 4120 §7.5.9 below 1000, a ktix code from 1000 on).
/// `ktix_result_name()` gives its symbolic name.
#[allow(non_camel_case_types)]
pub type ktix_result = i32;

/// Success.
pub const KTIX_OK: ktix_result = 0;

/// The name of a code this library does not know.
const UNKNOWN: &CStr = c"KTIX_ERR_UNKNOWN";

/// The name of success.
const OK_NAME: &CStr = c"KTIX_OK";

/// Every known code with its name as a C string, built once and never freed.
fn names() -> &'static [(i32, CString)] {
    static NAMES: OnceLock<Vec<(i32, CString)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ErrorCode::ALL.iter().filter_map(|code| Some((code.code(), CString::new(code.known_name()?).ok()?))).collect()
    })
}

/// The symbolic name of a result code, e.g. `"KRB_AP_ERR_SKEW"` for 37 or
/// `"KTIX_ERR_NULL_ARGUMENT"` for 1000; `"KTIX_OK"` for 0 and `"KTIX_ERR_UNKNOWN"` for a code
/// this library does not name.
///
/// Returns a static NUL-terminated string owned by the library: never free it or write to it.
/// Never returns NULL. Safe to call from any thread.
#[no_mangle]
pub extern "C" fn ktix_result_name(code: ktix_result) -> *const c_char {
    crate::panic::boundary(UNKNOWN.as_ptr(), || {
        if code == KTIX_OK {
            return OK_NAME.as_ptr();
        }
        names().iter().find(|(c, _)| *c == code).map_or(UNKNOWN.as_ptr(), |(_, name)| name.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: i32) -> &'static str {
        // SAFETY: ktix_result_name always returns a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(ktix_result_name(code)) };
        s.to_str().unwrap_or("<not utf-8>")
    }

    #[test]
    fn names_come_from_the_core_table() {
        assert_eq!(name(0), "KTIX_OK");
        assert_eq!(name(37), "KRB_AP_ERR_SKEW");
        assert_eq!(name(ErrorCode::KTIX_ERR_NULL_ARGUMENT.code()), "KTIX_ERR_NULL_ARGUMENT");
        assert_eq!(name(ErrorCode::KTIX_ERR_PANIC.code()), "KTIX_ERR_PANIC");
        for code in ErrorCode::ALL.iter().filter(|c| c.code() != KTIX_OK) {
            assert_eq!(Some(name(code.code())), code.known_name());
        }
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(name(-1), "KTIX_ERR_UNKNOWN");
        assert_eq!(name(999), "KTIX_ERR_UNKNOWN");
        assert_eq!(name(i32::MAX), "KTIX_ERR_UNKNOWN");
    }

    #[test]
    fn the_same_pointer_every_time() {
        assert_eq!(ktix_result_name(37), ktix_result_name(37));
    }
}
