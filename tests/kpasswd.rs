//! The change-password service (RFC 3244) over the network: `KdcServer` with
//! `kpasswd_listen`, and `Client::change_password` against it.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use ktix::ccache::CCache;
use ktix::client::{Client, ClientConfig, Network};
use ktix::kdc::{changepw_principal, silent_logger, Kdc, KdcServer, Policy, ServerConfig};
use ktix::ErrorCode;

fn setup() -> (KdcServer, Client, Network) {
    let kdc = Kdc::new("KP.TEST").unwrap();
    kdc.ensure_changepw().unwrap();
    kdc.store().put_policy(Policy { min_length: 8, ..Policy::new("users") }).unwrap();
    let alice = kdc.add_principal("alice", Some("old password")).unwrap();
    let mut e = (*kdc.entry(&alice).unwrap()).clone();
    e.policy = Some("users".into());
    kdc.put_principal(e).unwrap();
    let config = ServerConfig {
        logger: silent_logger(),
        kpasswd_listen: vec!["127.0.0.1:0".into()],
        workers: 1,
        ..ServerConfig::default()
    };
    let server = KdcServer::start(Arc::new(kdc), &["127.0.0.1:0"], config).unwrap();
    let client =
        Client::new(ClientConfig::new("KP.TEST"), Arc::new(Network::new(vec![server.address()])), CCache::memory());
    let kpasswd =
        Network::kpasswd(vec![server.kpasswd_addrs()[0].to_string()]).with_udp_timeout(Duration::from_secs(2));
    (server, client, kpasswd)
}

#[test]
fn a_password_is_changed_and_the_policy_enforced() {
    let (server, client, kpasswd) = setup();
    assert!(server.kdc().entry(&changepw_principal("KP.TEST")).is_ok());
    // Too short for the policy: refused with result code 4 and the policy's reason.
    let err = client.change_password("alice", "old password", "short", &kpasswd).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KTIX_ERR_INVALID_ARGUMENT, "{err}");
    assert!(err.message().contains("result code 4") && err.message().contains("too short"), "{err}");
    client.login("alice", "old password").unwrap();
    // A wrong old password gets no ticket for kadmin/changepw.
    let err = client.change_password("alice", "not it", "a long new password", &kpasswd).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KDC_ERR_PREAUTH_FAILED, "{err}");
    client.change_password("alice", "old password", "a long new password", &kpasswd).unwrap();
    client.login("alice", "a long new password").unwrap();
    assert!(client.login("alice", "old password").is_err());
    // Over TCP too (UDP never preferred).
    let tcp = Network::kpasswd(kpasswd.kdcs().to_vec()).with_udp_preference_limit(1);
    client.change_password("alice", "a long new password", "third password", &tcp).unwrap();
    client.login("alice", "third password").unwrap();
}

#[test]
fn input_that_is_not_a_request_gets_no_reply() {
    let (server, _client, _kpasswd) = setup();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    // A KRB-ERROR-shaped datagram, a wrong length field, a wrong version: all ignored.
    for junk in
        [&b"\x7e\x03\x02\x01\x05"[..], b"\x00\x09\x00\x01\x00\x01\x00\x00\x00\x00", b"\x00\x08\x00\x02\x00\x01\x00\x00"]
    {
        s.send_to(junk, server.kpasswd_addrs()[0]).unwrap();
        let mut buf = [0u8; 1024];
        assert!(s.recv_from(&mut buf).is_err(), "{junk:?} was answered");
    }
    // A request-shaped one with a bad AP-REQ gets a KRB-ERROR with result code 1 (malformed).
    s.send_to(b"\x00\x0a\x00\x01\x00\x02\x30\x00\x30\x00", server.kpasswd_addrs()[0]).unwrap();
    let mut buf = [0u8; 1024];
    let (n, _) = s.recv_from(&mut buf).expect("a reply");
    assert_eq!(&buf[2..6], b"\x00\x01\x00\x00", "version 1, no AP-REP");
    assert_eq!(buf[6], 0x7e, "a KRB-ERROR");
    assert!(n > 8);
}
