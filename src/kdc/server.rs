//! The KDC's network listener (RFC 4120 §7.2): UDP and TCP on each listen address, a fixed pool
//! of worker threads, bounded queues, connections and message sizes, one log line per request,
//! and a clean [`KdcServer::stop`].
//!
//! How the work is split:
//!
//! - each UDP socket has a receiver thread that reads datagrams into one reused buffer and hands
//!   each request to a bounded queue; a fixed pool of `workers` threads takes requests from it,
//!   calls [`Kdc::process`] and sends the reply. When the queue is full the datagram is dropped
//!   (the client retries), so memory stays bounded under any load.
//! - each TCP listener has an accept thread. An accepted connection goes to a connection thread
//!   from a pool that keeps idle threads for reuse (no thread is started per request once the
//!   pool is warm) and never holds more than `max_tcp_connections` connections; a connection
//!   beyond the cap is closed at once. A connection thread reads length-prefixed requests with a
//!   per-read timeout and a per-request deadline (so a slow or silent peer is dropped), answers
//!   them in order, and closes on EOF, timeout, a bad frame or after
//!   `max_requests_per_connection` requests. Slow TCP peers therefore never hold up the UDP
//!   workers.
//!
//! [`KdcServer::stop`] (also run on drop) wakes every blocked thread, closes open connections,
//! joins every thread and closes every socket, so the ports are free when it returns.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{ExchangeKind, Kdc, Outcome, RequestFacts};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::{Clock, SystemClock, Time};

/// The largest UDP payload over IPv4 (65535 − 8-byte UDP header − 20-byte IP header).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// How long a UDP receiver blocks before it looks at the stop flag again (a fallback: `stop`
/// wakes it at once with an empty datagram).
const UDP_POLL: Duration = Duration::from_millis(500);
/// How long an idle TCP connection thread is kept for reuse.
const TCP_THREAD_IDLE: Duration = Duration::from_secs(30);
/// Idle TCP connection threads kept beyond [`TCP_THREAD_IDLE`].
const TCP_THREADS_KEPT: usize = 1;
/// The initial size of a TCP connection thread's input buffer (grown up to one maximal request).
const TCP_INITIAL_BUFFER: usize = 4096;
/// How long `stop` waits for a thread to notice before giving up on it.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Which transport a request came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// UDP (one request, one reply datagram).
    Udp,
    /// TCP (4-byte big-endian length, then the message).
    Tcp,
}

impl Protocol {
    /// `"udp"` or `"tcp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts of one answered request, for the log. Holds no key material: names, codes, sizes
/// and times only.
#[derive(Clone, Debug)]
pub struct RequestLog {
    /// When the request was processed (the KDC's clock).
    pub time: Time,
    /// UDP or TCP.
    pub transport: Protocol,
    /// The peer's address.
    pub peer: SocketAddr,
    /// What the KDC made of the request (exchange, names, result code, session enctype).
    pub facts: RequestFacts,
    /// Request size in bytes (without the TCP length prefix).
    pub request_len: usize,
    /// Reply size in bytes (without the TCP length prefix).
    pub reply_len: usize,
    /// From the request's arrival (complete datagram or frame) to its reply being sent.
    pub elapsed: Duration,
}

impl fmt::Display for RequestLog {
    /// One line of `key=value` fields, e.g.
    /// `2026-01-02T03:04:05.000006Z udp peer=127.0.0.1:50000 exchange=AS client=alice@R
    /// service=krbtgt/R@R result=KDC_ERR_NONE etype=aes256-cts-hmac-sha384-192 req=243 rep=712
    /// us=95`; values with spaces, quotes or control characters are quoted and escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.time.civil();
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z {} peer={} exchange={}",
            self.time.subsec_micros(),
            self.transport,
            self.peer,
            self.facts.kind.as_str()
        )?;
        f.write_str(" client=")?;
        match &self.facts.client {
            Some(p) => write_value(f, &p.to_string())?,
            None => f.write_str("-")?,
        }
        f.write_str(" service=")?;
        match &self.facts.service {
            Some(p) => write_value(f, &p.to_string())?,
            None => f.write_str("-")?,
        }
        write!(f, " result={}", self.facts.code)?;
        match self.facts.session_enctype {
            Some(e) => write!(f, " etype={}", e.name())?,
            None => f.write_str(" etype=-")?,
        }
        write!(f, " req={} rep={} us={}", self.request_len, self.reply_len, self.elapsed.as_micros())?;
        if let Some(d) = &self.facts.detail {
            write!(f, " detail={d:?}")?;
        }
        Ok(())
    }
}

