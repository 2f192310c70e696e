//! `ktix_result`: the status every fallible C call returns, its names, and the thread's last
//! error message.
//!
//! The numbers are the core [`ktix::ErrorCode`]s: Kerberos codes keep their RFC 4120 numbers
//! (`KRB_AP_ERR_SKEW` = 37), ktix's own codes start at 1000 (`KTIX_ERR_NULL_ARGUMENT`). A core
//! [`Error`] becomes a `ktix_result` in one function, [`record`]; this module invents no code of its
//! own beyond `KTIX_OK` for success and the name `KTIX_ERR_UNKNOWN` for a number that names nothing.
//! The constants below are literal because the header needs literal values; a test checks them
//! against the core's table, name by name.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use ktix::{Error, ErrorCode};

use crate::handle::{caller_buffer, Out};

/// The status of a libktix call: `KTIX_OK` (0) on success, otherwise an error code: a Kerberos
/// error code of RFC 4120 §7.5.9 below 1000 (also codes received from a peer that this header does
/// not name), a ktix code from 1000 on. `ktix_result_name()` gives its symbolic name and
/// `ktix_last_error_message()` says what went wrong.
#[allow(non_camel_case_types)]
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ktix_result(pub i32);

/// Success.
pub const KTIX_OK: ktix_result = ktix_result(0);

