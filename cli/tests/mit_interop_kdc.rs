//! MIT krb5's own client programs (`kinit`, `klist`, `kvno`; Debian `krb5-user`) against the built
//! `ktix kdc serve`, for each enctype 17, 18, 19, 20, over UDP and TCP; MIT's `krb5kdc` once
//! beside it for the same failures; and bad network input sent to the running server before a
//! real `kinit`. The harness (realm, server guard, krb5.conf, command runner, klist parser) is in
//! `tests/mit/mod.rs`.

mod mit;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use ktix::internals::wire::{self, KrbError};
use ktix::ErrorCode;

use mit::ServedRealm;
use mit::{enctype_name, show, unix_now, KlistTicket, Krb5Conf, LogLine, Mit, MitKdc, ALICE_PW, KRBTGT, SERVICE};

const ENCTYPES: [i32; 4] = [17, 18, 19, 20];
const HOURS_8: i64 = 8 * 3600;
const WRONG_PASSWORD: &str = "kinit: Password incorrect while getting initial credentials";
const SERVICE_FULL: &str = "host/server.ktix.test@KTIX.TEST";

/// The served realm ([`ServedRealm`], with MIT's realm policy) and MIT commands against it.
struct Setup(ServedRealm);

impl std::ops::Deref for Setup {
    type Target = ServedRealm;
    fn deref(&self) -> &ServedRealm {
        &self.0
    }
}

impl std::ops::DerefMut for Setup {
    fn deref_mut(&mut self) -> &mut ServedRealm {
        &mut self.0
    }
}

impl Setup {
    fn new() -> Setup {
        mit::require_mit_client();
        Setup(ServedRealm::start())
    }

    /// MIT commands restricted to `enctype`, over TCP when `tcp`, with their own cache.
    fn mit(&self, enctype: i32, tcp: bool) -> Mit {
        let tag = format!("{enctype}-{}", if tcp { "tcp" } else { "udp" });
        let conf = self.path(&format!("krb5-{tag}.conf"));
        Krb5Conf::new(self.kdc.addr()).enctypes(&[enctype]).tcp(tcp).write(&conf);
        Mit::new(&conf, &self.path(&format!("cc-{tag}")))
    }
}

fn transport(tcp: bool) -> &'static str {
    if tcp {
        "tcp"
    } else {
        "udp"
    }
}

fn find<'a>(tickets: &'a [KlistTicket], service: &str) -> &'a KlistTicket {
    tickets.iter().find(|t| t.service == service).unwrap_or_else(|| panic!("no ticket for {service} in {tickets:#?}"))
}

/// Every line went over `tcp`/udp.
fn assert_transport(lines: &[LogLine], tcp: bool) {
    assert!(
        lines.iter().all(|l| l.transport == transport(tcp)),
        "expected only {} lines:\n{}",
        transport(tcp),
        show(lines)
    );
}

fn has(lines: &[LogLine], exchange: &str, service: &str, result: &str) -> bool {
    lines.iter().any(|l| l.exchange == exchange && l.service == service && l.result == result)
}

