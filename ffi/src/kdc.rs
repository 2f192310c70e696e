//! `ktix_kdc` (a realm: in memory or on a database file) and `ktix_kdc_server` (its UDP and TCP
//! listener).

use std::ffi::{c_char, CString};
use std::path::PathBuf;
use std::ptr::null;
use std::sync::{Arc, Mutex};

use ktix::kdc::{open_realm, silent_logger, stderr_logger, RealmSpec};
use ktix::{Error, Kdc, KdcServer, Result, ServerConfig, Time};

use crate::bytes::ktix_bytes;
use crate::handle::{
    castable, free, into_raw, try_address_list, try_bytes, try_opt_str, try_ref, try_str, value_ref, Out,
};
use crate::keytab::{ktix_keytab, KeytabValue};
use crate::panic::ffi_boundary;
use crate::result::ktix_result;

/// A Kerberos realm's KDC: its principal database and the AS and TGS exchanges. Thread-safe: any
/// number of threads may use one `ktix_kdc` at once. Made by `ktix_kdc_new()` (in memory) or
/// `ktix_kdc_open()` (a database file), freed with `ktix_kdc_free()`.
pub struct ktix_kdc {
    _private: [u8; 0],
}
castable!(ktix_kdc => Arc<Kdc>, tag 0x6b74_0001);

/// A running KDC network server (UDP and TCP). Made by `ktix_kdc_server_new()`, stopped by
/// `ktix_kdc_server_stop()` or `ktix_kdc_server_free()`. Thread-safe.
pub struct ktix_kdc_server {
    _private: [u8; 0],
}

/// The server and its address as a C string.
pub(crate) struct ServerValue {
    server: Mutex<KdcServer>,
    address: CString,
}
castable!(ktix_kdc_server => ServerValue, tag 0x6b74_0002);

/// `ktix_kdc_server_new()` flag: write one line per answered request to standard error (the
/// default is silence).
pub const KTIX_SERVER_LOG_STDERR: u32 = 1;

/// Creates an in-memory realm named `realm` (e.g. `"KTIX.TEST"`) with a fresh `krbtgt/REALM`
/// principal (random keys) and default policy (tickets up to 8 hours, renewable up to 7 days,
/// enctypes 18, 17: MIT 1.20's default aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96).
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_kdc_free()`. `realm` is borrowed for the call. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`realm` or `out` NULL), `KTIX_ERR_INVALID_ARGUMENT` (empty
/// or non-UTF-8 realm), `KTIX_ERR_CRYPTO`.
#[no_mangle]
pub extern "C" fn ktix_kdc_new(realm: *const c_char, out: *mut *mut ktix_kdc) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let kdc = open_realm(&RealmSpec::memory(try_str(realm, "realm")?))?;
            out.set(into_raw::<ktix_kdc>(Arc::new(kdc)));
            Ok(())
        }
    )
}

/// Opens the realm database at `db_path` (an SQLite file kept by libktix, as `ktix db` makes; a
/// PostgreSQL database needs its stash: see `ktix_kdc_open_with_stash()`), or
/// creates it when no file exists there. The master key is read from, or on creation written to,
/// the stash file beside it (`db_path` with `.stash` appended, mode 0600). A new database gets
/// `krbtgt/REALM` with random keys. Principals added later are stored in the file at once, with
/// keys of the database's enctypes (those `ktix db init --enctypes` chose; aes256- and aes128-cts-hmac-sha1-96 by default).
///
/// `realm` names the realm to create; for an existing database it may be NULL, and when given it
/// must match the database's realm.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_kdc_free()` (the file stays). Arguments are borrowed for the call. On failure `*out` is
/// NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`db_path` or `out` NULL, or `realm` NULL when creating),
/// `KTIX_ERR_INVALID_ARGUMENT` (empty realm, or a realm other than the database's),
/// `KTIX_ERR_IO` (unreadable file, missing stash), `KTIX_ERR_BAD_FILE` (not a ktix realm
/// database), `KTIX_ERR_EXISTS` (no database but a stash is already there),
/// `KRB_AP_ERR_BAD_INTEGRITY` (the stash holds another master key).
#[no_mangle]
pub extern "C" fn ktix_kdc_open(db_path: *const c_char, realm: *const c_char, out: *mut *mut ktix_kdc) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            open_into(out, db_path, null(), realm)
        }
    )
}

