//! The contents of a cache ([`State`]): default principal, file header fields and entries (usable
//! tickets or raw records), with the operations every backend shares: store with replacement,
//! lookup, removal, configuration entries.

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;

use super::credential::{CacheEntry, ConfigEntry, Credential, RawCredential};
use super::file;

/// An entry in the cache's state: a usable ticket, or a stored record kept as it is
/// (configuration entries and opaque tickets).
#[derive(Clone, Debug)]
pub(crate) enum Entry {
    Ticket(Credential),
    Raw(RawCredential),
}

impl Entry {
    /// A usable ticket when it is one; configuration entries and the rest stay raw.
    pub(super) fn classify(raw: RawCredential) -> Entry {
        if raw.server.is_config() {
            return Entry::Raw(raw);
        }
        match raw.to_credential() {
            Some(c) => Entry::Ticket(c),
            None => Entry::Raw(raw),
        }
    }

    /// Whether this is a ticket (usable or not) for `server` (and `client`, when given).
    pub(super) fn is_ticket_for(&self, client: Option<&Principal>, server: &Principal) -> bool {
        match self {
            Entry::Ticket(c) => &c.server == server && client.is_none_or(|cl| &c.client == cl),
            Entry::Raw(r) => {
                !r.server.is_config()
                    && r.server() == Some(server.clone())
                    && client.is_none_or(|cl| r.client() == Some(cl.clone()))
            }
        }
    }

    pub(super) fn is_config_for(&self, key: &str, principal: Option<&str>) -> bool {
        match self {
            Entry::Raw(r) => r.config_entry().is_some_and(|c| c.key == key && c.principal.as_deref() == principal),
            Entry::Ticket(_) => false,
        }
    }
}

/// The contents of a cache: the same model for memory and file caches.
#[derive(Clone, Default, Debug)]
pub(crate) struct State {
    /// The default principal; `None` for a cache not initialized (or destroyed).
    pub(crate) principal: Option<Principal>,
    /// Header fields (tag, value) of a file cache, kept as read.
    pub(crate) header: Vec<(u16, Vec<u8>)>,
    pub(crate) entries: Vec<Entry>,
}

impl State {
    pub(super) fn require_principal(&self, name: &str) -> Result<&Principal> {
        self.principal.as_ref().ok_or_else(|| {
            Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("credential cache {name} is not initialized"))
        })
    }

    /// Puts `entry` in place of the first entry `matches`, dropping any further ones; appends it
    /// when none matches.
    pub(super) fn replace(&mut self, entry: Entry, matches: impl Fn(&Entry) -> bool) {
        match self.entries.iter().position(&matches) {
            Some(i) => {
                let rest = self.entries.split_off(i + 1);
                self.entries[i] = entry;
                self.entries.extend(rest.into_iter().filter(|e| !matches(e)));
            }
            None => self.entries.push(entry),
        }
    }

    pub(super) fn store(&mut self, cred: Credential, name: &str) -> Result<()> {
        self.require_principal(name)?;
        let (client, server) = (cred.client.clone(), cred.server.clone());
        self.replace(Entry::Ticket(cred), |e| e.is_ticket_for(Some(&client), &server));
        Ok(())
    }

    pub(super) fn get(&self, server: &Principal) -> Option<Credential> {
        self.entries.iter().find_map(|e| match e {
            Entry::Ticket(c) if &c.server == server => Some(c.clone()),
            _ => None,
        })
    }

    pub(super) fn credentials(&self) -> Vec<Credential> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Ticket(c) => Some(c.clone()),
                Entry::Raw(_) => None,
            })
            .collect()
    }

    pub(super) fn remove(&mut self, server: &Principal) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.is_ticket_for(None, server));
        self.entries.len() != before
    }

    pub(super) fn entries(&self) -> Vec<CacheEntry> {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Ticket(c) => CacheEntry::Ticket(c.clone()),
                Entry::Raw(r) => match r.config_entry() {
                    Some(c) => CacheEntry::Config(c),
                    None => CacheEntry::Opaque(r.clone()),
                },
            })
            .collect()
    }

    pub(super) fn config_entries(&self) -> Vec<ConfigEntry> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Raw(r) => r.config_entry(),
                Entry::Ticket(_) => None,
            })
            .collect()
    }

    pub(super) fn set_config(&mut self, key: &str, principal: Option<&str>, value: &[u8], name: &str) -> Result<()> {
        let me = self.require_principal(name)?;
        let entry = Entry::Raw(RawCredential::config(me, key, principal, value));
        self.replace(entry, |e| e.is_config_for(key, principal));
        Ok(())
    }

    pub(super) fn remove_config(&mut self, key: &str, principal: Option<&str>) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| !e.is_config_for(key, principal));
        self.entries.len() != before
    }

    pub(super) fn kdc_time_offset(&self) -> Option<(i32, i32)> {
        self.header
            .iter()
            .find(|(t, v)| *t == file::TAG_KDC_OFFSET && v.len() == 8)
            .map(|(_, v)| (i32::from_be_bytes([v[0], v[1], v[2], v[3]]), i32::from_be_bytes([v[4], v[5], v[6], v[7]])))
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Principal;

    fn cred(server: &str) -> Credential {
        Credential::for_test(server)
    }

    #[test]
    fn store_replaces_the_first_match_in_place_and_drops_duplicates() {
        // An MIT file can hold several tickets for one server (MIT appends).
        let mut s = State { principal: Some(Principal::parse("alice@R", None).unwrap()), ..State::default() };
        for server in ["krbtgt/R@R", "host/x@R", "host/y@R", "host/x@R"] {
            s.entries.push(Entry::Ticket(cred(server)));
        }
        let new = cred("host/x@R");
        s.store(new.clone(), "test").unwrap();
        let servers: Vec<String> = s.credentials().iter().map(|c| c.server.to_string()).collect();
        assert_eq!(servers, ["krbtgt/R@R", "host/x@R", "host/y@R"]);
        assert_eq!(s.get(&new.server).unwrap().key, new.key);
        assert!(s.remove(&new.server));
        assert_eq!(s.credentials().len(), 2);
    }
}
