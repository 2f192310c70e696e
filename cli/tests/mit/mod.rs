//! Shared harness for the tests that run MIT krb5's own programs (Debian `krb5-user`,
//! `krb5-kdc`) against ktix, and ktix against MIT:
//!
//! - [`KtixRealm`]: a realm database made with the built `ktix db …` in a directory;
//! - [`KtixKdc`]: `ktix kdc serve` on a free loopback port, its request log (stderr) in a file,
//!   SIGTERM on [`KtixKdc::stop`] or drop;
//! - [`MitKdc`]: MIT's `krb5kdc` for realm `KTIX.TEST` (the workplace's `mit-realm.sh` when it is
//!   there, a minimal realm of our own otherwise), stopped on drop;
//! - [`Krb5Conf`]: a throwaway `krb5.conf` (no DNS, no reverse lookups, one KDC);
//! - [`Mit`]: runs MIT commands (`kinit`, `klist`, `kvno`, …) with `KRB5_CONFIG`/`KRB5CCNAME` set,
//!   text on stdin, a time limit, the C locale and UTC;
//! - [`parse_klist`] and [`LogLine`]: `klist` output and ktix request-log lines, parsed.
//!
//! Include it with `mod mit;` from a test file.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "../../../tests/port/mod.rs"]
mod port;
pub use port::free_port;

/// The realm every harness piece uses (also `mit-realm.sh`'s).
pub const REALM: &str = "KTIX.TEST";
/// The TGS principal of [`REALM`].
pub const KRBTGT: &str = "krbtgt/KTIX.TEST@KTIX.TEST";
/// The service principal of the interop tests.
pub const SERVICE: &str = "host/server.ktix.test";
/// alice's password (the same in `mit-realm.sh`).
pub const ALICE_PW: &str = "alice-pw";
/// How long one MIT command may take before the test fails (a KDC that does not answer makes
/// `kinit` retry for a long time).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// MIT's names of the enctypes ktix supports, by number.
pub fn enctype_name(enctype: i32) -> &'static str {
    match enctype {
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        other => panic!("enctype {other} is not one of 17..20"),
    }
}

/// The service `host/eN.ktix.test` that [`MitKdc::add_per_enctype_services`] gives only a key of
/// enctype N.
pub fn per_enctype_service(enctype: i32) -> String {
    format!("host/e{enctype}.ktix.test")
}

/// Fails the test with a clear message when MIT's client programs are not installed.
pub fn require_mit_client() {
    for program in ["kinit", "klist", "kvno"] {
        require_program(program, "krb5-user");
    }
}

fn require_program(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(program).is_file();
    assert!(found, "MIT's `{program}` is not installed: run scripts/setup.sh (Debian package {package})");
}

// ----- ktix: realm database and `ktix kdc serve` ---------------------------------------------

/// Runs the built `ktix` with `args`, `stdin` written to its standard input.
pub fn ktix(args: &[&str], stdin: &str) -> Output {
    run_with_limit(Command::new(env!("CARGO_BIN_EXE_ktix")).args(args), stdin, COMMAND_LIMIT)
}

