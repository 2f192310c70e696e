//! `ktix_acceptor` (a service's side: verifies AP-REQs) and `ktix_accepted` (what it learned).

use std::ffi::{c_char, CString};
use std::sync::Arc;

use ktix::{Accepted, Acceptor, AcceptorConfig, SystemClock};

use crate::bytes::ktix_secret;
use crate::ccache::ktix_times;
use crate::handle::{castable, free, into_raw, try_bytes, try_ref, value_ref, Out};
use crate::keytab::ktix_keytab;
use crate::panic::ffi_boundary;
use crate::result::ktix_result;

/// A service's acceptor: verifies AP-REQs with its keytab (ticket, authenticator, clock skew,
/// ticket times, replays) and builds AP-REPs. Thread-safe: one acceptor may serve any number of
/// threads at once (its replay cache is shared). Made by `ktix_acceptor_new()`, freed with
/// `ktix_acceptor_free()`.
pub struct ktix_acceptor {
    _private: [u8; 0],
}
castable!(ktix_acceptor => Acceptor, tag 0x6b74_0008);

/// An accepted AP-REQ: who the client is, the ticket's times, the AP-REP to send back, the session
/// key. Read-only, so thread-safe. Made by `ktix_acceptor_accept()`, freed with
/// `ktix_accepted_free()` (which wipes the keys).
pub struct ktix_accepted {
    _private: [u8; 0],
}

/// The accepted request and its names as C strings.
pub(crate) struct AcceptedValue {
    accepted: Accepted,
    client: CString,
    server: CString,
}
castable!(ktix_accepted => AcceptedValue, tag 0x6b74_0009);

/// Creates an acceptor that accepts tickets for any principal in `keytab`, with the system clock
/// and 300 s of allowed clock skew. Its replay cache is the one every acceptor of the same
/// service in the process shares (so a new acceptor per request still catches replays), chosen as
/// MIT chooses: `KRB5RCACHENAME` (`dfl:`, `file2:/path`, `none:`, `memory:`) or `KRB5RCACHETYPE`,
/// else in memory (1 GiB ceiling; `KTIX_ERR_REPLAY_CACHE_FULL` beyond it). A keytab loaded from a
/// file (`ktix_keytab_load`) is re-read when the file changes.
///
/// Ownership: on success `*out` is a new handle owned by the caller; free it with
/// `ktix_acceptor_free()`. The acceptor keeps its own copy of the keys, so `keytab` may be freed
/// first. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`, `KTIX_ERR_CONFIG` (a bad replay cache name in the
/// environment), `KTIX_ERR_IO` / `KTIX_ERR_BAD_FILE` (the replay cache file cannot be used).
#[no_mangle]
pub extern "C" fn ktix_acceptor_new(keytab: *const ktix_keytab, out: *mut *mut ktix_acceptor) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let keytab = try_ref(keytab)?.keytab.clone();
            let acceptor = Acceptor::try_with_config(keytab, AcceptorConfig::default(), Arc::new(SystemClock))?;
            out.set(into_raw::<ktix_acceptor>(acceptor));
            Ok(())
        }
    )
}

/// Verifies the AP-REQ `ap_req` (`ap_req_len` bytes, as the client sent it) at the current time.
/// Thread-safe.
///
/// Ownership: `ap_req` is borrowed for the call. On success `*out` is a new handle owned by the
/// caller; free it with `ktix_accepted_free()`. On failure `*out` is NULL.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT` (`acceptor` or `out` NULL, or `ap_req` NULL with a non-zero
/// length), `KTIX_ERR_INVALID_ARGUMENT` (`ap_req_len` above `KTIX_MAX_MESSAGE_LEN`),
/// `KTIX_ERR_MALFORMED` (not an AP-REQ), `KRB_AP_ERR_MSG_TYPE`, `KRB_AP_ERR_NOT_US`,
/// `KRB_AP_ERR_BADKEYVER`, `KRB_AP_ERR_NOKEY`, `KRB_AP_ERR_BAD_INTEGRITY` (wrong key or tampered),
/// `KRB_AP_ERR_BADMATCH`, `KRB_AP_ERR_SKEW`, `KRB_AP_ERR_TKT_NYV`, `KRB_AP_ERR_TKT_EXPIRED`,
/// `KRB_AP_ERR_REPEAT` (a replay), `KRB_AP_ERR_METHOD`, `KRB_AP_ERR_INAPP_CKSUM`,
/// `KTIX_ERR_REPLAY_CACHE_FULL` (the replay cache is at its ceiling).
#[no_mangle]
pub extern "C" fn ktix_acceptor_accept(
    acceptor: *const ktix_acceptor,
    ap_req: *const u8,
    ap_req_len: usize,
    out: *mut *mut ktix_accepted,
) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let acceptor = try_ref(acceptor)?;
            let accepted = acceptor.accept(try_bytes(ap_req, ap_req_len, "ap_req")?)?;
            let client = CString::new(accepted.client.to_string()).unwrap_or_default();
            let server = CString::new(accepted.server.to_string()).unwrap_or_default();
            out.set(into_raw::<ktix_accepted>(AcceptedValue { accepted, client, server }));
            Ok(())
        }
    )
}

