//! The AS exchange against the KDC: pre-authentication, error codes, enctype choice, nonce, flags,
//! both copies of the session key, and the realm's ticket-lifetime policy.

mod common;

use std::sync::Arc;

use common::*;
use ktix::crypto::usage;
use ktix::internals::wire::{self, kdc_options as opt, pa_type, ticket_flags as tf, EtypeInfo2, MethodData};
use ktix::kdc::{KeyEntry, PrincipalEntry};
use ktix::{ClientConfig, Enctype, ErrorCode, FixedClock, Key, RealmPolicy, Time};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Adds `name` with `password` keys of `enctypes` only (kvno 1, default salt).
fn add_with_enctypes(realm: &Realm, name: &str, password: &str, enctypes: &[Enctype]) {
    let mut e = PrincipalEntry::new(principal(name));
    e.set_password(password.as_bytes(), enctypes, 1).unwrap();
    realm.kdc.put_principal(e).unwrap();
}

/// The e-data of a PREAUTH_REQUIRED error as METHOD-DATA, and its ETYPE-INFO2.
fn preauth_hints(reply: &[u8]) -> (MethodData, EtypeInfo2) {
    let err = krb_error(reply);
    assert_eq!(ErrorCode(err.error_code), ErrorCode::KDC_ERR_PREAUTH_REQUIRED);
    let md = wire::decode::<MethodData>(err.e_data.as_ref().expect("e-data")).unwrap();
    let info = md.iter().find(|p| p.r#type == pa_type::ETYPE_INFO2).expect("PA-ETYPE-INFO2 (19)");
    let info = wire::decode::<EtypeInfo2>(&info.value).unwrap();
    (md, info)
}

// ----- requirement 1: pre-authentication and AS errors -----

#[test]
fn no_preauth_gives_25_with_etype_info2() {
    let realm = Realm::new();
    let reply = realm.handle(&AsReqParams::new("alice", realm.now()).encode());
    assert_eq!(error_code(&reply), ErrorCode::KDC_ERR_PREAUTH_REQUIRED);
    let (md, info) = preauth_hints(&reply);
    assert!(md.iter().any(|p| p.r#type == pa_type::ENC_TIMESTAMP), "PA-ENC-TIMESTAMP offered");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].etype, Enctype::Aes256CtsHmacSha384192.id(), "the strongest enctype asked for");
    assert_eq!(info[0].salt.as_ref().map(|s| s.as_bytes().to_vec()), Some(b"KTIX.TESTalice".to_vec()));
    assert!(info[0].s2kparams.is_none(), "default iteration count: no s2kparams");

    // Asking only for 17 names 17.
    let mut req = AsReqParams::new("alice", realm.now());
    req.etypes = vec![17];
    let (_, info) = preauth_hints(&realm.handle(&req.encode()));
    assert_eq!(info[0].etype, 17);
    assert_eq!(info[0].salt.as_ref().unwrap().as_bytes(), b"KTIX.TESTalice");
}

#[test]
fn non_default_iteration_count_is_announced_and_used() {
    let realm = Realm::new();
    let p = principal("carol");
    let salt = p.default_salt();
    let mut e = PrincipalEntry::new(p);
    for (et, count) in [
        (Enctype::Aes256CtsHmacSha384192, 65_536u32),
        (Enctype::Aes256CtsHmacSha196, 8_192),
        (Enctype::Aes128CtsHmacSha256128, 40_000),
        (Enctype::Aes128CtsHmacSha196, 5_000),
    ] {
        let params = count.to_be_bytes().to_vec();
        e.keys.push(KeyEntry {
            kvno: 1,
            key: Key::from_password(et, b"carol-pw", &salt, Some(&params)).unwrap(),
            salt: salt.clone(),
            s2kparams: Some(params),
        });
    }
    realm.kdc.put_principal(e).unwrap();

    for (et, count) in [(Enctype::Aes256CtsHmacSha384192, 65_536u32), (Enctype::Aes256CtsHmacSha196, 8_192)] {
        let mut req = AsReqParams::new("carol", realm.now());
        req.etypes = vec![et.id()];
        let (_, info) = preauth_hints(&realm.handle(&req.encode()));
        assert_eq!(info[0].etype, et.id());
        assert_eq!(info[0].salt.as_ref().unwrap().as_bytes(), b"KTIX.TESTcarol");
        assert_eq!(info[0].s2kparams.as_deref(), Some(&count.to_be_bytes()[..]), "{et}");
    }

    // The client derives the key with the announced count and logs in, with every enctype list.
    for enctypes in [Enctype::ALL.to_vec(), vec![Enctype::Aes256CtsHmacSha196], vec![Enctype::Aes128CtsHmacSha196]] {
        let mut cfg = ClientConfig::new(REALM);
        cfg.enctypes = enctypes.clone();
        let client = realm.client_with(cfg);
        let tgt = client.login("carol", "carol-pw").unwrap_or_else(|e| panic!("{enctypes:?}: {e}"));
        assert_eq!(tgt.client, principal("carol"));
        assert!(tgt.flags.has(tf::PRE_AUTHENT));
    }
    // And a wrong password still fails as 24.
    assert_eq!(realm.client().login("carol", "nope").unwrap_err().code(), ErrorCode::KDC_ERR_PREAUTH_FAILED);
}

#[test]
fn wrong_password_is_24() {
    let realm = Realm::new();
    let e = realm.client().login("alice", "not-alice-pw").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_PREAUTH_FAILED, "{e}");
    // Raw: a timestamp in a key from the wrong password.
    let now = realm.now();
    let req =
        AsReqParams::new("alice", now).preauth(&password_key("alice", "wrong", Enctype::Aes256CtsHmacSha196), now);
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_PREAUTH_FAILED);
}

#[test]
fn unknown_client_is_6() {
    let realm = Realm::new();
    let e = realm.client().login("nobody", "pw").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN, "{e}");
    let reply = realm.handle(&AsReqParams::new("nobody", realm.now()).encode());
    let err = krb_error(&reply);
    assert_eq!(ErrorCode(err.error_code), ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN);
    assert_eq!(
        wire::principal_from(err.cname.as_ref().unwrap(), err.crealm.as_ref().unwrap()).unwrap(),
        principal("nobody")
    );
}

