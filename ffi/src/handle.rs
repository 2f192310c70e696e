//! How C holds Rust objects, and how arguments from C are checked: the one place where raw
//! pointers from C become Rust references.
//!
//! Each opaque C handle type (`ktix_kdc`, `ktix_acceptor`, …) is tied to the Rust value behind it
//! by [`Castable`]. C always holds a `Box<Handle<Value>>` turned into a raw pointer: a type tag
//! followed by the value. Values that other objects share are `Arc`s inside (`ktix_kdc` holds an
//! `Arc<Kdc>` that servers and in-process clients keep too). Every value is `Send + Sync` (checked
//! by the trait bound), so one handle may be used from many threads at once; freeing a handle
//! while another thread still uses it is the caller's error, as in any C library.
//!
//! The helpers turn a NULL pointer into `KTIX_ERR_NULL_ARGUMENT` and a pointer to a handle of
//! another type into `KTIX_ERR_INVALID_ARGUMENT` (the tag does not match), so no exported function
//! repeats those checks. A freed handle's tag is wiped before its memory is released; using a
//! freed handle is still undefined behaviour in C terms, the wipe only makes it likelier to be
//! caught.

use std::ffi::{c_char, CStr};

use ktix::{Error, ErrorCode, Result};

/// Ties an opaque C handle type to the Rust value behind it.
///
/// # Safety
///
/// Implementors are zero-sized opaque types that are never constructed in Rust: a pointer to one
/// is only ever made by [`into_raw`] from a `Handle<Self::Value>`, and `TAG` is unique among them.
pub(crate) unsafe trait Castable {
    /// The Rust value C holds through this handle.
    type Value: Send + Sync;
    /// Marks live handles of this type; unique per type.
    const TAG: u32;
    /// The C type name, for error messages.
    const NAME: &'static str;
}

/// Ties an opaque C handle type (declared as a plain `pub struct name { _private: [u8; 0] }` so
/// that cbindgen sees it) to its Rust value and tag.
macro_rules! castable {
    ($name:ident => $value:ty, tag $tag:expr) => {
        // SAFETY: a zero-sized type never constructed in Rust; pointers to it come from into_raw.
        unsafe impl $crate::handle::Castable for $name {
            type Value = $value;
            const TAG: u32 = $tag;
            const NAME: &'static str = stringify!($name);
        }
    };
}
pub(crate) use castable;

/// What a handle pointer points to: the tag, then the value.
#[repr(C)]
struct Handle<T> {
    tag: u32,
    value: T,
}

/// The tag of a freed handle.
const FREED: u32 = 0;

/// Gives C ownership of `value` as a handle of type `C`; undone by [`free`].
pub(crate) fn into_raw<C: Castable>(value: C::Value) -> *mut C {
    Box::into_raw(Box::new(Handle { tag: C::TAG, value })).cast()
}

/// The tag at the start of a handle pointer, or an error for NULL.
fn tag_of<C: Castable>(p: *const C) -> Result<u32> {
    if p.is_null() {
        return Err(Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("the {} handle is NULL", C::NAME)));
    }
    // SAFETY: by the C contract a non-NULL handle pointer was made by into_raw and not freed; every
    // Handle starts with its u32 tag at offset 0, whatever its type, so reading it is valid.
    Ok(unsafe { p.cast::<u32>().read() })
}

/// The value behind a C handle: `KTIX_ERR_NULL_ARGUMENT` for NULL, `KTIX_ERR_INVALID_ARGUMENT`
/// for a pointer to a handle of another type (or a freed one whose memory still shows it).
pub(crate) fn try_ref<'a, C: Castable>(p: *const C) -> Result<&'a C::Value> {
    if tag_of(p)? != C::TAG {
        return Err(Error::invalid(format!("the argument is not a live {} handle", C::NAME)));
    }
    // SAFETY: the tag says this is a Handle<C::Value> made by into_raw<C>; C keeps it alive for the
    // duration of the call, and only shared references are ever made to it.
    Ok(unsafe { &(*p.cast::<Handle<C::Value>>()).value })
}

/// The value behind a C handle, for calls that return a plain value (a string, a count, a flag)
/// instead of a `ktix_result`: `None` for NULL or a handle of another type, with the reason
/// recorded as the thread's last error (`ktix_last_error_message()`), as every failure is.
pub(crate) fn value_ref<'a, C: Castable>(p: *const C) -> Option<&'a C::Value> {
    try_ref(p).map_err(|e| crate::result::record(&e)).ok()
}

