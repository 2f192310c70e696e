//! `ktix_keytab`: a service's long-term keys (MIT keytab format).

use std::ffi::{c_char, CString};

use ktix::{Error, Keytab};

use crate::handle::{castable, free, into_raw, try_ref, try_str, value_ref, Out};
use crate::panic::ffi_boundary;
use crate::result::ktix_result;

/// A keytab: principals' long-term keys, for an acceptor (`ktix_acceptor_new()`) or a client
/// logging in without a password (`ktix_client_login_keytab()`). Read-only once made, so
/// thread-safe. Made by `ktix_keytab_load()` or `ktix_kdc_keytab()`, freed with
/// `ktix_keytab_free()` (which wipes the keys).
pub struct ktix_keytab {
    _private: [u8; 0],
}

/// The keytab and its entries' principal names as C strings.
pub(crate) struct KeytabValue {
    pub(crate) keytab: Keytab,
    names: Vec<CString>,
}
castable!(ktix_keytab => KeytabValue, tag 0x6b74_0003);

impl KeytabValue {
    pub(crate) fn new(keytab: Keytab) -> KeytabValue {
        let names =
            keytab.entries().iter().map(|e| CString::new(e.principal.to_string()).unwrap_or_default()).collect();
        KeytabValue { keytab, names }
    }
}

/// One keytab entry, as `ktix_keytab_entry()` describes it. No key bytes.
#[repr(C)]
#[derive(Debug)]
pub struct ktix_keytab_entry_info {
    /// The principal, e.g. `"host/server.ktix.test@KTIX.TEST"`: owned by the keytab, valid until
    /// `ktix_keytab_free()`.
    pub principal: *const c_char,
    /// The key version number.
    pub kvno: u32,
    /// The key's enctype (RFC 3961 number; an enctype libktix does not implement is kept as is).
    pub enctype: i32,
    /// When the entry was written, seconds since the Unix epoch.
    pub timestamp: i64,
}

impl crate::handle::Empty for ktix_keytab_entry_info {
    fn empty() -> Self {
        ktix_keytab_entry_info { principal: std::ptr::null(), kvno: 0, enctype: 0, timestamp: 0 }
    }
}

/// Reads the keytab file `name`: `FILE:path`, `WRFILE:path` or a plain path.
///
/// Ownership: on success `*out` is a new keytab owned by the caller; free it with
/// `ktix_keytab_free()`. `name` is borrowed for the call. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (an unsupported name type),
/// `KTIX_ERR_IO` (cannot read the file), `KTIX_ERR_BAD_FILE` (not a keytab, truncated).
#[no_mangle]
pub extern "C" fn ktix_keytab_load(name: *const c_char, out: *mut *mut ktix_keytab) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let keytab = Keytab::load(try_str(name, "name")?)?;
            out.set(into_raw::<ktix_keytab>(KeytabValue::new(keytab)));
            Ok(())
        }
    )
}

/// Writes the keytab to the file `name` (as for `ktix_keytab_load()`), replacing it atomically,
/// mode 0600.
///
/// Ownership: everything is borrowed for the call.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT`, `KTIX_ERR_IO`.
#[no_mangle]
pub extern "C" fn ktix_keytab_save(keytab: *const ktix_keytab, name: *const c_char) -> ktix_result {
    ffi_boundary!(
        try {
            let kt = try_ref(keytab)?;
            kt.keytab.save(try_str(name, "name")?)?;
            Ok(())
        }
    )
}

/// How many entries the keytab has; 0 when `keytab` is NULL or not a keytab handle (the reason
/// is the thread's last error).
#[no_mangle]
pub extern "C" fn ktix_keytab_len(keytab: *const ktix_keytab) -> usize {
    ffi_boundary!({ value_ref(keytab).map_or(0, |kt| kt.keytab.len()) })
}

/// Describes entry `index` (0 ≤ `index` < `ktix_keytab_len()`) in `*out`.
///
/// Ownership: `out` is the caller's struct; the string it receives is owned by the keytab and
/// valid until `ktix_keytab_free()`. On failure `*out` is zeroed.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (`index` out of range).
#[no_mangle]
pub extern "C" fn ktix_keytab_entry(
    keytab: *const ktix_keytab,
    index: usize,
    out: *mut ktix_keytab_entry_info,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let kt = try_ref(keytab)?;
            let (entry, name) = kt.keytab.entries().get(index).zip(kt.names.get(index)).ok_or_else(|| {
                Error::invalid(format!("entry {index} out of range (the keytab has {})", kt.keytab.len()))
            })?;
            out.set(ktix_keytab_entry_info {
                principal: name.as_ptr(),
                kvno: entry.kvno,
                enctype: entry.key.enctype_id(),
                timestamp: entry.timestamp.unix(),
            });
            Ok(())
        }
    )
}

/// Frees a keytab; its keys are wiped. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_keytab_free(keytab: *mut ktix_keytab) {
    ffi_boundary!({ free(keytab) })
}
