//! The TGS exchange against the KDC: the authenticator checksum, fresh session keys,
//! authorization data, the reply key, RENEW and VALIDATE, and the TGS error codes.

mod common;

use common::*;
use ktix::crypto::usage;
use ktix::internals::wire::{
    self, kdc_options as opt, ticket_flags as tf, AdIfRelevant, AuthorizationData, AuthorizationDataValue, FlagBits,
    Flags,
};
use ktix::{ClientConfig, Enctype, ErrorCode, Key};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const WEB: &str = "HTTP/web.ktix.test";

/// A TGT issued by hand (sealed in the krbtgt key), with `flags`, valid from `start` for 8 hours.
fn hand_tgt(
    realm: &Realm,
    flags: Flags,
    start: ktix::Time,
) -> (ktix::internals::wire::Ticket, ktix::internals::proto::TicketContents) {
    let session = Key::random(Enctype::Aes256CtsHmacSha384192).unwrap();
    let c = ticket_contents(&principal("alice"), &session, start, start.plus_secs(8 * HOUR), flags);
    (realm.issue(&krbtgt(), &c), c)
}

// ----- requirement 4 -----

#[test]
fn tampered_body_is_41() {
    let realm = Realm::new();
    let client = realm.alice();
    let tgt = client.tgt().unwrap();
    let now = realm.now();
    let params = TgsReqParams::new(&cred_ticket(&tgt), &tgt.key, &principal(SERVICE), now);
    let mut req = params.encode();
    // The untouched request works.
    tgs_rep(&realm.handle(&req));

    // Change `till` in the raw bytes (one digit of the seconds), keeping the old checksum.
    let till = wire::encode(&wire::kerberos_time(params.till)).unwrap();
    assert_eq!(till.len(), 17, "GeneralizedTime TLV of YYYYMMDDHHMMSSZ");
    let body_start = {
        let body = wire::req_body_bytes(&req).unwrap();
        body.as_ptr() as usize - req.as_ptr() as usize
    };
    let hits: Vec<usize> =
        req.windows(till.len()).enumerate().filter(|(_, w)| *w == &till[..]).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "till appears once in the clear");
    assert!(hits[0] > body_start, "inside the req-body");
    let digit = hits[0] + 2 + 13; // the last digit of the seconds
    req[digit] = if req[digit] < b'9' { req[digit] + 1 } else { b'0' };
    let decoded = wire::decode::<ktix::internals::wire::TgsReq>(&req).expect("still a well-formed TGS-REQ").0;
    assert_ne!(wire::time_from(&decoded.req_body.till), params.till);
    assert_eq!(error_code(&realm.handle(&req)), ErrorCode::KRB_AP_ERR_MODIFIED);

    // Another service than the one the checksum covers, spliced in: 41 too.
    let mut other = params.clone();
    other.server = Some(principal(WEB));
    realm.add_service(WEB);
    let good = other.encode();
    let mut spliced = wire::decode::<ktix::internals::wire::TgsReq>(&params.encode()).unwrap();
    spliced.0.req_body = wire::decode::<ktix::internals::wire::TgsReq>(&good).unwrap().0.req_body;
    assert_eq!(error_code(&realm.handle(&wire::encode(&spliced).unwrap())), ErrorCode::KRB_AP_ERR_MODIFIED);
}

#[test]
fn fresh_session_key_per_service_ticket() {
    let realm = Realm::new();
    realm.add_service(WEB);
    let client = realm.alice();
    let tgt = client.tgt().unwrap();
    let a = client.service_ticket(SERVICE).unwrap();
    let b = client.service_ticket(WEB).unwrap();
    assert_ne!(a.key, b.key);
    assert_ne!(a.key, tgt.key);
    assert_ne!(b.key, tgt.key);
    // Asking again (not from the cache) gives yet another key.
    client.ccache().remove(&principal(SERVICE)).unwrap();
    let a2 = client.service_ticket(SERVICE).unwrap();
    assert_ne!(a2.key, a.key);
    assert_eq!(client.stats().tgs_requests, 3);
    // The service's copy in each ticket is the client's copy.
    for (name, cred) in [(SERVICE, &a2), (WEB, &b)] {
        let inside =
            ktix::internals::proto::open_ticket(&cred_ticket(cred), &realm.ticket_key(&principal(name)).0).unwrap();
        assert_eq!(inside.session_key, cred.key);
        assert_eq!(inside.client, principal("alice"));
    }
}

