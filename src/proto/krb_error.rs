//! KRB-ERROR: building the reply a KDC or server sends, and turning a received one into an [`Error`].

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::{self, msg_type, KrbError};

/// What goes into a KRB-ERROR besides the code and the time.
#[derive(Debug, Clone, Default)]
pub struct ErrorReply {
    /// The realm of the server that answers (and of `sname`).
    pub realm: String,
    /// The server the request was for (krbtgt for the AS exchange), when known.
    pub server: Option<Principal>,
    /// The client, when known.
    pub client: Option<Principal>,
    /// Human-readable text (no secrets).
    pub text: Option<String>,
    /// e-data, e.g. METHOD-DATA for PREAUTH_REQUIRED.
    pub data: Option<Vec<u8>>,
}

/// Builds a KRB-ERROR message for `err` at time `now`. Codes outside the Kerberos range go on
/// the wire as `KRB_ERR_GENERIC`, their text kept in e-text.
pub fn krb_error(err: &Error, now: Time, reply: &ErrorReply) -> Result<Vec<u8>> {
    let code = if err.code().is_kerberos() { err.code() } else { ErrorCode::KRB_ERR_GENERIC };
    let sname = match &reply.server {
        Some(s) => wire::principal_name(s)?,
        None => wire::principal_name(&Principal::krbtgt(&reply.realm))?,
    };
    let (crealm, cname) = match &reply.client {
        Some(c) => (Some(wire::kstring(c.realm())?), Some(wire::principal_name(c)?)),
        None => (None, None),
    };
    let text = reply.text.clone().or_else(|| Some(err.message().to_string()));
    let msg = KrbError {
        pvno: wire::int(wire::PVNO),
        msg_type: wire::int(msg_type::KRB_ERROR.into()),
        ctime: None,
        cusec: None,
        stime: wire::kerberos_time(now),
        susec: wire::int(now.subsec_micros().into()),
        error_code: code.code(),
        crealm,
        cname,
        realm: wire::kstring(&reply.realm)?,
        sname,
        e_text: text.map(|t| wire::kstring(&sanitize(&t))).transpose()?,
        e_data: reply.data.clone().map(wire::octets),
    };
    wire::encode(&msg)
}

/// e-text is a GeneralString: keep it printable ASCII.
fn sanitize(t: &str) -> String {
    t.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect()
}

/// The [`Error`] a received KRB-ERROR stands for: its code, and its e-text as the message.
pub fn error_from_krb_error(e: &KrbError) -> Error {
    let code = ErrorCode(e.error_code);
    let text = e.e_text.as_ref().map(wire::kstring_text).unwrap_or_default();
    let msg = if text.is_empty() { format!("KDC replied {}", code.name()) } else { format!("KDC replied: {text}") };
    Error::new(code, msg)
}
