//! GSS-API status codes (RFC 2744 §3.9.1): the major status of a core [`Error`], and its minor
//! status as MIT's library numbers it.
//!
//! The core has one error type; the GSS layer maps from it and invents no error of its own.
//! The major status is the GSS routine error (or, for the per-message sequence checks, the
//! supplementary bit) that the error's [`ErrorCode`] stands for; the minor status is the
//! Kerberos code in MIT's com_err numbering (`ERROR_TABLE_BASE_krb5 + code`, so programs that
//! compare with `KRB5KRB_AP_ERR_SKEW` keep working), or ktix's own code as it is.

use crate::error::{Error, ErrorCode};

/// Major status values (RFC 2744 §3.9.1).
pub mod major {
    /// `GSS_S_COMPLETE`.
    pub const COMPLETE: u32 = 0;
    /// `GSS_S_CONTINUE_NEEDED` (supplementary).
    pub const CONTINUE_NEEDED: u32 = 1;
    /// `GSS_S_DUPLICATE_TOKEN` (supplementary).
    pub const DUPLICATE_TOKEN: u32 = 1 << 1;
    /// `GSS_S_OLD_TOKEN` (supplementary).
    pub const OLD_TOKEN: u32 = 1 << 2;
    /// `GSS_S_UNSEQ_TOKEN` (supplementary).
    pub const UNSEQ_TOKEN: u32 = 1 << 3;
    /// `GSS_S_GAP_TOKEN` (supplementary).
    pub const GAP_TOKEN: u32 = 1 << 4;
    /// `GSS_S_BAD_MECH`.
    pub const BAD_MECH: u32 = 1 << 16;
    /// `GSS_S_BAD_NAME`.
    pub const BAD_NAME: u32 = 2 << 16;
    /// `GSS_S_BAD_NAMETYPE`.
    pub const BAD_NAMETYPE: u32 = 3 << 16;
    /// `GSS_S_BAD_BINDINGS`.
    pub const BAD_BINDINGS: u32 = 4 << 16;
    /// `GSS_S_BAD_STATUS`.
    pub const BAD_STATUS: u32 = 5 << 16;
    /// `GSS_S_BAD_SIG` (= `GSS_S_BAD_MIC`).
    pub const BAD_SIG: u32 = 6 << 16;
    /// `GSS_S_NO_CRED`.
    pub const NO_CRED: u32 = 7 << 16;
    /// `GSS_S_NO_CONTEXT`.
    pub const NO_CONTEXT: u32 = 8 << 16;
    /// `GSS_S_DEFECTIVE_TOKEN`.
    pub const DEFECTIVE_TOKEN: u32 = 9 << 16;
    /// `GSS_S_DEFECTIVE_CREDENTIAL`.
    pub const DEFECTIVE_CREDENTIAL: u32 = 10 << 16;
    /// `GSS_S_CREDENTIALS_EXPIRED`.
    pub const CREDENTIALS_EXPIRED: u32 = 11 << 16;
    /// `GSS_S_CONTEXT_EXPIRED`.
    pub const CONTEXT_EXPIRED: u32 = 12 << 16;
    /// `GSS_S_FAILURE`.
    pub const FAILURE: u32 = 13 << 16;
    /// `GSS_S_BAD_QOP`.
    pub const BAD_QOP: u32 = 14 << 16;
    /// `GSS_S_UNAUTHORIZED`.
    pub const UNAUTHORIZED: u32 = 15 << 16;
    /// `GSS_S_UNAVAILABLE`.
    pub const UNAVAILABLE: u32 = 16 << 16;
    /// `GSS_S_DUPLICATE_ELEMENT`.
    pub const DUPLICATE_ELEMENT: u32 = 17 << 16;
    /// `GSS_S_NAME_NOT_MN`.
    pub const NAME_NOT_MN: u32 = 18 << 16;
    /// `GSS_S_CALL_INACCESSIBLE_READ`.
    pub const CALL_INACCESSIBLE_READ: u32 = 1 << 24;
    /// `GSS_S_CALL_INACCESSIBLE_WRITE`.
    pub const CALL_INACCESSIBLE_WRITE: u32 = 2 << 24;
    /// `GSS_S_CALL_BAD_STRUCTURE`.
    pub const CALL_BAD_STRUCTURE: u32 = 3 << 24;