/// A log value as it is when it is plain, quoted and escaped otherwise (no log injection).
fn write_value(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\') {
        f.write_str(v)
    } else {
        write!(f, "{v:?}")
    }
}

/// Receives one [`RequestLog`] per answered request. Called on the server's threads after the
/// reply has been sent; keep it quick (buffer, or hand off to a channel).
pub type RequestLogger = Arc<dyn Fn(&RequestLog) + Send + Sync>;

/// A logger that writes each line to standard error (the default).
pub fn stderr_logger() -> RequestLogger {
    Arc::new(|entry: &RequestLog| {
        let line = format!("{entry}\n");
        let _ = io::stderr().lock().write_all(line.as_bytes());
    })
}

/// A logger that discards everything.
pub fn silent_logger() -> RequestLogger {
    Arc::new(|_: &RequestLog| {})
}

/// The settings of a [`KdcServer`].
#[derive(Clone)]
pub struct ServerConfig {
    /// Threads that answer UDP requests (default: the available parallelism).
    pub workers: usize,
    /// UDP requests waiting for a worker, at most; more are dropped (default 512).
    pub queue_len: usize,
    /// Open TCP connections, at most; more are closed at once (default 256).
    pub max_tcp_connections: usize,
    /// Requests answered on one TCP connection before it is closed (default 8).
    pub max_requests_per_connection: usize,
    /// The largest request accepted, bytes (default 64 KiB). A longer TCP frame closes the
    /// connection; a longer datagram is dropped.
    pub max_request_size: usize,
    /// How long a TCP read may wait, and how long one whole request may take to arrive (default
    /// 10 s). Silent or slow connections are closed after it.
    pub tcp_read_timeout: Duration,
    /// The largest reply sent over UDP (default [`MAX_UDP_PAYLOAD`]). A longer reply is replaced
    /// by a `KRB_ERR_RESPONSE_TOO_BIG` KRB-ERROR, so the client asks again over TCP.
    pub udp_reply_limit: usize,
    /// Where the KDC reads the time (default the system clock).
    pub clock: Arc<dyn Clock>,
    /// Where log lines go (default [`stderr_logger`]).
    pub logger: RequestLogger,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            workers: thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            queue_len: 512,
            max_tcp_connections: 256,
            max_requests_per_connection: 8,
            max_request_size: 64 * 1024,
            tcp_read_timeout: Duration::from_secs(10),
            udp_reply_limit: MAX_UDP_PAYLOAD,
            clock: Arc::new(SystemClock),
            logger: stderr_logger(),
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("workers", &self.workers)
            .field("queue_len", &self.queue_len)
            .field("max_tcp_connections", &self.max_tcp_connections)
            .field("max_requests_per_connection", &self.max_requests_per_connection)
            .field("max_request_size", &self.max_request_size)
            .field("tcp_read_timeout", &self.tcp_read_timeout)
            .field("udp_reply_limit", &self.udp_reply_limit)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::invalid(format!("server config: {what}")));
        if self.workers == 0 {
            return bad("workers must be at least 1");
        }
        if self.queue_len == 0 {
            return bad("queue_len must be at least 1");
        }
        if self.max_tcp_connections == 0 {
            return bad("max_tcp_connections must be at least 1");
        }
        if self.max_requests_per_connection == 0 {
            return bad("max_requests_per_connection must be at least 1");
        }
        if self.max_request_size == 0 || self.max_request_size > 0x7fff_ffff {
            return bad("max_request_size must be between 1 and 2^31 - 1");
        }
        if self.tcp_read_timeout.is_zero() {
            return bad("tcp_read_timeout must not be zero");
        }
        Ok(())
    }
}

