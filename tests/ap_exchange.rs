//! The AP exchange: what the acceptor returns, every check it makes with its error code, and
//! mutual authentication on the client side.

mod common;

use common::*;
use ktix::crypto::checksum_type;
use ktix::internals::wire::{self, ticket_flags as tf, ApRep, ApReq, Checksum, FlagBits, Flags};
use ktix::{AcceptorConfig, Enctype, ErrorCode, Key, Keytab};

const HOUR: i64 = 3600;

/// Flips one bit of an AP-REQ's ticket cipher.
fn flip_ticket_bit(ap_req: &[u8]) -> Vec<u8> {
    let mut req = wire::decode::<ApReq>(ap_req).unwrap();
    let mut c = req.ticket.enc_part.cipher.to_vec();
    let i = c.len() / 2;
    c[i] ^= 0x10;
    req.ticket.enc_part.cipher = wire::octets(c);
    wire::encode(&req).unwrap()
}

#[test]
fn accepted_carries_client_times_and_keys() {
    let realm = Realm::new();
    let client = realm.alice();
    let acceptor = realm.acceptor();
    let (ap_req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    let cred = client.ccache().get(&principal(SERVICE)).unwrap().unwrap();
    let acc = acceptor.accept(&ap_req).unwrap();
    assert_eq!(acc.client, principal("alice"));
    assert_eq!(acc.server, principal(SERVICE));
    assert_eq!(acc.auth_time, cred.auth_time);
    assert_eq!(acc.start_time, cred.start());
    assert_eq!(acc.end_time, cred.end_time);
    assert_eq!(acc.renew_till, cred.renew_till);
    assert_eq!(acc.flags, cred.flags);
    assert_eq!(acc.session_key, cred.key);
    assert_eq!(&acc.session_key, ctx.session_key());
    assert_eq!(acc.subkey.as_ref(), Some(ctx.subkey()));
    assert_eq!(acc.seq_number, Some(ctx.seq_number()));
    assert_eq!(acc.kvno, 1);
    assert_eq!(acc.ticket_enctype, Enctype::Aes256CtsHmacSha384192);
    assert_eq!(acc.end_time, realm.now().plus_secs(8 * HOUR));
    assert!(acc.checksum.is_none());
    assert!(!ctx.is_verified());
    ctx.verify(acc.ap_rep.as_deref().expect("mutual: an AP-REP")).unwrap();
    assert!(ctx.is_verified());
    // Without mutual: no AP-REP.
    let (ap_req, ctx) = client.ap_req(SERVICE, false).unwrap();
    assert!(!ctx.mutual());
    assert!(acceptor.accept(&ap_req).unwrap().ap_rep.is_none());
}

#[test]
fn flipped_bit_in_the_ticket_is_31() {
    let realm = Realm::new();
    let client = realm.alice();
    let (ap_req, _) = client.ap_req(SERVICE, true).unwrap();
    let e = realm.acceptor().accept(&flip_ticket_bit(&ap_req)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{e}");
    // A flipped bit in the authenticator too.
    let mut req = wire::decode::<ApReq>(&ap_req).unwrap();
    let mut c = req.authenticator.cipher.to_vec();
    c[3] ^= 1;
    req.authenticator.cipher = wire::octets(c);
    let e = realm.acceptor().accept(&wire::encode(&req).unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{e}");
    // The untouched request is still good (the failures were not remembered as replays).
    realm.acceptor().accept(&ap_req).unwrap();
}

#[test]
fn ticket_for_another_service_is_35() {
    let realm = Realm::new();
    let client = realm.alice();
    let (ap_req, _) = client.ap_req(SERVICE, false).unwrap();
    let acceptor = realm.acceptor_with(AcceptorConfig {
        service: Some(principal("host/other.ktix.test")),
        ..AcceptorConfig::default()
    });
    assert_eq!(acceptor.accept(&ap_req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_NOT_US);
    // The right name configured: accepted.
    let acceptor =
        realm.acceptor_with(AcceptorConfig { service: Some(principal(SERVICE)), ..AcceptorConfig::default() });
    acceptor.accept(&ap_req).unwrap();
    // A keytab without the service at all: 35 as well.
    realm.add_service("host/other.ktix.test");
    let kt = realm.kdc.keytab("host/other.ktix.test", realm.now()).unwrap();
    let (ap_req, _) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(realm.acceptor_with_keytab(kt).accept(&ap_req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_NOT_US);
}

#[test]
fn ticket_not_yet_valid_is_33() {
    let realm = Realm::new();
    let now = realm.now();
    let service = principal(SERVICE);
    let session = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
    let alice = principal("alice");
    // Starts in an hour.
    let c = ticket_contents(&alice, &session, now.plus_secs(HOUR), now.plus_secs(9 * HOUR), Flags::NONE);
    let t = realm.issue(&service, &c);
    let req = ap_req_bytes(&t, &session, &authenticator(&alice, now), false);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_NYV);
    // Starting within the skew allowance is fine.
    let c = ticket_contents(&alice, &session, now.plus_secs(200), now.plus_secs(9 * HOUR), Flags::NONE);
    let t = realm.issue(&service, &c);
    realm.acceptor().accept(&ap_req_bytes(&t, &session, &authenticator(&alice, now), false)).unwrap();
    // INVALID: 33 too.
    let c = ticket_contents(&alice, &session, now, now.plus_secs(HOUR), Flags::of(&[tf::INVALID]));
    let t = realm.issue(&service, &c);
    let req = ap_req_bytes(&t, &session, &authenticator(&alice, now), false);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_NYV);
}

#[test]
fn expired_ticket_is_32() {
    let realm = Realm::new();
    let client = realm.alice();
    let cred = client.service_ticket(SERVICE).unwrap();
    let acceptor = realm.acceptor();
    realm.clock.advance(9 * HOUR);
    // A fresh authenticator with the old ticket.
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &authenticator(&principal("alice"), realm.now()), false);
    assert_eq!(acceptor.accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED);
    // Just inside the skew allowance after the end: still accepted.
    realm.clock.set(cred.end_time.plus_secs(299));
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &authenticator(&principal("alice"), realm.now()), false);
    acceptor.accept(&req).unwrap();
}

#[test]
fn client_name_mismatch_is_36() {
    let realm = Realm::new();
    let client = realm.alice();
    let cred = client.service_ticket(SERVICE).unwrap();
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &authenticator(&principal("bob"), realm.now()), true);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BADMATCH);
    // Same name, another realm: 36 too.
    let other = ktix::Principal::parse("alice@OTHER.TEST", None).unwrap();
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &authenticator(&other, realm.now()), true);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BADMATCH);
}

