//! The MIT credential record: [`Credential`] (a ticket libktix can use, with its session key),
//! [`RawCredential`] (a record as a cache file stores it, kept unchanged when not usable here),
//! configuration entries ([`ConfigEntry`]) and what [`CCache::entries`](super::CCache::entries)
//! lists ([`CacheEntry`]).

use std::fmt;

use crate::crypto::Key;
use crate::error::{Error, Result};
use crate::keytab::EntryKey;
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::Flags;

/// One cached credential: a ticket and the client's copy of its session key.
#[derive(Clone)]
pub struct Credential {
    /// The client principal.
    pub client: Principal,
    /// The server the ticket is for.
    pub server: Principal,
    /// The session key.
    pub key: Key,
    /// When the client authenticated.
    pub auth_time: Time,
    /// Start of validity.
    pub start_time: Option<Time>,
    /// End of validity.
    pub end_time: Time,
    /// Renewable until.
    pub renew_till: Option<Time>,
    /// Ticket flags as the KDC reported them.
    pub flags: Flags,
    /// Whether the ticket is encrypted in another ticket's session key (user-to-user).
    pub is_skey: bool,
    /// Client addresses (type, bytes).
    pub addresses: Vec<(i32, Vec<u8>)>,
    /// Authorization data (type, bytes).
    pub authdata: Vec<(i32, Vec<u8>)>,
    /// The Ticket, DER-encoded.
    pub ticket: Vec<u8>,
    /// The second ticket (user-to-user), DER-encoded, or empty.
    pub second_ticket: Vec<u8>,
}

impl Credential {
    /// When the ticket starts being valid.
    pub fn start(&self) -> Time {
        self.start_time.unwrap_or(self.auth_time)
    }

    /// Whether the ticket is still usable at `now` with `margin` seconds to spare.
    pub fn is_fresh(&self, now: Time, margin: i64) -> bool {
        self.end_time.minus_secs(margin) > now
    }

    /// How the ticket itself is sealed, as its unencrypted header says: the enctype number and
    /// the version of the service key (what `klist -e` shows as "tkt" and `kvno` prints).
    /// `None` when the ticket does not decode.
    pub fn ticket_encryption(&self) -> Option<(i32, Option<u32>)> {
        let t = crate::wire::decode::<crate::wire::Ticket>(&self.ticket).ok()?;
        Some((t.enc_part.etype, t.enc_part.kvno))
    }
}

#[cfg(test)]
impl Credential {
    /// A credential of alice@R for `server` with a random key and a dummy ticket (unit tests).
    pub(crate) fn for_test(server: &str) -> Credential {
        Credential {
            client: Principal::parse("alice@R", None).unwrap(),
            server: Principal::parse(server, None).unwrap(),
            key: Key::random(crate::crypto::Enctype::Aes256CtsHmacSha196).unwrap(),
            auth_time: Time::from_unix(100),
            start_time: None,
            end_time: Time::from_unix(1000),
            renew_till: None,
            flags: Flags::NONE,
            is_skey: false,
            addresses: vec![],
            authdata: vec![],
            ticket: vec![1, 2, 3],
            second_ticket: vec![],
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("client", &self.client)
            .field("server", &self.server)
            .field("key", &self.key)
            .field("start", &self.start_time)
            .field("end", &self.end_time)
            .field("renew_till", &self.renew_till)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

/// The realm of the server principal of configuration entries.
pub const CONFIG_REALM: &str = "X-CACHECONF:";
/// The first name component of the server principal of configuration entries.
pub const CONFIG_COMPONENT: &str = "krb5_ccache_conf_data";

/// A configuration entry: a key, the principal it is about (if any), a value.
///
/// MIT krb5 stores, for instance, `fast_avail` (`"yes"` when the KDC offered FAST), `pa_type`
/// (the pre-authentication type used, in decimal) for the TGS principal, `start_realm`,
/// `refresh_time`, `proxy_impersonator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The configuration key (`fast_avail`, `pa_type` …).
    pub key: String,
    /// The principal the setting is about, as text (`krbtgt/R@R`), or `None`.
    pub principal: Option<String>,
    /// The value.
    pub value: Vec<u8>,
}

/// A principal name as a cache file stores it, which need not be a valid [`Principal`] (MIT
/// stores referral entries with an empty realm, and names need not be UTF-8).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RawName {
    pub(crate) name_type: u32,
    pub(crate) realm: Vec<u8>,
    pub(crate) components: Vec<Vec<u8>>,
}

impl RawName {
    /// The principal, when the name is a valid one (UTF-8, a realm, at least one component).
    pub(super) fn to_principal(&self) -> Option<Principal> {
        let realm = String::from_utf8(self.realm.clone()).ok()?;
        let comps = self.components.iter().map(|c| String::from_utf8(c.clone()).ok()).collect::<Option<Vec<_>>>()?;
        Principal::new(self.name_type as i32, comps, realm).ok()
    }

