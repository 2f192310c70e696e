//! `ktix kdc serve`: where it listens (--listen, else kdc.conf's addresses) and what it serves.

#[path = "../../tests/port/mod.rs"]
mod port;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn ktix(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ktix")).args(args).current_dir(dir).output().unwrap()
}

/// Starts the KDC, returns the address line it printed, and stops it.
fn first_line(args: &[&str], dir: &std::path::Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktix"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn listens_where_kdc_conf_says_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ktix(&["db", "init"], dir.path()).status.success());
    let port = port::free_port();
    let conf = dir.path().join("kdc.conf");
    std::fs::write(
        &conf,
        format!(
            "[realms]\n KTIX.TEST = {{\n  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n  max_life = 1h\n }}\n"
        ),
    )
    .unwrap();
    let line = first_line(&["kdc", "serve", "--config", conf.to_str().unwrap()], dir.path());
    assert!(line.contains(&format!("listening on 127.0.0.1:{port} (UDP and TCP)")), "{line}");

    let other = port::free_port();
    let listen = format!("127.0.0.1:{other}");
    let line = first_line(&["kdc", "serve", "--config", conf.to_str().unwrap(), "--listen", &listen], dir.path());
    assert!(line.contains(&format!("listening on {listen} (UDP and TCP)")), "{line}");

    let out = ktix(&["kdc", "serve", "--listen", "bogus"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen address \"bogus\""));
}
