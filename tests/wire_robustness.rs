//! Every decoder of the message layer against mutations of valid encodings: truncations, bit flips, trailing
//! bytes, wrong outer tags, lengths claiming 2^31 bytes, non-minimal and indefinite lengths, deep nesting.
//!
//! The valid encodings are MIT krb5 1.20 captures (`tests/fixtures/mit-1.20/`), their decrypted parts, and values
//! encoded here (KRB-CRED and EncKrbCredPart). Every call runs under `catch_unwind`; a panic fails the test, as
//! does any decoder error whose code is not `KTIX_ERR_MALFORMED`. A bit flip that still decodes is allowed (DER
//! absorbs some, e.g. in OCTET STRING contents) and counted. Run with `--nocapture` to see the counts.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ktix::crypto::usage;
use ktix::internals::wire::{
    self, ApRep, ApReq, AsRep, AsReq, Authenticator, AuthorizationData, AuthorizationDataValue, Checksum, EncApRepPart,
    EncAsRepPart, EncKrbCredPart, EncTgsRepPart, EncTicketPart, EncryptedData, EncryptionKey, EtypeInfo2, HostAddress,
    KrbCred, KrbCredInfo, KrbError, MethodData, PaEncTsEnc, PrincipalName, TgsRep, TgsReq, Ticket,
};
use ktix::{Enctype, Error, ErrorCode, Key, Keytab, Principal, Time};

// ---------------------------------------------------------------------------------------------------------------
// Decoders under test.
// ---------------------------------------------------------------------------------------------------------------

/// What one decoder call did.
#[derive(Debug)]
enum Outcome {
    /// Refused, with this error.
    Rejected(Error),
    /// Decoded; re-encoding gives the input back.
    Canonical,
    /// Decoded; re-encoding gives these other bytes (the decoder accepted a non-DER form).
    NonCanonical(Vec<u8>),
    /// Decoded, but the value could not be encoded again.
    EncodeFailed(Error),
}

type Decoder = fn(&[u8]) -> Outcome;

fn outcome<T>(decoded: ktix::Result<T>, input: &[u8], encode: impl FnOnce(&T) -> ktix::Result<Vec<u8>>) -> Outcome {
    match decoded {
        Err(e) => Outcome::Rejected(e),
        Ok(v) => match encode(&v) {
            Ok(again) if again == input => Outcome::Canonical,
            Ok(again) => Outcome::NonCanonical(again),
            Err(e) => Outcome::EncodeFailed(e),
        },
    }
}

