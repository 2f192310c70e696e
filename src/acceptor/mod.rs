//! The acceptor (service side of the AP exchange): verifies AP-REQs with the service's keytab
//! and answers AP-REPs for mutual authentication. It keeps no session keys: they are handed to
//! the caller inside [`Accepted`].

mod replay;

use std::sync::Arc;

pub use replay::ReplayCache;

use crate::crypto::{usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::proto::{self, ApReqCheck, AuthChecksum, TicketKey};
use crate::time::{Clock, SystemClock, Time};
use crate::wire::{self, ad_type, ap_options, AuthorizationData, Flags};

/// Acceptor settings.
#[derive(Clone, Debug)]
pub struct AcceptorConfig {
    /// Accepted clock skew, seconds (default 300).
    pub clock_skew: i64,
    /// Most authenticators remembered for replay detection (default 100,000).
    pub replay_capacity: usize,
    /// When set, only tickets for this service are accepted (`KRB_AP_ERR_NOT_US` otherwise);
    /// when `None`, any principal in the keytab.
    pub service: Option<Principal>,
}

impl Default for AcceptorConfig {
    fn default() -> AcceptorConfig {
        AcceptorConfig { clock_skew: 300, replay_capacity: 100_000, service: None }
    }
}

/// An accepted AP-REQ: who the client is, what its ticket says, the keys, and the AP-REP.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The authenticated client.
    pub client: Principal,
    /// The service the ticket was for.
    pub server: Principal,
    /// When the client authenticated to the KDC.
    pub auth_time: Time,
    /// Ticket start time.
    pub start_time: Time,
    /// Ticket end time.
    pub end_time: Time,
    /// Renewable until.
    pub renew_till: Option<Time>,
    /// Ticket flags.
    pub flags: Flags,
    /// Authorization data from the ticket and the authenticator, AD-IF-RELEVANT containers
    /// opened: (ad-type, bytes).
    pub authorization_data: Vec<(i32, Vec<u8>)>,
    /// The ticket's session key.
    pub session_key: Key,
    /// The client's subkey, when it sent one.
    pub subkey: Option<Key>,
    /// The client's initial sequence number, when it sent one.
    pub seq_number: Option<u32>,
    /// The authenticator checksum (type, bytes), e.g. the GSS-API 0x8003 structure.
    pub checksum: Option<(i32, Vec<u8>)>,
    /// The AP-REP to send back when the client asked for mutual authentication.
    pub ap_rep: Option<Vec<u8>>,
    /// The version of the service key that opened the ticket.
    pub kvno: u32,
    /// The enctype of the service key that opened the ticket.
    pub ticket_enctype: Enctype,
}

/// A service's side. `Send + Sync`: one acceptor serves many threads.
pub struct Acceptor {
    keytab: Keytab,
    config: AcceptorConfig,
    clock: Arc<dyn Clock>,
    replay: ReplayCache,
}

impl Acceptor {
    /// An acceptor with `keytab`, default settings and the system clock.
    pub fn new(keytab: Keytab) -> Acceptor {
        Acceptor::with_config(keytab, AcceptorConfig::default(), Arc::new(SystemClock))
    }

    /// An acceptor with explicit settings and clock.
    pub fn with_config(keytab: Keytab, config: AcceptorConfig, clock: Arc<dyn Clock>) -> Acceptor {
        let replay = ReplayCache::new(config.replay_capacity);
        Acceptor { keytab, config, clock, replay }
    }

    /// The keytab.
    pub fn keytab(&self) -> &Keytab {
        &self.keytab
    }

    /// The replay cache.
    pub fn replay_cache(&self) -> &ReplayCache {
        &self.replay
    }

    /// Verifies an AP-REQ at the clock's current time.
    pub fn accept(&self, ap_req: &[u8]) -> Result<Accepted> {
        self.accept_at(ap_req, self.clock.now())
    }

    /// Verifies an AP-REQ at `now`: opens the ticket with the keytab key of its kvno and enctype,
    /// the authenticator with the session key, and checks names, skew, ticket times and replay
    /// (through the one AP-REQ verification the TGS uses too).
    pub fn accept_at(&self, ap_req: &[u8], now: Time) -> Result<Accepted> {
        let req = proto::decode_ap_req(ap_req)?;
        let check = ApReqCheck {
            clock_skew: self.config.clock_skew,
            checksum: AuthChecksum::None,
            allow_invalid: false,
            replay: Some(&self.replay),
        };
        let v = proto::verify_ap_req(&req, usage::AP_REQ_AUTH, |s, e, k| self.service_key(s, e, k), now, &check)?;
        let ap_rep =
            if v.options.has(ap_options::MUTUAL_REQUIRED) { Some(proto::build_ap_rep(&v, None, None)?) } else { None };

        let mut authorization_data = Vec::new();
        flatten_authz(v.ticket.authorization_data.as_ref(), &mut authorization_data, 0);
        flatten_authz(v.authorization_data.as_ref(), &mut authorization_data, 0);
        let ticket = v.ticket;
        Ok(Accepted {
            client: v.client,
            server: v.server,
            auth_time: ticket.auth_time,
            start_time: ticket.start(),
            end_time: ticket.end_time,
            renew_till: ticket.renew_till,
            flags: ticket.flags,
            authorization_data,
            session_key: ticket.session_key,
            subkey: v.subkey,
            seq_number: v.seq_number,
            checksum: v.checksum,
            ap_rep,
            kvno: v.kvno,
            ticket_enctype: v.ticket_enctype,
        })
    }

    /// The keytab key for a ticket: `KRB_AP_ERR_NOT_US` when the ticket is for another service
    /// than the configured one or the keytab has no key for the server at all,
    /// `KRB_AP_ERR_BADKEYVER` when not that version, `KRB_AP_ERR_NOKEY` when not that enctype.
    fn service_key(&self, server: &Principal, etype: i32, kvno: Option<u32>) -> Result<TicketKey> {
        if self.config.service.as_ref().is_some_and(|s| s != server) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("the ticket is for {server}")));
        }
        if self.keytab.find(server, None, None).is_none() {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("no key for {server} in the keytab")));
        }
        let enctype = Enctype::from_i32(etype)
            .map_err(|_| Error::new(ErrorCode::KRB_AP_ERR_NOKEY, format!("ticket in unsupported enctype {etype}")))?;
        if let Some(v) = kvno {
            if self.keytab.find(server, Some(v), None).is_none() {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_BADKEYVER, format!("no key version {v} for {server}")));
            }
        }
        let entry = self.keytab.find(server, kvno, Some(enctype)).ok_or_else(|| {
            Error::new(ErrorCode::KRB_AP_ERR_NOKEY, format!("no {enctype} key for {server} in the keytab"))
        })?;
        let key = entry.key.key().cloned().ok_or_else(|| Error::new(ErrorCode::KRB_AP_ERR_NOKEY, "unusable key"))?;
        Ok(TicketKey { key, kvno: entry.kvno })
    }
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Lists authorization data, opening AD-IF-RELEVANT containers (to a bounded depth).
fn flatten_authz(ad: Option<&AuthorizationData>, out: &mut Vec<(i32, Vec<u8>)>, depth: usize) {
    for e in ad.into_iter().flatten() {
        if e.r#type == ad_type::IF_RELEVANT && depth < 4 {
            if let Ok(inner) = wire::decode::<AuthorizationData>(&e.data) {
                flatten_authz(Some(&inner), out, depth + 1);
                continue;
            }
        }
        out.push((e.r#type, e.data.to_vec()));
    }
}