#[test]
fn skew_is_37() {
    let realm = Realm::new();
    let client = realm.alice();
    let acceptor = realm.acceptor();
    let now = realm.now();
    for offset in [301, -301, 600] {
        let (req, _) = client.ap_req(SERVICE, false).unwrap();
        let e = acceptor.accept_at(&req, now.plus_secs(offset)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_SKEW, "offset {offset}");
    }
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    acceptor.accept_at(&req, now.plus_secs(299)).unwrap();
    // An authenticator dated 10 minutes ahead, at the acceptor's now.
    let cred = client.service_ticket(SERVICE).unwrap();
    let req =
        ap_req_bytes(&cred_ticket(&cred), &cred.key, &authenticator(&principal("alice"), now.plus_secs(600)), false);
    assert_eq!(acceptor.accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_SKEW);
}

#[test]
fn negative_skew_setting_allows_no_skew() {
    // A misconfigured negative skew must not turn the check off (it once overflowed to "any").
    let realm = Realm::new();
    let client = realm.alice();
    let acceptor = realm.acceptor_with(AcceptorConfig { clock_skew: -300, ..AcceptorConfig::default() });
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    let e = acceptor.accept_at(&req, realm.now().plus_secs(3600)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_SKEW, "{e}");
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    acceptor.accept(&req).unwrap();
    // A huge skew does not overflow either.
    let acceptor = realm.acceptor_with(AcceptorConfig { clock_skew: i64::MAX, ..AcceptorConfig::default() });
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    acceptor.accept(&req).unwrap();
}

