//! The request log: [`RequestLog`], the facts of one answered request with its transport, peer,
//! sizes and timing, its one-line `key=value` form, and the loggers that receive it.

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Shared;
use crate::kdc::{Outcome, RequestFacts};
use crate::time::Time;

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

/// A rate limit for log lines: at most one per interval, counting the ones it held back.
pub(super) struct Throttle {
    interval: Duration,
    /// When the last line passed, and how many were held back since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    pub(super) fn new(interval: Duration) -> Throttle {
        Throttle { interval, state: Mutex::new((None, 0)) }
    }

    /// `Some(held back since the last line)` when a line may be written now, else `None`.
    pub(super) fn pass(&self) -> Option<u64> {
        self.pass_at(Instant::now())
    }

    fn pass_at(&self, now: Instant) -> Option<u64> {
        let mut st = self.state.lock();
        match st.0 {
            Some(last) if now.duration_since(last) < self.interval => {
                st.1 += 1;
                None
            }
            _ => {
                let held = st.1;
                *st = (Some(now), 0);
                Some(held)
            }
        }
    }
}

pub(super) fn log(shared: &Shared, entry: &RequestLog) {
    // A panicking logger must not take a server thread with it.
    let _ = catch_unwind(AssertUnwindSafe(|| (shared.config.logger)(entry)));
}

pub(super) fn log_entry(
    outcome: Outcome,
    transport: Protocol,
    peer: SocketAddr,
    now: Time,
    request_len: usize,
) -> RequestLog {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::kdc::ExchangeKind;
    use crate::principal::Principal;

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
    fn throttle_passes_one_line_per_interval_and_counts_the_rest() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(t.pass_at(at(0)), Some(0));
        assert_eq!(t.pass_at(at(1)), None);
        assert_eq!(t.pass_at(at(9)), None);
        // The held-back count is reported with the next line that passes.
        assert_eq!(t.pass_at(at(10)), Some(2));
        assert_eq!(t.pass_at(at(11)), None);
        assert_eq!(t.pass_at(at(30)), Some(1));
    }
}
