//! The `ktix` command-line tool: thin argument parsing over the library.

mod db;
mod demo;
mod kdc;
mod prompt;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// libktix: Kerberos V5 session tickets — KDC, client tools and an embedded demo.
#[derive(Parser)]
#[command(name = "ktix", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The default realm database.
pub const DEFAULT_DB: &str = "./ktix-realm/realm.db";

#[derive(Subcommand)]
enum Command {
    /// Run the whole session-ticket scheme on an embedded realm, narrating each step.
    Demo,
    /// Administer the realm database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the KDC.
    #[command(subcommand)]
    Kdc(KdcCommand),
    /// Get a ticket-granting ticket (like MIT's kinit).
    Kinit(KinitArgs),
    /// List the tickets in a credential cache or the keys in a keytab (like MIT's klist).
    Klist(KlistArgs),
    /// Get service tickets and print their key version numbers (like MIT's kvno).
    Kvno(KvnoArgs),
    /// Destroy a credential cache (like MIT's kdestroy).
    Kdestroy(KdestroyArgs),
    /// Change a password through the change-password service (like MIT's kpasswd).
    Kpasswd(KpasswdArgs),
}

/// `ktix kpasswd`
#[derive(Args, Debug)]
pub struct KpasswdArgs {
    /// Whose password; default the principal of the credential cache, else the user name.
    pub principal: Option<String>,
}

/// `--db` shared by the database and KDC commands.
#[derive(Args, Clone, Debug)]
pub struct DbPath {
    /// The realm database: an SQLite file (its master-key stash sits beside it), or a
    /// PostgreSQL database, postgresql://USER@HOST:PORT/DBNAME (the password from the URI,
    /// PGPASSWORD or ~/.pgpass; --stash required).
    #[arg(long = "db", default_value = DEFAULT_DB)]
    pub db: PathBuf,
    /// The master-key stash file (default for SQLite: the database file with .stash appended).
    #[arg(long = "stash")]
    pub stash: Option<PathBuf>,
}

/// `ktix db …`
#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Create a new realm database and its master-key stash.
    Init {
        #[command(flatten)]
        db: DbPath,
        /// The realm name.
        #[arg(long, default_value = "KTIX.TEST")]
        realm: String,
        /// Derive the master key from a master password (read like other passwords) instead of random.
        #[arg(long)]
        master_password: bool,
        /// The enctypes principals get keys of, as MIT names them, comma- or space-separated
        /// (default: MIT 1.20's, aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96; the RFC 8009
        /// aes256-cts-hmac-sha384-192 and aes128-cts-hmac-sha256-128 are opt-in).
        #[arg(long)]
        enctypes: Option<String>,
    },
    /// Add a principal.
    Add {
        #[command(flatten)]
        db: DbPath,
        /// The principal name (realm optional).
        principal: String,
        /// Set keys from a password (read from the terminal without echo, or from stdin). The default.
        #[arg(long, conflicts_with = "random")]
        password: bool,
        /// Set random keys (for services).
        #[arg(long)]
        random: bool,
        /// Keys of only these enctypes (a subset of the realm's; default: all of the realm's).
        #[arg(long)]
        enctypes: Option<String>,
        /// The policy governing its password and lockout (default: the policy named "default",
        /// when there is one, as kadmin's addprinc).
        #[arg(long)]
        policy: Option<String>,
    },
    /// Delete a principal.
    Del {
        #[command(flatten)]
        db: DbPath,
        /// The principal name.
        principal: String,
    },
    /// List the principals.
    List {
        #[command(flatten)]
        db: DbPath,
    },
    /// Change a principal's policy (like kadmin's modprinc).
    Mod {
        #[command(flatten)]
        db: DbPath,
        /// The principal name.
        principal: String,
        /// Longest ticket life for this principal (e.g. 1h, 10h 0m 0s, 3600), or "default".
        #[arg(long)]
        max_life: Option<String>,
        /// Longest renewable life for this principal, or "default".
        #[arg(long)]
        max_renewable_life: Option<String>,
        /// Require pre-authentication (on/off).
        #[arg(long)]
        requires_preauth: Option<Switch>,
        /// Refuse all tickets to and from this principal (on/off).
        #[arg(long)]
        disabled: Option<Switch>,
        /// Allow forwardable tickets (on/off).
        #[arg(long)]
        forwardable: Option<Switch>,
        /// Allow renewable tickets (on/off).
        #[arg(long)]
        renewable: Option<Switch>,
        /// When the principal expires: seconds since the epoch, "YYYY-MM-DD HH:MM:SS" (UTC), or "never".
        #[arg(long)]
        expiration: Option<String>,
        /// Put the principal under this policy (see `ktix db policy`).
        #[arg(long, conflicts_with = "clear_policy")]
        policy: Option<String>,
        /// Take the principal out of its policy.
        #[arg(long)]
        clear_policy: bool,
        /// End a lockout: set the failed pre-authentication count to zero.
        #[arg(long)]
        unlock: bool,
    },
    /// Change a principal's keys (like kadmin's cpw): a new password, or --random; the kvno goes up.
    Cpw {
        #[command(flatten)]
        db: DbPath,
        /// The principal name.
        principal: String,
        /// New random keys instead of a password.
        #[arg(long)]
        random: bool,
        /// Keep the old keys (kadmin's -keepold): tickets issued under them stay valid; new
        /// tickets use the new kvno. Remove them later with `ktix db purgekeys`.
        #[arg(long)]
        keepold: bool,
        /// New keys of only these enctypes (default: the realm's).
        #[arg(long)]
        enctypes: Option<String>,
    },
    /// Remove old keys of a principal (like kadmin's purgekeys); tickets sealed in them stop working.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["keepkvno", "all"])))]
    Purgekeys {
        #[command(flatten)]
        db: DbPath,
        /// The principal name.
        principal: String,
        /// Keep the keys of this kvno and above.
        #[arg(long)]
        keepkvno: Option<u32>,
        /// Remove every key but the current kvno's.
        #[arg(long)]
        all: bool,
    },
    /// Administer policies (like kadmin's add_policy, modify_policy, delete_policy, list_policies).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Export a principal's current keys to a keytab (without changing them unless --randkey).
    Ktadd {
        #[command(flatten)]
        db: DbPath,
        /// The principal name.
        principal: String,
        /// The keytab file (`FILE:` prefix optional); entries are added to an existing file.
        #[arg(long, short = 'k')]
        keytab: String,
        /// Give the principal new random keys (next kvno) first.
        #[arg(long)]
        randkey: bool,
        /// With --randkey: keep the old keys in the database (see `ktix db cpw --keepold`).
        #[arg(long, requires = "randkey")]
        keepold: bool,
    },
    /// Write every policy and principal to FILE (the versioned ktix dump format; keys stay
    /// encrypted under the master key). FILE must not exist.
    Dump {
        #[command(flatten)]
        db: DbPath,
        /// The dump file to create (mode 0600).
        file: PathBuf,
    },
    /// Create the database --db from a dump (SQLite or PostgreSQL, either way), under the master
    /// key of --stash (the dumped realm's; for SQLite by default beside the file).
    Load {
        #[command(flatten)]
        db: DbPath,
        /// The dump file.
        file: PathBuf,
    },
}