/// Client's entry in database has expired.
pub const KDC_ERR_NAME_EXP: ktix_result = ktix_result(1);
/// Server's entry in database has expired.
pub const KDC_ERR_SERVICE_EXP: ktix_result = ktix_result(2);
/// Requested protocol version number not supported.
pub const KDC_ERR_BAD_PVNO: ktix_result = ktix_result(3);
/// Client's key encrypted in old master key.
pub const KDC_ERR_C_OLD_MAST_KVNO: ktix_result = ktix_result(4);
/// Server's key encrypted in old master key.
pub const KDC_ERR_S_OLD_MAST_KVNO: ktix_result = ktix_result(5);
/// Client not found in Kerberos database.
pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: ktix_result = ktix_result(6);
/// Server not found in Kerberos database.
pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: ktix_result = ktix_result(7);
/// Multiple principal entries in database.
pub const KDC_ERR_PRINCIPAL_NOT_UNIQUE: ktix_result = ktix_result(8);
/// The client or server has a null key.
pub const KDC_ERR_NULL_KEY: ktix_result = ktix_result(9);
/// Ticket not eligible for postdating.
pub const KDC_ERR_CANNOT_POSTDATE: ktix_result = ktix_result(10);
/// Requested starttime is later than end time.
pub const KDC_ERR_NEVER_VALID: ktix_result = ktix_result(11);
/// KDC policy rejects request.
pub const KDC_ERR_POLICY: ktix_result = ktix_result(12);
/// KDC cannot accommodate requested option.
pub const KDC_ERR_BADOPTION: ktix_result = ktix_result(13);
/// KDC has no support for encryption type.
pub const KDC_ERR_ETYPE_NOSUPP: ktix_result = ktix_result(14);
/// KDC has no support for checksum type.
pub const KDC_ERR_SUMTYPE_NOSUPP: ktix_result = ktix_result(15);
/// KDC has no support for padata type.
pub const KDC_ERR_PADATA_TYPE_NOSUPP: ktix_result = ktix_result(16);
/// KDC has no support for transited type.
pub const KDC_ERR_TRTYPE_NOSUPP: ktix_result = ktix_result(17);
/// Clients credentials have been revoked.
pub const KDC_ERR_CLIENT_REVOKED: ktix_result = ktix_result(18);
/// Credentials for server have been revoked.
pub const KDC_ERR_SERVICE_REVOKED: ktix_result = ktix_result(19);
/// TGT has been revoked.
pub const KDC_ERR_TGT_REVOKED: ktix_result = ktix_result(20);
/// Client not yet valid; try again later.
pub const KDC_ERR_CLIENT_NOTYET: ktix_result = ktix_result(21);
/// Server not yet valid; try again later.
pub const KDC_ERR_SERVICE_NOTYET: ktix_result = ktix_result(22);
/// Password has expired; change password to reset.
pub const KDC_ERR_KEY_EXPIRED: ktix_result = ktix_result(23);
/// Pre-authentication information was invalid.
pub const KDC_ERR_PREAUTH_FAILED: ktix_result = ktix_result(24);
/// Additional pre-authentication required.
pub const KDC_ERR_PREAUTH_REQUIRED: ktix_result = ktix_result(25);
/// Requested server and ticket don't match.
pub const KDC_ERR_SERVER_NOMATCH: ktix_result = ktix_result(26);
/// Server principal valid for user2user only.
pub const KDC_ERR_MUST_USE_USER2USER: ktix_result = ktix_result(27);
/// KDC Policy rejects transited path.
pub const KDC_ERR_PATH_NOT_ACCEPTED: ktix_result = ktix_result(28);
/// A service is not available.
pub const KDC_ERR_SVC_UNAVAILABLE: ktix_result = ktix_result(29);
/// Integrity check on decrypted field failed.
pub const KRB_AP_ERR_BAD_INTEGRITY: ktix_result = ktix_result(31);
/// Ticket expired.
pub const KRB_AP_ERR_TKT_EXPIRED: ktix_result = ktix_result(32);
/// Ticket not yet valid.
pub const KRB_AP_ERR_TKT_NYV: ktix_result = ktix_result(33);
/// Request is a replay.
pub const KRB_AP_ERR_REPEAT: ktix_result = ktix_result(34);
/// The ticket isn't for us.
pub const KRB_AP_ERR_NOT_US: ktix_result = ktix_result(35);
/// Ticket and authenticator don't match.
pub const KRB_AP_ERR_BADMATCH: ktix_result = ktix_result(36);
/// Clock skew too great.
pub const KRB_AP_ERR_SKEW: ktix_result = ktix_result(37);
/// Incorrect net address.
pub const KRB_AP_ERR_BADADDR: ktix_result = ktix_result(38);
/// Protocol version mismatch.
pub const KRB_AP_ERR_BADVERSION: ktix_result = ktix_result(39);
/// Invalid msg type.
pub const KRB_AP_ERR_MSG_TYPE: ktix_result = ktix_result(40);
/// Message stream modified.
pub const KRB_AP_ERR_MODIFIED: ktix_result = ktix_result(41);
/// Message out of order.
pub const KRB_AP_ERR_BADORDER: ktix_result = ktix_result(42);
/// Specified version of key is not available.
pub const KRB_AP_ERR_BADKEYVER: ktix_result = ktix_result(44);
/// Service key not available.
pub const KRB_AP_ERR_NOKEY: ktix_result = ktix_result(45);
/// Mutual authentication failed.
pub const KRB_AP_ERR_MUT_FAIL: ktix_result = ktix_result(46);
/// Incorrect message direction.
pub const KRB_AP_ERR_BADDIRECTION: ktix_result = ktix_result(47);
/// Alternative authentication method required.
pub const KRB_AP_ERR_METHOD: ktix_result = ktix_result(48);
/// Incorrect sequence number in message.
pub const KRB_AP_ERR_BADSEQ: ktix_result = ktix_result(49);
/// Inappropriate type of checksum in message.
pub const KRB_AP_ERR_INAPP_CKSUM: ktix_result = ktix_result(50);
/// Policy rejects transited path.
pub const KRB_AP_PATH_NOT_ACCEPTED: ktix_result = ktix_result(51);
/// Response too big for UDP; retry with TCP.
pub const KRB_ERR_RESPONSE_TOO_BIG: ktix_result = ktix_result(52);
/// Generic error (description in e-text).
pub const KRB_ERR_GENERIC: ktix_result = ktix_result(60);
/// Field is too long for this implementation.
pub const KRB_ERR_FIELD_TOOLONG: ktix_result = ktix_result(61);
/// The client's realm is wrong (referral).
pub const KDC_ERR_WRONG_REALM: ktix_result = ktix_result(68);
/// A required pointer or handle was NULL (C) / None (Python).
pub const KTIX_ERR_NULL_ARGUMENT: ktix_result = ktix_result(1000);
/// An argument was out of range or of the wrong form.
pub const KTIX_ERR_INVALID_ARGUMENT: ktix_result = ktix_result(1001);
/// A panic was caught at the language boundary.
pub const KTIX_ERR_PANIC: ktix_result = ktix_result(1002);
/// Bytes that should be a Kerberos message or structure are not (malformed DER, wrong tag, trailing data).
pub const KTIX_ERR_MALFORMED: ktix_result = ktix_result(1003);
/// An encryption type this library does not implement, or that policy does not permit.
pub const KTIX_ERR_UNSUPPORTED_ENCTYPE: ktix_result = ktix_result(1004);
/// A checksum type this library does not implement.
pub const KTIX_ERR_UNSUPPORTED_CHECKSUM: ktix_result = ktix_result(1005);
/// An operating-system I/O error (file, socket).
pub const KTIX_ERR_IO: ktix_result = ktix_result(1006);
/// A file (keytab, credential cache, database, stash) is truncated, corrupt or of a foreign format.
pub const KTIX_ERR_BAD_FILE: ktix_result = ktix_result(1007);
/// A configuration file or value is invalid.
pub const KTIX_ERR_CONFIG: ktix_result = ktix_result(1008);
/// The requested object (credential, key, principal, entry) does not exist.
pub const KTIX_ERR_NOT_FOUND: ktix_result = ktix_result(1009);
/// The KDC could not be reached, or did not answer in time.
pub const KTIX_ERR_NETWORK: ktix_result = ktix_result(1010);
/// The reply does not match the request (nonce, names, message type).
pub const KTIX_ERR_REPLY_MISMATCH: ktix_result = ktix_result(1011);
/// The client has no ticket-granting ticket; log in first.
pub const KTIX_ERR_NOT_LOGGED_IN: ktix_result = ktix_result(1012);
/// The object already exists.
pub const KTIX_ERR_EXISTS: ktix_result = ktix_result(1013);
/// A cryptographic primitive failed inside OpenSSL.
pub const KTIX_ERR_CRYPTO: ktix_result = ktix_result(1014);
/// The replay cache is at its configured ceiling (memory bytes, entry count or file size) with
/// live entries only: the request is refused rather than accepted unremembered. Raise the
/// ceiling, or wait for entries to leave the clock-skew window.
pub const KTIX_ERR_REPLAY_CACHE_FULL: ktix_result = ktix_result(1015);
/// GSS-API: the channel bindings the initiator sent do not match the acceptor's.
pub const KTIX_ERR_GSS_BAD_BINDINGS: ktix_result = ktix_result(1100);
/// GSS-API: a MIC or Wrap token's checksum does not verify (tampered, or another key).
pub const KTIX_ERR_GSS_BAD_MIC: ktix_result = ktix_result(1101);
/// GSS-API: the token was already received (a replay).
pub const KTIX_ERR_GSS_DUPLICATE_TOKEN: ktix_result = ktix_result(1102);
/// GSS-API: the token is too old to be checked for replay.
pub const KTIX_ERR_GSS_OLD_TOKEN: ktix_result = ktix_result(1103);
/// GSS-API: the token arrived after a later one (out of sequence).
pub const KTIX_ERR_GSS_UNSEQ_TOKEN: ktix_result = ktix_result(1104);
/// GSS-API: a token between the last one received and this one is missing.
pub const KTIX_ERR_GSS_GAP_TOKEN: ktix_result = ktix_result(1105);
/// GSS-API: the token is malformed or not of the kind expected here.
pub const KTIX_ERR_GSS_DEFECTIVE_TOKEN: ktix_result = ktix_result(1106);
/// GSS-API: the security context has expired.
pub const KTIX_ERR_GSS_CONTEXT_EXPIRED: ktix_result = ktix_result(1107);
/// GSS-API: no established security context for this call (not complete, or already deleted).
pub const KTIX_ERR_GSS_NO_CONTEXT: ktix_result = ktix_result(1108);
/// GSS-API: the mechanism asked for or offered is not supported.
pub const KTIX_ERR_GSS_BAD_MECH: ktix_result = ktix_result(1109);
/// GSS-API: the name is malformed or cannot be used here.
pub const KTIX_ERR_GSS_BAD_NAME: ktix_result = ktix_result(1110);
/// GSS-API: the name type is not supported.
pub const KTIX_ERR_GSS_BAD_NAMETYPE: ktix_result = ktix_result(1111);
/// GSS-API: no credentials were found (no ticket cache, no keytab, no key for the name).
pub const KTIX_ERR_GSS_NO_CRED: ktix_result = ktix_result(1112);
/// GSS-API: the credentials have expired.
pub const KTIX_ERR_GSS_CREDENTIALS_EXPIRED: ktix_result = ktix_result(1113);
/// GSS-API: the operation is not available in this implementation.
pub const KTIX_ERR_GSS_UNAVAILABLE: ktix_result = ktix_result(1114);

