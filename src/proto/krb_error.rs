//! KRB-ERROR: building the reply a KDC or server sends, and turning a received one into an [`Error`].
//!
//! The e-text of a KRB-ERROR built here is a fixed text per error code ([`e_text`]): never the
//! error's message, which may hold database paths, SQL errors or other internals. The detailed
//! message belongs in the sender's log.

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::{self, msg_type, KrbError, KrbErrorOut, Name, Str};

/// What goes into a KRB-ERROR besides the code and the time.
#[derive(Debug, Clone, Default)]
pub struct ErrorReply {
    /// The realm of the server that answers (and of `sname`).
    pub realm: String,
    /// The server the request was for (krbtgt for the AS exchange), when known.
    pub server: Option<Principal>,
    /// The client, when known.
    pub client: Option<Principal>,
    /// e-data, e.g. METHOD-DATA for PREAUTH_REQUIRED.
    pub data: Option<Vec<u8>>,
}

/// Builds a KRB-ERROR message for `err` at time `now`. Codes outside the Kerberos range go on
/// the wire as `KRB_ERR_GENERIC`. The e-text is [`e_text`] of the code sent; `err`'s message
/// is not sent.
pub fn krb_error(err: &Error, now: Time, reply: &ErrorReply) -> Result<Vec<u8>> {
    krb_error_of(err, now, &reply.realm, reply.server.as_ref(), reply.client.as_ref(), reply.data.as_deref())
}

/// [`krb_error`] from borrowed parts (the KDC's every error reply): the realm of the server that
/// answers, the server (krbtgt of `realm` when `None`), the client and the e-data. Written
/// straight from them (issue 17), the same bytes as the rasn-typed KRB-ERROR.
pub fn krb_error_of(
    err: &Error,
    now: Time,
    realm: &str,
    server: Option<&Principal>,
    client: Option<&Principal>,
    data: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let code = if err.code().is_kerberos() { err.code() } else { ErrorCode::KRB_ERR_GENERIC };
    let krbtgt;
    let server = match server {
        Some(s) => s,
        None => {
            krbtgt = Principal::krbtgt(realm);
            &krbtgt
        }
    };
    let (crealm, cname) = match client {
        Some(c) => (Some(Str::new(c.realm())?), Some(Name::of(c)?)),
        None => (None, None),
    };
    let msg = KrbErrorOut {
        pvno: wire::PVNO as i32,
        msg_type: msg_type::KRB_ERROR.into(),
        stime: now,
        susec: now.subsec_micros(),
        error_code: code.code(),
        crealm,
        cname,
        realm: Str::new(realm)?,
        sname: Name::of(server)?,
        e_text: Some(Str::new(e_text(code))?),
        e_data: data,
    };
    wire::encode(&msg)
}

/// The fixed e-text of a KRB-ERROR with `code`: the code's description without its final period
/// (the texts of RFC 4120 §7.5.9 and MIT's error table, e.g. "Clock skew too great"), or
/// "Generic error" / "Kerberos error" for `KRB_ERR_GENERIC` and codes the table lacks. Printable
/// ASCII, and the same for every error of that code.
pub fn e_text(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::KRB_ERR_GENERIC => "Generic error",
        _ => code.description().map_or("Kerberos error", |d| d.strip_suffix('.').unwrap_or(d)),
    }
}