/// Frees a handle made by [`into_raw`]; NULL and pointers that are not live handles of type `C`
/// are left alone (the latter is reported as the thread's last error).
pub(crate) fn free<C: Castable>(p: *mut C) {
    match tag_of(p) {
        Err(_) => {}
        Ok(tag) if tag != C::TAG => {
            crate::result::record(&Error::invalid(format!("{}_free: not a live {} handle", C::NAME, C::NAME)));
        }
        Ok(_) => {
            // SAFETY: the tag says this is a Handle<C::Value> made by into_raw<C>; C gives it back here.
            let mut handle = unsafe { Box::from_raw(p.cast::<Handle<C::Value>>()) };
            // SAFETY: a valid, exclusive reference; volatile so the wipe is not optimized away.
            unsafe { std::ptr::write_volatile(&mut handle.tag, FREED) };
            drop(handle);
        }
    }
}

/// A UTF-8 string argument: `KTIX_ERR_NULL_ARGUMENT` for NULL, `KTIX_ERR_INVALID_ARGUMENT` when it
/// is not UTF-8.
pub(crate) fn try_str<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("{what} is NULL")));
    }
    // SAFETY: by the C contract a non-NULL string argument is NUL-terminated and outlives the call.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
}

/// An optional string argument: NULL is `None`.
pub(crate) fn try_opt_str<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        try_str(p, what).map(Some)
    }
}

/// A list of addresses as C gives it, `"a,b, c"`: the non-empty items, trimmed;
/// `KTIX_ERR_INVALID_ARGUMENT` when there is none (or the text is not UTF-8),
/// `KTIX_ERR_NULL_ARGUMENT` for NULL.
pub(crate) fn try_address_list<'a>(p: *const c_char, what: &str) -> Result<Vec<&'a str>> {
    let items: Vec<&str> = try_str(p, what)?.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    if items.is_empty() {
        return Err(Error::invalid(format!("{what} names no address")));
    }
    Ok(items)
}

/// The largest message or buffer accepted from C, in bytes (1 MiB). Longer lengths are refused
/// with `KTIX_ERR_INVALID_ARGUMENT` before anything is read, so a wrong length cannot make the
/// library allocate without bound.
pub const KTIX_MAX_MESSAGE_LEN: usize = 1 << 20;

/// A byte-buffer argument `(data, len)`: NULL with `len` 0 is empty; NULL with `len` > 0 is
/// `KTIX_ERR_NULL_ARGUMENT`; `len` above [`KTIX_MAX_MESSAGE_LEN`] is `KTIX_ERR_INVALID_ARGUMENT`.
pub(crate) fn try_bytes<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len > KTIX_MAX_MESSAGE_LEN {
        return Err(Error::invalid(format!("{what}: length {len} is above the limit of {KTIX_MAX_MESSAGE_LEN} bytes")));
    }
    if data.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("{what} is NULL")));
    }
    // SAFETY: by the C contract `data` points to `len` readable bytes that outlive the call; len
    // is bounded above, so the slice is well within isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A caller's struct passed by pointer to be updated in place (a `ktix_bytes` being freed):
/// `None` for NULL.
pub(crate) fn caller_struct<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: by the C contract a non-NULL pointer points to the caller's initialized, writable T,
    // not used by anyone else during the call.
    unsafe { p.as_mut() }
}

/// A caller's buffer of `len` bytes to write into: `KTIX_ERR_NULL_ARGUMENT` for NULL with a
/// non-zero length.
pub(crate) fn caller_buffer<'a>(buf: *mut c_char, len: usize, what: &str) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("{what} is NULL")));
    }
    // SAFETY: by the C contract `buf` points to `len` writable bytes, not used by anyone else
    // during the call (the contents need not be initialized: we only write u8s, any value valid).
    Ok(unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) })
}

/// An output argument of C type `T`: checked for NULL on entry and reset at once to `T`'s empty
/// value, so that on any failure the caller finds NULL / empty there.
pub(crate) struct Out<T: Empty> {
    ptr: *mut T,
}

/// The value an output holds until the call succeeds.
pub(crate) trait Empty {
    /// NULL, zero or empty.
    fn empty() -> Self;
}

impl<T> Empty for *mut T {
    fn empty() -> Self {
        std::ptr::null_mut()
    }
}

impl Empty for usize {
    fn empty() -> Self {
        0
    }
}

