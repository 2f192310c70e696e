//! TCP: the accept loop, the bounded pool of connection threads (idle threads kept for reuse)
//! with the eviction of the connection idle the longest when the pool is full, and the
//! length-prefixed framing of RFC 4120 §7.2.2 with per-read and per-request deadlines.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::log::{answered, log_entry, Protocol, RequestLog};
use super::{bump, error_reply, process, spawn, ServerConfig, Service, Shared};
use crate::error::ErrorCode;
use crate::kdc::{ExchangeKind, RequestFacts};
use crate::time::Clock;

/// How long an idle TCP connection thread is kept for reuse.
const TCP_THREAD_IDLE: Duration = Duration::from_secs(30);
/// Idle TCP connection threads kept beyond [`TCP_THREAD_IDLE`].
const TCP_THREADS_KEPT: usize = 1;
/// The initial size of a TCP connection thread's input buffer (grown up to one maximal request).
const TCP_INITIAL_BUFFER: usize = 4096;

/// The pool of TCP connection threads and the connections they serve.
pub(super) struct TcpPool {
    pub(super) state: Mutex<PoolState>,
    ready: Condvar,
    max: usize,
}

pub(super) struct PoolState {
    /// Accepted connections no thread has taken yet, with when they were accepted.
    queue: VecDeque<(TcpStream, SocketAddr, Instant, Service)>,
    /// Connections accepted and not yet closed (queued or being served).
    pub(super) open: usize,
    /// Connection threads alive, and how many of them wait for work.
    threads: usize,
    idle: usize,
    handles: Vec<JoinHandle<()>>,
    /// The connections being served: a second handle on each, so `stop` or an eviction can
    /// unblock its reads, and since when it has been idle (`None` while a request of it is
    /// being processed and answered).
    serving: HashMap<u64, Serving>,
    next_id: u64,
    shut_down: bool,
}

pub(super) struct Serving {
    stream: TcpStream,
    idle_since: Option<Instant>,
}

impl PoolState {
    /// Closes the connection idle the longest (queued or served) to make room for a new one;
    /// false when every open connection has a request in progress.
    fn evict_idlest(&mut self) -> bool {
        let served = self.serving.iter().filter_map(|(id, c)| c.idle_since.map(|t| (t, *id))).min();
        let queued = self.queue.iter().enumerate().map(|(i, q)| (q.2, i)).min();
        match (served, queued) {
            (Some((t, id)), q) if q.is_none_or(|(tq, _)| t <= tq) => {
                if let Some(c) = self.serving.remove(&id) {
                    let _ = c.stream.shutdown(Shutdown::Both);
                }
            }
            (_, Some((_, i))) => {
                self.queue.remove(i); // dropping the stream closes it
            }
            _ => return false,
        }
        self.open -= 1;
        true
    }
}

impl TcpPool {
    pub(super) fn new(max: usize) -> TcpPool {
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
    fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr, service: Service) {
        let pool = &shared.tcp;
        let mut st = pool.state.lock();
        if st.shut_down {
            return;
        }
        if st.open >= pool.max {
            if st.evict_idlest() {
                bump(&shared.counters.tcp_evicted);
            } else {
                drop(st);
                bump(&shared.counters.tcp_refused);
                return; // dropping the stream closes it
            }
        }
        st.open += 1;
        st.queue.push_back((stream, peer, Instant::now(), service));
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
    fn next(&self) -> Option<(TcpStream, SocketAddr, u64, Service)> {
        let mut st = self.state.lock();
        loop {
            if st.shut_down {
                st.threads -= 1;
                return None;
            }
            if let Some((stream, peer, accepted, service)) = st.queue.pop_front() {
                let id = st.next_id;
                st.next_id += 1;
                match stream.try_clone() {
                    Ok(second) => {
                        st.serving.insert(id, Serving { stream: second, idle_since: Some(accepted) });
                    }
                    Err(_) => {
                        // Without a second handle `stop` could not interrupt it: close it now.
                        st.open -= 1;
                        continue;
                    }
                }
                return Some((stream, peer, id, service));
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

    /// Connection `id` has a complete request to process (so it is not idle, and cannot be
    /// evicted until it is answered); false when it has been evicted already.
    fn busy(&self, id: u64) -> bool {
        match self.state.lock().serving.get_mut(&id) {
            Some(c) => {
                c.idle_since = None;
                true
            }
            None => false,
        }
    }

    /// Connection `id` has been answered and waits for its next request.
    fn idle(&self, id: u64) {
        if let Some(c) = self.state.lock().serving.get_mut(&id) {
            c.idle_since = Some(Instant::now());
        }
    }

    /// A connection has been closed (an evicted one was counted as closed already).
    fn finished(&self, id: u64) {
        let mut st = self.state.lock();
        if st.serving.remove(&id).is_some() {
            st.open -= 1;
        }
    }

    /// Refuses new connections, closes queued ones and interrupts the ones being served.
    pub(super) fn shut_down(&self) {
        let mut st = self.state.lock();
        st.shut_down = true;
        let queued = st.queue.len();
        st.queue.clear();
        st.open -= queued;
        for c in st.serving.values() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        drop(st);
        self.ready.notify_all();
    }

    pub(super) fn take_threads(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.state.lock().handles)
    }
}

pub(super) fn accept_loop(shared: &Arc<Shared>, listener: TcpListener, service: Service) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => TcpPool::admit(shared, stream, peer, service),
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
    while let Some((mut stream, peer, id, service)) = shared.tcp.next() {
        if !serve_connection(shared, &mut stream, peer, id, service, &mut bufs) {
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
fn serve_connection(
    shared: &Shared,
    stream: &mut TcpStream,
    peer: SocketAddr,
    id: u64,
    service: Service,
    bufs: &mut TcpBuffers,
) -> bool {
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
                answered(shared, &entry);
                return true;
            }
        };
        if !shared.tcp.busy(id) {
            return true; // evicted while the request arrived
        }
        let arrived = Instant::now();
        let now = cfg.clock.now();
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(_) => return false,
        };
        let request = &bufs.input[4..4 + len];
        let Some(outcome) = process(shared, request, service, Protocol::Tcp, peer, local, now) else {
            // Not a KDC request: no reply, and the connection is closed.
            return true;
        };
        let sent = write_frame(stream, &mut bufs.output, &outcome.reply);
        bump(&shared.counters.tcp_requests);
        let mut entry = log_entry(outcome, Protocol::Tcp, peer, now, len);
        entry.elapsed = arrived.elapsed();
        answered(shared, &entry);
        if sent.is_err() {
            return false;
        }
        shared.tcp.idle(id);
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
