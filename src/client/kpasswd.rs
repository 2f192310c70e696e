//! Changing one's password (RFC 3244): an INITIAL ticket for `kadmin/changepw` from the old
//! password, then one request to the change-password service with the new one.

use std::net::{SocketAddr, UdpSocket};

use crate::crypto::Key;
use crate::error::{Error, ErrorCode, Result};
use crate::kdc::changepw_principal;
use crate::proto;
use crate::proto::kpasswd::{self as kp, result_code as rc};
use crate::wire::{self, msg_type, KrbError};

use super::network::resolve;
use super::{Client, Network, Transport};

impl Client {
    /// Changes `user`'s password from `old` to `new` through the change-password service
    /// `kpasswd` ([`Network::kpasswd`]). A password the
    /// realm's policy refuses is `KTIX_ERR_INVALID_ARGUMENT` with the server's reason (result
    /// code 4); another refusal is `KRB_ERR_GENERIC` naming the result code; a wrong old
    /// password fails in the AS exchange as a login does.
    pub fn change_password(&self, user: &str, old: &str, new: &str, kpasswd: &Network) -> Result<()> {
        let me = self.principal(user)?;
        let cred = self.initial_ticket_with_password(user, old, &changepw_principal(me.realm()))?;
        let subkey = Key::random(cred.key.enctype())?;
        let seq = Self::nonce()? & 0x3fff_ffff;
        let sender = local_address(kpasswd)?;
        let (request, ctime) = kp::change_request(&cred, &subkey, seq, self.now(), sender, new.as_bytes())?;
        let reply = kpasswd.send(&request)?;
        let (code, text) = read_reply(&reply, &cred.key, &subkey, ctime)?;
        match code {
            rc::SUCCESS => Ok(()),
            rc::SOFTERROR => Err(Error::invalid(format!("password change rejected (result code 4): {text}"))),
            c => Err(Error::new(
                ErrorCode::KRB_ERR_GENERIC,
                format!("password change failed (result code {c}, {}): {text}", rc::name(c)),
            )),
        }
    }
}

/// The result of a change-password reply: from the KRB-PRIV after the AP-REP, or from the
/// e-data of a KRB-ERROR.
fn read_reply(reply: &[u8], session_key: &Key, subkey: &Key, ctime: crate::time::Time) -> Result<(u16, String)> {
    if wire::message_tag(reply) == Some(msg_type::KRB_ERROR) {
        return Err(proto::error_from_krb_error(&wire::decode::<KrbError>(reply)?));
    }
    let parts = kp::parse_reply(reply)?;
    if parts.ap_rep.is_empty() {
        let err = wire::decode::<KrbError>(parts.body)?;
        return match err.e_data.as_deref().map(kp::parse_result) {
            Some(Ok((code, text))) if code != rc::SUCCESS => Err(Error::new(
                proto::error_from_krb_error(&err).code(),
                format!("password change refused (result code {code}, {}): {text}", rc::name(code)),
            )),
            _ => Err(proto::error_from_krb_error(&err)),
        };
    }
    let rep = proto::verify_ap_rep(parts.ap_rep, session_key, ctime)?;
    let part = kp::open_krb_priv(subkey, parts.body, rep.seq_number)?;
    kp::parse_result(&part.user_data)
}

/// The local address that reaches the first change-password server: the KRB-PRIV's sender
/// address, which the server may compare with where the request came from.
fn local_address(kpasswd: &Network) -> Result<SocketAddr> {
    let first = kpasswd.kdcs().first().ok_or_else(|| Error::invalid("no change-password server"))?;
    let target = *resolve(first)
        .map_err(|why| Error::new(ErrorCode::KTIX_ERR_NETWORK, format!("change-password server {first:?}: {why}")))?
        .first()
        .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NETWORK, format!("{first}: no address")))?;
    let bind: SocketAddr = if target.is_ipv4() { "0.0.0.0:0".parse() } else { "[::]:0".parse() }
        .map_err(|_| Error::invalid("wildcard address"))?;
    let probe = UdpSocket::bind(bind).map_err(|e| Error::io("udp", e))?;
    probe.connect(target).map_err(|e| Error::io(format!("udp {target}"), e))?;
    probe.local_addr().map_err(|e| Error::io("udp", e))
}
