//! The KDC: a realm's principal database and policy, and the AS and TGS exchanges.
//!
//! [`Kdc::handle`] is pure: request bytes and the current time in, reply bytes out (an AS-REP,
//! a TGS-REP or a KRB-ERROR, or nothing for input that is not shaped like a KDC request: a KDC
//! must never be a reflector). Transport is separate.

mod as_exchange;
pub mod db;
mod kpasswd;
mod realm;
mod request;
mod server;
mod tgs_exchange;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use db::{
    password_classes, stash_path, DatabaseInfo, KeepKeys, KeyEntry, MasterKey, MemoryStore, NewKeys, Policy,
    PostgresStore, PrincipalEntry, PrincipalStore, RealmDatabase, SqliteStore,
};
pub use db::{postgres, sqlite};
pub use kpasswd::changepw_principal;
pub use realm::{open_database, open_realm, MasterPasswordPrompt, PrincipalOptions, RealmSpec};
pub use request::{ExchangeKind, Outcome, RequestFacts};
pub use server::{
    silent_logger, stderr_logger, KdcServer, LogSink, LogTarget, Protocol, RequestLog, RequestLogger, ServerConfig,
    ServerStats, DEFAULT_MAX_DGRAM_REPLY_SIZE, FLUSH_INTERVAL, MAX_UDP_PAYLOAD,
};

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::proto;
use crate::time::Time;

/// The enctypes a new realm gives principals keys of when nothing else is said: MIT krb5 1.20's
/// `supported_enctypes` default, aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96. The RFC 8009
/// enctypes (aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128) are opt-in: `ktix db init
/// --enctypes`, kdc.conf `supported_enctypes`, or [`RealmPolicy::enctypes`].
pub const DEFAULT_ENCTYPES: [Enctype; 2] = [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196];

/// Realm-wide policy.
#[derive(Clone, Debug)]
pub struct RealmPolicy {
    /// Longest ticket life, seconds (default 8 hours).
    pub max_life: i64,
    /// Longest renewable life, seconds (default 7 days).
    pub max_renewable_life: i64,
    /// Accepted clock skew, seconds (default 300).
    pub clock_skew: i64,
    /// Enctypes the realm issues keys and session keys of, strongest first (default
    /// [`DEFAULT_ENCTYPES`]: 18, 17).
    pub enctypes: Vec<Enctype>,
}

impl Default for RealmPolicy {
    fn default() -> RealmPolicy {
        RealmPolicy {
            max_life: 8 * 3600,
            max_renewable_life: 7 * 24 * 3600,
            clock_skew: 300,
            enctypes: DEFAULT_ENCTYPES.to_vec(),
        }
    }
}

/// A Kerberos realm's KDC. `Send + Sync`: many threads may call [`Kdc::handle`] at once.
pub struct Kdc {
    realm: String,
    store: Arc<dyn PrincipalStore>,
    policy: RealmPolicy,
    lookups: AtomicU64,
    lockouts: AtomicU64,
}

