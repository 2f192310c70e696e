//! The request log: [`RequestLog`], the facts of one answered request with its transport, peer,
//! sizes and timing, its one-line `key=value` form, and the loggers that receive it.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Shared;
use crate::error::{Error, ErrorCode, Result};
use crate::kdc::{Outcome, RequestFacts};
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::decimal;

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

impl RequestLog {
    /// Appends the line (its `Display` form) to `out`.
    ///
    /// Written piece by piece into the string, without `core::fmt` for the fixed-width numbers,
    /// names and codes: the server formats one line per request on its own threads, and
    /// `write!` with width specifiers cost several times as much.
    pub fn write_line(&self, out: &mut String) {
        let (y, mo, d, h, mi, s) = self.time.civil();
        if y < 0 {
            out.push('-');
        }
        push_decimal(out, y.unsigned_abs(), if y < 0 { 3 } else { 4 });
        for (sep, v) in [('-', mo), ('-', d), ('T', h), (':', mi), (':', s)] {
            out.push(sep);
            push_decimal(out, u64::from(v), 2);
        }
        out.push('.');
        push_decimal(out, u64::from(self.time.subsec_micros()), 6);
        out.push_str("Z ");
        out.push_str(self.transport.as_str());
        out.push_str(" peer=");
        match self.peer {
            SocketAddr::V4(v4) => {
                for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    push_decimal(out, u64::from(octet), 1);
                }
                out.push(':');
                push_decimal(out, u64::from(v4.port()), 1);
            }
            SocketAddr::V6(v6) => {
                let _ = write!(out, "{v6}");
            }
        }
        out.push_str(" exchange=");
        out.push_str(self.facts.kind.as_str());
        out.push_str(" client=");
        push_principal(out, self.facts.client.as_ref());
        out.push_str(" service=");
        push_principal(out, self.facts.service.as_ref());
        out.push_str(" result=");
        let _ = self.facts.code.write_name(out);
        out.push_str(" etype=");
        out.push_str(self.facts.session_enctype.map_or("-", |e| e.name()));
        out.push_str(" req=");
        push_decimal(out, self.request_len as u64, 1);
        out.push_str(" rep=");
        push_decimal(out, self.reply_len as u64, 1);
        out.push_str(" us=");
        push_decimal(out, u64::try_from(self.elapsed.as_micros()).unwrap_or(u64::MAX), 1);
        if let Some(d) = &self.facts.detail {
            let _ = write!(out, " detail={d:?}");
        }
    }

    /// Calls `f` with the line, formatted into a per-thread buffer (no allocation per line once
    /// warm): what the loggers write.
    pub fn with_line<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                self.write_line(&mut line);
                f(&line)
            }
            // Only if a logger formats a line from inside a line being formatted.
            Err(_) => f(&self.to_string()),
        })
    }
}

impl fmt::Display for RequestLog {
    /// One line of `key=value` fields, e.g.
    /// `2026-01-02T03:04:05.000006Z udp peer=127.0.0.1:50000 exchange=AS client=alice@R
    /// service=krbtgt/R@R result=KDC_ERR_NONE etype=aes256-cts-hmac-sha384-192 req=243 rep=712
    /// us=95`; values with spaces, quotes or control characters are quoted and escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::with_capacity(192);
        self.write_line(&mut line);
        f.write_str(&line)
    }
}