#[test]
fn authorization_data_is_carried_from_the_tgt() {
    let realm = Realm::new();
    let now = realm.now();
    let inner: AuthorizationData =
        vec![AuthorizationDataValue { r#type: 128, data: wire::octets(b"pac-ish".to_vec()) }];
    let authz: AuthorizationData = vec![
        AuthorizationDataValue { r#type: -42, data: wire::octets(b"group=admins".to_vec()) },
        AuthorizationDataValue {
            r#type: wire::ad_type::IF_RELEVANT,
            data: wire::octets(wire::encode::<AdIfRelevant>(&inner).unwrap()),
        },
    ];
    let session = Key::random(Enctype::Aes256CtsHmacSha384192).unwrap();
    let mut c = ticket_contents(
        &principal("alice"),
        &session,
        now,
        now.plus_secs(8 * HOUR),
        Flags::of(&[tf::INITIAL, tf::PRE_AUTHENT, tf::FORWARDABLE]),
    );
    c.authorization_data = Some(authz.clone());
    let tgt = realm.issue(&krbtgt(), &c);

    // Through the client API: the hand-made TGT in a fresh cache.
    let client = realm.client();
    client.ccache().initialize(&principal("alice")).unwrap();
    client.ccache().store(credential(&krbtgt(), &c, &tgt)).unwrap();
    let st = client.service_ticket(SERVICE).unwrap();
    let inside =
        ktix::internals::proto::open_ticket(&cred_ticket(&st), &realm.ticket_key(&principal(SERVICE)).0).unwrap();
    assert_eq!(inside.authorization_data, Some(authz.clone()));
    assert_ne!(inside.session_key, session);

    // The acceptor sees it, AD-IF-RELEVANT opened.
    let (ap_req, _) = client.ap_req(SERVICE, false).unwrap();
    let acc = realm.acceptor().accept(&ap_req).unwrap();
    assert!(acc.authorization_data.contains(&(-42, b"group=admins".to_vec())), "{:?}", acc.authorization_data);
    assert!(acc.authorization_data.contains(&(128, b"pac-ish".to_vec())), "{:?}", acc.authorization_data);

    // A TGT without authorization data gives a service ticket without.
    let plain = realm.alice().service_ticket(SERVICE).unwrap();
    let inside =
        ktix::internals::proto::open_ticket(&cred_ticket(&plain), &realm.ticket_key(&principal(SERVICE)).0).unwrap();
    assert!(inside.authorization_data.as_ref().is_none_or(|a| a.is_empty()));
}

#[test]
fn reply_key_is_the_subkey_or_the_session_key() {
    let realm = Realm::new();
    let client = realm.alice();
    let tgt = client.tgt().unwrap();
    let now = realm.now();
    let mut params = TgsReqParams::new(&cred_ticket(&tgt), &tgt.key, &principal(SERVICE), now);

    // With a subkey: sealed in it, usage 9.
    let subkey = Key::random(Enctype::Aes128CtsHmacSha256128).unwrap();
    params.subkey = Some(subkey.clone());
    let rep = tgs_rep(&realm.handle(&params.encode()));
    assert_eq!(rep.enc_part.etype, subkey.enctype().id());
    let (part, first) = open_rep_part(&rep, &subkey, usage::TGS_REP_ENC_PART_SUBKEY);
    assert_eq!(first, 0x7a, "EncTGSRepPart [APPLICATION 26]");
    assert_eq!(part.nonce, params.nonce);
    assert_eq!(wire::principal_from(&part.sname, &part.srealm).unwrap(), principal(SERVICE));
    assert_eq!(
        ktix::internals::proto::open_bytes(&subkey, usage::TGS_REP_ENC_PART_SESSION, &rep.enc_part).unwrap_err().code(),
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
    );

    // Without: sealed in the TGT session key, usage 8.
    params.subkey = None;
    params.nonce = 77;
    let rep = tgs_rep(&realm.handle(&params.encode()));
    assert_eq!(rep.enc_part.etype, tgt.key.enctype().id());
    let (part, first) = open_rep_part(&rep, &tgt.key, usage::TGS_REP_ENC_PART_SESSION);
    assert_eq!(first, 0x7a);
    assert_eq!(part.nonce, 77);
    assert_eq!(
        ktix::internals::proto::open_bytes(&tgt.key, usage::TGS_REP_ENC_PART_SUBKEY, &rep.enc_part).unwrap_err().code(),
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
    );
    // The service ticket's session key is the one in the reply.
    let inside = ktix::internals::proto::open_ticket(&rep.ticket, &realm.ticket_key(&principal(SERVICE)).0).unwrap();
    assert_eq!(inside.session_key, ktix::internals::proto::key_from(&part.key).unwrap());
}

#[test]
fn renew_extends_a_renewable_tgt() {
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(7 * DAY);
    let client = realm.client_with(cfg);
    let old = client.login("alice", ALICE_PW).unwrap();
    assert!(old.flags.has(tf::RENEWABLE));
    realm.clock.advance(7 * HOUR);
    let renewed = client.renew().unwrap();
    assert!(renewed.end_time > old.end_time, "{:?} !> {:?}", renewed.end_time, old.end_time);
    assert_eq!(renewed.end_time, realm.now().plus_secs(8 * HOUR));
    assert_eq!(renewed.start(), realm.now());
    assert_eq!(renewed.renew_till, old.renew_till);
    assert_eq!(renewed.auth_time, old.auth_time);
    assert!(renewed.flags.has(tf::RENEWABLE));
    assert_eq!(renewed.server, krbtgt());
    assert_eq!(client.stats().tgs_requests, 1);
    // The cache holds the renewed TGT, still good after the old one would have expired.
    assert_eq!(client.tgt().unwrap().end_time, renewed.end_time);
    realm.clock.advance(2 * HOUR);
    client.service_ticket(SERVICE).unwrap();

    // Renewal never goes past renew-till.
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(10 * HOUR);
    let client = realm.client_with(cfg);
    let t = client.login("alice", ALICE_PW).unwrap();
    realm.clock.advance(7 * HOUR);
    let r = client.renew().unwrap();
    assert_eq!(Some(r.end_time), t.renew_till);
}

#[test]
fn renew_of_a_non_renewable_tgt_is_13() {
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.ticket_lifetime = 2 * HOUR; // granted in full, so RENEWABLE-OK adds nothing
    let client = realm.client_with(cfg);
    let tgt = client.login("alice", ALICE_PW).unwrap();
    assert!(!tgt.flags.has(tf::RENEWABLE));
    let e = client.renew().unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_BADOPTION, "{e}");
}

#[test]
fn validate_an_invalid_tgt() {
    let realm = Realm::new();
    let now = realm.now();
    let (tgt, c) = hand_tgt(&realm, Flags::of(&[tf::INITIAL, tf::PRE_AUTHENT, tf::INVALID]), now);

    // Used as it is: not yet valid (33), raw and through the client.
    let use_it = TgsReqParams::new(&tgt, &c.session_key, &principal(SERVICE), now);
    assert_eq!(error_code(&realm.handle(&use_it.encode())), ErrorCode::KRB_AP_ERR_TKT_NYV);
    let client = realm.client();
    client.ccache().initialize(&principal("alice")).unwrap();
    client.ccache().store(credential(&krbtgt(), &c, &tgt)).unwrap();
    assert_eq!(client.service_ticket(SERVICE).unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_NYV);

    // VALIDATE: the same ticket back without INVALID, same session key.
    let mut v = TgsReqParams::new(&tgt, &c.session_key, &krbtgt(), now);
    v.options = Flags::NONE.with(opt::VALIDATE);
    let rep = tgs_rep(&realm.handle(&v.encode()));
    let (part, _) = open_rep_part(&rep, &c.session_key, usage::TGS_REP_ENC_PART_SESSION);
    assert!(!part_flags(&part).has(tf::INVALID), "{:?}", part_flags(&part));
    assert_eq!(ktix::internals::proto::key_from(&part.key).unwrap(), c.session_key);
    let valid = ktix::internals::proto::open_ticket(&rep.ticket, &realm.tgs_key().0).unwrap();
    assert!(!valid.flags.has(tf::INVALID));
    assert_eq!(valid.client, principal("alice"));

    // The validated TGT gets service tickets.
    let use_valid = TgsReqParams::new(&rep.ticket, &c.session_key, &principal(SERVICE), now);
    tgs_rep(&realm.handle(&use_valid.encode()));

    // VALIDATE of a ticket that is not invalid: 13.
    let mut v2 = TgsReqParams::new(&rep.ticket, &c.session_key, &krbtgt(), now);
    v2.options = Flags::NONE.with(opt::VALIDATE);
    assert_eq!(error_code(&realm.handle(&v2.encode())), ErrorCode::KDC_ERR_BADOPTION);

    // VALIDATE before the start time (a postdated ticket): 33.
    let (later, lc) = hand_tgt(&realm, Flags::of(&[tf::INVALID, tf::POSTDATED]), now.plus_secs(HOUR));
    let mut v3 = TgsReqParams::new(&later, &lc.session_key, &krbtgt(), now);
    v3.options = Flags::NONE.with(opt::VALIDATE);
    assert_eq!(error_code(&realm.handle(&v3.encode())), ErrorCode::KRB_AP_ERR_TKT_NYV);
}

#[test]
fn unknown_service_is_7() {
    let realm = Realm::new();
    let client = realm.alice();
    let e = client.service_ticket("host/nowhere.ktix.test").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN, "{e}");
    // Raw, and the KRB-ERROR names the server asked for.
    let tgt = client.tgt().unwrap();
    let p = TgsReqParams::new(&cred_ticket(&tgt), &tgt.key, &principal("host/nowhere.ktix.test"), realm.now());
    let err = krb_error(&realm.handle(&p.encode()));
    assert_eq!(ErrorCode(err.error_code), ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN);
    assert_eq!(wire::principal_from(&err.sname, &err.realm).unwrap(), principal("host/nowhere.ktix.test"));
    // A server in another realm too.
    let p = TgsReqParams::new(
        &cred_ticket(&tgt),
        &tgt.key,
        &ktix::Principal::parse("host/x@OTHER.TEST", None).unwrap(),
        realm.now(),
    );
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

#[test]
fn expired_tgt_is_32() {
    let realm = Realm::new();
    let client = realm.alice();
    realm.clock.advance(9 * HOUR);
    let e = client.service_ticket(SERVICE).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED, "{e}");
}

#[test]
fn authenticator_in_a_wrong_key_is_31() {
    let realm = Realm::new();
    let client = realm.alice();
    let tgt = client.tgt().unwrap();
    let wrong = Key::random(tgt.key.enctype()).unwrap();
    let p = TgsReqParams::new(&cred_ticket(&tgt), &wrong, &principal(SERVICE), realm.now());
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    // A TGT that was not sealed in the krbtgt key: 31 as well.
    let mut forged = cred_ticket(&tgt);
    let c = ticket_contents(&principal("alice"), &tgt.key, realm.now(), realm.now().plus_secs(HOUR), Flags::NONE);
    forged.enc_part =
        ktix::internals::proto::issue_ticket(&c, &krbtgt(), &Key::random(Enctype::Aes256CtsHmacSha384192).unwrap(), 1)
            .unwrap()
            .enc_part
            .into();
    let p = TgsReqParams::new(&forged, &tgt.key, &principal(SERVICE), realm.now());
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
}

#[test]
fn other_tgs_errors() {
    let realm = Realm::new();
    let client = realm.alice();
    let tgt = client.tgt().unwrap();
    let now = realm.now();
    let base = TgsReqParams::new(&cred_ticket(&tgt), &tgt.key, &principal(SERVICE), now);

    // An authenticator naming someone else than the TGT: 36.
    let mut p = base.clone();
    p.client = principal("bob");
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_BADMATCH);
    // An authenticator time 10 minutes off: 37.
    let mut p = base.clone();
    p.ctime = now.plus_secs(600);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_SKEW);
    // A service ticket presented as a TGT: 35 (not this realm's TGS).
    let st = client.service_ticket(SERVICE).unwrap();
    let p = TgsReqParams::new(&cred_ticket(&st), &st.key, &principal(SERVICE), now);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_NOT_US);
    // A TGT naming a krbtgt key version the KDC does not have: 44.
    let mut t = cred_ticket(&tgt);
    t.enc_part.kvno = Some(9);
    let p = TgsReqParams::new(&t, &tgt.key, &principal(SERVICE), now);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KRB_AP_ERR_BADKEYVER);
    // No enctype the KDC can make a session key of: 14.
    let mut p = base.clone();
    p.etypes = vec![23];
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_ETYPE_NOSUPP);
    // A till in the past: 11.
    let mut p = base.clone();
    p.till = now.minus_secs(60);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_NEVER_VALID);
    // till 0 means "as long as the TGT".
    let mut p = base.clone();
    p.till = ktix::Time::EPOCH;
    let rep = tgs_rep(&realm.handle(&p.encode()));
    let (part, _) = open_rep_part(&rep, &tgt.key, usage::TGS_REP_ENC_PART_SESSION);
    assert_eq!(wire::time_from(&part.end_time), tgt.end_time);
    // Options the KDC does not implement are refused rather than ignored: user-to-user 13,
    // postdating 10.
    let mut p = base.clone();
    p.options = Flags::NONE.with(opt::ENC_TKT_IN_SKEY);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_BADOPTION);
    let mut p = base.clone();
    p.options = Flags::NONE.with(opt::POSTDATED);
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_CANNOT_POSTDATE);
    // No PA-TGS-REQ at all: 16.
    let mut req = wire::decode::<ktix::internals::wire::TgsReq>(&base.encode()).unwrap();
    req.0.padata = None;
    assert_eq!(error_code(&realm.handle(&wire::encode(&req).unwrap())), ErrorCode::KDC_ERR_PADATA_TYPE_NOSUPP);
    // A service ticket cannot outlive the TGT.
    realm.clock.advance(2 * HOUR);
    realm.add_service(WEB);
    let web = client.service_ticket(WEB).unwrap();
    assert_eq!(web.end_time, tgt.end_time);
    assert_eq!(web.start(), realm.now());
    assert!(web.flags.has(tf::PRE_AUTHENT) && !web.flags.has(tf::INITIAL));
}

