//! The RFC 4120 message layer against real MIT krb5 1.20 traffic (`tests/fixtures/mit-1.20/`, see its README and
//! NOTE): every captured message decodes as its type and re-encodes byte-exact, the facts of
//! `shared/INTEROP.md` hold, and every encrypted part opens with the key the README names.

use std::path::{Path, PathBuf};

use ktix::crypto::{checksum_type, usage};
use ktix::internals::wire::{
    self, msg_type, pa_type, ApRep, ApReq, AsRep, AsReq, Authenticator, Checksum, EncApRepPart, EncKdcRepPart,
    EncTicketPart, EncryptedData, EtypeInfo2, FlagBits, KdcReq, KrbError, MethodData, PaData, PaEncTsEnc, TgsRep,
    TgsReq,
};
use ktix::{Enctype, ErrorCode, Key, Keytab, Principal};
use zeroize::Zeroizing;

const REALM: &str = "KTIX.TEST";
const ALICE_PW: &[u8] = b"alice-pw";
const ALICE_SALT: &[u8] = b"KTIX.TESTalice";

/// The folders of captures: (set folder, enctype folder, enctype the client asked for).
const SETS: [(&str, Enctype); 2] = [
    ("aes256-cts-hmac-sha1-96", Enctype::Aes256CtsHmacSha196),
    ("aes256-cts-hmac-sha384-192", Enctype::Aes256CtsHmacSha384192),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mit-1.20")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A capture of one folder: `set` is "" for the main set or "nofast".
fn fixture(set: &str, folder: &str, name: &str) -> Vec<u8> {
    read(&root().join(set).join(folder).join(name))
}

/// The key of `name@KTIX.TEST` with `kvno` and `enctype` from a keytab file, through `ktix::Keytab`.
fn keytab_key(path: &Path, name: &str, kvno: u32, enctype: i32) -> Key {
    let keytab = Keytab::load(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let principal = Principal::parse(name, Some(REALM)).unwrap();
    let entry = keytab
        .find(&principal, Some(kvno), Some(Enctype::from_i32(enctype).unwrap()))
        .unwrap_or_else(|| panic!("{}: no key for {name} kvno {kvno} enctype {enctype}", path.display()));
    assert_eq!(entry.kvno, kvno);
    entry.key.key().expect("a supported enctype").clone()
}

fn krbtgt_key(set: &str, enctype: i32) -> Key {
    keytab_key(&root().join(set).join("krbtgt.keytab"), "krbtgt/KTIX.TEST", 1, enctype)
}

fn server_key(set: &str, enctype: i32) -> Key {
    keytab_key(&root().join(set).join("server.keytab"), "host/server.ktix.test", 2, enctype)
}

fn alice_key(enctype: Enctype) -> Key {
    Key::from_password(enctype, ALICE_PW, ALICE_SALT, None).unwrap()
}

fn session_key(k: &wire::EncryptionKey) -> Key {
    Key::from_parts(k.r#type, &k.value).unwrap()
}

fn open(key: &Key, usage: u32, ed: &EncryptedData) -> Zeroizing<Vec<u8>> {
    assert_eq!(ed.etype, key.enctype().id(), "etype of the EncryptedData");
    key.decrypt(usage, &ed.cipher).unwrap_or_else(|e| panic!("usage {usage}: {e:?}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Every file: type, tag, byte-exact re-encoding.
// ---------------------------------------------------------------------------------------------------------------

/// Decodes `bytes` as `T` and checks that it re-encodes to the same bytes, and that the library's
/// codec agrees with rasn's (the reference) both ways.
fn round_trip<T>(bytes: &[u8], what: &str) -> T
where
    T: wire::FromDer + wire::ToDer + rasn::Decode + rasn::Encode + PartialEq + std::fmt::Debug,
{
    let v: T = wire::decode(bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let again = wire::encode(&v).unwrap();
    assert!(again == bytes, "{what}: re-encoding differs ({} vs {} bytes)", again.len(), bytes.len());
    assert_eq!(rasn::der::decode::<T>(bytes).unwrap(), v, "{what}: rasn decodes another value");
    assert_eq!(rasn::der::encode(&v).unwrap(), again, "{what}: rasn encodes other bytes");
    v
}

/// [`round_trip`] for an EncTicketPart, which the library also decodes straight into its own types: that
/// path accepts it too and gives the same values.
fn ticket_part(bytes: &[u8], what: &str) -> EncTicketPart {
    assert_eq!(wire::enc_ticket_part_paths_agree(bytes), Ok(true), "{what}");
    round_trip(bytes, what)
}

/// [`round_trip`] for an Authenticator, which the library also decodes straight into its own types: that
/// path accepts it too and gives the same values.
fn authenticator(bytes: &[u8], what: &str) -> Authenticator {
    assert_eq!(wire::authenticator_paths_agree(bytes), Ok(true), "{what}");
    round_trip(bytes, what)
}

/// [`round_trip`] for an AP-REQ, which the library also decodes borrowed (`wire::decode_ap_req`, as the TGS,
/// the acceptor, GSS and kpasswd do): that path accepts it too and gives the same values.
fn ap_req(bytes: &[u8], what: &str) -> ApReq {
    assert_eq!(wire::ap_req_paths_agree(bytes), Ok(true), "{what}");
    round_trip(bytes, what)
}

/// Tries `bytes` with every message decoder; returns the APPLICATION numbers of those that accept it.
fn accepted_by(bytes: &[u8]) -> Vec<u8> {
    let mut ok = Vec::new();
    let mut check = |tag: u8, r: bool| {
        if r {
            ok.push(tag)
        }
    };
    check(msg_type::AS_REQ, wire::decode::<AsReq>(bytes).is_ok());
    check(msg_type::AS_REP, wire::decode::<AsRep>(bytes).is_ok());
    check(msg_type::TGS_REQ, wire::decode::<TgsReq>(bytes).is_ok());
    check(msg_type::TGS_REP, wire::decode::<TgsRep>(bytes).is_ok());
    check(msg_type::AP_REQ, wire::decode::<ApReq>(bytes).is_ok());
    check(msg_type::AP_REP, wire::decode::<ApRep>(bytes).is_ok());
    check(msg_type::KRB_CRED, wire::decode::<wire::KrbCred>(bytes).is_ok());
    check(msg_type::KRB_ERROR, wire::decode::<KrbError>(bytes).is_ok());
    ok
}

fn all_fixture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            all_fixture_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "der") {
            out.push(p);
        }
    }
}

/// The message type a capture holds, from its file name.
fn expected_type(name: &str) -> u8 {
    let kinds = [
        ("-as-req", msg_type::AS_REQ),
        ("-krb-error", msg_type::KRB_ERROR),
        ("-as-rep", msg_type::AS_REP),
        ("-tgs-req", msg_type::TGS_REQ),
        ("-tgs-rep", msg_type::TGS_REP),
        ("-ap-req", msg_type::AP_REQ),
        ("-ap-rep", msg_type::AP_REP),
    ];
    kinds.iter().find(|(k, _)| name.contains(k)).unwrap_or_else(|| panic!("unknown fixture {name}")).1
}

#[test]
fn every_fixture_decodes_as_its_type_and_re_encodes_exactly() {
    let mut files = Vec::new();
    all_fixture_files(&root(), &mut files);
    files.sort();
    // main: 8 + 6, nofast: 2 × (6 + 2 before-relay).
    assert_eq!(files.len(), 30, "{files:?}");
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let what = path.strip_prefix(root()).unwrap().display().to_string();
        let bytes = read(path);
        let t = expected_type(name);
        assert_eq!(wire::message_tag(&bytes), Some(t), "{what}: message_tag");
        assert_eq!(accepted_by(&bytes), [t], "{what}: exactly one decoder accepts it");
        let mtype = |m: &rasn::types::Integer| wire::int_value(m, "msg-type").unwrap();
        match t {
            msg_type::AS_REQ => {
                assert_eq!(wire::as_req_paths_agree(&bytes), Ok(true), "{what}");
                let m: AsReq = round_trip(&bytes, &what);
                assert_eq!(mtype(&m.0.msg_type), 10);
                wire::check_header(&m.0.pvno, &m.0.msg_type, t).unwrap();
                check_req_body(&bytes, &m.0, &what);
            }
            msg_type::TGS_REQ => {
                assert_eq!(wire::tgs_req_paths_agree(&bytes), Ok(true), "{what}");
                let m: TgsReq = round_trip(&bytes, &what);
                wire::check_header(&m.0.pvno, &m.0.msg_type, t).unwrap();
                check_req_body(&bytes, &m.0, &what);
            }
            msg_type::AS_REP => {
                let m: AsRep = round_trip(&bytes, &what);
                wire::check_header(&m.0.pvno, &m.0.msg_type, t).unwrap();
                assert!(wire::req_body_bytes(&bytes).is_err(), "{what}: req_body_bytes of a reply");
            }
            msg_type::TGS_REP => {
                let m: TgsRep = round_trip(&bytes, &what);
                wire::check_header(&m.0.pvno, &m.0.msg_type, t).unwrap();
            }
            msg_type::AP_REQ => {
                let m: ApReq = ap_req(&bytes, &what);
                wire::check_header(&m.pvno, &m.msg_type, t).unwrap();
            }
            msg_type::AP_REP => {
                let m: ApRep = round_trip(&bytes, &what);
                wire::check_header(&m.pvno, &m.msg_type, t).unwrap();
            }
            msg_type::KRB_ERROR => {
                let m: KrbError = round_trip(&bytes, &what);
                wire::check_header(&m.pvno, &m.msg_type, t).unwrap();
            }
            _ => unreachable!(),
        }
        // A message given to a decoder of another type is refused as malformed.
        if t != msg_type::TGS_REQ {
            assert_eq!(wire::decode::<TgsReq>(&bytes).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
        }
        if t != msg_type::AS_REQ {
            assert_eq!(wire::decode::<AsReq>(&bytes).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
        }
    }
}

/// `req_body_bytes` is the re-encoded req-body and a sub-slice of the request.
fn check_req_body(bytes: &[u8], req: &KdcReq, what: &str) {
    let body = wire::req_body_bytes(bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(body, wire::encode(&req.req_body).unwrap(), "{what}: req_body_bytes vs re-encoded body");
    let range = bytes.as_ptr_range();
    assert!(range.start <= body.as_ptr() && body.as_ptr_range().end <= range.end, "{what}: not a sub-slice");
    let at = body.as_ptr() as usize - bytes.as_ptr() as usize;
    assert_eq!(&bytes[at..at + body.len()], body);
    assert_eq!(at + body.len(), bytes.len(), "{what}: req-body is the last field");
}

// ---------------------------------------------------------------------------------------------------------------
// AS exchange.
// ---------------------------------------------------------------------------------------------------------------

fn pa_types(padata: &Option<Vec<PaData>>) -> Vec<i32> {
    padata.as_ref().map(|p| p.iter().map(|d| d.r#type).collect()).unwrap_or_default()
}

/// Every (set, folder, enctype) of the AS captures.
fn as_sets() -> Vec<(&'static str, &'static str, Enctype)> {
    let mut v = Vec::new();
    for set in ["", "nofast"] {
        for (folder, e) in SETS {
            v.push((set, folder, e));
        }
    }
    v
}

#[test]
fn krb_error_preauth_required() {
    let mut cases: Vec<(String, Vec<u8>, Vec<i32>)> = Vec::new();
    for (set, folder, _) in as_sets() {
        let want = if set.is_empty() { vec![136, 19, 2, 133] } else { vec![19, 2, 133] };
        cases.push((format!("{set}/{folder}"), fixture(set, folder, "00-krb-error-preauth-required.der"), want));
        if set == "nofast" {
            let before = fixture(set, &format!("{folder}/before-relay"), "00-krb-error-preauth-required.der");
            cases.push((format!("{set}/{folder}/before-relay"), before, vec![136, 19, 2, 133]));
        }
    }
    for (what, bytes, want_types) in cases {
        let err: KrbError = wire::decode(&bytes).unwrap();
        let enctype = if what.contains("sha384") { 20 } else { 18 };
        assert_eq!(err.error_code, 25, "{what}: KDC_ERR_PREAUTH_REQUIRED");
        assert_eq!(err.error_code, ErrorCode::KDC_ERR_PREAUTH_REQUIRED.code());
        assert_eq!(wire::kstring_text(err.e_text.as_ref().unwrap()), "NEEDED_PREAUTH", "{what}");
        assert_eq!(wire::kstring_text(&err.realm), REALM);
        assert_eq!(err.sname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["krbtgt", REALM]);
        assert_eq!(err.cname.as_ref().unwrap().string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);
        wire::micros(&err.susec).unwrap();

        let e_data = err.e_data.as_ref().expect("e-data");
        let methods: MethodData = round_trip(e_data, &what);
        let methods = Some(methods);
        assert_eq!(
            methods.iter().flatten().map(|p| p.r#type).collect::<Vec<_>>(),
            want_types,
            "{what}: METHOD-DATA types"
        );
        let info = wire::find_padata(&methods, pa_type::ETYPE_INFO2).expect("PA-ETYPE-INFO2");
        let info: EtypeInfo2 = round_trip(&info.value, &what);
        assert_eq!(info.len(), 1, "{what}: one ETYPE-INFO2 entry");
        assert_eq!(info[0].etype, enctype);
        assert_eq!(info[0].salt.as_ref().unwrap().as_bytes(), ALICE_SALT);
        assert!(info[0].s2kparams.is_none(), "{what}: default iteration count, no s2kparams");
        let ts = wire::find_padata(&methods, pa_type::ENC_TIMESTAMP).expect("PA-ENC-TIMESTAMP");
        assert!(ts.value.is_empty());
        let cookie = wire::find_padata(&methods, pa_type::FX_COOKIE).expect("PA-FX-COOKIE");
        assert_eq!(&cookie.value[..], b"MIT");
        if let Some(fast) = wire::find_padata(&methods, pa_type::FX_FAST) {
            assert!(fast.value.is_empty());
        }
    }
}

#[test]
fn as_requests_and_pa_enc_timestamp() {
    for (set, folder, enctype) in as_sets() {
        let what = format!("{set}/{folder}");
        let first: AsReq = wire::decode(&fixture(set, folder, "00-as-req-no-preauth.der")).unwrap();
        assert_eq!(pa_types(&first.0.padata), [pa_type::AS_FRESHNESS, pa_type::REQ_ENC_PA_REP], "{what}");
        assert!(first.0.padata.as_ref().unwrap().iter().all(|p| p.value.is_empty()));
        assert_eq!(first.0.req_body.etype, [enctype.id()], "{what}: the one enctype asked for");
        let names = |n: &Option<wire::PrincipalName>| {
            n.as_ref().unwrap().string.iter().map(wire::kstring_text).collect::<Vec<_>>()
        };
        assert_eq!(names(&first.0.req_body.cname), ["alice"]);
        assert_eq!(names(&first.0.req_body.sname), ["krbtgt", REALM]);
        let opts = wire::Flags::from_bits(&first.0.req_body.kdc_options.0);
        assert!(opts.has(wire::kdc_options::RENEWABLE_OK), "{what}: {opts:?}");

        let err: KrbError = wire::decode(&fixture(set, folder, "00-krb-error-preauth-required.der")).unwrap();
        let second_bytes = fixture(set, folder, "01-as-req-preauth.der");
        let second: AsReq = wire::decode(&second_bytes).unwrap();
        let types = pa_types(&second.0.padata);
        for t in [pa_type::ENC_TIMESTAMP, pa_type::FX_COOKIE, pa_type::AS_FRESHNESS, pa_type::REQ_ENC_PA_REP] {
            assert!(types.contains(&t), "{what}: {t} in {types:?}");
        }
        assert_eq!(&wire::find_padata(&second.0.padata, pa_type::FX_COOKIE).unwrap().value[..], b"MIT");

        let pa = wire::find_padata(&second.0.padata, pa_type::ENC_TIMESTAMP).unwrap();
        let ed: EncryptedData = round_trip(&pa.value, &what);
        let plain = open(&alice_key(enctype), usage::PA_ENC_TIMESTAMP, &ed);
        let ts: PaEncTsEnc = round_trip(&plain, &what);
        let t = wire::time_from(&ts.patimestamp).unix();
        let stime = wire::time_from(&err.stime).unix();
        assert!((t - stime).abs() < 300, "{what}: client time {t} vs KDC time {stime}");
        wire::micros(ts.pausec.as_ref().unwrap()).unwrap();
        // The wrong usage does not open it.
        assert_eq!(
            alice_key(enctype).decrypt(usage::AS_REP_ENC_PART, &ed.cipher).unwrap_err().code(),
            ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
        );
    }
}

/// What the AS exchange of one folder yields: the TGT and its session key.
struct Tgt {
    ticket: wire::Ticket,
    session: Key,
}

fn check_as_rep(set: &str, folder: &str, enctype: Enctype) -> Tgt {
    let what = format!("{set}/{folder}");
    let req_bytes = fixture(set, folder, "01-as-req-preauth.der");
    let req: AsReq = wire::decode(&req_bytes).unwrap();
    let rep: AsRep = wire::decode(&fixture(set, folder, "01-as-rep.der")).unwrap();
    let rep = rep.0;
    assert_eq!(pa_types(&rep.padata), [pa_type::ETYPE_INFO2], "{what}");
    let info: EtypeInfo2 = round_trip(&wire::find_padata(&rep.padata, pa_type::ETYPE_INFO2).unwrap().value, &what);
    assert_eq!(info[0].etype, enctype.id());
    assert_eq!(info[0].salt.as_ref().unwrap().as_bytes(), ALICE_SALT);
    assert_eq!(wire::kstring_text(&rep.crealm), REALM);
    assert_eq!(rep.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);

    // enc-part: alice's key, usage 3, EncTGSRepPart [26] although this is an AS reply.
    let alice = alice_key(enctype);
    let plain = open(&alice, usage::AS_REP_ENC_PART, &rep.enc_part);
    assert_eq!(plain[0], 0x7a, "{what}: [APPLICATION 26]");
    let (part, tag): (EncKdcRepPart, u8) = wire::decode_enc_kdc_rep_part(&plain).unwrap();
    assert_eq!(tag, msg_type::ENC_TGS_REP_PART, "{what}");
    assert_eq!(wire::encode(&wire::EncTgsRepPart(part.clone())).unwrap(), &plain[..], "{what}: re-encodes exactly");
    assert!(wire::decode::<wire::EncAsRepPart>(&plain).is_err(), "{what}: not [25]");
    assert_eq!(part.nonce, req.0.req_body.nonce, "{what}: nonce");
    assert_eq!(part.key.r#type, enctype.id(), "{what}: session key enctype");
    assert_eq!(wire::kstring_text(&part.srealm), REALM);
    assert_eq!(part.sname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["krbtgt", REALM]);
    let flags = wire::Flags::from_bits(&part.flags.0);
    assert!(flags.has(wire::ticket_flags::ENC_PA_REP), "{what}: {flags:?}");
    assert!(flags.has(wire::ticket_flags::INITIAL) && flags.has(wire::ticket_flags::PRE_AUTHENT), "{what}");
    assert_eq!(pa_types(&part.encrypted_pa_data), [pa_type::REQ_ENC_PA_REP, pa_type::FX_FAST], "{what}");
    // The PA-REQ-ENC-PA-REP checksum covers the AS-REQ bytes as sent, in the reply key, usage 56.
    let ck: Checksum =
        round_trip(&wire::find_padata(&part.encrypted_pa_data, pa_type::REQ_ENC_PA_REP).unwrap().value, &what);
    alice.verify_checksum(usage::AS_REQ, ck.r#type, &req_bytes, &ck.checksum).unwrap();
    assert!(alice.verify_checksum(usage::AS_REQ, ck.r#type, &req_bytes[1..], &ck.checksum).is_err());

    // The TGT: always type 18, the realm's krbtgt key (kvno 1), usage 2.
    let ticket = rep.ticket;
    assert_eq!(ticket.enc_part.etype, 18, "{what}");
    assert_eq!(ticket.enc_part.kvno, Some(1), "{what}");
    let tkt_plain = open(&krbtgt_key(set, 18), usage::TICKET, &ticket.enc_part);
    let etp: EncTicketPart = ticket_part(&tkt_plain, &what);
    assert_eq!(etp.key, part.key, "{what}: ticket session key = reply session key");
    assert_eq!(wire::kstring_text(&etp.crealm), REALM);
    assert_eq!(etp.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);
    assert_eq!(etp.flags, part.flags, "{what}: same flags in ticket and reply");
    assert_eq!(etp.end_time, part.end_time);
    assert_eq!(etp.auth_time, part.auth_time);
    // The TGT does not open with the wrong set's krbtgt key.
    let other = if set.is_empty() { "nofast" } else { "" };
    assert!(krbtgt_key(other, 18).decrypt(usage::TICKET, &ticket.enc_part.cipher).is_err());
    Tgt { ticket, session: session_key(&part.key) }
}

#[test]
fn as_reps_open_with_alice_and_krbtgt() {
    for (set, folder, enctype) in as_sets() {
        let tgt = check_as_rep(set, folder, enctype);
        assert_eq!(tgt.session.enctype(), enctype);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// TGS exchange.
// ---------------------------------------------------------------------------------------------------------------

/// Checks a TGS-REQ's PA-TGS-REQ against the TGT; returns the authenticator subkey.
fn check_tgs_req(bytes: &[u8], tgt: &Tgt, what: &str) -> (TgsReq, Key) {
    let req: TgsReq = wire::decode(bytes).unwrap();
    let pa = wire::find_padata(&req.0.padata, pa_type::TGS_REQ).expect("PA-TGS-REQ");
    let ap: ApReq = ap_req(&pa.value, what);
    wire::check_header(&ap.pvno, &ap.msg_type, msg_type::AP_REQ).unwrap();
    assert_eq!(ap.ticket, tgt.ticket, "{what}: PA-TGS-REQ carries the AS-REP's TGT");
    let plain = open(&tgt.session, usage::TGS_REQ_AUTH, &ap.authenticator);
    let auth: Authenticator = authenticator(&plain, what);
    assert_eq!(wire::int_value(&auth.authenticator_vno, "vno").unwrap(), 5);
    assert_eq!(auth.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);
    assert!(auth.seq_number.is_none(), "{what}: no seq-number");
    let subkey = auth.subkey.as_ref().expect("subkey");
    assert_eq!(subkey.r#type, tgt.session.enctype().id(), "{what}: subkey enctype");

    // Checksum: usage 6, TGT session key, over the req-body bytes as received.
    let ck = auth.cksum.as_ref().expect("authenticator checksum");
    assert_eq!(ck.r#type, tgt.session.enctype().checksum_type(), "{what}");
    let body = wire::req_body_bytes(bytes).unwrap();
    tgt.session.verify_checksum(usage::TGS_REQ_AUTH_CKSUM, ck.r#type, body, &ck.checksum).unwrap();
    let e = tgt.session.verify_checksum(usage::AP_REQ_AUTH_CKSUM, ck.r#type, body, &ck.checksum).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    let names =
        |n: &Option<wire::PrincipalName>| n.as_ref().unwrap().string.iter().map(wire::kstring_text).collect::<Vec<_>>();
    assert_eq!(names(&req.0.req_body.sname), ["host", "server.ktix.test"]);
    (req, session_key(subkey))
}

#[test]
fn tgs_exchange_without_fast() {
    for (folder, enctype) in SETS {
        let what = format!("nofast/{folder}");
        let tgt = check_as_rep("nofast", folder, enctype);
        let req_bytes = fixture("nofast", folder, "02-tgs-req-nofast.der");
        let (req, subkey) = check_tgs_req(&req_bytes, &tgt, &what);
        assert_eq!(pa_types(&req.0.padata), [pa_type::TGS_REQ], "{what}: PA-TGS-REQ only");

        // The same request before the relay removed PA-FX-FAST: identical but for that one entry.
        let before_bytes = fixture("nofast", &format!("{folder}/before-relay"), "02-tgs-req-nofast.der");
        let mut before: TgsReq = wire::decode(&before_bytes).unwrap();
        assert_eq!(pa_types(&before.0.padata), [pa_type::TGS_REQ, pa_type::FX_FAST], "{what}");
        assert_eq!(wire::req_body_bytes(&before_bytes).unwrap(), wire::req_body_bytes(&req_bytes).unwrap());
        before.0.padata.as_mut().unwrap().retain(|p| p.r#type != pa_type::FX_FAST);
        assert_eq!(before, req, "{what}: only PA-FX-FAST differs");
        assert_eq!(wire::encode(&before).unwrap(), req_bytes);
        let err_before: KrbError =
            wire::decode(&fixture("nofast", &format!("{folder}/before-relay"), "00-krb-error-preauth-required.der"))
                .unwrap();
        let mut err_before = err_before;
        let methods: MethodData = wire::decode(err_before.e_data.as_ref().unwrap()).unwrap();
        let kept: MethodData = methods.into_iter().filter(|p| p.r#type != pa_type::FX_FAST).collect();
        err_before.e_data = Some(wire::octets(wire::encode(&kept).unwrap()));
        assert_eq!(
            wire::encode(&err_before).unwrap(),
            fixture("nofast", folder, "00-krb-error-preauth-required.der"),
            "{what}: the KRB-ERROR differs only in PA-FX-FAST"
        );

        // The reply: no padata, enc-part in the subkey with usage 9, EncTGSRepPart.
        let rep: TgsRep = wire::decode(&fixture("nofast", folder, "02-tgs-rep-nofast.der")).unwrap();
        assert!(rep.0.padata.is_none(), "{what}: no padata");
        let plain = open(&subkey, usage::TGS_REP_ENC_PART_SUBKEY, &rep.0.enc_part);
        assert!(tgt.session.decrypt(usage::TGS_REP_ENC_PART_SESSION, &rep.0.enc_part.cipher).is_err());
        let (part, tag) = wire::decode_enc_kdc_rep_part(&plain).unwrap();
        assert_eq!(tag, msg_type::ENC_TGS_REP_PART);
        assert_eq!(wire::encode(&wire::EncTgsRepPart(part.clone())).unwrap(), &plain[..]);
        assert_eq!(part.nonce, req.0.req_body.nonce, "{what}: nonce");
        assert_eq!(part.key.r#type, enctype.id(), "{what}: service session key enctype");
        assert_eq!(part.sname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["host", "server.ktix.test"]);

        // The service ticket: type 18 server key, kvno 2.
        assert_eq!(rep.0.ticket.enc_part.etype, 18);
        assert_eq!(rep.0.ticket.enc_part.kvno, Some(2));
        let etp: EncTicketPart =
            ticket_part(&open(&server_key("nofast", 18), usage::TICKET, &rep.0.ticket.enc_part), &what);
        assert_eq!(etp.key, part.key, "{what}: ticket session key = reply session key");
        assert_eq!(etp.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);
    }
}

#[test]
fn tgs_exchange_with_fast() {
    for (folder, enctype) in SETS {
        let what = format!("main/{folder}");
        let tgt = check_as_rep("", folder, enctype);
        let req_bytes = fixture("", folder, "02-tgs-req.der");
        let (req, subkey) = check_tgs_req(&req_bytes, &tgt, &what);
        assert_eq!(pa_types(&req.0.padata), [pa_type::TGS_REQ, pa_type::FX_FAST], "{what}");

        let rep: TgsRep = wire::decode(&fixture("", folder, "02-tgs-rep.der")).unwrap();
        assert_eq!(pa_types(&rep.0.padata), [pa_type::FX_FAST], "{what}");
        // FAST: the enc-part is in the strengthened reply key, so neither the subkey nor the session key opens it.
        assert!(subkey.decrypt(usage::TGS_REP_ENC_PART_SUBKEY, &rep.0.enc_part.cipher).is_err());
        assert!(tgt.session.decrypt(usage::TGS_REP_ENC_PART_SESSION, &rep.0.enc_part.cipher).is_err());
        // The service ticket still opens with the server key.
        let etp: EncTicketPart = ticket_part(&open(&server_key("", 18), usage::TICKET, &rep.0.ticket.enc_part), &what);
        assert_eq!(etp.key.r#type, enctype.id(), "{what}: session key enctype inside a type-18 ticket");
        assert_eq!(etp.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AP exchange (GSS-API).
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn ap_exchange_gss() {
    let folder = SETS[0].0;
    let req_bytes = fixture("", folder, "03-ap-req-gss.der");
    let ap: ApReq = ap_req(&req_bytes, "03-ap-req-gss");
    let opts = wire::Flags::from_bits(&ap.ap_options.0);
    assert!(opts.has(wire::ap_options::MUTUAL_REQUIRED), "{opts:?}");
    assert_eq!(ap.ticket.enc_part.etype, 18);
    assert_eq!(ap.ticket.enc_part.kvno, Some(2));
    assert_eq!(ap.ticket.sname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["host", "server.ktix.test"]);
    let etp: EncTicketPart = ticket_part(&open(&server_key("", 18), usage::TICKET, &ap.ticket.enc_part), "ticket");
    let session = session_key(&etp.key);

    let auth: Authenticator = authenticator(&open(&session, usage::AP_REQ_AUTH, &ap.authenticator), "authenticator");
    let ck = auth.cksum.as_ref().expect("checksum");
    assert_eq!(ck.r#type, 0x8003);
    assert_eq!(ck.r#type, checksum_type::GSSAPI);
    // RFC 4121 §4.1.1: Lgth = 16 (little-endian), the channel-binding hash, then 4 bytes of flags.
    assert!(ck.checksum.len() >= 24);
    assert_eq!(&ck.checksum[..4], &[16, 0, 0, 0]);
    assert!(auth.subkey.is_some(), "subkey");
    assert!(auth.seq_number.is_some(), "seq-number");
    assert_eq!(auth.cname.string.iter().map(wire::kstring_text).collect::<Vec<_>>(), ["alice"]);

    let rep: ApRep = round_trip(&fixture("", folder, "03-ap-rep.der"), "03-ap-rep");
    let part: EncApRepPart = round_trip(&open(&session, usage::AP_REP_ENC_PART, &rep.enc_part), "EncAPRepPart");
    assert_eq!(part.ctime, auth.ctime, "ctime");
    assert_eq!(part.cusec, auth.cusec, "cusec");
    assert!(part.subkey.is_some(), "AP-REP subkey");
    wire::micros(&part.cusec).unwrap();
    assert!(session.decrypt(usage::AP_REQ_AUTH, &rep.enc_part.cipher).is_err(), "wrong usage");
}
