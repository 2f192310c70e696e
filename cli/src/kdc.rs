//! `ktix kdc serve`: the realm database served over UDP and TCP until SIGINT/SIGTERM.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use ktix::config::{KdcConf, Profile};
use ktix::kdc::{open_realm, stderr_logger, KdcServer, ServerConfig};
use ktix::{Error, ErrorCode, Result};

use crate::KdcCommand;

/// Runs one `ktix kdc` command.
pub fn run(cmd: KdcCommand) -> Result<()> {
    match cmd {
        KdcCommand::Serve { db, listen, config, workers, kpasswd } => {
            serve(&db.db, &listen, config.as_deref(), workers, &kpasswd)
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
    db: &Path,
    listen: &[String],
    config: Option<&Path>,
    workers: Option<usize>,
    kpasswd: &[String],
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
    if let Some(size) = conf.as_ref().and_then(|c| c.max_dgram_reply_size) {
        server_config.kdc_max_dgram_reply_size = size;
    }
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| Error::new(ErrorCode::KTIX_ERR_IO, format!("cannot install the signal handler: {e}")))?;
    let mut server = KdcServer::start(kdc, &listen, server_config)?;
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    eprintln!("ktix kdc: realm {realm} from {}, listening on {} (UDP and TCP)", db.display(), addrs.join(", "));
    if !server.kpasswd_addrs().is_empty() {
        let kp: Vec<String> = server.kpasswd_addrs().iter().map(|a| a.to_string()).collect();
        eprintln!("ktix kdc: change-password service (kpasswd) on {} (UDP and TCP)", kp.join(", "));
    }
    let _ = stop_rx.recv();
    eprintln!("ktix kdc: stopping");
    server.stop();
    Ok(())
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