#[test]
fn service_key_rotation_seals_tickets_in_the_current_kvno() {
    // The service's keys rotated to kvno 2 with fewer enctypes, the kvno 1 keys kept.
    let realm = Realm::new();
    let client = realm.alice();
    let (old_req, _) = client.ap_req(SERVICE, false).unwrap();
    let mut e = realm.entry(SERVICE);
    for et in [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196] {
        e.keys.push(ktix::kdc::KeyEntry {
            kvno: 2,
            key: Key::random(et).unwrap(),
            salt: principal(SERVICE).default_salt(),
            s2kparams: None,
        });
    }
    realm.kdc.put_principal(e).unwrap();

    // kdc.keytab gives the current keys: kvno 2.
    let kt = realm.kdc.keytab(SERVICE, realm.now()).unwrap();
    assert!(kt.entries().iter().all(|k| k.kvno == 2) && kt.len() == 2);
    // A new ticket is sealed in a kvno 2 key, and that keytab accepts it.
    let fresh = realm.alice();
    let st = fresh.service_ticket(SERVICE).unwrap();
    let t = cred_ticket(&st);
    assert_eq!(t.enc_part.kvno, Some(2), "sealed in the current key version (etype {})", t.enc_part.etype);
    let (req, _) = fresh.ap_req(SERVICE, false).unwrap();
    realm.acceptor_with_keytab(kt.clone()).accept(&req).unwrap();
    // The old ticket (kvno 1) is refused by the new keytab (44), accepted with both versions.
    assert_eq!(
        realm.acceptor_with_keytab(kt.clone()).accept(&old_req).unwrap_err().code(),
        ErrorCode::KRB_AP_ERR_BADKEYVER
    );
    let mut both = kt;
    for k in realm.entry(SERVICE).keys.iter().filter(|k| k.kvno == 1) {
        both.add(principal(SERVICE), 1, k.key.clone(), realm.now());
    }
    realm.acceptor_with_keytab(both).accept(&old_req).unwrap();
}