/// What a [`Kdc`] has counted while answering requests (see [`Kdc::counters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KdcCounters {
    /// Client and server principal lookups in the store.
    pub lookups: u64,
    /// Requests refused because the client was locked out by its policy.
    pub lockouts: u64,
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
        let kdc =
            Kdc { realm: realm.to_string(), store, policy, lookups: AtomicU64::new(0), lockouts: AtomicU64::new(0) };
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

    /// Store lookups and lockouts counted so far (the server's metrics show them).
    pub fn counters(&self) -> KdcCounters {
        KdcCounters { lookups: self.lookups.load(Ordering::Relaxed), lockouts: self.lockouts.load(Ordering::Relaxed) }
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

    /// Gives `principal` new keys at the next kvno (kadmin's `cpw`/`cpw -randkey`, see
    /// [`PrincipalEntry::change_keys`]): of `enctypes`, or the realm's when `None`; with
    /// `keep_old` its older keys stay and still open tickets issued before, so rotating
    /// `krbtgt/REALM` this way keeps outstanding TGTs working. A password is checked against the
    /// principal's policy first. Returns the new entry.
    pub fn change_keys(
        &self,
        principal: &Principal,
        new: NewKeys<'_>,
        enctypes: Option<&[Enctype]>,
        keep_old: bool,
    ) -> Result<Arc<PrincipalEntry>> {
        let mut e = (*self.entry(principal)?).clone();
        if let NewKeys::Password(pw) = &new {
            let text = std::str::from_utf8(pw).map_err(|_| Error::invalid("the password is not UTF-8"))?;
            self.store.check_new_password(&e, text)?;
        }
        e.change_keys(new, enctypes.unwrap_or(&self.policy.enctypes), keep_old)?;
        self.store.put(e)?;
        self.entry(principal)
    }

    /// Removes old keys of `principal` (kadmin's `purgekeys`, see [`PrincipalEntry::purge_keys`]).
    /// Tickets sealed in a removed key no longer open (`KRB_AP_ERR_BADKEYVER`). Returns how many
    /// keys were removed.
    pub fn purge_keys(&self, principal: &Principal, keep: KeepKeys) -> Result<usize> {
        let mut e = (*self.entry(principal)?).clone();
        let n = e.purge_keys(keep)?;
        self.store.put(e)?;
        Ok(n)
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
        if matches!(kind, ExchangeKind::Kpasswd | ExchangeKind::Unknown) {
            return Outcome::ignored(request);
        }
        // One view of the store for the whole request (its cache checked once, not per lookup).
        let _view = RequestView::begin(&*self.store);
        let mut facts = RequestFacts::new(kind);
        let result = match kind {
            ExchangeKind::As => as_exchange::handle(self, request, now, &mut facts),
            ExchangeKind::Tgs => tgs_exchange::handle(self, request, now, &mut facts),
            ExchangeKind::Kpasswd | ExchangeKind::Unknown => return Outcome::ignored(request),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                let data = facts.e_data.take();
                let reply = self.error_reply(&err, now, facts.client.as_ref(), facts.service.as_ref(), data.as_deref());
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
        data: Option<&[u8]>,
    ) -> Vec<u8> {
        // Written from the borrowed names (issue 17): no clone of the realm or principals.
        proto::krb_error_of(err, now, &self.realm, server, client, data).unwrap_or_else(|_| {
            // A name that cannot be encoded: answer without the names.
            proto::krb_error_of(err, now, &self.realm, None, None, data).unwrap_or_default()
        })
    }

    /// The session-key enctype for a ticket to `server`, as MIT's KDC chooses it: the first of
    /// the client's list that the realm permits and the server has a current key of.
    pub(crate) fn session_enctype(&self, requested: &[i32], server: &PrincipalEntry) -> Result<Enctype> {
        requested
            .iter()
            .filter_map(|&n| Enctype::from_i32(n).ok())
            .find(|&e| self.policy.enctypes.contains(&e) && server.current_key(e).is_some())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::KDC_ERR_ETYPE_NOSUPP,
                    format!("no requested enctype is permitted and one {} has a key of", server.principal),
                )
            })
    }

    /// A fresh session key for a ticket to `server` (see [`Kdc::session_enctype`]).
    pub(crate) fn new_session_key(&self, requested: &[i32], server: &PrincipalEntry) -> Result<Key> {
        Key::random(self.session_enctype(requested, server)?)
    }

    /// Checks that `client` may have tickets at `now`, in the AS and (for the client of a TGT) the
    /// TGS: `KDC_ERR_C_PRINCIPAL_UNKNOWN` when it is not in the database,
    /// `KDC_ERR_CLIENT_REVOKED` when disabled or locked out by its policy, `KDC_ERR_NAME_EXP`
    /// when expired — MIT's codes. Returns the entry and its policy.
    pub(crate) fn client_entry(&self, client: &Principal, now: Time) -> Result<(Arc<PrincipalEntry>, Option<Policy>)> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let e = self
            .store
            .get(client)?
            .ok_or_else(|| Error::new(ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN, format!("client {client} not found")))?;
        if e.disabled {
            return Err(Error::new(ErrorCode::KDC_ERR_CLIENT_REVOKED, format!("client {client} is disabled")));
        }
        if e.expiration.is_some_and(|x| x <= now) {
            return Err(Error::new(ErrorCode::KDC_ERR_NAME_EXP, format!("client {client} has expired")));
        }
        let policy = self.store.policy_of(&e)?;
        if policy.as_ref().is_some_and(|p| p.is_locked(&e, now)) {
            self.lockouts.fetch_add(1, Ordering::Relaxed);
            return Err(Error::new(
                ErrorCode::KDC_ERR_CLIENT_REVOKED,
                format!("client {client} is locked out after {} failed pre-authentications", e.fail_count),
            ));
        }
        Ok((e, policy))
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

    /// The key of `server` that opens a ticket in `etype` with key version `kvno` (any version
    /// when `None`): `KRB_AP_ERR_BADKEYVER` or `KRB_AP_ERR_NOKEY` when it has none.
    pub(crate) fn ticket_key_of(
        &self,
        server: &PrincipalEntry,
        etype: i32,
        kvno: Option<u32>,
    ) -> Result<proto::TicketKey> {
        let name = &server.principal;
        let etype = Enctype::from_i32(etype)
            .map_err(|_| Error::new(ErrorCode::KRB_AP_ERR_NOKEY, format!("ticket in unsupported enctype {etype}")))?;
        let k = match kvno {
            Some(v) => server.key(etype, Some(v)).ok_or_else(|| {
                Error::new(ErrorCode::KRB_AP_ERR_BADKEYVER, format!("no {etype} key version {v} for {name}"))
            })?,
            None => server
                .key(etype, None)
                .ok_or_else(|| Error::new(ErrorCode::KRB_AP_ERR_NOKEY, format!("no {etype} key for {name}")))?,
        };
        Ok(proto::TicketKey { key: k.key.clone(), kvno: k.kvno })
    }

    /// Looks up a server principal (`KDC_ERR_S_PRINCIPAL_UNKNOWN`, `KDC_ERR_SERVICE_EXP`, revoked).
    pub(crate) fn server_entry(&self, p: &Principal, now: Time) -> Result<Arc<PrincipalEntry>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
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

/// A request's bracket of [`PrincipalStore::begin_request`] and
/// [`PrincipalStore::end_request`] (on drop, so an early return or a panic closes it too).
struct RequestView<'a>(&'a dyn PrincipalStore);

impl<'a> RequestView<'a> {
    fn begin(store: &'a dyn PrincipalStore) -> RequestView<'a> {
        store.begin_request();
        RequestView(store)
    }
}

impl Drop for RequestView<'_> {
    fn drop(&mut self) {
        self.0.end_request();
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
