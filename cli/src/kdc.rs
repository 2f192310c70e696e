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
        KdcCommand::Serve { db, listen, config, workers, metrics } => {
            serve(&db.db, &listen, config.as_deref(), workers, metrics.as_deref())
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

fn serve(
    db: &Path,
    listen: &[String],
    config: Option<&Path>,
    workers: Option<usize>,
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
    let kdc = Arc::new(kdc);
    let mut server_config = ServerConfig { logger: stderr_logger(), ..ServerConfig::default() };
    if let Some(w) = workers {
        server_config.workers = w;
    }
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
    eprintln!("ktix kdc: realm {realm} from {}, listening on {} (UDP and TCP)", db.display(), addrs.join(", "));
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
    Ok(())
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
        let line = entry.to_string();
        for sink in &sinks {
            sink.write_line(&line);
        }
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
