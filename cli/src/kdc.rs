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
        KdcCommand::Serve { db, listen, config, workers } => serve(&db, &listen, config.as_deref(), workers),
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

fn serve(db: &crate::DbPath, listen: &[String], config: Option<&Path>, workers: Option<usize>) -> Result<()> {
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
    eprintln!("ktix kdc: realm {realm} from {}, listening on {} (UDP and TCP)", kdc_location(db), addrs.join(", "));
    let _ = stop_rx.recv();
    eprintln!("ktix kdc: stopping");
    server.stop();
    Ok(())
}

/// `--db` as shown in the start-up line (a URI's password redacted).
fn kdc_location(db: &crate::DbPath) -> String {
    match db.db.to_str() {
        Some(uri) if ktix::kdc::postgres::is_postgres_uri(uri) => ktix::kdc::postgres::redact(uri),
        _ => db.db.display().to_string(),
    }
}