/// Counters of a running server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// UDP requests answered.
    pub udp_requests: u64,
    /// TCP requests answered.
    pub tcp_requests: u64,
    /// UDP datagrams dropped (queue full, or longer than `max_request_size`).
    pub udp_dropped: u64,
    /// TCP connections closed at once because `max_tcp_connections` were open.
    pub tcp_refused: u64,
    /// TCP connections closed for a bad or oversized frame, a timeout or a half-sent request.
    pub tcp_aborted: u64,
    /// TCP connections open now.
    pub tcp_open: usize,
}

#[derive(Default)]
struct Counters {
    udp_requests: AtomicU64,
    tcp_requests: AtomicU64,
    udp_dropped: AtomicU64,
    tcp_refused: AtomicU64,
    tcp_aborted: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// State shared by every server thread.
struct Shared {
    kdc: Arc<Kdc>,
    config: ServerConfig,
    stopping: AtomicBool,
    counters: Counters,
    tcp: TcpPool,
}

/// One UDP request waiting for a worker.
struct UdpJob {
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    data: Vec<u8>,
    arrived: Instant,
}

/// The network server of a [`Kdc`]: UDP and TCP (RFC 4120 §7.2) on each listen address until
/// [`KdcServer::stop`] or drop.
pub struct KdcServer {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
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
        let mut wanted: Vec<SocketAddr> = Vec::new();
        for a in listen {
            let resolved = a
                .to_socket_addrs()
                .map_err(|e| Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("listen address {a:?}: {e}")))?;
            for sa in resolved {
                // The same fixed port twice would fail to bind; port 0 twice means two ports.
                if sa.port() == 0 || !wanted.contains(&sa) {
                    wanted.push(sa);
                }
            }
        }
        if wanted.is_empty() {
            return Err(Error::invalid("no listen address"));
        }
        let mut bound = Vec::with_capacity(wanted.len());
        for addr in wanted {
            bound.push(bind_pair(addr)?);
        }

