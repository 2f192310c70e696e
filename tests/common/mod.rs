//! A small in-process realm for the flow tests.
#![allow(dead_code)]

use std::sync::Arc;

use ktix::{Acceptor, AcceptorConfig, CCache, Client, ClientConfig, FixedClock, InProcess, Kdc, Time};

pub const REALM: &str = "KTIX.TEST";
pub const SERVICE: &str = "host/server.ktix.test";

/// A KDC with alice (password) and a service, a fixed clock shared by everyone.
pub struct Realm {
    pub kdc: Arc<Kdc>,
    pub clock: Arc<FixedClock>,
}

impl Realm {
    pub fn new() -> Realm {
        let kdc = Kdc::new(REALM).unwrap();
        kdc.add_principal("alice", Some("alice-pw")).unwrap();
        kdc.add_principal(SERVICE, None).unwrap();
        Realm { kdc: Arc::new(kdc), clock: Arc::new(FixedClock::new(Time::from_unix(1_790_000_000))) }
    }

    pub fn now(&self) -> Time {
        use ktix::Clock;
        self.clock.now()
    }

    pub fn client(&self) -> Client {
        self.client_with(ClientConfig::new(REALM))
    }

    pub fn client_with(&self, config: ClientConfig) -> Client {
        let transport = Arc::new(InProcess::new(self.kdc.clone(), self.clock.clone()));
        Client::with_clock(config, transport, CCache::memory(), self.clock.clone())
    }

    pub fn acceptor(&self) -> Acceptor {
        let kt = self.kdc.keytab(SERVICE, self.now()).unwrap();
        Acceptor::with_config(kt, AcceptorConfig::default(), self.clock.clone())
    }
}