/// Runs the built `ktix` and fails the test unless it succeeds; returns its standard output.
pub fn ktix_ok(args: &[&str], stdin: &str) -> String {
    let out = ktix(args, stdin);
    assert!(
        out.status.success(),
        "ktix {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A realm database created with `ktix db init` at `DIR/realm/realm.db` (realm [`REALM`]).
pub struct KtixRealm {
    db: PathBuf,
    stash: Option<PathBuf>,
}

impl KtixRealm {
    /// `ktix db init` in `dir` (the default enctypes: aes256- and aes128-cts-hmac-sha1-96).
    pub fn init(dir: &Path) -> KtixRealm {
        KtixRealm::init_with_enctypes(dir, None)
    }

    /// `ktix db init [--enctypes LIST]` in `dir`.
    pub fn init_with_enctypes(dir: &Path, enctypes: Option<&str>) -> KtixRealm {
        let db = dir.join("realm").join("realm.db");
        let realm = KtixRealm { db, stash: None };
        let mut args = vec!["db", "init", "--db", realm.db_arg(), "--realm", REALM];
        if let Some(list) = enctypes {
            args.extend(["--enctypes", list]);
        }
        let out = ktix_ok(&args, "");
        assert!(out.contains(&format!("created realm {REALM}")), "{out}");
        realm
    }

    /// An existing realm database: `db` (a file or a `postgresql://` URI), its stash `stash`
    /// (`None`: beside the file), given to every command as `--db` and `--stash`.
    pub fn existing(db: impl Into<PathBuf>, stash: Option<PathBuf>) -> KtixRealm {
        KtixRealm { db: db.into(), stash }
    }

    /// `COMMAND… --db DB [--stash STASH] REST…` (for [`ktix_ok`]).
    pub fn args_for<'a>(&'a self, command: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = command.to_vec();
        args.extend(["--db", self.db_arg()]);
        if let Some(s) = &self.stash {
            args.extend(["--stash", s.to_str().expect("UTF-8 path")]);
        }
        args.extend(rest);
        args
    }

    /// The `--db` argument.
    pub fn db_str(&self) -> &str {
        self.db_arg()
    }

    /// The database file.
    pub fn db(&self) -> &Path {
        &self.db
    }

    fn db_arg(&self) -> &str {
        self.db.to_str().expect("temporary paths are UTF-8")
    }

    /// `ktix db add NAME` with the password on stdin.
    pub fn add_password(&self, name: &str, password: &str) {
        let out = ktix_ok(&self.args_for(&["db", "add"], &[name]), &format!("{password}\n"));
        assert!(out.contains("added "), "{out}");
    }

    /// `ktix db add --random NAME`.
    pub fn add_random(&self, name: &str) {
        let out = ktix_ok(&self.args_for(&["db", "add"], &["--random", name]), "");
        assert!(out.contains("added "), "{out}");
    }

    /// `ktix db ktadd NAME -k KEYTAB [--randkey]`; returns its output line.
    pub fn ktadd(&self, name: &str, keytab: &Path, randkey: bool) -> String {
        let kt = keytab.to_str().expect("temporary paths are UTF-8");
        let mut args = self.args_for(&["db", "ktadd"], &[name, "-k", kt]);
        if randkey {
            args.push("--randkey");
        }
        ktix_ok(&args, "")
    }

    /// `ktix db list`.
    pub fn list(&self) -> String {
        ktix_ok(&self.args_for(&["db", "list"], &[]), "")
    }
}

/// The kdc.conf of the realms these tests serve with `ktix kdc serve`: MIT's usual policy.
pub const KDC_CONF: &str =
    "[realms]\n  KTIX.TEST = {\n    max_life = 8h 0m 0s\n    max_renewable_life = 7d 0h 0m 0s\n  }\n";

/// The four enctypes, for `ktix db init --enctypes`: the served realm opts in to the RFC 8009
/// ones (19, 20), which are not a new realm's default, so every enctype is exercised with MIT.
pub const ALL_ENCTYPES: &str =
    "aes256-cts-hmac-sha384-192 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha256-128 aes128-cts-hmac-sha1-96";

/// A temporary directory with a ktix realm of all four enctypes ([`ALL_ENCTYPES`]; alice with
/// password [`ALICE_PW`], [`SERVICE`] with random keys) and `ktix kdc serve` over it with
/// [`KDC_CONF`].
pub struct ServedRealm {
    // Dropped in this order: the KDC stops before its directory goes.
    pub kdc: KtixKdc,
    pub realm: KtixRealm,
    pub dir: tempfile::TempDir,
}

impl ServedRealm {
    /// Creates the realm and starts its KDC (two workers).
    pub fn start() -> ServedRealm {
        let dir = tempfile::tempdir().expect("temporary directory");
        let realm = KtixRealm::init_with_enctypes(dir.path(), Some(ALL_ENCTYPES));
        realm.add_password("alice", ALICE_PW);
        realm.add_random(SERVICE);
        let conf = dir.path().join("kdc.conf");
        std::fs::write(&conf, KDC_CONF).expect("write kdc.conf");
        let conf_arg = conf.to_str().expect("UTF-8 path").to_string();
        let kdc = KtixKdc::serve(&realm, &["--config", &conf_arg, "--workers", "2"], &dir.path().join("kdc.log"));
        ServedRealm { kdc, realm, dir }
    }

    /// A path in the realm's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A running `ktix kdc serve` on `127.0.0.1:<free port>` (UDP and TCP), its standard error (the
/// start line and one line per request) going to a file. Stopped with SIGTERM when dropped.
pub struct KtixKdc {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl KtixKdc {
    /// Serves `realm` with the extra `ktix kdc serve` arguments `extra` (e.g. `--config F`,
    /// `--workers N`); the log goes to `log`. Waits until the server says it listens.
    ///
    /// The port is one of [`free_port`]'s, below the ephemeral range, not port 0: once a KDC
    /// is stopped or killed, a client still trying it could otherwise be given its port for
    /// its own socket, connect that socket to itself and read its own request as the reply
    /// (MIT's kinit then fails with "Invalid message type"). Another process may take the port
    /// between the check and ktix's bind; then ktix exits saying so and another port is tried.
    pub fn serve(realm: &KtixRealm, extra: &[&str], log: &Path) -> KtixKdc {
        for _ in 0..5 {
            let listen = format!("127.0.0.1:{}", free_port());
            if let Some(kdc) = KtixKdc::try_serve(realm, &listen, extra, log) {
                return kdc;
            }
        }
        panic!("ktix kdc serve found its port taken five times:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    }

    /// Serves on `listen`; `None` when ktix exits because the address is in use.
    fn try_serve(realm: &KtixRealm, listen: &str, extra: &[&str], log: &Path) -> Option<KtixKdc> {
        let err = File::create(log).expect("create the KDC log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ktix"))
            .args(realm.args_for(&["kdc", "serve"], &["--listen", listen]))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start ktix kdc serve");
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(addr) = listening_addr(&text) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if text.contains("Address already in use") {
                    return None;
                }
                panic!("ktix kdc serve exited ({status}) before listening:\n{text}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ktix kdc serve did not start listening within 20 s:\n{text}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        Some(KtixKdc { child, addr, log: log.to_path_buf() })
    }

    /// The address it listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's length so far: a mark for [`KtixKdc::lines_since`].
    pub fn mark(&self) -> usize {
        std::fs::metadata(&self.log).map(|m| m.len() as usize).unwrap_or(0)
    }

    /// The request lines logged after `mark` (whole lines only).
    pub fn lines_since(&self, mark: usize) -> Vec<LogLine> {
        let text = self.log();
        let tail = text.get(mark..).unwrap_or("");
        let complete = match tail.rfind('\n') {
            Some(end) => &tail[..=end],
            None => "",
        };
        complete.lines().filter_map(LogLine::parse).collect()
    }

    /// Waits (up to 10 s) until the request lines after `mark` satisfy `done`, and returns
    /// them; fails the test otherwise. The server writes a line just after sending the reply, so
    /// a client may finish a moment before its line is there.
    pub fn wait_lines(&self, mark: usize, what: &str, done: impl Fn(&[LogLine]) -> bool) -> Vec<LogLine> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.lines_since(mark);
            if done(&lines) {
                return lines;
            }
            if Instant::now() > deadline {
                panic!("the KDC log never showed {what}; lines since the mark:\n{}", raw_since(&self.log(), mark));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGKILL (no chance to clean up, as a crash or a pulled plug) and waits for the
    /// exit; returns the exit status.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("wait for ktix kdc serve")
    }

    /// Sends SIGTERM and waits (up to 10 s) for the exit; returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let status = self.child.wait().expect("wait for ktix kdc serve");
                    panic!("ktix kdc serve did not stop within 10 s of SIGTERM (killed: {status})");
                }
            }
        }
    }
}

impl Drop for KtixKdc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in `ktix kdc serve`'s start line (`… listening on 127.0.0.1:PORT (UDP and TCP)`).
fn listening_addr(log: &str) -> Option<SocketAddr> {
    let line = log.lines().find(|l| l.contains(" listening on "))?;
    let rest = &line[line.find(" listening on ")? + " listening on ".len()..];
    let first = rest.split([',', ' ']).next()?;
    first.parse().ok()
}

fn raw_since(text: &str, mark: usize) -> &str {
    text.get(mark..).unwrap_or(text)
}

/// One request line of ktix's KDC log (`<time> udp peer=… exchange=AS client=… service=…
/// result=… etype=… req=… rep=… us=… [detail="…"]`).
#[derive(Clone, Debug)]
pub struct LogLine {
    /// `udp` or `tcp`.
    pub transport: String,
    /// `AS`, `TGS` or the name used for anything else.
    pub exchange: String,
    /// The client, `-` when unknown.
    pub client: String,
    /// The service, `-` when unknown.
    pub service: String,
    /// The result code's name, e.g. `KDC_ERR_NONE`.
    pub result: String,
    /// The session key's enctype name, `-` when no ticket was issued.
    pub etype: String,
    /// The line as written.
    pub raw: String,
}

impl LogLine {
    /// Parses a request line; `None` for anything else (e.g. the start line).
    pub fn parse(line: &str) -> Option<LogLine> {
        let mut words = line.split(' ');
        let _time = words.next()?;
        let transport = words.next()?;
        if transport != "udp" && transport != "tcp" {
            return None;
        }
        let field = |key: &str| -> Option<String> {
            let prefix = format!(" {key}=");
            let start = line.find(&prefix)? + prefix.len();
            Some(line[start..].split(' ').next().unwrap_or("").to_string())
        };
        Some(LogLine {
            transport: transport.to_string(),
            exchange: field("exchange")?,
            client: field("client")?,
            service: field("service")?,
            result: field("result")?,
            etype: field("etype").unwrap_or_default(),
            raw: line.to_string(),
        })
    }
}

/// The raw lines, for assertion messages.
pub fn show(lines: &[LogLine]) -> String {
    lines.iter().fold(String::new(), |mut s, l| {
        let _ = writeln!(s, "{}", l.raw);
        s
    })
}

// ----- MIT's KDC -------------------------------------------------------------------------------

/// The workplace's MIT peer scripts (`mit-realm.sh`, `mit-stop.sh`): `$KTIX_MIT_PEER`, else
/// `../shared/peer` beside the repository (this crate is the repository's `cli/`), when they exist.
pub fn peer_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("KTIX_MIT_PEER") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join("shared").join("peer"),
    };
    dir.join("mit-realm.sh").is_file().then_some(dir)
}

