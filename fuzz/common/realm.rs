//! The realm of the `kpasswd` fuzz target, shared with the seeder (`examples/seed.rs`) so that
//! the requests it writes authenticate in the target's own instance: the change-password
//! service's keys come from a password, and the time is fixed.

use std::net::SocketAddr;
use std::sync::Arc;

use ktix::kdc::{changepw_principal, MemoryStore, PrincipalEntry};
use ktix::{Enctype, Kdc, RealmPolicy, Time};

/// The realm.
pub const REALM: &str = "KTIX.TEST";
/// The user whose password the requests change.
pub const ALICE: &str = "alice";
/// Her password.
pub const ALICE_PW: &str = "alice-pw";

/// When every request is made and answered.
pub fn now() -> Time {
    Time::from_civil(2027, 1, 15, 12, 0, 0).expect("a valid time")
}

/// The address the requests arrive on (the reply's KRB-PRIV names it as the sender).
pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 464))
}

/// A fresh instance of the realm, with all four enctypes: alice and `kadmin/changepw`, each with a key of every enctype
/// from a password (the same keys in every instance).
pub fn kdc() -> Kdc {
    let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
    let kdc = Kdc::with_store(REALM, Arc::new(MemoryStore::new()), policy).expect("kdc");
    let alice = kdc.principal(ALICE).expect("name");
    for (principal, password) in [(changepw_principal(REALM), "changepw-key"), (alice, ALICE_PW)] {
        let mut entry = PrincipalEntry::new(principal);
        entry.set_password(password.as_bytes(), &Enctype::ALL, 1).expect("keys");
        kdc.put_principal(entry).expect("put");
    }
    kdc
}