/// Frees an acceptor (its shared replay cache stays while other acceptors use it or it holds live
/// entries). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_acceptor_free(acceptor: *mut ktix_acceptor) {
    ffi_boundary!({ free(acceptor) })
}

/// The authenticated client, e.g. `"alice@KTIX.TEST"`.
///
/// Returns a NUL-terminated string owned by `accepted`, valid until `ktix_accepted_free()`; do
/// not free it. NULL when `accepted` is NULL or not an accepted handle (the reason is the
/// thread's last error).
#[no_mangle]
pub extern "C" fn ktix_accepted_client(accepted: *const ktix_accepted) -> *const c_char {
    ffi_boundary!({ value_ref(accepted).map_or(std::ptr::null(), |a| a.client.as_ptr()) })
}

/// The service the ticket was for, e.g. `"host/server.ktix.test@KTIX.TEST"`.
///
/// Returns a NUL-terminated string owned by `accepted`, valid until `ktix_accepted_free()`; do
/// not free it. NULL when `accepted` is NULL or not an accepted handle (the reason is the
/// thread's last error).
#[no_mangle]
pub extern "C" fn ktix_accepted_server(accepted: *const ktix_accepted) -> *const c_char {
    ffi_boundary!({ value_ref(accepted).map_or(std::ptr::null(), |a| a.server.as_ptr()) })
}

/// The ticket's times (authentication, start, end, renew-till) in `*out`.
///
/// Ownership: `out` is the caller's struct. On failure it is zeroed.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_accepted_times(accepted: *const ktix_accepted, out: *mut ktix_times) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            let a = &try_ref(accepted)?.accepted;
            out.set(ktix_times {
                auth_time: a.auth_time.unix(),
                start_time: a.start_time.unix(),
                end_time: a.end_time.unix(),
                renew_till: a.renew_till.map_or(0, |t| t.unix()),
            });
            Ok(())
        }
    )
}

/// The ticket flags as MIT's `krb5_flags` (see `ktix_credential_info.flags`); 0 for NULL (the
/// reason is the thread's last error).
#[no_mangle]
pub extern "C" fn ktix_accepted_flags(accepted: *const ktix_accepted) -> u32 {
    ffi_boundary!({ value_ref(accepted).map_or(0, |a| a.accepted.flags.0) })
}

/// The AP-REP to send back to the client: `*data` and `*len` receive it when the client asked for
/// mutual authentication, NULL and 0 when it did not.
///
/// Ownership: the bytes are owned by `accepted`, valid until `ktix_accepted_free()`; do not free
/// them (copy them to keep them longer). On failure `*data` is NULL and `*len` 0.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_accepted_ap_rep(
    accepted: *const ktix_accepted,
    data: *mut *const u8,
    len: *mut usize,
) -> ktix_result {
    ffi_boundary!(
        try {
            let data_out = Out::new(data.cast::<*mut u8>(), "data")?;
            let len_out = Out::new(len, "len")?;
            let a = &try_ref(accepted)?.accepted;
            if let Some(rep) = &a.ap_rep {
                data_out.set(rep.as_ptr().cast_mut());
                len_out.set(rep.len());
            }
            Ok(())
        }
    )
}

/// Copies the ticket's session key into `*out`: the key the client also holds (see
/// `ktix_ap_context_session_key()`), e.g. to protect the connection's traffic.
///
/// Ownership: on success `*out` holds a secret owned by the caller; free it with
/// `ktix_secret_free()`, which wipes it. On failure `*out` is empty.
///
/// Errors: `KTIX_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn ktix_accepted_session_key(accepted: *const ktix_accepted, out: *mut ktix_secret) -> ktix_result {
    ffi_boundary!(
        try {
            let out = Out::new(out, "out")?;
            out.set(ktix_secret::from_key(&try_ref(accepted)?.accepted.session_key));
            Ok(())
        }
    )
}

/// Frees an accepted request; its keys are wiped. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ktix_accepted_free(accepted: *mut ktix_accepted) {
    ffi_boundary!({ free(accepted) })
}
