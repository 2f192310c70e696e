//! The KDC: a realm's principal database and policy, and the AS and TGS exchanges.
//!
//! [`Kdc::handle`] is pure: request bytes and the current time in, reply bytes out (an AS-REP,
//! a TGS-REP or a KRB-ERROR, or nothing for input that is not shaped like a KDC request: a KDC
//! must never be a reflector). Transport is separate.

mod as_exchange;
pub mod db;
mod realm;
mod request;
mod server;
mod tgs_exchange;

use std::sync::Arc;

pub use db::sqlite;
pub use db::{stash_path, DatabaseInfo, KeyEntry, MasterKey, MemoryStore, PrincipalEntry, PrincipalStore, SqliteStore};
pub use realm::{open_database, open_realm, MasterPasswordPrompt, PrincipalOptions, RealmSpec};
pub use request::{ExchangeKind, Outcome, RequestFacts};
pub use server::{
    silent_logger, stderr_logger, KdcServer, Protocol, RequestLog, RequestLogger, ServerConfig, ServerStats,
    DEFAULT_MAX_DGRAM_REPLY_SIZE, MAX_UDP_PAYLOAD,
};

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::proto::{self, ErrorReply};
use crate::time::Time;

/// Realm-wide policy.
#[derive(Clone, Debug)]
pub struct RealmPolicy {
    /// Longest ticket life, seconds (default 8 hours).
    pub max_life: i64,
    /// Longest renewable life, seconds (default 7 days).
    pub max_renewable_life: i64,
    /// Accepted clock skew, seconds (default 300).
    pub clock_skew: i64,
    /// Enctypes the realm issues keys and session keys of, strongest first (default 20, 18, 19, 17).
    pub enctypes: Vec<Enctype>,
}

impl Default for RealmPolicy {
    fn default() -> RealmPolicy {
        RealmPolicy {
            max_life: 8 * 3600,
            max_renewable_life: 7 * 24 * 3600,
            clock_skew: 300,
            enctypes: Enctype::ALL.to_vec(),
        }
    }
}

/// A Kerberos realm's KDC. `Send + Sync`: many threads may call [`Kdc::handle`] at once.
pub struct Kdc {
    realm: String,
    store: Arc<dyn PrincipalStore>,
    policy: RealmPolicy,
}

impl Kdc {
    /// An in-memory realm with default policy and a fresh `krbtgt/REALM` with random keys.
    pub fn new(realm: &str) -> Result<Kdc> {
        Kdc::with_store(realm, Arc::new(MemoryStore::new()), RealmPolicy::default())
    }

    /// A realm over `store`; creates `krbtgt/REALM` with random keys when the store has none.
    pub fn with_store(realm: &str, store: Arc<dyn PrincipalStore>, policy: RealmPolicy) -> Result<Kdc> {
        if realm.is_empty() {
            return Err(Error::invalid("the realm name is empty"));
        }
        if policy.enctypes.is_empty() {
            return Err(Error::invalid("the realm supports no enctype"));
        }
        let kdc = Kdc { realm: realm.to_string(), store, policy };
        let tgs = Principal::krbtgt(realm);
        if kdc.store.get(&tgs)?.is_none() {
            let mut e = PrincipalEntry::new(tgs);
            e.set_random_keys(&kdc.policy.enctypes, 1)?;
            kdc.store.put(e)?;
        }
        Ok(kdc)
    }

    /// The realm name.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The realm policy.
    pub fn policy(&self) -> &RealmPolicy {
        &self.policy
    }

    /// The principal store.
    pub fn store(&self) -> &Arc<dyn PrincipalStore> {
        &self.store
    }

    /// Parses `name` in this realm.
    pub fn principal(&self, name: &str) -> Result<Principal> {
        Principal::parse(name, Some(&self.realm))
    }

    /// Adds a principal with keys of every realm enctype: from `password` (default salt), or
    /// random when `None`. Pre-authentication is required. An existing principal is an error.
    /// [`Kdc::add_principal_with`] takes further settings.
    pub fn add_principal(&self, name: &str, password: Option<&str>) -> Result<Principal> {
        self.add_principal_with(name, password, &PrincipalOptions::default())
    }

    /// Adds or replaces a principal entry as given.
    pub fn put_principal(&self, entry: PrincipalEntry) -> Result<()> {
        self.store.put(entry)
    }

    /// The entry of `principal`, or `KTIX_ERR_NOT_FOUND`.
    pub fn entry(&self, principal: &Principal) -> Result<Arc<PrincipalEntry>> {
        self.store
            .get(principal)?
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no principal {principal}")))
    }

    /// A keytab with the current keys of `name` (all enctypes), for its service to accept tickets.
    pub fn keytab(&self, name: &str, now: Time) -> Result<Keytab> {
        let e = self.entry(&self.principal(name)?)?;
        let mut kt = Keytab::new();
        let kvno = e.current_kvno();
        for k in e.keys.iter().filter(|k| k.kvno == kvno) {
            kt.add(e.principal.clone(), k.kvno, k.key.clone(), now);
        }
        Ok(kt)
    }

