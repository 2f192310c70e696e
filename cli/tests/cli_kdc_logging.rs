//! `ktix kdc serve --config kdc.conf` with `[logging] kdc = FILE:...`: the request lines go to the
//! file, and after logrotate's `mv` + SIGHUP they continue in a new file at the same path, none
//! lost. (Parsing and the other destinations are unit-tested in the core crate.)

mod mit;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use mit::{KtixKdc, KtixRealm, LogLine};

/// The request lines of a log file.
fn request_lines(path: &Path) -> Vec<LogLine> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(LogLine::parse).collect()
}

/// Waits (up to 10 s) until `done`, failing the test with `what` otherwise.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `n` request-shaped datagrams (first byte 0x6a, the AS-REQ tag, so each is answered
/// with a KRB-ERROR and logged) and waits for each reply.
fn send_requests(kdc: &KtixKdc, n: usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        socket.send_to(b"junk", kdc.addr()).unwrap();
        let (len, _) = socket.recv_from(&mut buf).expect("a KRB-ERROR reply");
        assert_eq!(buf[0], 0x7e, "a KRB-ERROR ({len} bytes)");
    }
}

#[test]
fn a_file_log_moved_away_continues_in_a_new_file_after_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let realm = KtixRealm::init(dir.path());
    let log = dir.path().join("kdc.log");
    let rotated = dir.path().join("kdc.log.1");
    let conf = dir.path().join("kdc.conf");
    std::fs::write(&conf, format!("[logging]\n kdc = FILE:{}\n", log.display())).unwrap();
    let stderr = dir.path().join("stderr.log");
    let mut kdc = KtixKdc::serve(&realm, &["--config", conf.to_str().unwrap()], &stderr);

    send_requests(&kdc, 5);
    // A line is written just after its reply is sent: wait for the fifth.
    wait_until("5 lines in kdc.log", || request_lines(&log).len() == 5);
    std::fs::rename(&log, &rotated).unwrap();
    send_requests(&kdc, 2); // before the SIGHUP: still into the moved file
    wait_until("7 lines in the moved file", || request_lines(&rotated).len() == 7);
    assert!(!log.exists(), "nothing reopened kdc.log before the SIGHUP");

    let status = Command::new("kill").args(["-HUP", &kdc.pid().to_string()]).status().unwrap();
    assert!(status.success());
    wait_until("the reopen message", || kdc.log().contains("log files reopened"));
    assert!(kdc.is_running(), "SIGHUP must not stop the KDC");
    send_requests(&kdc, 4);
    assert!(kdc.stop().success(), "stops cleanly on SIGTERM");

    let (old, new) = (request_lines(&rotated), request_lines(&log));
    assert_eq!(old.len(), 7, "the moved file keeps what was written before the SIGHUP");
    assert_eq!(new.len(), 4, "every request after the SIGHUP is in the new file");
    for line in old.iter().chain(&new) {
        assert_eq!((line.transport.as_str(), line.exchange.as_str()), ("udp", "AS"), "{}", line.raw);
    }
    // The request lines went to the file only; standard error has the start and stop lines.
    assert!(kdc.log().lines().all(|l| LogLine::parse(l).is_none()), "{}", kdc.log());
}

#[test]
fn a_bad_logging_destination_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let realm = KtixRealm::init(dir.path());
    let conf = dir.path().join("kdc.conf");
    std::fs::write(&conf, "[logging]\n kdc = SYSLOG:LOUD\n").unwrap();
    let out = mit::ktix(&["kdc", "serve", "--db", realm.db_str(), "--config", conf.to_str().unwrap()], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown syslog severity \"LOUD\""), "{err}");
}