/// MIT's `krb5kdc` serving realm [`REALM`] on `127.0.0.1:port` (UDP and TCP), all state in a
/// directory; alice has password [`ALICE_PW`] and requires preauthentication, max life 8 h, max
/// renewable life 7 d, enctypes 17..20. Stopped (only its pid) when dropped.
pub struct MitKdc {
    dir: PathBuf,
    port: u16,
    stop_script: Option<PathBuf>,
    /// The daemon's pid, read once it listens: it is stopped even when its directory is gone
    /// (e.g. a temporary directory dropped before this guard).
    pid: Option<u32>,
}

impl MitKdc {
    /// Starts it in `dir` (created), with `mit-realm.sh` from [`peer_dir`] when there (which also
    /// makes `host/server.ktix.test` and user0..user99), else with a minimal realm of our own.
    pub fn start(dir: &Path) -> MitKdc {
        for program in ["krb5kdc", "kdb5_util", "kadmin.local"] {
            require_program(program, "krb5-kdc / krb5-admin-server");
        }
        std::fs::create_dir_all(dir).expect("create the MIT realm directory");
        let port = free_port();
        let mut kdc = MitKdc { dir: dir.to_path_buf(), port, stop_script: None, pid: None };
        match peer_dir() {
            Some(peer) => {
                kdc.stop_script = Some(peer.join("mit-stop.sh"));
                let out = run_with_limit(
                    Command::new("bash").arg(peer.join("mit-realm.sh")).arg(dir).arg(port.to_string()),
                    "",
                    Duration::from_secs(120),
                );
                assert!(out.status.success(), "mit-realm.sh failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            None => kdc.start_own(),
        }
        wait_for_tcp(port, &dir.join("kdc.log"));
        kdc.pid = read_pid(&dir.join("kdc.pid"));
        kdc
    }

    /// Starts it in `dir` (created) with the minimal realm of our own even when the peer scripts
    /// are there: alice and `host/server.ktix.test` (its keys in [`MitKdc::server_keytab`]) only,
    /// ready in a fraction of a second.
    pub fn start_minimal(dir: &Path) -> MitKdc {
        for program in ["krb5kdc", "kdb5_util", "kadmin.local"] {
            require_program(program, "krb5-kdc / krb5-admin-server");
        }
        std::fs::create_dir_all(dir).expect("create the MIT realm directory");
        let mut kdc = MitKdc { dir: dir.to_path_buf(), port: free_port(), stop_script: None, pid: None };
        kdc.start_own();
        wait_for_tcp(kdc.port, &dir.join("kdc.log"));
        kdc.pid = read_pid(&dir.join("kdc.pid"));
        kdc
    }

    /// Its directory (database, `kdc.conf`, `krb5.conf`, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `krb5.conf` written beside the realm (one KDC, no enctype restriction).
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The keytab `kadmin.local ktadd` made for `host/server.ktix.test` (kvno 2, enctypes 17..20).
    pub fn server_keytab(&self) -> PathBuf {
        self.dir.join("server.keytab")
    }

    /// Runs MIT's `kadmin.local` on the realm with `script` (one query a line) on stdin, and
    /// returns its standard output; fails the test if it fails or reports an error for a query.
    pub fn kadmin(&self, script: &str) -> String {
        let mut admin = Command::new("kadmin.local");
        admin
            .args(["-r", REALM])
            .env("KRB5_CONFIG", self.dir.join("krb5.conf"))
            .env("KRB5_KDC_PROFILE", self.dir.join("kdc.conf"))
            .env("LC_ALL", "C");
        let out = run_with_limit(&mut admin, script, COMMAND_LIMIT);
        check_ok("kadmin.local", &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // kadmin.local exits 0 after a failed query; its error lines name the query.
        let failed: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(" while ") || l.contains("rror") || l.starts_with("kadmin.local:"))
            .filter(|l| !l.contains("No policy specified") && !l.contains("defaulting to no policy"))
            .collect();
        assert!(failed.is_empty(), "kadmin.local reported errors for\n{script}\n{stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds, for each of `enctypes`, the service [`per_enctype_service`] with a random key of that
    /// enctype only (kvno 1), so that its tickets, not only their session keys, come in that
    /// enctype; with `keytab`, also exports those keys there (`ktadd -norandkey`: kvno 1 stays).
    pub fn add_per_enctype_services(&self, enctypes: &[i32], keytab: Option<&Path>) {
        let mut script = String::new();
        for &e in enctypes {
            let _ = writeln!(script, "addprinc -randkey -e {}:normal {}", enctype_name(e), per_enctype_service(e));
            if let Some(kt) = keytab {
                let _ = writeln!(script, "ktadd -norandkey -k {} {}", kt.display(), per_enctype_service(e));
            }
        }
        self.kadmin(&script);
    }

    /// The fallback when the peer scripts are absent: the same realm settings, alice only.
    fn start_own(&self) {
        let dir = &self.dir;
        let port = self.port;
        let kdc_conf = format!(
            "[kdcdefaults]\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n[realms]\n  {REALM} = {{\n    \
             database_name = {d}/principal\n    key_stash_file = {d}/stash\n    acl_file = {d}/kadm5.acl\n    \
             max_life = 8h 0m 0s\n    max_renewable_life = 7d 0h 0m 0s\n    supported_enctypes = \
             aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal \
             aes128-cts-hmac-sha256-128:normal\n    default_principal_flags = +preauth\n  }}\n[logging]\n  \
             kdc = FILE:{d}/kdc.log\n",
            d = dir.display()
        );
        std::fs::write(dir.join("kdc.conf"), kdc_conf).expect("write kdc.conf");
        std::fs::write(dir.join("kadm5.acl"), "").expect("write kadm5.acl");
        Krb5Conf::new(SocketAddr::from(([127, 0, 0, 1], port))).write(&dir.join("krb5.conf"));
        let env = |c: &mut Command| {
            c.env("KRB5_CONFIG", dir.join("krb5.conf")).env("KRB5_KDC_PROFILE", dir.join("kdc.conf"));
        };
        let mut create = Command::new("kdb5_util");
        create.args(["create", "-s", "-r", REALM, "-P", "master-pw"]);
        env(&mut create);
        check_ok("kdb5_util create", &run_with_limit(&mut create, "", COMMAND_LIMIT));
        let mut admin = Command::new("kadmin.local");
        admin.args(["-r", REALM]);
        env(&mut admin);
        let script = format!(
            "addprinc -pw {ALICE_PW} +requires_preauth alice\naddprinc -randkey {SERVICE}\nktadd -k {} {SERVICE}\n",
            dir.join("server.keytab").display()
        );
        check_ok("kadmin.local", &run_with_limit(&mut admin, &script, COMMAND_LIMIT));
        let mut kdc = Command::new("krb5kdc");
        kdc.args(["-r", REALM, "-P"]).arg(dir.join("kdc.pid"));
        env(&mut kdc);
        check_ok("krb5kdc", &run_with_limit(&mut kdc, "", COMMAND_LIMIT));
    }

    /// Its port (UDP and TCP on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `krb5kdc`'s log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kdc.log")).unwrap_or_default()
    }
}

/// The pid in `krb5kdc -P FILE`'s file, waiting up to 5 s for it to be written.
fn read_pid(file: &Path) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse().ok()) {
            return Some(pid);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for MitKdc {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return;
        }
        match &self.stop_script {
            Some(script) => {
                let _ = Command::new("bash").arg(script).arg(&self.dir).status();
            }
            None => {
                if let Ok(pid) = std::fs::read_to_string(self.dir.join("kdc.pid")) {
                    let pid = pid.trim();
                    if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                        let _ = Command::new("kill").arg(pid).status();
                    }
                }
            }
        }
    }
}