        let shared = Arc::new(Shared {
            tcp: TcpPool::new(config.max_tcp_connections),
            kdc,
            config,
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
        });
        let mut server = KdcServer { shared: shared.clone(), addrs: Vec::new(), threads: Vec::new() };
        let (tx, rx) = sync_channel::<UdpJob>(shared.config.queue_len);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..shared.config.workers {
            let (sh, rx) = (shared.clone(), rx.clone());
            server.threads.push(spawn(format!("kdc-worker-{i}"), move || udp_worker(&sh, &rx))?);
        }
        for (tcp, udp, addr) in bound {
            server.addrs.push(addr);
            let sh = shared.clone();
            server.threads.push(spawn(format!("kdc-tcp-{addr}"), move || accept_loop(&sh, tcp))?);
            udp.set_read_timeout(Some(UDP_POLL)).map_err(|e| Error::io(format!("udp {addr}"), e))?;
            let (sh, tx) = (shared.clone(), tx.clone());
            let udp = Arc::new(udp);
            server.threads.push(spawn(format!("kdc-udp-{addr}"), move || udp_receiver(&sh, udp, tx))?);
        }
        Ok(server)
    }

    /// The addresses bound (with the ports the system chose for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
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
        let c = &self.shared.counters;
        ServerStats {
            udp_requests: c.udp_requests.load(Ordering::Relaxed),
            tcp_requests: c.tcp_requests.load(Ordering::Relaxed),
            udp_dropped: c.udp_dropped.load(Ordering::Relaxed),
            tcp_refused: c.tcp_refused.load(Ordering::Relaxed),
            tcp_aborted: c.tcp_aborted.load(Ordering::Relaxed),
            tcp_open: self.shared.tcp.state.lock().open,
        }
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
        for addr in &self.addrs {
            let target = wake_target(*addr);
            let local: SocketAddr = match target {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            if let Ok(s) = UdpSocket::bind(local) {
                let _ = s.send_to(&[], target);
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

/// Where to poke a listener bound to `addr` (a wildcard address is reached over loopback).
fn wake_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// `Kdc::process`, with a panic (a bug) turned into a KRB_ERR_GENERIC reply rather than a dead
/// worker.
fn process(kdc: &Kdc, request: &[u8], now: Time) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| kdc.process(request, now))) {
        Ok(outcome) => outcome,
        Err(_) => {
            let detail = "internal error";
            Outcome {
                reply: error_reply(kdc, ErrorCode::KRB_ERR_GENERIC, detail, now, None, None),
                facts: RequestFacts::failure(ExchangeKind::of(request), ErrorCode::KRB_ERR_GENERIC, detail),
            }
        }
    }
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

fn log(shared: &Shared, entry: &RequestLog) {
    // A panicking logger must not take a server thread with it.
    let _ = catch_unwind(AssertUnwindSafe(|| (shared.config.logger)(entry)));
}

fn log_entry(outcome: Outcome, transport: Protocol, peer: SocketAddr, now: Time, request_len: usize) -> RequestLog {
    RequestLog {
        time: now,
        transport,
        peer,
        reply_len: outcome.reply.len(),
        facts: outcome.facts,
        request_len,
        elapsed: Duration::ZERO,
    }
}

// ----- UDP -----------------------------------------------------------------------------------

fn udp_receiver(shared: &Shared, socket: Arc<UdpSocket>, queue: SyncSender<UdpJob>) {
    // One byte more than the largest request accepted, so a longer datagram shows as such.
    let mut buf = vec![0u8; shared.config.max_request_size.min(u16::MAX as usize) + 1];
    loop {
        let received = socket.recv_from(&mut buf);
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(_) => continue, // e.g. an ICMP error reported on some systems; keep serving
        };
        if n == 0 {
            continue;
        }
        if n > shared.config.max_request_size {
            bump(&shared.counters.udp_dropped);
            continue;
        }
        let job = UdpJob { socket: socket.clone(), peer, data: buf[..n].to_vec(), arrived: Instant::now() };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&shared.counters.udp_dropped),
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn udp_worker(shared: &Shared, queue: &Mutex<Receiver<UdpJob>>) {
    loop {
        // The lock is released at the end of this statement, before the request is handled.
        let next = queue.lock().recv();
        match next {
            Ok(job) => serve_datagram(shared, job),
            Err(_) => return, // every receiver has stopped
        }
    }
}

fn serve_datagram(shared: &Shared, job: UdpJob) {
    let kdc = &shared.kdc;
    let limit = shared.config.udp_reply_limit;
    let now = shared.config.clock.now();
    let mut outcome = process(kdc, &job.data, now);
    if outcome.reply.len() > limit {
        let detail = format!("reply of {} bytes is over the UDP limit of {limit}", outcome.reply.len());
        let code = ErrorCode::KRB_ERR_RESPONSE_TOO_BIG;
        let facts = &mut outcome.facts;
        outcome.reply = error_reply(kdc, code, &detail, now, facts.client.as_ref(), facts.service.as_ref());
        facts.code = code;
        facts.detail = Some(detail);
        facts.session_enctype = None;
    }
    let _ = job.socket.send_to(&outcome.reply, job.peer);
    bump(&shared.counters.udp_requests);
    let mut entry = log_entry(outcome, Protocol::Udp, job.peer, now, job.data.len());
    entry.elapsed = job.arrived.elapsed();
    log(shared, &entry);
}

// ----- TCP -----------------------------------------------------------------------------------

/// The pool of TCP connection threads and the connections they serve.
struct TcpPool {
    state: Mutex<PoolState>,
    ready: Condvar,
    max: usize,
}

struct PoolState {
    /// Accepted connections no thread has taken yet.
    queue: VecDeque<(TcpStream, SocketAddr)>,
    /// Connections accepted and not yet closed (queued or being served).
    open: usize,
    /// Connection threads alive, and how many of them wait for work.
    threads: usize,
    idle: usize,
    handles: Vec<JoinHandle<()>>,
    /// A second handle on each connection being served, so `stop` can unblock its reads.
    serving: HashMap<u64, TcpStream>,
    next_id: u64,
    shut_down: bool,
}

impl TcpPool {
    fn new(max: usize) -> TcpPool {
        TcpPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                open: 0,
                threads: 0,
                idle: 0,
                handles: Vec::new(),
                serving: HashMap::new(),
                next_id: 0,
                shut_down: false,
            }),
            ready: Condvar::new(),
            max,
        }
    }

    /// Takes a new connection, or closes it when the pool is full or shut down.
    fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
        let pool = &shared.tcp;
        let mut st = pool.state.lock();
        if st.shut_down {
            return;
        }
        if st.open >= pool.max {
            drop(st);
            bump(&shared.counters.tcp_refused);
            return; // dropping the stream closes it
        }
        st.open += 1;
        st.queue.push_back((stream, peer));
        if st.queue.len() > st.idle && st.threads < pool.max {
            st.handles.retain(|h| !h.is_finished());
            let sh = shared.clone();
            match spawn("kdc-tcp-conn".to_string(), move || tcp_connection_thread(&sh)) {
                Ok(h) => {
                    st.threads += 1;
                    st.handles.push(h);
                }
                Err(_) if st.threads == 0 => {
                    // Nobody could ever serve it.
                    st.queue.pop_back();
                    st.open -= 1;
                    drop(st);
                    bump(&shared.counters.tcp_refused);
                    return;
                }
                Err(_) => {} // an existing thread will take it
            }
        }
        pool.ready.notify_one();
    }

    /// The next connection to serve (registered for `stop`), or `None` when this thread should
    /// end (shut down, or idle too long).
    fn next(&self) -> Option<(TcpStream, SocketAddr, u64)> {
        let mut st = self.state.lock();
        loop {
            if st.shut_down {
                st.threads -= 1;
                return None;
            }
            if let Some((stream, peer)) = st.queue.pop_front() {
                let id = st.next_id;
                st.next_id += 1;
                match stream.try_clone() {
                    Ok(second) => {
                        st.serving.insert(id, second);
                    }
                    Err(_) => {
                        // Without a second handle `stop` could not interrupt it: close it now.
                        st.open -= 1;
                        continue;
                    }
                }
                return Some((stream, peer, id));
            }
            st.idle += 1;
            let timed_out = self.ready.wait_for(&mut st, TCP_THREAD_IDLE).timed_out();
            st.idle -= 1;
            if timed_out && st.queue.is_empty() && st.threads > TCP_THREADS_KEPT {
                st.threads -= 1;
                return None;
            }
        }
    }

    /// A connection has been closed.
    fn finished(&self, id: u64) {
        let mut st = self.state.lock();
        st.serving.remove(&id);
        st.open -= 1;
    }

    /// Refuses new connections, closes queued ones and interrupts the ones being served.
    fn shut_down(&self) {
        let mut st = self.state.lock();
        st.shut_down = true;
        let queued = st.queue.len();
        st.queue.clear();
        st.open -= queued;
        for s in st.serving.values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        drop(st);
        self.ready.notify_all();
    }

    fn take_threads(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.state.lock().handles)
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => TcpPool::admit(shared, stream, peer),
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset => {}
                // Out of descriptors or similar: back off instead of spinning.
                _ => thread::sleep(Duration::from_millis(10)),
            },
        }
    }
}

