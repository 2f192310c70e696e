//! The drop-in `libgssapi_krb5.so.2` (crate ktix-gss, built by scripts/build-gss.sh) under Debian's
//! own unmodified programs, each side on libktix (its directory on `LD_LIBRARY_PATH`) or on MIT's
//! library, in a realm served by `ktix kdc serve` on loopback:
//!
//! - PostgreSQL 15 (server with `krb_server_keyfile`, `psql`): `gssencmode=require` authenticates
//!   alice (`pg_stat_gssapi`: authenticated, encrypted, `alice@KTIX.TEST`) and moves 100,000 rows
//!   each way; `gssencmode=disable` authenticates without encryption; no ticket, or a server
//!   keytab with the wrong key, is refused.
//! - Apache httpd with mod_auth_gssapi (`GssapiCredStore keytab:…`) and `curl --negotiate`
//!   (SPNEGO over HTTP): 200 and alice in the access log; no ticket: 401.
//! - Which library did the work: a server on libktix has our library in `/proc/PID/maps` and no
//!   `libkrb5.so.3`; a client on libktix run with `LD_DEBUG=bindings` binds `gss_init_sec_context`
//!   to our library.
//!
//! Runs as root (PostgreSQL and Apache switch to their own users); see INTEROP.md, "Running the
//! peer programs inside a test".

mod mit;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use mit::{free_port, run_with_limit, Krb5Conf, Mit, Run, ServedRealm, ALICE_PW, COMMAND_LIMIT, REALM};

/// Which GSS-API library a program runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    /// MIT's, from the system.
    Mit,
    /// libktix's drop-in, through `LD_LIBRARY_PATH`.
    Ktix,
}

impl Lib {
    /// `LD_LIBRARY_PATH` for this side (removed for MIT's).
    fn apply(self, cmd: &mut Command) {
        match self {
            Lib::Mit => cmd.env_remove("LD_LIBRARY_PATH"),
            Lib::Ktix => cmd.env("LD_LIBRARY_PATH", dropin_dir()),
        };
    }
}

/// Builds the drop-in library once per test binary; returns its directory.
fn dropin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-gss.sh");
        let out = Command::new("bash").arg(script).output().expect("run scripts/build-gss.sh");
        assert!(out.status.success(), "scripts/build-gss.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(lib.is_file(), "scripts/build-gss.sh printed {lib:?}");
        lib.parent().expect("a directory").to_path_buf()
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A realm served by `ktix kdc serve` with alice (logged in with MIT's kinit into a FILE cache)
/// and one service `SERVICE/localhost`, its keys in `good.keytab` and a keytab of the same
/// principal and key version with wrong keys in `wrong.keytab`; files the server user reads
/// live in `shared` (mode 0755, owned by `owner`).
struct Realm {
    // Dropped first: the KDC stops before its directory goes.
    _served: ServedRealm,
    shared: tempfile::TempDir,
    mit: Mit,
}

impl Realm {
    fn start(service: &str, owner: &str) -> Realm {
        mit::require_mit_client();
        let served = ServedRealm::start();
        let shared = tempfile::tempdir().expect("temporary directory");
        let principal = format!("{service}/localhost");
        served.realm.add_random(&principal);
        let good = shared.path().join("good.keytab");
        served.realm.ktadd(&principal, &good, false);
        // The wrong keys: the same principal and key version, keys from a password nobody set.
        let wrong = shared.path().join("wrong.keytab");
        let mut script = String::new();
        for e in [20, 19, 18, 17] {
            let _ =
                writeln!(script, "addent -password -p {principal}@{REALM} -k 1 -e {}\nwrong-pw", mit::enctype_name(e));
        }
        let _ = writeln!(script, "wkt {}\nquit", wrong.display());
        let out = run_with_limit(Command::new("ktutil").env("KRB5_CONFIG", "/dev/null"), &script, COMMAND_LIMIT);
        assert!(wrong.is_file(), "ktutil made no keytab: {}", String::from_utf8_lossy(&out.stderr));
        let conf = shared.path().join("krb5.conf");
        let mut krb5 = Krb5Conf::new(served.kdc.addr());
        krb5.extra.push("dns_canonicalize_hostname = false".into());
        std::fs::write(&conf, format!("{}[domain_realm]\n  localhost = {REALM}\n", krb5.text()))
            .expect("write krb5.conf");
        let mit = Mit::new(&conf, &shared.path().join("alice.cc"));
        mit.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for f in [&good, &wrong, &conf] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let status = Command::new("chown").arg(owner).arg(&good).arg(&wrong).status().expect("chown");
        assert!(status.success(), "chown {owner}");
        Realm { _served: served, shared, mit }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.shared.path().join(name)
    }

    /// A client command on `lib` with alice's cache (or a cache that does not exist).
    fn client(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str], lib: Lib, ticket: bool) -> Command {
        let mut cmd = if ticket {
            self.mit.command(program, args)
        } else {
            self.mit.with_ccache(&self.path("nobody.cc")).command(program, args)
        };
        lib.apply(&mut cmd);
        cmd
    }
}

/// The libraries a running server has mapped (`/proc/PID/maps`).
fn mapped_libraries(pid: u32) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_else(|e| panic!("/proc/{pid}/maps: {e}"));
    libraries_in(&maps)
}

