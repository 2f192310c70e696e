//! The KDC network server and the client's network transport, over real loopback sockets.
//!
//! Every wait is bounded: sockets carry read timeouts and polls give up after a few seconds.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ktix::internals::wire::{self, KrbError};
use ktix::kdc::{
    MemoryStore, Policy, PrincipalEntry, PrincipalStore, Protocol, RequestLog, RequestLogger, ServerStats,
};
use ktix::{
    Acceptor, CCache, Client, ClientConfig, Error, ErrorCode, Kdc, KdcServer, Network, Principal, RealmPolicy,
    Recording, ServerConfig, Time, Transport,
};
use parking_lot::Mutex;

const REALM: &str = "KTIX.TEST";
const SERVICE: &str = "host/server.ktix.test";
const ALICE_PW: &str = "alice-pw";
const WAIT: Duration = Duration::from_secs(5);

fn kdc() -> Arc<Kdc> {
    let kdc = Kdc::new(REALM).unwrap();
    kdc.add_principal("alice", Some(ALICE_PW)).unwrap();
    kdc.add_principal(SERVICE, None).unwrap();
    Arc::new(kdc)
}

type Logs = Arc<Mutex<Vec<RequestLog>>>;

/// A logger that keeps every entry.
fn capture() -> (RequestLogger, Logs) {
    let logs: Logs = Arc::default();
    let sink = logs.clone();
    (Arc::new(move |e: &RequestLog| sink.lock().push(e.clone())), logs)
}

fn config(logger: RequestLogger) -> ServerConfig {
    ServerConfig { workers: 2, tcp_read_timeout: Duration::from_secs(3), logger, ..Default::default() }
}

/// A server on `127.0.0.1:0` with captured logs.
fn serve(tweak: impl FnOnce(&mut ServerConfig)) -> (KdcServer, Logs) {
    let (logger, logs) = capture();
    let mut cfg = config(logger);
    tweak(&mut cfg);
    (KdcServer::start(kdc(), &["127.0.0.1:0"], cfg).unwrap(), logs)
}

fn network(server: &KdcServer) -> Network {
    Network::new(vec![server.address()])
        .with_udp_timeout(Duration::from_secs(2))
        .with_tcp_timeout(Duration::from_secs(3))
}

fn client(net: Network) -> Client {
    Client::new(ClientConfig::new(REALM), Arc::new(net), CCache::memory())
}

/// Login, service ticket, AP-REQ accepted by the service, AP-REP verified.
fn full_flow(server: &KdcServer, net: Network) -> Client {
    let client = client(net);
    let tgt = client.login("alice", ALICE_PW).unwrap();
    assert_eq!(tgt.server.to_string(), format!("krbtgt/{REALM}@{REALM}"));
    let keytab = server.kdc().keytab(SERVICE, ktix::Time::now()).unwrap();
    let (ap_req, mut ctx) = client.ap_req(SERVICE, true).unwrap();
    let accepted = Acceptor::new(keytab).accept(&ap_req).unwrap();
    assert_eq!(accepted.client.to_string(), format!("alice@{REALM}"));
    ctx.verify(accepted.ap_rep.as_deref().unwrap()).unwrap();
    client
}

/// Waits until `done` holds (bounded).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The log entries once there are at least `n` (log lines are written after the reply is sent).
fn logs_after(logs: &Logs, n: usize) -> Vec<RequestLog> {
    wait_until(&format!("{n} log lines"), || logs.lock().len() >= n);
    // Each worker logs after it has replied, so two workers may append out of order: the
    // order of the requests is the order of their processing times.
    let mut lines = logs.lock().clone();
    lines.sort_by_key(|l| l.time);
    lines
}

fn stats(server: &KdcServer) -> ServerStats {
    server.stats()
}

fn connect(server: &KdcServer) -> TcpStream {
    let s = TcpStream::connect(server.local_addrs()[0]).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(msg);
    f
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let n = u32::from_be_bytes(len);
    assert_eq!(n & 0x8000_0000, 0);
    let mut msg = vec![0u8; n as usize];
    s.read_exact(&mut msg).unwrap();
    msg
}

