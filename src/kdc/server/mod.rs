//! The KDC's network listener (RFC 4120 §7.2): UDP and TCP on each listen address, a fixed pool
//! of worker threads, bounded queues, connections and message sizes, one log line per request,
//! and a clean [`KdcServer::stop`].
//!
//! Only input shaped like an AS-REQ or TGS-REQ (first byte 0x6a or 0x6c) is ever answered; any
//! other datagram or TCP frame gets no reply (a TCP connection that sends one is closed), is
//! counted in [`ServerStats::ignored`] and logged at most once per 10 seconds, so the KDC can be
//! neither a reflector nor drawn into a KRB-ERROR loop with another KDC. Both transports reach
//! the KDC through one function that makes this decision.
//!
//! How the work is split:
//!
//! - each UDP socket of the KDC has `workers` threads that each read datagrams into their own
//!   reused buffer, call [`Kdc::process`] and send the reply themselves: no receiver thread and
//!   no hand-off (it cost two context switches per request). The requests waiting are the
//!   socket's receive queue, which the kernel bounds: when it is full a datagram is dropped (the
//!   client retries), so memory stays bounded under any load.
//! - each TCP listener has an accept thread. An accepted connection goes to a connection thread
//!   from a pool that keeps idle threads for reuse (no thread is started per request once the
//!   pool is warm) and never holds more than `max_tcp_connections` connections; a connection
//!   beyond the cap closes the connection idle the longest (or, when every connection has a
//!   request in progress, is closed itself). A connection thread reads length-prefixed requests
//!   with a per-read timeout and a per-request deadline (so a slow or silent peer is dropped),
//!   answers them in order, and closes on EOF, timeout, a bad frame or after
//!   `max_requests_per_connection` requests. Slow TCP peers therefore never hold up the UDP
//!   workers, and the KDC work of a TCP request takes one of the same `workers` slots as a UDP
//!   request, so no more than `workers` requests are processed at once.
//!
//! [`KdcServer::stop`] (also run on drop) wakes every blocked thread, closes open connections,
//! joins every thread and closes every socket, so the ports are free when it returns.
//!
//! Every answered request is counted in the metrics ([`KdcServer::metrics_text`], served over
//! HTTP when [`ServerConfig::metrics_listen`] is set) and then logged, in one place.
//!
//! The files: `log.rs` (the log line of a request, its destinations [`LogTarget`] /
//! [`LogSink`] and the loggers), `metrics.rs` (the Prometheus text and its HTTP responder),
//! `udp.rs` (receivers and the worker pool), `tcp.rs` (the connection pool and framing),
//! `config.rs` ([`ServerConfig`]); this one holds [`KdcServer`] and what the threads share.

mod config;
mod log;
mod metrics;
mod tcp;
mod udp;

pub use self::config::{ServerConfig, DEFAULT_MAX_DGRAM_REPLY_SIZE, MAX_UDP_PAYLOAD};
pub use self::log::{
    silent_logger, stderr_logger, LogSink, LogTarget, Protocol, RequestLog, RequestLogger, FLUSH_INTERVAL,
};

use self::log::{log, log_entry, Throttle};
use self::metrics::{metrics_loop, RequestMetrics};

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use self::tcp::{accept_loop, TcpPool};
use self::udp::udp_worker;
use super::{ExchangeKind, Kdc, Outcome, RequestFacts};
use crate::acceptor::ReplayCache;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// How long a UDP receiver blocks before it looks at the stop flag again (a fallback: `stop`
/// wakes it at once with an empty datagram).
const UDP_POLL: Duration = Duration::from_millis(500);
/// How long `stop` waits for a thread to notice before giving up on it.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// At most one log line per this interval about input dropped without a reply (each line says
/// how many were dropped since the last one).
const IGNORED_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counters of a running server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// UDP requests answered.
    pub udp_requests: u64,
    /// TCP requests answered.
    pub tcp_requests: u64,
    /// UDP datagrams dropped for being longer than `max_request_size` (datagrams the kernel
    /// drops at a full socket queue are not seen: see [`ServerConfig::queue_len`]).
    pub udp_dropped: u64,
    /// TCP connections closed at once because `max_tcp_connections` were open and none of them
    /// was idle.
    pub tcp_refused: u64,
    /// Idle TCP connections closed to make room for a new one (`max_tcp_connections` open).
    pub tcp_evicted: u64,
    /// TCP connections closed for a bad or oversized frame, a timeout or a half-sent request.
    pub tcp_aborted: u64,
    /// TCP connections open now.
    pub tcp_open: usize,
    /// Messages (UDP or TCP) not shaped like an AS-REQ or TGS-REQ, dropped without a reply
    /// (see [`Kdc::handle`]); a TCP connection that sends one is closed.
    pub ignored: u64,
}

