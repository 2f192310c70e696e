//! The one error type of libktix.
//!
//! Every failure carries an [`ErrorCode`]: the Kerberos error code of RFC 4120 §7.5.9 where one
//! applies (`KRB_AP_ERR_SKEW` = 37, …), otherwise a ktix code in its own range (1000 and up).
//! The C layer returns the code as its `ktix_result`, Python raises `KtixError` with `.code` and
//! `.name`; both map from here and invent nothing of their own.

use std::fmt;

/// A stable numeric error code with a name.
///
/// Kerberos codes keep their RFC numbers; ktix's own codes start at [`ErrorCode::KTIX_BASE`].
/// Codes received from a peer that this table does not name are kept as they are and named
/// `KRB_ERR_<n>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub i32);

macro_rules! codes {
    ($( #[doc = $doc:literal] $name:ident = $val:expr; )*) => {
        impl ErrorCode {
            $( #[doc = $doc] pub const $name: ErrorCode = ErrorCode($val); )*

            /// The one-line description of the code (its documentation above, e.g. `"Clock skew
            /// too great."`); `None` for a code not in the table.
            pub fn description(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($doc.trim()), )*
                    _ => None,
                }
            }

            /// The symbolic name, e.g. `"KRB_AP_ERR_SKEW"`; `None` for a code not in the table.
            pub fn known_name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// Every named code, in numeric order of declaration.
            pub const ALL: &'static [ErrorCode] = &[$( ErrorCode($val) ),*];
        }
    };
}