#[test]
fn no_common_enctype_is_14() {
    let realm = Realm::new();
    // Raw AS-REQ asking only for rc4-hmac (23).
    let mut req = AsReqParams::new("alice", realm.now());
    req.etypes = vec![23];
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_ETYPE_NOSUPP);
    // Nor with a timestamp attached.
    let now = realm.now();
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha196), now);
    req.etypes = vec![23, 16];
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_ETYPE_NOSUPP);

    // A client configured for enctypes the principal has no key of.
    add_with_enctypes(&realm, "dave", "dave-pw", &[Enctype::Aes256CtsHmacSha196, Enctype::Aes256CtsHmacSha384192]);
    let mut cfg = ClientConfig::new(REALM);
    cfg.enctypes = vec![Enctype::Aes128CtsHmacSha196, Enctype::Aes128CtsHmacSha256128];
    let e = realm.client_with(cfg).login("dave", "dave-pw").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KDC_ERR_ETYPE_NOSUPP, "{e}");
}

#[test]
fn timestamp_outside_skew_is_37() {
    let realm = Realm::new();
    for offset in [600, -600] {
        let clock = Arc::new(FixedClock::new(realm.now().plus_secs(offset)));
        let client = realm.client_with_clock(ClientConfig::new(REALM), clock);
        let e = client.login("alice", ALICE_PW).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_SKEW, "offset {offset}: {e}");
    }
    // Inside the 300 s allowance is fine.
    let clock = Arc::new(FixedClock::new(realm.now().plus_secs(299)));
    realm.client_with_clock(ClientConfig::new(REALM), clock).login("alice", ALICE_PW).unwrap();
    // Raw, just past the edge.
    let now = realm.now();
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha196), now.plus_secs(301));
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KRB_AP_ERR_SKEW);
}