/// MIT `kinit alice` with the password on stdin; `klist -e -f` shows the TGT with the enctype,
/// flags F, I, A and 8 hours; `kvno` gets a service ticket and `klist` shows it; a wrong password
/// fails with MIT's message. For each enctype, over UDP and over TCP.
#[test]
fn kinit_klist_kvno_and_wrong_password_for_each_enctype_over_udp_and_tcp() {
    let mut s = Setup::new();
    for enctype in ENCTYPES {
        let name = enctype_name(enctype);
        for tcp in [false, true] {
            let ctx = format!("enctype {enctype} over {}", transport(tcp));
            let mit = s.mit(enctype, tcp);

            let mark = s.kdc.mark();
            let before = unix_now();
            mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
            let after = unix_now();
            let lines = s.kdc.wait_lines(mark, "the AS exchange", |l| has(l, "AS", KRBTGT, "KDC_ERR_NONE"));
            assert_transport(&lines, tcp);
            assert!(
                has(&lines, "AS", KRBTGT, "KDC_ERR_PREAUTH_REQUIRED"),
                "{ctx}: no preauth round:\n{}",
                show(&lines)
            );
            assert!(lines.iter().any(|l| l.result == "KDC_ERR_NONE" && l.etype == name), "{ctx}:\n{}", show(&lines));

            let tickets = mit.klist();
            assert_eq!(tickets.len(), 1, "{ctx}: {tickets:#?}");
            let tgt = find(&tickets, KRBTGT);
            assert_eq!(tgt.skey_etype, name, "{ctx}: {tgt:?}");
            assert!(ENCTYPES.iter().any(|&e| enctype_name(e) == tgt.ticket_etype), "{ctx}: {tgt:?}");
            assert!(tgt.has_flags("FIA"), "{ctx}: flags {:?}", tgt.flags);
            assert_eq!(tgt.expires - tgt.start, HOURS_8, "{ctx}: {tgt:?}");
            assert!(tgt.start >= before - 2 && tgt.start <= after + 2, "{ctx}: start {} not now", tgt.start);

            let mark = s.kdc.mark();
            let run = mit.run("kvno", &[SERVICE], "").expect_ok();
            assert_eq!(run.stdout.trim(), format!("{SERVICE_FULL}: kvno = 1"), "{ctx}");
            let lines = s.kdc.wait_lines(mark, "the TGS exchange", |l| has(l, "TGS", SERVICE_FULL, "KDC_ERR_NONE"));
            assert_transport(&lines, tcp);
            assert!(lines.iter().all(|l| l.client == "alice@KTIX.TEST" && l.etype == name), "{ctx}:\n{}", show(&lines));
            let tickets = mit.klist();
            assert_eq!(tickets.len(), 2, "{ctx}: {tickets:#?}");
            let st = find(&tickets, SERVICE_FULL);
            assert_eq!(st.skey_etype, name, "{ctx}: {st:?}");
            assert!(st.has_flags("FA") && !st.flags.contains('I'), "{ctx}: service ticket flags {:?}", st.flags);
            assert_eq!(st.expires, find(&tickets, KRBTGT).expires, "{ctx}: the service ticket ends with the TGT");

            let mark = s.kdc.mark();
            let run = mit.kinit_password(&[], "alice", "not-alices-password").expect_failure();
            assert_eq!(run.error_line(), WRONG_PASSWORD, "{ctx}: {}", run.stderr);
            let lines =
                s.kdc.wait_lines(mark, "the failed preauth", |l| has(l, "AS", KRBTGT, "KDC_ERR_PREAUTH_FAILED"));
            assert_transport(&lines, tcp);
            assert!(!lines.iter().any(|l| l.result == "KDC_ERR_NONE"), "{ctx}:\n{}", show(&lines));
        }
    }
    let status = s.kdc.stop();
    assert!(status.success(), "ktix kdc serve did not stop cleanly on SIGTERM: {status}");
}

