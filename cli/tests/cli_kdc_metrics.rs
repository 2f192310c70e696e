//! `ktix kdc serve --metrics ADDR`: `/metrics` scraped during a small load (malformed requests
//! over UDP and TCP, messages that get no reply, `ktix kinit`s, a lockout), parsed as the
//! Prometheus text format by a small parser of our own, and its counters checked against the
//! requests sent and the request log.

mod mit;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use mit::{Krb5Conf, KtixKdc, KtixRealm, LogLine, Mit, ALICE_PW};

/// One scrape: the samples by series (`name{k="v",...}`, labels sorted) and the `# TYPE` of each
/// family.
#[derive(Debug)]
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the text format: `# HELP`/`# TYPE` lines, and `name[{labels}] value` samples.
    fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                types.insert(name.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            assert!(!line.is_empty() && !line.starts_with('#'), "unexpected line {line:?}");
            let (series, value) = line.rsplit_once(' ').expect("a sample: series value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
                    let mut labels: Vec<(String, String)> = body
                        .split(',')
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("bad label in {line:?}"));
                            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                            (k.to_string(), v.unwrap_or_else(|| panic!("unquoted label in {line:?}")).to_string())
                        })
                        .collect();
                    labels.sort();
                    (name, labels)
                }
                None => (series, Vec::new()),
            };
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram")))
                .unwrap_or(name);
            assert!(types.contains_key(family), "sample {line:?} before its # TYPE");
            assert!(samples.insert(key(name, &labels), value).is_none(), "duplicate series {line:?}");
        }
        Scrape { samples, types }
    }

    /// The value of a series; 0 when absent.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        labels.sort();
        self.samples.get(&key(name, &labels)).copied().unwrap_or(0.0)
    }

    /// `ktix_kdc_requests_total` by (transport, exchange, result).
    fn requests(&self) -> BTreeMap<(String, String, String), u64> {
        let prefix = "ktix_kdc_requests_total{";
        let mut out = BTreeMap::new();
        for (series, value) in &self.samples {
            if let Some(rest) = series.strip_prefix(prefix) {
                let label = |k: &str| {
                    let start = rest.find(&format!("{k}=\"")).expect("label") + k.len() + 2;
                    rest[start..].split('"').next().unwrap().to_string()
                };
                out.insert((label("transport"), label("exchange"), label("result")), *value as u64);
            }
        }
        out
    }
}

fn key(name: &str, labels: &[(String, String)]) -> String {
    let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", body.join(","))
}

/// An HTTP/1.1 request to the metrics server: (status line, body).
fn http(addr: SocketAddr, request: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn scrape(addr: SocketAddr) -> Scrape {
    let (status, body) = http(addr, "GET /metrics HTTP/1.1\r\nHost: kdc\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    Scrape::parse(&body)
}

/// Waits (up to 10 s) until `done`, failing the test with `what` otherwise.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// True for a line about an answered request (the KDC also logs, rate-limited, messages it
/// dropped without a reply: `rep=0`).
fn is_answered(l: &LogLine) -> bool {
    !l.raw.contains(" rep=0 ")
}

/// Answered requests of the KDC's log by (transport, exchange, result).
fn logged(kdc: &KtixKdc) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for l in kdc.lines_since(0).into_iter().filter(is_answered) {
        *out.entry((l.transport, l.exchange, l.result)).or_insert(0) += 1;
    }
    out
}

/// Sends `n` request-shaped datagrams (first byte 0x6a, the AS-REQ tag: each is answered with a
/// KRB-ERROR) and takes each reply.
fn udp_junk(kdc: SocketAddr, n: usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        socket.send_to(b"junk", kdc).unwrap();
        socket.recv_from(&mut buf).expect("a KRB-ERROR");
    }
}