impl<T: Empty> Out<T> {
    /// `KTIX_ERR_NULL_ARGUMENT` for NULL; otherwise the output, already reset to empty.
    pub(crate) fn new(ptr: *mut T, what: &str) -> Result<Out<T>> {
        if ptr.is_null() {
            return Err(Error::new(ErrorCode::KTIX_ERR_NULL_ARGUMENT, format!("{what} (an output) is NULL")));
        }
        // SAFETY: by the C contract a non-NULL output points to writable memory for a T; its old
        // contents are not read (write does not drop them).
        unsafe { ptr.write(T::empty()) };
        Ok(Out { ptr })
    }

    /// An optional output: NULL means the caller does not want it.
    pub(crate) fn optional(ptr: *mut T) -> Option<Out<T>> {
        if ptr.is_null() {
            None
        } else {
            // SAFETY: as in `new`.
            unsafe { ptr.write(T::empty()) };
            Some(Out { ptr })
        }
    }

    /// Stores the result.
    pub(crate) fn set(self, value: T) {
        // SAFETY: checked non-NULL and writable in `new`; the old value is the empty one, which
        // owns nothing.
        unsafe { self.ptr.write(value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_camel_case_types)]
    struct test_a {
        _private: [u8; 0],
    }
    castable!(test_a => String, tag 0x6b74_ff01);
    #[allow(non_camel_case_types)]
    struct test_b {
        _private: [u8; 0],
    }
    castable!(test_b => Vec<u8>, tag 0x6b74_ff02);

    #[test]
    fn handles_check_null_and_type() {
        let a = into_raw::<test_a>("hello".to_string());
        assert_eq!(try_ref(a as *const test_a).map(String::as_str), Ok("hello"));
        let err = try_ref::<test_a>(std::ptr::null()).err().map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::KTIX_ERR_NULL_ARGUMENT));
        let wrong = try_ref::<test_b>(a.cast::<test_b>()).err().map(|e| e.code());
        assert_eq!(wrong, Some(ErrorCode::KTIX_ERR_INVALID_ARGUMENT));
        free::<test_b>(a.cast()); // wrong type: left alone
        assert_eq!(try_ref(a as *const test_a).map(String::len), Ok(5));
        free(a);
        free::<test_a>(std::ptr::null_mut());
    }

    #[test]
    fn value_ref_records_why_it_failed() {
        crate::result::clear_last_error();
        assert!(value_ref::<test_a>(std::ptr::null()).is_none());
        assert!(crate::result::last_error().contains("the test_a handle is NULL"), "{}", crate::result::last_error());
        let b = into_raw::<test_b>(vec![1]);
        assert!(value_ref::<test_a>(b.cast::<test_a>()).is_none());
        assert!(crate::result::last_error().contains("not a live test_a handle"));
        assert_eq!(value_ref(b as *const test_b).map(Vec::len), Some(1));
        free(b);
    }

    #[test]
    fn arguments() {
        assert_eq!(try_str(c"abc".as_ptr(), "x"), Ok("abc"));
        assert_eq!(try_str(std::ptr::null(), "x").err().map(|e| e.code()), Some(ErrorCode::KTIX_ERR_NULL_ARGUMENT));
        let bad = [0xffu8, 0];
        assert_eq!(
            try_str(bad.as_ptr().cast(), "x").err().map(|e| e.code()),
            Some(ErrorCode::KTIX_ERR_INVALID_ARGUMENT)
        );
        assert_eq!(try_opt_str(std::ptr::null(), "x"), Ok(None));
        assert_eq!(try_address_list(c" a:1, ,[::1]:2 ".as_ptr(), "x"), Ok(vec!["a:1", "[::1]:2"]));
        assert_eq!(
            try_address_list(c" , ".as_ptr(), "x").err().map(|e| e.code()),
            Some(ErrorCode::KTIX_ERR_INVALID_ARGUMENT)
        );
        assert_eq!(try_bytes(std::ptr::null(), 0, "b"), Ok(&[][..]));
        assert_eq!(
            try_bytes(std::ptr::null(), 1, "b").err().map(|e| e.code()),
            Some(ErrorCode::KTIX_ERR_NULL_ARGUMENT)
        );
        let data = [1u8, 2, 3];
        assert_eq!(try_bytes(data.as_ptr(), 2, "b"), Ok(&data[..2]));
        assert_eq!(
            try_bytes(data.as_ptr(), usize::MAX, "b").err().map(|e| e.code()),
            Some(ErrorCode::KTIX_ERR_INVALID_ARGUMENT)
        );
        let mut p: *mut u8 = std::ptr::dangling_mut();
        let out = Out::new(&mut p, "out");
        assert!(out.is_ok() && p.is_null());
        assert!(Out::<*mut u8>::new(std::ptr::null_mut(), "out").is_err());
    }
}