#[test]
fn negative_skew_policy_allows_no_skew() {
    let realm = Realm::with_policy(RealmPolicy { clock_skew: -300, ..all_enctypes() });
    let now = realm.now();
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha196), now.plus_secs(3600));
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KRB_AP_ERR_SKEW);
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha196), now);
    expect_tag(&realm.handle(&req.encode()), wire::msg_type::AS_REP);
}

#[test]
fn reply_key_is_the_first_of_the_clients_list_it_has_a_key_for() {
    let realm = Realm::new();
    let now = realm.now();
    // alice has all four keys: the client's order decides, as in MIT's KDC.
    for (etypes, expected) in
        [(vec![17, 18, 20], Enctype::Aes128CtsHmacSha196), (vec![20, 18, 17], Enctype::Aes256CtsHmacSha384192)]
    {
        let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes128CtsHmacSha196), now);
        req.etypes = etypes;
        let rep = as_rep(&realm.handle(&req.encode()));
        assert_eq!(rep.enc_part.etype, expected.id());
        assert_eq!(rep.enc_part.kvno, Some(1));
        open_rep_part(&rep, &alice_key(expected), usage::AS_REP_ENC_PART);
    }

    // A principal with only 17/18 keys, a client listing SHA-2 first: 18, the first it has.
    add_with_enctypes(&realm, "erin", "erin-pw", &[Enctype::Aes128CtsHmacSha196, Enctype::Aes256CtsHmacSha196]);
    let mut req =
        AsReqParams::new("erin", now).preauth(&password_key("erin", "erin-pw", Enctype::Aes128CtsHmacSha196), now);
    req.etypes = vec![20, 19, 18, 17];
    let rep = as_rep(&realm.handle(&req.encode()));
    assert_eq!(rep.enc_part.etype, 18);
    open_rep_part(&rep, &password_key("erin", "erin-pw", Enctype::Aes256CtsHmacSha196), usage::AS_REP_ENC_PART);

    // The client API gets the same: its TGT's reply was sealed in 20; its session key is one of the realm's.
    let client = realm.client();
    client.login("alice", ALICE_PW).unwrap();
    let mut cfg = ClientConfig::new(REALM);
    cfg.enctypes = vec![Enctype::Aes128CtsHmacSha196, Enctype::Aes256CtsHmacSha196];
    let tgt = realm.client_with(cfg).login("erin", "erin-pw").unwrap();
    assert!(matches!(tgt.key.enctype(), Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196));
}

#[test]
fn nonce_is_echoed() {
    let realm = Realm::new();
    let now = realm.now();
    for nonce in [1u32, 0x7fff_ffff, 0x2468_ace0] {
        let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
        req.nonce = nonce;
        let rep = as_rep(&realm.handle(&req.encode()));
        let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
        assert_eq!(part.nonce, nonce);
    }
}

#[test]
fn flags_with_and_without_preauth() {
    let realm = Realm::new();
    let now = realm.now();
    let (tgs_key, _) = realm.tgs_key();

    // With pre-authentication: INITIAL and PRE-AUTHENT, in the reply and in the ticket.
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    let f = part_flags(&part);
    assert!(f.has(tf::INITIAL) && f.has(tf::PRE_AUTHENT), "{f:?}");
    let t = ktix::internals::proto::open_ticket(&rep.ticket, &tgs_key).unwrap();
    assert!(t.flags.has(tf::INITIAL) && t.flags.has(tf::PRE_AUTHENT));

    // A principal that does not require pre-authentication: a ticket at the first try, no PRE-AUTHENT.
    let mut e = PrincipalEntry::new(principal("frank"));
    e.set_password(b"frank-pw", &Enctype::ALL, 1).unwrap();
    e.requires_preauth = false;
    realm.kdc.put_principal(e).unwrap();
    let rep = as_rep(&realm.handle(&AsReqParams::new("frank", now).encode()));
    let (part, _) = open_rep_part(
        &rep,
        &password_key("frank", "frank-pw", Enctype::Aes256CtsHmacSha384192),
        usage::AS_REP_ENC_PART,
    );
    let f = part_flags(&part);
    assert!(f.has(tf::INITIAL), "{f:?}");
    assert!(!f.has(tf::PRE_AUTHENT), "{f:?}");
    let t = ktix::internals::proto::open_ticket(&rep.ticket, &tgs_key).unwrap();
    assert!(!t.flags.has(tf::PRE_AUTHENT) && t.flags.has(tf::INITIAL));

    // The client API: one AS round trip, no PRE-AUTHENT; alice needs two and has it.
    let client = realm.client();
    let tgt = client.login("frank", "frank-pw").unwrap();
    assert_eq!(client.stats().as_requests, 1);
    assert!(!tgt.flags.has(tf::PRE_AUTHENT) && tgt.flags.has(tf::INITIAL));
    let client = realm.client();
    let tgt = client.login("alice", ALICE_PW).unwrap();
    assert_eq!(client.stats().as_requests, 2);
    assert!(tgt.flags.has(tf::PRE_AUTHENT) && tgt.flags.has(tf::INITIAL));
}

