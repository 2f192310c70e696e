//! The client against replies that do not answer its request: a man in the middle that replays
//! or swaps KDC replies, a transport that fails, a KDC that answers nonsense.

mod common;

use std::sync::Arc;

use common::*;
use ktix::internals::wire::{self, msg_type};
use ktix::{CCache, Client, ClientConfig, Error, ErrorCode, InProcess, Transport};
use parking_lot::Mutex;

type Rewrite = Box<dyn FnMut(&[u8], Vec<u8>) -> ktix::Result<Vec<u8>> + Send>;

/// Passes requests to the realm's KDC and lets a test rewrite each reply.
struct Mitm {
    inner: InProcess,
    rewrite: Mutex<Rewrite>,
}

impl Transport for Mitm {
    fn send(&self, request: &[u8]) -> ktix::Result<Vec<u8>> {
        let reply = self.inner.send(request)?;
        (self.rewrite.lock())(request, reply)
    }
}

fn client_through(realm: &Realm, rewrite: Rewrite) -> Client {
    let t = Mitm { inner: InProcess::new(realm.kdc.clone(), realm.clock.clone()), rewrite: Mutex::new(rewrite) };
    Client::with_clock(ClientConfig::new(REALM), Arc::new(t), CCache::memory(), realm.clock.clone())
}

#[test]
fn replayed_as_rep_is_refused() {
    let realm = Realm::new();
    let recorded: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let rec = recorded.clone();
    let client = client_through(
        &realm,
        Box::new(move |_, reply| {
            if wire::message_tag(&reply) == Some(msg_type::AS_REP) {
                let mut r = rec.lock();
                match &*r {
                    Some(old) => return Ok(old.clone()),
                    None => *r = Some(reply.clone()),
                }
            }
            Ok(reply)
        }),
    );
    client.login("alice", ALICE_PW).unwrap();
    // The second login gets the first login's AS-REP: same key opens it, the nonce gives it away.
    let e = client.login("alice", ALICE_PW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_REPLY_MISMATCH, "{e}");
}

#[test]
fn swapped_tgs_rep_is_refused() {
    let realm = Realm::new();
    realm.add_service("HTTP/web.ktix.test");
    let recorded: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let rec = recorded.clone();
    let client = client_through(
        &realm,
        Box::new(move |_, reply| {
            if wire::message_tag(&reply) == Some(msg_type::TGS_REP) {
                let mut r = rec.lock();
                match &*r {
                    Some(old) => return Ok(old.clone()),
                    None => *r = Some(reply.clone()),
                }
            }
            Ok(reply)
        }),
    );
    client.login("alice", ALICE_PW).unwrap();
    client.service_ticket(SERVICE).unwrap();
    // The reply for host/server given to a request for HTTP/web: sealed in another subkey.
    let e = client.service_ticket("HTTP/web.ktix.test").unwrap_err();
    assert!(matches!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY | ErrorCode::KTIX_ERR_REPLY_MISMATCH), "{e:?}");
    assert!(client.ccache().get(&principal("HTTP/web.ktix.test")).unwrap().is_none(), "nothing cached");
}

#[test]
fn transport_failure_and_nonsense_replies() {
    let realm = Realm::new();
    let client =
        client_through(&realm, Box::new(|_, _| Err(Error::new(ErrorCode::KTIX_ERR_NETWORK, "no route to the KDC"))));
    assert_eq!(client.login("alice", ALICE_PW).unwrap_err().code(), ErrorCode::KTIX_ERR_NETWORK);
    assert!(client.ccache().principal().unwrap().is_none());

    for junk in [vec![], vec![0x30, 0x00], vec![0x6b, 0x00], vec![0x7e, 0x03, 0x30, 0x01, 0x00]] {
        let j = junk.clone();
        let client = client_through(&realm, Box::new(move |_, _| Ok(j.clone())));
        let e = client.login("alice", ALICE_PW).unwrap_err();
        assert!(
            matches!(e.code(), ErrorCode::KTIX_ERR_REPLY_MISMATCH | ErrorCode::KTIX_ERR_MALFORMED),
            "{junk:?}: {e:?}"
        );
    }

    // A TGS exchange whose reply is an AS-REP: refused.
    let as_rep: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = as_rep.clone();
    let client = client_through(
        &realm,
        Box::new(move |req, reply| {
            if wire::message_tag(&reply) == Some(msg_type::AS_REP) {
                *keep.lock() = Some(reply.clone());
            }
            if wire::message_tag(req) == Some(msg_type::TGS_REQ) {
                return Ok(keep.lock().clone().unwrap());
            }
            Ok(reply)
        }),
    );
    client.login("alice", ALICE_PW).unwrap();
    assert_eq!(client.service_ticket(SERVICE).unwrap_err().code(), ErrorCode::KTIX_ERR_REPLY_MISMATCH);
}

#[test]
fn tgs_reply_with_another_ticket_is_refused() {
    // The enc-part is genuine (it opens and names the service), but the ticket beside it is
    // another one (here the TGT): the ticket server must match too, as in the AS exchange.
    let realm = Realm::new();
    let tgt_ticket: Arc<Mutex<Option<ktix::internals::wire::Ticket>>> = Arc::default();
    let keep = tgt_ticket.clone();
    let client = client_through(
        &realm,
        Box::new(move |_req, reply| match wire::message_tag(&reply) {
            Some(msg_type::AS_REP) => {
                *keep.lock() = Some(wire::decode::<ktix::internals::wire::AsRep>(&reply).unwrap().0.ticket);
                Ok(reply)
            }
            Some(msg_type::TGS_REP) => {
                let mut rep = wire::decode::<ktix::internals::wire::TgsRep>(&reply).unwrap();
                rep.0.ticket = keep.lock().clone().unwrap();
                wire::encode(&rep)
            }
            _ => Ok(reply),
        }),
    );
    client.login("alice", ALICE_PW).unwrap();
    let e = client.service_ticket(SERVICE).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_REPLY_MISMATCH, "{e}");
    assert!(e.message().contains("ticket server"), "{e}");
    assert!(client.ccache().get(&principal(SERVICE)).unwrap().is_none());
}
