//! The C ABI of libktix: `libktix.so` (SONAME `libktix.so.0`) and `libktix.a`, described by the
//! generated header `include/ktix.h`.
//!
//! This crate is a thin translation of the core `ktix` crate: no protocol logic lives here.
//! Rules every exported function follows:
//!
//! - its body runs inside [`panic::boundary`], so no panic unwinds into C; a function returning
//!   a [`ktix_result`] returns `KTIX_ERR_PANIC` instead, others return a documented neutral value;
//! - pointer arguments are checked for NULL before use;
//! - the ownership of every pointer crossing the boundary is stated in its header comment.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod panic;
mod result;

use std::ffi::{c_char, CStr};

pub use result::{ktix_result, ktix_result_name, KTIX_OK};

/// The library version, NUL-terminated for C.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the crate version contains a NUL byte"),
};

/// The version of libktix, e.g. `"0.1.0"`.
///
/// Returns a static NUL-terminated string owned by the library: never free it or write to it.
/// Never returns NULL.
#[no_mangle]
pub extern "C" fn ktix_version() -> *const c_char {
    panic::boundary(VERSION.as_ptr(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: ktix_version returns a pointer to a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(ktix_version()) };
        assert_eq!(v.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }
}
