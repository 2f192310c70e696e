//! GSS-API credentials and names read the environment when they are acquired or canonicalized,
//! never earlier: `KRB5CCNAME`, `KRB5_KTNAME`, `KRB5_CONFIG`. One test (the environment is
//! process-wide), in its own test binary.

mod common;

use std::sync::Arc;

use common::{principal, Realm, ALICE_PW, REALM, SERVICE};
use ktix::gss::{
    AcceptorContext, AcceptorCred, AcceptorOptions, InitiatorContext, InitiatorCred, InitiatorOptions, Name,
    SecurityContext,
};
use ktix::{CCache, Client, ClientConfig, ErrorCode, InProcess, Time};

#[test]
fn credentials_and_names_follow_the_environment_at_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let realm = Realm::new();
    // Keytab credentials and file caches run on the system clock.
    realm.clock.set(Time::now());

    // A file cache with alice's TGT and a service ticket, made through the in-process KDC.
    let cc_path = dir.path().join("ccache");
    let transport = Arc::new(InProcess::new(realm.kdc.clone(), realm.clock.clone()));
    let c = Client::with_clock(ClientConfig::new(REALM), transport, CCache::file(&cc_path), realm.clock.clone());
    c.login("alice", ALICE_PW).unwrap();
    c.service_ticket(SERVICE).unwrap();
    let kt_path = dir.path().join("server.keytab");
    realm.kdc.keytab(SERVICE, realm.now()).unwrap().save(kt_path.to_str().unwrap()).unwrap();
    // krb5.conf: the realm (no KDC: the cached service ticket is used), a [domain_realm] entry.
    let conf = dir.path().join("krb5.conf");
    std::fs::write(
        &conf,
        format!("[libdefaults]\n default_realm = OTHER.TEST\n[domain_realm]\n .ktix.test = {REALM}\n"),
    )
    .unwrap();

    std::env::set_var("KRB5_CONFIG", &conf);
    std::env::set_var("KRB5CCNAME", dir.path().join("missing-ccache"));
    std::env::set_var("KRB5_KTNAME", dir.path().join("missing-keytab"));
    assert_eq!(InitiatorCred::acquire(None).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_NO_CRED);
    assert_eq!(AcceptorCred::acquire(None, None).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_NO_CRED);

    // Set now, read now.
    std::env::set_var("KRB5CCNAME", format!("FILE:{}", cc_path.display()));
    std::env::set_var("KRB5_KTNAME", format!("FILE:{}", kt_path.display()));
    let cred = InitiatorCred::acquire(None).unwrap();
    assert_eq!(cred.name().to_string(), "alice@KTIX.TEST");
    let target = Name::hostbased("host@server.ktix.test").unwrap();
    assert_eq!(target.canonicalize().unwrap(), principal(SERVICE));
    let acc_cred = AcceptorCred::acquire(None, Some(&target)).unwrap();
    assert_eq!(acc_cred.name(), Some(&principal(SERVICE)));

    let mut init = InitiatorContext::new(&cred, &target, InitiatorOptions::default()).unwrap();
    let mut acc = AcceptorContext::new(&acc_cred, AcceptorOptions::default());
    let tok = init.step(None).unwrap().unwrap();
    let rep = acc.step(&tok).unwrap().unwrap();
    init.step(Some(&rep)).unwrap();
    assert!(init.is_complete() && acc.is_complete());
    assert_eq!(acc.initiator_name().unwrap().to_string(), "alice@KTIX.TEST");
    acc.verify_mic(b"hello", &init.get_mic(b"hello").unwrap()).unwrap();

    // krb5.conf names no KDC for the realm: a ticket not in the cache cannot be had.
    let uncached = Name::hostbased("HTTP@web.ktix.test").unwrap();
    let mut init = InitiatorContext::new(&cred, &uncached, InitiatorOptions::default()).unwrap();
    assert_eq!(init.step(None).unwrap_err().code(), ErrorCode::KTIX_ERR_CONFIG);

    // A name without a realm takes the default realm of the configuration read at the call.
    let bob = Name::import(b"bob", None).unwrap();
    assert_eq!(bob.canonicalize().unwrap().to_string(), "bob@OTHER.TEST");
    std::fs::write(&conf, "[libdefaults]\n default_realm = THIRD.TEST\n").unwrap();
    assert_eq!(bob.canonicalize().unwrap().to_string(), "bob@THIRD.TEST");
    // Host-based names then fall back to it.
    assert_eq!(target.canonicalize().unwrap().to_string(), "host/server.ktix.test@THIRD.TEST");
}
