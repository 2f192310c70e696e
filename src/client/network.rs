//! Reaching KDCs over the network (RFC 4120 §7.2): UDP for small requests, TCP for large ones and
//! whenever a KDC answers over UDP that its reply is too big (`KRB_ERR_RESPONSE_TOO_BIG`).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::transport::Transport;
use crate::error::{Error, ErrorCode, Result};
use crate::wire::{self, msg_type, KrbError};

/// The Kerberos port.
pub const DEFAULT_KDC_PORT: u16 = 88;

/// Requests longer than this go over TCP first (MIT's `udp_preference_limit` default).
pub const DEFAULT_UDP_PREFERENCE_LIMIT: usize = 1465;

/// The largest UDP payload (IPv4).
const MAX_UDP_PAYLOAD: usize = 65_507;

/// The largest reply accepted over TCP.
const MAX_TCP_REPLY: usize = 1 << 20;

thread_local! {
    /// A receive buffer per thread, so a UDP exchange allocates only the reply itself.
    static UDP_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    Udp,
    Tcp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
}

/// A [`Transport`] to one or more KDCs by address.
///
/// Each request tries the KDCs in order, over UDP first when it is no longer than the
/// `udp_preference_limit` (TCP first otherwise), then over the other protocol, for a bounded
/// number of rounds. A UDP reply is accepted only from the address the request went to. A
/// `KRB_ERR_RESPONSE_TOO_BIG` reply over UDP sends the request again over TCP to the same KDC;
/// `KDC_ERR_SVC_UNAVAILABLE` moves on to the next KDC. When no KDC answers, the error
/// (`KTIX_ERR_NETWORK`) lists every address and protocol tried and what went wrong.
#[derive(Clone, Debug)]
pub struct Network {
    kdcs: Vec<String>,
    udp_preference_limit: usize,
    udp_timeout: Duration,
    tcp_timeout: Duration,
    rounds: usize,
    /// Which UDP datagrams from the server are replies (anything else is noise).
    is_reply: fn(&[u8]) -> bool,
}

/// What a KDC answers: an AS-REP, a TGS-REP or a KRB-ERROR. A request is none of them: above all
/// not the client's own, read back by a socket the system connected to itself.
fn is_kdc_reply(reply: &[u8]) -> bool {
    matches!(wire::message_tag(reply), Some(msg_type::AS_REP | msg_type::TGS_REP | msg_type::KRB_ERROR))
}

fn is_kpasswd_reply(reply: &[u8]) -> bool {
    crate::proto::kpasswd::parse_reply(reply).is_ok() || is_kdc_reply(reply)
}

impl Network {
    /// KDCs as `host`, `host:port`, `a.b.c.d:port`, `[v6]:port` or a bare IPv6 address
    /// (default port 88), tried in order. Names are resolved at each request.
    pub fn new(kdcs: Vec<String>) -> Network {
        Network {
            kdcs,
            udp_preference_limit: DEFAULT_UDP_PREFERENCE_LIMIT,
            udp_timeout: Duration::from_secs(1),
            tcp_timeout: Duration::from_secs(3),
            rounds: 2,
            is_reply: is_kdc_reply,
        }
    }

    /// Change-password servers (RFC 3244), as krb5.conf's `kpasswd_server`, `host:port`: the
    /// same transport with that protocol's replies.
    pub fn kpasswd(servers: Vec<String>) -> Network {
        Network { is_reply: is_kpasswd_reply, ..Network::new(servers) }
    }

    /// Requests longer than `limit` bytes go over TCP first; 1 sends everything over TCP first
    /// (as MIT's `udp_preference_limit = 1`). Default 1465.
    pub fn with_udp_preference_limit(mut self, limit: usize) -> Network {
        self.udp_preference_limit = limit;
        self
    }