/// The shared objects named in a `/proc/PID/maps` text, one per line.
fn libraries_in(maps: &str) -> String {
    let mut libs: Vec<&str> =
        maps.lines().filter_map(|l| l.split_whitespace().nth(5)).filter(|p| p.contains(".so")).collect();
    libs.sort_unstable();
    libs.dedup();
    libs.join("\n")
}

/// The server with pid `pid` runs on `lib`: for libktix, our library is mapped and MIT's
/// libkrb5.so.3 is not; for MIT, MIT's library is.
fn assert_server_on(pid: u32, lib: Lib) {
    assert_libraries(pid, &mapped_libraries(pid), lib);
}

/// As [`assert_server_on`], on a list of mapped libraries already read.
fn assert_libraries(pid: u32, libs: &str, lib: Lib) {
    let ours = dropin_dir().join("libgssapi_krb5.so.2");
    match lib {
        Lib::Ktix => {
            assert!(libs.lines().any(|l| Path::new(l) == ours), "{ours:?} is not mapped by {pid}:\n{libs}");
            assert!(!libs.contains("libkrb5.so.3"), "MIT's libkrb5.so.3 is mapped by {pid}:\n{libs}");
            assert!(!libs.contains("/usr/lib/x86_64-linux-gnu/libgssapi_krb5"), "MIT's GSS library is mapped:\n{libs}");
        }
        Lib::Mit => assert!(libs.contains("/libgssapi_krb5.so.2") && libs.contains("libkrb5.so.3"), "{libs}"),
    }
}

/// `LD_DEBUG=bindings` output of a client: `gss_init_sec_context` was bound to `lib`'s library.
fn assert_bound_to(ld_debug: &str, lib: Lib) {
    let line = ld_debug
        .lines()
        .find(|l| l.contains("normal symbol `gss_init_sec_context'"))
        .unwrap_or_else(|| panic!("no binding of gss_init_sec_context in the LD_DEBUG output:\n{ld_debug}"));
    let ours = format!("to {}/libgssapi_krb5.so.2 ", dropin_dir().display());
    assert_eq!(line.contains(&ours), lib == Lib::Ktix, "{line}");
    assert!(line.contains("[gssapi_krb5_2_MIT]"), "{line}");
}

// ----- PostgreSQL ------------------------------------------------------------------------------

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const ROWS: u32 = 100_000;