/// The server closed the connection (FIN, or a reset when it had unread input).
fn expect_closed(s: &mut TcpStream) {
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => {}
        Ok(n) => panic!("expected the connection closed, got {n} bytes"),
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {}
        Err(e) => panic!("expected the connection closed, got {e}"),
    }
}

fn krb_error_code(reply: &[u8]) -> i32 {
    wire::decode::<KrbError>(reply).expect("a KRB-ERROR").error_code
}

fn lines(logs: &[RequestLog]) -> String {
    logs.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn login_and_ap_req_over_udp() {
    let (server, logs) = serve(|_| {});
    full_flow(&server, network(&server));
    let logs = logs_after(&logs, 3);
    let text = lines(&logs);
    assert_eq!(logs.len(), 3, "{text}");
    assert!(logs.iter().all(|l| l.transport == Protocol::Udp), "{text}");
    let results: Vec<_> = logs.iter().map(|l| (l.facts.kind.as_str(), l.facts.code)).collect();
    assert_eq!(
        results,
        [
            ("AS", ErrorCode::KDC_ERR_PREAUTH_REQUIRED),
            ("AS", ErrorCode::KDC_ERR_NONE),
            ("TGS", ErrorCode::KDC_ERR_NONE)
        ],
        "{text}"
    );
    let ok = &logs[1];
    assert_eq!(ok.facts.client.as_ref().unwrap().to_string(), "alice@KTIX.TEST");
    assert_eq!(ok.facts.service.as_ref().unwrap().to_string(), "krbtgt/KTIX.TEST@KTIX.TEST");
    assert!(ok.facts.session_enctype.is_some());
    assert_eq!(logs[2].facts.service.as_ref().unwrap().to_string(), "host/server.ktix.test@KTIX.TEST");
    let line = ok.to_string();
    assert!(line.contains(" udp peer=127.0.0.1:"), "{line}");
    assert!(line.contains(" exchange=AS client=alice@KTIX.TEST service=krbtgt/KTIX.TEST@KTIX.TEST"), "{line}");
    assert!(line.contains(" result=KDC_ERR_NONE etype="), "{line}");
    assert!(line.contains(" us="), "{line}");
    assert_eq!(stats(&server).udp_requests, 3);
}

#[test]
fn login_and_ap_req_over_tcp() {
    let (server, logs) = serve(|_| {});
    full_flow(&server, network(&server).with_udp_preference_limit(1));
    let logs = logs_after(&logs, 3);
    assert_eq!(logs.len(), 3, "{}", lines(&logs));
    assert!(logs.iter().all(|l| l.transport == Protocol::Tcp), "{}", lines(&logs));
    let s = stats(&server);
    assert_eq!((s.tcp_requests, s.udp_requests, s.tcp_aborted), (3, 0, 0));
    wait_until("connections closed", || stats(&server).tcp_open == 0);
}

#[test]
fn login_over_ipv6_loopback() {
    if UdpSocket::bind("[::1]:0").is_err() || TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: IPv6 loopback is not available");
        return;
    }
    let (logger, logs) = capture();
    let server = KdcServer::start(kdc(), &["[::1]:0"], config(logger)).unwrap();
    assert!(server.address().starts_with("[::1]:"), "{}", server.address());
    full_flow(&server, network(&server));
    full_flow(&server, network(&server).with_udp_preference_limit(1));
    let logs = logs_after(&logs, 6);
    assert!(logs.iter().all(|l| l.peer.is_ipv6() && l.facts.code != ErrorCode::KRB_ERR_GENERIC), "{}", lines(&logs));
    assert_eq!(logs.iter().filter(|l| l.transport == Protocol::Udp).count(), 3);
    assert_eq!(logs.iter().filter(|l| l.transport == Protocol::Tcp).count(), 3);
}

#[test]
fn listens_on_several_addresses() {
    let (logger, _logs) = capture();
    let server = KdcServer::start(kdc(), &["127.0.0.1:0", "127.0.0.1:0"], config(logger)).unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    assert_ne!(addrs[0].port(), addrs[1].port());
    for a in addrs {
        let net = Network::new(vec![a.to_string()]);
        client(net).login("alice", ALICE_PW).unwrap();
    }
}

