//! The whole session-ticket scheme in one process: login, service ticket, AP exchange, logout.

mod common;

use common::{Realm, SERVICE};
use ktix::ErrorCode;

#[test]
fn login_ap_req_accept_mutual_logout() {
    let realm = Realm::new();
    let client = realm.client();
    let tgt = client.login("alice", "alice-pw").unwrap();
    assert_eq!(tgt.server.to_string(), "krbtgt/KTIX.TEST@KTIX.TEST");
    assert_eq!(client.stats().as_requests, 2);
    let acceptor = realm.acceptor();
    let (ap_req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    let accepted = acceptor.accept(&ap_req).unwrap();
    assert_eq!(accepted.client.to_string(), "alice@KTIX.TEST");
    ctx.verify(accepted.ap_rep.as_deref().unwrap()).unwrap();
    assert!(ctx.is_verified());
    assert_eq!(client.stats().tgs_requests, 1);
    let (ap_req2, _) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(client.stats().tgs_requests, 1, "second contact served from the cache");
    assert!(acceptor.accept(&ap_req2).unwrap().ap_rep.is_none());
    assert_eq!(acceptor.accept(&ap_req2).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
    client.logout().unwrap();
    assert!(client.ccache().credentials().unwrap().is_empty());
    assert_eq!(client.ap_req(SERVICE, true).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_LOGGED_IN);
}

#[test]
fn wrong_password_is_preauth_failed() {
    let realm = Realm::new();
    let e = realm.client().login("alice", "nope").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_PREAUTH_FAILED, "{e}");
}