    /// The name as text, escaped like a principal's (lossy for bytes that are not UTF-8).
    pub(super) fn display(&self) -> String {
        let comps: Vec<String> = self.components.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        let name = match Principal::new(0, comps, "R") {
            Ok(p) => p.name_without_realm(),
            Err(_) => String::new(),
        };
        let realm = String::from_utf8_lossy(&self.realm);
        let realm = if realm.is_empty() {
            String::new()
        } else {
            Principal::new(0, vec![realm.into_owned()], "R").map(|p| p.name_without_realm()).unwrap_or_default()
        };
        format!("{name}@{realm}")
    }

    pub(super) fn is_config(&self) -> bool {
        self.realm == CONFIG_REALM.as_bytes()
    }
}

impl From<&Principal> for RawName {
    fn from(p: &Principal) -> RawName {
        RawName {
            name_type: p.name_type() as u32,
            realm: p.realm().as_bytes().to_vec(),
            components: p.components().iter().map(|c| c.as_bytes().to_vec()).collect(),
        }
    }
}

/// A credential kept exactly as a cache file stores it, because libktix cannot use it: its
/// session key has an enctype libktix does not implement, or its names are not valid principals
/// (a referral entry with an empty realm). It is written back unchanged on every rewrite of the
/// cache. `Debug` never shows key bytes.
#[derive(Clone)]
pub struct RawCredential {
    pub(crate) client: RawName,
    pub(crate) server: RawName,
    pub(crate) key: EntryKey,
    pub(crate) auth_time: u32,
    pub(crate) start_time: u32,
    pub(crate) end_time: u32,
    pub(crate) renew_till: u32,
    pub(crate) is_skey: u8,
    pub(crate) flags: u32,
    pub(crate) addresses: Vec<(u16, Vec<u8>)>,
    pub(crate) authdata: Vec<(u16, Vec<u8>)>,
    pub(crate) ticket: Vec<u8>,
    pub(crate) second_ticket: Vec<u8>,
}

pub(super) fn opt_time(t: u32) -> Option<Time> {
    (t != 0).then(|| Time::from_unix(i64::from(t)))
}

/// A time in a cache file's 32-bit field (clamped to 1970..2106).
pub(super) fn time32(t: Time) -> u32 {
    t.unix().clamp(0, i64::from(u32::MAX)) as u32
}

/// An address or authorization-data type in a cache file's 16-bit field.
pub(super) fn type16(t: i32, what: &str) -> Result<u16> {
    u16::try_from(t)
        .or_else(|_| i16::try_from(t).map(|v| v as u16))
        .map_err(|_| Error::invalid(format!("{what} type {t} does not fit a credential cache")))
}

impl RawCredential {
    /// The client, when its name is a valid principal.
    pub fn client(&self) -> Option<Principal> {
        self.client.to_principal()
    }

    /// The server, when its name is a valid principal.
    pub fn server(&self) -> Option<Principal> {
        self.server.to_principal()
    }

    /// The client's name as text (`alice@R`; lossy when it is not UTF-8).
    pub fn client_name(&self) -> String {
        self.client.display()
    }

    /// The server's name as text (`host/x@`, `krbtgt/R@R` …; lossy when it is not UTF-8).
    pub fn server_name(&self) -> String {
        self.server.display()
    }

    /// The session key: supported or not (the bytes are never printed).
    pub fn key(&self) -> &EntryKey {
        &self.key
    }

    /// When the client authenticated.
    pub fn auth_time(&self) -> Time {
        Time::from_unix(i64::from(self.auth_time))
    }

    /// Start of validity, `None` when not stored.
    pub fn start_time(&self) -> Option<Time> {
        opt_time(self.start_time)
    }

    /// End of validity.
    pub fn end_time(&self) -> Time {
        Time::from_unix(i64::from(self.end_time))
    }

    /// Renewable until, `None` when not renewable.
    pub fn renew_till(&self) -> Option<Time> {
        opt_time(self.renew_till)
    }

    /// The ticket flags.
    pub fn flags(&self) -> Flags {
        Flags(self.flags)
    }

