//! The client's ticket cache: reuse until the end minus the skew margin, a single TGS exchange for
//! concurrent callers, and logout.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use ktix::{ClientConfig, ErrorCode};

const HOUR: i64 = 3600;

#[test]
fn reuse_until_end_minus_skew_margin_then_refetch() {
    let realm = Realm::new();
    let client = realm.alice();
    let acceptor = realm.acceptor();
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    acceptor.accept(&req).unwrap();
    assert_eq!(client.stats().tgs_requests, 1);
    let first = client.ccache().get(&principal(SERVICE)).unwrap().unwrap();
    assert_eq!(first.end_time, realm.now().plus_secs(8 * HOUR));
    let margin = client.config().clock_skew;
    assert_eq!(margin, 300);

    // Reused while more than the margin is left.
    for at in [HOUR, 4 * HOUR, 8 * HOUR - margin - 1] {
        realm.clock.set(first.start().plus_secs(at));
        let (req, ctx) = client.ap_req(SERVICE, false).unwrap();
        assert_eq!(ctx.session_key(), &first.key, "at +{at}s");
        acceptor.accept(&req).unwrap();
        assert_eq!(client.stats().tgs_requests, 1, "at +{at}s: from the cache");
    }

    // At end - margin: fetched again (the TGT, 8 h too, is still valid).
    realm.clock.set(first.end_time.minus_secs(margin));
    let (req, ctx) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(client.stats().tgs_requests, 2);
    assert_ne!(ctx.session_key(), &first.key);
    acceptor.accept(&req).unwrap();

    // A shorter margin in the client config moves the refetch point.
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.clock_skew = 60;
    let client = realm.client_with(cfg);
    client.login("alice", ALICE_PW).unwrap();
    let st = client.service_ticket(SERVICE).unwrap();
    realm.clock.set(st.end_time.minus_secs(61));
    client.service_ticket(SERVICE).unwrap();
    assert_eq!(client.stats().tgs_requests, 1);
    realm.clock.set(st.end_time.minus_secs(60));
    client.service_ticket(SERVICE).unwrap();
    assert_eq!(client.stats().tgs_requests, 2);
}

#[test]
fn refetch_after_expiry_needs_a_valid_tgt() {
    let realm = Realm::new();
    let client = realm.alice();
    client.service_ticket(SERVICE).unwrap();
    realm.clock.advance(8 * HOUR + 1);
    // Both the service ticket and the TGT have expired: the refetch fails with 32, nothing is cached.
    assert_eq!(client.ap_req(SERVICE, false).unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED);
    assert_eq!(client.stats().tgs_requests, 2);
    // Logging in again fixes it.
    client.login("alice", ALICE_PW).unwrap();
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    realm.acceptor().accept(&req).unwrap();
}

#[test]
fn sixteen_threads_one_tgs_exchange() {
    let realm = Realm::new();
    let client = Arc::new(realm.alice());
    let acceptor = Arc::new(realm.acceptor());
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (client, acceptor, barrier) = (client.clone(), acceptor.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
                let acc = acceptor.accept(&req).unwrap();
                ctx.verify(acc.ap_rep.as_deref().unwrap()).unwrap();
                acc.session_key
            })
        })
        .collect();
    let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(client.stats().tgs_requests, 1, "exactly one TGS exchange");
    assert!(keys.iter().all(|k| k == &keys[0]), "everyone used the same service ticket");
    assert_eq!(acceptor.replay_cache().len(), 16);

    // Different services at once: one exchange each.
    for i in 0..4 {
        realm.add_service(&format!("host/s{i}.ktix.test"));
    }
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|n| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.service_ticket(&format!("host/s{}.ktix.test", n % 4)).unwrap()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(client.stats().tgs_requests, 5);
}

#[test]
fn logout_empties_the_cache() {
    let realm = Realm::new();
    let client = realm.alice();
    client.ap_req(SERVICE, true).unwrap();
    assert_eq!(client.ccache().credentials().unwrap().len(), 2);
    client.logout().unwrap();
    assert!(client.ccache().credentials().unwrap().is_empty());
    assert!(client.ccache().principal().unwrap().is_none());
    assert_eq!(client.ap_req(SERVICE, true).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_LOGGED_IN);
    assert_eq!(client.service_ticket(SERVICE).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_LOGGED_IN);
    assert_eq!(client.tgt().unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_LOGGED_IN);
    assert_eq!(client.renew().unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_LOGGED_IN);
    // A clone of the cache handle sees the same (empty) cache.
    assert!(client.ccache().clone().credentials().unwrap().is_empty());
    // Logging in again works, and fetches a new service ticket.
    client.login("alice", ALICE_PW).unwrap();
    let before = client.stats().tgs_requests;
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(client.stats().tgs_requests, before + 1);
    realm.acceptor().accept(&req).unwrap();
}

#[test]
fn a_new_login_replaces_the_cache() {
    let realm = Realm::new();
    realm.kdc.add_principal("bob", Some("bob-pw")).unwrap();
    let client = realm.alice();
    client.service_ticket(SERVICE).unwrap();
    client.login("bob", "bob-pw").unwrap();
    assert_eq!(client.logged_in().unwrap(), principal("bob"));
    assert_eq!(client.ccache().credentials().unwrap().len(), 1, "alice's tickets are gone");
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(realm.acceptor().accept(&req).unwrap().client, principal("bob"));
}
