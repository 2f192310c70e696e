//! Memory handed to C: buffers, OIDs and OID sets are allocated with `malloc` (as MIT's library
//! does), so `gss_release_*` frees them and a program that calls `free()` itself is not wrong
//! either. OIDs this library allocated are remembered, so `gss_release_oid` never frees a static
//! or foreign one.

use std::collections::HashSet;
use std::ffi::c_void;
use std::sync::Mutex;

use ktix::gss::major;

use crate::boundary::{null_write, Failure};
use crate::types::{gss_OID, gss_OID_desc, gss_OID_set, gss_OID_set_desc, gss_buffer_desc, gss_buffer_t, OM_uint32};

static ALLOCATED_OIDS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

/// `malloc(len)` holding `bytes` (at least one byte is allocated); NULL when out of memory.
fn malloc_copy(bytes: &[u8]) -> *mut c_void {
    // SAFETY: malloc of a positive size; the copy stays within both allocations.
    unsafe {
        let p = libc::malloc(bytes.len().max(1));
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.cast::<u8>(), bytes.len());
        }
        p
    }
}

fn out_of_memory() -> Failure {
    Failure::Major(major::FAILURE, "out of memory".into())
}

/// Writes `bytes` into the caller's output buffer (malloc'd; an empty value for no bytes).
///
/// # Safety
/// `out` is NULL or points to a writable `gss_buffer_desc`.
pub unsafe fn set_buffer(out: gss_buffer_t, bytes: &[u8]) -> Result<(), Failure> {
    if out.is_null() {
        return Err(null_write("the output buffer"));
    }
    if bytes.is_empty() {
        out.write(gss_buffer_desc { length: 0, value: std::ptr::null_mut() });
        return Ok(());
    }
    let p = malloc_copy(bytes);
    if p.is_null() {
        return Err(out_of_memory());
    }
    out.write(gss_buffer_desc { length: bytes.len(), value: p });
    Ok(())
}

/// Empties an output buffer the caller passed (when not NULL), so a failing call leaves nothing
/// to release.
///
/// # Safety
/// As for [`set_buffer`].
pub unsafe fn clear_buffer(out: gss_buffer_t) {
    if !out.is_null() {
        out.write(gss_buffer_desc { length: 0, value: std::ptr::null_mut() });
    }
}

/// The bytes of an input buffer (`GSS_C_NO_BUFFER` and an empty buffer are both empty).
///
/// # Safety
/// `b` is NULL or points to a `gss_buffer_desc` whose value holds `length` readable bytes.
pub unsafe fn buffer_bytes<'a>(b: *const gss_buffer_desc) -> Result<&'a [u8], Failure> {
    if b.is_null() || (*b).length == 0 {
        return Ok(&[]);
    }
    if (*b).value.is_null() {
        return Err(Failure::Major(major::CALL_BAD_STRUCTURE, "a buffer has a length but no value".into()));
    }
    Ok(std::slice::from_raw_parts((*b).value.cast::<u8>(), (*b).length))
}

/// Frees a buffer this library filled.
///
/// # Safety
/// `b` is NULL or a buffer whose value was malloc'd (or is NULL).
pub unsafe fn release_buffer(b: gss_buffer_t) {
    if !b.is_null() {
        if !(*b).value.is_null() {
            libc::free((*b).value);
        }
        b.write(gss_buffer_desc { length: 0, value: std::ptr::null_mut() });
    }
}

/// A new malloc'd OID holding `bytes`, remembered as ours.
pub fn new_oid(bytes: &[u8]) -> Result<gss_OID, Failure> {
    let elements = malloc_copy(bytes);
    // SAFETY: malloc of a descriptor, written whole before use.
    let d = unsafe { libc::malloc(std::mem::size_of::<gss_OID_desc>()) }.cast::<gss_OID_desc>();
    if elements.is_null() || d.is_null() {
        // SAFETY: free(NULL) is a no-op.
        unsafe {
            libc::free(elements);
            libc::free(d.cast());
        }
        return Err(out_of_memory());
    }
    // SAFETY: d is a fresh allocation of the right size.
    unsafe { d.write(gss_OID_desc { length: bytes.len() as OM_uint32, elements }) };
    ALLOCATED_OIDS.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new).insert(d as usize);
    Ok(d)
}

/// Frees an OID made by [`new_oid`]; `false` (nothing freed) for any other pointer.
///
/// # Safety
/// `oid` is NULL or an OID pointer.
pub unsafe fn release_oid(oid: gss_OID) -> bool {
    let ours = ALLOCATED_OIDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .is_some_and(|set| set.remove(&(oid as usize)));
    if ours {
        libc::free((*oid).elements);
        libc::free(oid.cast());
    }
    ours
}

/// A new empty malloc'd OID set.
pub fn new_oid_set() -> Result<gss_OID_set, Failure> {
    // SAFETY: malloc of a set descriptor, written whole.
    let s = unsafe { libc::malloc(std::mem::size_of::<gss_OID_set_desc>()) }.cast::<gss_OID_set_desc>();
    if s.is_null() {
        return Err(out_of_memory());
    }
    // SAFETY: fresh allocation.
    unsafe { s.write(gss_OID_set_desc { count: 0, elements: std::ptr::null_mut() }) };
    Ok(s)
}

/// The OIDs of a set, as content bytes.
///
/// # Safety
/// `s` is NULL or a valid OID set.
pub unsafe fn set_members<'a>(s: *const gss_OID_set_desc) -> Vec<&'a [u8]> {
    if s.is_null() || (*s).elements.is_null() {
        return Vec::new();
    }
    (0..(*s).count).filter_map(|i| crate::types::oid_bytes((*s).elements.add(i))).collect()
}

/// Adds `bytes` to a malloc'd set unless it is already there.
///
/// # Safety
/// `s` is an OID set whose element array (and each element's bytes) this library or MIT's
/// `gss_create_empty_oid_set`/`gss_add_oid_set_member` allocated with malloc.
pub unsafe fn add_to_set(s: gss_OID_set, bytes: &[u8]) -> Result<(), Failure> {
    if set_members(s).contains(&bytes) {
        return Ok(());
    }
    let count = (*s).count;
    let grown =
        libc::realloc((*s).elements.cast(), (count + 1) * std::mem::size_of::<gss_OID_desc>()).cast::<gss_OID_desc>();
    if grown.is_null() {
        return Err(out_of_memory());
    }
    let elements = malloc_copy(bytes);
    if elements.is_null() {
        (*s).elements = grown;
        return Err(out_of_memory());
    }
    grown.add(count).write(gss_OID_desc { length: bytes.len() as OM_uint32, elements });
    (*s).elements = grown;
    (*s).count = count + 1;
    Ok(())
}

/// A malloc'd set of `members`.
pub fn oid_set_of(members: &[&[u8]]) -> Result<gss_OID_set, Failure> {
    let s = new_oid_set()?;
    for m in members {
        // SAFETY: s was made just now by new_oid_set.
        if let Err(e) = unsafe { add_to_set(s, m) } {
            // SAFETY: as above.
            unsafe { release_oid_set(s) };
            return Err(e);
        }
    }
    Ok(s)
}

/// Frees a malloc'd set, its elements and their bytes.
///
/// # Safety
/// As for [`add_to_set`].
pub unsafe fn release_oid_set(s: gss_OID_set) {
    if s.is_null() {
        return;
    }
    if !(*s).elements.is_null() {
        for i in 0..(*s).count {
            libc::free((*(*s).elements.add(i)).elements);
        }
        libc::free((*s).elements.cast());
    }
    libc::free(s.cast());
}
