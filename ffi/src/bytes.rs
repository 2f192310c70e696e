//! Byte buffers handed to C: `ktix_bytes` (messages) and `ktix_secret` (key material, wiped when
//! freed).

use std::sync::atomic::{compiler_fence, Ordering};

use crate::handle::{caller_struct, Empty};
use crate::panic::ffi_boundary;

/// Bytes owned by the caller after a call returned them (an AP-REQ, a KDC reply …): `len` bytes
/// at `data`. An empty buffer is `{ NULL, 0 }`.
///
/// Free with `ktix_bytes_free()` (not `free()`), and do not change `data` or `len` before that.
#[repr(C)]
#[derive(Debug)]
pub struct ktix_bytes {
    /// The bytes; NULL when `len` is 0.
    pub data: *mut u8,
    /// How many bytes.
    pub len: usize,
}

impl Empty for ktix_bytes {
    fn empty() -> Self {
        ktix_bytes { data: std::ptr::null_mut(), len: 0 }
    }
}

impl ktix_bytes {
    /// Hands `bytes` to C.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> ktix_bytes {
        if bytes.is_empty() {
            return ktix_bytes::empty();
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        ktix_bytes { data: Box::into_raw(boxed).cast::<u8>(), len }
    }
}

/// Takes back a buffer made by `from_vec` (or `Secret`), after `wipe` ran over it.
///
/// # Safety
///
/// `data`/`len` came from a boxed slice handed out by this crate and not freed since.
unsafe fn release(data: *mut u8, len: usize, wipe: bool) {
    if data.is_null() {
        return;
    }
    let slice = std::ptr::slice_from_raw_parts_mut(data, len);
    if wipe {
        for i in 0..len {
            // SAFETY: i < len, inside the live allocation; volatile so the wipe is kept.
            unsafe { std::ptr::write_volatile(data.add(i), 0) };
        }
        compiler_fence(Ordering::SeqCst);
    }
    // SAFETY: the caller's contract: this is the boxed slice we handed out.
    drop(unsafe { Box::from_raw(slice) });
}

/// Frees the bytes of a `ktix_bytes` returned by libktix and resets it to `{ NULL, 0 }`, so
/// freeing it again does nothing. `bytes` NULL, or a buffer already `{ NULL, 0 }`, is a no-op.
///
/// `bytes` is the caller's struct (not freed itself); its buffer must have come from libktix
/// unchanged.
#[no_mangle]
pub extern "C" fn ktix_bytes_free(bytes: *mut ktix_bytes) {
    ffi_boundary!({
        if let Some(b) = caller_struct(bytes) {
            // SAFETY: by the contract, the buffer in the caller's ktix_bytes is one libktix made.
            unsafe { release(b.data, b.len, false) };
            *b = ktix_bytes::empty();
        }
    })
}

/// Secret bytes owned by the caller (a session key): `len` bytes at `data`, of Kerberos enctype
/// `enctype` (RFC 3961 number, e.g. 18 for aes256-cts-hmac-sha1-96). An empty secret is
/// `{ NULL, 0, 0 }`.
///
/// Free with `ktix_secret_free()`, which overwrites the bytes with zeros before releasing them; do
/// not change `data` or `len`, and do not copy the bytes anywhere you cannot wipe.
#[repr(C)]
#[derive(Debug)]
pub struct ktix_secret {
    /// The key bytes; NULL when `len` is 0.
    pub data: *mut u8,
    /// How many bytes.
    pub len: usize,
    /// The key's enctype (RFC 3961 number).
    pub enctype: i32,
}

impl Empty for ktix_secret {
    fn empty() -> Self {
        ktix_secret { data: std::ptr::null_mut(), len: 0, enctype: 0 }
    }
}

impl ktix_secret {
    /// Hands a copy of `key` to C.
    pub(crate) fn from_key(key: &ktix::Key) -> ktix_secret {
        let copy: Box<[u8]> = key.bytes().into();
        let len = copy.len();
        ktix_secret { data: Box::into_raw(copy).cast::<u8>(), len, enctype: key.enctype().id() }
    }
}

/// Overwrites the bytes of a `ktix_secret` returned by libktix with zeros, frees them, and resets
/// it to `{ NULL, 0, 0 }`, so freeing it again does nothing. `secret` NULL, or an empty secret, is
/// a no-op.
///
/// `secret` is the caller's struct (not freed itself); its buffer must have come from libktix
/// unchanged.
#[no_mangle]
pub extern "C" fn ktix_secret_free(secret: *mut ktix_secret) {
    ffi_boundary!({
        if let Some(s) = caller_struct(secret) {
            // SAFETY: by the contract, the buffer in the caller's ktix_secret is one libktix made.
            unsafe { release(s.data, s.len, true) };
            *s = ktix_secret::empty();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_double_free_is_harmless() {
        let mut b = ktix_bytes::from_vec(vec![1, 2, 3]);
        assert_eq!(b.len, 3);
        ktix_bytes_free(&mut b);
        assert!(b.data.is_null() && b.len == 0);
        ktix_bytes_free(&mut b);
        ktix_bytes_free(std::ptr::null_mut());
        let mut e = ktix_bytes::from_vec(Vec::new());
        assert!(e.data.is_null());
        ktix_bytes_free(&mut e);
    }

    #[test]
    fn secrets_are_copied_and_freed() {
        let key = ktix::Key::random(ktix::Enctype::Aes256CtsHmacSha196).expect("key");
        let mut s = ktix_secret::from_key(&key);
        assert_eq!(s.enctype, 18);
        // SAFETY: s holds s.len bytes.
        assert_eq!(unsafe { std::slice::from_raw_parts(s.data, s.len) }, key.bytes());
        ktix_secret_free(&mut s);
        assert!(s.data.is_null() && s.len == 0 && s.enctype == 0);
        ktix_secret_free(&mut s);
        ktix_secret_free(std::ptr::null_mut());
    }
}