/// MIT `kinit -k -t` with keytabs written by `ktix db ktadd`: once, again into the same file and
/// into a second one (both work, the keys unchanged), for each enctype; then `--randkey` makes
/// kvno 2, which MIT picks from the keytab, and the old-key keytab stops working. MIT's
/// `kvno -k` decrypts our service ticket with our keytab.
#[test]
fn kinit_with_keytabs_from_ktix_ktadd() {
    let s = Setup::new();
    let kt1 = s.path("service.keytab");
    let kt2 = s.path("service2.keytab");
    assert!(s.realm.ktadd(SERVICE, &kt1, false).contains("exported 4 keys"));
    assert!(s.realm.ktadd(SERVICE, &kt1, false).contains("exported 4 keys"), "a second export into the same file");
    assert!(s.realm.ktadd(SERVICE, &kt2, false).contains("exported 4 keys"), "a second export into a new file");
    assert!(
        s.realm.list().contains(&format!("{SERVICE_FULL}\tkvno=1\t")),
        "ktadd changed the keys:\n{}",
        s.realm.list()
    );

    let plain = Krb5Conf::new(s.kdc.addr());
    let plain_conf = s.path("krb5-all.conf");
    plain.write(&plain_conf);
    let any = Mit::new(&plain_conf, &s.path("cc-any"));
    for kt in [&kt1, &kt2] {
        let listing = any.run("klist", &["-k", "-e", kt.to_str().expect("UTF-8")], "").expect_ok().stdout;
        for enctype in ENCTYPES {
            let want = format!("   1 {SERVICE_FULL} ({})", enctype_name(enctype));
            assert!(listing.lines().any(|l| l.trim_end() == want), "MIT klist -k of {}:\n{listing}", kt.display());
        }
    }

    for enctype in ENCTYPES {
        for (kt, tcp) in [(&kt1, false), (&kt2, true)] {
            let ctx = format!("enctype {enctype}, {}", kt.display());
            let mit = s.mit(enctype, tcp);
            let mark = s.kdc.mark();
            let run = mit.run("kinit", &["-k", "-t", kt.to_str().expect("UTF-8"), SERVICE], "");
            run.expect_ok();
            let lines = s.kdc.wait_lines(mark, "the keytab AS exchange", |l| has(l, "AS", KRBTGT, "KDC_ERR_NONE"));
            assert_transport(&lines, tcp);
            assert!(lines.iter().all(|l| l.client == SERVICE_FULL), "{ctx}:\n{}", show(&lines));
            let tickets = mit.klist();
            let tgt = find(&tickets, KRBTGT);
            assert_eq!(tgt.skey_etype, enctype_name(enctype), "{ctx}: {tgt:?}");
            assert!(tgt.has_flags("IA"), "{ctx}: {tgt:?}");
            assert_eq!(tgt.expires - tgt.start, HOURS_8, "{ctx}: {tgt:?}");
        }
    }

    // MIT decrypts the service ticket we issue with the keys we exported.
    any.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    let run = any.run("kvno", &["-k", kt1.to_str().expect("UTF-8"), SERVICE], "").expect_ok();
    assert!(run.stdout.contains("kvno = 1, keytab entry valid"), "{}", run.stdout);

    // New keys: kvno 2 added to the first keytab; MIT takes the newest kvno from it.
    assert!(s.realm.ktadd(SERVICE, &kt1, true).contains("(kvno 2)"));
    let listing = any.run("klist", &["-k", kt1.to_str().expect("UTF-8")], "").expect_ok().stdout;
    assert_eq!(listing.lines().filter(|l| l.trim_start().starts_with("2 ")).count(), 4, "{listing}");
    let svc = any.with_ccache(&s.path("cc-svc"));
    svc.run("kinit", &["-k", "-t", kt1.to_str().expect("UTF-8"), SERVICE], "").expect_ok();
    let stale = svc.run("kinit", &["-k", "-t", kt2.to_str().expect("UTF-8"), SERVICE], "").expect_failure();
    assert!(!stale.error_line().is_empty(), "{stale:?}");
    any.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    let run = any.run("kvno", &["-k", kt1.to_str().expect("UTF-8"), SERVICE], "").expect_ok();
    assert!(run.stdout.contains("kvno = 2, keytab entry valid"), "{}", run.stdout);
}

/// `kinit -r 2d` then `kinit -R`: a renewed TGT (new ticket, start not earlier, same renew-until,
/// 8 hours from the renewal) from a TGS exchange on krbtgt in the KDC log. For each enctype, over
/// UDP and TCP.
#[test]
fn kinit_renew_for_each_enctype_over_udp_and_tcp() {
    let s = Setup::new();
    let mut first = true;
    for enctype in ENCTYPES {
        let name = enctype_name(enctype);
        for tcp in [false, true] {
            let ctx = format!("enctype {enctype} over {}", transport(tcp));
            let mit = s.mit(enctype, tcp);
            mit.kinit_password(&["-r", "2d"], "alice", ALICE_PW).expect_ok();
            let old = find(&mit.klist(), KRBTGT).clone();
            assert!(old.has_flags("FRIA"), "{ctx}: {old:?}");
            // kinit asks for "now + 2 d" by its clock; the ticket starts at the KDC's authtime,
            // which may be a second later.
            let renewable = old.renew_until.map(|r| r - old.start);
            assert!(renewable.is_some_and(|r| (2 * 86400 - 2..=2 * 86400).contains(&r)), "{ctx}: {old:?}");
            let cache_before = std::fs::read(&mit.ccache).expect("read the cache");
            if first {
                // Once, let the clock move on so the renewal's new start time shows.
                std::thread::sleep(Duration::from_millis(1100));
            }

            let mark = s.kdc.mark();
            mit.run("kinit", &["-R"], "").expect_ok();
            let lines = s.kdc.wait_lines(mark, "the renewal", |l| has(l, "TGS", KRBTGT, "KDC_ERR_NONE"));
            assert_transport(&lines, tcp);
            assert!(
                lines.iter().any(|l| l.exchange == "TGS" && l.client == "alice@KTIX.TEST" && l.etype == name),
                "{ctx}:\n{}",
                show(&lines)
            );
            assert!(
                !lines.iter().any(|l| l.exchange == "AS"),
                "{ctx}: renewal must not log in again:\n{}",
                show(&lines)
            );

            let tickets = mit.klist();
            assert_eq!(tickets.len(), 1, "{ctx}: {tickets:#?}");
            let new = find(&tickets, KRBTGT);
            assert!(new.start >= old.start, "{ctx}: renewed start {} before the old {}", new.start, old.start);
            if first {
                assert!(new.start > old.start, "{ctx}: the renewed ticket starts later: {old:?} {new:?}");
            }
            assert_eq!(new.expires - new.start, HOURS_8, "{ctx}: {new:?}");
            assert_eq!(new.renew_until, old.renew_until, "{ctx}");
            assert!(new.has_flags("FRIA"), "{ctx}: {new:?}");
            assert_eq!(new.skey_etype, name, "{ctx}");
            assert_ne!(std::fs::read(&mit.ccache).expect("read the cache"), cache_before, "{ctx}: same ticket");
            first = false;
        }
    }
}