/// The name of a code this library does not know.
const UNKNOWN: &CStr = c"KTIX_ERR_UNKNOWN";

/// The name of success.
const OK_NAME: &CStr = c"KTIX_OK";

/// Every known code with its name as a C string, built once and never freed.
fn names() -> &'static [(i32, CString)] {
    static NAMES: OnceLock<Vec<(i32, CString)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ErrorCode::ALL.iter().filter_map(|code| Some((code.code(), CString::new(code.known_name()?).ok()?))).collect()
    })
}

/// The symbolic name of a result code, e.g. `"KRB_AP_ERR_SKEW"` for 37 or
/// `"KTIX_ERR_NULL_ARGUMENT"` for 1000; `"KTIX_OK"` for 0 and `"KTIX_ERR_UNKNOWN"` for a code
/// this library does not name.
///
/// Returns a static NUL-terminated string owned by the library: never free it or write to it.
/// Never returns NULL. Safe to call from any thread.
#[no_mangle]
pub extern "C" fn ktix_result_name(code: ktix_result) -> *const c_char {
    crate::panic::ffi_boundary!({
        if code == KTIX_OK {
            return OK_NAME.as_ptr();
        }
        names().iter().find(|(c, _)| *c == code.0).map_or(UNKNOWN.as_ptr(), |(_, name)| name.as_ptr())
    })
}