#[derive(Default)]
struct Counters {
    udp_requests: AtomicU64,
    tcp_requests: AtomicU64,
    udp_dropped: AtomicU64,
    tcp_refused: AtomicU64,
    tcp_evicted: AtomicU64,
    tcp_aborted: AtomicU64,
    ignored: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    /// The KDC (AS and TGS exchanges).
    Kdc,
    /// The change-password protocol (RFC 3244).
    Kpasswd,
}

/// State shared by every server thread.
struct Shared {
    kdc: Arc<Kdc>,
    config: ServerConfig,
    stopping: AtomicBool,
    counters: Counters,
    tcp: TcpPool,
    /// Rate limit of the log lines about ignored input.
    ignored_log: Throttle,
    /// The `workers` slots of KDC processing, shared by UDP workers and TCP connections.
    slots: Slots,
    /// The authenticators of change-password requests seen (a replayed request is refused).
    kpasswd_replay: ReplayCache,
    /// Requests by exchange and result, latencies.
    metrics: RequestMetrics,
}

/// A counting semaphore: at most `n` holders of a [`Slot`] at once.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One taken slot, given back on drop.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots { free: Mutex::new(n), freed: Condvar::new() }
    }

    /// Waits for a free slot (a holder only runs one KDC request, so the wait is short).
    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}

/// The network server of a [`Kdc`]: UDP and TCP (RFC 4120 §7.2) on each listen address until
/// [`KdcServer::stop`] or drop.
pub struct KdcServer {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    kpasswd_addrs: Vec<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
}

