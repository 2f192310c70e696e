//! The client's ticket cache: the TGT and service tickets with their session keys.
//!
//! A [`CCache`] is a shared handle (`Clone`, `Send + Sync`); clones see the same cache.
//! [`CCache::destroy`] drops every credential, so each session key is zeroized once the last
//! user of it lets go.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::crypto::Key;
use crate::error::{Error, ErrorCode, Result};
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

#[derive(Default)]
struct State {
    principal: Option<Principal>,
    creds: Vec<Credential>,
    destroyed: bool,
}

struct Inner {
    name: String,
    state: RwLock<State>,
}

/// A credential cache. Memory caches live as long as their last handle.
#[derive(Clone)]
pub struct CCache {
    inner: Arc<Inner>,
}

impl CCache {
    /// A new, empty in-memory cache.
    pub fn memory() -> CCache {
        let mut id = [0u8; 8];
        // A unique name only; failure of the RNG here is harmless, so fall back to the address.
        if openssl::rand::rand_bytes(&mut id).is_err() {
            id = 0u64.to_be_bytes();
        }
        let name = format!("MEMORY:{}", id.iter().map(|b| format!("{b:02x}")).collect::<String>());
        CCache { inner: Arc::new(Inner { name, state: RwLock::new(State::default()) }) }
    }

    /// The cache's name (`MEMORY:…`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Empties the cache and makes `principal` its owner (what `kinit` does first).
    pub fn initialize(&self, principal: &Principal) -> Result<()> {
        let mut s = self.inner.state.write();
        s.creds.clear();
        s.principal = Some(principal.clone());
        s.destroyed = false;
        Ok(())
    }

    /// The cache's principal, `None` when it was never initialized or was destroyed.
    pub fn principal(&self) -> Result<Option<Principal>> {
        Ok(self.inner.state.read().principal.clone())
    }

    /// Adds a credential, replacing one for the same client and server.
    pub fn store(&self, cred: Credential) -> Result<()> {
        let mut s = self.inner.state.write();
        if s.principal.is_none() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_NOT_FOUND,
                format!("credential cache {} is not initialized", self.inner.name),
            ));
        }
        s.creds.retain(|c| !(c.server == cred.server && c.client == cred.client));
        s.creds.push(cred);
        Ok(())
    }

    /// The credential for `server`, if cached (expired ones too: the caller checks the times).
    pub fn get(&self, server: &Principal) -> Result<Option<Credential>> {
        Ok(self.inner.state.read().creds.iter().find(|c| &c.server == server).cloned())
    }

    /// Every credential, in the order stored.
    pub fn credentials(&self) -> Result<Vec<Credential>> {
        Ok(self.inner.state.read().creds.clone())
    }

    /// Removes the credential for `server`; false when there was none.
    pub fn remove(&self, server: &Principal) -> Result<bool> {
        let mut s = self.inner.state.write();
        let before = s.creds.len();
        s.creds.retain(|c| &c.server != server);
        Ok(s.creds.len() != before)
    }

    /// Flushes the cache: every credential and its session key is dropped (zeroized once no one
    /// else holds it) and the principal forgotten.
    pub fn destroy(&self) -> Result<()> {
        let mut s = self.inner.state.write();
        s.creds.clear();
        s.creds.shrink_to_fit();
        s.principal = None;
        s.destroyed = true;
        Ok(())
    }
}

impl fmt::Debug for CCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CCache({})", self.inner.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Enctype;

    fn cred(server: &str) -> Credential {
        Credential {
            client: Principal::parse("alice@R", None).unwrap(),
            server: Principal::parse(server, None).unwrap(),
            key: Key::random(Enctype::Aes256CtsHmacSha196).unwrap(),
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

    #[test]
    fn store_replace_destroy() {
        let c = CCache::memory();
        assert!(c.store(cred("krbtgt/R@R")).is_err());
        c.initialize(&Principal::parse("alice@R", None).unwrap()).unwrap();
        c.store(cred("krbtgt/R@R")).unwrap();
        c.store(cred("host/x@R")).unwrap();
        c.store(cred("host/x@R")).unwrap();
        assert_eq!(c.credentials().unwrap().len(), 2);
        let other = c.clone();
        other.destroy().unwrap();
        assert!(c.credentials().unwrap().is_empty());
        assert!(c.principal().unwrap().is_none());
        assert!(cred("a@R").is_fresh(Time::from_unix(600), 300));
        assert!(!cred("a@R").is_fresh(Time::from_unix(701), 300));
    }
}