/// A PostgreSQL 15 cluster in a temporary directory owned by `postgres`, listening on 127.0.0.1.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl Postgres {
    fn init() -> Postgres {
        let dir = tempfile::tempdir().expect("temporary directory");
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().expect("chown");
        assert!(status.success());
        let pg = Postgres { dir, port: free_port(), running: false };
        let data = pg.data();
        pg.run(
            Lib::Mit,
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
        );
        let hba = "local all postgres trust\n\
                   hostgssenc dropin alice 127.0.0.1/32 gss include_realm=0 krb_realm=KTIX.TEST\n\
                   hostnogssenc dropin alice 127.0.0.1/32 gss include_realm=0 krb_realm=KTIX.TEST\n";
        std::fs::write(pg.dir.path().join("data/pg_hba.conf"), hba).expect("write pg_hba.conf");
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().expect("UTF-8").to_string()
    }

    /// `PROGRAM ARGS…` as the postgres user, on `lib`.
    fn command(&self, lib: Lib, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(Path::new(PG_BIN).join(program));
        c.args(args).env("LC_ALL", "C").env_remove("KRB5_KTNAME").env_remove("KRB5CCNAME");
        lib.apply(&mut c);
        c
    }

    fn run(&self, lib: Lib, program: &str, args: &[&str]) -> String {
        let out = run_with_limit(&mut self.command(lib, program, args), "", Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the server on `lib` with `keytab` as `krb_server_keyfile`.
    fn start(&mut self, lib: Lib, keytab: &Path, krb5_conf: &Path) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c krb_server_keyfile={}",
            self.port,
            self.dir.path().display(),
            keytab.display()
        );
        let log = self.dir.path().join("log").to_str().expect("UTF-8").to_string();
        let mut cmd =
            self.command(lib, "pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "30", "start"]);
        cmd.env("KRB5_CONFIG", krb5_conf).env("KRB5RCACHEDIR", self.dir.path());
        let out = run_with_limit(&mut cmd, "", Duration::from_secs(60));
        assert!(out.status.success(), "pg_ctl start failed: {}", std::fs::read_to_string(&log).unwrap_or_default());
        self.running = true;
    }

    fn stop(&mut self) {
        self.run(Lib::Mit, "pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        self.running = false;
    }

    /// The postmaster's pid.
    fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).expect("postmaster.pid");
        text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid on the first line")
    }

    /// SQL as the superuser over the Unix socket (no GSS involved).
    fn admin(&self, sql: &str) -> String {
        let sock = self.dir.path().to_str().expect("UTF-8").to_string();
        let port = self.port.to_string();
        self.run(Lib::Mit, "psql", &["-h", &sock, "-p", &port, "-U", "postgres", "-d", "postgres", "-At", "-c", sql])
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.command(Lib::Mit, "pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
        }
    }
}

/// `psql` on `lib` as alice (with or without her ticket), `gssencmode` as given; extra
/// arguments (`-c SQL` …) after the connection string.
fn psql(realm: &Realm, pg: &Postgres, lib: Lib, ticket: bool, gssencmode: &str, args: &[&str], stdin: &str) -> Run {
    let conninfo = format!(
        "host=localhost hostaddr=127.0.0.1 port={} dbname=dropin user=alice gssencmode={gssencmode} sslmode=disable \
         krbsrvname=postgres connect_timeout=20",
        pg.port
    );
    let mut all = vec![conninfo.as_str(), "-At", "-v", "ON_ERROR_STOP=1"];
    all.extend(args);
    let mut cmd = realm.client(Path::new(PG_BIN).join("psql"), &all, lib, ticket);
    let out = run_with_limit(&mut cmd, stdin, COMMAND_LIMIT);
    Run::from_output(format!("psql ({lib:?}) {}", all.join(" ")), &out)
}

const STAT: &str = "SELECT gss_authenticated, encrypted, principal FROM pg_stat_gssapi WHERE pid = pg_backend_pid()";

fn expected_rows() -> String {
    let mut s = String::with_capacity(ROWS as usize * 48);
    for g in 1..=ROWS {
        let _ = writeln!(s, "{g}|{g:x>40}");
    }
    s
}