#[test]
fn replay_is_34() {
    let realm = Realm::new();
    let client = realm.alice();
    let acceptor = realm.acceptor();
    let (req, _) = client.ap_req(SERVICE, true).unwrap();
    acceptor.accept(&req).unwrap();
    assert_eq!(acceptor.accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
    // A second acceptor object for the same service shares the cache: a replay there too.
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
    // Two AP-REQs with the same ctime (the fixed clock) are distinct authenticators.
    let (req2, _) = client.ap_req(SERVICE, true).unwrap();
    acceptor.accept(&req2).unwrap();
    assert_eq!(acceptor.replay_cache().len(), 2);
}

#[test]
fn wrong_kvno_is_44() {
    let realm = Realm::new();
    let client = realm.alice();
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    // The service's real keys, filed under kvno 2 only.
    let mut kt = Keytab::new();
    for k in realm.entry(SERVICE).keys {
        kt.add(principal(SERVICE), 2, k.key.clone(), realm.now());
    }
    assert_eq!(realm.acceptor_with_keytab(kt).accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BADKEYVER);
}

#[test]
fn missing_enctype_is_45() {
    let realm = Realm::new();
    let client = realm.alice();
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    let ticket_etype = wire::decode::<ApReq>(&req).unwrap().ticket.enc_part.etype;
    assert_eq!(ticket_etype, 20);
    // kvno 1, but only the aes128 keys.
    let mut kt = Keytab::new();
    for k in realm.entry(SERVICE).keys.iter().filter(|k| k.key.enctype().id() != ticket_etype) {
        if matches!(k.key.enctype(), Enctype::Aes128CtsHmacSha196 | Enctype::Aes128CtsHmacSha256128) {
            kt.add(principal(SERVICE), k.kvno, k.key.clone(), realm.now());
        }
    }
    assert_eq!(kt.len(), 2);
    assert_eq!(realm.acceptor_with_keytab(kt).accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_NOKEY);
}

#[test]
fn mutual_authentication() {
    let realm = Realm::new();
    realm.add_service("HTTP/web.ktix.test");
    let client = realm.alice();
    let acceptor = realm.acceptor();

    // Good.
    let (req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    let rep = acceptor.accept(&req).unwrap().ap_rep.unwrap();
    ctx.verify(&rep).unwrap();

    // Tampered AP-REP: 46.
    let (req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    let rep = acceptor.accept(&req).unwrap().ap_rep.unwrap();
    let mut parsed = wire::decode::<ApRep>(&rep).unwrap();
    let mut c = parsed.enc_part.cipher.to_vec();
    let last = c.len() - 1;
    c[last] ^= 0x80;
    parsed.enc_part.cipher = wire::octets(c);
    assert_eq!(ctx.verify(&wire::encode(&parsed).unwrap()).unwrap_err().code(), ErrorCode::KRB_AP_ERR_MUT_FAIL);
    assert!(!ctx.is_verified());
    ctx.verify(&rep).unwrap();

    // The AP-REP of another request, under another session key (another service): 46.
    let (req_web, _) = client.ap_req("HTTP/web.ktix.test", true).unwrap();
    let web_kt = realm.kdc.keytab("HTTP/web.ktix.test", realm.now()).unwrap();
    let rep_web = realm.acceptor_with_keytab(web_kt).accept(&req_web).unwrap().ap_rep.unwrap();
    let (req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    acceptor.accept(&req).unwrap();
    assert_eq!(ctx.verify(&rep_web).unwrap_err().code(), ErrorCode::KRB_AP_ERR_MUT_FAIL);

    // The AP-REP of another request under the same session key, made a second earlier: 46.
    let (req_a, _) = client.ap_req(SERVICE, true).unwrap();
    let rep_a = acceptor.accept(&req_a).unwrap().ap_rep.unwrap();
    realm.clock.advance(1);
    let (req_b, mut ctx_b) = client.ap_req(SERVICE, true).unwrap();
    let rep_b = acceptor.accept(&req_b).unwrap().ap_rep.unwrap();
    assert_eq!(ctx_b.verify(&rep_a).unwrap_err().code(), ErrorCode::KRB_AP_ERR_MUT_FAIL);
    ctx_b.verify(&rep_b).unwrap();

    // A KRB-ERROR in place of the AP-REP is returned as its code.
    let err = ktix::internals::proto::krb_error(
        &ktix::Error::new(ErrorCode::KRB_AP_ERR_SKEW, "skew"),
        realm.now(),
        &ktix::internals::proto::ErrorReply { realm: REALM.into(), ..Default::default() },
    )
    .unwrap();
    let (_, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    assert_eq!(ctx.verify(&err).unwrap_err().code(), ErrorCode::KRB_AP_ERR_SKEW);
}

#[test]
fn gss_checksum_type_is_accepted() {
    let realm = Realm::new();
    let client = realm.alice();
    let cred = client.service_ticket(SERVICE).unwrap();
    // RFC 4121 §4.1.1: Lgth = 16, Bnd (16 bytes), Flags (mutual | integ | conf), little-endian.
    let mut gss = Vec::new();
    gss.extend_from_slice(&16u32.to_le_bytes());
    gss.extend_from_slice(&[0u8; 16]);
    gss.extend_from_slice(&(2u32 | 16 | 32).to_le_bytes());
    let mut auth = authenticator(&principal("alice"), realm.now());
    auth.cksum = Some(Checksum { r#type: checksum_type::GSSAPI, checksum: wire::octets(gss.clone()) });
    auth.subkey = Some(ktix::internals::proto::encryption_key(&Key::random(Enctype::Aes256CtsHmacSha196).unwrap()));
    auth.seq_number = Some(12345);
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &auth, true);
    let acc = realm.acceptor().accept(&req).unwrap();
    assert_eq!(acc.checksum, Some((0x8003, gss)));
    assert_eq!(acc.seq_number, Some(12345));
    assert!(acc.ap_rep.is_some());

    // A checksum type the acceptor cannot use (rsa-md5, 7): 50.
    let mut auth = authenticator(&principal("alice"), realm.now());
    auth.cksum = Some(Checksum { r#type: 7, checksum: wire::octets(vec![0u8; 16]) });
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &auth, false);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_INAPP_CKSUM);
}

#[test]
fn authenticator_version_and_replay_capacity() {
    let realm = Realm::new();
    let client = realm.alice();
    let cred = client.service_ticket(SERVICE).unwrap();
    // authenticator-vno 4: 39.
    let mut auth = authenticator(&principal("alice"), realm.now());
    auth.authenticator_vno = wire::int(4);
    let req = ap_req_bytes(&cred_ticket(&cred), &cred.key, &auth, false);
    assert_eq!(realm.acceptor().accept(&req).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BADVERSION);

    // A replay cache of two: the third live authenticator is refused (KTIX_ERR_REPLAY_CACHE_FULL),
    // accepted once the first two have left the skew window and their generation (a quarter of
    // the skew, 75 s) has passed.
    let acceptor = realm.acceptor_with(AcceptorConfig { replay_capacity: 2, ..AcceptorConfig::default() });
    for _ in 0..2 {
        acceptor.accept(&client.ap_req(SERVICE, false).unwrap().0).unwrap();
    }
    let (third, _) = client.ap_req(SERVICE, false).unwrap();
    assert_eq!(acceptor.accept(&third).unwrap_err().code(), ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL);
    realm.clock.advance(300 + 75);
    acceptor.accept(&client.ap_req(SERVICE, false).unwrap().0).unwrap();
    assert_eq!(acceptor.replay_cache().len(), 1);
}

#[test]
fn ap_req_decoding_failures_are_errors() {
    let realm = Realm::new();
    let acceptor = realm.acceptor();
    for bad in [&[][..], &[0x6e, 0x00], &[0x30, 0x03, 0x02, 0x01, 0x05], &[0x6e, 0x84, 0xff, 0xff, 0xff, 0xff]] {
        assert!(acceptor.accept(bad).is_err());
    }
    // An AP-REQ sealed for user-to-user: 48.
    let client = realm.alice();
    let (req, _) = client.ap_req(SERVICE, false).unwrap();
    let mut parsed = wire::decode::<ApReq>(&req).unwrap();
    parsed.ap_options.0 = Flags::NONE.with(wire::ap_options::USE_SESSION_KEY).to_bits();
    assert_eq!(acceptor.accept(&wire::encode(&parsed).unwrap()).unwrap_err().code(), ErrorCode::KRB_AP_ERR_METHOD);
}
