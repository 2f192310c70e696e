//! The change-password protocol (RFC 3244): its framing, result codes and the KRB-PRIV that
//! carries the new password and the result. The KDC's kpasswd service and the client's
//! `change_password` both use these; the AP-REQ/AP-REP inside are the ones of `proto::ap`.
//!
//! A request is `length(2) version(2) ap-req-length(2) AP-REQ KRB-PRIV`; a reply is
//! `length(2) 0x0001 ap-rep-length(2) AP-REP KRB-PRIV`, or with an AP-REP length of 0 a KRB-ERROR
//! whose e-data is the result. The result is `code(2) text`.

use std::net::SocketAddr;

use crate::ccache::Credential;
use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::time::Time;
use crate::wire::{self, msg_type, EncKrbPrivPart, HostAddress, KrbPriv};

use super::{open, seal, NewApReq};

/// The protocol version of RFC 3244 change-password requests and of every reply.
pub const VERSION_CHANGE: u16 = 0x0001;
/// The protocol version of set-password requests (ChangePasswdData); not served.
pub const VERSION_SET: u16 = 0xff80;

/// The RFC 3244 result codes.
pub mod result_code {
    /// The password was changed.
    pub const SUCCESS: u16 = 0;
    /// The request could not be parsed.
    pub const MALFORMED: u16 = 1;
    /// The server failed (a store error, …).
    pub const HARDERROR: u16 = 2;
    /// The request did not authenticate (a bad AP-REQ, a ticket not from a password).
    pub const AUTHERROR: u16 = 3;
    /// The new password was refused (the password policy); the text says why.
    pub const SOFTERROR: u16 = 4;
    /// The client may not change this password.
    pub const ACCESSDENIED: u16 = 5;
    /// The request's protocol version is not served.
    pub const BAD_VERSION: u16 = 6;
    /// The ticket was not an INITIAL one.
    pub const INITIAL_FLAG_NEEDED: u16 = 7;

    /// A short name of a result code, as MIT's `krb5_chpw_result_code_string`.
    pub fn name(code: u16) -> &'static str {
        match code {
            SUCCESS => "success",
            MALFORMED => "malformed request",
            HARDERROR => "server error",
            AUTHERROR => "authentication error",
            SOFTERROR => "password change rejected",
            ACCESSDENIED => "access denied",
            BAD_VERSION => "protocol version not supported",
            INITIAL_FLAG_NEEDED => "initial ticket required",
            _ => "unknown result code",
        }
    }
}

/// The parts of a change-password request.
#[derive(Debug)]
pub struct KpasswdRequest<'a> {
    /// The protocol version (1, or 0xff80 for set-password).
    pub version: u16,
    /// The AP-REQ for `kadmin/changepw`.
    pub ap_req: &'a [u8],
    /// The KRB-PRIV with the new password.
    pub krb_priv: &'a [u8],
}

fn be16(b: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([b[0], b[1]]))
}

/// Whether `message` is shaped like a change-password request: its length field is its length
/// and its version is 1 or 0xff80. Anything else gets no reply at all (no reflection).
pub fn is_request(message: &[u8]) -> bool {
    message.len() >= 6
        && be16(message) == message.len()
        && matches!(u16::from_be_bytes([message[2], message[3]]), VERSION_CHANGE | VERSION_SET)
}

/// Splits a change-password request (`KTIX_ERR_MALFORMED` when its lengths do not add up).
pub fn parse_request(message: &[u8]) -> Result<KpasswdRequest<'_>> {
    if !is_request(message) {
        return Err(Error::malformed("not a change-password request"));
    }
    let ap_len = be16(&message[4..]);
    if ap_len == 0 || 6 + ap_len >= message.len() {
        return Err(Error::malformed("change-password request: bad AP-REQ length"));
    }
    Ok(KpasswdRequest {
        version: u16::from_be_bytes([message[2], message[3]]),
        ap_req: &message[6..6 + ap_len],
        krb_priv: &message[6 + ap_len..],
    })
}