#[test]
fn disabled_or_expired_service_gets_no_ticket() {
    let realm = Realm::new();
    let client = realm.alice();
    let mut e = realm.entry(SERVICE);
    e.disabled = true;
    realm.kdc.put_principal(e).unwrap();
    assert_eq!(client.service_ticket(SERVICE).unwrap_err().code(), ErrorCode::KDC_ERR_SERVICE_REVOKED);
    let mut e = realm.entry(SERVICE);
    e.disabled = false;
    e.expiration = Some(realm.now());
    realm.kdc.put_principal(e).unwrap();
    assert_eq!(client.service_ticket(SERVICE).unwrap_err().code(), ErrorCode::KDC_ERR_SERVICE_EXP);
    // TGS-REQ outcome facts.
    let tgt = client.tgt().unwrap();
    realm.add_service(WEB);
    let p = TgsReqParams::new(&cred_ticket(&tgt), &tgt.key, &principal(WEB), realm.now());
    let o = realm.kdc.process(&p.encode(), realm.now());
    assert_eq!(o.facts.kind, ktix::kdc::ExchangeKind::Tgs);
    assert_eq!(o.facts.code, ErrorCode::KDC_ERR_NONE);
    assert_eq!(o.facts.client, Some(principal("alice")));
    assert_eq!(o.facts.service, Some(principal(WEB)));
    assert_eq!(o.facts.session_enctype, Some(Enctype::Aes256CtsHmacSha384192));
}

