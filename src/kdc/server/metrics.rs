//! Metrics in the Prometheus text format (exposition format 0.0.4): what
//! [`KdcServer::metrics_text`](super::KdcServer::metrics_text) renders, and the small HTTP/1.x
//! responder that serves it at `http://ADDR/metrics` when [`ServerConfig::metrics_listen`] is
//! set.
//!
//! The responder is one thread answering one connection at a time: `GET /metrics` gets the text,
//! any other request 404 (a request that is not HTTP 400, one longer than
//! [`MAX_HTTP_REQUEST`] 431); each connection is closed after its answer, and one that does not
//! send its request within [`HTTP_TIMEOUT`] is closed unanswered. So a scraper cannot hold more
//! than one thread and a few KiB, and cannot slow the KDC.
//!
//! [`ServerConfig::metrics_listen`]: super::ServerConfig::metrics_listen

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::log::{Protocol, RequestLog};
use super::Shared;

/// The upper bounds of the request latency histogram's buckets, seconds (`+Inf` follows).
const LATENCY_BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// The longest HTTP request head the responder reads, bytes.
pub(super) const MAX_HTTP_REQUEST: usize = 8192;
/// The most unread input taken before closing a connection (see [`answer`]).
const MAX_DRAIN: usize = 64 * 1024;
/// How long the responder waits for a request head (and for its answer to be taken).
pub(super) const HTTP_TIMEOUT: Duration = Duration::from_secs(2);

/// The latency histogram of one transport.
#[derive(Default)]
struct Histogram {
    /// Per bucket of [`LATENCY_BUCKETS`] (not cumulative), then the `+Inf` one.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let i = LATENCY_BUCKETS.iter().position(|&b| secs <= b).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// What the server counts per answered request.
#[derive(Default)]
pub(super) struct RequestMetrics {
    /// Requests answered by (transport, exchange, result code name).
    requests: Mutex<BTreeMap<(&'static str, &'static str, String), u64>>,
    udp_latency: Histogram,
    tcp_latency: Histogram,
}

impl RequestMetrics {
    /// Counts one answered request.
    pub(super) fn record(&self, entry: &RequestLog) {
        let key = (entry.transport.as_str(), entry.facts.kind.as_str(), entry.facts.code.name());
        *self.requests.lock().entry(key).or_insert(0) += 1;
        match entry.transport {
            Protocol::Udp => self.udp_latency.observe(entry.elapsed),
            Protocol::Tcp => self.tcp_latency.observe(entry.elapsed),
        }
    }
}

/// Writes a metric's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The whole text of `/metrics`.
pub(super) fn render(shared: &Shared) -> String {
    let mut out = String::new();
    let m = &shared.metrics;
    let name = "ktix_kdc_requests_total";
    header(&mut out, name, "counter", "Requests answered, by transport, exchange and result code.");
    for ((transport, exchange, result), n) in m.requests.lock().iter() {
        let _ = writeln!(out, "{name}{{transport=\"{transport}\",exchange=\"{exchange}\",result=\"{result}\"}} {n}");
    }
    let name = "ktix_kdc_request_duration_seconds";
    header(&mut out, name, "histogram", "From a request's arrival to its reply being sent, by transport.");
    for (transport, h) in [("udp", &m.udp_latency), ("tcp", &m.tcp_latency)] {
        let mut cumulative = 0;
        for (i, bucket) in h.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{transport=\"{transport}\",le=\"{le}\"}} {cumulative}");
        }
        let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{transport=\"{transport}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{transport=\"{transport}\"}} {cumulative}");
    }
    let stats = super::stats_of(shared);
    let kdc = shared.kdc.counters();
    let simple: [(&str, &str, &str, u64); 4] = [
        ("ktix_kdc_tcp_connections_open", "gauge", "TCP connections open now.", stats.tcp_open as u64),
        (
            "ktix_kdc_udp_dropped_total",
            "counter",
            "UDP datagrams dropped unanswered: the queue was full, or longer than max_request_size.",
            stats.udp_dropped,
        ),
        (
            "ktix_kdc_ignored_total",
            "counter",
            "Datagrams and TCP messages not shaped like a KDC request, dropped without a reply.",
            stats.ignored,
        ),
        (
            "ktix_kdc_lockouts_total",
            "counter",
            "Requests refused because the client is locked out after failed pre-authentications.",
            kdc.lockouts,
        ),
    ];
    for (name, kind, help, value) in simple {
        header(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    let name = "ktix_kdc_tcp_connections_closed_total";
    header(&mut out, name, "counter", "TCP connections closed by the KDC before their end, by reason.");
    for (reason, n) in [("refused", stats.tcp_refused), ("evicted", stats.tcp_evicted), ("aborted", stats.tcp_aborted)]
    {
        let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {n}");
    }
    let name = "ktix_kdc_store_lookups_total";
    header(&mut out, name, "counter", "Principal lookups of the KDC in its store while answering requests.");
    let _ = writeln!(out, "{name} {}", kdc.lookups);
    if let Some(hits) = shared.kdc.store().cache_hits() {
        let name = "ktix_kdc_store_cache_hits_total";
        header(&mut out, name, "counter", "Principal lookups answered from the store's read cache.");
        let _ = writeln!(out, "{name} {hits}");
    }
    out
}

/// The responder thread: one connection at a time until the server stops.
pub(super) fn metrics_loop(shared: &Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        if let Ok((stream, _)) = accepted {
            let _ = answer(shared, stream);
        }
    }
}

/// Reads one request head (bounded in size and time) and answers it.
fn answer(shared: &Shared, mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let deadline = Instant::now() + HTTP_TIMEOUT;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let complete = loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() > MAX_HTTP_REQUEST {
            break false;
        }
        if Instant::now() >= deadline {
            return Ok(()); // too slow: closed unanswered
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    let (status, content_type, body) = if !complete {
        ("431 Request Header Fields Too Large", "text/plain", "request too large\n".to_string())
    } else {
        match route(&head) {
            Route::Metrics => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render(shared)),
            Route::NotFound => ("404 Not Found", "text/plain", "not found: only GET /metrics is served\n".to_string()),
            Route::Bad => ("400 Bad Request", "text/plain", "not an HTTP/1.x request\n".to_string()),
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    // A lingering close: unread input (a request cut at MAX_HTTP_REQUEST) would make the
    // close a reset that can destroy the answer before the client reads it, so read what is
    // left, bounded in size and time, after saying we are done.
    stream.shutdown(Shutdown::Write)?;
    let mut drained = 0;
    while drained < MAX_DRAIN && Instant::now() < deadline + HTTP_TIMEOUT {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
    Bad,
}

fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else { return Route::Bad };
    let mut words = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) = (words.next(), words.next(), words.next(), words.next())
    else {
        return Route::Bad;
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Route::Bad;
    }
    let path = target.split('?').next().unwrap_or(target);
    if method == "GET" && path == "/metrics" {
        Route::Metrics
    } else {
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Route::Metrics);
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\n\n"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"GET /metrics/x HTTP/1.1\r\n\r\n"), Route::NotFound);
        for bad in [
            &b"GET /metrics\r\n\r\n"[..],
            b"GET /metrics HTTP/2\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(route(bad), Route::Bad, "{bad:?}");
        }
    }

    #[test]
    fn histogram_buckets() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100)); // on a bound: in that bucket
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(5));
        let counts: Vec<u64> = h.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        assert_eq!(counts, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(h.sum_micros.load(Ordering::Relaxed), 5_003_100);
    }
}