thread_local! {
    /// The message of the last failed call on this thread; `None` after a successful one.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// The `ktix_result` of a core error, with its message kept as the thread's last error: the one
/// place where an [`Error`] becomes a C result.
pub(crate) fn record(err: &Error) -> ktix_result {
    let code = match err.code().code() {
        // An error must never read as success.
        0 => ErrorCode::KRB_ERR_GENERIC.code(),
        c => c,
    };
    let text = err.to_string().replace('\0', " ");
    let message = CString::new(text).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = Some(message));
    ktix_result(code)
}

/// Forgets the thread's last error (after a successful call).
pub(crate) fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|last| {
        if last.borrow().is_some() {
            *last.borrow_mut() = None;
        }
    });
}

/// The thread's last error message as Rust text (tests).
#[cfg(test)]
pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|last| last.borrow().as_ref().map(|m| m.to_string_lossy().into_owned()).unwrap_or_default())
}

/// What went wrong in the last call on this thread that failed, e.g.
/// `"KRB_AP_ERR_SKEW (37): clock skew too great"`; `""` when the last call returning a
/// `ktix_result` succeeded (or none was made).
///
/// Returns a NUL-terminated string owned by the library, valid on this thread until the next
/// libktix call that returns a `ktix_result` or fails (a NULL or wrong handle given to a call
/// returning a string, count or flag, or to a `_free`): copy it (or use
/// `ktix_last_error_message_copy()`) to keep it. Never free it. Never returns NULL. Each thread has
/// its own message.
#[no_mangle]
pub extern "C" fn ktix_last_error_message() -> *const c_char {
    crate::panic::ffi_boundary!({
        LAST_ERROR.try_with(|last| last.borrow().as_ref().map(|m| m.as_ptr())).ok().flatten().unwrap_or(c"".as_ptr())
    })
}