#[test]
fn an_expired_tgt_cannot_be_renewed_even_before_renew_till() {
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(7 * DAY);
    let client = realm.client_with(cfg);
    let old = client.login("alice", ALICE_PW).unwrap();
    assert!(old.renew_till.unwrap() > realm.now().plus_secs(9 * HOUR));
    realm.clock.advance(9 * HOUR);
    assert_eq!(client.renew().unwrap_err().code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED);
}

// ----- issue 13: the client re-checked, session-key enctypes, ticket options -----

/// The enc-part of a TGS-REP to `params` (sealed in the TGT session key).
fn tgs_part(realm: &Realm, params: &TgsReqParams) -> ktix::internals::wire::EncKdcRepPart {
    let rep = tgs_rep(&realm.handle(&params.encode()));
    open_rep_part(&rep, &params.session_key, usage::TGS_REP_ENC_PART_SESSION).0
}

#[test]
fn a_revoked_client_gets_nothing_more_from_its_tgt() {
    type Revoke = fn(&mut ktix::kdc::PrincipalEntry, ktix::Time);
    let cases: [(&str, Revoke, ErrorCode); 3] = [
        ("disabled", |e, _| e.disabled = true, ErrorCode::KDC_ERR_CLIENT_REVOKED),
        ("expired", |e, now| e.expiration = Some(now), ErrorCode::KDC_ERR_NAME_EXP),
        (
            "locked out",
            |e, now| {
                e.policy = Some("lockout".into());
                e.fail_count = 3;
                e.last_failed = Some(now);
            },
            ErrorCode::KDC_ERR_CLIENT_REVOKED,
        ),
    ];
    for (what, revoke, code) in cases {
        let realm = Realm::new();
        let mut lockout = ktix::kdc::Policy::new("lockout");
        lockout.max_failures = 3;
        lockout.lockout_duration = 600;
        realm.kdc.store().put_policy(lockout).unwrap();
        let now = realm.now();
        let renewable = Flags::of(&[tf::RENEWABLE, tf::INITIAL]);
        let (_, mut c) = hand_tgt(&realm, renewable, now);
        c.renew_till = Some(now.plus_secs(DAY));
        let ticket = realm.issue(&krbtgt(), &c);
        let service = TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now);
        let mut renew = TgsReqParams::new(&ticket, &c.session_key, &krbtgt(), now);
        renew.options = Flags::of(&[opt::RENEW]);
        // Before: both work.
        tgs_rep(&realm.handle(&service.encode()));
        tgs_rep(&realm.handle(&renew.encode()));

        let mut e = realm.entry("alice");
        revoke(&mut e, now);
        realm.kdc.put_principal(e).unwrap();
        assert_eq!(error_code(&realm.handle(&service.encode())), code, "{what}: service ticket");
        assert_eq!(error_code(&realm.handle(&renew.encode())), code, "{what}: RENEW");
        let (inv_ticket, inv) = hand_tgt(&realm, Flags::of(&[tf::INVALID]), now);
        let v = TgsReqParams {
            options: Flags::of(&[opt::VALIDATE]),
            ..TgsReqParams::new(&inv_ticket, &inv.session_key, &krbtgt(), now)
        };
        assert_eq!(error_code(&realm.handle(&v.encode())), code, "{what}: VALIDATE");
    }

    // Deleted: the principal is unknown (6).
    let realm = Realm::new();
    let now = realm.now();
    let (ticket, c) = hand_tgt(&realm, Flags::NONE, now);
    let service = TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now);
    tgs_rep(&realm.handle(&service.encode()));
    assert!(realm.kdc.store().delete(&principal("alice")).unwrap());
    assert_eq!(error_code(&realm.handle(&service.encode())), ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN);
}

