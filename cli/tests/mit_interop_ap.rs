//! The AP exchange between MIT krb5 and ktix, both ways, for each enctype 17, 18, 19, 20, with
//! tickets from MIT's KDC (Debian `krb5-kdc`, a throwaway realm on a loopback port):
//!
//! - MIT builds (`krb5_mk_req_extended`, mutual required), our `Acceptor` accepts with a keytab
//!   from MIT's `kadmin.local ktadd`, MIT's `krb5_rd_rep` checks our AP-REP;
//! - our `Client` builds (mutual), MIT's `krb5_rd_req` accepts, our `ApContext::verify` checks
//!   MIT's `krb5_mk_rep`;
//! - requests MIT built, replayed, tampered with, too late, for another key version or service,
//!   are refused by our acceptor with the specific error code.
//!
//! MIT's side is `tests/mit/apreq.c`, compiled into the test's temporary directory against
//! `libkrb5-dev`. The harness is `tests/mit/mod.rs`.

mod mit;

use std::path::PathBuf;
use std::sync::Arc;

use ktix::acceptor::AcceptorConfig;
use ktix::config::Krb5Conf as Conf;
use ktix::internals::wire::{self, ApReq};
use ktix::{
    Acceptor, CCache, Client, Enctype, ErrorCode, Key, Keytab, KeytabEntry, Network, Principal, SystemClock, Time,
};

use mit::{
    build_c_helper, per_enctype_service, unix_now, Interactive, Krb5Conf, Mit, MitKdc, Run, ALICE_PW, KRBTGT, REALM,
    SERVICE,
};

const ENCTYPES: [i32; 4] = [17, 18, 19, 20];
const ALICE: &str = "alice@KTIX.TEST";

/// MIT's KDC with the per-enctype services, their keys in `services.keytab` (kvno 1), and the
/// compiled `apreq`.
struct Ap {
    // Dropped in this order: the KDC stops before its directory goes.
    kdc: MitKdc,
    dir: tempfile::TempDir,
    apreq: PathBuf,
    keytab: PathBuf,
}

impl Ap {
    fn new() -> Ap {
        mit::require_mit_client();
        let dir = tempfile::tempdir().expect("temporary directory");
        let apreq = build_c_helper("apreq", dir.path());
        let kdc = MitKdc::start_minimal(&dir.path().join("mit"));
        let keytab = dir.path().join("services.keytab");
        kdc.add_per_enctype_services(&ENCTYPES, Some(&keytab));
        Ap { dir, kdc, apreq, keytab }
    }

    /// Commands with a krb5.conf restricted to `enctype` and the cache `cc-TAG-ENCTYPE`.
    fn mit(&self, enctype: i32, tag: &str) -> Mit {
        let conf = self.dir.path().join(format!("krb5-{enctype}.conf"));
        if !conf.exists() {
            Krb5Conf::new(self.kdc.addr()).enctypes(&[enctype]).write(&conf);
        }
        Mit::new(&conf, &self.dir.path().join(format!("cc-{tag}-{enctype}")))
    }

    fn keytab(&self) -> Keytab {
        Keytab::load(self.keytab.to_str().expect("UTF-8 path")).expect("MIT's keytab")
    }

    fn acceptor(&self) -> Acceptor {
        Acceptor::new(self.keytab())
    }

    /// `apreq mkreq SERVICE DELAY` with `m`'s cache: MIT's AP-REQ, and the process waiting for
    /// the AP-REP (or "skip").
    fn mit_request(&self, m: &Mit, service: &str, delay: u32) -> (Vec<u8>, Interactive) {
        let mut p = m.spawn(&self.apreq, &["mkreq", service, &delay.to_string()]);
        let line = p.read_line();
        let hex_req = line.strip_prefix("apreq ").unwrap_or_else(|| panic!("apreq mkreq said {line:?}"));
        (hex::decode(hex_req).expect("hex AP-REQ"), p)
    }

    /// An AP-REQ MIT built that the process no longer waits on.
    fn mit_request_only(&self, m: &Mit, service: &str) -> Vec<u8> {
        let (req, mut p) = self.mit_request(m, service, 0);
        p.write_line("skip");
        p.finish().expect_ok();
        req
    }

