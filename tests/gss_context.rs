//! GSS-API Kerberos V5 security contexts in one process, against an in-process ktix KDC: raw
//! krb5 tokens, mutual and not, the four enctypes, delegation, channel bindings, replays, raw
//! AP-REQs and defective tokens; and MIT's captured GSS AP-REQ accepted by our acceptor.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{principal, Realm, ALICE_PW, REALM, SERVICE};
use ktix::crypto::{checksum_type, usage};
use ktix::gss::{
    oid, AcceptorContext, AcceptorCred, AcceptorOptions, ChannelBindings, ContextFlags, InitiatorContext,
    InitiatorCred, InitiatorOptions, Name, SecurityContext, Status,
};
use ktix::internals::proto;
use ktix::internals::wire::{self, ticket_flags, ApRep, ApReq, Authenticator, EncApRepPart, Ticket};
use ktix::{
    Acceptor, AcceptorConfig, Client, ClientConfig, Clock, Enctype, ErrorCode, FixedClock, InProcess, Keytab, Time,
};

fn cred(client: Client) -> InitiatorCred {
    InitiatorCred::from_client(Arc::new(client)).unwrap()
}

fn acceptor_cred(realm: &Realm) -> AcceptorCred {
    AcceptorCred::from_acceptor(realm.acceptor())
}

fn target() -> Name {
    Name::from_principal(principal(SERVICE))
}

fn opts(flags: ContextFlags) -> InitiatorOptions {
    InitiatorOptions { flags, ..InitiatorOptions::default() }
}

/// Runs the exchange to completion: the initiator's tokens into the acceptor and back.
fn establish(init: &mut InitiatorContext, acc: &mut AcceptorContext) -> ktix::Result<()> {
    let mut token = init.step(None)?;
    while let Some(t) = token {
        let back = acc.step(&t)?;
        token = match back {
            Some(b) => init.step(Some(&b))?,
            None => None,
        };
    }
    Ok(())
}

fn code<T: std::fmt::Debug>(r: ktix::Result<T>) -> ErrorCode {
    r.expect_err("an error").code()
}

const MIT_FLAGS: ContextFlags = ContextFlags(ContextFlags::CONF.0 | ContextFlags::INTEG.0);

#[test]
fn mutual_establishment_for_each_enctype() {
    let realm = Realm::new();
    let acceptor = acceptor_cred(&realm);
    for enctype in Enctype::ALL {
        let config = ClientConfig { tgs_enctypes: vec![enctype], ..ClientConfig::new(REALM) };
        let client = realm.client_with(config);
        client.login("alice", ALICE_PW).unwrap();
        let c = cred(client);
        assert_eq!(c.name().to_string(), "alice@KTIX.TEST");
        let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
        let mut acc = AcceptorContext::new(&acceptor, AcceptorOptions::default());
        assert!(!init.is_complete() && !acc.is_complete());
        let ap_req = init.step(None).unwrap().unwrap();
        assert_eq!(unframe(&ap_req).0, [1, 0]);
        assert!(!init.is_complete());
        assert_eq!(code(init.wrap(b"x", true)), ErrorCode::KTIX_ERR_GSS_NO_CONTEXT);
        let ap_rep = acc.step(&ap_req).unwrap().expect("an AP-REP token for MUTUAL");
        assert!(acc.is_complete());
        assert_eq!(init.step(Some(&ap_rep)).unwrap(), None);
        assert!(init.is_complete());

        let want = ContextFlags::MUTUAL
            .with(ContextFlags::REPLAY)
            .with(ContextFlags::SEQUENCE)
            .with(MIT_FLAGS)
            .with(ContextFlags::PROT_READY);
        assert_eq!(init.flags(), want, "{enctype:?}");
        assert_eq!(acc.flags(), want, "{enctype:?}");
        assert_eq!((init.mech(), acc.mech()), (oid::KRB5, oid::KRB5));
        assert!(init.is_initiator() && !acc.is_initiator());
        assert_eq!(acc.initiator_name().unwrap().to_string(), "alice@KTIX.TEST");
        for ctx in [&init as &dyn SecurityContext, &acc] {
            assert_eq!(ctx.source_name().unwrap().to_string(), "alice@KTIX.TEST");
            assert_eq!(ctx.target_name().unwrap(), principal(SERVICE));
        }
        // Context lifetime = the service ticket's end, on both sides.
        let ticket = c.client().ccache().get(&principal(SERVICE)).unwrap().unwrap();
        assert_eq!(ticket.key.enctype(), enctype);
        assert_eq!(init.expires(), Some(ticket.end_time));
        assert_eq!(acc.expires(), Some(ticket.end_time));
        assert!(acc.delegated().is_none());
    }
}

