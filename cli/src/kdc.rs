//! `ktix kdc serve`: the realm database served over UDP and TCP until SIGINT/SIGTERM; SIGHUP
//! reopens the log files (kdc.conf `[logging]`), as after logrotate.

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use ktix::config::{KdcConf, Profile};
use ktix::kdc::{open_realm, stderr_logger, KdcServer, LogSink, RequestLog, RequestLogger, ServerConfig};
use ktix::{Error, ErrorCode, Result};

use crate::KdcCommand;

/// Runs one `ktix kdc` command.
pub fn run(cmd: KdcCommand) -> Result<()> {
    match cmd {
        KdcCommand::Serve { db, listen, config, workers, kpasswd, metrics } => {
            serve(&db, &listen, config.as_deref(), workers, &kpasswd, metrics.as_deref())
        }
    }
}

/// The default address when neither --listen nor a kdc.conf names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8888";

/// Where to listen: --listen, else the kdc.conf's UDP and TCP addresses (each served over both),
/// else [`DEFAULT_LISTEN`].
fn listen_addrs(listen: &[String], conf: Option<&KdcConf>) -> Vec<String> {
    if !listen.is_empty() {
        return listen.to_vec();
    }
    let mut addrs: Vec<String> = Vec::new();
    if let Some(c) = conf {
        for a in c.udp_listen.iter().chain(&c.tcp_listen) {
            let a = a.to_string();
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
    }
    if addrs.is_empty() {
        addrs.push(DEFAULT_LISTEN.to_string());
    }
    addrs
}

/// The port of the change-password service.
pub const KPASSWD_PORT: u16 = 464;

/// The change-password addresses of `--kpasswd`: as given, a host without a port on port 464,
/// and an empty value (`--kpasswd` alone) port 464 on each KDC address's host.
fn kpasswd_addrs(given: &[String], kdc_listen: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for g in given {
        let hosts: Vec<String> = if g.is_empty() {
            kdc_listen.iter().map(|a| host_of(a)).collect::<Result<_>>()?
        } else if g.parse::<std::net::SocketAddr>().is_ok() || has_port(g) {
            out.push(g.clone());
            continue;
        } else {
            vec![g.trim_start_matches('[').trim_end_matches(']').to_string()]
        };
        for h in hosts {
            let a = if h.contains(':') { format!("[{h}]:{KPASSWD_PORT}") } else { format!("{h}:{KPASSWD_PORT}") };
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Whether `a` is `host:port` or `[v6]:port` (not a bare IPv6 address).
fn has_port(a: &str) -> bool {
    match a.strip_prefix('[') {
        Some(rest) => rest.contains("]:"),
        None => a.matches(':').count() == 1,
    }
}

/// The host of a `host:port` listen address.
fn host_of(addr: &str) -> Result<String> {
    if let Ok(sa) = addr.parse::<std::net::SocketAddr>() {
        return Ok(sa.ip().to_string());
    }
    match addr.rsplit_once(':') {
        Some((h, _)) if !h.is_empty() => Ok(h.trim_start_matches('[').trim_end_matches(']').to_string()),
        _ => Err(Error::invalid(format!("listen address {addr:?}: expected host:port"))),
    }
}

fn serve(
    db: &crate::DbPath,
    listen: &[String],
    config: Option<&Path>,
    workers: Option<usize>,
    kpasswd: &[String],
    metrics: Option<&str>,
) -> Result<()> {
    // The realm policy: kdc.conf's `[realms]` entry for the realm when a file is given, else
    // defaults; the enctypes are kdc.conf's `supported_enctypes`, else the database's.
    let profile = config.map(Profile::load).transpose()?;
    let mut spec = crate::db::spec(db);
    if let Some(p) = &profile {
        spec = spec.with_kdc_conf(p.clone());
    }
    let kdc = open_realm(&spec).map_err(|e| crate::db::hint(db, e))?;
    let realm = kdc.realm().to_string();
    let conf = profile.map(|p| KdcConf::from_profile(&p, Some(&realm))).transpose()?;
    let listen = listen_addrs(listen, conf.as_ref());
    // Realms made before the change-password service get its principal now.
    if kdc.store().get(&ktix::kdc::changepw_principal(&realm))?.is_none() {
        let p = kdc.ensure_changepw()?;
        eprintln!("ktix kdc: added {p} (random keys) for the change-password service");
    }
    let kdc = Arc::new(kdc);
    let mut server_config = ServerConfig { logger: stderr_logger(), ..ServerConfig::default() };
    if let Some(w) = workers {
        server_config.workers = w;
    }
    server_config.kpasswd_listen = kpasswd_addrs(kpasswd, &listen)?;
    if let Some(addr) = metrics {
        server_config.metrics_listen = Some(metrics_addr(addr)?);
    }
    if let Some(size) = conf.as_ref().and_then(|c| c.max_dgram_reply_size) {
        server_config.kdc_max_dgram_reply_size = size;
    }
    let sinks = match &conf {
        Some(c) => c.logging.iter().map(LogSink::open).collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    if !sinks.is_empty() {
        server_config.logger = fan_out(&sinks);
    }
    let mut signals = catch_signals()?;
    let mut server = KdcServer::start(kdc, &listen, server_config)?;
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    eprintln!("ktix kdc: realm {realm} from {}, listening on {} (UDP and TCP)", kdc_location(db), addrs.join(", "));
    if !server.kpasswd_addrs().is_empty() {
        let kp: Vec<String> = server.kpasswd_addrs().iter().map(|a| a.to_string()).collect();
        eprintln!("ktix kdc: change-password service (kpasswd) on {} (UDP and TCP)", kp.join(", "));
    }
    if let Some(addr) = server.metrics_addr() {
        eprintln!("ktix kdc: metrics at http://{addr}/metrics");
    }
    loop {
        let mut signal = [0u8; 1];
        match signals.read(&mut signal) {
            Ok(1) if i32::from(signal[0]) == libc::SIGHUP => {
                for sink in &sinks {
                    if let Err(e) = sink.reopen() {
                        eprintln!("ktix kdc: cannot reopen {sink:?}: {e}");
                    }
                }
                eprintln!("ktix kdc: SIGHUP: log files reopened");
            }
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    eprintln!("ktix kdc: stopping");
    server.stop();
    // The log files' buffered lines, written before the process exits.
    for sink in &sinks {
        sink.flush();
    }
    Ok(())
}

/// `--db` as shown in the start-up line (a URI's password redacted).
fn kdc_location(db: &crate::DbPath) -> String {
    match db.db.to_str() {
        Some(uri) if ktix::kdc::postgres::is_postgres_uri(uri) => ktix::kdc::postgres::redact(uri),
        _ => db.db.display().to_string(),
    }
}

/// The address of `--metrics ADDR` (`host:port`, `[v6]:port`; the first it resolves to).
fn metrics_addr(addr: &str) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("--metrics {addr:?}: {why}"));
    addr.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".to_string()))
}

/// One logger writing every line to each of `sinks` (kdc.conf may name several).
fn fan_out(sinks: &[LogSink]) -> RequestLogger {
    let sinks = sinks.to_vec();
    Arc::new(move |entry: &RequestLog| {
        entry.with_line(|line| {
            for sink in &sinks {
                sink.write_line(line);
            }
        })
    })
}

/// The write end of the self-pipe the signal handler writes each signal number into.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; one byte from a live local.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// Routes SIGINT, SIGTERM and SIGHUP into a pipe (a signal handler may do little else) and
/// returns its read end: one byte, the signal number, per signal.
fn catch_signals() -> Result<File> {
    let failed =
        |what: &str| Error::new(ErrorCode::KTIX_ERR_IO, format!("cannot {what}: {}", std::io::Error::last_os_error()));
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(failed("create the signal pipe"));
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a handler that only calls write(2); SA_RESTART keeps
        // the server's blocking calls going.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(failed("install the signal handlers"));
        }
    }
    // SAFETY: fds[0] is the pipe's read end, owned by nothing else.
    Ok(unsafe { File::from_raw_fd(fds[0]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpasswd_addresses() {
        let kdc = vec!["127.0.0.1:8888".to_string(), "[::1]:88".to_string()];
        let got = |g: &[&str]| kpasswd_addrs(&g.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &kdc).unwrap();
        assert_eq!(got(&[""]), ["127.0.0.1:464", "[::1]:464"]);
        assert_eq!(got(&["10.0.0.1"]), ["10.0.0.1:464"]);
        assert_eq!(got(&["10.0.0.1:1464", "[::1]:7464", "::1"]), ["10.0.0.1:1464", "[::1]:7464", "[::1]:464"]);
        assert!(kpasswd_addrs(&[String::new()], &["nonsense".to_string()]).is_err());
    }
}