/// A wrong password fails against ktix exactly as against MIT's own `krb5kdc` (same message, same
/// exit), and a good one gets a TGT with the same flags and lifetime from both.
#[test]
fn wrong_password_fails_as_with_mit_krb5kdc() {
    let s = Setup::new();
    let mit_kdc = MitKdc::start(&s.path("mit-realm"));
    for enctype in ENCTYPES {
        let conf_ktix = s.path(&format!("krb5-cmp-ktix-{enctype}.conf"));
        let conf_mit = s.path(&format!("krb5-cmp-mit-{enctype}.conf"));
        Krb5Conf::new(s.kdc.addr()).enctypes(&[enctype]).write(&conf_ktix);
        Krb5Conf::new(mit_kdc.addr()).enctypes(&[enctype]).write(&conf_mit);
        let ours = Mit::new(&conf_ktix, &s.path(&format!("cc-cmp-ktix-{enctype}")));
        let theirs = Mit::new(&conf_mit, &s.path(&format!("cc-cmp-mit-{enctype}")));

        let a = ours.kinit_password(&[], "alice", "wrong").expect_failure();
        let b = theirs.kinit_password(&[], "alice", "wrong").expect_failure();
        assert_eq!(b.error_line(), WRONG_PASSWORD, "MIT's krb5kdc: {}\n{}", b.stderr, mit_kdc.log());
        assert_eq!(a.stderr.trim(), b.stderr.trim(), "enctype {enctype}: ktix vs MIT krb5kdc");
        assert_eq!(a.stdout.trim(), b.stdout.trim(), "enctype {enctype}: the prompt");

        ours.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        theirs.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let (a, b) = (ours.klist(), theirs.klist());
        let (a, b) = (find(&a, KRBTGT), find(&b, KRBTGT));
        assert_eq!(a.flags, b.flags, "enctype {enctype}: TGT flags, ktix vs MIT");
        assert_eq!(a.expires - a.start, b.expires - b.start, "enctype {enctype}: TGT lifetime, ktix vs MIT");
        assert_eq!(a.skey_etype, b.skey_etype, "enctype {enctype}");
    }
    assert!(mit_kdc.log().contains("PREAUTH_FAILED: alice@KTIX.TEST"), "{}", mit_kdc.log());
}

// ----- bad input -------------------------------------------------------------------------------

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to the KDC");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("set a read timeout");
    s
}

/// Reads one length-prefixed reply.
fn read_reply(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("a reply length");
    let n = u32::from_be_bytes(len) as usize;
    assert!(n < 65536, "reply length {n}");
    let mut reply = vec![0u8; n];
    s.read_exact(&mut reply).expect("the reply");
    reply
}

/// The server closes `s` (EOF or reset) within `within`, having sent nothing more.
fn expect_closed(s: &mut TcpStream, within: Duration) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => panic!("expected the connection closed, got {n} bytes"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                assert!(Instant::now() < deadline, "the server kept the connection open for {within:?}");
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return, // reset
        }
    }
}

fn krb_error_code(reply: &[u8]) -> i32 {
    wire::decode::<KrbError>(reply).unwrap_or_else(|e| panic!("not a KRB-ERROR ({e}): {reply:02x?}")).error_code
}