thread_local! {
    /// The line being formatted, for [`RequestLog::with_line`].
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// `v` in decimal, zero-padded to at least `width` digits.
fn push_decimal(out: &mut String, v: u64, width: usize) {
    let (digits, start) = decimal(v, width);
    // ASCII bytes as chars: no UTF-8 validation of a copy.
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// A principal as a log value, `-` for none: as it is when it is plain, quoted and escaped
/// otherwise (no log injection; a name with an escape has a backslash, so it is quoted too).
fn push_principal(out: &mut String, p: Option<&Principal>) {
    let Some(p) = p else { return out.push('-') };
    let start = out.len();
    let _ = p.write_to(out);
    let text = &out[start..];
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if !plain {
        let text = out.split_off(start);
        let _ = write!(out, "{text:?}");
    }
}

/// Receives one [`RequestLog`] per answered request. Called on the server's threads after the
/// reply has been sent; keep it quick (buffer, or hand off to a channel).
pub type RequestLogger = Arc<dyn Fn(&RequestLog) + Send + Sync>;

/// A logger that writes each line to standard error (the default).
pub fn stderr_logger() -> RequestLogger {
    LogSink { inner: Arc::new(Sink::Stderr) }.logger()
}

/// A logger that discards everything.
pub fn silent_logger() -> RequestLogger {
    Arc::new(|_: &RequestLog| {})
}

/// Where a KDC log goes: the value of kdc.conf's `[logging] kdc = ...` (MIT's syntax). Parse it
/// with [`LogTarget::parse`], open it with [`LogSink::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// `STDERR`: standard error (the default).
    Stderr,
    /// `FILE:/path` (or `FILE=/path`, which MIT also takes): appended to, created when missing,
    /// reopened by [`LogSink::reopen`] (after logrotate moved it; `ktix kdc serve` does this on
    /// SIGHUP).
    File(PathBuf),
    /// `SYSLOG[:severity[:facility]]`: the system log at `severity` (default `ERR`, as MIT's) in
    /// `facility` (default `AUTH`, as MIT's). Both are upper-case syslog names without `LOG_`,
    /// checked by [`LogTarget::parse`].
    Syslog {
        /// `EMERG`, `ALERT`, `CRIT`, `ERR`, `WARNING`, `NOTICE`, `INFO` or `DEBUG`.
        severity: String,
        /// `KERN`, `USER`, `MAIL`, `DAEMON`, `AUTH`, `SYSLOG`, `LPR`, `NEWS`, `UUCP`, `CRON`,
        /// `AUTHPRIV` or `LOCAL0` to `LOCAL7`.
        facility: String,
    },
}

/// The syslog severities by name (MIT's list; `WARN` is taken for `WARNING`).
const SYSLOG_SEVERITIES: &[(&str, libc::c_int)] = &[
    ("EMERG", libc::LOG_EMERG),
    ("ALERT", libc::LOG_ALERT),
    ("CRIT", libc::LOG_CRIT),
    ("ERR", libc::LOG_ERR),
    ("WARNING", libc::LOG_WARNING),
    ("WARN", libc::LOG_WARNING),
    ("NOTICE", libc::LOG_NOTICE),
    ("INFO", libc::LOG_INFO),
    ("DEBUG", libc::LOG_DEBUG),
];

/// The syslog facilities by name.
const SYSLOG_FACILITIES: &[(&str, libc::c_int)] = &[
    ("KERN", libc::LOG_KERN),
    ("USER", libc::LOG_USER),
    ("MAIL", libc::LOG_MAIL),
    ("DAEMON", libc::LOG_DAEMON),
    ("AUTH", libc::LOG_AUTH),
    ("SYSLOG", libc::LOG_SYSLOG),
    ("LPR", libc::LOG_LPR),
    ("NEWS", libc::LOG_NEWS),
    ("UUCP", libc::LOG_UUCP),
    ("CRON", libc::LOG_CRON),
    ("AUTHPRIV", libc::LOG_AUTHPRIV),
    ("LOCAL0", libc::LOG_LOCAL0),
    ("LOCAL1", libc::LOG_LOCAL1),
    ("LOCAL2", libc::LOG_LOCAL2),
    ("LOCAL3", libc::LOG_LOCAL3),
    ("LOCAL4", libc::LOG_LOCAL4),
    ("LOCAL5", libc::LOG_LOCAL5),
    ("LOCAL6", libc::LOG_LOCAL6),
    ("LOCAL7", libc::LOG_LOCAL7),
];

fn syslog_code(table: &[(&str, libc::c_int)], what: &str, name: &str) -> Result<libc::c_int> {
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, c)| c).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        Error::new(ErrorCode::KTIX_ERR_CONFIG, format!("unknown syslog {what} {name:?} (one of {})", names.join(", ")))
    })
}