    /// How long to wait for a UDP reply in the first round (doubled in each later round).
    /// Default 1 s.
    pub fn with_udp_timeout(mut self, timeout: Duration) -> Network {
        self.udp_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a TCP connect, and each read or write, may take. Default 3 s.
    pub fn with_tcp_timeout(mut self, timeout: Duration) -> Network {
        self.tcp_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many times the whole KDC list is tried (at least 1). Default 2.
    pub fn with_rounds(mut self, rounds: usize) -> Network {
        self.rounds = rounds.max(1);
        self
    }

    /// The KDC list.
    pub fn kdcs(&self) -> &[String] {
        &self.kdcs
    }

    /// The UDP preference limit.
    pub fn udp_preference_limit(&self) -> usize {
        self.udp_preference_limit
    }

    fn udp(&self, addr: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
        let local: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(local)?;
        // A connected socket: the system delivers only datagrams from `addr`, and reports an
        // unreachable port as an error instead of a timeout.
        socket.connect(addr)?;
        refuse_self(socket.local_addr()?, addr)?;
        socket.send(request)?;
        let deadline = Instant::now() + timeout;
        UDP_BUFFER.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < MAX_UDP_PAYLOAD + 1 {
                buf.resize(MAX_UDP_PAYLOAD + 1, 0);
            }
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply"));
                }
                socket.set_read_timeout(Some(left))?;
                match socket.recv_from(&mut buf) {
                    // Only a message from the KDC asked; anything else is noise.
                    Ok((n, from)) if same_peer(from, addr) && (self.is_reply)(&buf[..n]) => {
                        return Ok(buf[..n].to_vec());
                    }
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply"));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn tcp(&self, addr: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
        let len = u32::try_from(request.len())
            .ok()
            .filter(|&n| n & 0x8000_0000 == 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "request too long for TCP"))?;
        let mut stream = TcpStream::connect_timeout(&addr, self.tcp_timeout)?;
        refuse_self(stream.local_addr()?, addr)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(self.tcp_timeout))?;
        let mut frame = Vec::with_capacity(4 + request.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(request);
        stream.write_all(&frame)?;
        let deadline = Instant::now() + self.tcp_timeout;
        let mut prefix = [0u8; 4];
        read_exact_by(&mut stream, &mut prefix, deadline)?;
        let n = u32::from_be_bytes(prefix);
        if n & 0x8000_0000 != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "reply length has the reserved high bit set"));
        }
        let n = n as usize;
        if n == 0 || n > MAX_TCP_REPLY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("reply length {n} out of range")));
        }
        let mut reply = vec![0u8; n];
        read_exact_by(&mut stream, &mut reply, deadline)?;
        Ok(reply)
    }
}

/// An error when a socket was connected to itself. A port nobody listens on is an ordinary port
/// to the system, and it may hand it to the very socket connecting there (on loopback, say,
/// just after a KDC stopped); that socket would read its own request back. Reported as a
/// refused port, which it is.
fn refuse_self(local: SocketAddr, peer: SocketAddr) -> io::Result<()> {
    if same_peer(local, peer) {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "nobody listens (the socket was connected to itself)",
        ));
    }
    Ok(())
}

/// Same address and port (IPv6 flow labels aside).
fn same_peer(a: SocketAddr, b: SocketAddr) -> bool {
    a.ip() == b.ip() && a.port() == b.port()
}

/// `read_exact` that gives up at `deadline`.
fn read_exact_by(stream: &mut TcpStream, mut buf: &mut [u8], deadline: Instant) -> io::Result<()> {
    while !buf.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply"));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(buf) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed")),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply"));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The error code of a KRB-ERROR reply; `None` for other messages.
fn krb_error_code(reply: &[u8]) -> Option<ErrorCode> {
    if wire::message_tag(reply) != Some(msg_type::KRB_ERROR) {
        return None;
    }
    wire::decode::<KrbError>(reply).ok().map(|e| ErrorCode(e.error_code))
}

/// Splits a KDC entry into host and port (default 88).
fn split_host_port(entry: &str) -> std::result::Result<(&str, u16), String> {
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("missing ']'")?;
        match after {
            "" => (host, DEFAULT_KDC_PORT),
            _ => (host, parse_port(after.strip_prefix(':').ok_or("junk after ']'")?)?),
        }
    } else if entry.matches(':').count() > 1 {
        (entry, DEFAULT_KDC_PORT) // a bare IPv6 address
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host, parse_port(port)?),
            None => (entry, DEFAULT_KDC_PORT),
        }
    };
    if host.is_empty() {
        return Err("no host".to_string());
    }
    Ok((host, port))
}

pub(super) fn resolve(entry: &str) -> std::result::Result<Vec<SocketAddr>, String> {
    let (host, port) = split_host_port(entry.trim())?;
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.collect();
    if addrs.is_empty() {
        return Err("no address".to_string());
    }
    Ok(addrs)
}

/// What was tried and how it failed, for the final error.
#[derive(Default)]
struct Attempts(Vec<(String, String, u32)>);

impl Attempts {
    fn failed(&mut self, what: String, why: String) {
        match self.0.iter_mut().find(|(w, _, _)| *w == what) {
            Some(a) => {
                a.1 = why;
                a.2 += 1;
            }
            None => self.0.push((what, why, 1)),
        }
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        for (i, (what, why, n)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            let _ = write!(out, "{what}: {why}");
            if *n > 1 {
                let _ = write!(out, " ({n} tries)");
            }
        }
        out
    }
}