    /// Whether the ticket is encrypted in another ticket's session key (user-to-user).
    pub fn is_skey(&self) -> bool {
        self.is_skey != 0
    }

    /// The ticket, as stored (DER for real tickets).
    pub fn ticket(&self) -> &[u8] {
        &self.ticket
    }

    /// MIT marks a removed credential by zeroing its end time, leaving an auth time (config
    /// entries have both zero).
    pub(super) fn is_removed(&self) -> bool {
        self.end_time == 0 && self.auth_time != 0
    }

    /// The configuration entry this is, if it is a well-formed one.
    pub(super) fn config_entry(&self) -> Option<ConfigEntry> {
        if !self.server.is_config() {
            return None;
        }
        let comps = &self.server.components;
        if !(2..=3).contains(&comps.len()) || comps[0] != CONFIG_COMPONENT.as_bytes() {
            return None;
        }
        let key = String::from_utf8(comps[1].clone()).ok()?;
        let principal = match comps.get(2) {
            Some(p) => Some(String::from_utf8(p.clone()).ok()?),
            None => None,
        };
        Some(ConfigEntry { key, principal, value: self.ticket.clone() })
    }

    /// A configuration entry as MIT writes one: every field but the names and value zero.
    pub(super) fn config(client: &Principal, key: &str, principal: Option<&str>, value: &[u8]) -> RawCredential {
        let mut components = vec![CONFIG_COMPONENT.as_bytes().to_vec(), key.as_bytes().to_vec()];
        components.extend(principal.map(|p| p.as_bytes().to_vec()));
        RawCredential {
            client: RawName::from(client),
            server: RawName {
                name_type: crate::principal::name_type::PRINCIPAL as u32,
                realm: CONFIG_REALM.as_bytes().to_vec(),
                components,
            },
            key: EntryKey::Unsupported(crate::keytab::OpaqueKey::new(0, &[])),
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            is_skey: 0,
            flags: 0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: value.to_vec(),
            second_ticket: Vec::new(),
        }
    }

    /// The stored form of a usable credential.
    pub(super) fn from_credential(c: &Credential) -> Result<RawCredential> {
        let list = |l: &[(i32, Vec<u8>)], what: &str| -> Result<Vec<(u16, Vec<u8>)>> {
            l.iter().map(|(t, d)| Ok((type16(*t, what)?, d.clone()))).collect()
        };
        Ok(RawCredential {
            client: RawName::from(&c.client),
            server: RawName::from(&c.server),
            key: EntryKey::Supported(c.key.clone()),
            auth_time: time32(c.auth_time),
            start_time: c.start_time.map_or(0, time32),
            end_time: time32(c.end_time),
            renew_till: c.renew_till.map_or(0, time32),
            is_skey: u8::from(c.is_skey),
            flags: c.flags.0,
            addresses: list(&c.addresses, "an address")?,
            authdata: list(&c.authdata, "an authorization data")?,
            ticket: c.ticket.clone(),
            second_ticket: c.second_ticket.clone(),
        })
    }

    /// The usable credential, when the key is supported and both names are valid principals.
    pub(super) fn to_credential(&self) -> Option<Credential> {
        let key = self.key.key()?.clone();
        let list = |l: &[(u16, Vec<u8>)]| l.iter().map(|(t, d)| (i32::from(*t), d.clone())).collect();
        Some(Credential {
            client: self.client()?,
            server: self.server()?,
            key,
            auth_time: self.auth_time(),
            start_time: self.start_time(),
            end_time: self.end_time(),
            renew_till: self.renew_till(),
            flags: self.flags(),
            is_skey: self.is_skey(),
            addresses: list(&self.addresses),
            authdata: list(&self.authdata),
            ticket: self.ticket.clone(),
            second_ticket: self.second_ticket.clone(),
        })
    }
}

impl fmt::Debug for RawCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawCredential")
            .field("client", &self.client.display())
            .field("server", &self.server.display())
            .field("key", &self.key)
            .field("end", &self.end_time)
            .field("flags", &Flags(self.flags))
            .finish_non_exhaustive()
    }
}

/// One entry of a cache, as [`CCache::entries`](super::CCache::entries) lists them.
#[derive(Clone, Debug)]
pub enum CacheEntry {
    /// A ticket libktix can use.
    Ticket(Credential),
    /// A ticket kept but not usable here (see [`RawCredential`]).
    Opaque(RawCredential),
    /// A configuration entry.
    Config(ConfigEntry),
}