/// The [`Error`] a received KRB-ERROR stands for: its code, and its e-text as the message.
pub fn error_from_krb_error(e: &KrbError) -> Error {
    let code = ErrorCode(e.error_code);
    let text = e.e_text.as_ref().map(wire::kstring_text).unwrap_or_default();
    let msg = if text.is_empty() { format!("KDC replied {}", code.name()) } else { format!("KDC replied: {text}") };
    Error::new(code, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The KRB-ERROR as it was built before issue 17's borrowed form: rasn values, then encoded.
    fn via_rasn(err: &Error, now: Time, reply: &ErrorReply) -> Result<Vec<u8>> {
        let code = if err.code().is_kerberos() { err.code() } else { ErrorCode::KRB_ERR_GENERIC };
        let sname = match &reply.server {
            Some(s) => wire::principal_name(s)?,
            None => wire::principal_name(&Principal::krbtgt(&reply.realm))?,
        };
        let (crealm, cname) = match &reply.client {
            Some(c) => (Some(wire::kstring(c.realm())?), Some(wire::principal_name(c)?)),
            None => (None, None),
        };
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
            e_text: Some(wire::kstring(e_text(code))?),
            e_data: reply.data.clone().map(wire::octets),
        };
        Ok(rasn::der::encode(&msg).unwrap())
    }

    #[test]
    fn borrowed_krb_error_equals_rasn() {
        let p = |comps: &[&str], realm: &str| {
            Principal::new(1, comps.iter().map(|c| c.to_string()).collect(), realm).unwrap()
        };
        // "\u{e0}" is UTF-8 c3 a0: a0 is outside GeneralString's alphabet.
        let names = [
            None,
            Some(p(&["alice"], "R.TEST")),
            Some(p(&["HTTP", "host.r.test"], "R.TEST")),
            Some(p(&["b\u{e0}d"], "R.TEST")),
            Some(p(&["alice"], "R\u{e0}.TEST")),
        ];
        let now = Time::from_unix_parts(1_700_000_000, 123_456);
        let mut refused = 0;
        for realm in ["R.TEST", "R\u{e0}.TEST"] {
            for server in &names {
                for client in &names {
                    for data in [None, Some(vec![]), Some(vec![0x30, 0x00]), Some(vec![7; 300])] {
                        for code in [ErrorCode::KDC_ERR_PREAUTH_REQUIRED, ErrorCode::KTIX_ERR_BAD_FILE, ErrorCode(77)] {
                            let err = Error::new(code, "x");
                            let reply = ErrorReply {
                                realm: realm.into(),
                                server: server.clone(),
                                client: client.clone(),
                                data: data.clone(),
                            };
                            let ours = krb_error(&err, now, &reply);
                            match via_rasn(&err, now, &reply) {
                                Ok(theirs) => assert_eq!(ours.unwrap(), theirs, "{reply:?}"),
                                Err(_) => {
                                    assert!(ours.is_err(), "{reply:?}");
                                    refused += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(refused > 0);
    }

    #[test]
    fn e_text_is_fixed_per_code_and_never_the_message() {
        let now = Time::from_unix(1_700_000_000);
        let reply = ErrorReply { realm: "R".into(), ..Default::default() };
        let secret = "/var/lib/ktix/realm.db: database disk image is malformed (SQLITE_CORRUPT)";
        for (code, want) in [
            (ErrorCode::KRB_AP_ERR_SKEW, "Clock skew too great"),
            (ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN, "Client not found in Kerberos database"),
            (ErrorCode::KRB_ERR_GENERIC, "Generic error"),
            (ErrorCode::KTIX_ERR_BAD_FILE, "Generic error"), // sent as KRB_ERR_GENERIC
            (ErrorCode(77), "Kerberos error"),
        ] {
            let bytes = krb_error(&Error::new(code, secret), now, &reply).unwrap();
            let msg = wire::decode::<KrbError>(&bytes).unwrap();
            assert_eq!(msg.e_text.as_ref().map(wire::kstring_text).as_deref(), Some(want), "{code}");
            assert!(!bytes.windows(8).any(|w| w == b"realm.db" || w == b"SQLITE_C"), "{code}");
        }
        for &code in ErrorCode::ALL.iter().filter(|c| c.is_kerberos()) {
            assert!(e_text(code).bytes().all(|b| b.is_ascii_graphic() || b == b' '), "{code}");
            assert!(!e_text(code).is_empty());
        }
    }
}