/// One client library against the running server: encrypted and unencrypted sessions, 100,000
/// rows each way, refusals without a ticket.
fn postgres_client(realm: &Realm, pg: &Postgres, client: Lib, server: Lib) {
    let what = format!("psql on {client:?}, server on {server:?}");
    let stat = psql(realm, pg, client, true, "require", &["-c", STAT], "").expect_ok();
    assert_eq!(stat.stdout.trim(), "t|t|alice@KTIX.TEST", "{what}");
    let stat = psql(realm, pg, client, true, "disable", &["-c", STAT], "").expect_ok();
    assert_eq!(stat.stdout.trim(), "t|f|alice@KTIX.TEST", "{what}");
    // Server to client.
    let sql = format!("SELECT g, lpad(g::text, 40, 'x') FROM generate_series(1, {ROWS}) g ORDER BY g");
    let down = psql(realm, pg, client, true, "require", &["-c", &sql], "").expect_ok();
    assert!(down.stdout == expected_rows(), "{what}: the {ROWS} rows came out different ({} bytes)", down.stdout.len());
    // Client to server.
    let rows = expected_rows().replace('|', "\t");
    let check = "SELECT count(*), sum(g), sum(length(h)), bool_and(h = lpad(g::text, 40, 'x')) FROM t";
    let up = psql(
        realm,
        pg,
        client,
        true,
        "require",
        &["-c", "CREATE TEMP TABLE t (g int, h text)", "-c", "COPY t FROM STDIN", "-c", check],
        &rows,
    )
    .expect_ok();
    assert_eq!(up.stdout.trim().lines().last(), Some("100000|5000050000|4000000|t"), "{what}: {}", up.stdout);
    // No ticket: refused, whatever the encryption mode.
    for mode in ["require", "disable"] {
        let run = psql(realm, pg, client, false, mode, &["-c", STAT], "").expect_failure();
        assert!(!run.stdout.contains("alice"), "{what}: {}", run.stdout);
    }
    // The client's gss_init_sec_context is the library it was given.
    let mut cmd = realm.client(
        Path::new(PG_BIN).join("psql"),
        &[
            &format!("host=localhost hostaddr=127.0.0.1 port={} dbname=dropin user=alice gssencmode=require", pg.port),
            "-c",
            "SELECT 1",
        ],
        client,
        true,
    );
    cmd.env("LD_DEBUG", "bindings");
    let out = run_with_limit(&mut cmd, "", COMMAND_LIMIT);
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    assert_bound_to(&String::from_utf8_lossy(&out.stderr), client);
}

/// The PostgreSQL server on each library, psql on each library against it.
fn postgres_with(server: Lib, clients: &[Lib]) {
    let realm = Realm::start("postgres", "postgres");
    let mut pg = Postgres::init();
    pg.start(server, &realm.path("good.keytab"), &realm.path("krb5.conf"));
    assert_server_on(pg.pid(), server);
    pg.admin("CREATE ROLE alice LOGIN");
    pg.admin("CREATE DATABASE dropin OWNER alice");
    for &client in clients {
        postgres_client(&realm, &pg, client, server);
    }
    // A server keytab with the wrong key (same principal and key version) refuses everybody.
    pg.stop();
    pg.start(server, &realm.path("wrong.keytab"), &realm.path("krb5.conf"));
    for &client in clients {
        let run = psql(&realm, &pg, client, true, "require", &["-c", STAT], "").expect_failure();
        assert!(!run.stdout.contains("alice"), "{}", run.stdout);
    }
    // The administrator reads why in the server log (gss_display_status of both codes).
    let log = pg.log();
    assert!(log.contains("could not accept GSSAPI security context"), "the server logged no GSS failure:\n{log}");
    if server == Lib::Ktix {
        assert!(log.contains("integrity check failed: ciphertext modified or wrong key"), "{log}");
    }
    pg.stop();
}

fn require_root(what: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {what}: needs root (PostgreSQL and Apache run under their own users)");
    }
    is_root()
}

#[test]
fn postgres_server_on_mit() {
    if require_root("postgres_server_on_mit") {
        postgres_with(Lib::Mit, &[Lib::Mit, Lib::Ktix]);
    }
}

#[test]

fn postgres_server_on_libktix() {
    if require_root("postgres_server_on_libktix") {
        postgres_with(Lib::Ktix, &[Lib::Mit, Lib::Ktix]);
    }
}

// ----- Apache httpd + mod_auth_gssapi, curl --negotiate ----------------------------------------

const MODULES: &str = "/usr/lib/apache2/modules";

