//! Per-message protection over established GSS-API krb5 contexts (RFC 4121 §4.2), both
//! directions: Wrap with and without confidentiality, MIC, for each enctype, mutual (acceptor
//! subkey) and not (initiator subkey); tampered, replayed, reordered and foreign tokens; the
//! context's lifetime.

mod common;

use std::sync::Arc;

use common::{principal, Realm, ALICE_PW, REALM, SERVICE};
use ktix::gss::{
    AcceptorContext, AcceptorCred, AcceptorOptions, ContextFlags, InitiatorContext, InitiatorCred, InitiatorOptions,
    Name, SecurityContext, Status,
};
use ktix::{ClientConfig, Enctype, ErrorCode};

/// An established pair: (initiator, acceptor).
fn pair(realm: &Realm, enctype: Enctype, flags: ContextFlags) -> (InitiatorContext, AcceptorContext) {
    let client = realm.client_with(ClientConfig { tgs_enctypes: vec![enctype], ..ClientConfig::new(REALM) });
    client.login("alice", ALICE_PW).unwrap();
    let cred = InitiatorCred::from_client(Arc::new(client)).unwrap();
    let target = Name::from_principal(principal(SERVICE));
    let mut init =
        InitiatorContext::new(&cred, &target, InitiatorOptions { flags, ..InitiatorOptions::default() }).unwrap();
    let mut acc = AcceptorContext::new(&AcceptorCred::from_acceptor(realm.acceptor()), AcceptorOptions::default());
    let t = init.step(None).unwrap().unwrap();
    if let Some(rep) = acc.step(&t).unwrap() {
        assert_eq!(init.step(Some(&rep)).unwrap(), None);
    }
    assert!(init.is_complete() && acc.is_complete());
    (init, acc)
}

fn default_flags() -> ContextFlags {
    InitiatorOptions::default().flags
}

fn code<T: std::fmt::Debug>(r: ktix::Result<T>) -> ErrorCode {
    r.expect_err("an error").code()
}