    /// The routine-error field of a major status.
    pub const ROUTINE_ERROR_MASK: u32 = 0xff << 16;
    /// The calling-error field of a major status.
    pub const CALLING_ERROR_MASK: u32 = 0xff << 24;
    /// The supplementary-information field of a major status.
    pub const SUPPLEMENTARY_MASK: u32 = 0xffff;

    /// Whether a major status is an error (RFC 2744's `GSS_ERROR()`): a routine or calling error.
    pub fn is_error(major: u32) -> bool {
        major & (ROUTINE_ERROR_MASK | CALLING_ERROR_MASK) != 0
    }

    /// The RFC 2743 texts of every condition set in `major` (calling error, routine error, then
    /// each supplementary bit), for `gss_display_status` with `GSS_C_GSS_CODE`.
    pub fn texts(major: u32) -> Vec<&'static str> {
        const CALLING: [&str; 4] = [
            "",
            "A required input parameter could not be read",
            "A required output parameter could not be written",
            "A parameter was malformed",
        ];
        const ROUTINE: [&str; 19] = [
            "",
            "An unsupported mechanism was requested",
            "An invalid name was supplied",
            "A supplied name was of an unsupported type",
            "Incorrect channel bindings were supplied",
            "An invalid status code was supplied",
            "A token had an invalid Message Integrity Check (MIC)",
            "No credentials were supplied, or the credentials were unavailable or inaccessible",
            "No context has been established",
            "Invalid token was supplied",
            "Invalid credential was supplied",
            "The referenced credential has expired",
            "The referenced context has expired",
            "Unspecified GSS failure.  Minor code may provide more information",
            "The quality-of-protection (QOP) requested could not be provided",
            "The operation is forbidden by local security policy",
            "The operation or option is not available or unsupported",
            "The requested credential element already exists",
            "The provided name was not a mechanism name",
        ];
        const SUPPLEMENTARY: [&str; 5] = [
            "The routine must be called again to complete its function",
            "The token was a duplicate of an earlier token",
            "The token's validity period has expired",
            "A later token has already been processed",
            "An expected per-message token was not received",
        ];
        let mut out = Vec::new();
        let calling = ((major >> 24) & 0xff) as usize;
        if calling != 0 {
            out.push(CALLING.get(calling).copied().unwrap_or("Unknown calling error"));
        }
        let routine = ((major >> 16) & 0xff) as usize;
        if routine != 0 {
            out.push(ROUTINE.get(routine).copied().unwrap_or("Unknown routine error"));
        }
        for (bit, text) in SUPPLEMENTARY.iter().enumerate() {
            if major & (1 << bit) != 0 {
                out.push(text);
            }
        }
        if out.is_empty() {
            out.push("The routine completed successfully");
        }
        out
    }
}

/// MIT's `ERROR_TABLE_BASE_krb5`: Kerberos protocol code `n` is minor status `BASE + n`.
pub const KRB5_ERROR_TABLE_BASE: i32 = -1_765_328_384;

/// A GSS-API status: the major and minor codes of one failure, with its readable text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The major status (RFC 2744): routine error and supplementary bits.
    pub major: u32,
    /// The minor (mechanism) status.
    pub minor: u32,
    /// What went wrong, for a person.
    pub message: String,
}

impl Status {
    /// The status that `err` stands for.
    pub fn of(err: &Error) -> Status {
        Status { major: major_of(err.code()), minor: minor_of(err.code()), message: err.message().to_string() }
    }

    /// The core error code that a minor status names (the inverse of the minor numbering), when
    /// it is one of ours.
    pub fn code_of_minor(minor: u32) -> Option<ErrorCode> {
        let m = minor as i32;
        let code = if (KRB5_ERROR_TABLE_BASE..KRB5_ERROR_TABLE_BASE + 128).contains(&m) {
            ErrorCode(m - KRB5_ERROR_TABLE_BASE)
        } else {
            ErrorCode(m)
        };
        code.known_name().map(|_| code)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", major::texts(self.major).join("; "), self.message)
    }
}

/// The minor status of a core error code.
fn minor_of(code: ErrorCode) -> u32 {
    if code.is_kerberos() {
        KRB5_ERROR_TABLE_BASE.wrapping_add(code.code()) as u32
    } else {
        code.code() as u32
    }
}