/// Frames a request or reply: total length, `version`, the AP message's length, the AP message,
/// then `body`. `KTIX_ERR_INVALID_ARGUMENT` when it does not fit the 16-bit length.
pub fn frame(version: u16, ap: &[u8], body: &[u8]) -> Result<Vec<u8>> {
    let total = 6 + ap.len() + body.len();
    let (Ok(total16), Ok(ap16)) = (u16::try_from(total), u16::try_from(ap.len())) else {
        return Err(Error::invalid("change-password message longer than 65535 bytes"));
    };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&total16.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&ap16.to_be_bytes());
    out.extend_from_slice(ap);
    out.extend_from_slice(body);
    Ok(out)
}

/// The parts of a change-password reply: the AP-REP (empty when the body is a KRB-ERROR) and
/// the body.
#[derive(Debug)]
pub struct KpasswdReply<'a> {
    /// The AP-REP; empty when the request did not authenticate.
    pub ap_rep: &'a [u8],
    /// A KRB-PRIV with the result, or (without an AP-REP) a KRB-ERROR.
    pub body: &'a [u8],
}

/// Splits a change-password reply (`KTIX_ERR_MALFORMED` when it is not one).
pub fn parse_reply(message: &[u8]) -> Result<KpasswdReply<'_>> {
    if message.len() < 6 || be16(message) != message.len() {
        return Err(Error::malformed("change-password reply: bad length"));
    }
    let version = u16::from_be_bytes([message[2], message[3]]);
    if version != VERSION_CHANGE {
        return Err(Error::malformed(format_args!("change-password reply: version 0x{version:04x}")));
    }
    let ap_len = be16(&message[4..]);
    if 6 + ap_len >= message.len() {
        return Err(Error::malformed("change-password reply: bad AP-REP length"));
    }
    Ok(KpasswdReply { ap_rep: &message[6..6 + ap_len], body: &message[6 + ap_len..] })
}