impl LogTarget {
    /// Parses MIT's log specification: `FILE:/path`, `FILE=/path`, `STDERR` or
    /// `SYSLOG[:severity[:facility]]` (names case-insensitive). Anything else, an empty or
    /// relative file name, or an unknown severity or facility is a `KTIX_ERR_CONFIG` error.
    pub fn parse(text: &str) -> Result<LogTarget> {
        let text = text.trim();
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_CONFIG, format!("log destination {text:?}: {why}"));
        let (kind, rest) = match text.find([':', '=']) {
            Some(i) => (&text[..i], Some((&text[i..i + 1], &text[i + 1..]))),
            None => (text, None),
        };
        match (kind.to_ascii_uppercase().as_str(), rest) {
            ("STDERR", None) => Ok(LogTarget::Stderr),
            ("FILE", Some((_, path))) => {
                let path = PathBuf::from(path);
                if !path.is_absolute() {
                    return Err(bad("the file must be an absolute path"));
                }
                Ok(LogTarget::File(path))
            }
            ("SYSLOG", None) => Ok(LogTarget::Syslog { severity: "ERR".into(), facility: "AUTH".into() }),
            ("SYSLOG", Some((":", spec))) => {
                let (severity, facility) = spec.split_once(':').unwrap_or((spec, "AUTH"));
                let target = LogTarget::Syslog {
                    severity: severity.to_ascii_uppercase(),
                    facility: facility.to_ascii_uppercase(),
                };
                if let LogTarget::Syslog { severity, facility } = &target {
                    syslog_codes(severity, facility).map_err(|e| bad(e.message()))?;
                }
                Ok(target)
            }
            _ => Err(bad("expected FILE:/path, SYSLOG[:severity[:facility]] or STDERR")),
        }
    }
}

/// The syslog severity and facility codes of their names.
fn syslog_codes(severity: &str, facility: &str) -> Result<(libc::c_int, libc::c_int)> {
    Ok((syslog_code(SYSLOG_SEVERITIES, "severity", severity)?, syslog_code(SYSLOG_FACILITIES, "facility", facility)?))
}

impl fmt::Display for LogTarget {
    /// MIT's syntax, as [`LogTarget::parse`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogTarget::Stderr => f.write_str("STDERR"),
            LogTarget::File(p) => write!(f, "FILE:{}", p.display()),
            LogTarget::Syslog { severity, facility } => write!(f, "SYSLOG:{severity}:{facility}"),
        }
    }
}

/// An open log destination: [`LogSink::logger`] writes the request lines there (the line of
/// [`RequestLog`]'s `Display`, unchanged, one per request), [`LogSink::reopen`] reopens a file.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Sink>,
}

enum Sink {
    Stderr,
    /// Lines are gathered in a buffer and written (one `write` of whole lines on an `O_APPEND`
    /// file) every [`FLUSH_INTERVAL`] by a flusher thread, when [`FLUSH_BYTES`] have gathered,
    /// at a reopen, at [`LogSink::flush`] and when the last handle is dropped.
    File {
        path: PathBuf,
        file: Mutex<BufferedFile>,
    },
    /// The system log: `<priority>ident[pid]: line` datagrams (RFC 3164's form, as glibc's
    /// syslog() sends them, without the optional timestamp: the daemon adds its own).
    Syslog {
        priority: libc::c_int,
        path: PathBuf,
        socket: Mutex<Option<UnixDatagram>>,
    },
}

/// The longest a request line waits in a file sink's buffer before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// A file sink's buffer is written at once when it holds this many bytes.
const FLUSH_BYTES: usize = 64 * 1024;

/// An open log file and the whole lines not yet written to it.
struct BufferedFile {
    file: File,
    buf: Vec<u8>,
}

impl BufferedFile {
    fn new(file: File) -> BufferedFile {
        BufferedFile { file, buf: Vec::with_capacity(FLUSH_BYTES) }
    }

    /// Writes the buffered lines in one `write` (whole lines only, so lines of other writers
    /// of an `O_APPEND` file never interleave with ours). A failed write drops them, as a
    /// failed unbuffered write dropped its line.
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.file.write_all(&self.buf);
            self.buf.clear();
        }
    }
}