    /// `apreq rdreq services.keytab` on `ap_req`.
    fn mit_accept(&self, m: &Mit, ap_req: &[u8]) -> Run {
        let apreq = self.apreq.to_str().expect("UTF-8 path");
        m.run(apreq, &["rdreq", self.keytab.to_str().expect("UTF-8 path")], &format!("{}\n", hex::encode(ap_req)))
    }
}

fn full(name: &str) -> String {
    format!("{name}@{REALM}")
}

/// Our library client over `m`'s cache and krb5.conf.
fn client_for(m: &Mit) -> Client {
    let text = std::fs::read_to_string(&m.config).expect("read krb5.conf");
    let conf = Conf::parse(&text, &m.config.display().to_string()).expect("parse krb5.conf");
    let transport = Network::new(conf.kdcs_for(REALM)).with_udp_preference_limit(conf.udp_preference_limit);
    Client::new(conf.to_client_config(REALM), Arc::new(transport), CCache::file(&m.ccache))
}

/// `msg` with one bit flipped in the middle of `part`, which must occur in it once.
fn flip_in(msg: &[u8], part: &[u8]) -> Vec<u8> {
    let at = msg.windows(part.len()).position(|w| w == part).expect("the part is in the message");
    assert!(msg[at + 1..].windows(part.len()).all(|w| w != part), "the part occurs twice");
    let mut out = msg.to_vec();
    out[at + part.len() / 2] ^= 0x10;
    out
}