// ----- requirement 2: both copies of the session key -----

#[test]
fn both_copies_of_the_session_key() {
    let realm = Realm::new();
    let now = realm.now();
    let alice20 = alice_key(Enctype::Aes256CtsHmacSha384192);
    let rep = as_rep(&realm.handle(&AsReqParams::new("alice", now).preauth(&alice20, now).encode()));

    // The client's copy: the enc-part opens with alice's key (usage 3) and is an EncASRepPart [25].
    let plain = ktix::internals::proto::open_bytes(&alice20, usage::AS_REP_ENC_PART, &rep.enc_part).unwrap();
    assert_eq!(plain[0], 0x79, "EncASRepPart is [APPLICATION 25]");
    let (part, first) = open_rep_part(&rep, &alice20, usage::AS_REP_ENC_PART);
    assert_eq!(first, 0x79);
    // ... and not with another usage.
    assert_eq!(
        ktix::internals::proto::open_bytes(&alice20, usage::TGS_REP_ENC_PART_SESSION, &rep.enc_part)
            .unwrap_err()
            .code(),
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
    );

    // The KDC's copy: the TGT opens with the krbtgt key from the store (usage 2), same session key.
    let entry = realm.kdc.entry(&krbtgt()).unwrap();
    let tk = entry
        .key(Enctype::from_i32(rep.ticket.enc_part.etype).unwrap(), rep.ticket.enc_part.kvno)
        .expect("the krbtgt key the TGT names");
    let tgt = ktix::internals::proto::open_ticket(&rep.ticket, &tk.key).unwrap();
    let client_copy = ktix::internals::proto::key_from(&part.key).unwrap();
    assert_eq!(tgt.session_key, client_copy);
    assert_eq!(tgt.client, principal("alice"));
    assert_eq!(wire::principal_from(&rep.ticket.sname, &rep.ticket.realm).unwrap(), krbtgt());

    // The client's key cannot open the ticket (same enctype, so a genuine integrity failure).
    let alice_same = alice_key(tk.key.enctype());
    let e = ktix::internals::proto::open_ticket(&rep.ticket, &alice_same).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    // Nor can the session key.
    assert_eq!(
        ktix::internals::proto::open_ticket(&rep.ticket, &client_copy).unwrap_err().code(),
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
    );

    // Through the client API: the cached TGT's key is the one inside the ticket.
    let client = realm.alice();
    let cached = client.tgt().unwrap();
    let inside = ktix::internals::proto::open_ticket(&cred_ticket(&cached), &realm.tgs_key().0).unwrap();
    assert_eq!(inside.session_key, cached.key);
}

// ----- requirement 3: realm policy -----

#[test]
fn default_life_is_eight_hours_exactly() {
    let realm = Realm::new();
    let tgt = realm.alice().tgt().unwrap();
    assert_eq!(tgt.start(), realm.now());
    assert_eq!(tgt.end_time.secs_since(tgt.start()), 8 * HOUR);
    // The ticket says the same as the reply.
    let inside = ktix::internals::proto::open_ticket(&cred_ticket(&tgt), &realm.tgs_key().0).unwrap();
    assert_eq!(inside.end_time, tgt.end_time);
    assert_eq!(inside.start(), tgt.start());
}