#[test]
fn without_mutual_one_token_completes_both_sides() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let mut init =
        InitiatorContext::new(&c, &target(), opts(ContextFlags::SEQUENCE.with(ContextFlags::REPLAY))).unwrap();
    let mut acc = AcceptorContext::new(&acceptor_cred(&realm), AcceptorOptions::default());
    let tok = init.step(None).unwrap().unwrap();
    assert!(init.is_complete(), "complete after one token without MUTUAL");
    assert_eq!(acc.step(&tok).unwrap(), None, "no AP-REP without MUTUAL-REQUIRED");
    assert!(acc.is_complete());
    let want = ContextFlags::REPLAY.with(ContextFlags::SEQUENCE).with(MIT_FLAGS).with(ContextFlags::PROT_READY);
    assert_eq!(init.flags(), want);
    assert_eq!(acc.flags(), want);
    // A second step on a complete context is refused.
    assert_eq!(code(init.step(None)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    assert_eq!(code(acc.step(&tok)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
}

#[test]
fn the_service_ticket_comes_from_the_cache_the_second_time() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    for _ in 0..3 {
        let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
        let mut acc = AcceptorContext::new(&acceptor, AcceptorOptions::default());
        establish(&mut init, &mut acc).unwrap();
        realm.clock.advance(1);
    }
    assert_eq!(c.client().stats().tgs_requests, 1);
}

#[test]
fn a_replayed_ap_req_is_refused() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    AcceptorContext::new(&acceptor, AcceptorOptions::default()).step(&tok).unwrap();
    let e = AcceptorContext::new(&acceptor, AcceptorOptions::default()).step(&tok).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_REPEAT);
    // Even through another acceptor credential of the same service (the shared replay cache).
    let other = acceptor_cred(&realm);
    assert_eq!(code(AcceptorContext::new(&other, AcceptorOptions::default()).step(&tok)), ErrorCode::KRB_AP_ERR_REPEAT);
}

#[test]
fn a_failed_accept_answers_a_krb_error_token_when_mutual_was_asked() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    let mut first = AcceptorContext::new(&acceptor, AcceptorOptions::default());
    first.step(&tok).unwrap();
    assert!(first.error_token().is_none());
    let mut replayed = AcceptorContext::new(&acceptor, AcceptorOptions::default());
    assert_eq!(code(replayed.step(&tok)), ErrorCode::KRB_AP_ERR_REPEAT);
    let err_tok = replayed.error_token().expect("a KRB-ERROR token").to_vec();
    assert_eq!(unframe(&err_tok).0, [3, 0]);
    // The initiator turns it into the acceptor's error.
    assert_eq!(code(init.step(Some(&err_tok))), ErrorCode::KRB_AP_ERR_REPEAT);
    // Without MUTUAL the initiator reads no reply: none is made.
    let one_way = ContextFlags::SEQUENCE.with(ContextFlags::REPLAY);
    let tok = InitiatorContext::new(&c, &target(), opts(one_way)).unwrap().step(None).unwrap().unwrap();
    AcceptorContext::new(&acceptor, AcceptorOptions::default()).step(&tok).unwrap();
    let mut replayed = AcceptorContext::new(&acceptor, AcceptorOptions::default());
    assert_eq!(code(replayed.step(&tok)), ErrorCode::KRB_AP_ERR_REPEAT);
    assert!(replayed.error_token().is_none());
    // Nor for a token that is not an AP-REQ.
    let mut garbage = AcceptorContext::new(&acceptor, AcceptorOptions::default());
    assert!(garbage.step(&tok[..30]).is_err());
    assert!(garbage.error_token().is_none());
}

#[test]
fn delegation_hands_the_acceptor_a_tgt_that_gets_service_tickets() {
    let realm = Realm::new();
    realm.add_service("host/backend.ktix.test");
    let c = cred(realm.alice());
    assert!(c.client().tgt().unwrap().flags.has(ticket_flags::FORWARDABLE));
    let flags = InitiatorOptions::default().flags.with(ContextFlags::DELEG);
    let mut init = InitiatorContext::new(&c, &target(), opts(flags)).unwrap();
    let mut acc = AcceptorContext::new(&acceptor_cred(&realm), AcceptorOptions::default());
    establish(&mut init, &mut acc).unwrap();
    assert!(init.flags().contains(ContextFlags::DELEG));
    assert!(acc.flags().contains(ContextFlags::DELEG));
    let cache = acc.delegated().expect("delegated credentials").clone();
    assert_eq!(cache.principal().unwrap().unwrap().to_string(), "alice@KTIX.TEST");
    let tgt = cache.get(&common::krbtgt()).unwrap().expect("the forwarded TGT");
    assert!(tgt.flags.has(ticket_flags::FORWARDED));
    // The forwarded TGT was not put in the initiator's own cache.
    assert!(!c.client().tgt().unwrap().flags.has(ticket_flags::FORWARDED));

    // The acceptor acts as alice with it.
    let transport = Arc::new(InProcess::new(realm.kdc.clone(), realm.clock.clone()));
    let taken = acc.take_delegated().unwrap();
    assert!(acc.delegated().is_none());
    let as_alice = Client::with_clock(ClientConfig::new(REALM), transport, taken, realm.clock.clone());
    let st = as_alice.service_ticket("host/backend.ktix.test").unwrap();
    assert_eq!(st.client.to_string(), "alice@KTIX.TEST");
    assert!(st.flags.has(ticket_flags::FORWARDED));
    let backend = realm.kdc.keytab("host/backend.ktix.test", realm.now()).unwrap();
    let backend =
        AcceptorCred::from_acceptor(Acceptor::with_config(backend, AcceptorConfig::default(), realm.clock.clone()));
    let mut init2 = InitiatorContext::new(
        &InitiatorCred::from_client(Arc::new(as_alice)).unwrap(),
        &Name::from_principal(principal("host/backend.ktix.test")),
        InitiatorOptions::default(),
    )
    .unwrap();
    let mut acc2 = AcceptorContext::new(&backend, AcceptorOptions::default());
    establish(&mut init2, &mut acc2).unwrap();
    assert_eq!(acc2.initiator_name().unwrap().to_string(), "alice@KTIX.TEST");
}

