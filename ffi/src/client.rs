//! `ktix_client` (a principal's side: login, AP-REQs, logout) and `ktix_ap_context` (the check of
//! the server's AP-REP).

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use ktix::{ApContext, Client, ClientConfig, InProcess, SystemClock};

use crate::bytes::{ktix_bytes, ktix_secret};
use crate::ccache::ktix_ccache;
use crate::handle::{castable, free, into_raw, try_address_list, try_bytes, try_ref, try_str, value_ref, Out};
use crate::kdc::ktix_kdc;
use crate::keytab::ktix_keytab;
use crate::panic::ffi_boundary;
use crate::result::ktix_result;

/// A client: logs a principal in, gets and reuses service tickets, builds AP-REQs, logs out.
/// Thread-safe: many threads may share one client (a service ticket is fetched once for all).
/// Made by `ktix_client_new()`, `ktix_client_new_default()` or `ktix_client_new_in_process()`, freed
/// with `ktix_client_free()`.
pub struct ktix_client {
    _private: [u8; 0],
}
castable!(ktix_client => Client, tag 0x6b74_0006);

/// What a client remembers of one AP-REQ, to check the server's AP-REP (mutual
/// authentication). Thread-safe. Made by `ktix_client_ap_req()`, freed with
/// `ktix_ap_context_free()` (which wipes its keys).
pub struct ktix_ap_context {
    _private: [u8; 0],
}
castable!(ktix_ap_context => Mutex<ApContext>, tag 0x6b74_0007);

/// Creates a client for `realm` that reaches its KDCs at `kdcs` (one address or several separated
/// by commas, each `host`, `host:port` or `[v6]:port`, default port 88, tried in order over UDP
/// and TCP) and keeps its tickets in `ccache`.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_client_free()`. The client holds its own reference to the cache, so `ccache` may be
/// freed first. Strings are borrowed for the call. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (empty realm, no KDC address,
/// non-UTF-8 text).
#[no_mangle]
pub extern "C" fn ktix_client_new(
    realm: *const c_char,
    kdcs: *const c_char,
    ccache: *const ktix_ccache,
    out: *mut *mut ktix_client,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let realm = try_str(realm, "realm")?;
            let kdcs: Vec<String> = try_address_list(kdcs, "kdcs")?.into_iter().map(String::from).collect();
            let ccache = try_ref(ccache)?.ccache.clone();
            out.set(into_raw::<ktix_client>(Client::for_realm(realm, kdcs, ccache)?));
            Ok(())
        }
    )
}

/// Creates a client as krb5.conf describes it, as MIT's tools do without options: the file list
/// of `$KRB5_CONFIG` (MIT's default `/etc/krb5.conf` when unset), read now; the client is of its
/// `[libdefaults] default_realm`, reaches that realm's `kdc =` entries of `[realms]`, takes its
/// settings (ticket and renewable lifetimes, forwardable, enctypes, clock skew,
/// `udp_preference_limit`) and keeps its tickets in `ccache`.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_client_free()`. The client holds its own reference to the cache, so `ccache` may be
/// freed first. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`ccache` or `out` NULL), `KTIX_ERR_CONFIG` (an unreadable
/// or malformed configuration, no default realm, no KDC for it), `KTIX_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_client_new_default(ccache: *const ktix_ccache, out: *mut *mut ktix_client) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let ccache = try_ref(ccache)?.ccache.clone();
            out.set(into_raw::<ktix_client>(Client::from_config(ccache)?));
            Ok(())
        }
    )
}

/// Creates a client of the realm `kdc` that talks to it directly, in this process, with no
/// network (for tests, benchmarks and programs that embed their realm), keeping its tickets in
/// `ccache`.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_client_free()`. The client holds its own references to the KDC and the cache, so both
/// handles may be freed first. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_client_new_in_process(
    kdc: *const ktix_kdc,
    ccache: *const ktix_ccache,
    out: *mut *mut ktix_client,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let kdc = try_ref(kdc)?.clone();
            let ccache = try_ref(ccache)?.ccache.clone();
            let config = ClientConfig::new(kdc.realm());
            let client = Client::new(config, Arc::new(InProcess::new(kdc, Arc::new(SystemClock))), ccache);
            out.set(into_raw::<ktix_client>(client));
            Ok(())
        }
    )
}

