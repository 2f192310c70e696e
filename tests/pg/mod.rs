//! Shared harness for the tests that need PostgreSQL: [`Cluster::start`] makes a throwaway
//! cluster with Debian's server programs (`initdb` into a temporary directory, `trust`
//! authentication, its own free port on 127.0.0.1, `fsync=off`), and [`Cluster::database`] an
//! empty database in it; the cluster is stopped (`pg_ctl stop -m immediate`) and removed on drop.
//! Run as root (PostgreSQL refuses that), the programs run as the `postgres` user.
//!
//! The programs are required: a missing PostgreSQL fails the test, naming the Debian package
//! (`postgresql`, installed by `scripts/setup.sh`). Include it with
//! `#[path = "…/tests/pg/mod.rs"] mod pg;`.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// The CLI's postgres_realm test loads this file beside cli/tests/mit, which loads it too.
#[allow(clippy::duplicate_mod)]
#[path = "../port/mod.rs"]
mod port;
use port::free_port;

/// Where Debian puts the server programs (the newest version there wins).
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL's server programs (initdb, pg_ctl) are not in /usr/lib/postgresql/*/bin: \
             run scripts/setup.sh (Debian package postgresql)"
        ),
    }
}

/// A running throwaway cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// initdb + pg_ctl start; fails the test with PostgreSQL's output when either fails.
    pub fn start() -> Cluster {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let as_postgres = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let cluster = Cluster { dir, bin, port: free_port(), as_postgres };
        if as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(cluster.dir.path()).status();
            assert!(ok.is_ok_and(|s| s.success()), "chown of the cluster directory to postgres");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "ktix", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
        );
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().expect("UTF-8 path").to_string()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self.command(program).args(args).env("LC_ALL", "C").output().expect(program);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn pg_ctl_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").to_str().expect("UTF-8").to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "30", "start"]);
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates an empty database `name` and returns its URI.
    pub fn database(&self, name: &str) -> String {
        let port = self.port.to_string();
        self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "ktix", name]);
        self.uri(name)
    }

    /// The URI of database `name`.
    pub fn uri(&self, name: &str) -> String {
        format!("postgresql://ktix@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server (fast shutdown: sessions are cut).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Starts it again after [`Cluster::stop`].
    pub fn restart(&self) {
        self.pg_ctl_start();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
    }
}