/// The lines `KEY VALUE` of apreq's output, as (key, value).
fn fields(run: &Run) -> Vec<(String, String)> {
    run.stdout.lines().filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// MIT builds (from a cache MIT's kinit wrote, and from one ours wrote), our acceptor accepts
/// with MIT's keytab, and MIT's krb5_rd_rep checks our AP-REP.
#[test]
fn mit_builds_ktix_accepts() {
    let ap = Ap::new();
    for e in ENCTYPES {
        let svc = per_enctype_service(e);
        let mit_cc = ap.mit(e, "mit");
        mit_cc.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let our_cc = ap.mit(e, "ours");
        our_cc.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
        let acceptor = ap.acceptor();
        for (who, m) in [("MIT's kinit", &mit_cc), ("ktix kinit", &our_cc)] {
            let ctx = format!("enctype {e}, cache from {who}");
            let (req, mut p) = ap.mit_request(m, &svc, 0);
            let now = unix_now();
            let acc = acceptor.accept(&req).unwrap_or_else(|err| panic!("{ctx}: our acceptor: {err}"));
            assert_eq!(acc.client.to_string(), ALICE, "{ctx}");
            assert_eq!(acc.server.to_string(), full(&svc), "{ctx}");
            assert_eq!((acc.ticket_enctype.id(), acc.kvno), (e, 1), "{ctx}");
            assert_eq!(acc.session_key.enctype().id(), e, "{ctx}");
            // The times are the ticket's, as MIT's klist shows them.
            let tickets = m.klist();
            let st = tickets.iter().find(|t| t.service == full(&svc)).expect("the service ticket in the cache");
            let tgt = tickets.iter().find(|t| t.service == KRBTGT).expect("the TGT in the cache");
            assert_eq!((acc.start_time.unix(), acc.end_time.unix()), (st.start, st.expires), "{ctx}");
            assert_eq!(acc.auth_time.unix(), tgt.start, "{ctx}: authtime is the login's");
            assert!(acc.start_time.unix() <= now && now < acc.end_time.unix(), "{ctx}");
            assert!(acc.checksum.is_none(), "{ctx}: mk_req_extended without data sends no checksum");

            let rep = acc.ap_rep.expect("MIT asked for mutual authentication");
            p.write_line(&format!("aprep {}", hex::encode(&rep)));
            let run = p.finish().expect_ok();
            assert_eq!(run.stdout, "verified\n", "{ctx}: {}", run.stderr);
        }

        // MIT refuses a tampered AP-REP, and the AP-REP of another request (the same session
        // key, another authenticator time).
        let ctx = format!("enctype {e}");
        let (req, mut p) = ap.mit_request(&mit_cc, &svc, 0);
        let rep = acceptor.accept(&req).expect("accept").ap_rep.expect("mutual");
        let cipher = wire::decode::<wire::ApRep>(&rep).expect("our AP-REP decodes").enc_part.cipher;
        p.write_line(&format!("aprep {}", hex::encode(flip_in(&rep, &cipher))));
        let run = p.finish().expect_failure();
        assert!(run.stderr.contains("krb5_rd_rep"), "{ctx}: {}", run.stderr);

        let (req1, mut p1) = ap.mit_request(&mit_cc, &svc, 0);
        let (req2, p2) = ap.mit_request(&mit_cc, &svc, 0);
        acceptor.accept(&req1).expect("accept the first");
        let rep2 = acceptor.accept(&req2).expect("accept the second").ap_rep.expect("mutual");
        drop(p2);
        p1.write_line(&format!("aprep {}", hex::encode(&rep2)));
        let run = p1.finish().expect_failure();
        assert!(
            run.stderr.contains("krb5_rd_rep") && run.stderr.contains("Mutual authentication failed"),
            "{ctx}: {}",
            run.stderr
        );
    }
}

/// Our client builds (its service ticket from MIT's KDC), MIT's krb5_rd_req accepts with MIT's
/// keytab, and our ApContext::verify checks MIT's krb5_mk_rep.
#[test]
fn ktix_builds_mit_accepts() {
    let ap = Ap::new();
    for e in ENCTYPES {
        let ctx = format!("enctype {e}");
        let svc = per_enctype_service(e);
        let m = ap.mit(e, "client");
        m.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
        let client = client_for(&m);

        let (req, mut ap_ctx) = client.ap_req(&svc, true).unwrap_or_else(|err| panic!("{ctx}: ap_req: {err}"));
        assert_eq!(client.stats().tgs_requests, 1, "{ctx}: the service ticket came from MIT's KDC");
        assert_eq!(ap_ctx.session_key().enctype().id(), e, "{ctx}");
        let run = ap.mit_accept(&m, &req).expect_ok();
        let f = fields(&run);
        assert_eq!(field(&f, "client"), Some(ALICE), "{ctx}: {}", run.stdout);
        assert_eq!(field(&f, "server"), Some(full(&svc).as_str()), "{ctx}");
        assert_eq!(field(&f, "enctype"), Some(e.to_string().as_str()), "{ctx}");
        let rep = hex::decode(field(&f, "aprep").expect("MIT answers an AP-REP")).expect("hex AP-REP");
        assert!(!ap_ctx.is_verified(), "{ctx}");
        ap_ctx.verify(&rep).unwrap_or_else(|err| panic!("{ctx}: verify MIT's AP-REP: {err}"));
        assert!(ap_ctx.is_verified(), "{ctx}");

        // A tampered AP-REP, and MIT's AP-REP for another of our requests: MUT_FAIL.
        let (req, mut ap_ctx) = client.ap_req(&svc, true).expect("ap_req");
        let rep =
            hex::decode(field(&fields(&ap.mit_accept(&m, &req).expect_ok()), "aprep").expect("AP-REP")).expect("hex");
        let cipher = wire::decode::<wire::ApRep>(&rep).expect("MIT's AP-REP decodes").enc_part.cipher;
        let err = ap_ctx.verify(&flip_in(&rep, &cipher)).expect_err("a tampered AP-REP");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_MUT_FAIL, "{ctx}: {err}");
        let (other, _) = client.ap_req(&svc, true).expect("ap_req");
        let other_rep = field(&fields(&ap.mit_accept(&m, &other).expect_ok()), "aprep").map(str::to_string);
        let err = ap_ctx.verify(&hex::decode(other_rep.expect("AP-REP")).expect("hex")).expect_err("another AP-REP");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_MUT_FAIL, "{ctx}: {err}");
        ap_ctx.verify(&rep).expect("the right AP-REP still verifies");

        // Without mutual authentication MIT answers nothing; a tampered authenticator is refused.
        let (req, ap_ctx) = client.ap_req(&svc, false).expect("ap_req");
        assert!(!ap_ctx.mutual(), "{ctx}");
        let run = ap.mit_accept(&m, &req).expect_ok();
        assert_eq!(field(&fields(&run), "client"), Some(ALICE), "{ctx}");
        assert!(field(&fields(&run), "aprep").is_none(), "{ctx}: {}", run.stdout);
        let auth = wire::decode::<ApReq>(&req).expect("our AP-REQ decodes").authenticator.cipher;
        let run = ap.mit_accept(&m, &flip_in(&req, &auth)).expect_failure();
        assert!(run.stderr.contains("krb5_rd_req"), "{ctx}: {}", run.stderr);
        assert_eq!(client.stats().tgs_requests, 1, "{ctx}: one service ticket for all");
    }
}