fn check_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for_tcp(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "MIT's krb5kdc is not listening on port {port}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

// ----- krb5.conf and MIT commands ---------------------------------------------------------------

/// A client `krb5.conf` for realm [`REALM`] with one KDC.
#[derive(Clone, Debug)]
pub struct Krb5Conf {
    /// The KDC.
    pub kdc: SocketAddr,
    /// Further KDCs of the realm, after [`Krb5Conf::kdc`] (one `kdc =` line each, in order).
    pub more_kdcs: Vec<SocketAddr>,
    /// `default_tkt_enctypes`, `default_tgs_enctypes` and `permitted_enctypes` when set.
    pub enctypes: Option<Vec<i32>>,
    /// `udp_preference_limit` when set (1 makes MIT use TCP first).
    pub udp_preference_limit: Option<u32>,
    /// `forwardable` (default true).
    pub forwardable: bool,
    /// Further `[libdefaults]` lines.
    pub extra: Vec<String>,
    /// The realm's `kpasswd_server` when set (MIT's kpasswd goes there, not to port 464).
    pub kpasswd_server: Option<SocketAddr>,
}

impl Krb5Conf {
    /// Defaults: forwardable, no enctype restriction, MIT's UDP preference.
    pub fn new(kdc: SocketAddr) -> Krb5Conf {
        Krb5Conf {
            kdc,
            more_kdcs: Vec::new(),
            enctypes: None,
            udp_preference_limit: None,
            forwardable: true,
            extra: Vec::new(),
            kpasswd_server: None,
        }
    }

    /// Adds `addr` as a further KDC of the realm (MIT tries the KDCs in order).
    pub fn also_kdc(mut self, addr: SocketAddr) -> Krb5Conf {
        self.more_kdcs.push(addr);
        self
    }

    /// Sends change-password requests to `addr` (`kpasswd_server`).
    pub fn kpasswd_server(mut self, addr: SocketAddr) -> Krb5Conf {
        self.kpasswd_server = Some(addr);
        self
    }

    /// Restricts the enctypes to `enctypes` (numbers 17..20).
    pub fn enctypes(mut self, enctypes: &[i32]) -> Krb5Conf {
        self.enctypes = Some(enctypes.to_vec());
        self
    }

    /// Forces TCP (`udp_preference_limit = 1`) when `tcp`.
    pub fn tcp(mut self, tcp: bool) -> Krb5Conf {
        self.udp_preference_limit = tcp.then_some(1);
        self
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let mut s = String::from("[libdefaults]\n");
        let _ = writeln!(s, "  default_realm = {REALM}");
        s.push_str("  dns_lookup_kdc = false\n  dns_lookup_realm = false\n  rdns = false\n");
        let _ = writeln!(s, "  forwardable = {}", self.forwardable);
        if let Some(enctypes) = &self.enctypes {
            let names: Vec<&str> = enctypes.iter().map(|&e| enctype_name(e)).collect();
            let list = names.join(" ");
            for key in ["default_tkt_enctypes", "default_tgs_enctypes", "permitted_enctypes"] {
                let _ = writeln!(s, "  {key} = {list}");
            }
        }
        if let Some(limit) = self.udp_preference_limit {
            let _ = writeln!(s, "  udp_preference_limit = {limit}");
        }
        for line in &self.extra {
            let _ = writeln!(s, "  {line}");
        }
        let _ = write!(s, "[realms]\n  {REALM} = {{\n    kdc = {}\n", self.kdc);
        for kdc in &self.more_kdcs {
            let _ = writeln!(s, "    kdc = {kdc}");
        }
        if let Some(addr) = self.kpasswd_server {
            let _ = writeln!(s, "    kpasswd_server = {addr}");
        }
        s.push_str("  }\n");
        s
    }

    /// Writes it to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.text()).expect("write krb5.conf");
    }
}

