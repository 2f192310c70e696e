//! The acceptor (service side of the AP exchange): verifies AP-REQs with the service's keytab
//! and answers AP-REPs for mutual authentication. It keeps no session keys: they are handed to
//! the caller inside [`Accepted`].

mod keys;
mod replay;

use std::sync::Arc;

pub use replay::{
    FileReplayCache, ReplayCache, ReplayCacheName, ReplayStore, DEFAULT_REPLAY_FILE_SIZE, DEFAULT_REPLAY_MAX_BYTES,
};

use self::keys::Keys;
use self::replay::ReplayLimits;

use crate::crypto::{usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::proto::{self, ApReqCheck, AuthChecksum, TicketKey, VerifiedApReq};
use crate::time::{Clock, SystemClock, Time};
use crate::wire::{self, ad_type, ap_options, AuthorizationData, Flags};

/// Acceptor settings.
#[derive(Clone, Debug)]
pub struct AcceptorConfig {
    /// Accepted clock skew, seconds (default 300).
    pub clock_skew: i64,
    /// Most live authenticators an in-memory replay cache keeps (default `usize::MAX`: no count
    /// limit, `replay_max_bytes` applies).
    pub replay_capacity: usize,
    /// When set, only tickets for this service are accepted (`KRB_AP_ERR_NOT_US` otherwise);
    /// when `None`, any principal in the keytab.
    pub service: Option<Principal>,
    /// Where authenticators are remembered. `None` (the default): as the environment says
    /// ([`ReplayCacheName::from_env`]: `KRB5RCACHENAME`, `KRB5RCACHETYPE`), else in memory.
    pub replay_cache: Option<ReplayCacheName>,
    /// The memory ceiling of an in-memory replay cache, bytes (default
    /// [`DEFAULT_REPLAY_MAX_BYTES`], 1 GiB; see [`ReplayCache`] for what fits).
    pub replay_max_bytes: usize,
    /// The size of a replay-cache file this acceptor creates, bytes (default
    /// [`DEFAULT_REPLAY_FILE_SIZE`], 128 MiB; an existing file keeps its size).
    pub replay_file_size: u64,
}

impl Default for AcceptorConfig {
    fn default() -> AcceptorConfig {
        AcceptorConfig {
            clock_skew: 300,
            replay_capacity: usize::MAX,
            service: None,
            replay_cache: None,
            replay_max_bytes: DEFAULT_REPLAY_MAX_BYTES,
            replay_file_size: DEFAULT_REPLAY_FILE_SIZE,
        }
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
///
/// **Replay cache.** Acceptors share caches: every acceptor in the process for the same service
/// principal(s) (the configured `service`, else the keytab's principals), on the system clock (or
/// on one and the same clock object) and with the same skew and memory limits uses one in-memory
/// cache, so `Acceptor::new(keytab).accept(..)` on each request still catches replays. With a file
/// cache (`KRB5RCACHENAME=dfl:` or `file2:/path`, or [`AcceptorConfig::replay_cache`]) the
/// processes of a service share one cache too. See [`ReplayCacheName`] for the names and the
/// default.
///
/// **Keytab.** An acceptor built from a keytab loaded from a file ([`Keytab::load`]) follows the
/// file: it checks the file's stamp (device, inode, size, times) at most once a second, and at
/// once when a ticket needs a key it does not have, and re-reads the file when it changed. A new
/// key version is so used without a restart, and old versions work as long as they are in the
/// file. A file that fails to read or parse (say, caught mid-rewrite) is logged and the last good
/// keytab kept; it is read again when it changes again.
pub struct Acceptor {
    keys: Keys,
    config: AcceptorConfig,
    clock: Arc<dyn Clock>,
    replay: std::result::Result<ReplayStore, Error>,
}

/// What `replay_cache` shows when the replay cache could not be opened.
static NO_REPLAY_STORE: ReplayStore = ReplayStore::None;

impl Acceptor {
    /// An acceptor with `keytab`, default settings and the system clock.
    pub fn new(keytab: Keytab) -> Acceptor {
        Acceptor::with_config(keytab, AcceptorConfig::default(), Arc::new(SystemClock))
    }

    /// An acceptor with explicit settings and clock.
    ///
    /// When the replay cache cannot be opened (a bad `KRB5RCACHENAME`, an unusable file), every
    /// [`Acceptor::accept`] fails with that error: requests are never accepted without replay
    /// detection that was asked for. [`Acceptor::try_with_config`] reports it at once instead.
    pub fn with_config(keytab: Keytab, config: AcceptorConfig, clock: Arc<dyn Clock>) -> Acceptor {
        let services: Vec<String> = match &config.service {
            Some(s) => vec![s.to_string()],
            None => keytab.principals().iter().map(|p| p.to_string()).collect(),
        };
        let limits = ReplayLimits {
            clock_skew: config.clock_skew,
            max_bytes: config.replay_max_bytes,
            max_entries: config.replay_capacity,
            file_size: config.replay_file_size,
        };
        let replay = match &config.replay_cache {
            Some(name) => Ok(name.clone()),
            None => ReplayCacheName::from_env(),
        }
        .and_then(|name| ReplayStore::shared(&name, &services, &clock, limits));
        Acceptor { keys: Keys::new(keytab), config, clock, replay }
    }

    /// [`Acceptor::with_config`], failing at once when the replay cache cannot be opened.
    pub fn try_with_config(keytab: Keytab, config: AcceptorConfig, clock: Arc<dyn Clock>) -> Result<Acceptor> {
        let acceptor = Acceptor::with_config(keytab, config, clock);
        match &acceptor.replay {
            Ok(_) => Ok(acceptor),
            Err(e) => Err(e.clone()),
        }
    }

    /// The keytab as the acceptor uses it now (after any reload).
    pub fn keytab(&self) -> Keytab {
        (*self.keys.current(false)).clone()
    }

    /// The replay cache (shared with the other acceptors of the service; [`ReplayStore::None`]
    /// when replay detection is off or the cache could not be opened).
    pub fn replay_cache(&self) -> &ReplayStore {
        self.replay.as_ref().unwrap_or(&NO_REPLAY_STORE)
    }

    /// Verifies an AP-REQ at the clock's current time.
    pub fn accept(&self, ap_req: &[u8]) -> Result<Accepted> {
        self.accept_at(ap_req, self.clock.now())
    }

    /// Verifies an AP-REQ at `now`: opens the ticket with the keytab key of its kvno and enctype,
    /// the authenticator with the session key, and checks names, skew, ticket times and replay
    /// (through the one AP-REQ verification the TGS uses too).
    pub fn accept_at(&self, ap_req: &[u8], now: Time) -> Result<Accepted> {
        let v = self.verify_at(ap_req, now)?;
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

    /// The one verification behind [`Acceptor::accept_at`], for the callers that answer the
    /// AP-REQ themselves (the GSS-API acceptor, with its own subkey and sequence number in the
    /// AP-REP): the verified request, its replay recorded.
    pub(crate) fn verify_at(&self, ap_req: &[u8], now: Time) -> Result<VerifiedApReq> {
        let replay = match &self.replay {
            Ok(ReplayStore::None) => None,
            Ok(store) => Some(store as &dyn proto::ReplayGuard),
            Err(e) => return Err(e.clone().context("replay cache")),
        };
        let req = proto::decode_ap_req(ap_req)?;
        let check = ApReqCheck {
            clock_skew: self.config.clock_skew,
            checksum: AuthChecksum::None,
            allow_invalid: false,
            replay,
        };
        let key_for = |s: &Principal, e: i32, k: Option<u32>| {
            let keytab = self.keys.current(false);
            match self.service_key(&keytab, s, e, k) {
                Err(err) if self.keys.reloads() && is_key_miss(&err) => {
                    // Perhaps a key the file has gained since: look now, not at the next tick.
                    let fresh = self.keys.current(true);
                    if Arc::ptr_eq(&fresh, &keytab) {
                        Err(err)
                    } else {
                        self.service_key(&fresh, s, e, k)
                    }
                }
                other => other,
            }
        };
        proto::verify_ap_req(&req, usage::AP_REQ_AUTH, key_for, now, &check)
    }

    /// The acceptor's clock (the GSS-API contexts built on it keep time with it).
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The settings.
    pub fn config(&self) -> &AcceptorConfig {
        &self.config
    }

    /// The keytab key for a ticket: `KRB_AP_ERR_NOT_US` when the ticket is for another service
    /// than the configured one or the keytab has no key for the server at all,
    /// `KRB_AP_ERR_BADKEYVER` when not that version, `KRB_AP_ERR_NOKEY` when not that enctype.
    fn service_key(&self, keytab: &Keytab, server: &Principal, etype: i32, kvno: Option<u32>) -> Result<TicketKey> {
        if self.config.service.as_ref().is_some_and(|s| s != server) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("the ticket is for {server}")));
        }
        // The key is there (the common case): one lookup. Each check below passes whenever this
        // one finds the key, so they only run to name what is missing.
        if let Some(entry) = Enctype::from_i32(etype).ok().and_then(|e| keytab.find(server, kvno, Some(e))) {
            if let Some(key) = entry.key.key() {
                return Ok(TicketKey { key: key.clone(), kvno: entry.kvno });
            }
        }
        if keytab.find(server, None, None).is_none() {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("no key for {server} in the keytab")));
        }
        let enctype = Enctype::from_i32(etype)
            .map_err(|_| Error::new(ErrorCode::KRB_AP_ERR_NOKEY, format!("ticket in unsupported enctype {etype}")))?;
        if let Some(v) = kvno {
            if keytab.find(server, Some(v), None).is_none() {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_BADKEYVER, format!("no key version {v} for {server}")));
            }
        }
        let entry = keytab.find(server, kvno, Some(enctype)).ok_or_else(|| {
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

/// Whether a key lookup failed for want of a key (which a newer keytab file might have).
fn is_key_miss(e: &Error) -> bool {
    [ErrorCode::KRB_AP_ERR_NOT_US, ErrorCode::KRB_AP_ERR_BADKEYVER, ErrorCode::KRB_AP_ERR_NOKEY].contains(&e.code())
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
