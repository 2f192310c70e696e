//! The change-password service (RFC 3244) of a [`Kdc`]: [`Kdc::kpasswd`] turns a request into a
//! reply as [`Kdc::process`] does for the AS and TGS, and the server serves it on its
//! `kpasswd_listen` addresses over UDP and TCP.
//!
//! The AP-REQ is verified by the shared [`proto::open_ap_req`] with the key of
//! `kadmin/changepw@REALM`, and the ticket must be INITIAL (from a password, not a TGT), as MIT's
//! kadmind requires. The new password travels in a KRB-PRIV sealed in the authenticator's
//! subkey; it is checked against the principal's policy and set by [`Kdc::change_keys`], so a
//! refused password is `KRB5_KPASSWD_SOFTERROR` (4) with the policy's message.

use std::net::SocketAddr;

use super::{ExchangeKind, Kdc, NewKeys, Outcome, PrincipalEntry, RequestFacts};
use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::proto::kpasswd::{self as kp, result_code as rc};
use crate::proto::{self, ApReqCheck, AuthChecksum, ReplayGuard};
use crate::time::Time;
use crate::wire::ticket_flags;

/// The principal whose key opens change-password tickets: `kadmin/changepw@REALM`.
pub fn changepw_principal(realm: &str) -> Principal {
    Principal::parse("kadmin/changepw", Some(realm)).expect("a valid principal name")
}

impl Kdc {
    /// Creates `kadmin/changepw@REALM` (random keys, as `ktix db init` does) when the realm has
    /// none, so the change-password service can accept tickets. Returns the principal.
    pub fn ensure_changepw(&self) -> Result<Principal> {
        let p = changepw_principal(self.realm());
        if self.store().get(&p)?.is_none() {
            let mut e = PrincipalEntry::new(p.clone());
            e.set_random_keys(&self.policy().enctypes, 1)?;
            self.put_principal(e)?;
        }
        Ok(p)
    }

    /// Answers one change-password request (RFC 3244) that arrived on `local` (the address
    /// the reply's KRB-PRIV names as its sender, which MIT's client checks). Input not shaped
    /// like a request (its length field, version 1 or 0xff80) gets no reply, as
    /// [`Kdc::process`]. A request that does not authenticate is answered with a KRB-ERROR
    /// carrying the result; one that does, with an AP-REP and a KRB-PRIV with the result.
    /// `replay` remembers authenticators (a replayed request is refused).
    pub fn kpasswd(&self, request: &[u8], now: Time, local: SocketAddr, replay: Option<&dyn ReplayGuard>) -> Outcome {
        let mut facts = RequestFacts::new(ExchangeKind::Kpasswd);
        if !kp::is_request(request) {
            return Outcome::ignored(request);
        }
        let reply = match self.authenticate_kpasswd(request, now, replay, &mut facts) {
            Ok((verified, krb_priv, version)) => {
                let (code, text) = match version {
                    kp::VERSION_CHANGE => self.change_password(&verified, krb_priv),
                    _ => (rc::BAD_VERSION, "set-password (version 0xff80) is not supported".to_string()),
                };
                if code != rc::SUCCESS {
                    facts.code = ErrorCode::KRB_ERR_GENERIC;
                    facts.detail = Some(format!("result {code} ({}): {text}", rc::name(code)));
                }
                self.kpasswd_priv_reply(&verified, code, &text, now, local)
            }
            Err(err) => {
                facts.code = if err.code().is_kerberos() { err.code() } else { ErrorCode::KRB_ERR_GENERIC };
                facts.detail = Some(err.message().to_string());
                let code = if err.code() == ErrorCode::KTIX_ERR_MALFORMED { rc::MALFORMED } else { rc::AUTHERROR };
                self.kpasswd_error_reply(&err, code, now, &facts)
            }
        };
        match reply {
            Ok(reply) => Outcome { reply, facts },
            Err(err) => {
                // Not even an error reply could be built (an oversized message): log, no reply.
                facts.code = ErrorCode::KRB_ERR_GENERIC;
                facts.detail = Some(err.message().to_string());
                Outcome { reply: Vec::new(), facts }
            }
        }
    }