/// Copies the thread's last error message (as `ktix_last_error_message()`) into the caller's
/// buffer `buf` of `buf_len` bytes, always NUL-terminated when `buf_len > 0`, cut at a UTF-8
/// character boundary when it does not fit. When `out_len` is not NULL, `*out_len` receives the
/// full length of the message in bytes, without the NUL: call with `buf` NULL and `buf_len` 0 to
/// learn the size to allocate.
///
/// The caller owns `buf`; nothing is allocated. This call does not change the last error.
///
/// Returns `KTIX_OK` when the whole message was copied, `KTIX_ERR_INVALID_ARGUMENT` when it was
/// cut short (the buffer is too small, or `buf_len` is 0), `KTIX_ERR_NULL_ARGUMENT` when `buf` is
/// NULL and `buf_len` is not 0.
#[no_mangle]
pub extern "C" fn ktix_last_error_message_copy(buf: *mut c_char, buf_len: usize, out_len: *mut usize) -> ktix_result {
    crate::panic::ffi_boundary!({
        let message: Vec<u8> = LAST_ERROR
            .try_with(|last| last.borrow().as_ref().map(|m| m.as_bytes().to_vec()))
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Some(out) = Out::optional(out_len) {
            out.set(message.len());
        }
        let Ok(buf) = caller_buffer(buf, buf_len, "buf") else {
            return KTIX_ERR_NULL_ARGUMENT;
        };
        let Some(room) = buf.len().checked_sub(1) else {
            return if message.is_empty() { KTIX_OK } else { KTIX_ERR_INVALID_ARGUMENT };
        };
        let mut n = message.len().min(room);
        // Back off to the start of a UTF-8 character.
        while n > 0 && n < message.len() && (message[n] & 0xc0) == 0x80 {
            n -= 1;
        }
        buf[..n].copy_from_slice(&message[..n]);
        buf[n] = 0;
        if n == message.len() {
            KTIX_OK
        } else {
            KTIX_ERR_INVALID_ARGUMENT
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: i32) -> &'static str {
        // SAFETY: ktix_result_name always returns a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(ktix_result_name(ktix_result(code))) };
        s.to_str().unwrap_or("<not utf-8>")
    }

    #[test]
    fn names_come_from_the_core_table() {
        assert_eq!(name(0), "KTIX_OK");
        assert_eq!(name(37), "KRB_AP_ERR_SKEW");
        assert_eq!(name(ErrorCode::KTIX_ERR_NULL_ARGUMENT.code()), "KTIX_ERR_NULL_ARGUMENT");
        assert_eq!(name(ErrorCode::KTIX_ERR_PANIC.code()), "KTIX_ERR_PANIC");
        for code in ErrorCode::ALL.iter().filter(|c| c.code() != KTIX_OK.0) {
            assert_eq!(Some(name(code.code())), code.known_name());
        }
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(name(-1), "KTIX_ERR_UNKNOWN");
        assert_eq!(name(999), "KTIX_ERR_UNKNOWN");
        assert_eq!(name(i32::MAX), "KTIX_ERR_UNKNOWN");
    }

    #[test]
    fn the_same_pointer_every_time() {
        assert_eq!(ktix_result_name(ktix_result(37)), ktix_result_name(ktix_result(37)));
    }

    /// The header's constants, as written in this file.
    fn header_constants() -> Vec<(String, i32)> {
        let src = include_str!("result.rs");
        src.lines()
            .filter_map(|l| l.strip_prefix("pub const "))
            .filter_map(|l| {
                let (name, rest) = l.split_once(": ktix_result = ktix_result(")?;
                let value = rest.strip_suffix(");")?.parse().ok()?;
                Some((name.to_string(), value))
            })
            .collect()
    }

    #[test]
    fn every_core_code_has_its_constant_and_no_other() {
        let mut ours = header_constants();
        ours.retain(|(n, _)| n != "KTIX_OK");
        let core: Vec<(String, i32)> = ErrorCode::ALL
            .iter()
            .filter(|c| c.code() != 0)
            .map(|c| (c.known_name().unwrap_or_default().to_string(), c.code()))
            .collect();
        assert_eq!(ours, core);
        assert_eq!(KRB_AP_ERR_SKEW.0, ErrorCode::KRB_AP_ERR_SKEW.code());
        assert_eq!(KTIX_ERR_CRYPTO.0, ErrorCode::KTIX_ERR_CRYPTO.code());
    }

    #[test]
    fn record_maps_the_code_and_keeps_the_message() {
        let r = record(&Error::new(ErrorCode::KRB_AP_ERR_SKEW, "clock skew too great"));
        assert_eq!(r, KRB_AP_ERR_SKEW);
        assert_eq!(last_error(), "KRB_AP_ERR_SKEW (37): clock skew too great");
        assert_eq!(record(&Error::new(ErrorCode(0), "odd")), KRB_ERR_GENERIC);
        assert_eq!(record(&Error::new(ErrorCode(77), "from a peer")), ktix_result(77));
        clear_last_error();
        assert_eq!(last_error(), "");
    }

    #[test]
    fn copying_the_message() {
        record(&Error::invalid("héllo"));
        let full = last_error();
        let mut n = 0usize;
        assert_eq!(ktix_last_error_message_copy(std::ptr::null_mut(), 0, &mut n), KTIX_ERR_INVALID_ARGUMENT);
        assert_eq!(n, full.len());
        let mut buf = vec![0 as c_char; n + 1];
        assert_eq!(ktix_last_error_message_copy(buf.as_mut_ptr(), buf.len(), &mut n), KTIX_OK);
        // SAFETY: the call NUL-terminated the buffer.
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str(), Ok(full.as_str()));
        // Cut inside "é" (2 bytes): backs off to the character's start.
        let cut = full.find('é').unwrap_or(0) + 1;
        let mut small = vec![0 as c_char; cut + 1];
        assert_eq!(
            ktix_last_error_message_copy(small.as_mut_ptr(), small.len(), std::ptr::null_mut()),
            KTIX_ERR_INVALID_ARGUMENT
        );
        // SAFETY: NUL-terminated by the call.
        let got = unsafe { CStr::from_ptr(small.as_ptr()) }.to_str().map(str::to_string);
        assert_eq!(got.as_deref(), Ok(&full[..cut - 1]));
        assert_eq!(ktix_last_error_message_copy(std::ptr::null_mut(), 4, std::ptr::null_mut()), KTIX_ERR_NULL_ARGUMENT);
        // The copy did not change the last error.
        assert_eq!(last_error(), full);
    }
}