/// Sends one TCP frame on a new connection; returns the reply frame's length, or `None` when the
/// KDC closed the connection without one. The connection stays open when `keep` is given.
fn tcp_frame(kdc: SocketAddr, message: &[u8], keep: Option<&mut Option<TcpStream>>) -> Option<usize> {
    let mut s = TcpStream::connect(kdc).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&(message.len() as u32).to_be_bytes()).unwrap();
    s.write_all(message).unwrap();
    let mut len = [0u8; 4];
    if s.read_exact(&mut len).is_err() {
        return None;
    }
    let n = u32::from_be_bytes(len) as usize;
    let mut reply = vec![0u8; n];
    s.read_exact(&mut reply).unwrap();
    if let Some(slot) = keep {
        *slot = Some(s);
    }
    Some(n)
}

/// The request metrics agree with the log line for line, and the histograms count them all.
fn check_requests(s: &Scrape, kdc: &KtixKdc) {
    let from_metrics = s.requests();
    assert_eq!(from_metrics, logged(kdc), "requests_total against the log");
    for transport in ["udp", "tcp"] {
        let total: u64 = from_metrics.iter().filter(|(k, _)| k.0 == transport).map(|(_, v)| v).sum();
        let count = s.get("ktix_kdc_request_duration_seconds_count", &[("transport", transport)]);
        assert_eq!(count as u64, total, "{transport} histogram count");
        let inf = s.get("ktix_kdc_request_duration_seconds_bucket", &[("transport", transport), ("le", "+Inf")]);
        assert_eq!(inf as u64, total, "{transport} +Inf bucket");
    }
}