/// A hand-made AP-REQ token from alice for [`SERVICE`] (mutual) whose authenticator checksum is
/// `(ctype, bytes)` from `make(subkey, session key)`.
fn token_with_checksum(
    realm: &Realm,
    c: &InitiatorCred,
    make: impl Fn(&ktix::Key, &ktix::Key) -> (i32, Vec<u8>),
) -> Vec<u8> {
    let st = c.client().service_ticket(SERVICE).unwrap();
    let subkey = ktix::Key::random(st.key.enctype()).unwrap();
    let (ctype, ck) = make(&subkey, &st.key);
    let (ap_req, _) = proto::build_ap_req(&proto::NewApReq {
        ticket: &st.ticket,
        session_key: &st.key,
        client: &st.client,
        usage: usage::AP_REQ_AUTH,
        now: realm.now(),
        checksum: proto::AuthChecksum::Raw { ctype, bytes: &ck },
        subkey: Some(&subkey),
        seq_number: Some(5),
        mutual: true,
    })
    .unwrap();
    krb5_token([1, 0], &ap_req)
}

/// [`token_with_checksum`] with a 0x8003 checksum delegating `make`'s KRB-CRED.
fn delegating_token(realm: &Realm, c: &InitiatorCred, make: impl Fn(&ktix::Key, &ktix::Key) -> Vec<u8>) -> Vec<u8> {
    token_with_checksum(realm, c, |subkey, session| {
        let krb_cred = make(subkey, session);
        let mut ck = 16u32.to_le_bytes().to_vec();
        ck.extend_from_slice(&[0u8; 16]);
        ck.extend_from_slice(&(0x3fu32).to_le_bytes());
        ck.extend_from_slice(&1u16.to_le_bytes());
        ck.extend_from_slice(&(krb_cred.len() as u16).to_le_bytes());
        ck.extend_from_slice(&krb_cred);
        (checksum_type::GSSAPI, ck)
    })
}