/// The result data: the code, then the text (UTF-8).
pub fn result_data(code: u16, text: &str) -> Vec<u8> {
    let mut out = code.to_be_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

/// Reads result data (`KTIX_ERR_MALFORMED` when shorter than a code).
pub fn parse_result(data: &[u8]) -> Result<(u16, String)> {
    if data.len() < 2 {
        return Err(Error::malformed("change-password result: no result code"));
    }
    Ok((u16::from_be_bytes([data[0], data[1]]), String::from_utf8_lossy(&data[2..]).into_owned()))
}

/// The HostAddress of a socket address (IPv4, IPv6; an IPv4-mapped IPv6 address as IPv4).
pub fn host_address(addr: SocketAddr) -> HostAddress {
    let ip = addr.ip().to_canonical();
    match ip {
        std::net::IpAddr::V4(v4) => HostAddress { addr_type: HostAddress::IPV4, address: wire::octets(v4.octets()) },
        std::net::IpAddr::V6(v6) => HostAddress { addr_type: HostAddress::IPV6, address: wire::octets(v6.octets()) },
    }
}

/// A KRB-PRIV (RFC 4120 §5.7) carrying `user_data`, sealed in `key` (usage 13), with the time,
/// the sequence number and the sender's address.
pub fn build_krb_priv(
    key: &Key,
    user_data: &[u8],
    now: Time,
    seq_number: Option<u32>,
    sender: SocketAddr,
) -> Result<Vec<u8>> {
    let part = EncKrbPrivPart {
        user_data: wire::octets(user_data),
        timestamp: Some(wire::kerberos_time(now)),
        usec: Some(wire::int(now.subsec_micros().into())),
        seq_number,
        sender_address: host_address(sender),
        recipient_address: None,
    };
    let enc_part = seal(key, usage::KRB_PRIV_ENC_PART, &part, None)?;
    let msg = KrbPriv { pvno: wire::int(wire::PVNO), msg_type: wire::int(msg_type::KRB_PRIV.into()), enc_part };
    wire::encode(&msg)
}

/// A change-password request (version 1) with `cred`, a ticket for `kadmin/changepw`: an AP-REQ
/// with `subkey` and the sequence number `seq` (no checksum, no mutual-required flag, as MIT's
/// client sends), then `new_password` in a KRB-PRIV sealed in the subkey from `sender`. Returns
/// the framed request and the authenticator's time, which the reply's AP-REP must echo.
pub fn change_request(
    cred: &Credential,
    subkey: &Key,
    seq: u32,
    now: Time,
    sender: SocketAddr,
    new_password: &[u8],
) -> Result<(Vec<u8>, Time)> {
    let (ap_req, ctime) = super::build_ap_req(&NewApReq {
        seq_number: Some(seq),
        ..NewApReq::with_credential(cred, usage::AP_REQ_AUTH, now, subkey)
    })?;
    let krb_priv = build_krb_priv(subkey, new_password, now, Some(seq), sender)?;
    Ok((frame(VERSION_CHANGE, &ap_req, &krb_priv)?, ctime))
}

/// Opens a KRB-PRIV sealed in `key` (usage 13) and returns its encrypted part. A sequence
/// number other than `seq_number` (when one is expected) is `KRB_AP_ERR_BADORDER`.
pub fn open_krb_priv(key: &Key, message: &[u8], seq_number: Option<u32>) -> Result<EncKrbPrivPart> {
    let msg = wire::decode::<KrbPriv>(message)?;
    wire::check_header(&msg.pvno, &msg.msg_type, msg_type::KRB_PRIV)?;
    let part: EncKrbPrivPart = open(key, usage::KRB_PRIV_ENC_PART, &msg.enc_part).map_err(|e| e.context("KRB-PRIV"))?;
    if let Some(want) = seq_number {
        if part.seq_number != Some(want) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_BADORDER, "KRB-PRIV sequence number out of order"));
        }
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Enctype;

    #[test]
    fn framing_round_trips_and_rejects_bad_lengths() {
        let m = frame(VERSION_CHANGE, b"apreq", b"priv").unwrap();
        assert!(is_request(&m));
        let r = parse_request(&m).unwrap();
        assert_eq!((r.version, r.ap_req, r.krb_priv), (1, &b"apreq"[..], &b"priv"[..]));
        let rep = parse_reply(&m).unwrap();
        assert_eq!((rep.ap_rep, rep.body), (&b"apreq"[..], &b"priv"[..]));
        let mut bad = m.clone();
        bad[1] += 1;
        assert!(!is_request(&bad));
        assert!(parse_reply(&bad).is_err());
        let mut long_ap = m.clone();
        long_ap[5] = 200;
        assert_eq!(parse_request(&long_ap).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
        let mut v2 = m;
        v2[3] = 2;
        assert!(!is_request(&v2));
        assert!(!is_request(b"\x00\x06\x00"));
        assert_eq!(parse_result(&result_data(4, "too short")).unwrap(), (4, "too short".to_string()));
        assert!(parse_result(b"\x00").is_err());
    }

    #[test]
    fn krb_priv_round_trips_and_checks_the_sequence() {
        let key = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
        let addr: SocketAddr = "127.0.0.1:464".parse().unwrap();
        let m = build_krb_priv(&key, b"new password", Time::from_unix(1_700_000_000), Some(7), addr).unwrap();
        let part = open_krb_priv(&key, &m, Some(7)).unwrap();
        assert_eq!(&part.user_data[..], b"new password");
        assert_eq!(part.sender_address, host_address(addr));
        assert_eq!(open_krb_priv(&key, &m, Some(8)).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BADORDER);
        let other = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
        assert_eq!(open_krb_priv(&other, &m, None).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    }
}