/// What an MIT command did.
#[derive(Debug)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// Whether it exited with status 0.
    pub ok: bool,
    /// The exit status (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// What `command` did, from its output.
    pub fn from_output(command: String, out: &Output) -> Run {
        Run {
            command,
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Fails the test unless the command succeeded; returns it for chaining.
    pub fn expect_ok(self) -> Run {
        assert!(self.ok, "`{}` failed:\n{}{}", self.command, self.stdout, self.stderr);
        self
    }

    /// Fails the test if the command succeeded; returns it for chaining.
    pub fn expect_failure(self) -> Run {
        assert!(!self.ok, "`{}` should have failed:\n{}{}", self.command, self.stdout, self.stderr);
        self
    }

    /// The last non-empty line of standard error (MIT's error message).
    pub fn error_line(&self) -> &str {
        self.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
    }
}

/// Runs MIT commands with one `krb5.conf` and one credential cache.
#[derive(Clone, Debug)]
pub struct Mit {
    /// The `KRB5_CONFIG` file.
    pub config: PathBuf,
    /// The `KRB5CCNAME` file (used as `FILE:<path>`).
    pub ccache: PathBuf,
}

impl Mit {
    /// Commands using `config` and the file cache `ccache`.
    pub fn new(config: &Path, ccache: &Path) -> Mit {
        Mit { config: config.to_path_buf(), ccache: ccache.to_path_buf() }
    }

    /// The same configuration with another cache.
    pub fn with_ccache(&self, ccache: &Path) -> Mit {
        Mit { config: self.config.clone(), ccache: ccache.to_path_buf() }
    }

    /// Runs `program args…` with `stdin` as its input; fails the test if it runs longer than
    /// [`COMMAND_LIMIT`].
    pub fn run(&self, program: &str, args: &[&str], stdin: &str) -> Run {
        let out = run_with_limit(&mut self.command(program, args), stdin, COMMAND_LIMIT);
        Run::from_output(format!("{program} {}", args.join(" ")), &out)
    }

    /// The command `program args…` with this environment: `KRB5_CONFIG`, `KRB5CCNAME`, the C
    /// locale, UTC, no replay cache (`KRB5RCACHETYPE=none`), and no inherited keytab, trace or
    /// KDC-profile variables.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("KRB5_CONFIG", &self.config)
            .env("KRB5CCNAME", format!("FILE:{}", self.ccache.display()))
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("KRB5RCACHETYPE", "none")
            .env_remove("KRB5_KTNAME")
            .env_remove("KRB5_CLIENT_KTNAME")
            .env_remove("KRB5_TRACE")
            .env_remove("KRB5_KDC_PROFILE");
        cmd
    }

    /// Runs the built `ktix args…` with this environment (see [`Mit::command`]), `stdin` as its
    /// input.
    pub fn ktix(&self, args: &[&str], stdin: &str) -> Run {
        let out = run_with_limit(&mut self.command(env!("CARGO_BIN_EXE_ktix"), args), stdin, COMMAND_LIMIT);
        Run::from_output(format!("ktix {}", args.join(" ")), &out)
    }

    /// Starts `program args…` with this environment for a line-by-line conversation.
    pub fn spawn(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Interactive {
        let name = program.as_ref().to_string_lossy().into_owned();
        Interactive::start(self.command(program, args), format!("{name} {}", args.join(" ")))
    }

    /// `kinit PRINCIPAL` with `password` on stdin (and `args` before the principal).
    pub fn kinit_password(&self, args: &[&str], principal: &str, password: &str) -> Run {
        let mut all = args.to_vec();
        all.push(principal);
        self.run("kinit", &all, &format!("{password}\n"))
    }

    /// `klist -e -f`, parsed; fails the test if klist fails.
    pub fn klist(&self) -> Vec<KlistTicket> {
        let run = self.run("klist", &["-e", "-f"], "").expect_ok();
        parse_klist(&run.stdout).unwrap_or_else(|e| panic!("cannot parse klist output ({e}):\n{}", run.stdout))
    }
}

/// Runs `cmd` with `stdin` written to it, capturing both outputs; kills it and fails the test
/// after `limit`.
pub fn run_with_limit(cmd: &mut Command, stdin: &str, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let input = stdin.as_bytes().to_vec();
    let mut pipe_in = child.stdin.take().expect("stdin is piped");
    let writer = thread::spawn(move || {
        let _ = pipe_in.write_all(&input);
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out_reader = reader(Box::new(child.stdout.take().expect("stdout is piped")));
    let err_reader = reader(Box::new(child.stderr.take().expect("stderr is piped")));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for a child") {
            Some(status) => break status,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish within {limit:?}");
            }
        }
    };
    let _ = writer.join();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Output { status, stdout, stderr }
}

