//! Real MIT krb5 1.20.1 messages against our KDC and acceptor (captures in
//! `tests/fixtures/mit-1.20/`, or the shared `fixtures/mit-1.20/` next to the repository; see
//! their README): a KDC whose store holds alice (password `alice-pw`, default salt) and the
//! realm's krbtgt and host/server.ktix.test keys from the fixture keytabs answers MIT's AS-REQs
//! and TGS-REQs (the FAST-armored one too: PA-FX-FAST is ignored), and our acceptor accepts
//! MIT's GSS AP-REQ at its capture time and refuses its replay.

use std::path::PathBuf;
use std::sync::Arc;

use ktix::crypto::{checksum_type, usage};
use ktix::internals::proto;
use ktix::internals::wire::{
    self, msg_type, pa_type, ApRep, ApReq, AsRep, AsReq, Authenticator, EncApRepPart, EncryptedData, EtypeInfo2,
    KrbError, MethodData, PaEncTsEnc, TgsRep, TgsReq, Ticket,
};
use ktix::kdc::{KeyEntry, MemoryStore, PrincipalEntry};
use ktix::{Acceptor, AcceptorConfig, Enctype, ErrorCode, FixedClock, Kdc, Key, Keytab, Principal, RealmPolicy, Time};

const REALM: &str = "KTIX.TEST";
const ALICE_PW: &[u8] = b"alice-pw";
const SERVER: &str = "host/server.ktix.test";

/// The enctype folders, with the enctype the client asked for.
const FOLDERS: [(&str, Enctype); 2] = [
    ("aes256-cts-hmac-sha1-96", Enctype::Aes256CtsHmacSha196),
    ("aes256-cts-hmac-sha384-192", Enctype::Aes256CtsHmacSha384192),
];

/// The capture sets: folder prefix ("" or "nofast") and the name of its TGS-REQ.
const SETS: [(&str, &str); 2] = [("", "02-tgs-req.der"), ("nofast", "02-tgs-req-nofast.der")];

/// The fixture folder: the repository's copy when present, else the shared one.
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let local = manifest.join("tests/fixtures/mit-1.20");
    if local.join("README.md").is_file() {
        return local;
    }
    let shared = manifest.join("../shared/fixtures/mit-1.20");
    assert!(
        shared.join("README.md").is_file(),
        "MIT captures not found in {} nor {}",
        local.display(),
        shared.display()
    );
    shared
}