#[test]
fn reply_too_big_for_udp_is_fetched_over_tcp() {
    // Tickets (AS-REP, TGS-REP) are far over 400 bytes; the pre-authentication hint is not.
    let (server, logs) = serve(|c| c.kdc_max_dgram_reply_size = 400);
    full_flow(&server, network(&server));
    let logs = logs_after(&logs, 5);
    let text = lines(&logs);
    let too_big: Vec<_> = logs
        .iter()
        .filter(|l| l.transport == Protocol::Udp && l.facts.code == ErrorCode::KRB_ERR_RESPONSE_TOO_BIG)
        .collect();
    let tcp: Vec<_> = logs.iter().filter(|l| l.transport == Protocol::Tcp).collect();
    assert_eq!(too_big.len(), 2, "one for the AS-REP, one for the TGS-REP:\n{text}");
    assert_eq!(tcp.len(), 2, "{text}");
    assert!(tcp.iter().all(|l| l.facts.code == ErrorCode::KDC_ERR_NONE && l.reply_len > 400), "{text}");
    assert_eq!(tcp.iter().map(|l| l.facts.kind.as_str()).collect::<Vec<_>>(), ["AS", "TGS"], "{text}");
    assert!(
        !logs.iter().any(|l| l.transport == Protocol::Udp && l.facts.code == ErrorCode::KDC_ERR_NONE),
        "no ticket went over udp:\n{text}"
    );
    assert!(too_big
        .iter()
        .all(|l| l.reply_len <= 400 && l.facts.detail.as_deref().unwrap_or("").contains("over the UDP")));
}

/// A small xorshift generator: the test's random bytes, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("random seed {seed:#x}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Nothing arrives on `udp` within a short while.
fn expect_silence(udp: &UdpSocket) {
    udp.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 2048];
    match udp.recv_from(&mut buf) {
        Ok((n, from)) => panic!("unexpected {n}-byte datagram from {from}: {:02x?}", &buf[..n.min(16)]),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{e}"),
    }
    udp.set_read_timeout(Some(WAIT)).unwrap();
}

#[test]
fn only_request_shaped_input_is_ever_answered() {
    let (server, logs) = serve(|_| {});
    let addr = server.local_addrs()[0];
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 4096];

    // A request-shaped but malformed message still gets a KRB-ERROR: the KDC's own KRB-ERROR,
    // to send back to it below.
    udp.send_to(&[0x6a, 0x03, 0x02, 0x01, 0x05], addr).unwrap();
    let (n, from) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(from, addr);
    let own_error = buf[..n].to_vec();
    assert_eq!(own_error[0], 0x7e);
    assert!(krb_error_code(&own_error) == 40 || krb_error_code(&own_error) == 60);
    // And a real AS-REP, captured from a login over the network.
    let rec = Arc::new(Recording::new(network(&server)));
    Client::new(ClientConfig::new(REALM), rec.clone(), CCache::memory()).login("alice", ALICE_PW).unwrap();
    let exchanges = rec.since(0);
    let as_rep = exchanges.last().unwrap().1.clone();
    assert_eq!(as_rep[0], 0x6b);
    // The malformed request and the two of the login (the counter moves after each reply is sent).
    let answered = 3;
    wait_until("three requests answered", || stats(&server).udp_requests == answered);

    // Every first byte but 0x6a/0x6c, with random content and length (1 byte up to 1,400),
    // the KDC's own KRB-ERROR (the loop of CVE-2002-2443), its AS-REP, and classic reflector
    // bait: no reply to any of them.
    let mut rng = Rng::seeded();
    let mut sent = 0u64;
    for first in (0u8..=255).filter(|b| *b != 0x6a && *b != 0x6c) {
        let len = 1 + (rng.next() % 1400) as usize;
        let mut d = rng.bytes(len);
        d[0] = first;
        udp.send_to(&d, addr).unwrap();
        udp.send_to(&[first], addr).unwrap();
        sent += 2;
        if sent.is_multiple_of(32) {
            // Paced, so that none is lost to a full queue or socket buffer.
            wait_until("the datagrams counted as ignored", || stats(&server).ignored == sent);
        }
    }
    for d in [&own_error[..], &as_rep, b"\x30\x00", b"\x7e\x03\x02\x01\x05", b"hello, kdc", &[0xff; 300]] {
        udp.send_to(d, addr).unwrap();
        sent += 1;
    }
    wait_until("the datagrams counted as ignored", || stats(&server).ignored == sent);
    expect_silence(&udp);
    assert_eq!(stats(&server).udp_requests, answered, "none of them was answered");

    // Over TCP: no reply either, and the connection is closed.
    for d in [&own_error[..], &as_rep, b"garbage one", &rng.bytes(40)] {
        let mut s = connect(&server);
        let mut f = frame(d);
        if f[4] == 0x6a || f[4] == 0x6c {
            f[4] = 0x30;
        }
        s.write_all(&f).unwrap();
        expect_closed(&mut s);
        sent += 1;
    }
    // A malformed request still gets its KRB-ERROR over TCP, several on one connection.
    let mut s = connect(&server);
    let mut both = frame(&[0x6a, 0x03, 0x02, 0x01, 0x05]);
    both.extend(frame(&[0x6c, 0x01]));
    s.write_all(&both).unwrap();
    for _ in 0..2 {
        let code = krb_error_code(&read_frame(&mut s));
        assert!(code == 40 || code == 60, "{code}");
    }
    s.shutdown(Shutdown::Write).unwrap();
    expect_closed(&mut s);
    wait_until("the TCP messages counted as ignored", || stats(&server).ignored == sent);
    assert_eq!(stats(&server).tcp_aborted, 0, "closed as ignored, not as aborted");

    // Ignored input is logged at a low rate: one line so far (within the 10 s interval).
    let logs = logs_after(&logs, 1);
    let ignored: Vec<_> = logs.iter().filter(|l| l.reply_len == 0).collect();
    assert_eq!(ignored.len(), 1, "{}", lines(&logs));
    assert!(ignored[0].to_string().contains("no reply"), "{}", ignored[0]);
    // After all that, a normal login still works, over UDP and TCP.
    client(network(&server)).login("alice", ALICE_PW).unwrap();
    client(network(&server).with_udp_preference_limit(1)).login("alice", ALICE_PW).unwrap();
}