/// A keytab with `kt`'s entries for `service`, changed by `change`.
fn variant(kt: &Keytab, service: &Principal, change: impl Fn(&mut KeytabEntry)) -> Keytab {
    let mut out = Keytab::new();
    for entry in kt.entries().iter().filter(|x| &x.principal == service) {
        let mut entry = entry.clone();
        change(&mut entry);
        out.push_entry(entry);
    }
    assert!(!out.is_empty(), "no key for {service}");
    out
}

/// Requests MIT built from tickets MIT's KDC issued, presented to our acceptor: tampered
/// (ticket, authenticator: 31), replayed (34), too late (37: see below), for another key version
/// (44), another enctype (45), a wrong key (31), another service (35).
#[test]
fn ktix_acceptor_rejects_bad_mit_requests() {
    let ap = Ap::new();
    let kt = ap.keytab();
    for e in ENCTYPES {
        let ctx = format!("enctype {e}");
        let svc = per_enctype_service(e);
        let service = Principal::parse(&full(&svc), None).expect("service name");
        let m = ap.mit(e, "bad");
        m.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let req = ap.mit_request_only(&m, &svc);
        let decoded = wire::decode::<ApReq>(&req).expect("MIT's AP-REQ decodes");
        assert_eq!(decoded.ticket.enc_part.kvno, Some(1), "{ctx}");
        let code = |acceptor: &Acceptor, msg: &[u8]| acceptor.accept(msg).map(|_| ()).map_err(|e| e.code());

        // Tampered: a bit flipped in the ticket's cipher, then in the authenticator's.
        let acceptor = ap.acceptor();
        let bad_ticket = flip_in(&req, &decoded.ticket.enc_part.cipher);
        assert_eq!(code(&acceptor, &bad_ticket), Err(ErrorCode::KRB_AP_ERR_BAD_INTEGRITY), "{ctx}: ticket");
        let bad_auth = flip_in(&req, &decoded.authenticator.cipher);
        assert_eq!(code(&acceptor, &bad_auth), Err(ErrorCode::KRB_AP_ERR_BAD_INTEGRITY), "{ctx}: authenticator");

        // Replayed: the refused ones were not remembered; the genuine one once only.
        let accepted = acceptor.accept(&req).unwrap_or_else(|err| panic!("{ctx}: {err}"));
        assert_eq!(code(&acceptor, &req), Err(ErrorCode::KRB_AP_ERR_REPEAT), "{ctx}: replay");
        // Replayed to another acceptor object of the same service: one replay cache per service.
        assert_eq!(code(&ap.acceptor(), &req), Err(ErrorCode::KRB_AP_ERR_REPEAT), "{ctx}: a fresh acceptor");

        // After the ticket's end plus the skew: our acceptor checks the authenticator's time
        // against now before the ticket's times (src/acceptor/mod.rs), and the authenticator,
        // made now, is as old as the ticket is long: KRB_AP_ERR_SKEW. (A ticket that really
        // expired with a fresh authenticator is KRB_AP_ERR_TKT_EXPIRED: see
        // ktix_acceptor_rejects_expired_mit_ticket.)
        let late = accepted.end_time.plus_secs(300 + 1);
        let err = ap.acceptor().accept_at(&req, late).expect_err("too late");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_SKEW, "{ctx}: {err}");
        // Before the ticket's start minus the skew: the same order, the same code.
        let early = accepted.start_time.minus_secs(300 + 1);
        assert_eq!(
            ap.acceptor().accept_at(&req, early).map(|_| ()).map_err(|e| e.code()),
            Err(ErrorCode::KRB_AP_ERR_SKEW)
        );

        // Another key version: the keys of kvno 2 only.
        let kvno2 = variant(&kt, &service, |x| x.kvno = 2);
        let err = Acceptor::new(kvno2).accept(&req).expect_err("kvno 2 keytab");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_BADKEYVER, "{ctx}: {err}");
        // The right version, another enctype: NOKEY; the right enctype, a wrong key: integrity.
        let other = Enctype::from_i32(if e == 17 { 18 } else { 17 }).expect("enctype");
        let other_enctype = variant(&kt, &service, |x| {
            let key = Key::random(other).expect("random key");
            *x = KeytabEntry { principal: x.principal.clone(), timestamp: x.timestamp, kvno: x.kvno, key: key.into() };
        });
        let err = Acceptor::new(other_enctype).accept(&req).expect_err("no key of that enctype");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_NOKEY, "{ctx}: {err}");
        let own = Enctype::from_i32(e).expect("enctype");
        let wrong_key = variant(&kt, &service, |x| {
            let key = Key::random(own).expect("random key");
            *x = KeytabEntry { principal: x.principal.clone(), timestamp: x.timestamp, kvno: x.kvno, key: key.into() };
        });
        let err = Acceptor::new(wrong_key).accept(&req).expect_err("a wrong key");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{ctx}: {err}");

        // Not our service: the acceptor is configured for another one, or its keytab lacks it.
        let config = AcceptorConfig {
            service: Some(Principal::parse(SERVICE, Some(REALM)).expect("name")),
            ..AcceptorConfig::default()
        };
        let err = Acceptor::with_config(ap.keytab(), config, Arc::new(SystemClock)).accept(&req).expect_err("not us");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_NOT_US, "{ctx}: {err}");
        let server_only = Keytab::load(ap.kdc.server_keytab().to_str().expect("UTF-8")).expect("server.keytab");
        let err = Acceptor::new(server_only).accept(&req).expect_err("not in the keytab");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_NOT_US, "{ctx}: {err}");
    }
}