codes! {
    /// No error.
    KDC_ERR_NONE = 0;
    /// Client's entry in database has expired.
    KDC_ERR_NAME_EXP = 1;
    /// Server's entry in database has expired.
    KDC_ERR_SERVICE_EXP = 2;
    /// Requested protocol version number not supported.
    KDC_ERR_BAD_PVNO = 3;
    /// Client's key encrypted in old master key.
    KDC_ERR_C_OLD_MAST_KVNO = 4;
    /// Server's key encrypted in old master key.
    KDC_ERR_S_OLD_MAST_KVNO = 5;
    /// Client not found in Kerberos database.
    KDC_ERR_C_PRINCIPAL_UNKNOWN = 6;
    /// Server not found in Kerberos database.
    KDC_ERR_S_PRINCIPAL_UNKNOWN = 7;
    /// Multiple principal entries in database.
    KDC_ERR_PRINCIPAL_NOT_UNIQUE = 8;
    /// The client or server has a null key.
    KDC_ERR_NULL_KEY = 9;
    /// Ticket not eligible for postdating.
    KDC_ERR_CANNOT_POSTDATE = 10;
    /// Requested starttime is later than end time.
    KDC_ERR_NEVER_VALID = 11;
    /// KDC policy rejects request.
    KDC_ERR_POLICY = 12;
    /// KDC cannot accommodate requested option.
    KDC_ERR_BADOPTION = 13;
    /// KDC has no support for encryption type.
    KDC_ERR_ETYPE_NOSUPP = 14;
    /// KDC has no support for checksum type.
    KDC_ERR_SUMTYPE_NOSUPP = 15;
    /// KDC has no support for padata type.
    KDC_ERR_PADATA_TYPE_NOSUPP = 16;
    /// KDC has no support for transited type.
    KDC_ERR_TRTYPE_NOSUPP = 17;
    /// Clients credentials have been revoked.
    KDC_ERR_CLIENT_REVOKED = 18;
    /// Credentials for server have been revoked.
    KDC_ERR_SERVICE_REVOKED = 19;
    /// TGT has been revoked.
    KDC_ERR_TGT_REVOKED = 20;
    /// Client not yet valid; try again later.
    KDC_ERR_CLIENT_NOTYET = 21;
    /// Server not yet valid; try again later.
    KDC_ERR_SERVICE_NOTYET = 22;
    /// Password has expired; change password to reset.
    KDC_ERR_KEY_EXPIRED = 23;
    /// Pre-authentication information was invalid.
    KDC_ERR_PREAUTH_FAILED = 24;
    /// Additional pre-authentication required.
    KDC_ERR_PREAUTH_REQUIRED = 25;
    /// Requested server and ticket don't match.
    KDC_ERR_SERVER_NOMATCH = 26;
    /// Server principal valid for user2user only.
    KDC_ERR_MUST_USE_USER2USER = 27;
    /// KDC Policy rejects transited path.
    KDC_ERR_PATH_NOT_ACCEPTED = 28;
    /// A service is not available.
    KDC_ERR_SVC_UNAVAILABLE = 29;
    /// Integrity check on decrypted field failed.
    KRB_AP_ERR_BAD_INTEGRITY = 31;
    /// Ticket expired.
    KRB_AP_ERR_TKT_EXPIRED = 32;
    /// Ticket not yet valid.
    KRB_AP_ERR_TKT_NYV = 33;
    /// Request is a replay.
    KRB_AP_ERR_REPEAT = 34;
    /// The ticket isn't for us.
    KRB_AP_ERR_NOT_US = 35;
    /// Ticket and authenticator don't match.
    KRB_AP_ERR_BADMATCH = 36;
    /// Clock skew too great.
    KRB_AP_ERR_SKEW = 37;
    /// Incorrect net address.
    KRB_AP_ERR_BADADDR = 38;
    /// Protocol version mismatch.
    KRB_AP_ERR_BADVERSION = 39;
    /// Invalid msg type.
    KRB_AP_ERR_MSG_TYPE = 40;
    /// Message stream modified.
    KRB_AP_ERR_MODIFIED = 41;
    /// Message out of order.
    KRB_AP_ERR_BADORDER = 42;
    /// Specified version of key is not available.
    KRB_AP_ERR_BADKEYVER = 44;
    /// Service key not available.
    KRB_AP_ERR_NOKEY = 45;
    /// Mutual authentication failed.
    KRB_AP_ERR_MUT_FAIL = 46;
    /// Incorrect message direction.
    KRB_AP_ERR_BADDIRECTION = 47;
    /// Alternative authentication method required.
    KRB_AP_ERR_METHOD = 48;
    /// Incorrect sequence number in message.
    KRB_AP_ERR_BADSEQ = 49;
    /// Inappropriate type of checksum in message.
    KRB_AP_ERR_INAPP_CKSUM = 50;
    /// Policy rejects transited path.
    KRB_AP_PATH_NOT_ACCEPTED = 51;
    /// Response too big for UDP; retry with TCP.
    KRB_ERR_RESPONSE_TOO_BIG = 52;
    /// Generic error (description in e-text).
    KRB_ERR_GENERIC = 60;
    /// Field is too long for this implementation.
    KRB_ERR_FIELD_TOOLONG = 61;
    /// The client's realm is wrong (referral).
    KDC_ERR_WRONG_REALM = 68;

    /// A required pointer or handle was NULL (C) / None (Python).
    KTIX_ERR_NULL_ARGUMENT = 1000;
    /// An argument was out of range or of the wrong form.
    KTIX_ERR_INVALID_ARGUMENT = 1001;
    /// A panic was caught at the language boundary.
    KTIX_ERR_PANIC = 1002;
    /// Bytes that should be a Kerberos message or structure are not (malformed DER, wrong tag, trailing data).
    KTIX_ERR_MALFORMED = 1003;
    /// An encryption type this library does not implement, or that policy does not permit.
    KTIX_ERR_UNSUPPORTED_ENCTYPE = 1004;
    /// A checksum type this library does not implement.
    KTIX_ERR_UNSUPPORTED_CHECKSUM = 1005;
    /// An operating-system I/O error (file, socket).
    KTIX_ERR_IO = 1006;
    /// A file (keytab, credential cache, database, stash) is truncated, corrupt or of a foreign format.
    KTIX_ERR_BAD_FILE = 1007;
    /// A configuration file or value is invalid.
    KTIX_ERR_CONFIG = 1008;
    /// The requested object (credential, key, principal, entry) does not exist.
    KTIX_ERR_NOT_FOUND = 1009;
    /// The KDC could not be reached, or did not answer in time.
    KTIX_ERR_NETWORK = 1010;
    /// The reply does not match the request (nonce, names, message type).
    KTIX_ERR_REPLY_MISMATCH = 1011;
    /// The client has no ticket-granting ticket; log in first.
    KTIX_ERR_NOT_LOGGED_IN = 1012;
    /// The object already exists.
    KTIX_ERR_EXISTS = 1013;
    /// A cryptographic primitive failed inside OpenSSL.
    KTIX_ERR_CRYPTO = 1014;
    /// The replay cache is at its ceiling with live entries only; the request is refused.
    KTIX_ERR_REPLAY_CACHE_FULL = 1015;
    /// GSS-API: the channel bindings the initiator sent do not match the acceptor's.
    KTIX_ERR_GSS_BAD_BINDINGS = 1100;
    /// GSS-API: a MIC or Wrap token's checksum does not verify (tampered, or another key).
    KTIX_ERR_GSS_BAD_MIC = 1101;
    /// GSS-API: the token was already received (a replay).
    KTIX_ERR_GSS_DUPLICATE_TOKEN = 1102;
    /// GSS-API: the token is too old to be checked for replay.
    KTIX_ERR_GSS_OLD_TOKEN = 1103;
    /// GSS-API: the token arrived after a later one (out of sequence).
    KTIX_ERR_GSS_UNSEQ_TOKEN = 1104;
    /// GSS-API: a token between the last one received and this one is missing.
    KTIX_ERR_GSS_GAP_TOKEN = 1105;
    /// GSS-API: the token is malformed or not of the kind expected here.
    KTIX_ERR_GSS_DEFECTIVE_TOKEN = 1106;
    /// GSS-API: the security context has expired.
    KTIX_ERR_GSS_CONTEXT_EXPIRED = 1107;
    /// GSS-API: no established security context for this call (not complete, or already deleted).
    KTIX_ERR_GSS_NO_CONTEXT = 1108;
    /// GSS-API: the mechanism asked for or offered is not supported.
    KTIX_ERR_GSS_BAD_MECH = 1109;
    /// GSS-API: the name is malformed or cannot be used here.
    KTIX_ERR_GSS_BAD_NAME = 1110;
    /// GSS-API: the name type is not supported.
    KTIX_ERR_GSS_BAD_NAMETYPE = 1111;
    /// GSS-API: no credentials were found (no ticket cache, no keytab, no key for the name).
    KTIX_ERR_GSS_NO_CRED = 1112;
    /// GSS-API: the credentials have expired.
    KTIX_ERR_GSS_CREDENTIALS_EXPIRED = 1113;
    /// GSS-API: the operation is not available in this implementation.
    KTIX_ERR_GSS_UNAVAILABLE = 1114;
}