#[test]
fn metrics_count_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let realm = KtixRealm::init(dir.path());
    realm.add_password("alice", ALICE_PW);
    realm.add_password("bob", "bob-pw-long-enough");
    mit::ktix_ok(&["db", "policy", "add", "--db", realm.db_str(), "strict", "--max-failures", "1"], "");
    mit::ktix_ok(&["db", "mod", "--db", realm.db_str(), "bob", "--policy", "strict"], "");
    let log = dir.path().join("kdc.log");
    let kdc = KtixKdc::serve(&realm, &["--metrics", "127.0.0.1:0", "--workers", "2"], &log);
    let metrics: SocketAddr = {
        let text = kdc.log();
        let line = text.lines().find(|l| l.contains("metrics at http://")).expect("the metrics line");
        let rest = &line[line.find("http://").unwrap() + 7..];
        rest.strip_suffix("/metrics").expect("…/metrics").parse().unwrap()
    };
    let krb5_conf = dir.path().join("krb5.conf");
    std::fs::write(&krb5_conf, Krb5Conf::new(kdc.addr()).text()).unwrap();
    let client = Mit::new(&krb5_conf, &dir.path().join("cc"));

    // Before any request: every family is there, at zero.
    let s = scrape(metrics);
    for (family, kind) in [
        ("ktix_kdc_requests_total", "counter"),
        ("ktix_kdc_request_duration_seconds", "histogram"),
        ("ktix_kdc_tcp_connections_open", "gauge"),
        ("ktix_kdc_udp_dropped_total", "counter"),
        ("ktix_kdc_ignored_total", "counter"),
        ("ktix_kdc_lockouts_total", "counter"),
        ("ktix_kdc_tcp_connections_closed_total", "counter"),
        ("ktix_kdc_store_lookups_total", "counter"),
        ("ktix_kdc_store_cache_hits_total", "counter"),
    ] {
        assert_eq!(s.types.get(family).map(String::as_str), Some(kind), "{family}");
    }
    assert!(s.requests().is_empty());
    assert_eq!(s.get("ktix_kdc_store_lookups_total", &[]), 0.0);

    // Round 1: malformed requests over both transports, two messages that get no reply (over
    // TCP, so they are counted before the connection closes), one TCP connection kept open.
    udp_junk(kdc.addr(), 3);
    let mut held = None;
    assert!(tcp_frame(kdc.addr(), b"junk", Some(&mut held)).is_some());
    assert!(tcp_frame(kdc.addr(), b"junk", None).is_some());
    assert_eq!(tcp_frame(kdc.addr(), b"hello", None), None);
    assert_eq!(tcp_frame(kdc.addr(), b"hello", None), None);
    kdc.wait_lines(0, "the 5 malformed requests", |l| l.iter().filter(|l| is_answered(l)).count() == 5);
    let mut s = scrape(metrics);
    // The connections closed by their clients are counted closed once the KDC has seen the EOF.
    wait_until("one open TCP connection", || {
        s = scrape(metrics);
        s.get("ktix_kdc_tcp_connections_open", &[]) == 1.0
    });
    check_requests(&s, &kdc);
    let udp: u64 = s.requests().iter().filter(|(k, _)| k.0 == "udp").map(|(_, v)| v).sum();
    let tcp: u64 = s.requests().iter().filter(|(k, _)| k.0 == "tcp").map(|(_, v)| v).sum();
    assert_eq!((udp, tcp), (3, 2));
    assert_eq!(s.get("ktix_kdc_ignored_total", &[]), 2.0);
    assert_eq!(s.get("ktix_kdc_udp_dropped_total", &[]), 0.0);
    assert_eq!(s.get("ktix_kdc_store_lookups_total", &[]), 0.0, "malformed requests look nothing up");
    drop(held);

    // Round 2: two logins of alice (the second finds her in the read cache), a wrong password of
    // bob (whose policy locks him out after one failure), then bob locked out.
    for _ in 0..2 {
        client.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    }
    let _ = client.ktix(&["kinit", "bob"], "wrong-password\n");
    let _ = client.ktix(&["kinit", "bob"], "bob-pw-long-enough\n");
    let revoked = |l: &[LogLine]| l.iter().any(|l| l.result == "KDC_ERR_CLIENT_REVOKED");
    let lines = kdc.wait_lines(0, "bob's lockout", revoked);
    let mut s = scrape(metrics);
    wait_until("no open TCP connection", || {
        s = scrape(metrics);
        s.get("ktix_kdc_tcp_connections_open", &[]) == 0.0
    });
    check_requests(&s, &kdc);
    let ok_as = lines.iter().filter(|l| l.exchange == "AS" && l.result == "KDC_ERR_NONE").count();
    assert_eq!(ok_as, 2, "{}", mit::show(&lines));
    let revoked_lines = lines.iter().filter(|l| l.result == "KDC_ERR_CLIENT_REVOKED").count();
    assert_eq!(s.get("ktix_kdc_lockouts_total", &[]) as usize, revoked_lines);
    assert_eq!(revoked_lines, 1);
    // Each successful AS exchange looked up the client and krbtgt at least.
    let lookups = s.get("ktix_kdc_store_lookups_total", &[]);
    assert!(lookups >= 4.0, "lookups {lookups}");
    assert!(s.get("ktix_kdc_store_cache_hits_total", &[]) >= 1.0, "the second login hits the cache");

    // Anything but GET /metrics is not found; a request that is not HTTP is refused.
    assert_eq!(http(metrics, "GET / HTTP/1.1\r\n\r\n").0, "HTTP/1.1 404 Not Found");
    assert_eq!(http(metrics, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").0, "HTTP/1.1 404 Not Found");
    assert_eq!(http(metrics, "hello\r\n\r\n").0, "HTTP/1.1 400 Bad Request");
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(http(metrics, &huge).0, "HTTP/1.1 431 Request Header Fields Too Large");
    // The server still answers.
    check_requests(&scrape(metrics), &kdc);
}

#[test]
fn a_bad_metrics_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let realm = KtixRealm::init(dir.path());
    let out =
        mit::ktix(&["kdc", "serve", "--db", realm.db_str(), "--listen", "127.0.0.1:0", "--metrics", "nowhere"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--metrics \"nowhere\""), "{err}");
}
