//! Writes the seed corpora of every fuzz target into `fuzz/corpus/` from the repository's
//! fixtures: the MIT 1.20 captures (each by its message type), MIT-written keytabs, credential
//! caches and profiles — and, for the targets whose input is normally encrypted
//! (`authenticator`, `enc_ticket_part`, `enc_kdc_rep_part`), the decrypted plaintexts of the
//! captures. Those are found by trying every known key (alice's password keys, the captures'
//! krbtgt and service keytabs, then every session key and subkey found on the way) with the key
//! usages of the parts they can be, until nothing more opens; `client_as_rep` gets the captured
//! AS-REPs and KRB-ERRORs and the AS-REPs' plaintexts. The `kpasswd` target's requests
//! are made here, by the library's client in the target's realm (`common/realm.rs`).
//!
//! Run from `fuzz/`: `cargo +nightly run --example seed` (idempotent; prints what it wrote).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ktix::crypto::usage;
use ktix::internals::wire::{
    self, msg_type, pa_type, ApRep, ApReq, AsRep, Authenticator, EncApRepPart, EncTicketPart, EncryptedData, TgsRep,
    TgsReq,
};
use ktix::{Enctype, Key, Keytab};

#[path = "../common/realm.rs"]
mod realm;

const ALICE_PW: &[u8] = b"alice-pw";
const ALICE_SALT: &[u8] = b"KTIX.TESTalice";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Writes `bytes` as `corpus/TARGET/NAME`.
fn put(target: &str, name: &str, bytes: &[u8], counts: &mut BTreeMap<String, usize>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
    *counts.entry(target.to_string()).or_default() += 1;
}

/// The fuzz targets a capture seeds, by its message type.
fn targets_of(bytes: &[u8]) -> &'static [&'static str] {
    match wire::message_tag(bytes) {
        Some(msg_type::AS_REQ) => &["as_req", "req_body_bytes", "kdc_handle"],
        Some(msg_type::TGS_REQ) => &["tgs_req", "req_body_bytes", "kdc_handle"],
        Some(msg_type::AS_REP) => &["as_rep"],
        Some(msg_type::TGS_REP) => &["tgs_rep"],
        Some(msg_type::AP_REQ) => &["ap_req", "acceptor_accept"],
        Some(msg_type::AP_REP) => &["ap_rep"],
        Some(msg_type::KRB_ERROR) => &["krb_error"],
        _ => &[],
    }
}

/// Every EncryptedData of a captured message, with the usages it can be sealed for.
fn sealed_parts(bytes: &[u8]) -> Vec<(EncryptedData, &'static [u32])> {
    const TICKET: &[u32] = &[usage::TICKET];
    let mut out = Vec::new();
    let ap_req = |ap: ApReq, out: &mut Vec<(EncryptedData, &'static [u32])>| {
        out.push((ap.ticket.enc_part, TICKET));
        out.push((ap.authenticator, &[usage::AP_REQ_AUTH, usage::TGS_REQ_AUTH]));
    };
    match wire::message_tag(bytes) {
        Some(msg_type::AS_REP) => {
            if let Ok(r) = wire::decode::<AsRep>(bytes) {
                out.push((r.0.ticket.enc_part, TICKET));
                out.push((r.0.enc_part, &[usage::AS_REP_ENC_PART]));
            }
        }
        Some(msg_type::TGS_REP) => {
            if let Ok(r) = wire::decode::<TgsRep>(bytes) {
                out.push((r.0.ticket.enc_part, TICKET));
                out.push((r.0.enc_part, &[usage::TGS_REP_ENC_PART_SUBKEY, usage::TGS_REP_ENC_PART_SESSION]));
            }
        }
        Some(msg_type::TGS_REQ) => {
            if let Ok(r) = wire::decode::<TgsReq>(bytes) {
                if let Some(ap) = wire::find_padata(&r.0.padata, pa_type::TGS_REQ)
                    .and_then(|pa| wire::decode::<ApReq>(&pa.value).ok())
                {
                    ap_req(ap, &mut out);
                }
            }
        }
        Some(msg_type::AP_REQ) => {
            if let Ok(ap) = wire::decode::<ApReq>(bytes) {
                ap_req(ap, &mut out);
            }
        }
        Some(msg_type::AP_REP) => {
            if let Ok(r) = wire::decode::<ApRep>(bytes) {
                out.push((r.enc_part, &[usage::AP_REP_ENC_PART]));
            }
        }
        _ => {}
    }
    out
}