#[test]
fn end_time_is_the_minimum_of_till_principal_and_realm() {
    // Principal max life 1 h.
    let realm = Realm::new();
    let mut e = realm.entry("alice");
    e.max_life = Some(HOUR);
    realm.kdc.put_principal(e).unwrap();
    let tgt = realm.alice().tgt().unwrap();
    assert_eq!(tgt.end_time.secs_since(tgt.start()), HOUR);

    // The server's (krbtgt's) max life counts too.
    let realm = Realm::new();
    let mut e = (*realm.kdc.entry(&krbtgt()).unwrap()).clone();
    e.max_life = Some(3 * HOUR);
    realm.kdc.put_principal(e).unwrap();
    let tgt = realm.alice().tgt().unwrap();
    assert_eq!(tgt.end_time.secs_since(tgt.start()), 3 * HOUR);

    // A shorter till is honoured.
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.ticket_lifetime = 2 * HOUR;
    let c = realm.client_with(cfg);
    let tgt = c.login("alice", ALICE_PW).unwrap();
    assert_eq!(tgt.end_time.secs_since(tgt.start()), 2 * HOUR);

    // The realm's max life.
    let realm = Realm::with_policy(RealmPolicy { max_life: 4 * HOUR, ..all_enctypes() });
    let tgt = realm.alice().tgt().unwrap();
    assert_eq!(tgt.end_time.secs_since(tgt.start()), 4 * HOUR);

    // till of 19700101000000Z means "as long as allowed".
    let realm = Realm::new();
    let now = realm.now();
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.till = Time::EPOCH;
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert_eq!(wire::time_from(&part.end_time), now.plus_secs(8 * HOUR));

    // A till in the past is never valid (11).
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.till = now.minus_secs(HOUR);
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_NEVER_VALID);
}

#[test]
fn renewable_with_rtime_is_capped_at_seven_days() {
    let realm = Realm::new();
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(30 * DAY);
    let tgt = realm.client_with(cfg).login("alice", ALICE_PW).unwrap();
    assert!(tgt.flags.has(tf::RENEWABLE));
    assert_eq!(tgt.renew_till, Some(realm.now().plus_secs(7 * DAY)));
    assert_eq!(tgt.end_time, realm.now().plus_secs(8 * HOUR));

    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(2 * DAY);
    let tgt = realm.client_with(cfg).login("alice", ALICE_PW).unwrap();
    assert!(tgt.flags.has(tf::RENEWABLE));
    assert_eq!(tgt.renew_till, Some(realm.now().plus_secs(2 * DAY)));

    // The realm's renewable life caps it too.
    let realm = Realm::with_policy(RealmPolicy { max_renewable_life: DAY, ..all_enctypes() });
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(30 * DAY);
    let tgt = realm.client_with(cfg).login("alice", ALICE_PW).unwrap();
    assert_eq!(tgt.renew_till, Some(realm.now().plus_secs(DAY)));

    // RENEWABLE with rtime 0 means "as long as allowed".
    let realm = Realm::new();
    let now = realm.now();
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.options = req.options.with(opt::RENEWABLE);
    req.rtime = Some(Time::EPOCH);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert!(part_flags(&part).has(tf::RENEWABLE));
    assert_eq!(part.renew_till.as_ref().map(wire::time_from), Some(now.plus_secs(7 * DAY)));

    // A principal that may not have renewable tickets gets none.
    let mut e = realm.entry("alice");
    e.allow_renewable = false;
    realm.kdc.put_principal(e).unwrap();
    let mut cfg = ClientConfig::new(REALM);
    cfg.renew_lifetime = Some(2 * DAY);
    let tgt = realm.client_with(cfg).login("alice", ALICE_PW).unwrap();
    assert!(!tgt.flags.has(tf::RENEWABLE));
    assert_eq!(tgt.renew_till, None);
}

