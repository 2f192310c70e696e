//! The client side of the AP exchange: the AP-REQ, and the check of the AP-REP.

use crate::crypto::{usage, Key};
use crate::error::Result;
use crate::principal::Principal;
use crate::proto::{self, NewApReq};
use crate::time::Time;

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
        let rep = proto::verify_ap_rep(ap_rep, &self.session_key, self.ctime)?;
        self.server_subkey = rep.subkey;
        self.server_seq_number = rep.seq_number;
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
        let (ap_req, ctime) = proto::build_ap_req(&NewApReq {
            seq_number: Some(seq_number),
            mutual,
            ..NewApReq::with_credential(&cred, usage::AP_REQ_AUTH, now, &subkey)
        })?;
        let ctx = ApContext {
            server: cred.server,
            session_key: cred.key,
            subkey,
            ctime,
            seq_number,
            mutual,
            server_subkey: None,
            server_seq_number: None,
            verified: false,
        };
        Ok((ap_req, ctx))
    }
}