    /// Splits the request and verifies its AP-REQ for `kadmin/changepw` with an INITIAL ticket.
    fn authenticate_kpasswd<'a>(
        &self,
        request: &'a [u8],
        now: Time,
        replay: Option<&dyn ReplayGuard>,
        facts: &mut RequestFacts,
    ) -> Result<(proto::VerifiedApReq, &'a [u8], u16)> {
        let parts = kp::parse_request(request)?;
        let ap_req = proto::decode_ap_req(parts.ap_req)?;
        let changepw = changepw_principal(self.realm());
        facts.service = Some(changepw.clone());
        let key_for = |server: &Principal, etype: i32, kvno: Option<u32>| {
            if *server != changepw {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("{server} is not {changepw}")));
            }
            self.ticket_key_of(&*self.server_entry(server, now)?, etype, kvno)
        };
        let opened = proto::open_ap_req(&ap_req, usage::AP_REQ_AUTH, key_for)?;
        facts.client = Some(opened.ticket().client.clone());
        let check = ApReqCheck {
            clock_skew: self.policy().clock_skew,
            checksum: AuthChecksum::None,
            allow_invalid: false,
            replay,
        };
        let verified = opened.verify(now, &check)?;
        Ok((verified, parts.krb_priv, parts.version))
    }

    /// Opens the new password and sets it: the result code and text.
    fn change_password(&self, verified: &proto::VerifiedApReq, krb_priv: &[u8]) -> (u16, String) {
        if !verified.ticket.flags.has(ticket_flags::INITIAL) {
            return (rc::AUTHERROR, "the ticket must be an initial ticket, from a password".to_string());
        }
        if verified.client.realm() != self.realm() {
            return (rc::ACCESSDENIED, format!("{} is not in realm {}", verified.client, self.realm()));
        }
        let part = match proto::kpasswd::open_krb_priv(priv_key(verified), krb_priv, verified.seq_number) {
            Ok(p) => p,
            Err(e) => return (rc::MALFORMED, format!("the KRB-PRIV does not open: {}", e.message())),
        };
        let password = zeroize::Zeroizing::new(part.user_data.to_vec());
        match self.change_keys(&verified.client, NewKeys::Password(&password), None, false) {
            Ok(_) => (rc::SUCCESS, "Password changed".to_string()),
            Err(e) if e.code() == ErrorCode::KTIX_ERR_INVALID_ARGUMENT => (rc::SOFTERROR, e.message().to_string()),
            Err(e) => (rc::HARDERROR, format!("the password could not be changed: {}", e.message())),
        }
    }

    /// The reply of an authenticated request: an AP-REP carrying a sequence number and the
    /// result in a KRB-PRIV with that sequence number, sealed in the client's subkey.
    fn kpasswd_priv_reply(
        &self,
        verified: &proto::VerifiedApReq,
        code: u16,
        text: &str,
        now: Time,
        local: SocketAddr,
    ) -> Result<Vec<u8>> {
        let seq = random_seq()?;
        let ap_rep = proto::build_ap_rep(verified, None, Some(seq))?;
        let data = kp::result_data(code, text);
        let krb_priv = kp::build_krb_priv(priv_key(verified), &data, now, Some(seq), local)?;
        kp::frame(kp::VERSION_CHANGE, &ap_rep, &krb_priv)
    }

    /// The reply of a request that did not authenticate: a KRB-ERROR with the result as e-data.
    fn kpasswd_error_reply(&self, err: &Error, code: u16, now: Time, facts: &RequestFacts) -> Result<Vec<u8>> {
        let data = kp::result_data(code, proto::e_text(err.code()));
        let krb_error = self.error_reply(err, now, facts.client.as_ref(), facts.service.as_ref(), Some(&data));
        kp::frame(kp::VERSION_CHANGE, &[], &krb_error)
    }
}

/// The key of the KRB-PRIVs: the authenticator's subkey, else the ticket's session key (as
/// MIT's auth context falls back).
fn priv_key(verified: &proto::VerifiedApReq) -> &Key {
    verified.subkey.as_ref().unwrap_or(&verified.ticket.session_key)
}

fn random_seq() -> Result<u32> {
    let mut b = [0u8; 4];
    crate::crypto::random_bytes(&mut b)?;
    Ok(u32::from_be_bytes(b) & 0x3fff_ffff)
}