#[test]
fn renewable_ok_behaviour() {
    let realm = Realm::new();
    let now = realm.now();
    // Default client: RENEWABLE-OK with till now + 24 h > 8 h: a renewable ticket until the till.
    let tgt = realm.alice().tgt().unwrap();
    assert!(tgt.flags.has(tf::RENEWABLE), "{:?}", tgt.flags);
    assert_eq!(tgt.end_time, now.plus_secs(8 * HOUR));
    assert_eq!(tgt.renew_till, Some(now.plus_secs(24 * HOUR)));

    // A till the policy grants in full: RENEWABLE-OK does nothing.
    let mut cfg = ClientConfig::new(REALM);
    cfg.ticket_lifetime = 2 * HOUR;
    let tgt = realm.client_with(cfg).login("alice", ALICE_PW).unwrap();
    assert!(!tgt.flags.has(tf::RENEWABLE));
    assert_eq!(tgt.renew_till, None);

    // A till beyond the renewable limit: renew-till capped at 7 days.
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.options = req.options.with(opt::RENEWABLE_OK);
    req.till = now.plus_secs(30 * DAY);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert!(part_flags(&part).has(tf::RENEWABLE));
    assert_eq!(wire::time_from(&part.end_time), now.plus_secs(8 * HOUR));
    assert_eq!(part.renew_till.as_ref().map(wire::time_from), Some(now.plus_secs(7 * DAY)));

    // Without RENEWABLE-OK nor RENEWABLE: not renewable.
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert!(!part_flags(&part).has(tf::RENEWABLE));
    assert!(part.renew_till.is_none());
}

#[test]
fn forwardable_only_when_asked_and_allowed() {
    let realm = Realm::new();
    // Asked (the default): set, in the TGT and in service tickets.
    let client = realm.alice();
    assert!(client.tgt().unwrap().flags.has(tf::FORWARDABLE));
    assert!(client.service_ticket(SERVICE).unwrap().flags.has(tf::FORWARDABLE));

    // Not asked: clear.
    let mut cfg = ClientConfig::new(REALM);
    cfg.forwardable = false;
    let client = realm.client_with(cfg);
    let tgt = client.login("alice", ALICE_PW).unwrap();
    assert!(!tgt.flags.has(tf::FORWARDABLE));
    assert!(!client.service_ticket(SERVICE).unwrap().flags.has(tf::FORWARDABLE));

    // Asked, but the principal does not allow it: clear.
    let mut e = realm.entry("alice");
    e.allow_forwardable = false;
    realm.kdc.put_principal(e).unwrap();
    let tgt = realm.alice().tgt().unwrap();
    assert!(!tgt.flags.has(tf::FORWARDABLE));

    // Raw: FORWARDABLE option for a principal that allows it.
    let realm = Realm::new();
    let now = realm.now();
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.options = req.options.with(opt::FORWARDABLE);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert!(part_flags(&part).has(tf::FORWARDABLE));
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha384192), usage::AS_REP_ENC_PART);
    assert!(!part_flags(&part).has(tf::FORWARDABLE));
}