/// Like `ktix_kdc_open()`, with the master key in the stash file `stash_path` (NULL: beside an
/// SQLite file). `db_path` may also be a PostgreSQL database,
/// `postgresql://USER@HOST:PORT/DBNAME` (the password from the URI, `PGPASSWORD` or `~/.pgpass`),
/// which requires `stash_path`; its tables are created by `ktix db init` (or here, with a new
/// master key written to `stash_path`, when `realm` is given and no stash file exists yet).
///
/// Ownership and errors as `ktix_kdc_open()`; besides, `KTIX_ERR_INVALID_ARGUMENT` for a
/// PostgreSQL database without a stash, `KTIX_ERR_IO` for an unreachable server.
#[no_mangle]
pub extern "C" fn ktix_kdc_open_with_stash(
    db_path: *const c_char,
    stash_path: *const c_char,
    realm: *const c_char,
    out: *mut *mut ktix_kdc,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            open_into(out, db_path, stash_path, realm)
        }
    )
}

fn open_into(
    out: Out<*mut ktix_kdc>,
    db_path: *const c_char,
    stash_path: *const c_char,
    realm: *const c_char,
) -> Result<()> {
    let spec = RealmSpec {
        realm: try_opt_str(realm, "realm")?.map(String::from),
        ..RealmSpec::database(try_str(db_path, "db_path")?)
            .with_stash(try_opt_str(stash_path, "stash_path")?.map(PathBuf::from))
            .creating(true)
    };
    let kdc = open_realm(&spec)?;
    out.set(into_raw::<ktix_kdc>(Arc::new(kdc)));
    Ok(())
}

/// Adds the principal `name` (e.g. `"alice"` or `"host/server.example.com"`; the realm is the
/// KDC's when not given) with keys of every realm enctype: derived from `password`, or random
/// when `password` is NULL (for services). Pre-authentication is required.
///
/// Ownership: everything is borrowed for the call. Thread-safe.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`kdc` or `name` NULL), `KTIX_ERR_INVALID_ARGUMENT` (a bad
/// name, another realm, non-UTF-8 text), `KTIX_ERR_EXISTS` (already there), `KTIX_ERR_IO` (the
/// database file could not be written).
#[no_mangle]
pub extern "C" fn ktix_kdc_add_principal(
    kdc: *const ktix_kdc,
    name: *const c_char,
    password: *const c_char,
) -> ktix_result {
    ffi_boundary!(
        try {
            let kdc = try_ref(kdc)?;
            let name = try_str(name, "name")?;
            kdc.add_principal(name, try_opt_str(password, "password")?)?;
            Ok(())
        }
    )
}

/// Exports the current keys of principal `name` (every enctype) as an in-memory keytab, for the
/// service to accept tickets with (`ktix_acceptor_new()`) or to write to a file
/// (`ktix_keytab_save()`).
///
/// Ownership: on success `*out` is a new keytab owned by the caller; free it with
/// `ktix_keytab_free()`. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (a bad name),
/// `KTIX_ERR_NOT_FOUND` (no such principal).
#[no_mangle]
pub extern "C" fn ktix_kdc_keytab(
    kdc: *const ktix_kdc,
    name: *const c_char,
    out: *mut *mut ktix_keytab,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let kdc = try_ref(kdc)?;
            let keytab = kdc.keytab(try_str(name, "name")?, Time::now())?;
            out.set(into_raw::<ktix_keytab>(KeytabValue::new(keytab)));
            Ok(())
        }
    )
}

