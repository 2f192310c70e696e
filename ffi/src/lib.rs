//! The C ABI of libktix: `libktix.so` (SONAME `libktix.so.0`) and `libktix.a`, described by the
//! generated header `include/ktix.h`.
//!
//! This crate is a thin translation of the core `ktix` crate: no protocol logic lives here.
//! The house rules (rustls-ffi is the model):
//!
//! - [`handle`]: each opaque C type is tied to its Rust value by one trait, and every pointer from
//!   C goes through its helpers, which turn NULL into `KTIX_ERR_NULL_ARGUMENT` and a handle of the
//!   wrong type into `KTIX_ERR_INVALID_ARGUMENT`; outputs are reset to NULL / empty on entry;
//! - [`panic`]: every exported body runs inside `ffi_boundary!`, so no panic unwinds into C; a
//!   function returning a `ktix_result` returns `KTIX_ERR_PANIC` instead, others a documented
//!   neutral value (NULL, 0, nothing);
//! - [`result`]: a core `Error` becomes a `ktix_result` (its code: Kerberos codes keep their RFC
//!   numbers, ktix codes are 1000 and up) in one function, which also keeps the message for
//!   `ktix_last_error_message()`;
//! - every handle's Rust value is `Send + Sync`, so handles may be shared between threads;
//! - byte buffers from C are bounded by `KTIX_MAX_MESSAGE_LEN` before they are read, and nothing
//!   is copied from them, so a wrong length cannot make the library allocate without bound (Rust's
//!   allocator aborts on out-of-memory; the inputs that decide allocation sizes are bounded);
//! - the ownership of every pointer crossing the boundary is stated in its header comment.

#![warn(missing_docs)]
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod acceptor;
mod bytes;
mod ccache;
mod client;
mod handle;
mod kdc;
mod keytab;
mod panic;
mod result;

use std::ffi::{c_char, CStr};

pub use acceptor::*;
pub use bytes::*;
pub use ccache::*;
pub use client::*;
pub use handle::KTIX_MAX_MESSAGE_LEN;
pub use kdc::*;
pub use keytab::*;
pub use result::*;

/// The library version, NUL-terminated for C.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the crate version contains a NUL byte"),
};

/// Parses the decimal digits of a Cargo version component at compile time.
const fn version_component(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "a version component is not a decimal number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The major version of the header (`0` of `0.1.0`): compare with [`ktix_version`] at run time
/// to detect a program built against another library. Cargo's version is the one source: the
/// build fails when this literal (which cbindgen copies into `ktix.h`) differs from it.
pub const KTIX_VERSION_MAJOR: u32 = 0;
/// The minor version of the header (`1` of `0.1.0`), checked against Cargo's like
/// [`KTIX_VERSION_MAJOR`].
pub const KTIX_VERSION_MINOR: u32 = 1;
/// The patch version of the header (the last `0` of `0.1.0`), checked against Cargo's like
/// [`KTIX_VERSION_MAJOR`].
pub const KTIX_VERSION_PATCH: u32 = 0;

const _: () = {
    assert!(
        KTIX_VERSION_MAJOR == version_component(env!("CARGO_PKG_VERSION_MAJOR"))
            && KTIX_VERSION_MINOR == version_component(env!("CARGO_PKG_VERSION_MINOR"))
            && KTIX_VERSION_PATCH == version_component(env!("CARGO_PKG_VERSION_PATCH")),
        "KTIX_VERSION_MAJOR/MINOR/PATCH differ from the crate version: update them and regenerate include/ktix.h"
    );
};

/// The version of the libktix library that is running, e.g. `"0.1.0"` (compare with the
/// header's `KTIX_VERSION_MAJOR` / `_MINOR` / `_PATCH`).
///
/// Returns a static NUL-terminated string owned by the library: never free it or write to it.
/// Never returns NULL.
#[no_mangle]
pub extern "C" fn ktix_version() -> *const c_char {
    panic::ffi_boundary!({ VERSION.as_ptr() })
}

#[cfg(test)]
mod tests;