/// A ticket MIT's KDC issued for 4 s, used by MIT after it ended (apreq gets the service ticket
/// at once, then waits until 4 s past its end to build the request, so the authenticator is
/// fresh): KRB_AP_ERR_TKT_EXPIRED with a 2 s skew; accepted by an acceptor allowing the default
/// 300 s.
#[test]
fn ktix_acceptor_rejects_expired_mit_ticket() {
    let ap = Ap::new();
    let mut waiting = Vec::new();
    for e in ENCTYPES {
        let m = ap.mit(e, "short");
        m.kinit_password(&["-l", "4s"], "alice", ALICE_PW).expect_ok();
        let p = m.spawn(&ap.apreq, &["mkreq", &per_enctype_service(e), "+4"]);
        waiting.push((e, m, p));
    }
    let strict = AcceptorConfig { clock_skew: 2, ..AcceptorConfig::default() };
    for (e, m, mut p) in waiting {
        let ctx = format!("enctype {e}");
        let line = p.read_line();
        let req = hex::decode(line.strip_prefix("apreq ").expect("an AP-REQ line")).expect("hex");
        let now = Time::now();
        let strict_acceptor = Acceptor::with_config(ap.keytab(), strict.clone(), Arc::new(SystemClock));
        let err = strict_acceptor.accept_at(&req, now).expect_err("an expired ticket");
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED, "{ctx}: {err}");
        let acc = ap.acceptor().accept_at(&req, now).unwrap_or_else(|err| panic!("{ctx}: within 300 s: {err}"));
        assert!(acc.end_time.plus_secs(2) < now, "{ctx}: the ticket had ended");
        // The TGT lived 4 s (less when the KDC's clock had moved on from kinit's), and the
        // service ticket ended with it.
        let tickets = m.klist();
        let tgt = tickets.iter().find(|t| t.service == KRBTGT).expect("the TGT in the cache");
        assert!((1..=4).contains(&(tgt.expires - tgt.start)), "{ctx}: {tickets:#?}");
        assert_eq!(acc.end_time.unix(), tgt.expires, "{ctx}");
        p.write_line("skip");
        p.finish().expect_ok();
    }
}
