//! `ktix_ccache` (a client's ticket cache) and `ktix_credentials` (a listing of one).

use std::ffi::{c_char, CString};

use ktix::{CCache, Credential, Error};

use crate::handle::{castable, free, into_raw, try_ref, try_str, value_ref, Empty, Out};
use crate::panic::ffi_boundary;
use crate::result::ktix_result;

/// A credential cache: a client's tickets and their session keys, in memory or in a file (MIT's
/// FILE format). Thread-safe; handles to the same cache (and the clients using it) see the same
/// contents. Made by `ktix_ccache_new_memory()`, `ktix_ccache_new_file()`,
/// `ktix_ccache_new_default()` or `ktix_ccache_resolve()`, freed with `ktix_ccache_free()`.
pub struct ktix_ccache {
    _private: [u8; 0],
}

/// The cache and its name as a C string.
pub(crate) struct CCacheValue {
    pub(crate) ccache: CCache,
    name: CString,
}
castable!(ktix_ccache => CCacheValue, tag 0x6b74_0004);

impl CCacheValue {
    fn new(ccache: CCache) -> CCacheValue {
        let name = CString::new(ccache.name()).unwrap_or_default();
        CCacheValue { ccache, name }
    }
}

/// A snapshot of a cache's credentials, from `ktix_ccache_credentials()`. Freed with
/// `ktix_credentials_free()`.
pub struct ktix_credentials {
    _private: [u8; 0],
}

/// One listed credential with its names as C strings (no key material is kept).
pub(crate) struct Listed {
    client: CString,
    server: CString,
    times: ktix_times,
    enctype: i32,
    flags: u32,
}
castable!(ktix_credentials => Vec<Listed>, tag 0x6b74_0005);

/// A ticket's times, in seconds since the Unix epoch (UTC).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ktix_times {
    /// When the client authenticated to the KDC.
    pub auth_time: i64,
    /// When the ticket became valid.
    pub start_time: i64,
    /// When the ticket expires.
    pub end_time: i64,
    /// Until when the ticket can be renewed; 0 when it is not renewable.
    pub renew_till: i64,
}

impl Empty for ktix_times {
    fn empty() -> Self {
        ktix_times::default()
    }
}

/// One credential, as `ktix_credentials_get()` describes it. No key bytes.
#[repr(C)]
#[derive(Debug)]
pub struct ktix_credential_info {
    /// The client principal, e.g. `"alice@KTIX.TEST"`: owned by the listing, valid until
    /// `ktix_credentials_free()`.
    pub client: *const c_char,
    /// The service principal, e.g. `"krbtgt/KTIX.TEST@KTIX.TEST"`: owned by the listing.
    pub server: *const c_char,
    /// The ticket's times.
    pub times: ktix_times,
    /// The session key's enctype (RFC 3961 number).
    pub enctype: i32,
    /// The ticket flags as MIT's `krb5_flags` (bit 0 of RFC 4120 is 0x80000000; FORWARDABLE is
    /// 0x40000000, RENEWABLE 0x00800000, INITIAL 0x00400000, PRE-AUTHENT 0x00200000).
    pub flags: u32,
}

impl Empty for ktix_credential_info {
    fn empty() -> Self {
        ktix_credential_info {
            client: std::ptr::null(),
            server: std::ptr::null(),
            times: ktix_times::default(),
            enctype: 0,
            flags: 0,
        }
    }
}

fn listed(c: &Credential) -> Listed {
    Listed {
        client: CString::new(c.client.to_string()).unwrap_or_default(),
        server: CString::new(c.server.to_string()).unwrap_or_default(),
        times: ktix_times {
            auth_time: c.auth_time.unix(),
            start_time: c.start().unix(),
            end_time: c.end_time.unix(),
            renew_till: c.renew_till.map_or(0, |t| t.unix()),
        },
        enctype: c.key.enctype().id(),
        flags: c.flags.0,
    }
}

/// Creates a new, empty in-memory cache (named `MEMORY:…`); it lives until its last handle and
/// the last client using it are freed.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_ccache_free()`. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`out` NULL).
#[no_mangle]
pub extern "C" fn ktix_ccache_new_memory(out: *mut *mut ktix_ccache) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            out.set(into_raw::<ktix_ccache>(CCacheValue::new(CCache::memory())));
            Ok(())
        }
    )
}

/// A file cache (MIT's FILE format, as `kinit` writes it) at `path`, a plain file path (see
/// `ktix_ccache_resolve()` for names such as `FILE:/tmp/krb5cc_1000`). The file need not exist
/// yet: a missing file reads as an empty cache, and it is created (mode 0600) when a client logs
/// in. Every read looks at the file afresh, so other processes' changes (MIT `kinit`, `ktix
/// kinit`) are seen; changes are locked and written atomically.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_ccache_free()` (the file stays). `path` is borrowed for the call. On failure `*out` is
/// NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (empty or non-UTF-8 path).
#[no_mangle]
pub extern "C" fn ktix_ccache_new_file(path: *const c_char, out: *mut *mut ktix_ccache) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let path = try_str(path, "path")?;
            if path.is_empty() {
                return Err(Error::invalid("the cache path is empty"));
            }
            out.set(into_raw::<ktix_ccache>(CCacheValue::new(CCache::file(path))));
            Ok(())
        }
    )
}