/// `ktix db policy …`
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Add a policy.
    Add {
        #[command(flatten)]
        db: DbPath,
        /// The policy name.
        name: String,
        #[command(flatten)]
        settings: PolicySettings,
    },
    /// Change a policy's settings (those given).
    Mod {
        #[command(flatten)]
        db: DbPath,
        /// The policy name.
        name: String,
        #[command(flatten)]
        settings: PolicySettings,
    },
    /// Delete a policy no principal refers to.
    Del {
        #[command(flatten)]
        db: DbPath,
        /// The policy name.
        name: String,
    },
    /// List the policies with their settings (only NAME when given).
    List {
        #[command(flatten)]
        db: DbPath,
        /// The policy name.
        name: Option<String>,
    },
}

/// The settings of a policy (0: no limit, as in kadmin).
#[derive(Args, Clone, Debug)]
pub struct PolicySettings {
    /// Failed pre-authentications that lock the principal out (0: never).
    #[arg(long)]
    pub max_failures: Option<u32>,
    /// Failures further apart than this start the count again (e.g. 10m; 0: never).
    #[arg(long)]
    pub failure_interval: Option<String>,
    /// How long a lockout lasts (e.g. 1h; 0: until `ktix db mod --unlock`).
    #[arg(long)]
    pub lockout_duration: Option<String>,
    /// Shortest password, in characters.
    #[arg(long)]
    pub min_length: Option<u32>,
    /// Fewest character classes in a password (lower, upper, digits, punctuation, other), 1-5.
    #[arg(long)]
    pub min_classes: Option<u32>,
}

/// An on/off setting.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