impl ErrorCode {
    /// The first code of ktix's own range; everything below is a Kerberos protocol code.
    pub const KTIX_BASE: i32 = 1000;

    /// The numeric value.
    pub fn code(self) -> i32 {
        self.0
    }

    /// True for codes defined by the Kerberos protocol (carried in KRB-ERROR messages).
    pub fn is_kerberos(self) -> bool {
        (0..Self::KTIX_BASE).contains(&self.0)
    }

    /// The symbolic name; codes outside the table are named `KRB_ERR_<n>` / `KTIX_ERR_<n>`.
    pub fn name(self) -> String {
        self.to_string()
    }

    /// Writes [`ErrorCode::name`] to `out` (no `String` for a known name).
    pub(crate) fn write_name(self, out: &mut impl fmt::Write) -> fmt::Result {
        match self.known_name() {
            Some(n) => out.write_str(n),
            None if self.is_kerberos() => write!(out, "KRB_ERR_{}", self.0),
            None => write!(out, "KTIX_ERR_{}", self.0),
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}({})", self.0)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_name(f)
    }
}

/// The error type of every fallible call in libktix: a code and a readable message.
///
/// Messages never contain key material or passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with `code` and a message saying what went wrong.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The readable message (without the code's name).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Shorthand for a [`ErrorCode::KTIX_ERR_MALFORMED`] error.
    pub fn malformed(what: impl fmt::Display) -> Error {
        Error::new(ErrorCode::KTIX_ERR_MALFORMED, format!("malformed {what}"))
    }

    /// Shorthand for the integrity error ([`ErrorCode::KRB_AP_ERR_BAD_INTEGRITY`]).
    pub fn integrity(what: impl fmt::Display) -> Error {
        Error::new(ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, format!("integrity check failed: {what}"))
    }

    /// Shorthand for [`ErrorCode::KTIX_ERR_INVALID_ARGUMENT`].
    pub fn invalid(what: impl Into<String>) -> Error {
        Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, what)
    }

    /// Adds context in front of the message, keeping the code.
    pub fn context(mut self, ctx: impl fmt::Display) -> Error {
        self.message = format!("{ctx}: {}", self.message);
        self
    }

    /// An I/O error about `path`, naming the file.
    pub fn io(path: impl fmt::Display, err: std::io::Error) -> Error {
        Error::new(ErrorCode::KTIX_ERR_IO, format!("{path}: {err}"))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.code.name(), self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code.name(), self.code.0, self.message)
    }
}

impl std::error::Error for Error {}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Error {
        Error::new(ErrorCode::KTIX_ERR_CRYPTO, format!("OpenSSL: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges() {
        assert_eq!(ErrorCode::KRB_AP_ERR_SKEW.code(), 37);
        assert_eq!(ErrorCode::KRB_AP_ERR_SKEW.name(), "KRB_AP_ERR_SKEW");
        assert!(ErrorCode::KRB_AP_ERR_SKEW.is_kerberos());
        assert!(!ErrorCode::KTIX_ERR_PANIC.is_kerberos());
        assert_eq!(ErrorCode(77).name(), "KRB_ERR_77");
        let e = Error::integrity("ticket");
        assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
        assert!(e.to_string().starts_with("KRB_AP_ERR_BAD_INTEGRITY (31)"));
    }

    #[test]
    fn codes_are_unique() {
        let mut v: Vec<i32> = ErrorCode::ALL.iter().map(|c| c.0).collect();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), ErrorCode::ALL.len());
    }
}