/// The buffers of one connection thread, reused from connection to connection.
struct TcpBuffers {
    input: Vec<u8>,
    output: Vec<u8>,
}

fn tcp_connection_thread(shared: &Shared) {
    let mut bufs = TcpBuffers { input: vec![0u8; TCP_INITIAL_BUFFER], output: Vec::new() };
    while let Some((mut stream, peer, id)) = shared.tcp.next() {
        if !serve_connection(shared, &mut stream, peer, &mut bufs) {
            bump(&shared.counters.tcp_aborted);
        }
        drop(stream);
        shared.tcp.finished(id);
    }
}

/// How reading one frame ended.
enum Frame {
    /// A complete request of this length follows the 4-byte prefix in the buffer.
    Request(usize),
    /// The peer closed cleanly between requests.
    Eof,
    /// The length had the reserved high bit set.
    Extension,
    /// Anything else: a bad length, a half-sent frame, a timeout, an I/O error.
    Abort,
}

/// Serves requests on one connection until EOF or a limit; false when it had to be aborted.
fn serve_connection(shared: &Shared, stream: &mut TcpStream, peer: SocketAddr, bufs: &mut TcpBuffers) -> bool {
    let cfg = &shared.config;
    if stream.set_read_timeout(Some(cfg.tcp_read_timeout)).is_err()
        || stream.set_write_timeout(Some(cfg.tcp_read_timeout)).is_err()
    {
        return false;
    }
    let _ = stream.set_nodelay(true);
    let mut filled = 0usize;
    for _ in 0..cfg.max_requests_per_connection {
        let len = match read_frame(stream, &mut bufs.input, &mut filled, cfg) {
            Frame::Request(len) => len,
            Frame::Eof => return true,
            Frame::Abort => return false,
            Frame::Extension => {
                // RFC 4120 §7.2.2: a KDC that does not understand the extension bit answers
                // KRB_ERR_FIELD_TOOLONG and closes the connection.
                let arrived = Instant::now();
                let now = cfg.clock.now();
                let code = ErrorCode::KRB_ERR_FIELD_TOOLONG;
                let detail = "TCP length with the reserved high bit set";
                let reply = error_reply(&shared.kdc, code, detail, now, None, None);
                let _ = write_frame(stream, &mut bufs.output, &reply);
                bump(&shared.counters.tcp_requests);
                let entry = RequestLog {
                    time: now,
                    transport: Protocol::Tcp,
                    peer,
                    facts: RequestFacts::failure(ExchangeKind::Unknown, code, detail),
                    request_len: 0,
                    reply_len: reply.len(),
                    elapsed: arrived.elapsed(),
                };
                log(shared, &entry);
                return true;
            }
        };
        let arrived = Instant::now();
        let now = cfg.clock.now();
        let outcome = process(&shared.kdc, &bufs.input[4..4 + len], now);
        let sent = write_frame(stream, &mut bufs.output, &outcome.reply);
        bump(&shared.counters.tcp_requests);
        let mut entry = log_entry(outcome, Protocol::Tcp, peer, now, len);
        entry.elapsed = arrived.elapsed();
        log(shared, &entry);
        if sent.is_err() {
            return false;
        }
        // Keep any bytes of the next request that came with this one.
        bufs.input.copy_within(4 + len..filled, 0);
        filled -= 4 + len;
    }
    true
}