impl Sink {
    fn flush(&self) {
        if let Sink::File { file, .. } = self {
            file.lock().flush();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Flushes `sink` every [`FLUSH_INTERVAL`] until it is dropped.
fn spawn_flusher(sink: &Arc<Sink>) -> Result<()> {
    let weak = Arc::downgrade(sink);
    std::thread::Builder::new()
        .name("ktix-log-flush".into())
        .spawn(move || loop {
            std::thread::sleep(FLUSH_INTERVAL);
            match weak.upgrade() {
                Some(sink) => sink.flush(),
                None => break,
            }
        })
        .map(drop)
        .map_err(|e| Error::io("log flusher thread", e))
}

/// The system log's socket, where glibc's syslog() writes.
const SYSLOG_SOCKET: &str = "/dev/log";
/// The identity syslog lines carry.
const SYSLOG_IDENT: &str = "ktix-kdc";

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new().append(true).create(true).open(path).map_err(|e| Error::io(path.display(), e))
}

/// A datagram socket connected to the system log at `path`.
fn syslog_connect(path: &Path) -> Result<UnixDatagram> {
    let socket = UnixDatagram::unbound().map_err(|e| Error::io("syslog socket", e))?;
    socket.connect(path).map_err(|e| Error::io(path.display(), e))?;
    Ok(socket)
}

impl LogSink {
    /// Opens `target`: a file is created when missing and appended to (an error when it cannot
    /// be opened); syslog is opened with the facility (the process has one syslog facility: the
    /// last one opened).
    ///
    /// A file's lines are buffered off the request path: each reaches the file at most
    /// [`FLUSH_INTERVAL`] after it was logged (a thread flushes the buffer), at
    /// [`LogSink::reopen`], at [`LogSink::flush`] and when the last clone of the sink is
    /// dropped. Standard error and syslog are written line by line.
    pub fn open(target: &LogTarget) -> Result<LogSink> {
        let sink = match target {
            LogTarget::Stderr => Sink::Stderr,
            LogTarget::File(path) => {
                let inner = Arc::new(Sink::File {
                    path: path.clone(),
                    file: Mutex::new(BufferedFile::new(open_append(path)?)),
                });
                spawn_flusher(&inner)?;
                return Ok(LogSink { inner });
            }
            LogTarget::Syslog { severity, facility } => {
                let (severity, facility) = syslog_codes(severity, facility)?;
                let path = PathBuf::from(SYSLOG_SOCKET);
                // Connected now so a missing syslog daemon is an error at start; reconnected
                // when a send fails (the daemon restarted).
                let socket = Mutex::new(Some(syslog_connect(&path)?));
                Sink::Syslog { priority: severity | facility, path, socket }
            }
        };
        Ok(LogSink { inner: Arc::new(sink) })
    }

    /// Writes one line (without its newline).
    pub fn write_line(&self, line: &str) {
        match &*self.inner {
            Sink::Stderr => {
                let mut err = io::stderr().lock();
                let _ = err.write_all(line.as_bytes()).and_then(|()| err.write_all(b"\n"));
            }
            Sink::File { file, .. } => {
                let mut file = file.lock();
                file.buf.extend_from_slice(line.as_bytes());
                file.buf.push(b'\n');
                if file.buf.len() >= FLUSH_BYTES {
                    file.flush();
                }
            }
            Sink::Syslog { priority, path, socket } => {
                let message = format!("<{priority}>{SYSLOG_IDENT}[{}]: {line}", std::process::id());
                let mut socket = socket.lock();
                let sent = socket.as_ref().is_some_and(|s| s.send(message.as_bytes()).is_ok());
                if !sent {
                    // Reconnect once (the daemon may have restarted); a line that still cannot
                    // be sent is dropped, as glibc's syslog() drops it.
                    *socket = syslog_connect(path).ok();
                    if let Some(s) = socket.as_ref() {
                        let _ = s.send(message.as_bytes());
                    }
                }
            }
        }
    }

    /// Reopens a file destination at its path (the file logrotate moved away keeps what was
    /// logged before the reopen, buffered lines included; new lines go to a new file there).
    /// Lines being written meanwhile wait, so none is lost. Does nothing for standard error and
    /// syslog.
    pub fn reopen(&self) -> Result<()> {
        if let Sink::File { path, file } = &*self.inner {
            let new = open_append(path)?;
            let mut held = file.lock();
            held.flush();
            held.file = new;
        }
        Ok(())
    }

    /// Writes a file destination's buffered lines now (they are otherwise written within
    /// [`FLUSH_INTERVAL`]). Does nothing for standard error and syslog, which are not buffered.
    pub fn flush(&self) {
        self.inner.flush();
    }

    /// A [`RequestLogger`] writing here.
    pub fn logger(&self) -> RequestLogger {
        let sink = self.clone();
        Arc::new(move |entry: &RequestLog| {
            entry.with_line(|line| sink.write_line(line));
        })
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Sink::Stderr => f.write_str("LogSink(STDERR)"),
            Sink::File { path, .. } => write!(f, "LogSink(FILE:{})", path.display()),
            Sink::Syslog { priority, .. } => write!(f, "LogSink(SYSLOG, priority {priority})"),
        }
    }
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

/// An answered request: counted in the metrics, then logged.
pub(super) fn answered(shared: &Shared, entry: &RequestLog) {
    shared.metrics.record(entry);
    log(shared, entry);
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

    /// The line as the `write!`-based formatter of the previous rounds made it: the reference
    /// the piecewise writer must match.
    fn reference_line(e: &RequestLog) -> String {
        let value = |p: Option<&Principal>| match p {
            None => "-".to_string(),
            Some(p) => {
                let v = p.to_string();
                if !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\') {
                    v
                } else {
                    format!("{v:?}")
                }
            }
        };
        let (y, mo, d, h, mi, s) = e.time.civil();
        let mut line = format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z {} peer={} exchange={} client={} service={} result={} etype={} req={} rep={} us={}",
            e.time.subsec_micros(),
            e.transport,
            e.peer,
            e.facts.kind.as_str(),
            value(e.facts.client.as_ref()),
            value(e.facts.service.as_ref()),
            e.facts.code.name(),
            e.facts.session_enctype.map_or("-", |t| t.name()),
            e.request_len,
            e.reply_len,
            e.elapsed.as_micros()
        );
        if let Some(d) = &e.facts.detail {
            line.push_str(&format!(" detail={d:?}"));
        }
        line
    }