impl Transport for Network {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>> {
        if self.kdcs.is_empty() {
            return Err(Error::new(ErrorCode::KTIX_ERR_NETWORK, "no KDC address configured"));
        }
        let mut attempts = Attempts::default();
        let mut targets: Vec<SocketAddr> = Vec::new();
        for entry in &self.kdcs {
            match resolve(entry) {
                Ok(addrs) => {
                    for a in addrs {
                        if !targets.contains(&a) {
                            targets.push(a);
                        }
                    }
                }
                Err(why) => attempts.failed(format!("KDC {entry:?}"), why),
            }
        }
        let order =
            if request.len() > self.udp_preference_limit { [Proto::Tcp, Proto::Udp] } else { [Proto::Udp, Proto::Tcp] };
        for round in 0..self.rounds {
            let udp_timeout = self.udp_timeout.saturating_mul(1 << round.min(4));
            for proto in order {
                if proto == Proto::Udp && request.len() > MAX_UDP_PAYLOAD {
                    continue;
                }
                for &addr in &targets {
                    let what = format!("{} {addr}", proto.name());
                    let reply = match proto {
                        Proto::Udp => self.udp(addr, request, udp_timeout),
                        Proto::Tcp => self.tcp(addr, request),
                    };
                    let reply = match reply {
                        Ok(r) => r,
                        Err(e) => {
                            attempts.failed(what, e.to_string());
                            continue;
                        }
                    };
                    match krb_error_code(&reply) {
                        Some(ErrorCode::KRB_ERR_RESPONSE_TOO_BIG) if proto == Proto::Udp => {
                            match self.tcp(addr, request) {
                                Ok(r) if krb_error_code(&r) != Some(ErrorCode::KDC_ERR_SVC_UNAVAILABLE) => {
                                    return Ok(r)
                                }
                                Ok(_) => attempts.failed(format!("tcp {addr}"), "KDC_ERR_SVC_UNAVAILABLE".into()),
                                Err(e) => attempts.failed(format!("tcp {addr} (reply too big for udp)"), e.to_string()),
                            }
                        }
                        Some(ErrorCode::KDC_ERR_SVC_UNAVAILABLE) => {
                            attempts.failed(what, "KDC_ERR_SVC_UNAVAILABLE".into());
                        }
                        _ => return Ok(reply),
                    }
                }
            }
        }
        let tried = if attempts.0.is_empty() { "nothing to try".to_string() } else { attempts.summary() };
        Err(Error::new(
            ErrorCode::KTIX_ERR_NETWORK,
            format!("no KDC answered ({} round(s)); tried {tried}", self.rounds),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdc_entries() {
        assert_eq!(split_host_port("kdc.example.com"), Ok(("kdc.example.com", 88)));
        assert_eq!(split_host_port("kdc.example.com:750"), Ok(("kdc.example.com", 750)));
        assert_eq!(split_host_port("127.0.0.1:8888"), Ok(("127.0.0.1", 8888)));
        assert_eq!(split_host_port("[::1]:8888"), Ok(("::1", 8888)));
        assert_eq!(split_host_port("[::1]"), Ok(("::1", 88)));
        assert_eq!(split_host_port("fe80::1"), Ok(("fe80::1", 88)));
        assert!(split_host_port("[::1").is_err());
        assert!(split_host_port("[::1]x").is_err());
        assert!(split_host_port("host:port").is_err());
        assert!(split_host_port(":88").is_err());
        assert!(split_host_port("host:70000").is_err());
        assert_eq!(resolve("[::1]:5").unwrap(), vec!["[::1]:5".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn only_replies_are_kdc_replies() {
        for (tag, reply) in [(10, false), (11, true), (12, false), (13, true), (14, false), (30, true)] {
            assert_eq!(is_kdc_reply(&[0x60 | tag, 0x00]), reply, "message type {tag}");
        }
        assert!(!is_kdc_reply(b""));
        let a: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(refuse_self(a, a).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
        assert!(refuse_self("127.0.0.1:40001".parse().unwrap(), a).is_ok());
    }

    #[test]
    fn no_kdc_is_a_network_error() {
        let e = Network::new(vec![]).send(b"x").unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_NETWORK);
        let e = Network::new(vec!["[bad".into()]).send(b"x").unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_NETWORK);
        assert!(e.message().contains("\"[bad\""), "{e}");
    }
}