#[test]
fn other_as_errors() {
    let realm = Realm::new();
    let now = realm.now();
    // Unknown server in an AS-REQ: 7.
    let mut req = AsReqParams::new("alice", now);
    req.server = principal("host/nowhere.ktix.test");
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN);
    // Another realm: 68.
    let mut req = AsReqParams::new("alice", now);
    req.realm = "OTHER.TEST".into();
    req.client = ktix::Principal::parse("alice@OTHER.TEST", None).unwrap();
    req.server = ktix::Principal::krbtgt("OTHER.TEST");
    assert_eq!(error_code(&realm.handle(&req.encode())), ErrorCode::KDC_ERR_WRONG_REALM);
    // Disabled client: 18; expired client: 1.
    let mut e = realm.entry("alice");
    e.disabled = true;
    realm.kdc.put_principal(e).unwrap();
    assert_eq!(realm.client().login("alice", ALICE_PW).unwrap_err().code(), ErrorCode::KDC_ERR_CLIENT_REVOKED);
    let mut e = realm.entry("alice");
    e.disabled = false;
    e.expiration = Some(now.minus_secs(1));
    realm.kdc.put_principal(e).unwrap();
    assert_eq!(realm.client().login("alice", ALICE_PW).unwrap_err().code(), ErrorCode::KDC_ERR_NAME_EXP);
    // Not a KDC request at all: no reply (never a reflector).
    assert!(realm.handle(&[0x30, 0x00]).is_empty());
    // Garbage with an AS-REQ tag: a KRB-ERROR, not a panic.
    let reply = realm.handle(&[0x6a, 0x03, 0x30, 0x01, 0x00]);
    assert!(krb_error(&reply).error_code != 0);
    // An AS-REQ without sname: refused, its error naming the client that was read.
    let mut req = wire::decode::<wire::AsReq>(&AsReqParams::new("alice", now).encode()).unwrap();
    req.0.req_body.sname = None;
    let outcome = realm.kdc.process(&wire::encode(&req).unwrap(), now);
    assert!(outcome.facts.detail.as_deref().is_some_and(|d| d.contains("without sname")), "{:?}", outcome.facts);
    assert_eq!(outcome.facts.client, Some(principal("alice")));
    let err = krb_error(&outcome.reply);
    assert_ne!(err.error_code, 0);
    assert_eq!(
        wire::principal_from(err.cname.as_ref().unwrap(), err.crealm.as_ref().unwrap()).unwrap(),
        principal("alice")
    );
}

#[test]
fn password_change_keeping_old_keys_uses_only_the_current_kvno() {
    // kadmin `cpw -keepold`: kvno 1 keys from the old password (all four enctypes) stay in the
    // entry; kvno 2 keys from the new password exist for 18 and 17 only.
    let realm = Realm::new();
    let p = principal("alice");
    let salt = p.default_salt();
    let mut e = PrincipalEntry::new(p);
    e.set_password(b"old-pw", &Enctype::ALL, 1).unwrap();
    for et in [Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196] {
        e.keys.push(KeyEntry {
            kvno: 2,
            key: Key::from_password(et, b"new-pw", &salt, None).unwrap(),
            salt: salt.clone(),
            s2kparams: None,
        });
    }
    assert_eq!(e.current_kvno(), 2);
    realm.kdc.put_principal(e).unwrap();

    // The PREAUTH_REQUIRED hint names a current (kvno 2) enctype, and the reply is sealed in a kvno 2 key.
    let (_, info) = preauth_hints(&realm.handle(&AsReqParams::new("alice", realm.now()).encode()));
    assert_eq!(info[0].etype, Enctype::Aes256CtsHmacSha196.id(), "ETYPE-INFO2 must name a current key");

    let new = realm.client().login("alice", "new-pw");
    assert!(new.is_ok(), "the new password must work: {:?}", new.err());
    let old = realm.client().login("alice", "old-pw");
    assert_eq!(old.map(|_| ()).unwrap_err().code(), ErrorCode::KDC_ERR_PREAUTH_FAILED, "the old password must not");
}

