//! The client: logs in (AS exchange with pre-authentication), gets and reuses service tickets
//! (TGS exchange, single-flight per service), builds AP-REQs and checks AP-REPs, logs out.

mod ap;
mod from_config;
mod kpasswd;
mod login;
mod network;
mod tgs;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

pub use ap::ApContext;
pub use from_config::ClientSetup;
pub use network::{Network, DEFAULT_KDC_PORT, DEFAULT_UDP_PREFERENCE_LIMIT};
pub use transport::{InProcess, Recording, Transport};

use crate::ccache::{CCache, Credential};
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::{Clock, SystemClock};
use crate::wire::{self, msg_type, KrbError};

/// Client settings (the `[libdefaults]` a client uses).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The realm (default realm for names without `@REALM`).
    pub realm: String,
    /// Ticket lifetime to ask for, seconds (default 24 h; the KDC caps it by policy).
    pub ticket_lifetime: i64,
    /// Renewable lifetime to ask for, seconds (`None`: only RENEWABLE-OK).
    pub renew_lifetime: Option<i64>,
    /// Ask for forwardable tickets.
    pub forwardable: bool,
    /// Enctypes to ask for in the AS exchange (`default_tkt_enctypes`), in preference order.
    pub enctypes: Vec<Enctype>,
    /// Session-key enctypes to ask for in the TGS exchange (`default_tgs_enctypes`).
    pub tgs_enctypes: Vec<Enctype>,
    /// Clock skew allowance, seconds: cached tickets are replaced this long before they end.
    pub clock_skew: i64,
}

impl ClientConfig {
    /// Defaults for `realm`.
    pub fn new(realm: &str) -> ClientConfig {
        ClientConfig {
            realm: realm.to_string(),
            ticket_lifetime: 24 * 3600,
            renew_lifetime: None,
            forwardable: true,
            enctypes: Enctype::ALL.to_vec(),
            tgs_enctypes: Enctype::ALL.to_vec(),
            clock_skew: 300,
        }
    }
}

/// How many exchanges a client has made (for tests and the demo).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// AS requests sent (a login with pre-authentication sends two).
    pub as_requests: u64,
    /// TGS requests sent.
    pub tgs_requests: u64,
}

/// A principal's side of Kerberos. `Send + Sync`: share one client between threads.
pub struct Client {
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    ccache: CCache,
    clock: Arc<dyn Clock>,
    inflight: Mutex<HashMap<Principal, Arc<Mutex<()>>>>,
    as_requests: AtomicU64,
    tgs_requests: AtomicU64,
}

impl Client {
    /// A client for `realm` that reaches its KDC through `transport` and keeps tickets in `ccache`.
    pub fn new(config: ClientConfig, transport: Arc<dyn Transport>, ccache: CCache) -> Client {
        Client::with_clock(config, transport, ccache, Arc::new(SystemClock))
    }

    /// Like [`Client::new`] with an explicit clock.
    pub fn with_clock(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        ccache: CCache,
        clock: Arc<dyn Clock>,
    ) -> Client {
        Client {
            config,
            transport,
            ccache,
            clock,
            inflight: Mutex::new(HashMap::new()),
            as_requests: AtomicU64::new(0),
            tgs_requests: AtomicU64::new(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The ticket cache.
    pub fn ccache(&self) -> &CCache {
        &self.ccache
    }

    /// Exchange counters.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            as_requests: self.as_requests.load(Ordering::Relaxed),
            tgs_requests: self.tgs_requests.load(Ordering::Relaxed),
        }
    }

    /// Parses a principal name in the client's realm.
    pub fn principal(&self, name: &str) -> Result<Principal> {
        Principal::parse(name, Some(&self.config.realm))
    }

    /// The logged-in principal (the cache's owner).
    pub fn logged_in(&self) -> Result<Principal> {
        self.ccache
            .principal()?
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NOT_LOGGED_IN, "no credentials: log in first"))
    }

    /// The TGT in the cache.
    pub fn tgt(&self) -> Result<Credential> {
        let me = self.logged_in()?;
        let tgs = Principal::krbtgt(me.realm());
        self.ccache
            .get(&tgs)?
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NOT_LOGGED_IN, "no ticket-granting ticket: log in first"))
    }

    /// Logs off: flushes the cache, dropping (and so zeroizing) every ticket's session key.
    pub fn logout(&self) -> Result<()> {
        self.ccache.destroy()
    }

    /// Sends a request and returns the reply, or the KRB-ERROR it got as an [`Error`].
    fn exchange(&self, request: &[u8], expect: u8) -> Result<Vec<u8>> {
        let reply = self.transport.send(request)?;
        match wire::message_tag(&reply) {
            Some(t) if t == expect => Ok(reply),
            Some(msg_type::KRB_ERROR) => {
                let e = wire::decode::<KrbError>(&reply)?;
                Err(crate::proto::error_from_krb_error(&e))
            }
            _ => Err(Error::new(
                ErrorCode::KTIX_ERR_REPLY_MISMATCH,
                format!("the KDC's reply is not a message of type {expect}"),
            )),
        }
    }

    pub(crate) fn now(&self) -> crate::time::Time {
        self.clock.now()
    }

    /// The client's clock (the GSS-API contexts built on it keep time with it).
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn nonce() -> Result<u32> {
        let mut b = [0u8; 4];
        crate::crypto::random_bytes(&mut b)?;
        Ok(u32::from_be_bytes(b) & 0x7fff_ffff)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("realm", &self.config.realm).field("ccache", &self.ccache).finish()
    }
}