/// A running program spoken to line by line (its standard input and output piped, standard error
/// collected); killed if still running when dropped. Every wait is bounded by [`COMMAND_LIMIT`].
pub struct Interactive {
    child: Child,
    command: String,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
}

impl Interactive {
    fn start(mut cmd: Command, command: String) -> Interactive {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        let stdin = child.stdin.take();
        Interactive { child, command, stdin, lines, stderr: Some(stderr) }
    }

    /// The next line of standard output; fails the test (with the program's standard error) when
    /// the program ends first or says nothing for [`COMMAND_LIMIT`].
    pub fn read_line(&mut self) -> String {
        match self.lines.recv_timeout(COMMAND_LIMIT) {
            Ok(line) => line,
            Err(e) => {
                let _ = self.child.kill();
                let status = self.child.wait().ok();
                let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
                panic!(
                    "`{}` gave no line ({e:?}; exit {status:?}):\n{}",
                    self.command,
                    String::from_utf8_lossy(&stderr)
                );
            }
        }
    }

    /// Writes `line` and a newline to its standard input.
    pub fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("standard input still open");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("write to the program");
        stdin.flush().expect("flush the program's input");
    }

    /// Closes its standard input, waits (up to [`COMMAND_LIMIT`]) for the exit, and returns what
    /// it printed from now on.
    pub fn finish(mut self) -> Run {
        self.stdin = None;
        let deadline = Instant::now() + COMMAND_LIMIT;
        let status = loop {
            match self.child.try_wait().expect("wait for a child") {
                Some(status) => break status,
                None if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                None => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("`{}` did not finish within {COMMAND_LIMIT:?}", self.command);
                }
            }
        };
        let mut stdout = String::new();
        // The reader ends at end of file, soon after the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        Run {
            command: self.command.clone(),
            ok: status.success(),
            code: status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Compiles the C program `tests/mit/NAME.c` against MIT's libkrb5 (`krb5-config --cflags --libs