#[test]
fn kdc_api_and_outcome() {
    let realm = Realm::new();
    assert_eq!(realm.kdc.realm(), REALM);
    assert_eq!(realm.kdc.policy().max_life, 8 * HOUR);
    assert_eq!(realm.kdc.policy().max_renewable_life, 7 * DAY);
    assert_eq!(realm.kdc.add_principal("alice", Some("x")).unwrap_err().code(), ErrorCode::KTIX_ERR_EXISTS);
    assert_eq!(realm.kdc.keytab("nobody", realm.now()).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert_eq!(realm.kdc.entry(&principal("nobody")).unwrap_err().code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert!(ktix::Kdc::new("").is_err());
    assert_eq!(
        realm.kdc.put_principal(PrincipalEntry::new(principal("keyless"))).unwrap_err().code(),
        ErrorCode::KDC_ERR_NULL_KEY
    );
    let kt = realm.kdc.keytab(SERVICE, realm.now()).unwrap();
    assert_eq!(kt.len(), 4, "one key per realm enctype");

    let now = realm.now();
    let o = realm.kdc.process(&AsReqParams::new("alice", now).encode(), now);
    assert_eq!(o.facts.kind, ktix::kdc::ExchangeKind::As);
    assert_eq!(o.facts.code, ErrorCode::KDC_ERR_PREAUTH_REQUIRED);
    assert_eq!(o.facts.client, Some(principal("alice")));
    assert_eq!(o.facts.service, Some(krbtgt()));
    let err = krb_error(&o.reply);
    assert_eq!(wire::time_from(&err.stime), now);
    assert_eq!(wire::principal_from(&err.sname, &err.realm).unwrap(), krbtgt());

    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    let o = realm.kdc.process(&req.encode(), now);
    assert_eq!(o.facts.code, ErrorCode::KDC_ERR_NONE);
    assert!(o.facts.detail.is_none());
    assert_eq!(o.facts.session_enctype, Some(Enctype::Aes256CtsHmacSha384192));
    let o = realm.kdc.process(b"not kerberos", now);
    assert_eq!(o.facts.kind, ktix::kdc::ExchangeKind::Unknown);
    assert_eq!(o.facts.code, ErrorCode::KRB_AP_ERR_MSG_TYPE);
    assert!(o.is_ignored() && o.reply.is_empty());
    assert!(o.facts.detail.as_deref().unwrap_or("").contains("first byte 0x6e"), "{:?}", o.facts.detail);

    // The session key enctype is the first of the client's list (RFC 4120 §3.1.3).
    let mut req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha384192), now);
    req.etypes = vec![17, 20];
    let rep = as_rep(&realm.handle(&req.encode()));
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes128CtsHmacSha196), usage::AS_REP_ENC_PART);
    assert_eq!(part.key.r#type, 17);

    // A realm left at its defaults gives MIT 1.20's: aes256-cts-hmac-sha1-96 and
    // aes128-cts-hmac-sha1-96 keys only, so a client listing SHA-2 first still gets 18.
    let plain = ktix::Kdc::new(REALM).unwrap();
    assert_eq!(plain.policy().enctypes, ktix::kdc::DEFAULT_ENCTYPES.to_vec());
    plain.add_principal("alice", Some(ALICE_PW)).unwrap();
    let alice = plain.entry(&principal("alice")).unwrap();
    assert_eq!(alice.current_enctypes(), vec![Enctype::Aes256CtsHmacSha196, Enctype::Aes128CtsHmacSha196]);
    let req = AsReqParams::new("alice", now).preauth(&alice_key(Enctype::Aes256CtsHmacSha196), now);
    let rep = as_rep(&plain.handle(&req.encode(), now));
    assert_eq!(rep.enc_part.etype, 18);
    let (part, _) = open_rep_part(&rep, &alice_key(Enctype::Aes256CtsHmacSha196), usage::AS_REP_ENC_PART);
    assert_eq!(part.key.r#type, 18);
}

#[test]
fn cname_is_echoed_as_it_came() {
    // The reply's cname is the request's, byte for byte: UTF-8 text (written from the client's
    // principal) and Latin-1 bytes (which the KDC reads as the same name, and echoes as sent).
    let realm = Realm::new();
    let mut e = PrincipalEntry::new(principal("caf\u{e9}"));
    e.set_password(b"pw", &Enctype::ALL, 1).unwrap();
    e.requires_preauth = false;
    realm.kdc.put_principal(e).unwrap();
    for (bytes, name_type) in [(&b"caf\xc3\xa9"[..], 1), (&b"caf\xe9"[..], 1), (&b"caf\xe9"[..], 10)] {
        let encoded = AsReqParams::new("caf\u{e9}", realm.now()).encode();
        let mut req = wire::decode::<wire::AsReq>(&encoded).unwrap();
        let cname = req.0.req_body.cname.as_mut().unwrap();
        cname.r#type = name_type;
        cname.string = vec![wire::kstring_bytes(bytes).unwrap()];
        let sent = cname.clone();
        let rep = as_rep(&realm.handle(&wire::encode(&req).unwrap()));
        assert_eq!(rep.cname, sent, "{bytes:02x?}");
    }
}