#[test]
fn checksums_other_than_a_well_formed_0x8003_are_judged_as_mit_does() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let accept = |tok: &[u8]| {
        realm.clock.advance(1);
        let mut acc = AcceptorContext::new(&acceptor, AcceptorOptions::default());
        acc.step(tok).map(|_| acc)
    };
    // 0x8003 too short, or with another binding length: defective.
    let short = token_with_checksum(&realm, &c, |_, _| (checksum_type::GSSAPI, vec![16, 0, 0, 0, 1, 2, 3]));
    assert_eq!(code(accept(&short)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    let mut lgth = 20u32.to_le_bytes().to_vec();
    lgth.extend_from_slice(&[0u8; 20]);
    let wrong = token_with_checksum(&realm, &c, move |_, _| (checksum_type::GSSAPI, lgth.clone()));
    assert_eq!(code(accept(&wrong)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    // Samba's keyed checksum over nothing (session key, usage 10): REPLAY|SEQUENCE|MUTUAL.
    let samba = token_with_checksum(&realm, &c, |_, session| {
        (session.enctype().checksum_type(), session.checksum(usage::AP_REQ_AUTH_CKSUM, &[]).unwrap())
    });
    let acc = accept(&samba).unwrap();
    assert_eq!(
        acc.flags(),
        ContextFlags::MUTUAL.with(ContextFlags::REPLAY).with(ContextFlags::SEQUENCE).with(ContextFlags::PROT_READY)
    );
    // The same over other data, or in the subkey: BAD_MIC (GSS_S_BAD_SIG, as MIT).
    let other = token_with_checksum(&realm, &c, |_, session| {
        (session.enctype().checksum_type(), session.checksum(usage::AP_REQ_AUTH_CKSUM, b"x").unwrap())
    });
    let e = accept(&other).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
    assert_eq!(Status::of(&e).major, ktix::gss::major::BAD_SIG);
    let in_subkey = token_with_checksum(&realm, &c, |subkey, _| {
        (subkey.enctype().checksum_type(), subkey.checksum(usage::AP_REQ_AUTH_CKSUM, &[]).unwrap())
    });
    assert_eq!(code(accept(&in_subkey)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
}

#[test]
fn delegations_in_the_session_key_or_in_clear_are_taken_another_clients_are_not() {
    let realm = Realm::new();
    realm.kdc.add_principal("bob", Some("bob-pw")).unwrap();
    let alice = cred(realm.alice());
    let alice_tgt = alice.client().forwarded_tgt().unwrap();
    let bob = realm.client();
    bob.login("bob", "bob-pw").unwrap();
    let bob_tgt = bob.forwarded_tgt().unwrap();
    let acceptor = acceptor_cred(&realm);
    let accept = |tok: &[u8]| {
        let mut acc = AcceptorContext::new(&acceptor, AcceptorOptions::default());
        acc.step(tok).map(|_| acc)
    };
    // Sealed in the ticket's session key (older MIT, Heimdal).
    let tok = delegating_token(&realm, &alice, |_, session| {
        proto::build_krb_cred(std::slice::from_ref(&alice_tgt), session).unwrap()
    });
    let acc = accept(&tok).unwrap();
    assert!(acc.flags().contains(ContextFlags::DELEG));
    assert!(acc.delegated().unwrap().get(&common::krbtgt()).unwrap().is_some());
    // Unencrypted (etype 0).
    let tok = delegating_token(&realm, &alice, |subkey, _| {
        let sealed = proto::build_krb_cred(std::slice::from_ref(&alice_tgt), subkey).unwrap();
        let mut cred = wire::decode::<wire::KrbCred>(&sealed).unwrap();
        let plain = proto::open_bytes(subkey, usage::KRB_CRED_ENC_PART, &cred.enc_part).unwrap();
        cred.enc_part = wire::EncryptedData { etype: 0, kvno: None, cipher: wire::octets(plain.to_vec()) };
        wire::encode(&cred).unwrap()
    });
    realm.clock.advance(1);
    let acc = accept(&tok).unwrap();
    assert_eq!(acc.delegated().unwrap().principal().unwrap(), Some(principal("alice")));
    // bob's TGT in alice's context: not handed on as alice's, DELEG not granted.
    let tok = delegating_token(&realm, &alice, |subkey, _| {
        proto::build_krb_cred(std::slice::from_ref(&bob_tgt), subkey).unwrap()
    });
    realm.clock.advance(1);
    let acc = accept(&tok).unwrap();
    assert!(acc.delegated().is_none());
    assert!(!acc.flags().contains(ContextFlags::DELEG));
    // A KRB-CRED that does not open: the context fails.
    let tok = delegating_token(&realm, &alice, |_, _| {
        let other = ktix::Key::random(Enctype::Aes128CtsHmacSha196).unwrap();
        proto::build_krb_cred(std::slice::from_ref(&alice_tgt), &other).unwrap()
    });
    realm.clock.advance(1);
    assert!(major_is_error(&accept(&tok).unwrap_err()));
}

#[test]
fn delegation_is_dropped_without_a_forwardable_tgt() {
    let realm = Realm::new();
    let client = realm.client_with(ClientConfig { forwardable: false, ..ClientConfig::new(REALM) });
    client.login("alice", ALICE_PW).unwrap();
    let c = cred(client);
    assert!(!c.client().tgt().unwrap().flags.has(ticket_flags::FORWARDABLE));
    let flags = InitiatorOptions::default().flags.with(ContextFlags::DELEG);
    let mut init = InitiatorContext::new(&c, &target(), opts(flags)).unwrap();
    let mut acc = AcceptorContext::new(&acceptor_cred(&realm), AcceptorOptions::default());
    establish(&mut init, &mut acc).unwrap();
    assert!(!init.flags().contains(ContextFlags::DELEG));
    assert!(!acc.flags().contains(ContextFlags::DELEG));
    assert!(acc.delegated().is_none());
    assert_eq!(c.client().stats().tgs_requests, 1, "no TGS request for a forwarded TGT");
}

#[test]
fn channel_bindings_match_mismatch_and_absence() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let cb = ChannelBindings::application(b"tls-server-end-point:0123456789");
    let other = ChannelBindings::application(b"tls-server-end-point:9876543210");
    let run = |init_cb: Option<&ChannelBindings>, acc_cb: Option<&ChannelBindings>| {
        let o = InitiatorOptions { channel_bindings: init_cb.cloned(), ..InitiatorOptions::default() };
        let mut init = InitiatorContext::new(&c, &target(), o).unwrap();
        let mut acc = AcceptorContext::new(
            &acceptor,
            AcceptorOptions { channel_bindings: acc_cb.cloned(), ..AcceptorOptions::default() },
        );
        realm.clock.advance(1);
        establish(&mut init, &mut acc).map(|()| (init.flags(), acc.flags()))
    };
    // Matching: CHANNEL_BOUND on the acceptor.
    let (i, a) = run(Some(&cb), Some(&cb)).unwrap();
    assert!(a.contains(ContextFlags::CHANNEL_BOUND));
    assert!(!i.contains(ContextFlags::CHANNEL_BOUND));
    // Mismatched: BAD_BINDINGS, major GSS_S_BAD_BINDINGS.
    let e = run(Some(&other), Some(&cb)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_GSS_BAD_BINDINGS);
    assert_eq!(Status::of(&e).major, ktix::gss::major::BAD_BINDINGS);
    // The initiator sent none: accepted, not channel-bound.
    let (_, a) = run(None, Some(&cb)).unwrap();
    assert!(!a.contains(ContextFlags::CHANNEL_BOUND));
    // The acceptor has none: whatever the initiator sent is not checked.
    let (_, a) = run(Some(&other), None).unwrap();
    assert!(!a.contains(ContextFlags::CHANNEL_BOUND));
    // Addresses count too.
    let addressed =
        ChannelBindings { initiator_addrtype: ktix::gss::AF_INET, initiator_address: vec![127, 0, 0, 1], ..cb.clone() };
    assert_eq!(run(Some(&addressed), Some(&cb)).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_BAD_BINDINGS);
    assert!(run(Some(&addressed), Some(&addressed)).unwrap().1.contains(ContextFlags::CHANNEL_BOUND));
}

#[test]
fn a_raw_ap_req_without_a_gss_checksum_is_accepted_with_no_flags_but_mutual() {
    let realm = Realm::new();
    let client = realm.alice();
    let (ap_req, mut ap) = client.ap_req(SERVICE, true).unwrap();
    let tok = krb5_token([1, 0], &ap_req);
    let mut acc = AcceptorContext::new(
        &acceptor_cred(&realm),
        AcceptorOptions { channel_bindings: Some(ChannelBindings::application(b"x")), ..AcceptorOptions::default() },
    );
    let rep = acc.step(&tok).unwrap().expect("an AP-REP token");
    assert_eq!(acc.flags(), ContextFlags::MUTUAL.with(ContextFlags::PROT_READY));
    // The AP-REP inside the token is one the raw client accepts, with the acceptor's subkey.
    let (id, body) = unframe(&rep);
    assert_eq!(id, [2, 0]);
    ap.verify(body).unwrap();
    assert!(ap.server_subkey().is_some() && ap.server_seq_number().is_some());
}

#[test]
fn defective_foreign_and_truncated_tokens_are_errors() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    let fresh = || AcceptorContext::new(&acceptor, AcceptorOptions::default());
    for cut in [0, 1, 2, 5, 12, 13, 20, tok.len() / 2, tok.len() - 1] {
        let e = fresh().step(&tok[..cut]).unwrap_err();
        assert!(major_is_error(&e), "cut {cut}: {e}");
    }
    // A token of another mechanism.
    let at = id_offset(&tok);
    let mut foreign = tok.clone();
    foreign[at - 1] ^= 0x01; // the last OID byte
    assert_eq!(code(fresh().step(&foreign)), ErrorCode::KTIX_ERR_GSS_BAD_MECH);
    // An AP-REP token where an AP-REQ is expected.
    let mut wrong_id = tok.clone();
    wrong_id[at] = 2;
    assert_eq!(code(fresh().step(&wrong_id)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    // A tampered AP-REQ.
    let mut flipped = tok.clone();
    let n = flipped.len();
    flipped[n - 10] ^= 0x40;
    assert!(major_is_error(&fresh().step(&flipped).unwrap_err()));
    // After a failure the context stays failed.
    let mut acc = fresh();
    assert!(acc.step(&tok[..20]).is_err());
    assert!(acc.step(&tok).is_err());
    // The initiator refuses garbage in place of an AP-REP, and a KRB-ERROR token is its error.
    let mut acc = fresh();
    let rep = acc.step(&tok).unwrap().unwrap();
    let mut bad = rep.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert_eq!(code(init.step(Some(&bad))), ErrorCode::KRB_AP_ERR_MUT_FAIL);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    init.step(None).unwrap();
    let reply = proto::ErrorReply {
        realm: REALM.to_string(),
        server: Some(principal(SERVICE)),
        ..proto::ErrorReply::default()
    };
    let err = proto::krb_error(&ktix::Error::new(ErrorCode::KRB_AP_ERR_SKEW, "skew"), realm.now(), &reply).unwrap();
    let err_tok = krb5_token([3, 0], &err);
    assert_eq!(code(init.step(Some(&err_tok))), ErrorCode::KRB_AP_ERR_SKEW);
}

#[test]
fn every_bit_flip_of_an_ap_req_token_is_handled() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    let mut accepted = 0;
    for i in 0..tok.len() {
        let mut t = tok.clone();
        t[i] ^= 0x04;
        match AcceptorContext::new(&acceptor, AcceptorOptions::default()).step(&t) {
            Ok(_) => accepted += 1,
            Err(e) => assert!(major_is_error(&e), "byte {i}: {e}"),
        }
    }
    // Only flips outside what the keys protect can pass (the AP options' unused bits, say), and
    // then only once: the authenticator is remembered.
    assert!(accepted <= 1, "{accepted} altered tokens accepted");
}

fn major_is_error(e: &ktix::Error) -> bool {
    ktix::gss::major::is_error(Status::of(e).major)
}

/// A krb5 context token: 0x60 len, the krb5 OID, the token id, the message (RFC 2743 §3.1).
fn krb5_token(id: [u8; 2], body: &[u8]) -> Vec<u8> {
    let mut inner = vec![0x06, oid::KRB5.len() as u8];
    inner.extend_from_slice(oid::KRB5);
    inner.extend_from_slice(&id);
    inner.extend_from_slice(body);
    let mut out = vec![0x60];
    let n = inner.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(&inner);
    out
}

/// The offset of the token id in a krb5 context token.
fn id_offset(tok: &[u8]) -> usize {
    assert_eq!(tok[0], 0x60);
    let len_bytes = if tok[1] < 0x80 { 1 } else { 1 + usize::from(tok[1] & 0x7f) };
    let oid_at = 1 + len_bytes;
    assert_eq!(&tok[oid_at..oid_at + 2], &[0x06, oid::KRB5.len() as u8]);
    assert_eq!(&tok[oid_at + 2..oid_at + 2 + oid::KRB5.len()], oid::KRB5);
    oid_at + 2 + oid::KRB5.len()
}

/// A krb5 context token's id and message.
fn unframe(tok: &[u8]) -> ([u8; 2], &[u8]) {
    let at = id_offset(tok);
    ([tok[at], tok[at + 1]], &tok[at + 2..])
}

#[test]
fn credentials_are_checked_when_acquired() {
    let realm = Realm::new();
    // A client that never logged in: no credentials.
    let e = InitiatorCred::from_client(Arc::new(realm.client())).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_GSS_NO_CRED);
    // An expired TGT.
    let clock = Arc::new(FixedClock::new(realm.now()));
    let client = realm.client_with_clock(ClientConfig::new(REALM), clock.clone());
    client.login("alice", ALICE_PW).unwrap();
    clock.advance(48 * 3600);
    assert_eq!(code(InitiatorCred::from_client(Arc::new(client))), ErrorCode::KTIX_ERR_GSS_CREDENTIALS_EXPIRED);
    // Acceptor credentials for a name the keytab has, for one it has not, for a service alone.
    let kt = realm.kdc.keytab(SERVICE, realm.now()).unwrap();
    let n = Name::import(b"host/server.ktix.test@KTIX.TEST", None).unwrap();
    assert_eq!(AcceptorCred::from_keytab(kt.clone(), Some(&n)).unwrap().name(), Some(&principal(SERVICE)));
    let none = Name::import(b"HTTP/server.ktix.test@KTIX.TEST", None).unwrap();
    assert_eq!(code(AcceptorCred::from_keytab(kt.clone(), Some(&none))), ErrorCode::KTIX_ERR_GSS_NO_CRED);
    let svc = Name::hostbased("host").unwrap();
    assert_eq!(AcceptorCred::from_keytab(kt.clone(), Some(&svc)).unwrap().name(), None);
    assert_eq!(code(AcceptorCred::from_keytab(Keytab::new(), None)), ErrorCode::KTIX_ERR_GSS_NO_CRED);
    assert_eq!(code(AcceptorCred::acquire(Some("/nonexistent/krb5.keytab"), None)), ErrorCode::KTIX_ERR_GSS_NO_CRED);
    assert_eq!(code(InitiatorCred::acquire(Some("FILE:/nonexistent/ccache"))), ErrorCode::KTIX_ERR_GSS_NO_CRED);
}

#[test]
fn an_acceptor_for_another_service_refuses_the_ticket() {
    let realm = Realm::new();
    // Credentials from a keytab run on the system clock: the realm's clock is set to it.
    realm.clock.set(Time::now());
    realm.add_service("HTTP/web.ktix.test");
    let c = cred(realm.alice());
    // Keys of both services; the credential is for HTTP only.
    let mut kt = realm.kdc.keytab(SERVICE, realm.now()).unwrap();
    for e in realm.kdc.keytab("HTTP/web.ktix.test", realm.now()).unwrap().entries() {
        kt.push_entry(e.clone());
    }
    let http = Name::hostbased("HTTP").unwrap();
    let acc_cred = AcceptorCred::from_keytab(kt, Some(&http)).unwrap();
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    assert_eq!(
        code(AcceptorContext::new(&acc_cred, AcceptorOptions::default()).step(&tok)),
        ErrorCode::KRB_AP_ERR_NOT_US
    );
}

// ---------------------------------------------------------------------------------------------
// MIT's own GSS AP-REQ (python-gssapi over MIT krb5 1.20, aes256-cts-hmac-sha1-96).
// ---------------------------------------------------------------------------------------------

fn mit_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let local = manifest.join("tests/fixtures/mit-1.20");
    if local.join("README.md").is_file() {
        local
    } else {
        manifest.join("../shared/fixtures/mit-1.20")
    }
}

#[test]
fn mit_gss_ap_req_is_accepted_with_mit_flags_and_our_ap_rep_is_like_mits() {
    let dir = mit_root().join("aes256-cts-hmac-sha1-96");
    let ap_req = std::fs::read(dir.join("03-ap-req-gss.der")).unwrap();
    let mit_rep = std::fs::read(dir.join("03-ap-rep.der")).unwrap();
    let kt = Keytab::load(mit_root().join("server.keytab").to_str().unwrap()).unwrap();
    // The capture time: the authenticator's.
    let req = wire::decode::<ApReq>(&ap_req).unwrap();
    let ticket: &Ticket = &req.ticket;
    let entry = kt
        .entries()
        .iter()
        .find(|e| e.kvno == ticket.enc_part.kvno.unwrap() && e.key.enctype_id() == ticket.enc_part.etype)
        .unwrap();
    let tc = proto::open_ticket(ticket, entry.key.key().unwrap()).unwrap();
    let auth: Authenticator = proto::open(&tc.session_key, usage::AP_REQ_AUTH, &req.authenticator).unwrap();
    let ck = auth.cksum.as_ref().unwrap();
    assert_eq!(ck.r#type, checksum_type::GSSAPI);
    let t = Time::from_unix_parts(wire::time_from(&auth.ctime).unix(), wire::micros(&auth.cusec).unwrap());
    // MIT's flags, read from the checksum's bytes (little-endian at offset 20).
    let raw = u32::from_le_bytes(ck.checksum[20..24].try_into().unwrap());

    let clock = Arc::new(FixedClock::new(t));
    let acceptor = Acceptor::with_config(kt, AcceptorConfig::default(), clock.clone());
    let acc_cred = AcceptorCred::from_acceptor(acceptor);
    let mut acc = AcceptorContext::new(&acc_cred, AcceptorOptions::default());
    let rep_tok = acc.step(&krb5_token([1, 0], &ap_req)).unwrap().expect("MIT asked for mutual authentication");
    assert!(acc.is_complete());
    assert_eq!(acc.initiator_name().unwrap().to_string(), "alice@KTIX.TEST");
    assert_eq!(acc.target_name().unwrap().to_string(), "host/server.ktix.test@KTIX.TEST");
    // What MIT sent (TRANS included: MIT's contexts are exportable, ours are not, so TRANS is
    // not granted).
    assert_eq!(raw, 0x132);
    assert_eq!(acc.flags(), ContextFlags(raw).without(ContextFlags::TRANS).with(ContextFlags::PROT_READY));
    assert!(acc.flags().contains(MIT_FLAGS.with(ContextFlags::MUTUAL)), "{:?}", acc.flags());
    assert_eq!(acc.expires(), Some(tc.end_time));

    // Our AP-REP token: 02 00 and an AP-REP echoing the authenticator's time, with an acceptor
    // subkey of the initiator subkey's enctype and a sequence number, as MIT's AP-REP has.
    let (id, body) = unframe(&rep_tok);
    assert_eq!(id, [2, 0]);
    let ours: EncApRepPart =
        proto::open(&tc.session_key, usage::AP_REP_ENC_PART, &wire::decode::<ApRep>(body).unwrap().enc_part).unwrap();
    let mit: EncApRepPart =
        proto::open(&tc.session_key, usage::AP_REP_ENC_PART, &wire::decode::<ApRep>(&mit_rep).unwrap().enc_part)
            .unwrap();
    assert_eq!((&ours.ctime, &ours.cusec), (&mit.ctime, &mit.cusec));
    assert_eq!(ours.subkey.as_ref().map(|k| k.r#type), mit.subkey.as_ref().map(|k| k.r#type));
    assert_eq!(ours.subkey.as_ref().map(|k| k.r#type), auth.subkey.as_ref().map(|k| k.r#type));
    assert!(ours.seq_number.is_some() && mit.seq_number.is_some());

    // The replay is refused.
    let mut again = AcceptorContext::new(&acc_cred, AcceptorOptions::default());
    assert_eq!(code(again.step(&krb5_token([1, 0], &ap_req))), ErrorCode::KRB_AP_ERR_REPEAT);
    let _ = clock.now();
}

#[test]
fn names_resolve_for_the_initiator() {
    // A host-based target through the default realm of an explicit configuration.
    let conf = ktix::config::Krb5Conf::parse(
        "[libdefaults]\n default_realm = KTIX.TEST\n[domain_realm]\n .ktix.test = KTIX.TEST\n",
        "krb5.conf",
    )
    .unwrap();
    let n = Name::hostbased("host@Server.KTIX.test").unwrap();
    assert_eq!(n.canonicalize_with(&conf).unwrap(), principal(SERVICE));
}

// ---------------------------------------------------------------------------------------------
// SPNEGO over the krb5 mechanism.
// ---------------------------------------------------------------------------------------------

#[test]
fn spnego_establishment_mutual_and_not_for_each_enctype() {
    let realm = Realm::new();
    let acceptor = acceptor_cred(&realm);
    for enctype in Enctype::ALL {
        for mutual in [true, false] {
            let config = ClientConfig { tgs_enctypes: vec![enctype], ..ClientConfig::new(REALM) };
            let client = realm.client_with(config);
            client.login("alice", ALICE_PW).unwrap();
            let c = cred(client);
            let all = InitiatorOptions::default().flags;
            let flags = if mutual { all } else { all.without(ContextFlags::MUTUAL) };
            let o = InitiatorOptions { mech: ktix::gss::Mech::Spnego, flags, ..InitiatorOptions::default() };
            let mut init = InitiatorContext::new(&c, &target(), o).unwrap();
            let mut acc = AcceptorContext::new(&acceptor, AcceptorOptions::default());
            let first = init.step(None).unwrap().unwrap();
            assert_eq!(first[0], 0x60);
            let oid_at = if first[1] < 0x80 { 2 } else { 2 + usize::from(first[1] & 0x7f) };
            assert_eq!(&first[oid_at..oid_at + 2], &[0x06, oid::SPNEGO.len() as u8]);
            assert_eq!(&first[oid_at + 2..oid_at + 8], oid::SPNEGO, "a NegTokenInit framed with SPNEGO's OID");
            establish_from(&mut init, &mut acc, first).unwrap();
            assert!(init.is_complete() && acc.is_complete(), "{enctype:?} mutual={mutual}");
            assert_eq!((init.mech(), acc.mech()), (oid::SPNEGO, oid::SPNEGO));
            assert_eq!(init.flags().contains(ContextFlags::MUTUAL), mutual);
            assert_eq!(acc.flags().contains(ContextFlags::MUTUAL), mutual);
            assert_eq!(acc.initiator_name().unwrap().to_string(), "alice@KTIX.TEST");
            let tok = acc.wrap(b"over spnego", true).unwrap();
            assert_eq!(init.unwrap(&tok).unwrap(), b"over spnego");
            init.verify_mic(b"m", &acc.get_mic(b"m").unwrap()).unwrap();
            acc.verify_mic(b"n", &init.get_mic(b"n").unwrap()).unwrap();
            realm.clock.advance(1);
        }
    }
}

/// Runs an exchange whose first initiator token is `first`.
fn establish_from(init: &mut InitiatorContext, acc: &mut AcceptorContext, first: Vec<u8>) -> ktix::Result<()> {
    let mut token = Some(first);
    while let Some(t) = token {
        token = match acc.step(&t)? {
            Some(b) => init.step(Some(&b))?,
            None => None,
        };
    }
    Ok(())
}

#[test]
fn spnego_delegation_and_bindings() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let cb = ChannelBindings::application(b"tls-unique:abc");
    let o = InitiatorOptions {
        mech: ktix::gss::Mech::Spnego,
        flags: InitiatorOptions::default().flags.with(ContextFlags::DELEG),
        channel_bindings: Some(cb.clone()),
        ..InitiatorOptions::default()
    };
    let mut init = InitiatorContext::new(&c, &target(), o.clone()).unwrap();
    let mut acc = AcceptorContext::new(
        &acceptor_cred(&realm),
        AcceptorOptions { channel_bindings: Some(cb), ..AcceptorOptions::default() },
    );
    establish(&mut init, &mut acc).unwrap();
    assert!(acc.flags().contains(ContextFlags::DELEG.with(ContextFlags::CHANNEL_BOUND)));
    assert!(acc.delegated().unwrap().get(&common::krbtgt()).unwrap().is_some());
    // Mismatched bindings under SPNEGO: still BAD_BINDINGS.
    realm.clock.advance(1);
    let mut init = InitiatorContext::new(&c, &target(), o).unwrap();
    let mut acc = AcceptorContext::new(
        &acceptor_cred(&realm),
        AcceptorOptions {
            channel_bindings: Some(ChannelBindings::application(b"other")),
            ..AcceptorOptions::default()
        },
    );
    assert_eq!(code(establish(&mut init, &mut acc)), ErrorCode::KTIX_ERR_GSS_BAD_BINDINGS);
}

#[test]
fn an_acceptor_without_spnego_refuses_spnego_tokens_and_takes_raw_ones() {
    let realm = Realm::new();
    let c = cred(realm.alice());
    let acceptor = acceptor_cred(&realm);
    let no_spnego = AcceptorOptions { spnego: false, ..AcceptorOptions::default() };
    let o = InitiatorOptions { mech: ktix::gss::Mech::Spnego, ..InitiatorOptions::default() };
    let mut init = InitiatorContext::new(&c, &target(), o).unwrap();
    let tok = init.step(None).unwrap().unwrap();
    assert_eq!(code(AcceptorContext::new(&acceptor, no_spnego.clone()).step(&tok)), ErrorCode::KTIX_ERR_GSS_BAD_MECH);
    let mut init = InitiatorContext::new(&c, &target(), InitiatorOptions::default()).unwrap();
    let mut acc = AcceptorContext::new(&acceptor, no_spnego);
    establish(&mut init, &mut acc).unwrap();
    assert_eq!(acc.mech(), oid::KRB5);
}
