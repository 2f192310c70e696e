//! The client side of the AP exchange: the AP-REQ, and the check of the AP-REP.

use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::proto;
use crate::time::Time;
use crate::wire::{
    self, ap_options, msg_type, ApOptions, ApRep, ApReq, Authenticator, EncApRepPart, Flags, KrbError, Ticket,
};

use super::Client;

/// What the client remembers of an AP-REQ it sent, to check the server's AP-REP.
#[derive(Debug)]
pub struct ApContext {
    server: Principal,
    session_key: Key,
    subkey: Key,
    ctime: Time,
    seq_number: u32,
    mutual: bool,
    server_subkey: Option<Key>,
    server_seq_number: Option<u32>,
    verified: bool,
}

impl ApContext {
    /// The service.
    pub fn server(&self) -> &Principal {
        &self.server
    }

    /// The ticket's session key.
    pub fn session_key(&self) -> &Key {
        &self.session_key
    }

    /// The subkey the client put in its authenticator.
    pub fn subkey(&self) -> &Key {
        &self.subkey
    }

    /// The client's initial sequence number.
    pub fn seq_number(&self) -> u32 {
        self.seq_number
    }

    /// Whether mutual authentication was requested.
    pub fn mutual(&self) -> bool {
        self.mutual
    }

    /// After [`ApContext::verify`]: the subkey the server chose, if any.
    pub fn server_subkey(&self) -> Option<&Key> {
        self.server_subkey.as_ref()
    }

    /// After [`ApContext::verify`]: the server's initial sequence number, if any.
    pub fn server_seq_number(&self) -> Option<u32> {
        self.server_seq_number
    }

    /// Whether the server has proved it holds the session key.
    pub fn is_verified(&self) -> bool {
        self.verified
    }

    /// Checks the server's AP-REP: it must open with the session key (usage 12) and echo the
    /// authenticator's time exactly, else `KRB_AP_ERR_MUT_FAIL`. A KRB-ERROR from the server is
    /// returned as the error it carries.
    pub fn verify(&mut self, ap_rep: &[u8]) -> Result<()> {
        if wire::message_tag(ap_rep) == Some(msg_type::KRB_ERROR) {
            return Err(proto::error_from_krb_error(&wire::decode::<KrbError>(ap_rep)?));
        }
        let rep = wire::decode::<ApRep>(ap_rep)?;
        wire::check_header(&rep.pvno, &rep.msg_type, msg_type::AP_REP)?;
        let mut part: EncApRepPart =
            proto::open(&self.session_key, usage::AP_REP_ENC_PART, &rep.enc_part).map_err(|e| {
                Error::new(
                    ErrorCode::KRB_AP_ERR_MUT_FAIL,
                    format!("the AP-REP does not open with the session key: {}", e.message()),
                )
            })?;
        let server_subkey = part.subkey.as_mut().map(proto::take_key).transpose()?;
        let t = Time::from_unix_parts(wire::time_from(&part.ctime).unix(), wire::micros(&part.cusec)?);
        if t != self.ctime {
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_MUT_FAIL,
                "the AP-REP does not echo the authenticator's time",
            ));
        }
        self.server_subkey = server_subkey;
        self.server_seq_number = part.seq_number;
        self.verified = true;
        Ok(())
    }
}

impl Client {
    /// An AP-REQ for `service` (getting the service ticket from the cache or the KDC) and the
    /// context to check the server's reply. With `mutual`, the server must answer an AP-REP.
    pub fn ap_req(&self, service: &str, mutual: bool) -> Result<(Vec<u8>, ApContext)> {
        let cred = self.service_ticket(service)?;
        let now = self.now();
        let subkey = Key::random(cred.key.enctype())?;
        let seq_number = Self::nonce()?;
        let mut auth = Authenticator {
            authenticator_vno: wire::int(wire::PVNO),
            crealm: wire::kstring(cred.client.realm())?,
            cname: wire::principal_name(&cred.client)?,
            cksum: None,
            cusec: wire::int(now.subsec_micros().into()),
            ctime: wire::kerberos_time(now),
            subkey: Some(proto::encryption_key(&subkey)),
            seq_number: Some(seq_number),
            authorization_data: None,
        };
        let authenticator = proto::seal(&cred.key, usage::AP_REQ_AUTH, &auth, None);
        if let Some(k) = auth.subkey.as_mut() {
            proto::wipe_key(k);
        }
        let ap_req = ApReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::AP_REQ.into()),
            ap_options: ApOptions(Flags::NONE.with_if(ap_options::MUTUAL_REQUIRED, mutual).to_bits()),
            ticket: wire::decode::<Ticket>(&cred.ticket).map_err(|e| e.context("cached ticket"))?,
            authenticator: authenticator?,
        };
        let ctx = ApContext {
            server: cred.server.clone(),
            session_key: cred.key.clone(),
            subkey,
            ctime: Time::from_unix_parts(now.unix(), now.subsec_micros()),
            seq_number,
            mutual,
            server_subkey: None,
            server_seq_number: None,
            verified: false,
        };
        Ok((wire::encode(&ap_req)?, ctx))
    }
}