/// Garbage datagrams, garbage TCP, truncated frames, oversized and reserved-bit length prefixes,
/// and slow-loris connections held open: the server answers what deserves an answer with a
/// KRB-ERROR, closes what must be closed, and a real MIT `kinit` (UDP and TCP) still succeeds
/// while the slow connections are held. It stops cleanly afterwards.
#[test]
fn bad_input_then_mit_kinit_still_works() {
    let mut s = Setup::new();
    let addr = s.kdc.addr();

    // Garbage over UDP: only what is shaped like a request (first byte 0x6a/0x6c) gets a
    // KRB-ERROR (generic, or "not a KDC message type"); anything else gets no reply at all.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    udp.set_read_timeout(Some(Duration::from_secs(5))).expect("udp timeout");
    let mut pseudo = 0x2545_f491_u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                pseudo ^= pseudo << 13;
                pseudo ^= pseudo >> 17;
                pseudo ^= pseudo << 5;
                pseudo as u8
            })
            .collect()
    };
    let as_req_prefix = [0x6a, 0x82, 0x01, 0x00, 0x30, 0x82];
    let mut garbage: Vec<Vec<u8>> = vec![b"hello, kdc".to_vec(), vec![0xff; 300], as_req_prefix.to_vec(), vec![0x6c]];
    garbage.extend((0..8).map(|i| noise(1 + i * 97)));
    let shaped = |g: &[u8]| matches!(g.first(), Some(0x6a | 0x6c));
    let mut buf = vec![0u8; 4096];
    let mut own_error = Vec::new();
    for g in garbage.iter().filter(|g| shaped(g)) {
        udp.send_to(g, addr).expect("send a datagram");
        let (n, from) = udp.recv_from(&mut buf).expect("a reply to a malformed request");
        assert_eq!(from, addr);
        let code = krb_error_code(&buf[..n]);
        assert!(code == 40 || code == 60, "garbage {g:02x?} got error {code}");
        own_error = buf[..n].to_vec();
    }
    // The unshaped ones, and the KDC's own KRB-ERROR sent back to it: silence.
    for g in garbage.iter().filter(|g| !shaped(g)).chain([&own_error]) {
        udp.send_to(g, addr).expect("send a datagram");
    }
    udp.set_read_timeout(Some(Duration::from_millis(500))).expect("udp timeout");
    if let Ok((n, _)) = udp.recv_from(&mut buf) {
        panic!("a reply to input that is not a request: {:02x?}", &buf[..n]);
    }

    // Over TCP, two malformed requests at once on one connection: two KRB-ERRORs, then EOF from
    // us closes it.
    let mut c = connect(addr);
    let mut both = frame(&as_req_prefix);
    let mut tgs_like = noise(500);
    tgs_like[0] = 0x6c;
    both.extend(frame(&tgs_like));
    c.write_all(&both).expect("send");
    for _ in 0..2 {
        let code = krb_error_code(&read_reply(&mut c));
        assert!(code == 40 || code == 60, "{code}");
    }
    c.shutdown(Shutdown::Write).expect("shutdown");
    expect_closed(&mut c, Duration::from_secs(5));
    // A frame that is not a request: no reply, the connection is closed.
    let mut c = connect(addr);
    c.write_all(&frame(b"garbage one")).expect("send");
    expect_closed(&mut c, Duration::from_secs(5));

    // Raw bytes with no sensible length prefix ("GET / HTTP/1.0": 1.2 GB announced): closed.
    let mut c = connect(addr);
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
    expect_closed(&mut c, Duration::from_secs(5));

    // Truncated frames: 300 bytes announced, 40 sent, then EOF; and one cut inside the prefix.
    let mut c = connect(addr);
    c.write_all(&[0, 0, 1, 44]).expect("send");
    c.write_all(&as_req_prefix).expect("send");
    c.write_all(&noise(34)).expect("send");
    c.shutdown(Shutdown::Write).expect("shutdown");
    expect_closed(&mut c, Duration::from_secs(5));
    let mut c = connect(addr);
    c.write_all(&[0, 0]).expect("send");
    c.shutdown(Shutdown::Write).expect("shutdown");
    expect_closed(&mut c, Duration::from_secs(5));

    // Oversized: 1 MiB and 2^31 - 1 announced (over the 64 KiB limit): closed without reading on.
    for len in [0x0010_0000u32, 0x7fff_ffff] {
        let mut c = connect(addr);
        c.write_all(&len.to_be_bytes()).expect("send");
        let _ = c.write_all(&noise(1000));
        expect_closed(&mut c, Duration::from_secs(5));
    }
    // The reserved high bit: KRB_ERR_FIELD_TOOLONG (RFC 4120 §7.2.2), then closed.
    let mut c = connect(addr);
    c.write_all(&0xffff_ffffu32.to_be_bytes()).expect("send");
    assert_eq!(krb_error_code(&read_reply(&mut c)), ErrorCode::KRB_ERR_FIELD_TOOLONG.code());
    expect_closed(&mut c, Duration::from_secs(5));

    // Slow loris: connections that send 2 bytes of a length prefix and then nothing, held open
    // (more of them than the server has workers), a fresh batch before each real login, over UDP
    // and over TCP. The server's read timeout is 10 s; a batch younger than that when its login
    // is done must still be open, so the login was served while it was held.
    let mut batches: Vec<(Instant, Vec<TcpStream>)> = Vec::new();
    for (enctype, tcp) in [(18, false), (20, true)] {
        let since = Instant::now();
        let mut slow: Vec<TcpStream> = (0..8)
            .map(|_| {
                let mut c = connect(addr);
                c.write_all(&[0, 0]).expect("send 2 bytes");
                c
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));

        let mit = s.mit(enctype, tcp);
        let mark = s.kdc.mark();
        mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let lines = s.kdc.wait_lines(mark, "the login", |l| has(l, "AS", KRBTGT, "KDC_ERR_NONE"));
        assert_transport(&lines, tcp);
        assert_eq!(find(&mit.klist(), KRBTGT).skey_etype, enctype_name(enctype));
        mit.run("kvno", &[SERVICE], "").expect_ok();

        let age = since.elapsed();
        for c in &mut slow {
            let mut b = [0u8; 1];
            c.set_nonblocking(true).expect("nonblocking");
            let state = c.read(&mut b);
            c.set_nonblocking(false).expect("blocking");
            match state {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // Only a batch older than the read timeout (a very loaded machine) may be gone.
                other => assert!(age >= Duration::from_secs(9), "a slow connection ended after {age:?}: {other:?}"),
            }
        }
        batches.push((since, slow));
    }
    // The server gives up on them after its per-request read timeout (10 s).
    for (since, slow) in &mut batches {
        for c in slow {
            let left = Duration::from_secs(25).saturating_sub(since.elapsed());
            expect_closed(c, left.max(Duration::from_millis(100)));
        }
    }

    assert!(s.kdc.is_running(), "the server died:\n{}", s.kdc.log());
    let after = s.mit(17, true);
    after.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    let log = s.kdc.log();
    assert!(!log.contains("panic"), "{log}");
    let status = s.kdc.stop();
    assert!(status.success(), "ktix kdc serve did not stop cleanly: {status}\n{}", s.kdc.log());
    assert!(s.kdc.log().contains("ktix kdc: stopping"));
    assert!(Path::new(s.realm.db()).exists());
}