/// Answers one KDC request (the bytes of an AS-REQ or TGS-REQ, without the TCP length prefix)
/// at the current time: `*reply` receives an AS-REP, a TGS-REP or a KRB-ERROR; this is how to put
/// the KDC behind a transport of your own. Input that is not shaped like a KDC request (first
/// byte other than 0x6a/0x6c) gets no reply: `*reply` is empty (`len` 0) and nothing must be
/// sent, so the KDC is never a reflector. A request-shaped but malformed message gets a
/// KRB-ERROR. Thread-safe.
///
/// Ownership: `request` is borrowed for the call; on success `*reply` holds bytes owned by the
/// caller, freed with `ktix_bytes_free()`. On failure `*reply` is `{ NULL, 0 }`.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`kdc` or `reply` NULL, or `request` NULL with a non-zero
/// length), `KTIX_ERR_INVALID_ARGUMENT` (`request_len` above `KTIX_MAX_MESSAGE_LEN`).
#[no_mangle]
pub extern "C" fn ktix_kdc_handle(
    kdc: *const ktix_kdc,
    request: *const u8,
    request_len: usize,
    reply: *mut ktix_bytes,
) -> ktix_result {
    ffi_boundary!(
        try {
            let reply = Out::new(reply, "reply")?;
            let kdc = try_ref(kdc)?;
            let request = try_bytes(request, request_len, "request")?;
            reply.set(ktix_bytes::from_vec(kdc.handle(request, Time::now())));
            Ok(())
        }
    )
}

/// Frees a KDC handle. A server started on it keeps its own reference and goes on serving until
/// stopped. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_kdc_free(kdc: *mut ktix_kdc) {
    ffi_boundary!({ free(kdc) })
}

/// Starts serving `kdc` over UDP and TCP (RFC 4120 §7.2) on `listen`: one address or several
/// separated by commas, e.g. `"127.0.0.1:0"` (port 0: the system picks a free port, see
/// `ktix_kdc_server_address()`) or `"0.0.0.0:88,[::1]:88"`. `flags` is 0 or
/// `KTIX_SERVER_LOG_STDERR`. The server runs on its own threads until stopped.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_kdc_server_free()` (which stops the server). The server holds its own reference to the
/// KDC, so `kdc` may be freed first. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (no address, a bad address,
/// unknown flags), `KTIX_ERR_IO` (an address cannot be bound, e.g. in use).
#[no_mangle]
pub extern "C" fn ktix_kdc_server_new(
    kdc: *const ktix_kdc,
    listen: *const c_char,
    flags: u32,
    out: *mut *mut ktix_kdc_server,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let kdc = try_ref(kdc)?.clone();
            let addrs = try_address_list(listen, "listen")?;
            if flags & !KTIX_SERVER_LOG_STDERR != 0 {
                return Err(Error::invalid(format!("unknown server flags {flags:#x}")));
            }
            let logger = if flags & KTIX_SERVER_LOG_STDERR != 0 { stderr_logger() } else { silent_logger() };
            let server = KdcServer::start(kdc, &addrs, ServerConfig { logger, ..ServerConfig::default() })?;
            let address = CString::new(server.address()).map_err(|_| Error::invalid("address contains NUL"))?;
            out.set(into_raw::<ktix_kdc_server>(ServerValue { server: Mutex::new(server), address }));
            Ok(())
        }
    )
}

/// The address the server listens on (its first one), as `host:port` (`[v6]:port` for IPv6) with
/// the port the system chose: what `ktix_client_new()` takes as the KDC.
///
/// Returns a NUL-terminated string owned by the server handle, valid until
/// `ktix_kdc_server_free()`; do not free it. NULL when `server` is NULL or not a server handle
/// (the reason is the thread's last error).
#[no_mangle]
pub extern "C" fn ktix_kdc_server_address(server: *const ktix_kdc_server) -> *const c_char {
    ffi_boundary!({ value_ref(server).map_or(std::ptr::null(), |s| s.address.as_ptr()) })
}

/// Stops the server: requests already received are answered, then every thread is joined and
/// every socket closed. Idempotent; the handle stays valid (its address too) until freed.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`server` NULL).
#[no_mangle]
pub extern "C" fn ktix_kdc_server_stop(server: *mut ktix_kdc_server) -> ktix_result {
    ffi_boundary!(
        try {
            let s = try_ref(server)?;
            s.server.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).stop();
            Ok(())
        }
    )
}

/// Stops the server (as `ktix_kdc_server_stop()`) and frees the handle. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_kdc_server_free(server: *mut ktix_kdc_server) {
    ffi_boundary!({ free(server) })
}