/// krb5`, Debian `libkrb5-dev`) into `out_dir/NAME`, and returns the executable's path.
pub fn build_c_helper(name: &str, out_dir: &Path) -> PathBuf {
    require_program("krb5-config", "libkrb5-dev");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("mit").join(format!("{name}.c"));
    let flags = run_with_limit(Command::new("krb5-config").args(["--cflags", "--libs", "krb5"]), "", COMMAND_LIMIT);
    check_ok("krb5-config --cflags --libs krb5", &flags);
    let exe = out_dir.join(name);
    let mut cc = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()));
    cc.args(["-Wall", "-O1", "-o"]).arg(&exe).arg(&source);
    cc.args(String::from_utf8_lossy(&flags.stdout).split_whitespace());
    check_ok(&format!("cc {}", source.display()), &run_with_limit(&mut cc, "", Duration::from_secs(120)));
    exe
}

// ----- klist output -----------------------------------------------------------------------------

/// One ticket of `klist -e -f` output (times in seconds since the epoch, read as UTC: run klist
/// with `TZ=UTC`, as [`Mit::run`] does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KlistTicket {
    /// Valid starting.
    pub start: i64,
    /// Expires.
    pub expires: i64,
    /// The service principal.
    pub service: String,
    /// Renew until, for renewable tickets.
    pub renew_until: Option<i64>,
    /// The flag letters (`F`, `R`, `I`, `A`, …); empty without `-f`.
    pub flags: String,
    /// The session key's enctype name (with `-e`).
    pub skey_etype: String,
    /// The ticket's enctype name (with `-e`).
    pub ticket_etype: String,
}

impl KlistTicket {
    /// True when every letter of `letters` is among the flags.
    pub fn has_flags(&self, letters: &str) -> bool {
        letters.chars().all(|c| self.flags.contains(c))
    }
}

/// Parses the ticket list of MIT `klist` (C locale): a line `DATE TIME  DATE TIME  SERVICE` per
/// ticket, then indented `renew until …`, `Flags: …` and `Etype (skey, tkt): …` lines.
pub fn parse_klist(text: &str) -> Result<Vec<KlistTicket>, String> {
    let mut tickets: Vec<KlistTicket> = Vec::new();
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() < 5 {
                return Err(format!("short ticket line {line:?}"));
            }
            tickets.push(KlistTicket {
                start: parse_time(w[0], w[1]).ok_or_else(|| format!("bad start in {line:?}"))?,
                expires: parse_time(w[2], w[3]).ok_or_else(|| format!("bad expiry in {line:?}"))?,
                service: w[4].to_string(),
                ..KlistTicket::default()
            });
        } else if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
            let Some(t) = tickets.last_mut() else { continue };
            let body = line.trim();
            if let Some(rest) = body.strip_prefix("renew until ") {
                let when = rest.split(',').next().unwrap_or("");
                let mut parts = when.split_whitespace();
                let (d, h) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                t.renew_until = Some(parse_time(d, h).ok_or_else(|| format!("bad renew-until in {line:?}"))?);
            }
            // The fields share a line, ", "-separated, as long as they fit (e.g. "Flags: IA,
            // Etype (skey, tkt): …" when the ticket is not renewable).
            if let Some(at) = body.find("Flags: ") {
                t.flags = body[at + "Flags: ".len()..].split(',').next().unwrap_or("").trim().to_string();
            }
            if let Some(rest) = body.find("Etype (skey, tkt): ").map(|at| &body[at + "Etype (skey, tkt): ".len()..]) {
                let mut parts = rest.split(',').map(str::trim);
                t.skey_etype = parts.next().unwrap_or("").to_string();
                t.ticket_etype = parts.next().unwrap_or("").to_string();
            }
        }
    }
    Ok(tickets)
}

/// The `Default principal:` of `klist` output.
pub fn klist_default_principal(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("Default principal: ")).map(str::trim)
}

/// One key of `klist -k [-t] [-e]` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeytabRow {
    /// The key version.
    pub kvno: u32,
    /// The timestamp (with `-t`), UTC seconds since the epoch (run klist with `TZ=UTC`).
    pub timestamp: Option<i64>,
    /// The principal.
    pub principal: String,
    /// The enctype name (with `-e`), else empty.
    pub enctype: String,
}