/// kdc.conf's `kdc_max_dgram_reply_size` is honoured: with 400 bytes, the AS-REP (a ticket is
/// bigger) is replaced over UDP by KRB_ERR_RESPONSE_TOO_BIG, and MIT's `kinit`, configured for
/// UDP, gets its ticket by asking again over TCP.
#[test]
fn mit_kinit_retries_over_tcp_when_the_reply_is_too_big_for_udp() {
    mit::require_mit_client();
    let dir = tempfile::tempdir().expect("temporary directory");
    let realm = mit::KtixRealm::init(dir.path());
    realm.add_password("alice", ALICE_PW);
    let conf = dir.path().join("kdc.conf");
    std::fs::write(&conf, format!("[kdcdefaults]\n  kdc_max_dgram_reply_size = 400\n{}", mit::KDC_CONF))
        .expect("write kdc.conf");
    let conf_arg = conf.to_str().expect("UTF-8 path");
    let kdc = mit::KtixKdc::serve(&realm, &["--config", conf_arg], &dir.path().join("kdc.log"));
    let krb5_conf = dir.path().join("krb5.conf");
    Krb5Conf::new(kdc.addr()).enctypes(&[18]).tcp(false).write(&krb5_conf);
    let mit = Mit::new(&krb5_conf, &dir.path().join("cc"));
    let mark = kdc.mark();
    mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    let lines = kdc.wait_lines(mark, "the AS exchange", |l| has(l, "AS", KRBTGT, "KDC_ERR_NONE"));
    assert!(
        lines.iter().any(|l| l.transport == "udp" && l.result == "KRB_ERR_RESPONSE_TOO_BIG"),
        "the AS-REP was too big for UDP:\n{}",
        show(&lines)
    );
    assert!(
        lines.iter().any(|l| l.transport == "tcp" && l.result == "KDC_ERR_NONE"),
        "the ticket came over TCP:\n{}",
        show(&lines)
    );
    assert!(!lines.iter().any(|l| l.transport == "udp" && l.result == "KDC_ERR_NONE"), "{}", show(&lines));
    assert_eq!(find(&mit.klist(), KRBTGT).skey_etype, enctype_name(18));
}