/// Logs `user` (e.g. `"alice"`, in the client's realm unless `user` names one) in with
/// `password`: the AS exchange with pre-authentication. The cache is emptied, given to `user`,
/// and receives the TGT. The password is not kept.
///
/// Ownership: everything is borrowed for the call. Thread-safe (logins on one client replace each
/// other's cache contents).
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT`, `KDC_ERR_C_PRINCIPAL_UNKNOWN`,
/// `KDC_ERR_PREAUTH_FAILED` (wrong password), `KRB_AP_ERR_SKEW`, `KTIX_ERR_NETWORK` (no KDC
/// answered), `KTIX_ERR_REPLY_MISMATCH`, other KRB-ERROR codes the KDC sends.
#[no_mangle]
pub extern "C" fn ktix_client_login(
    client: *const ktix_client,
    user: *const c_char,
    password: *const c_char,
) -> ktix_result {
    ffi_boundary!(
        try {
            let client = try_ref(client)?;
            client.login(try_str(user, "user")?, try_str(password, "password")?)?;
            Ok(())
        }
    )
}

/// Logs `user` in with its key from `keytab` (as `kinit -k`), otherwise as `ktix_client_login()`.
///
/// Ownership: everything is borrowed for the call.
///
/// Errors: as `ktix_client_login()`, and `KDC_ERR_ETYPE_NOSUPP` / `KTIX_ERR_NOT_FOUND` when the
/// keytab has no usable key for `user`.
#[no_mangle]
pub extern "C" fn ktix_client_login_keytab(
    client: *const ktix_client,
    user: *const c_char,
    keytab: *const ktix_keytab,
) -> ktix_result {
    ffi_boundary!(
        try {
            let client = try_ref(client)?;
            let user = try_str(user, "user")?;
            client.login_with_keytab(user, &try_ref(keytab)?.keytab)?;
            Ok(())
        }
    )
}

/// Builds an AP-REQ for `service` (e.g. `"host/server.ktix.test"`), getting the service ticket
/// from the cache or, the first time, from the KDC with the TGT. The TGT is the cache's: from
/// `ktix_client_login()`, or already there (a file cache written by `kinit`, so no password is
/// needed here). With `mutual`, the AP-REQ asks
/// the server to answer with an AP-REP, to be checked with `ktix_ap_context_verify()`.
///
/// Ownership: on success `*ap_req` holds bytes owned by the caller (send them to the service,
/// then `ktix_bytes_free()`), and, when `ctx` is not NULL, `*ctx` a new context owned by the
/// caller (free it with `ktix_ap_context_free()`). Pass `ctx` NULL when you will not check an
/// AP-REP. On failure `*ap_req` is `{ NULL, 0 }` and `*ctx` NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`client`, `service` or `ap_req` NULL),
/// `KTIX_ERR_NOT_LOGGED_IN` (no TGT: log in first), `KDC_ERR_S_PRINCIPAL_UNKNOWN`,
/// `KTIX_ERR_NETWORK`, other KRB-ERROR codes the KDC sends.
#[no_mangle]
pub extern "C" fn ktix_client_ap_req(
    client: *const ktix_client,
    service: *const c_char,
    mutual: bool,
    ap_req: *mut ktix_bytes,
    ctx: *mut *mut ktix_ap_context,
) -> ktix_result {
    ffi_boundary!(
        try {
            let ap_req_out = Out::new(ap_req, "ap_req")?;
            let ctx_out = Out::optional(ctx);
            let client = try_ref(client)?;
            let (request, context) = client.ap_req(try_str(service, "service")?, mutual)?;
            ap_req_out.set(ktix_bytes::from_vec(request));
            if let Some(out) = ctx_out {
                out.set(into_raw::<ktix_ap_context>(Mutex::new(context)));
            }
            Ok(())
        }
    )
}

/// Logs out: flushes the cache, dropping every ticket and wiping its session key (a file cache's
/// file is overwritten and removed). The client stays usable (log in again).
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_NOT_FOUND` (a file cache whose file is already
/// gone), `KTIX_ERR_IO` (a file cache that cannot be removed).
#[no_mangle]
pub extern "C" fn ktix_client_logout(client: *const ktix_client) -> ktix_result {
    ffi_boundary!(
        try {
            try_ref(client)?.logout()?;
            Ok(())
        }
    )
}

/// Frees a client (the cache's contents stay: see `ktix_client_logout()`). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_client_free(client: *mut ktix_client) {
    ffi_boundary!({ free(client) })
}

/// Checks the server's AP-REP (mutual authentication): it must open with the ticket's session key
/// and echo the AP-REQ's time exactly. A KRB-ERROR the server sent instead is returned as the
/// error it carries.
///
/// Ownership: `ap_rep` is borrowed for the call.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_INVALID_ARGUMENT` (length above
/// `KTIX_MAX_MESSAGE_LEN`), `KTIX_ERR_MALFORMED` (not an AP-REP), `KRB_AP_ERR_MUT_FAIL` (not from
/// the server holding the session key, or not for this AP-REQ), the server's KRB-ERROR code.
#[no_mangle]
pub extern "C" fn ktix_ap_context_verify(
    ctx: *mut ktix_ap_context,
    ap_rep: *const u8,
    ap_rep_len: usize,
) -> ktix_result {
    ffi_boundary!(
        try {
            let ctx = try_ref(ctx)?;
            let rep = try_bytes(ap_rep, ap_rep_len, "ap_rep")?;
            ctx.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).verify(rep)
        }
    )
}

/// Whether `ktix_ap_context_verify()` has succeeded on this context; false for NULL (the
/// reason is the thread's last error).
#[no_mangle]
pub extern "C" fn ktix_ap_context_is_verified(ctx: *const ktix_ap_context) -> bool {
    ffi_boundary!({
        value_ref(ctx).is_some_and(|c| c.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_verified())
    })
}

/// Copies the ticket's session key (the key the service also gets, see
/// `ktix_accepted_session_key()`) into `*out`.
///
/// Ownership: on success `*out` holds a secret owned by the caller; free it with
/// `ktix_secret_free()`, which wipes it. On failure `*out` is empty.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_ap_context_session_key(ctx: *const ktix_ap_context, out: *mut ktix_secret) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let ctx = try_ref(ctx)?;
            out.set(ktix_secret::from_key(ctx.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).session_key()));
            Ok(())
        }
    )
}

/// Frees a context; its keys are wiped. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_ap_context_free(ctx: *mut ktix_ap_context) {
    ffi_boundary!({ free(ctx) })
}