/// The major status of a core error code.
fn major_of(code: ErrorCode) -> u32 {
    use major::*;
    match code {
        ErrorCode::KDC_ERR_NONE => COMPLETE,
        ErrorCode::KTIX_ERR_GSS_BAD_BINDINGS => BAD_BINDINGS,
        ErrorCode::KTIX_ERR_GSS_BAD_MIC => BAD_SIG,
        // The sequence conditions are supplementary information on a token that verified.
        ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN => DUPLICATE_TOKEN,
        ErrorCode::KTIX_ERR_GSS_OLD_TOKEN => OLD_TOKEN,
        ErrorCode::KTIX_ERR_GSS_UNSEQ_TOKEN => UNSEQ_TOKEN,
        ErrorCode::KTIX_ERR_GSS_GAP_TOKEN => GAP_TOKEN,
        ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN
        | ErrorCode::KTIX_ERR_MALFORMED
        | ErrorCode::KRB_AP_ERR_BADVERSION
        | ErrorCode::KRB_AP_ERR_MSG_TYPE => DEFECTIVE_TOKEN,
        ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED => CONTEXT_EXPIRED,
        ErrorCode::KTIX_ERR_GSS_NO_CONTEXT => NO_CONTEXT,
        ErrorCode::KTIX_ERR_GSS_BAD_MECH => BAD_MECH,
        ErrorCode::KTIX_ERR_GSS_BAD_NAME => BAD_NAME,
        ErrorCode::KTIX_ERR_GSS_BAD_NAMETYPE => BAD_NAMETYPE,
        ErrorCode::KTIX_ERR_GSS_NO_CRED | ErrorCode::KTIX_ERR_NOT_LOGGED_IN => NO_CRED,
        ErrorCode::KTIX_ERR_GSS_CREDENTIALS_EXPIRED | ErrorCode::KRB_AP_ERR_TKT_EXPIRED => CREDENTIALS_EXPIRED,
        ErrorCode::KTIX_ERR_GSS_UNAVAILABLE => UNAVAILABLE,
        ErrorCode::KTIX_ERR_NULL_ARGUMENT => CALL_INACCESSIBLE_READ,
        ErrorCode::KTIX_ERR_INVALID_ARGUMENT => CALL_BAD_STRUCTURE,
        // Everything else — a wrong key, skew, a replayed AP-REQ (fatal while establishing a
        // context), the KDC unreachable — is a failure whose minor status says which.
        _ => FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kerberos_codes_take_mit_minor_numbers() {
        let s = Status::of(&Error::new(ErrorCode::KRB_AP_ERR_SKEW, "skew"));
        assert_eq!(s.major, major::FAILURE);
        assert_eq!(s.minor as i32, -1_765_328_347); // KRB5KRB_AP_ERR_SKEW in MIT's krb5_err.h
        assert_eq!(Status::code_of_minor(s.minor), Some(ErrorCode::KRB_AP_ERR_SKEW));
        let t = Status::of(&Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, "bad"));
        assert_eq!((t.major, t.minor), (major::BAD_SIG, 1101));
        assert_eq!(Status::code_of_minor(1101), Some(ErrorCode::KTIX_ERR_GSS_BAD_MIC));
        assert_eq!(Status::code_of_minor(99_999), None);
    }

    #[test]
    fn sequence_conditions_are_supplementary_and_others_are_errors() {
        for c in [ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN, ErrorCode::KTIX_ERR_GSS_GAP_TOKEN] {
            assert!(!major::is_error(Status::of(&Error::new(c, "")).major));
        }
        for c in ErrorCode::ALL.iter().filter(|c| !c.name().contains("_TOKEN") || c.name().contains("DEFECTIVE")) {
            if *c != ErrorCode::KDC_ERR_NONE {
                assert!(major::is_error(Status::of(&Error::new(*c, "")).major), "{c:?}");
            }
        }
    }

    #[test]
    fn texts_name_every_condition() {
        assert_eq!(major::texts(major::COMPLETE), ["The routine completed successfully"]);
        let t = major::texts(major::CALL_BAD_STRUCTURE | major::BAD_SIG | major::GAP_TOKEN);
        assert_eq!(t.len(), 3);
        assert!(t[1].contains("MIC"));
        assert!(major::texts(0x00ff_0000)[0].starts_with("Unknown"));
    }
}
