//! [`ServerConfig`]: the settings of a [`KdcServer`](super::KdcServer), their defaults and checks.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::log::{stderr_logger, RequestLogger};
use crate::error::{Error, Result};
use crate::time::{Clock, SystemClock};

/// The largest UDP payload over IPv4 (65535 − 8-byte UDP header − 20-byte IP header).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// The default of [`ServerConfig::kdc_max_dgram_reply_size`]: MIT's `kdc_max_dgram_reply_size`
/// default.
pub const DEFAULT_MAX_DGRAM_REPLY_SIZE: usize = 4096;

/// The settings of a [`KdcServer`](super::KdcServer).
#[derive(Clone)]
pub struct ServerConfig {
    /// Threads that answer UDP requests (default: the available parallelism), and the most
    /// requests, UDP and TCP together, the KDC processes at once: TCP connection threads read
    /// and frame on their own, but take one of these `workers` slots for the KDC work.
    pub workers: usize,
    /// Kept so existing settings still build and check (at least 1; default 512); no longer
    /// used: the UDP workers receive on the socket themselves, so the requests waiting are the
    /// socket's receive queue, bounded by the kernel (`net.core.rmem_default`), which drops a
    /// datagram arriving at a full queue (counted in `/proc/net/snmp`'s `Udp: RcvbufErrors`, not in
    /// [`ServerStats::udp_dropped`](super::ServerStats::udp_dropped)).
    pub queue_len: usize,
    /// Open TCP connections, at most (default 256). A new connection beyond it makes room by
    /// closing the one idle the longest (waiting for its next request, or for the rest of a
    /// half-sent one), as MIT's KDC does, so idle connections cannot lock TCP out; it is closed
    /// itself only when every open connection has a request being processed.
    pub max_tcp_connections: usize,
    /// Requests answered on one TCP connection before it is closed (default 8).
    pub max_requests_per_connection: usize,
    /// The largest request accepted, bytes (default 64 KiB). A longer TCP frame closes the
    /// connection; a longer datagram is dropped.
    pub max_request_size: usize,
    /// How long a TCP read may wait, and how long one whole request may take to arrive (default
    /// 10 s). Silent or slow connections are closed after it.
    pub tcp_read_timeout: Duration,
    /// The largest reply sent over UDP, bytes (default [`DEFAULT_MAX_DGRAM_REPLY_SIZE`], 4096,
    /// as MIT's; kdc.conf's `kdc_max_dgram_reply_size`). A longer reply is replaced by a
    /// `KRB_ERR_RESPONSE_TOO_BIG` KRB-ERROR, so the client asks again over TCP.
    pub kdc_max_dgram_reply_size: usize,
    /// Where the KDC reads the time (default the system clock).
    pub clock: Arc<dyn Clock>,
    /// Where log lines go (default [`stderr_logger`]).
    pub logger: RequestLogger,
    /// Where to serve the change-password protocol (RFC 3244, [`Kdc::kpasswd`](crate::kdc::Kdc::kpasswd)) over UDP and
    /// TCP, as for `listen` (default none). Name specific addresses: the reply names the
    /// address it is sent from, which a UDP socket bound to a wildcard does not know.
    pub kpasswd_listen: Vec<String>,
    /// Where to serve the Prometheus metrics over HTTP (`http://ADDR/metrics`, the text of
    /// [`KdcServer::metrics_text`](super::KdcServer::metrics_text); port 0 picks one, see [`KdcServer::metrics_addr`](super::KdcServer::metrics_addr)); `None`
    /// (the default) serves none.
    pub metrics_listen: Option<SocketAddr>,
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
            kdc_max_dgram_reply_size: DEFAULT_MAX_DGRAM_REPLY_SIZE,
            clock: Arc::new(SystemClock),
            logger: stderr_logger(),
            kpasswd_listen: Vec::new(),
            metrics_listen: None,
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
            .field("kdc_max_dgram_reply_size", &self.kdc_max_dgram_reply_size)
            .field("clock", &self.clock)
            .field("kpasswd_listen", &self.kpasswd_listen)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    pub(super) fn check(&self) -> Result<()> {
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
        if self.kdc_max_dgram_reply_size == 0 || self.kdc_max_dgram_reply_size > MAX_UDP_PAYLOAD {
            return bad("kdc_max_dgram_reply_size must be between 1 and 65507");
        }
        if self.tcp_read_timeout.is_zero() {
            return bad("tcp_read_timeout must not be zero");
        }
        Ok(())
    }
}