impl KdcServer {
    /// Binds UDP and TCP on every address `listen` names (IPv4 or IPv6, e.g. `"127.0.0.1:88"`,
    /// `"[::1]:0"`, a `SocketAddr`) and starts serving `kdc`. For port 0 the system picks a port,
    /// TCP first and UDP on the same number; [`KdcServer::local_addrs`] tells which.
    ///
    /// On Linux an IPv6 wildcard (`[::]`) usually also takes IPv4, so listening on both
    /// `0.0.0.0:P` and `[::]:P` fails with "address in use": list one of them.
    pub fn start<A: ToSocketAddrs + fmt::Debug>(
        kdc: Arc<Kdc>,
        listen: &[A],
        config: ServerConfig,
    ) -> Result<KdcServer> {
        config.check()?;
        let wanted = resolve(listen)?;
        if wanted.is_empty() {
            return Err(Error::invalid("no listen address"));
        }
        let kpasswd_wanted = resolve(&config.kpasswd_listen)?;
        let mut bound = Vec::with_capacity(wanted.len() + kpasswd_wanted.len());
        for addr in wanted {
            let (tcp, udp, local) = bind_pair(addr)?;
            bound.push((tcp, udp, local, Service::Kdc));
        }
        for addr in kpasswd_wanted {
            let (tcp, udp, local) = bind_pair(addr)?;
            bound.push((tcp, udp, local, Service::Kpasswd));
        }
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).map_err(|e| Error::io(format!("metrics {addr}"), e))?),
            None => None,
        };

        let workers = config.workers;
        let shared = Arc::new(Shared {
            tcp: TcpPool::new(config.max_tcp_connections),
            kdc,
            config,
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
            ignored_log: Throttle::new(IGNORED_LOG_INTERVAL),
            slots: Slots::new(workers),
            kpasswd_replay: ReplayCache::new(64),
            metrics: RequestMetrics::default(),
        });
        let mut server = KdcServer {
            shared: shared.clone(),
            addrs: Vec::new(),
            kpasswd_addrs: Vec::new(),
            metrics_addr: None,
            threads: Vec::new(),
        };
        if let Some(listener) = metrics_listener {
            let addr = listener.local_addr().map_err(|e| Error::io("metrics listener", e))?;
            server.metrics_addr = Some(addr);
            let sh = shared.clone();
            server.threads.push(spawn(format!("kdc-metrics-{addr}"), move || metrics_loop(&sh, listener))?);
        }
        for (tcp, udp, addr, service) in bound {
            match service {
                Service::Kdc => server.addrs.push(addr),
                Service::Kpasswd => server.kpasswd_addrs.push(addr),
            }
            let sh = shared.clone();
            server.threads.push(spawn(format!("kdc-tcp-{addr}"), move || accept_loop(&sh, tcp, service))?);
            udp.set_read_timeout(Some(UDP_POLL)).map_err(|e| Error::io(format!("udp {addr}"), e))?;
            let udp = Arc::new(udp);
            for i in 0..udp_workers(&shared.config, service) {
                let (sh, udp) = (shared.clone(), udp.clone());
                server.threads.push(spawn(format!("kdc-udp-{i}-{addr}"), move || udp_worker(&sh, &udp, service))?);
            }
        }
        Ok(server)
    }

    /// The addresses bound (with the ports the system chose for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The addresses the change-password service is bound to ([`ServerConfig::kpasswd_listen`]).
    pub fn kpasswd_addrs(&self) -> &[SocketAddr] {
        &self.kpasswd_addrs
    }

    /// The first bound address as `host:port` (`[v6]:port` for IPv6): what a client's KDC list
    /// takes.
    pub fn address(&self) -> String {
        self.addrs.first().map(|a| a.to_string()).unwrap_or_default()
    }

    /// The KDC being served.
    pub fn kdc(&self) -> &Arc<Kdc> {
        &self.shared.kdc
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        stats_of(&self.shared)
    }

    /// The metrics in the Prometheus text format (what `http://ADDR/metrics` serves when
    /// [`ServerConfig::metrics_listen`] is set): `ktix_kdc_requests_total` by transport,
    /// exchange and result code, the `ktix_kdc_request_duration_seconds` histogram by transport,
    /// `ktix_kdc_tcp_connections_open`, `ktix_kdc_udp_dropped_total`, `ktix_kdc_ignored_total`,
    /// `ktix_kdc_tcp_connections_closed_total` by reason, `ktix_kdc_store_lookups_total`,
    /// `ktix_kdc_store_cache_hits_total` (for a store with a read cache) and
    /// `ktix_kdc_lockouts_total`.
    pub fn metrics_text(&self) -> String {
        metrics::render(&self.shared)
    }

    /// Where the metrics are served (with the port the system chose for port 0), when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// True until [`KdcServer::stop`].
    pub fn is_running(&self) -> bool {
        !self.shared.stopping.load(Ordering::SeqCst)
    }

    /// Stops serving: wakes and joins every thread, closes open connections and every socket.
    /// Requests already queued are answered first. Idempotent; also run on drop.
    pub fn stop(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // The accept and UDP threads block in accept()/recv_from(): poke each socket so they see
        // the flag. Connection threads are released by shutting their sockets.
        self.wake_listeners();
        self.shared.tcp.shut_down();
        let deadline = Instant::now() + STOP_GRACE;
        let mut last_wake = Instant::now();
        while self.threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
            if last_wake.elapsed() > Duration::from_millis(100) {
                self.wake_listeners();
                last_wake = Instant::now();
            }
            thread::sleep(Duration::from_millis(1));
        }
        let mut stuck = 0;
        for t in self.threads.drain(..) {
            if t.is_finished() {
                let _ = t.join();
            } else {
                stuck += 1; // Detached: it exits on its next wake-up.
            }
        }
        for t in self.shared.tcp.take_threads() {
            let _ = t.join();
        }
        if stuck > 0 {
            let _ = writeln!(io::stderr(), "ktix kdc server: {stuck} thread(s) did not stop in time");
        }
    }

    fn wake_listeners(&self) {
        if let Some(addr) = self.metrics_addr {
            let _ = TcpStream::connect_timeout(&wake_target(addr), Duration::from_millis(200));
        }
        for addr in self.addrs.iter().chain(&self.kpasswd_addrs) {
            let target = wake_target(*addr);
            let local: SocketAddr = match target {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            if let Ok(s) = UdpSocket::bind(local) {
                // One empty datagram per worker blocked on the socket.
                for _ in 0..self.shared.config.workers {
                    let _ = s.send_to(&[], target);
                }
            }
            let _ = TcpStream::connect_timeout(&target, Duration::from_millis(200));
        }
    }
}

impl Drop for KdcServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for KdcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KdcServer")
            .field("realm", &self.shared.kdc.realm())
            .field("addrs", &self.addrs)
            .field("running", &self.is_running())
            .finish()
    }
}

/// Resolves listen addresses, each once (the same fixed port twice would fail to bind; port 0
/// twice means two ports).
fn resolve<A: ToSocketAddrs + fmt::Debug>(listen: &[A]) -> Result<Vec<SocketAddr>> {
    let mut wanted: Vec<SocketAddr> = Vec::new();
    for a in listen {
        let resolved = a
            .to_socket_addrs()
            .map_err(|e| Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("listen address {a:?}: {e}")))?;
        for sa in resolved {
            if sa.port() == 0 || !wanted.contains(&sa) {
                wanted.push(sa);
            }
        }
    }
    Ok(wanted)
}

/// The counters of a running server.
fn stats_of(shared: &Shared) -> ServerStats {
    let c = &shared.counters;
    ServerStats {
        udp_requests: c.udp_requests.load(Ordering::Relaxed),
        tcp_requests: c.tcp_requests.load(Ordering::Relaxed),
        udp_dropped: c.udp_dropped.load(Ordering::Relaxed),
        tcp_refused: c.tcp_refused.load(Ordering::Relaxed),
        tcp_evicted: c.tcp_evicted.load(Ordering::Relaxed),
        tcp_aborted: c.tcp_aborted.load(Ordering::Relaxed),
        tcp_open: shared.tcp.state.lock().open,
        ignored: c.ignored.load(Ordering::Relaxed),
    }
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(|e| Error::new(ErrorCode::KTIX_ERR_IO, format!("cannot start a server thread: {e}")))
}