impl Switch {
    /// True for `on`.
    pub fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

/// `ktix kdc …`
#[derive(Subcommand, Debug)]
pub enum KdcCommand {
    /// Serve the realm over UDP and TCP.
    Serve {
        #[command(flatten)]
        db: DbPath,
        /// Address to listen on (UDP and TCP); repeatable. Default: the kdc.conf's addresses
        /// with --config, else 127.0.0.1:8888.
        #[arg(long = "listen")]
        listen: Vec<String>,
        /// An MIT kdc.conf: the realm policy (max_life, max_renewable_life, supported_enctypes),
        /// kdc_max_dgram_reply_size (the largest UDP reply, default 4096), [logging] kdc =
        /// FILE:/path | SYSLOG[:severity[:facility]] | STDERR (where the request lines go; SIGHUP
        /// reopens a file) and, without --listen, the addresses (kdc_listen/kdc_ports and the TCP
        /// ones; each address is served over both UDP and TCP).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Worker threads, and the most requests (UDP and TCP) processed at once (default: the
        /// number of cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Also serve the change-password protocol (RFC 3244, for `kpasswd`) over UDP and TCP on
        /// ADDR; repeatable. A host without a port means port 464; `--kpasswd` alone, port 464 on
        /// each KDC address's host. Name specific addresses, not a wildcard.
        #[arg(long = "kpasswd", value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
        kpasswd: Vec<String>,
        /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9188; port 0 picks
        /// one, printed at start): requests by exchange and result, latency, TCP connections,
        /// dropped datagrams, store lookups and cache hits, lockouts.
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
    },
}

/// `ktix kinit`
#[derive(Args, Debug)]
pub struct KinitArgs {
    /// Use a key from a keytab instead of a password.
    #[arg(short = 'k')]
    pub use_keytab: bool,
    /// The keytab (implies -k, as with MIT's kinit); with -k alone $KRB5_KTNAME or /etc/krb5.keytab.
    #[arg(short = 't')]
    pub keytab: Option<String>,
    /// The credential cache; default $KRB5CCNAME or FILE:/tmp/krb5cc_<uid>.
    #[arg(short = 'c')]
    pub ccache: Option<String>,
    /// Requested lifetime (e.g. 10h, 30m, 1d, or seconds).
    #[arg(short = 'l')]
    pub lifetime: Option<String>,
    /// Requested renewable lifetime.
    #[arg(short = 'r')]
    pub renewable: Option<String>,
    /// Renew the TGT in the cache instead of logging in.
    #[arg(short = 'R')]
    pub renew: bool,
    /// The principal (default: the cache's, with -R; required otherwise).
    pub principal: Option<String>,
}

/// `ktix klist`
#[derive(Args, Debug)]
pub struct KlistArgs {
    /// The credential cache to list.
    #[arg(short = 'c', conflicts_with = "keytab_mode")]
    pub ccache: Option<String>,
    /// List a keytab instead (the name may follow).
    #[arg(short = 'k')]
    pub keytab_mode: bool,
    /// Show enctypes.
    #[arg(short = 'e')]
    pub enctypes: bool,
    /// Show key bytes (keytab only; hidden by default).
    #[arg(short = 'K')]
    pub keys: bool,
    /// Show timestamps (keytab).
    #[arg(short = 't')]
    pub timestamps: bool,
    /// Show flags.
    #[arg(short = 'f')]
    pub flags: bool,
    /// The cache or keytab name.
    pub name: Option<String>,
}

/// `ktix kvno`
#[derive(Args, Debug)]
pub struct KvnoArgs {
    /// The credential cache.
    #[arg(short = 'c')]
    pub ccache: Option<String>,
    /// Service principal names.
    #[arg(required = true)]
    pub services: Vec<String>,
}

/// `ktix kdestroy`
#[derive(Args, Debug)]
pub struct KdestroyArgs {
    /// The credential cache.
    #[arg(short = 'c')]
    pub ccache: Option<String>,
}

/// Lets a closed pipe end the process quietly, as it ends MIT's tools (`ktix klist | head -1`):
/// Rust starts programs with SIGPIPE ignored, which turns the next write to stdout into a panic.
/// Sockets are unaffected: the standard library writes to them without raising SIGPIPE.
fn default_sigpipe() {
    extern "C" {
        fn signal(signum: std::ffi::c_int, handler: usize) -> usize;
    }
    /// SIGPIPE's number on Linux, the BSDs and macOS; SIG_DFL is 0 on all of them.
    const SIGPIPE: std::ffi::c_int = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: signal(2) from the C library, called before any other thread exists, restoring the
    // default disposition (no Rust handler is involved).
    unsafe { signal(SIGPIPE, SIG_DFL) };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The KDC keeps its own behaviour: it serves until told to stop, whatever its output does.
    if !matches!(cli.command, Command::Kdc(_)) {
        default_sigpipe();
    }
    let result = match cli.command {
        Command::Demo => demo::run(),
        Command::Db(cmd) => db::run(cmd),
        Command::Kdc(cmd) => kdc::run(cmd),
        Command::Kinit(a) => tools::kinit(a),
        Command::Klist(a) => tools::klist(a),
        Command::Kvno(a) => tools::kvno(a),
        Command::Kdestroy(a) => tools::kdestroy(a),
        Command::Kpasswd(a) => tools::kpasswd(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ktix: {e}");
            ExitCode::FAILURE
        }
    }
}