#[test]
fn bad_tcp_frames_close_the_connection() {
    let (server, logs) = serve(|_| {});

    // Truncated: 100 bytes announced, 10 sent, then EOF.
    let mut s = connect(&server);
    s.write_all(&[0, 0, 0, 100]).unwrap();
    s.write_all(&[0x6a; 10]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    expect_closed(&mut s);

    // A length over max_request_size (1 MiB > 64 KiB): closed without reading on.
    let mut s = connect(&server);
    s.write_all(&[0x00, 0x10, 0x00, 0x00, 0x6a, 0x6a]).unwrap();
    expect_closed(&mut s);

    // A zero length.
    let mut s = connect(&server);
    s.write_all(&[0, 0, 0, 0]).unwrap();
    expect_closed(&mut s);

    // The reserved high bit: KRB_ERR_FIELD_TOOLONG, then closed (RFC 4120 §7.2.2).
    let mut s = connect(&server);
    s.write_all(&[0x80, 0, 0, 5]).unwrap();
    assert_eq!(krb_error_code(&read_frame(&mut s)), ErrorCode::KRB_ERR_FIELD_TOOLONG.code());
    expect_closed(&mut s);

    wait_until("aborted connections counted", || stats(&server).tcp_aborted == 3);
    let logs = logs_after(&logs, 1);
    assert_eq!(logs.len(), 1, "only the answered request is logged: {}", lines(&logs));
    assert_eq!(logs[0].facts.code, ErrorCode::KRB_ERR_FIELD_TOOLONG);
    wait_until("connections closed", || stats(&server).tcp_open == 0);
    client(network(&server).with_udp_preference_limit(1)).login("alice", ALICE_PW).unwrap();
}

#[test]
fn slow_loris_is_dropped_while_others_are_served() {
    let timeout = Duration::from_millis(600);
    let (server, _logs) = serve(|c| {
        c.workers = 1;
        c.tcp_read_timeout = timeout;
    });
    // Two bytes of a length prefix, then nothing.
    let mut stalled = connect(&server);
    stalled.write_all(&[0, 0]).unwrap();
    let stalled_at = Instant::now();
    // A trickle: one byte every 250 ms, each read well within the timeout, the request never
    // complete: dropped at the per-request deadline.
    let mut trickle = connect(&server);
    let mut trickle_w = trickle.try_clone().unwrap();
    let trickler = thread::spawn(move || {
        for _ in 0..40 {
            if trickle_w.write_all(&[0]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(250));
        }
    });
    let trickle_at = Instant::now();

    // Meanwhile real logins over TCP and UDP succeed.
    let net = network(&server);
    let tcp_login = thread::spawn(move || client(net.with_udp_preference_limit(1)).login("alice", ALICE_PW));
    client(network(&server)).login("alice", ALICE_PW).unwrap();
    tcp_login.join().unwrap().unwrap();

    expect_closed(&mut stalled);
    let waited = stalled_at.elapsed();
    assert!(waited >= timeout - Duration::from_millis(100) && waited < Duration::from_secs(3), "{waited:?}");
    expect_closed(&mut trickle);
    let waited = trickle_at.elapsed();
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    trickler.join().unwrap();
    wait_until("both counted as aborted", || stats(&server).tcp_aborted == 2);
    client(network(&server).with_udp_preference_limit(1)).login("alice", ALICE_PW).unwrap();
}

#[test]
fn idle_connections_cannot_lock_tcp_out() {
    let (server, _logs) = serve(|c| {
        c.max_tcp_connections = 3;
        c.tcp_read_timeout = Duration::from_secs(20);
    });
    // Three idle connections fill the pool (opened one after the other, so their age is known);
    // the oldest one sent half a length prefix, which does not make it any less idle.
    let mut idle = Vec::new();
    for i in 0..3 {
        let mut c = connect(&server);
        if i == 0 {
            c.write_all(&[0, 0]).unwrap();
        }
        idle.push(c);
        wait_until("the connection is open", || stats(&server).tcp_open == i + 1);
        thread::sleep(Duration::from_millis(20));
    }
    // Two more: each closes the one idle the longest, at once.
    let started = Instant::now();
    for _ in 0..2 {
        idle.push(connect(&server));
    }
    expect_closed(&mut idle[0]);
    expect_closed(&mut idle[1]);
    assert!(started.elapsed() < Duration::from_secs(2), "closed at once, not after the timeout");
    wait_until("two evictions", || stats(&server).tcp_evicted == 2);
    assert_eq!(stats(&server).tcp_open, 3);
    // The third is still served: a malformed request on it gets its KRB-ERROR (and it becomes
    // the most recently active).
    idle[2].write_all(&frame(&[0x6a, 0x00])).unwrap();
    let code = krb_error_code(&read_frame(&mut idle[2]));
    assert!(code == 40 || code == 60, "{code}");

    // With the pool full of idle connections, new valid TCP requests are answered.
    full_flow(&server, network(&server).with_udp_preference_limit(1));
    let s = stats(&server);
    assert_eq!(s.tcp_refused, 0, "{s:?}");
    // The first of the client's connections closed the one idle the longest then: the fourth
    // (the third had answered a request after the fourth and fifth arrived); the client closes
    // each connection after its reply, so the others found room.
    assert!(s.tcp_evicted >= 3, "{s:?}");
    // One per exchange of the flow and the malformed one; on a loaded machine a client
    // connection may itself be evicted before its request arrives (the client then retries),
    // so no exact count.
    assert!(s.tcp_requests >= 4 || s.tcp_aborted > 0, "{s:?}");
    expect_closed(&mut idle[3]);
    drop(idle);
    wait_until("connections closed", || stats(&server).tcp_open == 0);
}

/// A store that counts how many lookups run at once (each takes a while).
struct SlowStore {
    inner: MemoryStore,
    now: Mutex<(usize, usize)>,
}

impl PrincipalStore for SlowStore {
    fn get(&self, p: &Principal) -> ktix::Result<Option<Arc<PrincipalEntry>>> {
        {
            let mut n = self.now.lock();
            n.0 += 1;
            n.1 = n.1.max(n.0);
        }
        thread::sleep(Duration::from_millis(15));
        let r = self.inner.get(p);
        self.now.lock().0 -= 1;
        r
    }
    fn put(&self, e: PrincipalEntry) -> ktix::Result<()> {
        self.inner.put(e)
    }
    fn delete(&self, p: &Principal) -> ktix::Result<bool> {
        self.inner.delete(p)
    }
    fn list(&self) -> ktix::Result<Vec<Principal>> {
        self.inner.list()
    }
    fn get_policy(&self, name: &str) -> ktix::Result<Option<Policy>> {
        self.inner.get_policy(name)
    }
    fn put_policy(&self, policy: Policy) -> ktix::Result<()> {
        self.inner.put_policy(policy)
    }
    fn delete_policy(&self, name: &str) -> ktix::Result<bool> {
        self.inner.delete_policy(name)
    }
    fn list_policies(&self) -> ktix::Result<Vec<Policy>> {
        self.inner.list_policies()
    }
    fn record_failure(&self, p: &Principal, policy: &Policy, now: Time) -> ktix::Result<()> {
        self.inner.record_failure(p, policy, now)
    }
    fn clear_failures(&self, p: &Principal) -> ktix::Result<()> {
        self.inner.clear_failures(p)
    }
}

#[test]
fn tcp_and_udp_requests_share_the_workers_budget() {
    let store = Arc::new(SlowStore { inner: MemoryStore::new(), now: Mutex::new((0, 0)) });
    let kdc = Kdc::with_store(REALM, store.clone(), RealmPolicy::default()).unwrap();
    kdc.add_principal("alice", Some(ALICE_PW)).unwrap();
    let (logger, logs) = capture();
    let cfg = ServerConfig { workers: 2, ..config(logger) };
    let server = KdcServer::start(Arc::new(kdc), &["127.0.0.1:0"], cfg).unwrap();
    store.now.lock().1 = 0;
    let addr = server.address();
    // Twelve clients at once, eight of them over TCP (each on its own connection thread).
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let addr = addr.clone();
            thread::spawn(move || {
                let net = Network::new(vec![addr])
                    .with_udp_timeout(Duration::from_secs(3))
                    .with_udp_preference_limit(if i % 3 == 0 { 1465 } else { 1 });
                client(net).login("alice", ALICE_PW).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let logs = logs_after(&logs, 24);
    assert_eq!(logs.iter().filter(|l| l.facts.code == ErrorCode::KDC_ERR_NONE).count(), 12);
    assert_eq!(logs.iter().filter(|l| l.transport == Protocol::Tcp).count(), 16);
    let most = store.now.lock().1;
    assert!((1..=2).contains(&most), "{most} requests were processed at once with 2 workers");
}

#[test]
fn stop_is_prompt_and_frees_the_ports() {
    let (mut server, _logs) = serve(|c| c.tcp_read_timeout = Duration::from_secs(60));
    let addr: SocketAddr = server.local_addrs()[0];
    client(network(&server)).login("alice", ALICE_PW).unwrap();
    // An idle connection that would otherwise hold its thread for a minute.
    let mut idle = connect(&server);
    wait_until("the idle connection is being served", || stats(&server).tcp_open == 1);
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert!(!server.is_running());
    expect_closed(&mut idle);
    server.stop(); // idempotent

    // Nobody answers now: a clear network error naming what was tried.
    let net = Network::new(vec![addr.to_string()])
        .with_udp_timeout(Duration::from_millis(200))
        .with_tcp_timeout(Duration::from_millis(500));
    let err = client(net).login("alice", ALICE_PW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KTIX_ERR_NETWORK, "{err}");
    assert!(err.message().contains(&format!("udp {addr}")), "{err}");
    assert!(err.message().contains(&format!("tcp {addr}")), "{err}");

    // Both ports are free again.
    TcpListener::bind(addr).unwrap();
    UdpSocket::bind(addr).unwrap();
    drop(server);
}

#[test]
fn drop_stops_the_server() {
    let (server, _logs) = serve(|_| {});
    let addr = server.local_addrs()[0];
    drop(server);
    TcpListener::bind(addr).unwrap();
    UdpSocket::bind(addr).unwrap();
}

#[test]
fn log_lines_hold_no_key_material() {
    let (server, logs) = serve(|_| {});
    let client = full_flow(&server, network(&server));
    let (_, ctx) = client.ap_req(SERVICE, true).unwrap();
    let mut secrets: Vec<Vec<u8>> =
        client.ccache().credentials().unwrap().iter().map(|c| c.key.bytes().to_vec()).collect();
    secrets.push(ctx.session_key().bytes().to_vec());
    secrets.push(ctx.subkey().bytes().to_vec());
    let alice = server.kdc().entry(&server.kdc().principal("alice").unwrap()).unwrap();
    secrets.extend(alice.keys.iter().map(|k| k.key.bytes().to_vec()));
    assert!(secrets.len() >= 6);
    let logs = logs_after(&logs, 3);
    let text = format!("{}{:?}", lines(&logs), logs);
    for key in &secrets {
        let h = hex::encode(key);
        assert!(!text.contains(&h) && !text.contains(&h.to_uppercase()), "key bytes in the log");
        // Nor a recognisable piece of it.
        assert!(!text.contains(&h[..16]));
    }
    assert!(!text.contains(ALICE_PW));
}

#[test]
fn udp_replies_from_other_addresses_are_ignored() {
    // A fake KDC: reads the request, has a stranger send a bogus reply to the client first,
    // then answers itself.
    let kdc = UdpSocket::bind("127.0.0.1:0").unwrap();
    kdc.set_read_timeout(Some(WAIT)).unwrap();
    let kdc_addr = kdc.local_addr().unwrap();
    let fake = thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let (_, client) = kdc.recv_from(&mut buf).unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        stranger.send_to(&[0x6b, 0x01, 0xee], client).unwrap(); // looks like an AS-REP
        thread::sleep(Duration::from_millis(50));
        kdc.send_to(&[0x6b, 0x01, 0x00], client).unwrap();
    });
    let net = Network::new(vec![kdc_addr.to_string()]).with_udp_timeout(Duration::from_secs(3));
    let reply = net.send(&[0x6a, 0x00]).unwrap();
    assert_eq!(reply, [0x6b, 0x01, 0x00]);
    fake.join().unwrap();
}

#[test]
fn unreachable_kdcs_are_a_network_error_listing_what_was_tried() {
    // Two ports nobody listens on (bound, noted, released).
    let dead: Vec<String> = (0..2)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        })
        .collect();
    let net = Network::new(dead.clone())
        .with_udp_timeout(Duration::from_millis(100))
        .with_tcp_timeout(Duration::from_millis(300))
        .with_rounds(2);
    let started = Instant::now();
    let err = net.send(&[0x6a, 0x00]).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.code(), ErrorCode::KTIX_ERR_NETWORK);
    for d in &dead {
        assert!(err.message().contains(&format!("udp {d}")), "{err}");
        assert!(err.message().contains(&format!("tcp {d}")), "{err}");
    }
    // A working KDC after dead ones is found.
    let (server, _logs) = serve(|_| {});
    let mut kdcs = dead;
    kdcs.push(server.address());
    let net = Network::new(kdcs).with_udp_timeout(Duration::from_millis(300));
    client(net).login("alice", ALICE_PW).unwrap();
}