/// Binds TCP and UDP on `addr`; for port 0, TCP first and UDP on the port TCP got.
fn bind_pair(addr: SocketAddr) -> Result<(TcpListener, UdpSocket, SocketAddr)> {
    let attempts = if addr.port() == 0 { 16 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let tcp = TcpListener::bind(addr).map_err(|e| Error::io(format!("tcp {addr}"), e))?;
        let local = tcp.local_addr().map_err(|e| Error::io(format!("tcp {addr}"), e))?;
        match UdpSocket::bind(local) {
            Ok(udp) => return Ok((tcp, udp, local)),
            // The port is free for TCP but taken for UDP: with port 0, try another.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(Error::io(format!("udp {local}"), e)),
            Err(e) => return Err(Error::io(format!("udp {local}"), e)),
        }
    }
    Err(last.unwrap_or_else(|| Error::invalid(format!("cannot bind {addr}"))))
}

/// How many threads receive and answer on one UDP socket: `workers` for the KDC's, one for a
/// change-password socket (a rare request, and it takes a worker slot like any other).
fn udp_workers(config: &ServerConfig, service: Service) -> usize {
    match service {
        Service::Kdc => config.workers,
        Service::Kpasswd => 1,
    }
}

/// Where to poke a listener bound to `addr` (a wildcard address is reached over loopback).
fn wake_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// The one place both transports hand a message to the KDC: [`Kdc::process`] within one of the
/// `workers` slots, with a panic (a bug) turned into a KRB_ERR_GENERIC reply rather than a dead
/// worker. `None` for input that gets
/// no reply (not shaped like an AS-REQ or TGS-REQ, see [`Kdc::handle`]): counted in
/// [`ServerStats::ignored`] and logged at most once per [`IGNORED_LOG_INTERVAL`].
fn process(
    shared: &Shared,
    request: &[u8],
    service: Service,
    transport: Protocol,
    peer: SocketAddr,
    local: SocketAddr,
    now: Time,
) -> Option<Outcome> {
    let kdc = &shared.kdc;
    let slot = shared.slots.take();
    let result = catch_unwind(AssertUnwindSafe(|| match service {
        Service::Kdc => kdc.process(request, now),
        Service::Kpasswd => kdc.kpasswd(request, now, local, Some(&shared.kpasswd_replay)),
    }));
    drop(slot);
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            // The panic's text goes to the log only; the reply's e-text is the fixed one.
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let detail = format!("internal error (panic: {text})");
            Outcome {
                reply: error_reply(kdc, ErrorCode::KRB_ERR_GENERIC, &detail, now, None, None),
                facts: RequestFacts::failure(ExchangeKind::of(request), ErrorCode::KRB_ERR_GENERIC, &detail),
            }
        }
    };
    if !outcome.is_ignored() {
        return Some(outcome);
    }
    bump(&shared.counters.ignored);
    if let Some(unlogged) = shared.ignored_log.pass() {
        let mut entry = log_entry(outcome, transport, peer, now, request.len());
        if unlogged > 0 {
            if let Some(d) = entry.facts.detail.as_mut() {
                d.push_str(&format!(" ({unlogged} more ignored since the last such line)"));
            }
        }
        log(shared, &entry);
    }
    None
}

/// A KRB-ERROR from this KDC.
fn error_reply(
    kdc: &Kdc,
    code: ErrorCode,
    text: &str,
    now: Time,
    client: Option<&Principal>,
    service: Option<&Principal>,
) -> Vec<u8> {
    kdc.error_reply(&Error::new(code, text), now, client, service, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_targets_use_loopback_for_wildcards() {
        assert_eq!(wake_target("0.0.0.0:88".parse().unwrap()), "127.0.0.1:88".parse().unwrap());
        assert_eq!(wake_target("[::]:88".parse().unwrap()), "[::1]:88".parse().unwrap());
        assert_eq!(wake_target("10.1.2.3:88".parse().unwrap()), "10.1.2.3:88".parse().unwrap());
    }

    #[test]
    fn bad_configs_are_refused() {
        let kdc = Arc::new(Kdc::new("R").unwrap());
        let config = ServerConfig { workers: 0, ..Default::default() };
        let err = KdcServer::start(kdc.clone(), &["127.0.0.1:0"], config).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        let none: [&str; 0] = [];
        assert!(KdcServer::start(kdc, &none, ServerConfig::default()).is_err());
    }
}