fn read(set: &str, folder: &str, name: &str) -> Vec<u8> {
    let p = root().join(set).join(folder).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn principal(name: &str) -> Principal {
    Principal::parse(name, Some(REALM)).unwrap()
}

fn load_keytab(set: &str, file: &str) -> Keytab {
    let p = root().join(set).join(file);
    Keytab::load(p.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A store entry for `name` with every supported key the keytab has for it.
fn entry_from_keytab(kt: &Keytab, name: &str) -> PrincipalEntry {
    let p = principal(name);
    let mut e = PrincipalEntry::new(p.clone());
    for k in kt.entries().iter().filter(|k| k.principal == p) {
        if let Some(key) = k.key.key() {
            e.keys.push(KeyEntry { kvno: k.kvno, key: key.clone(), salt: p.default_salt(), s2kparams: None });
        }
    }
    assert!(!e.keys.is_empty(), "no usable key for {name}");
    e
}

/// Our KDC over the fixture keys of one capture set.
fn kdc_for(set: &str) -> Kdc {
    let store = Arc::new(MemoryStore::new());
    let tgs = entry_from_keytab(&load_keytab(set, "krbtgt.keytab"), "krbtgt/KTIX.TEST");
    let server = entry_from_keytab(&load_keytab(set, "server.keytab"), SERVER);
    let mut alice = PrincipalEntry::new(principal("alice"));
    alice.set_password(ALICE_PW, &Enctype::ALL, 1).unwrap();
    use ktix::kdc::PrincipalStore;
    store.put(tgs).unwrap();
    store.put(server).unwrap();
    store.put(alice).unwrap();
    // The fixture realm has keys of all four enctypes; ours opts in to them (SHA-2 is not a default).
    let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
    let kdc = Kdc::with_store(REALM, store, policy).unwrap();
    assert_eq!(kdc.store().list().unwrap().len(), 3, "the fixture krbtgt is used, not a fresh one");
    kdc
}

fn alice_key(enctype: Enctype) -> Key {
    Key::from_password(enctype, ALICE_PW, b"KTIX.TESTalice", None).unwrap()
}

/// The key of an EncryptedData's enctype (and kvno) for `name` in a keytab.
fn keytab_key(kt: &Keytab, name: &str, enc: &EncryptedData) -> Key {
    let e = kt
        .find(&principal(name), enc.kvno, Some(Enctype::from_i32(enc.etype).unwrap()))
        .unwrap_or_else(|| panic!("no key for {name} enctype {} kvno {:?}", enc.etype, enc.kvno));
    e.key.key().unwrap().clone()
}

fn time_of(t: &wire::KerberosTime, usec: Option<&rasn::types::Integer>) -> Time {
    Time::from_unix_parts(wire::time_from(t).unix(), usec.map(|u| wire::micros(u).unwrap()).unwrap_or(0))
}

/// The capture time of an AS-REQ with PA-ENC-TIMESTAMP: the timestamp, opened with alice's key.
fn preauth_time(as_req: &[u8]) -> Time {
    let req = wire::decode::<AsReq>(as_req).unwrap().0;
    let pa = wire::find_padata(&req.padata, pa_type::ENC_TIMESTAMP).expect("PA-ENC-TIMESTAMP");
    let enc = wire::decode::<EncryptedData>(&pa.value).unwrap();
    let ts: PaEncTsEnc =
        proto::open(&alice_key(Enctype::from_i32(enc.etype).unwrap()), usage::PA_ENC_TIMESTAMP, &enc).unwrap();
    time_of(&ts.patimestamp, ts.pausec.as_ref())
}

fn krb_error(reply: &[u8]) -> KrbError {
    assert_eq!(wire::message_tag(reply), Some(msg_type::KRB_ERROR));
    wire::decode::<KrbError>(reply).unwrap()
}

/// Fails with the KRB-ERROR's code and text when `reply` is not of type `want`.
fn expect(reply: &[u8], want: u8, what: &str) {
    if wire::message_tag(reply) == Some(msg_type::KRB_ERROR) {
        let e = krb_error(reply);
        panic!("{what}: KRB-ERROR {:?}: {:?}", ErrorCode(e.error_code), e.e_text.as_ref().map(wire::kstring_text));
    }
    assert_eq!(wire::message_tag(reply), Some(want), "{what}");
}

/// ETYPE-INFO2 entries (etype, salt) of a PREAUTH_REQUIRED error.
fn etype_info2(err: &KrbError) -> Vec<(i32, Option<Vec<u8>>)> {
    let md = wire::decode::<MethodData>(err.e_data.as_ref().expect("e-data")).unwrap();
    let pa = md.iter().find(|p| p.r#type == pa_type::ETYPE_INFO2).expect("PA-ETYPE-INFO2");
    wire::decode::<EtypeInfo2>(&pa.value)
        .unwrap()
        .into_iter()
        .map(|e| (e.etype, e.salt.map(|s| s.as_bytes().to_vec())))
        .collect()
}

#[test]
fn mit_as_req_without_preauth_gets_25() {
    for (set, _) in SETS {
        let kdc = kdc_for(set);
        for (folder, enctype) in FOLDERS {
            let t = preauth_time(&read(set, folder, "01-as-req-preauth.der"));
            let reply = kdc.handle(&read(set, folder, "00-as-req-no-preauth.der"), t);
            let err = krb_error(&reply);
            assert_eq!(ErrorCode(err.error_code), ErrorCode::KDC_ERR_PREAUTH_REQUIRED, "{set}/{folder}");
            let ours = etype_info2(&err);
            assert_eq!(ours, vec![(enctype.id(), Some(b"KTIX.TESTalice".to_vec()))], "{set}/{folder}");
            // MIT's KDC named the same enctype and salt.
            let mit = etype_info2(&krb_error(&read(set, folder, "00-krb-error-preauth-required.der")));
            assert!(mit.contains(&ours[0]), "{set}/{folder}: MIT said {mit:?}");
            let md = wire::decode::<MethodData>(err.e_data.as_ref().unwrap()).unwrap();
            assert!(md.iter().any(|p| p.r#type == pa_type::ENC_TIMESTAMP));
        }
    }
}

#[test]
fn mit_as_req_with_preauth_gets_an_as_rep_alice_can_open() {
    for (set, _) in SETS {
        let kdc = kdc_for(set);
        let krbtgt_kt = load_keytab(set, "krbtgt.keytab");
        for (folder, enctype) in FOLDERS {
            let req_bytes = read(set, folder, "01-as-req-preauth.der");
            let req = wire::decode::<AsReq>(&req_bytes).unwrap().0;
            let t = preauth_time(&req_bytes);
            let reply = kdc.handle(&req_bytes, t);
            expect(&reply, msg_type::AS_REP, &format!("{set}/{folder}"));
            let rep = wire::decode::<AsRep>(&reply).unwrap().0;
            assert_eq!(rep.enc_part.etype, enctype.id());
            let plain = proto::open_bytes(&alice_key(enctype), usage::AS_REP_ENC_PART, &rep.enc_part).unwrap();
            let (part, tag) = wire::decode_enc_kdc_rep_part(&plain).unwrap();
            assert_eq!(tag, msg_type::ENC_AS_REP_PART);
            assert_eq!(part.nonce, req.req_body.nonce, "{set}/{folder}");
            assert_eq!(wire::principal_from(&part.sname, &part.srealm).unwrap(), Principal::krbtgt(REALM));
            assert_eq!(wire::principal_from(&rep.cname, &rep.crealm).unwrap(), principal("alice"));
            assert!(req.req_body.etype.contains(&part.key.r#type), "session key of an enctype asked for");
            // The TGT opens with the fixture's krbtgt key and holds the same session key.
            let tgt =
                proto::open_ticket(&rep.ticket, &keytab_key(&krbtgt_kt, "krbtgt/KTIX.TEST", &rep.ticket.enc_part))
                    .unwrap();
            assert_eq!(tgt.session_key, proto::key_from(&part.key).unwrap());
            assert_eq!(tgt.client, principal("alice"));
            assert!(tgt.flags.has(wire::ticket_flags::PRE_AUTHENT) && tgt.flags.has(wire::ticket_flags::INITIAL));
            assert_eq!(wire::time_from(&part.auth_time), t.whole_seconds());
        }
    }
}

/// The TGT session key and the authenticator of a TGS-REQ (opened with the fixture krbtgt key).
fn tgs_authenticator(set: &str, req: &TgsReq) -> (Key, Authenticator) {
    let pa = wire::find_padata(&req.0.padata, pa_type::TGS_REQ).expect("PA-TGS-REQ");
    let ap = wire::decode::<ApReq>(&pa.value).unwrap();
    let kt = load_keytab(set, "krbtgt.keytab");
    let tgt = proto::open_ticket(&ap.ticket, &keytab_key(&kt, "krbtgt/KTIX.TEST", &ap.ticket.enc_part)).unwrap();
    let auth: Authenticator = proto::open(&tgt.session_key, usage::TGS_REQ_AUTH, &ap.authenticator).unwrap();
    (tgt.session_key, auth)
}

#[test]
fn mit_tgs_req_gets_a_tgs_rep_sealed_in_the_subkey() {
    for (set, tgs_req_name) in SETS {
        let kdc = kdc_for(set);
        let server_kt = load_keytab(set, "server.keytab");
        for (folder, enctype) in FOLDERS {
            let what = format!("{set}/{folder}/{tgs_req_name}");
            let req_bytes = read(set, folder, tgs_req_name);
            let req = wire::decode::<TgsReq>(&req_bytes).unwrap();
            let has_fast = wire::find_padata(&req.0.padata, pa_type::FX_FAST).is_some();
            assert_eq!(has_fast, set.is_empty(), "{what}: PA-FX-FAST only in the main set");
            let (tgt_key, auth) = tgs_authenticator(set, &req);
            assert_eq!(tgt_key.enctype(), enctype);
            let subkey = proto::key_from(auth.subkey.as_ref().expect("MIT sends a subkey")).unwrap();
            let t = time_of(&auth.ctime, Some(&auth.cusec));

            let reply = kdc.handle(&req_bytes, t);
            expect(&reply, msg_type::TGS_REP, &what);
            let rep = wire::decode::<TgsRep>(&reply).unwrap().0;
            assert!(rep.padata.is_none(), "{what}: a plain TGS-REP, no PA-FX-FAST");
            let plain = proto::open_bytes(&subkey, usage::TGS_REP_ENC_PART_SUBKEY, &rep.enc_part)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(proto::open_bytes(&tgt_key, usage::TGS_REP_ENC_PART_SESSION, &rep.enc_part).is_err());
            let (part, tag) = wire::decode_enc_kdc_rep_part(&plain).unwrap();
            assert_eq!(tag, msg_type::ENC_TGS_REP_PART);
            assert_eq!(part.nonce, req.0.req_body.nonce, "{what}");
            assert_eq!(wire::principal_from(&part.sname, &part.srealm).unwrap(), principal(SERVER));
            // The service ticket opens with the fixture server key (kvno 2) and holds the reply's key.
            assert_eq!(rep.ticket.enc_part.kvno, Some(2));
            let st = proto::open_ticket(&rep.ticket, &keytab_key(&server_kt, SERVER, &rep.ticket.enc_part)).unwrap();
            assert_eq!(st.session_key, proto::key_from(&part.key).unwrap());
            assert_eq!(st.client, principal("alice"));
            assert_ne!(st.session_key, tgt_key);

            // Ten minutes later the same request is refused for skew.
            let late = kdc.handle(&req_bytes, t.plus_secs(600));
            assert_eq!(ErrorCode(krb_error(&late).error_code), ErrorCode::KRB_AP_ERR_SKEW, "{what}");
        }
    }
}

#[test]
fn mit_gss_ap_req_is_accepted_once() {
    let folder = "aes256-cts-hmac-sha1-96";
    let req_bytes = read("", folder, "03-ap-req-gss.der");
    let server_kt = load_keytab("", "server.keytab");
    // The capture time, from the authenticator.
    let req = wire::decode::<ApReq>(&req_bytes).unwrap();
    let ticket: &Ticket = &req.ticket;
    let tc = proto::open_ticket(ticket, &keytab_key(&server_kt, SERVER, &ticket.enc_part)).unwrap();
    let auth: Authenticator = proto::open(&tc.session_key, usage::AP_REQ_AUTH, &req.authenticator).unwrap();
    let t = time_of(&auth.ctime, Some(&auth.cusec));

    let clock = Arc::new(FixedClock::new(t));
    let acceptor = Acceptor::with_config(server_kt.clone(), AcceptorConfig::default(), clock.clone());
    let acc = acceptor.accept(&req_bytes).unwrap();
    assert_eq!(acc.client, principal("alice"));
    assert_eq!(acc.server, principal(SERVER));
    assert_eq!(acc.kvno, 2);
    assert_eq!(acc.session_key, tc.session_key);
    assert_eq!(acc.checksum.as_ref().map(|c| c.0), Some(checksum_type::GSSAPI));
    assert_eq!(acc.checksum.as_ref().map(|c| c.1.len() >= 24), Some(true));
    assert!(acc.subkey.is_some() && acc.seq_number.is_some());

    // Our AP-REP echoes the authenticator's time, as MIT's acceptor's did.
    let ours = wire::decode::<ApRep>(acc.ap_rep.as_deref().expect("GSS asked for mutual authentication")).unwrap();
    let ours: EncApRepPart = proto::open(&tc.session_key, usage::AP_REP_ENC_PART, &ours.enc_part).unwrap();
    let mit = wire::decode::<ApRep>(&read("", folder, "03-ap-rep.der")).unwrap();
    let mit: EncApRepPart = proto::open(&tc.session_key, usage::AP_REP_ENC_PART, &mit.enc_part).unwrap();
    assert_eq!((&ours.ctime, &ours.cusec), (&mit.ctime, &mit.cusec));

    // Replayed: 34.
    assert_eq!(acceptor.accept(&req_bytes).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
    // A fresh acceptor ten minutes later: skew.
    let late = Acceptor::with_config(server_kt, AcceptorConfig::default(), clock);
    assert_eq!(late.accept_at(&req_bytes, t.plus_secs(600)).unwrap_err().code(), ErrorCode::KRB_AP_ERR_SKEW);
}

#[test]
fn mit_tgs_req_with_our_tgt_key_missing_is_refused() {
    // The nofast TGT under the main set's krbtgt keys: a different realm instance, so the TGT
    // does not open (31).
    let kdc = kdc_for("");
    let (folder, _) = FOLDERS[0];
    let req_bytes = read("nofast", folder, "02-tgs-req-nofast.der");
    let req = wire::decode::<TgsReq>(&req_bytes).unwrap();
    let (_, auth) = tgs_authenticator("nofast", &req);
    let reply = kdc.handle(&req_bytes, time_of(&auth.ctime, Some(&auth.cusec)));
    assert_eq!(ErrorCode(krb_error(&reply).error_code), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
}