/// `ktix::internals::wire::decode::<T>`, then `ktix::internals::wire::encode` on success. The
/// library's codec must agree with rasn's (the reference) on every input: the same acceptance,
/// the same value, the same re-encoding.
fn dec<T>(b: &[u8]) -> Outcome
where
    T: wire::FromDer + wire::ToDer + rasn::Decode + rasn::Encode + PartialEq + std::fmt::Debug,
{
    let ours = wire::decode::<T>(b);
    match (&ours, rasn::der::decode::<T>(b)) {
        (Ok(v), Ok(r)) => {
            assert_eq!(v, &r, "the library and rasn decode different values from {b:02x?}");
            assert_eq!(wire::encode(v).ok(), rasn::der::encode(v).ok(), "the library and rasn encode differently");
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("the library accepts what rasn refuses ({e}): {b:02x?}"),
        (Err(e), Ok(_)) => panic!("the library refuses what rasn accepts ({e:?}): {b:02x?}"),
    }
    outcome(ours, b, wire::encode)
}

/// `$name` decodes as the library's hot paths do, straight into its own types or borrowing from
/// the input (`decode_enc_ticket_part` as a TGS and an acceptor open tickets, `decode_authenticator`
/// as the AP-REQ verification opens authenticators, `decode_ap_req` as the TGS, the acceptor, GSS
/// and kpasswd read AP-REQs, `decode_tgs_req`/`decode_as_req` as the KDC reads KDC-REQs,
/// `decode_encrypted_data` as it reads PA-ENC-TIMESTAMP): `$agree` checks that path
/// against the rasn-typed decoding of `$T` and its conversions, and the outcome is that of the
/// rasn-typed decoding.
macro_rules! direct {
    ($name:ident, $agree:path, $T:ty) => {
        fn $name(b: &[u8]) -> Outcome {
            if let Err(why) = $agree(b) {
                panic!("{why}: {b:02x?}");
            }
            dec::<$T>(b)
        }
    };
}
direct!(dec_enc_ticket_part_direct, wire::enc_ticket_part_paths_agree, EncTicketPart);
direct!(dec_authenticator_direct, wire::authenticator_paths_agree, Authenticator);
direct!(dec_ap_req_direct, wire::ap_req_paths_agree, ApReq);
direct!(dec_tgs_req_direct, wire::tgs_req_paths_agree, TgsReq);
direct!(dec_as_req_direct, wire::as_req_paths_agree, AsReq);
direct!(dec_encrypted_data_direct, wire::encrypted_data_paths_agree, EncryptedData);

/// `decode_enc_kdc_rep_part`, re-encoded under the tag it reported.
fn dec_enc_kdc_rep_part(b: &[u8]) -> Outcome {
    outcome(wire::decode_enc_kdc_rep_part(b), b, |(part, tag)| match *tag {
        wire::msg_type::ENC_AS_REP_PART => wire::encode(&EncAsRepPart(part.clone())),
        _ => wire::encode(&EncTgsRepPart(part.clone())),
    })
}

/// `req_body_bytes`: "canonical" when it returns a sub-slice that ends the input, as a KDC-REQ's last field does.
fn dec_req_body(b: &[u8]) -> Outcome {
    match wire::req_body_bytes(b) {
        Err(e) => Outcome::Rejected(e),
        Ok(body) => {
            let r = b.as_ptr_range();
            let inside = r.start <= body.as_ptr() && body.as_ptr_range().end <= r.end;
            assert!(inside, "req_body_bytes returned bytes outside its input");
            Outcome::Canonical
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Valid inputs.
// ---------------------------------------------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mit-1.20")
}

fn fixture(rel: &str) -> Vec<u8> {
    let p = root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The key of `name` (kvno, enctype) from a keytab file, through `ktix::Keytab`.
fn keytab_key(path: &Path, name: &str, kvno: u32, enctype: Enctype) -> Key {
    let keytab = Keytab::load(path.to_str().unwrap()).unwrap();
    let principal = Principal::parse(name, None).unwrap();
    keytab.find(&principal, Some(kvno), Some(enctype)).and_then(|e| e.key.key()).expect("key in keytab").clone()
}

fn open(key: &Key, usage: u32, ed: &EncryptedData) -> Vec<u8> {
    key.decrypt(usage, &ed.cipher).unwrap().to_vec()
}

/// One decoder and the valid encodings it is fed mutations of.
struct Case {
    name: &'static str,
    decode: Decoder,
    /// Single-byte outer tag (APPLICATION n constructed, or SEQUENCE) the decoder expects.
    samples: Vec<Vec<u8>>,
}

fn cases() -> Vec<Case> {
    const SHA1: &str = "aes256-cts-hmac-sha1-96";
    let f = |name: &str| fixture(&format!("{SHA1}/{name}"));
    let nf = |name: &str| fixture(&format!("nofast/{SHA1}/{name}"));

    let as_req_0 = f("00-as-req-no-preauth.der");
    let as_req_1 = f("01-as-req-preauth.der");
    let krb_error = f("00-krb-error-preauth-required.der");
    let as_rep = f("01-as-rep.der");
    let tgs_req = nf("02-tgs-req-nofast.der");
    let tgs_rep = nf("02-tgs-rep-nofast.der");
    let ap_req = f("03-ap-req-gss.der");
    let ap_rep = f("03-ap-rep.der");

    // Decrypted parts.
    let alice = Key::from_password(Enctype::Aes256CtsHmacSha196, b"alice-pw", b"KTIX.TESTalice", None).unwrap();
    let req1: AsReq = wire::decode(&as_req_1).unwrap();
    let pa_ts = wire::find_padata(&req1.0.padata, wire::pa_type::ENC_TIMESTAMP).unwrap().value.to_vec();
    let pa_ts_plain = open(&alice, usage::PA_ENC_TIMESTAMP, &wire::decode(&pa_ts).unwrap());
    let rep: AsRep = wire::decode(&as_rep).unwrap();
    let enc_tgs_rep_part = open(&alice, usage::AS_REP_ENC_PART, &rep.0.enc_part);
    let (part, _) = wire::decode_enc_kdc_rep_part(&enc_tgs_rep_part).unwrap();
    let enc_as_rep_part = wire::encode(&EncAsRepPart(part.clone())).unwrap();
    let krbtgt =
        keytab_key(&root().join("krbtgt.keytab"), "krbtgt/KTIX.TEST@KTIX.TEST", 1, Enctype::Aes256CtsHmacSha196);
    let tgt_part = open(&krbtgt, usage::TICKET, &rep.0.ticket.enc_part);
    // The TGS-REQ is from the nofast set, whose TGT session key comes from that set's AS-REP.
    let nf_rep: AsRep = wire::decode(&nf("01-as-rep.der")).unwrap();
    let (nf_part, _) =
        wire::decode_enc_kdc_rep_part(&open(&alice, usage::AS_REP_ENC_PART, &nf_rep.0.enc_part)).unwrap();
    let tgt_session = Key::from_parts(nf_part.key.r#type, &nf_part.key.value).unwrap();
    let tgs: TgsReq = wire::decode(&tgs_req).unwrap();
    let pa_tgs_bytes = wire::find_padata(&tgs.0.padata, wire::pa_type::TGS_REQ).unwrap().value.to_vec();
    let pa_tgs: ApReq = wire::decode(&pa_tgs_bytes).unwrap();
    let tgs_authenticator = open(&tgt_session, usage::TGS_REQ_AUTH, &pa_tgs.authenticator);
    let ap: ApReq = wire::decode(&ap_req).unwrap();
    // The TGS-REQ with every optional body field the capture lacks (cname, from, rtime, addresses,
    // enc-authorization-data, additional-tickets), for the borrowed decoding's checks of them.
    let mut full = tgs.clone();
    let b = &mut full.0.req_body;
    b.cname = Some(rep.0.cname.clone());
    b.from = Some(b.till.clone());
    b.rtime = Some(b.till.clone());
    b.addresses = Some(vec![HostAddress { addr_type: 2, address: wire::octets(vec![127, 0, 0, 1]) }]);
    b.enc_authorization_data = Some(rep.0.enc_part.clone());
    b.additional_tickets = Some(vec![rep.0.ticket.clone(), ap.ticket.clone()]);
    let tgs_req_full = wire::encode(&full).unwrap();
    let server =
        keytab_key(&root().join("server.keytab"), "host/server.ktix.test@KTIX.TEST", 2, Enctype::Aes256CtsHmacSha196);
    let svc_part_bytes = open(&server, usage::TICKET, &ap.ticket.enc_part);
    let svc_part: EncTicketPart = wire::decode(&svc_part_bytes).unwrap();
    let svc_session = Key::from_parts(svc_part.key.r#type, &svc_part.key.value).unwrap();
    let ap_authenticator = open(&svc_session, usage::AP_REQ_AUTH, &ap.authenticator);
    let aprep: ApRep = wire::decode(&ap_rep).unwrap();
    let enc_ap_rep_part = open(&svc_session, usage::AP_REP_ENC_PART, &aprep.enc_part);

    // Smaller structures, re-encoded from the captures.
    let err: KrbError = wire::decode(&krb_error).unwrap();
    let method_data = err.e_data.clone().unwrap().to_vec();
    let methods: MethodData = wire::decode(&method_data).unwrap();
    let etype_info2 = wire::find_padata(&Some(methods), wire::pa_type::ETYPE_INFO2).unwrap().value.to_vec();
    let ticket = wire::encode(&rep.0.ticket).unwrap();
    let sname = wire::encode(&rep.0.ticket.sname).unwrap();
    let enc_data = wire::encode(&rep.0.enc_part).unwrap();
    let auth: Authenticator = wire::decode(&ap_authenticator).unwrap();
    let gss_cksum = wire::encode(auth.cksum.as_ref().unwrap()).unwrap();
    let pa_149 = wire::find_padata(&part.encrypted_pa_data, wire::pa_type::REQ_ENC_PA_REP).unwrap().value.to_vec();
    let inner: AuthorizationData = vec![AuthorizationDataValue { r#type: 128, data: wire::octets(vec![0xab; 40]) }];
    let authz: AuthorizationData = vec![
        AuthorizationDataValue {
            r#type: wire::ad_type::IF_RELEVANT,
            data: wire::octets(wire::encode(&inner).unwrap()),
        },
        AuthorizationDataValue { r#type: -1, data: wire::octets(Vec::new()) },
    ];
    let mut authz_samples = vec![wire::encode(&authz).unwrap()];
    if let Some(ad) = &svc_part.authorization_data {
        authz_samples.push(wire::encode(ad).unwrap());
    }

    // KRB-CRED and EncKrbCredPart, built here and round-tripped.
    let (cred_part, cred) = krb_cred(&svc_part, &ap.ticket, &svc_session);

    let tickets_bytes = vec![ticket];
    vec![
        // Also decoded borrowed (dec_as_req_direct checks the two agree).
        Case { name: "AS-REQ", decode: dec_as_req_direct, samples: vec![as_req_0, as_req_1.clone()] },
        // Also decoded borrowed (dec_tgs_req_direct checks the two agree).
        Case { name: "TGS-REQ", decode: dec_tgs_req_direct, samples: vec![tgs_req.clone(), tgs_req_full] },
        Case { name: "AS-REP", decode: dec::<AsRep>, samples: vec![as_rep] },
        Case { name: "TGS-REP", decode: dec::<TgsRep>, samples: vec![tgs_rep] },
        Case { name: "EncKDCRepPart", decode: dec_enc_kdc_rep_part, samples: vec![enc_tgs_rep_part, enc_as_rep_part] },
        // Also decoded straight into the library's types (dec_enc_ticket_part_direct checks the two agree).
        Case { name: "EncTicketPart", decode: dec_enc_ticket_part_direct, samples: vec![tgt_part, svc_part_bytes] },
        Case { name: "Ticket", decode: dec::<Ticket>, samples: tickets_bytes },
        // Also decoded borrowed (dec_ap_req_direct checks the two agree); the second is the PA-TGS-REQ's.
        Case { name: "AP-REQ", decode: dec_ap_req_direct, samples: vec![ap_req, pa_tgs_bytes] },
        Case { name: "AP-REP", decode: dec::<ApRep>, samples: vec![ap_rep] },
        Case {
            name: "Authenticator",
            // Also decoded straight into the library's types (dec_authenticator_direct checks the two agree).
            decode: dec_authenticator_direct,
            samples: vec![ap_authenticator, tgs_authenticator],
        },
        Case { name: "EncAPRepPart", decode: dec::<EncApRepPart>, samples: vec![enc_ap_rep_part] },
        Case { name: "KRB-ERROR", decode: dec::<KrbError>, samples: vec![krb_error] },
        Case { name: "KRB-CRED", decode: dec::<KrbCred>, samples: vec![cred] },
        Case { name: "EncKrbCredPart", decode: dec::<EncKrbCredPart>, samples: vec![cred_part] },
        Case { name: "PA-ENC-TS-ENC", decode: dec::<PaEncTsEnc>, samples: vec![pa_ts_plain] },
        Case { name: "ETYPE-INFO2", decode: dec::<EtypeInfo2>, samples: vec![etype_info2] },
        Case { name: "METHOD-DATA", decode: dec::<MethodData>, samples: vec![method_data] },
        Case { name: "PrincipalName", decode: dec::<PrincipalName>, samples: vec![sname] },
        // Also decoded borrowed, as the KDC reads PA-ENC-TIMESTAMP (dec_encrypted_data_direct).
        Case { name: "EncryptedData", decode: dec_encrypted_data_direct, samples: vec![enc_data, pa_ts] },
        Case { name: "Checksum", decode: dec::<Checksum>, samples: vec![gss_cksum, pa_149] },
        Case { name: "AuthorizationData", decode: dec::<AuthorizationData>, samples: authz_samples },
        Case { name: "req_body_bytes", decode: dec_req_body, samples: vec![as_req_1, tgs_req] },
    ]
}

/// A KRB-CRED forwarding the AP-REQ's ticket (as a GSS initiator delegating it would), its EncKrbCredPart
/// sealed in the session key with usage 14. Both are checked to round-trip.
fn krb_cred(etp: &EncTicketPart, ticket: &Ticket, session: &Key) -> (Vec<u8>, Vec<u8>) {
    let t = |unix| wire::kerberos_time(Time::from_unix(unix));
    let info = KrbCredInfo {
        key: EncryptionKey { r#type: etp.key.r#type, value: etp.key.value.clone() },
        prealm: Some(etp.crealm.clone()),
        pname: Some(etp.cname.clone()),
        flags: Some(etp.flags.clone()),
        auth_time: Some(etp.auth_time.clone()),
        start_time: Some(t(1_764_000_000)),
        end_time: Some(etp.end_time.clone()),
        renew_till: Some(t(1_764_600_000)),
        srealm: Some(ticket.realm.clone()),
        sname: Some(ticket.sname.clone()),
        caddr: Some(vec![HostAddress { addr_type: HostAddress::IPV4, address: wire::octets(vec![127, 0, 0, 1]) }]),
    };
    let part = EncKrbCredPart {
        ticket_info: vec![info],
        nonce: Some(0x1234_5678),
        timestamp: Some(t(1_764_000_123)),
        usec: Some(wire::int(654_321)),
        sender_address: Some(HostAddress { addr_type: HostAddress::IPV4, address: wire::octets(vec![10, 0, 0, 1]) }),
        recipient_address: None,
    };
    let part_bytes = wire::encode(&part).unwrap();
    assert_eq!(wire::decode::<EncKrbCredPart>(&part_bytes).unwrap(), part);
    let cred = KrbCred {
        pvno: wire::int(5),
        msg_type: wire::int(i64::from(wire::msg_type::KRB_CRED)),
        tickets: vec![ticket.clone()],
        enc_part: EncryptedData {
            etype: session.enctype().id(),
            kvno: None,
            cipher: wire::octets(session.encrypt(usage::KRB_CRED_ENC_PART, &part_bytes).unwrap()),
        },
    };
    let cred_bytes = wire::encode(&cred).unwrap();
    let back: KrbCred = wire::decode(&cred_bytes).unwrap();
    assert_eq!(back, cred);
    assert_eq!(wire::encode(&back).unwrap(), cred_bytes);
    assert_eq!(wire::message_tag(&cred_bytes), Some(wire::msg_type::KRB_CRED));
    let opened = session.decrypt(usage::KRB_CRED_ENC_PART, &back.enc_part.cipher).unwrap();
    assert_eq!(&opened[..], &part_bytes[..]);
    (part_bytes, cred_bytes)
}

// ---------------------------------------------------------------------------------------------------------------
// A small DER tree, to rewrite one length while keeping every enclosing length right.
// ---------------------------------------------------------------------------------------------------------------

struct Node {
    tag: u8,
    /// Content bytes of a primitive node (empty when constructed).
    content: Vec<u8>,
    children: Vec<Node>,
}

fn parse_der(buf: &[u8]) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = buf[pos];
        assert_ne!(tag & 0x1f, 0x1f, "multi-byte tags do not occur in the samples");
        let first = buf[pos + 1];
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            (buf[pos + 2..pos + 2 + n].iter().fold(0usize, |a, &b| a << 8 | b as usize), 2 + n)
        };
        let content = &buf[pos + hdr..pos + hdr + len];
        nodes.push(if tag & 0x20 != 0 {
            Node { tag, content: Vec::new(), children: parse_der(content) }
        } else {
            Node { tag, content: content.to_vec(), children: Vec::new() }
        });
        pos += hdr + len;
    }
    nodes
}

/// (depth, tag of the parent) of every node, in pre-order.
fn node_places(nodes: &[Node], depth: usize, parent: u8, out: &mut Vec<(usize, u8)>) {
    for n in nodes {
        out.push((depth, parent));
        node_places(&n.children, depth + 1, n.tag, out);
    }
}

/// Is a node on the path `req_body_bytes` reads: the message, its SEQUENCE, the fields, the req-body SEQUENCE?
fn on_req_body_path((depth, parent): (usize, u8)) -> bool {
    depth <= 2 || (depth == 3 && parent == 0xa4)
}

/// How the target node's length is written.
#[derive(Clone, Copy, Debug)]
enum LenStyle {
    /// One length byte more than needed (`81 05`, or `82 00 90`).
    NonMinimal,
    /// Long form with leading zeros up to four bytes (`84 00 00 00 05`).
    PaddedTo4,
    /// `84 80 00 00 00`: 2^31 bytes, the content left as it is.
    Claims2Pow31,
    /// `84 ff ff ff ff`.
    ClaimsU32Max,
    /// `88 7f ff ff ff ff ff ff ff`: a length of 2^63 - 1.
    Claims2Pow63,
    /// BER indefinite length (`80` ... `00 00`); constructed nodes only.
    Indefinite,
}

fn minimal_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let b = (len as u64).to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

/// Serializes `nodes`, writing the length of pre-order node number `target` in `style` (`None`: plain DER).
fn write_der(nodes: &[Node], target: Option<(usize, LenStyle)>, counter: &mut usize, out: &mut Vec<u8>) {
    for n in nodes {
        let me = *counter;
        *counter += 1;
        let mut content = Vec::new();
        if n.tag & 0x20 != 0 {
            write_der(&n.children, target, counter, &mut content);
        } else {
            content.extend_from_slice(&n.content);
        }
        out.push(n.tag);
        let len = content.len();
        match target {
            Some((t, style)) if t == me => match style {
                LenStyle::NonMinimal => {
                    let mut m = Vec::new();
                    minimal_len(len, &mut m);
                    if m.len() == 1 {
                        out.extend_from_slice(&[0x81, m[0]]);
                    } else {
                        out.extend_from_slice(&[m[0] + 1, 0]);
                        out.extend_from_slice(&m[1..]);
                    }
                }
                LenStyle::PaddedTo4 => {
                    out.push(0x84);
                    out.extend_from_slice(&(len as u32).to_be_bytes());
                }
                LenStyle::Claims2Pow31 => out.extend_from_slice(&[0x84, 0x80, 0, 0, 0]),
                LenStyle::ClaimsU32Max => out.extend_from_slice(&[0x84, 0xff, 0xff, 0xff, 0xff]),
                LenStyle::Claims2Pow63 => {
                    out.extend_from_slice(&[0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                }
                LenStyle::Indefinite => {
                    out.push(0x80);
                    out.extend_from_slice(&content);
                    out.extend_from_slice(&[0, 0]);
                    continue;
                }
            },
            _ => minimal_len(len, out),
        }
        out.extend_from_slice(&content);
    }
}

fn rewrite(nodes: &[Node], target: Option<(usize, LenStyle)>) -> Vec<u8> {
    let mut out = Vec::new();
    write_der(nodes, target, &mut 0, &mut out);
    out
}

/// `depth` nested headers of `tag` (definite lengths, or indefinite with the end-of-contents octets), inside
/// an optional outer header.
fn nested(outer: Option<u8>, tag: u8, depth: usize, indefinite: bool) -> Vec<u8> {
    let mut body = Vec::new();
    if indefinite {
        for _ in 0..depth {
            body.extend_from_slice(&[tag, 0x80]);
        }
        body.resize(body.len() + 2 * depth, 0);
    } else {
        // Lengths from the inside out, then the headers written outermost first.
        let mut lens = Vec::with_capacity(depth);
        let mut len = 0usize;
        for _ in 0..depth {
            lens.push(len);
            let mut h = Vec::new();
            minimal_len(len, &mut h);
            len += 1 + h.len();
        }
        for &l in lens.iter().rev() {
            body.push(tag);
            minimal_len(l, &mut body);
        }
    }
    match outer {
        None => body,
        Some(t) => {
            let mut v = vec![t];
            minimal_len(body.len(), &mut v);
            v.extend_from_slice(&body);
            v
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------------------------------

/// What an input may do.
#[derive(Clone, Copy)]
enum Expect<'a> {
    /// Must be refused (truncations, trailing bytes, wrong tags, impossible lengths, deep nesting).
    Reject,
    /// May be refused; if it decodes, re-encoding must give exactly these bytes: a lenient decoder may accept a
    /// non-DER form (RFC 4120 §5.1.1 lets receivers accept BER) but must not change the meaning.
    RejectOrSame(&'a [u8]),
    /// Anything but a panic or a non-MALFORMED error (bit flips).
    Any,
}

#[derive(Default, Debug)]
struct Stats {
    calls: usize,
    rejected: usize,
    flips: usize,
    flips_absorbed: usize,
    flips_non_der: usize,
    length_rewrites: usize,
    length_rewrites_accepted: usize,
    req_body_calls: usize,
    req_body_refused_lenient: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.calls += o.calls;
        self.rejected += o.rejected;
        self.flips += o.flips;
        self.flips_absorbed += o.flips_absorbed;
        self.flips_non_der += o.flips_non_der;
        self.length_rewrites += o.length_rewrites;
        self.length_rewrites_accepted += o.length_rewrites_accepted;
        self.req_body_calls += o.req_body_calls;
        self.req_body_refused_lenient += o.req_body_refused_lenient;
    }
}

struct Runner<'a> {
    case: &'a Case,
    stats: Stats,
    failures: &'a mut Vec<String>,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

impl Runner<'_> {
    fn fail(&mut self, what: &str, why: impl std::fmt::Display, input: &[u8]) {
        let shown = if input.len() > 64 {
            format!("{}… ({} bytes)", hex::encode(&input[..64]), input.len())
        } else {
            hex::encode(input)
        };
        self.failures.push(format!("{}: {what}: {why} [input {shown}]", self.case.name));
    }

    /// Calls the decoder (and `req_body_bytes`) under `catch_unwind` and checks the outcome against `expect`.
    fn run(&mut self, input: &[u8], what: &str, expect: Expect) -> Option<Outcome> {
        self.stats.calls += 1;
        let decode = self.case.decode;
        let got = match catch_unwind(AssertUnwindSafe(|| decode(input))) {
            Ok(o) => o,
            Err(p) => {
                self.fail(what, format_args!("PANIC: {}", panic_text(&*p)), input);
                return None;
            }
        };
        self.check_req_body(input, what);
        match (&got, expect) {
            (Outcome::Rejected(e), _) => {
                self.stats.rejected += 1;
                if e.code() != ErrorCode::KTIX_ERR_MALFORMED {
                    self.fail(what, format_args!("error code {:?}: {}", e.code(), e.message()), input);
                }
            }
            (Outcome::EncodeFailed(e), _) => {
                self.fail(what, format_args!("decoded but cannot re-encode: {e:?}"), input)
            }
            (_, Expect::Reject) => self.fail(what, format_args!("accepted ({got:?}), must be refused"), input),
            (Outcome::Canonical, Expect::RejectOrSame(want)) if input != want => {
                self.fail(what, "accepted as canonical, yet it differs from the original", input)
            }
            (Outcome::NonCanonical(again), Expect::RejectOrSame(want)) if again.as_slice() != want => self.fail(
                what,
                format_args!("accepted with another meaning: re-encodes as {}", hex::encode(again)),
                input,
            ),
            // Whatever a lenient decode accepted must itself be stable: its re-encoding round-trips.
            (Outcome::NonCanonical(again), _) if !matches!(decode(again), Outcome::Canonical) => {
                self.fail(what, "the re-encoding of an accepted non-DER input does not round-trip", input)
            }
            _ => {}
        }
        Some(got)
    }

    /// `req_body_bytes` on the same bytes: no panic, MALFORMED errors, and agreement with the KDC-REQ decoders.
    fn check_req_body(&mut self, input: &[u8], what: &str) {
        self.stats.req_body_calls += 1;
        let body = match catch_unwind(AssertUnwindSafe(|| wire::req_body_bytes(input))) {
            Err(p) => return self.fail(what, format_args!("PANIC in req_body_bytes: {}", panic_text(&*p)), input),
            Ok(b) => b,
        };
        if let Err(e) = &body {
            if e.code() != ErrorCode::KTIX_ERR_MALFORMED {
                self.fail(what, format_args!("req_body_bytes error code {:?}", e.code()), input);
            }
        }
        let decoded = match wire::decode::<AsReq>(input) {
            Ok(r) => Ok((wire::encode(&r).is_ok_and(|b| b == input), r.0)),
            Err(_) => wire::decode::<TgsReq>(input).map(|r| (wire::encode(&r).is_ok_and(|b| b == input), r.0)),
        };
        match (decoded, body) {
            // A KDC-REQ in DER that a decoder takes must give its req-body.
            (Ok((true, _)), Err(e)) => {
                self.fail(what, format_args!("a DER KDC-REQ decodes but req_body_bytes fails: {e:?}"), input)
            }
            // Lenient input the decoder takes and req_body_bytes refuses: the KDC fails closed. Counted.
            (Ok(_), Err(_)) => self.stats.req_body_refused_lenient += 1,
            // Both take it: the bytes under the checksum must be the body the KDC acts on.
            (Ok((_, req)), Ok(bytes)) => match wire::decode::<wire::KdcReqBody>(bytes) {
                Ok(b) if b == req.req_body => {}
                other => self.fail(
                    what,
                    format_args!("req_body_bytes gives another body than the decoder: {other:?}"),
                    input,
                ),
            },
            (Err(_), _) => {}
        }
    }
}

/// Bit-flip positions: every byte of inputs up to 320 bytes; otherwise the first and last 96 bytes and an even
/// spread of 128 bytes in between.
fn flip_positions(len: usize) -> Vec<usize> {
    if len <= 320 {
        return (0..len).collect();
    }
    let mut v: Vec<usize> = (0..96).chain(len - 96..len).collect();
    let step = ((len - 192) / 128).max(1);
    v.extend((0..128).map(|i| 96 + i * step).filter(|&p| p < len - 96));
    v.sort_unstable();
    v.dedup();
    v
}

const LEN_STYLES: [LenStyle; 6] = [
    LenStyle::NonMinimal,
    LenStyle::PaddedTo4,
    LenStyle::Claims2Pow31,
    LenStyle::ClaimsU32Max,
    LenStyle::Claims2Pow63,
    LenStyle::Indefinite,
];

fn mutate_sample(r: &mut Runner, si: usize, sample: &[u8]) {
    let tag = |w: &str| format!("sample {si}, {w}");
    // The sample itself decodes and re-encodes exactly.
    match r.run(sample, &tag("as is"), Expect::Any) {
        Some(Outcome::Canonical) => {}
        other => r.fail(&tag("as is"), format_args!("does not round-trip: {other:?}"), sample),
    }

    // Every truncation.
    for n in 0..sample.len() {
        r.run(&sample[..n], &tag(&format!("first {n} bytes")), Expect::Reject);
    }

    // Single bit flips.
    for pos in flip_positions(sample.len()) {
        for bit in 0..8 {
            let mut m = sample.to_vec();
            m[pos] ^= 1 << bit;
            r.stats.flips += 1;
            match r.run(&m, &tag(&format!("bit {bit} of byte {pos} flipped")), Expect::Any) {
                Some(Outcome::Canonical) => r.stats.flips_absorbed += 1,
                Some(Outcome::NonCanonical(_)) => {
                    r.stats.flips_absorbed += 1;
                    r.stats.flips_non_der += 1;
                }
                _ => {}
            }
        }
    }

    // Trailing bytes.
    for extra in [&[0u8][..], &[0, 0], &[0x30, 0], &[0xff], sample] {
        let mut m = sample.to_vec();
        m.extend_from_slice(extra);
        r.run(&m, &tag(&format!("+{} trailing bytes", extra.len())), Expect::Reject);
    }

    // Wrong outer tag: every other APPLICATION tag, and a few identifiers of other classes.
    let own = sample[0];
    for t in (0x60..0x7f).chain([0x30, 0x31, 0xa0, 0xa4, 0x04, 0x02, 0x00, 0xe0]) {
        // decode_enc_kdc_rep_part takes either [25] or [26], req_body_bytes an AS-REQ [10] or a TGS-REQ [12].
        let also_valid = match r.case.name {
            "EncKDCRepPart" => [0x79, 0x7a],
            "req_body_bytes" => [0x6a, 0x6c],
            _ => [own, own],
        };
        if t == own || also_valid.contains(&t) {
            continue;
        }
        let mut m = sample.to_vec();
        m[0] = t;
        r.run(&m, &tag(&format!("outer tag {t:#04x}")), Expect::Reject);
    }

    // The length of every node rewritten, the enclosing lengths kept right.
    let tree = parse_der(sample);
    assert_eq!(rewrite(&tree, None), sample, "{}: the test's DER walker", r.case.name);
    let mut places = Vec::new();
    node_places(&tree, 0, 0, &mut places);
    for (node, &place) in places.iter().enumerate() {
        for style in LEN_STYLES {
            let m = rewrite(&tree, Some((node, style)));
            r.stats.length_rewrites += 1;
            let expect = match style {
                // req_body_bytes reads only the headers on its path (strictly: DER lengths only); what is
                // inside the fields is the decoders' business.
                _ if r.case.name == "req_body_bytes" && !on_req_body_path(place) => Expect::Any,
                _ if r.case.name == "req_body_bytes" => Expect::Reject,
                LenStyle::Claims2Pow31 | LenStyle::ClaimsU32Max | LenStyle::Claims2Pow63 => Expect::Reject,
                LenStyle::NonMinimal | LenStyle::PaddedTo4 | LenStyle::Indefinite => Expect::RejectOrSame(sample),
            };
            if let Some(Outcome::Canonical | Outcome::NonCanonical(_)) =
                r.run(&m, &tag(&format!("length of node {node} as {style:?}")), expect)
            {
                r.stats.length_rewrites_accepted += 1;
            }
        }
    }
}

#[test]
fn every_decoder_survives_mutations() {
    let started = std::time::Instant::now();
    let cases = cases();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut total = Stats::default();

    for case in &cases {
        let mut r = Runner { case, stats: Stats::default(), failures: &mut failures };
        for (si, sample) in case.samples.iter().enumerate() {
            mutate_sample(&mut r, si, sample);
        }

        // Deep nesting: 10,000 constructed headers, alone and under the decoder's own outer tag.
        let own = case.samples[0][0];
        for (outer, inner, indefinite) in [
            (None, 0x30, false),
            (None, 0x30, true),
            (Some(own), 0x30, false),
            (Some(own), 0x30, true),
            (Some(own), 0xa0, false),
            (Some(own), own, false),
            (None, own, false),
            (None, own, true),
        ] {
            let m = nested(outer, inner, 10_000, indefinite);
            let what = format!("10,000 nested {inner:#04x} inside {outer:02x?}, indefinite {indefinite}");
            r.run(&m, &what, Expect::Reject);
        }

        // The other cases' samples: a value of another type is refused. (req_body_bytes takes any KDC-REQ.)
        if case.name != "req_body_bytes" {
            for other in cases.iter().filter(|o| !std::ptr::eq(*o, case) && o.name != "req_body_bytes") {
                for (i, s) in other.samples.iter().enumerate() {
                    r.run(s, &format!("{} sample {i}", other.name), Expect::Reject);
                }
            }
        }

        let st = r.stats;
        report.push(format!(
            "{:<18} samples {} calls {:>5} rejected {:>5} | bit flips {:>5}, still decode {:>5}, of which non-DER {:>3} \
             | length rewrites {:>4}, accepted {:>3}",
            case.name,
            case.samples.len(),
            st.calls,
            st.rejected,
            st.flips,
            st.flips_absorbed,
            st.flips_non_der,
            st.length_rewrites,
            st.length_rewrites_accepted,
        ));
        total.add(&st);
    }

    println!("{}", report.join("\n"));
    println!(
        "total: {} decoder calls ({} rejected) + {} req_body_bytes calls ({} non-DER KDC-REQs the decoders take and \
         req_body_bytes refuses); {} bit flips ({} still decode, {} of them non-DER); {} length rewrites ({} accepted \
         with the same meaning); {:.1} s",
        total.calls,
        total.rejected,
        total.req_body_calls,
        total.req_body_refused_lenient,
        total.flips,
        total.flips_absorbed,
        total.flips_non_der,
        total.length_rewrites,
        total.length_rewrites_accepted,
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        let n = failures.len();
        failures.truncate(40);
        panic!("{n} failures, the first {}:\n{}", failures.len(), failures.join("\n"));
    }
}

/// KDC-REQs rearranged around the req-body: whatever the decoder makes of them, `req_body_bytes` must give
/// the body the decoder decoded (the TGS checksum covers those bytes), or refuse.
#[test]
fn req_body_bytes_agrees_with_the_decoder() {
    let tgs = fixture("nofast/aes256-cts-hmac-sha1-96/02-tgs-req-nofast.der");
    let case = Case { name: "crafted TGS-REQ", decode: dec_tgs_req_direct, samples: vec![tgs.clone()] };
    let mut failures = Vec::new();
    let mut r = Runner { case: &case, stats: Stats::default(), failures: &mut failures };

    let tree = parse_der(&tgs);
    let fields = &tree[0].children[0].children;
    let tags: Vec<u8> = fields.iter().map(|f| f.tag).collect();
    assert_eq!(tags, [0xa1, 0xa2, 0xa3, 0xa4]);
    let rebuild = |fields: Vec<&Node>| -> Vec<u8> {
        let mut content = Vec::new();
        for f in fields {
            write_der(std::slice::from_ref(f), None, &mut 0, &mut content);
        }
        let mut seq = vec![0x30];
        minimal_len(content.len(), &mut seq);
        seq.extend_from_slice(&content);
        let mut msg = vec![0x6c];
        minimal_len(seq.len(), &mut msg);
        msg.extend_from_slice(&seq);
        msg
    };
    // A second, different body: the nonce changed.
    let mut other = wire::decode::<TgsReq>(&tgs).unwrap().0.req_body;
    other.nonce ^= 0x5555;
    let other_body = wire::encode(&other).unwrap();
    let other_field = Node { tag: 0xa4, content: Vec::new(), children: parse_der(&other_body) };
    let unknown = Node { tag: 0xa5, content: Vec::new(), children: parse_der(&[0x02, 0x01, 0x00]) };
    let primitive_body = Node { tag: 0x84, content: other_body.clone(), children: Vec::new() };
    let [f1, f2, f3, f4] = [&fields[0], &fields[1], &fields[2], &fields[3]];

    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("as captured", rebuild(vec![f1, f2, f3, f4])),
        ("two req-bodies", rebuild(vec![f1, f2, f3, f4, &other_field])),
        ("two req-bodies, the other first", rebuild(vec![f1, f2, f3, &other_field, f4])),
        ("req-body before padata", rebuild(vec![f1, f2, f4, f3])),
        ("req-body first", rebuild(vec![f4, f1, f2, f3])),
        ("an unknown field [5] after the body", rebuild(vec![f1, f2, f3, f4, &unknown])),
        ("padata twice", rebuild(vec![f1, f2, f3, f3, f4])),
        ("req-body as a primitive [4]", rebuild(vec![f1, f2, f3, &primitive_body])),
        ("no padata", rebuild(vec![f1, f2, f4])),
        ("no req-body", rebuild(vec![f1, f2, f3])),
    ];
    assert_eq!(variants[0].1, tgs);
    let mut accepted = Vec::new();
    for (what, bytes) in &variants {
        if let Some(Outcome::Canonical | Outcome::NonCanonical(_)) = r.run(bytes, what, Expect::Any) {
            accepted.push(*what);
        }
    }
    println!("crafted TGS-REQs the decoder takes: {accepted:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The malformed-input paths of the helpers next to the decoders.
#[test]
fn helpers_on_malformed_input() {
    assert_eq!(wire::message_tag(&[]), None);
    assert_eq!(wire::message_tag(&[0x30, 0]), None);
    assert_eq!(wire::message_tag(&[0x7f, 0x81, 0x00]), None, "multi-byte tag");
    assert_eq!(wire::message_tag(&[0x6a]), Some(10));
    for bad in [&[][..], &[0x6a], &[0x6a, 0x00], &[0x6c, 0x02, 0x30, 0x00], &[0x6b, 0x02, 0x30, 0x00]] {
        assert_eq!(wire::req_body_bytes(bad).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED, "{bad:02x?}");
    }
    for bad in [&[][..], &[0x7b, 0x00], &[0x79, 0x00], &[0x7a, 0x02, 0x30, 0x00], &[0x30, 0x00]] {
        assert_eq!(wire::decode_enc_kdc_rep_part(bad).unwrap_err().code(), ErrorCode::KTIX_ERR_MALFORMED);
    }
}
