//! The in-process realm that `benches/exchanges.rs` and `examples/kdc_profile.rs` measure: one KDC
//! whose principals all have keys of the one enctype measured (krbtgt, alice and
//! `host/server.ktix.test`, so tickets, session keys and reply keys are all of that enctype, as in
//! a realm configured for it alone), a client on a fixed clock, and the AS and TGS requests of its
//! login and first service ticket, captured for replaying into `Kdc::handle`.
//!
//! Included by path (`#[path = "../benches/common/realm.rs"]`) by both: a bench cannot import an
//! example, nor an example a bench.

use std::sync::Arc;

use ktix::kdc::PrincipalStore;
use ktix::{CCache, Client, ClientConfig, Enctype, FixedClock, InProcess, Kdc, RealmPolicy, Recording, Time};

/// The realm's name.
pub const REALM: &str = "KTIX.TEST";
/// The service principal the client asks tickets for.
pub const SERVICE: &str = "host/server.ktix.test";

/// A realm set up for measuring, with the client logged in and holding a ticket for [`SERVICE`].
pub struct BenchRealm {
    pub kdc: Arc<Kdc>,
    pub clock: Arc<FixedClock>,
    pub client: Client,
    /// The first AS-REQ of the client's login, without pre-authentication (answered with
    /// KDC_ERR_PREAUTH_REQUIRED and the client's ETYPE-INFO2).
    pub as_req_first: Vec<u8>,
    /// The pre-authenticated AS-REQ of the client's login (the second of its two round trips).
    pub as_req: Vec<u8>,
    /// The TGS-REQ for [`SERVICE`], made with the login's TGT.
    pub tgs_req: Vec<u8>,
}

/// A realm of `enctype` alone on `store`; see the module documentation.
pub fn bench_realm(enctype: Enctype, store: Arc<dyn PrincipalStore>) -> BenchRealm {
    let policy = RealmPolicy { enctypes: vec![enctype], ..RealmPolicy::default() };
    let kdc = Arc::new(Kdc::with_store(REALM, store, policy).expect("kdc"));
    kdc.add_principal("alice", Some("alice-pw")).expect("alice");
    kdc.add_principal(SERVICE, None).expect("service");
    let clock = Arc::new(FixedClock::new(Time::from_unix(1_790_000_000)));
    let recorder = Arc::new(Recording::new(InProcess::new(kdc.clone(), clock.clone())));
    let mut config = ClientConfig::new(REALM);
    config.enctypes = vec![enctype];
    config.tgs_enctypes = vec![enctype];
    let client = Client::with_clock(config, recorder.clone(), CCache::memory(), clock.clone());
    client.login("alice", "alice-pw").expect("login");
    let login = recorder.since(0);
    let as_req_first = login.first().expect("AS exchange").0.clone();
    let as_req = login.last().expect("AS exchange").0.clone();
    assert_eq!(login.len(), 2, "a login is two AS round trips (pre-authentication required)");
    let before = recorder.count();
    client.service_ticket(SERVICE).expect("service ticket");
    let tgs_req = recorder.since(before).last().expect("TGS exchange").0.clone();
    BenchRealm { kdc, clock, client, as_req_first, as_req, tgs_req }
}