#[test]
fn concurrent_logins() {
    let (server, logs) = serve(|c| c.workers = 2);
    let addr = server.address();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let addr = addr.clone();
            thread::spawn(move || {
                let net = Network::new(vec![addr]).with_udp_preference_limit(if i % 2 == 0 { 1 } else { 1465 });
                client(net).login("alice", ALICE_PW).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let logs = logs_after(&logs, 16);
    assert_eq!(logs.iter().filter(|l| l.facts.code == ErrorCode::KDC_ERR_NONE).count(), 8);
}

/// A store whose lookups of one principal fail the way a broken database does.
struct FailingStore {
    inner: MemoryStore,
    broken: &'static str,
}

const STORE_FAILURE: &str = "/var/lib/ktix/secret-dir/realm.db: SQLite error: database disk image is malformed";

impl PrincipalStore for FailingStore {
    fn get(&self, p: &Principal) -> ktix::Result<Option<Arc<PrincipalEntry>>> {
        if p.to_string().starts_with(self.broken) {
            return Err(Error::new(ErrorCode::KTIX_ERR_BAD_FILE, STORE_FAILURE));
        }
        self.inner.get(p)
    }
    fn put(&self, e: PrincipalEntry) -> ktix::Result<()> {
        self.inner.put(e)
    }
    fn delete(&self, p: &Principal) -> ktix::Result<bool> {
        self.inner.delete(p)
    }
    fn list(&self) -> ktix::Result<Vec<Principal>> {
        self.inner.list()
    }
    fn get_policy(&self, name: &str) -> ktix::Result<Option<Policy>> {
        self.inner.get_policy(name)
    }
    fn put_policy(&self, policy: Policy) -> ktix::Result<()> {
        self.inner.put_policy(policy)
    }
    fn delete_policy(&self, name: &str) -> ktix::Result<bool> {
        self.inner.delete_policy(name)
    }
    fn list_policies(&self) -> ktix::Result<Vec<Policy>> {
        self.inner.list_policies()
    }
    fn record_failure(&self, p: &Principal, policy: &Policy, now: Time) -> ktix::Result<()> {
        self.inner.record_failure(p, policy, now)
    }
    fn clear_failures(&self, p: &Principal) -> ktix::Result<()> {
        self.inner.clear_failures(p)
    }
}

/// The e-text of a KRB-ERROR.
fn e_text(reply: &[u8]) -> String {
    let e = wire::decode::<KrbError>(reply).expect("a KRB-ERROR");
    e.e_text.as_ref().map(wire::kstring_text).unwrap_or_default()
}

#[test]
fn krb_errors_carry_a_fixed_text_and_the_log_the_detail() {
    let store = Arc::new(FailingStore { inner: MemoryStore::new(), broken: "broken@" });
    let kdc = Kdc::with_store(REALM, store, RealmPolicy::default()).unwrap();
    kdc.add_principal("alice", Some(ALICE_PW)).unwrap();
    let (logger, logs) = capture();
    let server = KdcServer::start(Arc::new(kdc), &["127.0.0.1:0"], config(logger)).unwrap();

    // A store failure: KRB_ERR_GENERIC with the fixed text, the database error in the log only.
    let err = client(network(&server)).login("broken", "pw").unwrap_err();
    assert_eq!(err.code(), ErrorCode::KRB_ERR_GENERIC, "{err}");
    assert!(!err.message().contains("realm.db") && !err.message().contains("SQLite"), "{err}");
    // The raw reply, recorded, and the same request sent again by hand over UDP.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(WAIT)).unwrap();
    let recorded = Arc::new(Recording::new(network(&server)));
    let _ = Client::new(ClientConfig::new(REALM), recorded.clone(), CCache::memory()).login("broken", "pw");
    let (request, reply) = recorded.since(0).remove(0);
    udp.send_to(&request, server.local_addrs()[0]).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(n, reply.len());
    assert_eq!(krb_error_code(&reply), ErrorCode::KRB_ERR_GENERIC.code());
    assert_eq!(e_text(&reply), "Generic error");
    assert_eq!(e_text(&buf[..n]), "Generic error");

    // A malformed request: the fixed text of its code, the decoder's complaint in the log only.
    udp.send_to(&[0x6a, 0x03, 0x02, 0x01, 0x05], server.local_addrs()[0]).unwrap();
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    let code = ErrorCode(krb_error_code(&buf[..n]));
    let malformed_text = e_text(&buf[..n]);
    assert_eq!(malformed_text, ktix::internals::proto::e_text(code));
    // An unknown client: the RFC's text, not the name looked up.
    let err = client(network(&server)).login("nobody", "pw").unwrap_err();
    assert_eq!(err.code(), ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN);
    assert!(err.message().ends_with("Client not found in Kerberos database"), "{err}");
    assert!(!err.message().contains("nobody"), "{err}");

    let logs = logs_after(&logs, 5);
    let text = lines(&logs);
    let failures: Vec<_> =
        logs.iter().filter(|l| l.facts.client.as_ref().is_some_and(|c| c.to_string() == "broken@KTIX.TEST")).collect();
    assert_eq!(failures.len(), 3, "{text}");
    assert!(failures.iter().all(|l| l.facts.code == ErrorCode::KRB_ERR_GENERIC), "{text}");
    assert!(failures.iter().all(|l| l.to_string().contains(STORE_FAILURE)), "the detail is logged:\n{text}");
    let malformed = logs.iter().find(|l| l.request_len == 5).expect("the malformed request is logged");
    assert!(malformed.facts.detail.as_deref().is_some_and(|d| !d.is_empty() && d != malformed_text), "{malformed}");
    assert!(logs.iter().any(|l| l.facts.detail.as_deref().unwrap_or("").contains("nobody")), "{text}");
}
