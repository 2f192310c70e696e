//! The realm of the `kpasswd` and `client_as_rep` fuzz targets, shared with the seeder
//! (`examples/seed.rs`) so that the change-password requests it writes authenticate in the
//! target's own instance: every key comes from a password, and the time is fixed. Each includer
//! uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use ktix::kdc::{changepw_principal, MemoryStore, PrincipalEntry};
use ktix::{Enctype, Kdc, RealmPolicy, Time};

/// The realm.
pub const REALM: &str = "KTIX.TEST";
/// The user who logs in and whose password the requests change.
pub const ALICE: &str = "alice";
/// Her password.
pub const ALICE_PW: &str = "alice-pw";
/// A service alice can ask tickets for.
pub const SERVICE: &str = "host/server.ktix.test";

/// When every request is made and answered.
pub fn now() -> Time {
    Time::from_civil(2027, 1, 15, 12, 0, 0).expect("a valid time")
}

/// The address the requests arrive on (the reply's KRB-PRIV names it as the sender).
pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 464))
}

/// A fresh instance of the realm, with all four enctypes: alice, `kadmin/changepw` and
/// [`SERVICE`], each with a key of every enctype from a password (the same keys in every
/// instance).
pub fn kdc() -> Kdc {
    let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
    let kdc = Kdc::with_store(REALM, Arc::new(MemoryStore::new()), policy).expect("kdc");
    let alice = kdc.principal(ALICE).expect("name");
    let service = kdc.principal(SERVICE).expect("name");
    for (principal, password) in
        [(changepw_principal(REALM), "changepw-key"), (alice, ALICE_PW), (service, "service-key")]
    {
        let mut entry = PrincipalEntry::new(principal);
        entry.set_password(password.as_bytes(), &Enctype::ALL, 1).expect("keys");
        kdc.put_principal(entry).expect("put");
    }
    kdc
}