/// The keys a plaintext of `usage` carries (session keys, subkeys).
fn keys_in(usage_: u32, plain: &[u8]) -> Vec<Key> {
    let key = |t: i32, v: &[u8]| Key::new(Enctype::from_i32(t).ok()?, v).ok();
    match usage_ {
        usage::TICKET => wire::decode::<EncTicketPart>(plain)
            .ok()
            .and_then(|p| key(p.key.r#type, &p.key.value))
            .into_iter()
            .collect(),
        usage::AS_REP_ENC_PART | usage::TGS_REP_ENC_PART_SESSION | usage::TGS_REP_ENC_PART_SUBKEY => {
            wire::decode_enc_kdc_rep_part(plain)
                .ok()
                .and_then(|(p, _)| key(p.key.r#type, &p.key.value))
                .into_iter()
                .collect()
        }
        usage::AP_REQ_AUTH | usage::TGS_REQ_AUTH => wire::decode::<Authenticator>(plain)
            .ok()
            .and_then(|a| a.subkey)
            .and_then(|k| key(k.r#type, &k.value))
            .into_iter()
            .collect(),
        usage::AP_REP_ENC_PART => wire::decode::<EncApRepPart>(plain)
            .ok()
            .and_then(|a| a.subkey)
            .and_then(|k| key(k.r#type, &k.value))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The fuzz target a plaintext of `usage` seeds.
fn plaintext_target(usage_: u32) -> Option<&'static str> {
    match usage_ {
        usage::TICKET => Some("enc_ticket_part"),
        usage::AS_REP_ENC_PART | usage::TGS_REP_ENC_PART_SESSION | usage::TGS_REP_ENC_PART_SUBKEY => {
            Some("enc_kdc_rep_part")
        }
        usage::AP_REQ_AUTH | usage::TGS_REQ_AUTH => Some("authenticator"),
        _ => None,
    }
}

/// A DER element.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    wire::push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// The GSS-API targets' seeds: framed krb5 context tokens around the captured AP-REQ, AP-REP and
/// KRB-ERROR; SPNEGO tokens and conversations (for the stand-in mechanism of `spnego_drive`,
/// whose MIC over the mechanism list is the list itself); valid MIC and Wrap tokens (sealed,
/// integrity-only, rotated) made with the fixed keys of the `gss_mic` and `gss_wrap` targets,
/// for every receiver those targets can pick.
fn gss_seeds(root: &Path, counts: &mut BTreeMap<String, usize>) {
    use ktix::gss::{oid, ContextFlags};
    use ktix::internals::gss::{self, MessageProtection};
    const NTLM: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

    let [ap_req_id, ap_rep_id, err_id, _, _] = gss::TOKEN_IDS;
    let cap = root.join("mit-1.20/aes256-cts-hmac-sha1-96");
    let read = |name: &str| std::fs::read(cap.join(name)).expect("capture");
    let ap_req = gss::krb5_token(ap_req_id, &read("03-ap-req-gss.der"));
    let ap_rep = gss::krb5_token(ap_rep_id, &read("03-ap-rep.der"));
    let error = gss::krb5_token(err_id, &read("00-krb-error-preauth-required.der"));
    put("gss_initial_token", "ap-req", &ap_req, counts);
    put("gss_initial_token", "ap-rep", &ap_rep, counts);
    put("gss_initial_token", "krb-error", &error, counts);
    let inner = gss::unframe(&ap_req).expect("framed").1.to_vec();
    put("gss_initial_token", "ap-req-ms-oid", &gss::frame(oid::KRB5_MS, &inner), counts);

    let list = |mechs: &[&[u8]]| der(0x30, &mechs.iter().flat_map(|m| der(0x06, m)).collect::<Vec<u8>>());
    let init = |mechs: &[&[u8]], tok: Option<&[u8]>, mic: Option<&[u8]>| {
        let mut body = der(0xa0, &list(mechs));
        if let Some(t) = tok {
            body.extend(der(0xa2, &der(0x04, t)));
        }
        if let Some(m) = mic {
            body.extend(der(0xa3, &der(0x04, m)));
        }
        gss::frame(oid::SPNEGO, &der(0xa0, &der(0x30, &body)))
    };
    let resp = |state: Option<u8>, mech: Option<&[u8]>, tok: Option<&[u8]>, mic: Option<&[u8]>| {
        let mut body = Vec::new();
        if let Some(s) = state {
            body.extend(der(0xa0, &der(0x0a, &[s])));
        }
        if let Some(m) = mech {
            body.extend(der(0xa1, &der(0x06, m)));
        }
        if let Some(t) = tok {
            body.extend(der(0xa2, &der(0x04, t)));
        }
        if let Some(m) = mic {
            body.extend(der(0xa3, &der(0x04, m)));
        }
        der(0xa1, &der(0x30, &body))
    };
    let hints = der(0xa3, &der(0x30, &der(0xa0, &der(0x1b, b"not_defined_in_RFC4178@please_ignore"))));
    let init2 = gss::frame(
        oid::SPNEGO,
        &der(0xa0, &der(0x30, &[der(0xa0, &list(&[oid::KRB5_MS, oid::KRB5])), hints].concat())),
    );
    let krb5_list = list(&[oid::KRB5]);
    let ntlm_first = list(&[NTLM, oid::KRB5]);
    for (name, conversation) in [
        ("init-krb5", vec![init(&[oid::KRB5], Some(&ap_req), None)]),
        ("init-ms-first", vec![init(&[oid::KRB5_MS, oid::KRB5, NTLM], Some(&ap_req), None)]),
        ("init-with-mic", vec![init(&[oid::KRB5], Some(b"x"), Some(&krb5_list))]),
        (
            "acceptor-mic-required",
            vec![
                init(&[NTLM, oid::KRB5], Some(b"NTLMSSP"), None),
                resp(None, None, Some(b"x"), None),
                resp(None, None, None, Some(&ntlm_first)),
            ],
        ),
        ("acceptor-two-rounds", vec![init(&[oid::KRB5], Some(b"\0more"), None), resp(Some(1), None, Some(b"x"), None)]),
        ("init2-hints", vec![init2]),
        ("initiator-done", vec![resp(Some(0), Some(oid::KRB5), Some(&ap_rep), None)]),
        ("initiator-mic", vec![resp(Some(1), Some(oid::KRB5), Some(b"x"), Some(&krb5_list))]),
        (
            "initiator-request-mic",
            vec![resp(Some(3), Some(oid::KRB5), Some(b"x"), None), resp(Some(0), None, None, Some(&krb5_list))],
        ),
        ("reject", vec![resp(Some(2), None, Some(&error), None)]),
    ] {
        put("spnego", name, &conversation.concat(), counts);
    }

    let data = b"the data a GSS-API application protects";
    for sel in 0u8..32 {
        let e = [
            Enctype::Aes128CtsHmacSha196,
            Enctype::Aes256CtsHmacSha196,
            Enctype::Aes128CtsHmacSha256128,
            Enctype::Aes256CtsHmacSha384192,
        ][(sel & 3) as usize];
        let key = Key::new(e, &[0x5a; 32][..e.key_len()]).expect("key");
        let flags = if sel & 16 != 0 { ContextFlags::REPLAY.with(ContextFlags::SEQUENCE) } else { ContextFlags::NONE };
        // The sender is the receiver's peer: the other role, the same key and subkey flag.
        let sender = MessageProtection::new(key, sel & 4 != 0, sel & 8 == 0, 0, 0, flags);
        for (conf, len, rrc) in
            [(true, 0, 0), (true, 33, 0), (false, 5, 0), (false, 39, 0), (true, 39, 28), (false, 39, 12)]
        {
            let mut token = sender.wrap(&data[..len], conf).expect("wrap");
            if rrc > 0 {
                token[6..8].copy_from_slice(&(rrc as u16).to_be_bytes());
                token[16..].rotate_right(rrc);
            }
            let seed = [&[sel][..], &token].concat();
            put(
                "gss_wrap",
                &format!("{sel:02}-{}-{len}-rrc{rrc}", if conf { "sealed" } else { "integ" }),
                &seed,
                counts,
            );
        }
        let mic = sender.get_mic(data).expect("mic");
        put("gss_mic", &format!("{sel:02}"), &[&[sel, mic.len() as u8][..], &mic, data].concat(), counts);
    }
}

/// Change-password requests (RFC 3244) for the `kpasswd` target: for each enctype, an INITIAL
/// ticket for `kadmin/changepw` from alice's password and the request the client makes with it
/// (`kpasswd::change_request`), as version 1 (change) and with its parts framed as 0xff80
/// (set-password, which the server refuses). Each change request must succeed in a fresh
/// instance of the realm, as the target will meet it.
fn kpasswd_seeds(counts: &mut BTreeMap<String, usize>) {
    use std::sync::Arc;

    use ktix::ccache::CCache;
    use ktix::client::{Client, ClientConfig, InProcess};
    use ktix::internals::proto::kpasswd as kp;
    use ktix::kdc::changepw_principal;
    use ktix::time::FixedClock;
    use realm::{ALICE, ALICE_PW, REALM};

    let now = realm::now();
    let clock = Arc::new(FixedClock::new(now));
    let kdc = Arc::new(realm::kdc());
    for enctype in Enctype::ALL {
        let mut config = ClientConfig::new(REALM);
        config.enctypes = vec![enctype];
        let transport = Arc::new(InProcess::new(kdc.clone(), clock.clone()));
        let client = Client::with_clock(config, transport, CCache::memory(), clock.clone());
        let cred = client
            .initial_ticket_with_password(ALICE, ALICE_PW, &changepw_principal(REALM))
            .unwrap_or_else(|e| panic!("a ticket of {enctype:?}: {e}"));
        let subkey = Key::random(enctype).expect("subkey");
        let sender = std::net::SocketAddr::from(([127, 0, 0, 1], 50000));
        let (change, _) =
            kp::change_request(&cred, &subkey, 0x1234_5678, now, sender, b"a new password").expect("request");
        let fresh = realm::kdc();
        let outcome = fresh.kpasswd(&change, now, realm::local(), None);
        assert_eq!(outcome.facts.code, ktix::ErrorCode::KDC_ERR_NONE, "{:?}", outcome.facts.detail);
        put("kpasswd", &format!("{}-0001", enctype.id()), &change, counts);
        // The same parts as a set-password request (version 0xff80), which the server refuses.
        let parts = kp::parse_request(&change).expect("a request");
        let set = kp::frame(kp::VERSION_SET, parts.ap_req, parts.krb_priv).expect("frame");
        put("kpasswd", &format!("{}-ff80", enctype.id()), &set, counts);
    }
}

fn main() {
    let root = fixtures();
    let mut counts = BTreeMap::new();
    let name_of = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_string_lossy().replace('/', "_");

    // The captures, by message type; the sealed parts they hold.
    let mut captures = Vec::new();
    files_under(&root.join("mit-1.20"), &mut captures);
    let mut sealed = Vec::new();
    for p in captures.iter().filter(|p| p.extension().is_some_and(|e| e == "der")) {
        let bytes = std::fs::read(p).expect("capture");
        for t in targets_of(&bytes) {
            put(t, &name_of(p), &bytes, &mut counts);
        }
        if matches!(wire::message_tag(&bytes), Some(msg_type::AS_REP | msg_type::KRB_ERROR)) {
            // client_as_rep, byte 0 even: the whole first reply.
            put("client_as_rep", &name_of(p), &[&[0u8][..], &bytes].concat(), &mut counts);
        }
        for (i, (ed, usages)) in sealed_parts(&bytes).into_iter().enumerate() {
            sealed.push((format!("{}-{i}", name_of(p)), ed, usages));
        }
    }

    // Files: keytabs (MIT's and the captures'), credential caches, profiles.
    let mut files = Vec::new();
    files_under(&root.join("keytab"), &mut files);
    files_under(&root.join("mit-1.20"), &mut files);
    for p in files.iter().filter(|p| p.extension().is_some_and(|e| e == "keytab")) {
        put("keytab_parse", &name_of(p), &std::fs::read(p).expect("keytab"), &mut counts);
    }
    let mut caches = Vec::new();
    files_under(&root.join("ccache"), &mut caches);
    for p in caches.iter().filter(|p| p.extension().is_some_and(|e| e == "ccache")) {
        put("ccache_parse", &name_of(p), &std::fs::read(p).expect("ccache"), &mut counts);
    }
    let mut profiles = Vec::new();
    files_under(&root.join("config"), &mut profiles);
    for p in profiles.iter().filter(|p| p.extension().is_some_and(|e| e == "conf")) {
        put("profile_parse", &name_of(p), &std::fs::read(p).expect("profile"), &mut counts);
    }

    // The plaintexts: every key known, until nothing more opens.
    let mut keys: Vec<Key> = [17, 18, 19, 20]
        .iter()
        .map(|&e| Key::from_password(Enctype::from_i32(e).unwrap(), ALICE_PW, ALICE_SALT, None).expect("alice"))
        .collect();
    for p in
        files.iter().filter(|p| p.starts_with(root.join("mit-1.20")) && p.extension().is_some_and(|e| e == "keytab"))
    {
        let kt = Keytab::load(p.to_str().expect("path")).expect("capture keytab");
        keys.extend(kt.entries().iter().filter_map(|e| e.key.key().cloned()));
    }
    let mut opened = vec![false; sealed.len()];
    loop {
        let mut progress = false;
        for (i, (name, ed, usages)) in sealed.iter().enumerate() {
            if opened[i] {
                continue;
            }
            'search: for key in keys.clone().iter().filter(|k| k.enctype().id() == ed.etype) {
                for &u in usages.iter() {
                    if let Ok(plain) = key.decrypt(u, &ed.cipher) {
                        if let Some(t) = plaintext_target(u) {
                            put(t, name, &plain, &mut counts);
                        }
                        if u == usage::AS_REP_ENC_PART {
                            // client_as_rep, byte 0 odd: the final AS-REP's plaintext.
                            put("client_as_rep", name, &[&[1u8][..], &plain].concat(), &mut counts);
                        }
                        keys.extend(keys_in(u, &plain));
                        opened[i] = true;
                        progress = true;
                        break 'search;
                    }
                }
            }
        }
        if !progress {
            break;
        }
    }
    gss_seeds(&root, &mut counts);
    kpasswd_seeds(&mut counts);

    let shut = opened.iter().filter(|o| !**o).count();
    for (target, n) in &counts {
        println!("corpus/{target}: {n} seeds");
    }
    println!(
        "{} sealed parts opened, {shut} did not (the FAST-armored TGS replies need the armor key)",
        sealed.len() - shut
    );
}