    #[test]
    fn log_lines_match_the_reference_formatter() {
        use crate::crypto::Enctype;
        use crate::kdc::ExchangeKind;
        let names = ["alice@R", "krbtgt/KTIX.TEST@KTIX.TEST", "a b@R", "we\\/ird@R", "x\"y@R", "café@R", "t\tab@R"];
        let peers =
            ["127.0.0.1:88", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:750", "[fe80::1%2]:88", "10.1.2.3:50000"];
        let times = [
            (0, 0),
            (1_790_000_000, 42),
            (1_790_000_059, 999_999),
            (253_402_300_799, 5),
            (-1, 1),
            (-62_000_000_000, 0),
        ];
        let codes = [
            ErrorCode::KDC_ERR_NONE,
            ErrorCode::KDC_ERR_PREAUTH_REQUIRED,
            ErrorCode(77),
            ErrorCode(ErrorCode::KTIX_BASE + 999),
        ];
        let mut n = 0u64;
        for (ti, &(secs, us)) in times.iter().enumerate() {
            for (pi, peer) in peers.iter().enumerate() {
                for (ci, &code) in codes.iter().enumerate() {
                    n += 1;
                    let pick = |i: usize| (i + ti + pi + ci) % names.len();
                    let entry = RequestLog {
                        time: Time::from_unix_parts(secs, us),
                        transport: if n.is_multiple_of(2) { Protocol::Udp } else { Protocol::Tcp },
                        peer: peer.parse().unwrap(),
                        facts: RequestFacts {
                            kind: [ExchangeKind::As, ExchangeKind::Tgs, ExchangeKind::Kpasswd, ExchangeKind::Unknown]
                                [ci],
                            client: (!n.is_multiple_of(3)).then(|| Principal::parse(names[pick(0)], None).unwrap()),
                            service: (!n.is_multiple_of(4)).then(|| Principal::parse(names[pick(3)], None).unwrap()),
                            code,
                            detail: n.is_multiple_of(2).then(|| format!("why\n \"{n}\"")),
                            session_enctype: (!n.is_multiple_of(5)).then_some(Enctype::Aes256CtsHmacSha384192),
                            ..RequestFacts::new(ExchangeKind::As)
                        },
                        request_len: (n * 37) as usize,
                        reply_len: if n == 7 { usize::MAX } else { (n * 101) as usize },
                        elapsed: Duration::from_micros(n * n * 1000),
                    };
                    assert_eq!(entry.to_string(), reference_line(&entry));
                    assert_eq!(entry.with_line(str::to_string), reference_line(&entry));
                }
            }
        }
    }

    #[test]
    fn log_targets_in_mit_syntax() {
        assert_eq!(LogTarget::parse("STDERR").unwrap(), LogTarget::Stderr);
        assert_eq!(LogTarget::parse(" FILE:/var/log/kdc.log").unwrap(), LogTarget::File("/var/log/kdc.log".into()));
        assert_eq!(LogTarget::parse("FILE=/tmp/k.log").unwrap(), LogTarget::File("/tmp/k.log".into()));
        let syslog = |s: &str, f: &str| LogTarget::Syslog { severity: s.into(), facility: f.into() };
        assert_eq!(LogTarget::parse("SYSLOG").unwrap(), syslog("ERR", "AUTH"));
        assert_eq!(LogTarget::parse("SYSLOG:info").unwrap(), syslog("INFO", "AUTH"));
        assert_eq!(LogTarget::parse("syslog:INFO:daemon").unwrap(), syslog("INFO", "DAEMON"));
        assert_eq!(LogTarget::parse("SYSLOG:INFO:DAEMON").unwrap().to_string(), "SYSLOG:INFO:DAEMON");
        for (bad, why) in [
            ("FILE:relative.log", "absolute"),
            ("FILE:", "absolute"),
            ("SYSLOG:LOUD", "unknown syslog severity \"LOUD\""),
            ("SYSLOG:INFO:LOCAL9", "unknown syslog facility \"LOCAL9\""),
            ("CONSOLE", "expected FILE"),
            ("STDERR:x", "expected FILE"),
            ("", "expected FILE"),
        ] {
            let err = LogTarget::parse(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KTIX_ERR_CONFIG, "{bad}");
            assert!(err.message().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_file_sink_reopens_after_a_move() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kdc.log");
        let sink = LogSink::open(&LogTarget::File(path.clone())).unwrap();
        sink.write_line("one");
        std::fs::rename(&path, dir.path().join("kdc.log.1")).unwrap();
        sink.write_line("two"); // still the moved file, as before the reopen
        sink.reopen().unwrap();
        sink.write_line("three");
        assert_eq!(std::fs::read_to_string(dir.path().join("kdc.log.1")).unwrap(), "one\ntwo\n");
        sink.flush();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        let missing = LogSink::open(&LogTarget::File(dir.path().join("no/such/dir/kdc.log"))).unwrap_err();
        assert_eq!(missing.code(), ErrorCode::KTIX_ERR_IO);
    }

    #[test]
    fn a_file_sink_writes_buffered_lines_within_the_interval_and_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kdc.log");
        let sink = LogSink::open(&LogTarget::File(path.clone())).unwrap();
        let read = || std::fs::read_to_string(&path).unwrap();
        sink.write_line("one");
        sink.write_line("two");
        // The flusher thread writes them without anyone asking (generous bound: a loaded machine).
        let deadline = Instant::now() + Duration::from_secs(10);
        while read() != "one\ntwo\n" {
            assert!(Instant::now() < deadline, "never flushed: {:?}", read());
            std::thread::sleep(FLUSH_INTERVAL / 5);
        }
        // A full buffer is written at once, in whole lines.
        let long = "x".repeat(1000);
        for _ in 0..FLUSH_BYTES / 1000 + 1 {
            sink.write_line(&long);
        }
        let text = read();
        assert!(text.len() >= FLUSH_BYTES && text.ends_with('\n'), "{} bytes", text.len());
        // The last handle's drop writes what is left.
        let clone = sink.clone();
        drop(sink);
        clone.write_line("last");
        drop(clone);
        assert!(read().ends_with(&format!("{long}\nlast\n")));
    }

    #[test]
    fn a_syslog_sink_sends_rfc3164_datagrams() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let daemon = UnixDatagram::bind(&path).unwrap();
        let (severity, facility) = syslog_codes("INFO", "DAEMON").unwrap();
        let socket = Mutex::new(Some(syslog_connect(&path).unwrap()));
        let sink = LogSink { inner: Arc::new(Sink::Syslog { priority: severity | facility, path, socket }) };
        sink.write_line("exchange=AS result=KDC_ERR_NONE");
        let mut buf = [0u8; 256];
        let n = daemon.recv(&mut buf).unwrap();
        let want = format!("<30>ktix-kdc[{}]: exchange=AS result=KDC_ERR_NONE", std::process::id());
        assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), want); // 30 = daemon (3) * 8 + info (6)
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