/// Parses the key list of `klist -k`: after the `----` rule, `KVNO [DATE TIME] PRINCIPAL
/// [(ENCTYPE)]` a line.
pub fn parse_klist_keytab(text: &str) -> Result<Vec<KeytabRow>, String> {
    let timestamps = text.lines().any(|l| l.starts_with("KVNO Timestamp"));
    let mut rows = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        if line.starts_with("----") {
            in_list = true;
            continue;
        }
        if !in_list || line.trim().is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let kvno = w.first().and_then(|k| k.parse().ok()).ok_or_else(|| format!("bad kvno in {line:?}"))?;
        let mut i = 1;
        let timestamp = if timestamps {
            i = 3;
            Some(
                parse_time(w.get(1).unwrap_or(&""), w.get(2).unwrap_or(&""))
                    .ok_or_else(|| format!("bad time in {line:?}"))?,
            )
        } else {
            None
        };
        let principal = w.get(i).ok_or_else(|| format!("no principal in {line:?}"))?.to_string();
        let enctype =
            w.get(i + 1).map(|e| e.trim_start_matches('(').trim_end_matches(')').to_string()).unwrap_or_default();
        rows.push(KeytabRow { kvno, timestamp, principal, enctype });
    }
    Ok(rows)
}

/// `MM/DD/YY` (or `MM/DD/YYYY`) and `HH:MM:SS` as UTC seconds since the epoch.
fn parse_time(date: &str, time: &str) -> Option<i64> {
    let d: Vec<i64> = date.split('/').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let year = if d[2] < 100 { 2000 + d[2] } else { d[2] };
    let (month, day) = (d[0], d[1]);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || t[0] > 23 || t[1] > 59 || t[2] > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + t[0] * 3600 + t[1] * 60 + t[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn klist_parses() {
        let out = "Ticket cache: FILE:/tmp/cc\nDefault principal: alice@KTIX.TEST\n\n\
                   Valid starting     Expires            Service principal\n\
                   11/25/26 14:08:07  11/25/26 22:08:07  krbtgt/KTIX.TEST@KTIX.TEST\n\
                   \trenew until 11/26/26 14:08:07, Flags: FRIA\n\
                   \tEtype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192 \n\
                   11/25/26 14:08:07  11/25/26 22:08:07  host/server.ktix.test@KTIX.TEST\n\
                   \tFlags: FA\n\
                   11/25/26 14:08:07  11/25/26 22:08:07  host/other.ktix.test@KTIX.TEST\n\
                   \tFlags: FAT, Etype (skey, tkt): aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96 \n";
        assert_eq!(klist_default_principal(out), Some("alice@KTIX.TEST"));
        let t = parse_klist(out).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[2].flags, "FAT");
        assert_eq!(t[2].skey_etype, "aes128-cts-hmac-sha1-96");
        assert_eq!(t[2].ticket_etype, "aes256-cts-hmac-sha1-96");
        assert_eq!(t[0].service, KRBTGT);
        assert_eq!(t[0].start, 1_795_615_687);
        assert_eq!(t[0].expires - t[0].start, 8 * 3600);
        assert_eq!(t[0].renew_until, Some(t[0].start + 86400));
        assert_eq!(t[0].flags, "FRIA");
        assert_eq!(t[0].skey_etype, "aes256-cts-hmac-sha1-96");
        assert_eq!(t[0].ticket_etype, "aes256-cts-hmac-sha384-192");
        assert_eq!(t[1].flags, "FA");
        assert!(t[1].renew_until.is_none());
    }

    #[test]
    fn keytab_lists_parse() {
        let out = "Keytab name: FILE:/tmp/kt\nKVNO Timestamp         Principal\n\
                   ---- ----------------- --------------------------------------------------------\n\
                   \x20  2 11/25/26 14:25:14 host/server.ktix.test@KTIX.TEST (aes256-cts-hmac-sha1-96) \n";
        let rows = parse_klist_keytab(out).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kvno, 2);
        assert_eq!(rows[0].timestamp, Some(1_795_616_714));
        assert_eq!(rows[0].principal, SERVICE_FULL_FOR_TESTS);
        assert_eq!(rows[0].enctype, "aes256-cts-hmac-sha1-96");
        let plain = parse_klist_keytab("Keytab name: FILE:/k\nKVNO Principal\n---- ---\n   3 a@B\n").unwrap();
        assert_eq!(
            plain,
            vec![KeytabRow { kvno: 3, timestamp: None, principal: "a@B".into(), enctype: String::new() }]
        );
    }

    const SERVICE_FULL_FOR_TESTS: &str = "host/server.ktix.test@KTIX.TEST";

    #[test]
    fn log_lines_parse() {
        let l = LogLine::parse(
            "2026-11-25T14:08:07.863786Z udp peer=127.0.0.1:52303 exchange=AS client=alice@KTIX.TEST \
             service=krbtgt/KTIX.TEST@KTIX.TEST result=KDC_ERR_PREAUTH_REQUIRED etype=- req=156 rep=198 us=1389 \
             detail=\"NEEDED_PREAUTH\"",
        )
        .unwrap();
        assert_eq!((l.transport.as_str(), l.exchange.as_str()), ("udp", "AS"));
        assert_eq!(l.service, KRBTGT);
        assert_eq!(l.result, "KDC_ERR_PREAUTH_REQUIRED");
        assert!(LogLine::parse("ktix kdc: stopping").is_none());
        assert_eq!(
            listening_addr("ktix kdc: realm R from x, listening on 127.0.0.1:4242 (UDP and TCP)\n"),
            Some(SocketAddr::from(([127, 0, 0, 1], 4242)))
        );
    }
}