/// `apache2 -f CONF -DFOREGROUND` under `setsid` (on SIGTERM it signals its whole process group),
/// on `lib`, serving `/index.html` behind GSSAPI (SPNEGO) authentication.
struct Apache {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Apache {
    fn start(realm: &Realm, lib: Lib, dir: &Path) -> Apache {
        std::fs::create_dir_all(dir.join("htdocs")).expect("mkdir");
        std::fs::write(dir.join("htdocs/index.html"), "hello from apache\n").expect("write index.html");
        let port = free_port();
        let conf = format!(
            "ServerRoot {dir}\n\
             ServerName localhost\n\
             Listen 127.0.0.1:{port}\n\
             PidFile {dir}/httpd.pid\n\
             DefaultRuntimeDir {dir}\n\
             ErrorLog {dir}/error.log\n\
             LogLevel info\n\
             LogFormat \"%u \\\"%r\\\" %>s\" dropin\n\
             CustomLog {dir}/access.log dropin\n\
             User www-data\n\
             Group www-data\n\
             LoadModule mpm_prefork_module {MODULES}/mod_mpm_prefork.so\n\
             LoadModule authn_core_module {MODULES}/mod_authn_core.so\n\
             LoadModule authz_core_module {MODULES}/mod_authz_core.so\n\
             LoadModule authz_user_module {MODULES}/mod_authz_user.so\n\
             LoadModule auth_gssapi_module {MODULES}/mod_auth_gssapi.so\n\
             StartServers 1\n\
             MinSpareServers 1\n\
             MaxSpareServers 2\n\
             DocumentRoot {dir}/htdocs\n\
             <Directory {dir}/htdocs>\n\
               AuthType GSSAPI\n\
               AuthName \"ktix\"\n\
               GssapiCredStore keytab:{keytab}\n\
               GssapiAllowedMech krb5\n\
               GssapiDelegCcacheDir {dir}/deleg\n\
               Require valid-user\n\
             </Directory>\n",
            dir = dir.display(),
            keytab = realm.path("good.keytab").display(),
        );
        let conf_path = dir.join("httpd.conf");
        std::fs::write(&conf_path, conf).expect("write httpd.conf");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // The replay cache is written by the workers (www-data).
        let rcache = dir.join("rcache");
        std::fs::create_dir_all(&rcache).expect("mkdir rcache");
        // So is the directory of delegated credentials (GssapiDelegCcacheDir).
        std::fs::create_dir_all(dir.join("deleg")).expect("mkdir deleg");
        let status = Command::new("chown").arg("www-data").arg(&rcache).arg(dir.join("deleg")).status().expect("chown");
        assert!(status.success());
        let mut cmd = Command::new("setsid");
        cmd.arg("/usr/sbin/apache2")
            .arg("-f")
            .arg(&conf_path)
            .arg("-DFOREGROUND")
            .env("KRB5_CONFIG", realm.path("krb5.conf"))
            .env("KRB5RCACHEDIR", &rcache)
            .env_remove("KRB5_KTNAME")
            .env_remove("KRB5CCNAME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log")).expect("create stderr.log")));
        lib.apply(&mut cmd);
        let child = cmd.spawn().expect("start apache2");
        let apache = Apache { child, dir: dir.to_path_buf(), port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "apache2 did not listen within 20 s:\n{}\n{}",
                std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default(),
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(50));
        }
        apache
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Waits (10 s at most) for an access-log line containing `what` (written after the response).
    fn wait_access(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.access_log();
            if let Some(line) = log.lines().find(|l| l.contains(what)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no access-log line with {what:?}:\n{log}\nerror log:\n{}",
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl --negotiate` on `lib`: the HTTP status and the body.
fn curl(realm: &Realm, apache: &Apache, lib: Lib, ticket: bool, path: &str, ld_debug: bool) -> (String, Run) {
    curl_with(realm, apache, lib, ticket, path, ld_debug, &[])
}

fn curl_with(
    realm: &Realm,
    apache: &Apache,
    lib: Lib,
    ticket: bool,
    path: &str,
    ld_debug: bool,
    extra: &[&str],
) -> (String, Run) {
    let url = format!("http://localhost:{}{path}", apache.port);
    let mut args = vec!["-sS", "--negotiate", "-u", ":", "-o", "-", "-w", "\n%{http_code}"];
    args.extend(extra);
    args.push(url.as_str());
    let mut cmd = realm.client("curl", &args, lib, ticket);
    if ld_debug {
        cmd.env("LD_DEBUG", "bindings");
    }
    let out = run_with_limit(&mut cmd, "", COMMAND_LIMIT);
    let run = Run::from_output(format!("curl ({lib:?}) {url}"), &out);
    let code = run.stdout.lines().last().unwrap_or("").to_string();
    (code, run)
}

fn apache_with(server: Lib, clients: &[Lib]) {
    let realm = Realm::start("HTTP", "www-data");
    let dir = tempfile::tempdir().expect("temporary directory");
    let apache = Apache::start(&realm, server, dir.path());
    assert_server_on(apache.child.id(), server);
    for (i, &client) in clients.iter().enumerate() {
        let what = format!("curl on {client:?}, Apache on {server:?}");
        let path = format!("/index.html?{client:?}-{i}");
        let (code, run) = curl(&realm, &apache, client, true, &path, false);
        assert_eq!(
            code,
            "200",
            "{what}: {}{}\n{}\n{}",
            run.stdout,
            run.stderr,
            apache.access_log(),
            apache.error_log()
        );
        assert!(run.stdout.starts_with("hello from apache"), "{what}: {}", run.stdout);
        let line = apache.wait_access(&path);
        assert!(line.starts_with("alice@KTIX.TEST \"GET "), "{what}: {line}");
        assert!(line.ends_with(" 200"), "{what}: {line}");
        let nobody = format!("/index.html?{client:?}-{i}-noticket");
        let (code, run) = curl(&realm, &apache, client, false, &nobody, false);
        assert_eq!(code, "401", "{what} without a ticket: {}{}", run.stdout, run.stderr);
        let line = apache.wait_access(&nobody);
        assert!(line.starts_with("- ") && line.ends_with(" 401"), "{what}: {line}");
        let (code, run) = curl(&realm, &apache, client, true, "/index.html", true);
        assert_eq!(code, "200", "{what}: {}", run.stdout);
        assert_bound_to(&run.stderr, client);
        // Delegation: curl forwards alice's TGT, mod_auth_gssapi stores it with
        // gss_store_cred_into in GssapiDelegCcacheDir, and MIT's klist reads the cache.
        let deleg = apache.dir.join("deleg");
        for old in std::fs::read_dir(&deleg).expect("read deleg").flatten() {
            let _ = std::fs::remove_file(old.path());
        }
        let delegated = format!("/index.html?{client:?}-{i}-delegation");
        let (code, run) = curl_with(&realm, &apache, client, true, &delegated, false, &["--delegation", "always"]);
        assert_eq!(code, "200", "{what} with delegation: {}{}\n{}", run.stdout, run.stderr, apache.error_log());
        apache.wait_access(&delegated);
        let stored: Vec<PathBuf> = std::fs::read_dir(&deleg).expect("read deleg").flatten().map(|e| e.path()).collect();
        assert_eq!(stored.len(), 1, "{what}: delegated caches {stored:?}\n{}", apache.error_log());
        let cache = realm.mit.with_ccache(&stored[0]).run("klist", &[], "").expect_ok();
        assert!(
            cache.stdout.contains("Default principal: alice@KTIX.TEST")
                && cache.stdout.contains("krbtgt/KTIX.TEST@KTIX.TEST"),
            "{what}: the delegated cache {:?}:\n{}",
            stored[0],
            cache.stdout
        );
    }
    // The worker that served the requests, not only the parent, runs on the same library.
    let children = std::fs::read_to_string(format!("/proc/{}/task/{}/children", apache.child.id(), apache.child.id()))
        .unwrap_or_default();
    // (A worker that is exiting may already have unloaded its modules: those are skipped.)
    // Each worker's maps are read once: the check and the filter see the same snapshot.
    let workers: Vec<(u32, String)> = children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().map(|m| (pid, m)))
        .filter(|(_, maps)| maps.contains("mod_auth_gssapi"))
        .collect();
    assert!(!workers.is_empty(), "no Apache worker with mod_auth_gssapi loaded: {children:?}");
    for (pid, maps) in workers {
        assert_libraries(pid, &libraries_in(&maps), server);
    }
}

#[test]
fn apache_on_mit() {
    if require_root("apache_on_mit") {
        apache_with(Lib::Mit, &[Lib::Mit, Lib::Ktix]);
    }
}

#[test]

fn apache_on_libktix() {
    if require_root("apache_on_libktix") {
        apache_with(Lib::Ktix, &[Lib::Mit, Lib::Ktix]);
    }
}