#[test]
fn the_session_key_is_of_an_enctype_the_service_has_a_key_for() {
    let realm = Realm::new();
    // A service with only aes128-cts-hmac-sha1-96 keys.
    let mut e = ktix::kdc::PrincipalEntry::new(principal(WEB));
    e.set_random_keys(&[Enctype::Aes128CtsHmacSha196], 1).unwrap();
    realm.kdc.put_principal(e).unwrap();
    let now = realm.now();
    let (ticket, c) = hand_tgt(&realm, Flags::NONE, now);
    let mut params = TgsReqParams::new(&ticket, &c.session_key, &principal(WEB), now);
    params.etypes = ids(&Enctype::ALL); // 20, 18, 19, 17: SHA-2 first
    let part = tgs_part(&realm, &params);
    assert_eq!(part.key.r#type, 17, "the first the client lists that the service has");
    let rep = tgs_rep(&realm.handle(&params.encode()));
    assert_eq!(rep.ticket.enc_part.etype, 17);
    // The full-keyed service: the client's first.
    params.server = Some(principal(SERVICE));
    assert_eq!(tgs_part(&realm, &params).key.r#type, 20);
    params.etypes = vec![19, 20];
    assert_eq!(tgs_part(&realm, &params).key.r#type, 19);
    // Nothing in common with the aes128-only service: 14.
    params.server = Some(principal(WEB));
    assert_eq!(error_code(&realm.handle(&params.encode())), ErrorCode::KDC_ERR_ETYPE_NOSUPP);
}

#[test]
fn forwarded_and_proxy_need_the_tgt_flags() {
    let realm = Realm::new();
    let now = realm.now();
    for (option, needs) in [(opt::FORWARDED, tf::FORWARDABLE), (opt::PROXY, tf::PROXIABLE)] {
        let (ticket, c) = hand_tgt(&realm, Flags::of(&[tf::INITIAL]), now);
        let mut p = TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now);
        p.options = Flags::of(&[option]);
        assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_BADOPTION, "option {option}");
        let (ticket, c) = hand_tgt(&realm, Flags::of(&[tf::INITIAL, needs]), now);
        let p = TgsReqParams {
            options: Flags::of(&[option]),
            ..TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now)
        };
        let flags = Flags::from_bits(&tgs_part(&realm, &p).flags.0);
        let carried = if option == opt::FORWARDED { tf::FORWARDED } else { tf::PROXY };
        assert!(flags.has(carried), "option {option}: {flags:?}");
        assert!(!flags.has(tf::FORWARDABLE) && !flags.has(tf::PROXIABLE), "not asked for");
    }
    // A proxy TGT is never issued (RFC 4120 §2.5).
    let (ticket, c) = hand_tgt(&realm, Flags::of(&[tf::PROXIABLE]), now);
    let p = TgsReqParams {
        options: Flags::of(&[opt::PROXY]),
        ..TgsReqParams::new(&ticket, &c.session_key, &krbtgt(), now)
    };
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_BADOPTION);
    // PROXIABLE carries over when asked for and the TGT has it.
    let p = TgsReqParams {
        options: Flags::of(&[opt::PROXIABLE]),
        ..TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now)
    };
    assert!(Flags::from_bits(&tgs_part(&realm, &p).flags.0).has(tf::PROXIABLE));
    let (ticket, c) = hand_tgt(&realm, Flags::NONE, now);
    let p = TgsReqParams {
        options: Flags::of(&[opt::PROXIABLE]),
        ..TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now)
    };
    assert!(!Flags::from_bits(&tgs_part(&realm, &p).flags.0).has(tf::PROXIABLE));
}