/// The default cache, as MIT's tools choose it: `$KRB5CCNAME` when set and not empty, else
/// `FILE:/tmp/krb5cc_<uid>`.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_ccache_free()`. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (`$KRB5CCNAME` names a type
/// other than `FILE:` or `MEMORY:`, e.g. `KEYRING:`).
#[no_mangle]
pub extern "C" fn ktix_ccache_new_default(out: *mut *mut ktix_ccache) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            out.set(into_raw::<ktix_ccache>(CCacheValue::new(CCache::default()?)));
            Ok(())
        }
    )
}

/// The cache named `name`: `FILE:path`, a plain path, or `MEMORY:name` (within one process, every
/// `MEMORY:` cache of one name is the same cache, as with MIT).
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_ccache_free()`. `name` is borrowed for the call. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (an empty name, an unsupported
/// type such as `KEYRING:`).
#[no_mangle]
pub extern "C" fn ktix_ccache_resolve(name: *const c_char, out: *mut *mut ktix_ccache) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let cache = CCache::resolve(try_str(name, "name")?)?;
            out.set(into_raw::<ktix_ccache>(CCacheValue::new(cache)));
            Ok(())
        }
    )
}

/// The cache's name, e.g. `"MEMORY:1f2e…"` or `"FILE:/tmp/krb5cc_1000"`.
///
/// Returns a NUL-terminated string owned by the handle, valid until `ktix_ccache_free()`; do not
/// free it. NULL when `ccache` is NULL or not a cache handle (the reason is the thread's last
/// error).
#[no_mangle]
pub extern "C" fn ktix_ccache_name(ccache: *const ktix_ccache) -> *const c_char {
    ffi_boundary!({ value_ref(ccache).map_or(std::ptr::null(), |c| c.name.as_ptr()) })
}

/// Lists the cache's usable credentials (a snapshot: later changes to the cache do not show in
/// it), in the order they were stored; the first is normally the TGT. Configuration entries, and
/// tickets of enctypes libktix does not implement, are not listed.
///
/// Ownership: on success `*out` is a new listing owned by the caller; free it with
/// `ktix_credentials_free()`. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_IO` / `KTIX_ERR_BAD_FILE` (a file cache that cannot
/// be read).
#[no_mangle]
pub extern "C" fn ktix_ccache_credentials(ccache: *const ktix_ccache, out: *mut *mut ktix_credentials) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let cc = try_ref(ccache)?;
            let list: Vec<Listed> = cc.ccache.credentials()?.iter().map(listed).collect();
            out.set(into_raw::<ktix_credentials>(list));
            Ok(())
        }
    )
}

/// Destroys the cache's contents: every credential is dropped and its session key wiped, and
/// the cache forgets its principal (as `kdestroy`); a file cache's file is overwritten and
/// removed. The handle stays valid (an empty cache).
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_NOT_FOUND` (a file cache whose file does not
/// exist), `KTIX_ERR_IO` (a file cache that cannot be removed).
#[no_mangle]
pub extern "C" fn ktix_ccache_destroy(ccache: *const ktix_ccache) -> ktix_result {
    ffi_boundary!(
        try {
            try_ref(ccache)?.ccache.destroy()?;
            Ok(())
        }
    )
}

/// Frees a cache handle (not the cache's contents: clients using the cache keep it, and a file
/// cache stays on disk; see `ktix_ccache_destroy()`). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_ccache_free(ccache: *mut ktix_ccache) {
    ffi_boundary!({ free(ccache) })
}

/// How many credentials a listing holds; 0 when `list` is NULL or not a listing (the reason is
/// the thread's last error).
#[no_mangle]
pub extern "C" fn ktix_credentials_len(list: *const ktix_credentials) -> usize {
    ffi_boundary!({ value_ref(list).map_or(0, Vec::len) })
}

/// Describes credential `index` (0 ≤ `index` < `ktix_credentials_len()`) in `*out`.
///
/// Ownership: `out` is the caller's struct; the strings it receives are owned by the listing and
/// valid until `ktix_credentials_free()`. On failure `*out` is zeroed.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (`index` out of range).
#[no_mangle]
pub extern "C" fn ktix_credentials_get(
    list: *const ktix_credentials,
    index: usize,
    out: *mut ktix_credential_info,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let list = try_ref(list)?;
            let c = list.get(index).ok_or_else(|| {
                Error::invalid(format!("credential {index} out of range (the listing has {})", list.len()))
            })?;
            out.set(ktix_credential_info {
                client: c.client.as_ptr(),
                server: c.server.as_ptr(),
                times: c.times,
                enctype: c.enctype,
                flags: c.flags,
            });
            Ok(())
        }
    )
}

/// Frees a listing. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_credentials_free(list: *mut ktix_credentials) {
    ffi_boundary!({ free(list) })
}