    /// Turns a request into a reply: an AS-REP, TGS-REP or KRB-ERROR. Never fails.
    ///
    /// Input that is not shaped like a KDC request (its first byte is not 0x6a or 0x6c, the
    /// APPLICATION 10/12 tags of AS-REQ and TGS-REQ) gets no reply at all: the result is empty,
    /// and a transport sends nothing. Answering it would make the KDC a reflector (a one-byte
    /// spoofed datagram earning a KRB-ERROR) and let a spoofed KRB-ERROR start an endless
    /// exchange between two KDCs (the bug class of CVE-2002-2443). A request-shaped but
    /// malformed message is answered with a KRB-ERROR.
    pub fn handle(&self, request: &[u8], now: Time) -> Vec<u8> {
        self.process(request, now).reply
    }

    /// Like [`Kdc::handle`], with what happened, for logging. For input that is not shaped like
    /// a request the reply is empty ([`Outcome::is_ignored`]) and the facts say why.
    pub fn process(&self, request: &[u8], now: Time) -> Outcome {
        let kind = ExchangeKind::of(request);
        let mut facts = RequestFacts::new(kind);
        let result = match kind {
            ExchangeKind::As => as_exchange::handle(self, request, now, &mut facts),
            ExchangeKind::Tgs => tgs_exchange::handle(self, request, now, &mut facts),
            ExchangeKind::Unknown => return Outcome::ignored(request),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                let data = facts.e_data.take();
                let reply = self.error_reply(&err, now, facts.client.as_ref(), facts.service.as_ref(), data);
                facts.code = if err.code().is_kerberos() { err.code() } else { ErrorCode::KRB_ERR_GENERIC };
                facts.detail = Some(err.message().to_string());
                reply
            }
        };
        Outcome { reply, facts }
    }

    /// The KRB-ERROR this KDC answers `err` with, naming the client and server when known (and
    /// without the names when one of them cannot be encoded). Its e-text is the fixed text of the
    /// code; `err`'s message (database paths, SQL errors, …) stays out of it, for the log.
    pub(crate) fn error_reply(
        &self,
        err: &Error,
        now: Time,
        client: Option<&Principal>,
        server: Option<&Principal>,
        data: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let reply = ErrorReply { realm: self.realm.clone(), server: server.cloned(), client: client.cloned(), data };
        proto::krb_error(err, now, &reply).unwrap_or_else(|_| {
            // A name that cannot be encoded: answer without the names.
            let bare = ErrorReply { realm: self.realm.clone(), ..Default::default() };
            proto::krb_error(err, now, &bare).unwrap_or_default()
        })
    }

    /// The session-key enctype for a request: the first of the client's list the realm supports.
    pub(crate) fn session_enctype(&self, requested: &[i32]) -> Result<Enctype> {
        requested
            .iter()
            .filter_map(|&n| Enctype::from_i32(n).ok())
            .find(|e| self.policy.enctypes.contains(e))
            .ok_or_else(|| Error::new(ErrorCode::KDC_ERR_ETYPE_NOSUPP, "no requested enctype is supported"))
    }

    /// A fresh session key.
    pub(crate) fn new_session_key(&self, requested: &[i32]) -> Result<Key> {
        Key::random(self.session_enctype(requested)?)
    }

    /// The server's key a ticket is sealed in: its strongest current key the realm permits.
    pub(crate) fn ticket_key<'a>(&self, server: &'a PrincipalEntry) -> Result<&'a KeyEntry> {
        server.strongest_key(&self.policy.enctypes).ok_or_else(|| {
            Error::new(
                ErrorCode::KDC_ERR_ETYPE_NOSUPP,
                format!("{} has no key of a permitted enctype", server.principal),
            )
        })
    }

    /// Looks up a server principal (`KDC_ERR_S_PRINCIPAL_UNKNOWN`, `KDC_ERR_SERVICE_EXP`, revoked).
    pub(crate) fn server_entry(&self, p: &Principal, now: Time) -> Result<Arc<PrincipalEntry>> {
        let e = self
            .store
            .get(p)?
            .ok_or_else(|| Error::new(ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN, format!("server {p} not found")))?;
        if e.disabled {
            return Err(Error::new(ErrorCode::KDC_ERR_SERVICE_REVOKED, format!("server {p} is disabled")));
        }
        if e.expiration.is_some_and(|x| x <= now) {
            return Err(Error::new(ErrorCode::KDC_ERR_SERVICE_EXP, format!("server {p} has expired")));
        }
        Ok(e)
    }
}

impl std::fmt::Debug for Kdc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kdc").field("realm", &self.realm).field("policy", &self.policy).finish()
    }
}

/// `till`/`rtime` of 19700101000000Z means "as long as allowed".
pub(crate) fn requested_limit(t: Option<Time>) -> Option<Time> {
    t.filter(|t| t.unix() != 0)
}

/// The smallest of the candidate end times.
pub(crate) fn min_time(candidates: impl IntoIterator<Item = Option<Time>>) -> Option<Time> {
    candidates.into_iter().flatten().min()
}