#[test]
fn a_forwarded_tgt_carries_forwarded_to_its_tickets() {
    let realm = Realm::new();
    let now = realm.now();
    let (ticket, c) = hand_tgt(&realm, Flags::of(&[tf::INITIAL, tf::FORWARDABLE, tf::PRE_AUTHENT]), now);
    // FORWARDED | FORWARDABLE for krbtgt: a forwarded, forwardable TGT (what GSS delegation sends).
    let p = TgsReqParams {
        options: Flags::of(&[opt::FORWARDED, opt::FORWARDABLE]),
        ..TgsReqParams::new(&ticket, &c.session_key, &krbtgt(), now)
    };
    let rep = tgs_rep(&realm.handle(&p.encode()));
    let (part, _) = open_rep_part(&rep, &c.session_key, usage::TGS_REP_ENC_PART_SESSION);
    let flags = Flags::from_bits(&part.flags.0);
    assert!(flags.has(tf::FORWARDED) && flags.has(tf::FORWARDABLE), "{flags:?}");
    assert!(!flags.has(tf::INITIAL), "a TGS ticket is not initial");
    assert_eq!(wire::principal_from(&part.sname, &part.srealm).unwrap(), krbtgt());

    // A service ticket from the forwarded TGT is FORWARDED too, without asking.
    let fwd_tgt = rep.ticket.clone();
    let fwd_key = ktix::internals::proto::key_from(&part.key).unwrap();
    let p = TgsReqParams::new(&fwd_tgt, &fwd_key, &principal(SERVICE), now);
    let flags = Flags::from_bits(&tgs_part(&realm, &p).flags.0);
    assert!(flags.has(tf::FORWARDED) && !flags.has(tf::FORWARDABLE), "{flags:?}");

    // A client whose tickets may not be forwardable is refused FORWARDED by policy.
    let mut alice = realm.entry("alice");
    alice.allow_forwardable = false;
    realm.kdc.put_principal(alice).unwrap();
    let p = TgsReqParams {
        options: Flags::of(&[opt::FORWARDED]),
        ..TgsReqParams::new(&ticket, &c.session_key, &krbtgt(), now)
    };
    assert_eq!(error_code(&realm.handle(&p.encode())), ErrorCode::KDC_ERR_POLICY);
    // And FORWARDABLE asked for is simply not granted.
    let p = TgsReqParams {
        options: Flags::of(&[opt::FORWARDABLE]),
        ..TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now)
    };
    assert!(!Flags::from_bits(&tgs_part(&realm, &p).flags.0).has(tf::FORWARDABLE));
}

#[test]
fn canonicalize_is_accepted() {
    let realm = Realm::new();
    let now = realm.now();
    let (ticket, c) = hand_tgt(&realm, Flags::NONE, now);
    let p = TgsReqParams {
        options: Flags::of(&[opt::CANONICALIZE]),
        ..TgsReqParams::new(&ticket, &c.session_key, &principal(SERVICE), now)
    };
    let part = tgs_part(&realm, &p);
    assert_eq!(wire::principal_from(&part.sname, &part.srealm).unwrap(), principal(SERVICE));
}