#[test]
fn wrap_unwrap_and_mic_both_directions_for_each_enctype_mutual_or_not() {
    let realm = Realm::new();
    let without_mutual = default_flags().without(ContextFlags::MUTUAL);
    for enctype in Enctype::ALL {
        for flags in [default_flags(), without_mutual] {
            let (init, acc) = pair(&realm, enctype, flags);
            let sides: [(&dyn SecurityContext, &dyn SecurityContext); 2] = [(&init, &acc), (&acc, &init)];
            for (from, to) in sides {
                for conf in [true, false] {
                    let msg = format!("{enctype:?} conf={conf} from initiator={}", from.is_initiator()).into_bytes();
                    let tok = from.wrap(&msg, conf).unwrap();
                    assert_eq!(tok.windows(msg.len()).any(|w| w == &msg[..]), !conf, "sealed data is not in clear");
                    let u = to.unwrap_detailed(&tok).unwrap();
                    assert_eq!((u.data.as_slice(), u.conf, u.sequence), (&msg[..], conf, None));
                    // A token goes back to its sender: refused (direction flag).
                    assert!(from.unwrap(&tok).is_err());
                }
                let mic = from.get_mic(b"signed data").unwrap();
                to.verify_mic(b"signed data", &mic).unwrap();
                assert_eq!(code(to.verify_mic(b"signed dat4", &mic)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
            }
            // wrap_size_limit: a message of that size fits the output size, one more does not.
            for conf in [true, false] {
                let limit = init.wrap_size_limit(conf, 16_384);
                assert_eq!(init.wrap(&vec![7u8; limit], conf).unwrap().len(), 16_384, "{enctype:?} conf={conf}");
                assert!(init.wrap(&vec![7u8; limit + 1], conf).unwrap().len() > 16_384);
            }
            realm.clock.advance(1);
        }
    }
}

#[test]
fn tampered_tokens_are_bad_mic_and_truncated_ones_errors() {
    let realm = Realm::new();
    let (init, acc) = pair(&realm, Enctype::Aes256CtsHmacSha384192, default_flags());
    for conf in [true, false] {
        let tok = init.wrap(b"payload to protect", conf).unwrap();
        for i in 0..tok.len() {
            let mut t = tok.clone();
            t[i] ^= 0x01;
            let e = acc.unwrap(&t).unwrap_err();
            assert!(
                [ErrorCode::KTIX_ERR_GSS_BAD_MIC, ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN].contains(&e.code()),
                "byte {i}: {e}"
            );
            assert!(ktix::gss::major::is_error(Status::of(&e).major));
        }
        for cut in 0..tok.len() {
            assert!(acc.unwrap(&tok[..cut]).is_err(), "cut {cut}");
        }
    }
    let mic = init.get_mic(b"m").unwrap();
    let mut bad = mic.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x80;
    assert_eq!(code(acc.verify_mic(b"m", &bad)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
    // The token of another context (another key) does not verify.
    let (other, _) = pair(&realm, Enctype::Aes256CtsHmacSha384192, default_flags());
    let foreign = other.wrap(b"payload", false).unwrap();
    assert_eq!(code(acc.unwrap(&foreign)), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
}

#[test]
fn replayed_and_reordered_tokens_are_flagged() {
    let realm = Realm::new();
    let (init, acc) = pair(&realm, Enctype::Aes128CtsHmacSha256128, default_flags());
    let t: Vec<Vec<u8>> = (0..4).map(|i| init.wrap(format!("m{i}").as_bytes(), true).unwrap()).collect();
    assert_eq!(acc.unwrap(&t[0]).unwrap(), b"m0");
    // A replay: the token verified, and is a duplicate.
    let u = acc.unwrap_detailed(&t[0]).unwrap();
    assert_eq!((u.data.as_slice(), u.sequence), (&b"m0"[..], Some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN)));
    assert_eq!(code(acc.unwrap(&t[0])), ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN);
    assert!(!ktix::gss::major::is_error(Status::of(&acc.unwrap(&t[0]).unwrap_err()).major));
    // A gap (m1 skipped), then the late m1.
    assert_eq!(acc.unwrap_detailed(&t[2]).unwrap().sequence, Some(ErrorCode::KTIX_ERR_GSS_GAP_TOKEN));
    let late = acc.unwrap_detailed(&t[1]).unwrap().sequence;
    assert!(
        [Some(ErrorCode::KTIX_ERR_GSS_UNSEQ_TOKEN), Some(ErrorCode::KTIX_ERR_GSS_OLD_TOKEN)].contains(&late),
        "{late:?}"
    );
    assert_eq!(acc.unwrap_detailed(&t[3]).unwrap().sequence, None);
    // MICs share the sequence: replayed MIC.
    let mic = acc.get_mic(b"x").unwrap();
    assert_eq!(init.verify_mic_detailed(b"x", &mic).unwrap(), None);
    assert_eq!(init.verify_mic_detailed(b"x", &mic).unwrap(), Some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN));

    // Without REPLAY and SEQUENCE nothing is flagged.
    let (init, acc) = pair(&realm, Enctype::Aes128CtsHmacSha196, ContextFlags::MUTUAL);
    assert!(!acc.flags().contains(ContextFlags::REPLAY) && !acc.flags().contains(ContextFlags::SEQUENCE));
    let a = init.wrap(b"a", true).unwrap();
    let b = init.wrap(b"b", true).unwrap();
    assert_eq!(acc.unwrap(&b).unwrap(), b"b");
    assert_eq!(acc.unwrap(&a).unwrap(), b"a");
    assert_eq!(acc.unwrap(&a).unwrap(), b"a");
}

#[test]
fn an_expired_context_refuses_per_message_calls() {
    let realm = Realm::new();
    let (init, acc) = pair(&realm, Enctype::Aes256CtsHmacSha196, default_flags());
    let end = init.expires().unwrap();
    let tok = init.wrap(b"before", true).unwrap();
    realm.clock.set(end.plus_secs(1));
    assert_eq!(code(init.wrap(b"after", true)), ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED);
    assert_eq!(code(acc.unwrap(&tok)), ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED);
    assert_eq!(code(acc.get_mic(b"x")), ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED);
    let e = init.get_mic(b"x").unwrap_err();
    assert_eq!(Status::of(&e).major, ktix::gss::major::CONTEXT_EXPIRED);
}

#[test]
fn contexts_are_shared_between_threads() {
    let realm = Realm::new();
    let (init, acc) = pair(&realm, Enctype::Aes256CtsHmacSha196, ContextFlags::MUTUAL.with(ContextFlags::REPLAY));
    let init = Arc::new(init);
    let mut tokens: Vec<Vec<u8>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let init = init.clone();
                s.spawn(move || {
                    (0..25).map(|j| init.wrap(format!("{i}-{j}").as_bytes(), true).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    // Every token has its own sequence number (bytes 8..16 of the Wrap header, RFC 4121 §4.2.6.2).
    tokens.sort_by_key(|t| u64::from_be_bytes(t[8..16].try_into().unwrap()));
    let mut seqs: Vec<u64> = tokens.iter().map(|t| u64::from_be_bytes(t[8..16].try_into().unwrap())).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 100);
    assert_eq!(seqs[99] - seqs[0], 99);
    // Each is accepted once (REPLAY without SEQUENCE: the
    // threads' interleaving is not flagged), then a duplicate (or, beyond the 64-token window,
    // too old to tell).
    for t in &tokens {
        assert_eq!(acc.unwrap_detailed(t).unwrap().sequence, None);
    }
    for t in &tokens {
        let again = acc.unwrap_detailed(t).unwrap().sequence;
        assert!(
            [Some(ErrorCode::KTIX_ERR_GSS_DUPLICATE_TOKEN), Some(ErrorCode::KTIX_ERR_GSS_OLD_TOKEN)].contains(&again),
            "{again:?}"
        );
    }
}