/// Reads until `input[..filled]` starts with a whole frame. The request must arrive within
/// `tcp_read_timeout` of the call (each read also times out after it).
fn read_frame(stream: &mut TcpStream, input: &mut Vec<u8>, filled: &mut usize, cfg: &ServerConfig) -> Frame {
    let deadline = Instant::now() + cfg.tcp_read_timeout;
    loop {
        if *filled >= 4 {
            let n = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
            if n & 0x8000_0000 != 0 {
                return Frame::Extension;
            }
            let n = n as usize;
            if n == 0 || n > cfg.max_request_size {
                return Frame::Abort;
            }
            if *filled >= 4 + n {
                return Frame::Request(n);
            }
            if input.len() < 4 + n {
                input.resize(4 + n, 0);
            }
        }
        if Instant::now() >= deadline {
            return Frame::Abort;
        }
        match stream.read(&mut input[*filled..]) {
            Ok(0) if *filled == 0 => return Frame::Eof,
            Ok(0) => return Frame::Abort, // closed in the middle of a frame
            Ok(got) => *filled += got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Frame::Abort, // timeout, reset, or `stop`
        }
    }
}

fn write_frame(stream: &mut TcpStream, out: &mut Vec<u8>, message: &[u8]) -> io::Result<()> {
    let len = u32::try_from(message.len())
        .ok()
        .filter(|&n| n & 0x8000_0000 == 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "reply too long for a TCP frame"))?;
    out.clear();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    stream.write_all(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_line_quotes_odd_values() {
        let entry = RequestLog {
            time: Time::from_unix_parts(1_790_000_000, 42),
            transport: Protocol::Tcp,
            peer: "127.0.0.1:4000".parse().unwrap(),
            facts: RequestFacts {
                client: Some(Principal::parse("a b@R", None).unwrap()),
                ..RequestFacts::failure(ExchangeKind::As, ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN, "no\nsuch")
            },
            request_len: 10,
            reply_len: 20,
            elapsed: Duration::from_micros(7),
        };
        let line = entry.to_string();
        assert!(line.starts_with("2026-09-21T"), "{line}");
        assert!(line.contains(".000042Z tcp peer=127.0.0.1:4000 exchange=AS client=\"a b@R\" service=-"), "{line}");
        assert!(line.contains("result=KDC_ERR_C_PRINCIPAL_UNKNOWN etype=- req=10 rep=20 us=7"), "{line}");
        assert!(line.ends_with("detail=\"no\\nsuch\""), "{line}");
        assert!(!line.contains('\n'));
    }

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
