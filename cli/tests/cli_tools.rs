//! `ktix kinit/klist/kvno/kdestroy` against our own `ktix kdc serve` (the harness in
//! `tests/mit/mod.rs` starts it on a free loopback port): the round trip and MIT's layouts, keytab
//! listings, and the errors a user meets (wrong password, unknown principal, no cache, a corrupt
//! cache, a broken krb5.conf) with their exit status and the files left as they were. Where MIT's
//! `klist` is installed (Debian `krb5-user`, as in CI) it is the reference for the layout.

mod mit;

use std::os::unix::fs::PermissionsExt;

use mit::ServedRealm;
use mit::{
    klist_default_principal, parse_klist, parse_klist_keytab, require_mit_client, unix_now, KlistTicket, Krb5Conf, Mit,
    Run, ALICE_PW, KRBTGT, SERVICE,
};

const SERVICE_FULL: &str = "host/server.ktix.test@KTIX.TEST";
const ALICE: &str = "alice@KTIX.TEST";
const ENCTYPE_NAMES: [&str; 4] =
    ["aes128-cts-hmac-sha1-96", "aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha256-128", "aes256-cts-hmac-sha384-192"];

/// The served realm ([`ServedRealm`]) and our CLI against it.
struct Setup(ServedRealm);

impl std::ops::Deref for Setup {
    type Target = ServedRealm;
    fn deref(&self) -> &ServedRealm {
        &self.0
    }
}

impl std::ops::DerefMut for Setup {
    fn deref_mut(&mut self) -> &mut ServedRealm {
        &mut self.0
    }
}

impl Setup {
    fn new() -> Setup {
        Setup(ServedRealm::start())
    }

    fn env(&self, cache: &str) -> Mit {
        let conf = self.path("krb5.conf");
        if !conf.exists() {
            Krb5Conf::new(self.kdc.addr()).write(&conf);
        }
        Mit::new(&conf, &self.path(cache))
    }
}

/// MIT's klist is there (it is in CI; elsewhere the layout is checked by shape only).
fn have_mit_klist() -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join("klist").is_file()))
        .unwrap_or(false)
}

fn parsed(run: &Run) -> Vec<KlistTicket> {
    parse_klist(&run.stdout).unwrap_or_else(|e| panic!("cannot parse `{}` output ({e}):\n{}", run.command, run.stdout))
}

/// `MM/DD/YY HH:MM:SS`.
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'/',
            8 => *c == b' ',
            11 | 14 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Fails unless `run` failed with exit status 1 and its error line contains `needle`.
fn expect_error(run: Run, needle: &str) -> Run {
    assert_eq!(run.code, Some(1), "`{}` should exit 1:\n{}{}", run.command, run.stdout, run.stderr);
    assert!(run.error_line().contains(needle), "`{}`: {:?} lacks {needle:?}", run.command, run.error_line());
    run
}

#[test]
fn kinit_klist_kvno_kdestroy_round_trip() {
    let s = Setup::new();
    let m = s.env("cc");
    let kinit = m.ktix(&["kinit", "-r", "1d", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    assert_eq!(kinit.stdout, "");
    let mode = std::fs::metadata(&m.ccache).expect("the cache file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "cache mode {mode:o}");
    let kvno = m.ktix(&["kvno", SERVICE], "").expect_ok();
    assert_eq!(kvno.stdout, format!("{SERVICE_FULL}: kvno = 1\n"));

    // klist -e -f: MIT's layout, line by line.
    let list = m.ktix(&["klist", "-e", "-f"], "").expect_ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 4 + 2 * 3, "{}", list.stdout);
    assert_eq!(lines[0], format!("Ticket cache: FILE:{}", m.ccache.display()));
    assert_eq!(lines[1], format!("Default principal: {ALICE}"));
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "Valid starting     Expires            Service principal");
    for (i, service) in [KRBTGT, SERVICE_FULL].into_iter().enumerate() {
        let ticket = lines[4 + 3 * i];
        assert!(is_time(&ticket[..17]) && &ticket[17..19] == "  " && is_time(&ticket[19..36]), "{ticket:?}");
        assert_eq!(&ticket[36..], format!("  {service}"));
        let renew = lines[5 + 3 * i];
        assert!(renew.starts_with("\trenew until ") && is_time(&renew[13..30]), "{renew:?}");
        assert!(renew[30..].starts_with(", Flags: "), "{renew:?}");
        let etype = lines[6 + 3 * i];
        assert!(etype.starts_with("\tEtype (skey, tkt): ") && etype.ends_with(' '), "{etype:?}");
    }
    let tickets = parsed(&list);
    assert_eq!(tickets[0].flags, "FRIA");
    assert!(tickets[1].has_flags("FRAT") && !tickets[1].has_flags("I"), "{}", tickets[1].flags);
    assert_eq!(tickets[0].expires - tickets[0].start, 8 * 3600, "max_life");
    // kinit asks for renewal until its own now + 1 d; the KDC's start is that now or later
    // (seconds later on a loaded machine).
    let renew = tickets[0].renew_until.expect("a renewable TGT") - tickets[0].start;
    assert!((86400 - 60..=86400).contains(&renew), "renewable life {renew}");
    assert!((tickets[0].start - unix_now()).abs() < 60);
    for t in &tickets {
        assert!(ENCTYPE_NAMES.contains(&t.skey_etype.as_str()), "{t:?}");
        assert!(ENCTYPE_NAMES.contains(&t.ticket_etype.as_str()), "{t:?}");
    }
    // Without -f and -e: the ticket lines and renew-until only.
    let plain = m.ktix(&["klist"], "").expect_ok();
    assert_eq!(plain.stdout.lines().count(), 4 + 2 * 2, "{}", plain.stdout);
    assert!(!plain.stdout.contains("Flags") && !plain.stdout.contains("Etype"));
    // The same cache named with -c, and as an argument.
    let cc = format!("FILE:{}", m.ccache.display());
    assert_eq!(m.ktix(&["klist", "-e", "-f", "-c", &cc], "").expect_ok().stdout, list.stdout);
    let path = m.ccache.to_str().expect("UTF-8 path");
    assert_eq!(
        m.ktix(&["klist", "-e", "-f", path], "").expect_ok().stdout.lines().skip(1).collect::<Vec<_>>(),
        lines[1..]
    );
    if have_mit_klist() {
        for opts in [&["-e", "-f"][..], &["-e"], &["-f"], &[]] {
            let mut args = vec!["klist"];
            args.extend_from_slice(opts);
            let ours = m.ktix(&args, "").expect_ok();
            let theirs = m.run("klist", opts, "").expect_ok();
            assert_eq!(ours.stdout, theirs.stdout, "klist {opts:?}: ours, then MIT's");
        }
    }

    // kdestroy: the file and its lock go; klist then finds nothing.
    m.ktix(&["kdestroy"], "").expect_ok();
    assert!(!m.ccache.exists());
    let dir_entries: Vec<_> = std::fs::read_dir(s.dir.path())
        .expect("list the directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cc"))
        .collect();
    assert!(dir_entries.is_empty(), "left behind: {dir_entries:?}");
    expect_error(m.ktix(&["klist"], ""), &format!("No credentials cache found (filename: {})", m.ccache.display()));
    // kdestroy again: as MIT's, said but not a failure.
    let again = m.ktix(&["kdestroy"], "").expect_ok();
    assert!(again.stderr.contains("No credentials cache found while destroying cache"), "{}", again.stderr);

    // -c for every tool; -l for the lifetime; the default cache stays untouched.
    let other = s.path("other-cc");
    let other_name = format!("FILE:{}", other.display());
    m.ktix(&["kinit", "-l", "1h", "-c", &other_name, "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    m.ktix(&["kvno", "-c", &other_name, SERVICE], "").expect_ok();
    let t = parsed(&m.ktix(&["klist", "-c", &other_name], "").expect_ok());
    assert_eq!(t.iter().map(|t| t.service.as_str()).collect::<Vec<_>>(), [KRBTGT, SERVICE_FULL]);
    let life = t[0].expires - t[0].start;
    assert!((3600 - 60..=3600).contains(&life), "-l 1h: {life}");
    assert!(t[0].renew_until.is_none(), "no -r, no renewable life");
    assert!(!m.ccache.exists(), "the default cache was created");
    m.ktix(&["kdestroy", "-c", &other_name], "").expect_ok();
    assert!(!other.exists());
}

#[test]
fn klist_of_keytabs_and_kinit_with_them() {
    let s = Setup::new();
    let kt = s.path("server.keytab");
    s.realm.ktadd(SERVICE, &kt, false);
    let m = s.env("cc");
    let kt_arg = kt.to_str().expect("UTF-8 path");

    let out = m.ktix(&["klist", "-k", "-e", "-t", kt_arg], "").expect_ok();
    assert_eq!(out.stdout.lines().next(), Some(format!("Keytab name: FILE:{kt_arg}").as_str()));
    assert_eq!(out.stdout.lines().nth(1), Some("KVNO Timestamp         Principal"));
    let rows = parse_klist_keytab(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", out.stdout));
    assert!(!rows.is_empty(), "{}", out.stdout);
    for r in &rows {
        assert_eq!((r.kvno, r.principal.as_str()), (1, SERVICE_FULL), "{r:?}");
        assert!(ENCTYPE_NAMES.contains(&r.enctype.as_str()), "{r:?}");
        assert!((r.timestamp.expect("-t shows timestamps") - unix_now()).abs() < 60, "{r:?}");
    }
    // Keys only with -K.
    assert!(!out.stdout.contains("(0x"));
    let keys = m.ktix(&["klist", "-k", "-K", kt_arg], "").expect_ok();
    assert!(keys.stdout.lines().skip(3).all(|l| l.contains(" (0x")), "{}", keys.stdout);
    // The default keytab from KRB5_KTNAME.
    let mut cmd = m.command(env!("CARGO_BIN_EXE_ktix"), &["klist", "-k", "-e", "-t"]);
    cmd.env("KRB5_KTNAME", format!("FILE:{kt_arg}"));
    let by_env =
        Run::from_output("ktix klist -k (KRB5_KTNAME)".into(), &mit::run_with_limit(&mut cmd, "", mit::COMMAND_LIMIT));
    assert_eq!(by_env.expect_ok().stdout, out.stdout);
    if have_mit_klist() {
        for opts in [&["-k", "-e", "-t"][..], &["-k", "-e"], &["-k"], &["-k", "-e", "-K"]] {
            let mut ours = vec!["klist"];
            ours.extend_from_slice(opts);
            ours.push(kt_arg);
            let mut theirs = opts.to_vec();
            theirs.push(kt_arg);
            assert_eq!(
                m.ktix(&ours, "").expect_ok().stdout,
                m.run("klist", &theirs, "").expect_ok().stdout,
                "{opts:?}"
            );
        }
    }

    // kinit -k -t with it.
    m.ktix(&["kinit", "-k", "-t", &format!("FILE:{kt_arg}"), SERVICE], "").expect_ok();
    let list = m.ktix(&["klist"], "").expect_ok();
    assert_eq!(klist_default_principal(&list.stdout), Some(SERVICE_FULL));
    assert_eq!(parsed(&list).iter().map(|t| t.service.as_str()).collect::<Vec<_>>(), [KRBTGT]);
    // -t alone forces -k, as MIT's kinit does (and says so); no password is read.
    m.ktix(&["kdestroy"], "").expect_ok();
    let forced = m.ktix(&["kinit", "-t", kt_arg, SERVICE], "").expect_ok();
    assert!(forced.stderr.contains("keytab specified, forcing -k"), "{}", forced.stderr);
    assert_eq!(klist_default_principal(&m.ktix(&["klist"], "").expect_ok().stdout), Some(SERVICE_FULL));

    // A keytab that is not one: a clear error naming it.
    let junk = s.path("junk.keytab");
    std::fs::write(&junk, b"\x05\x01not a keytab").expect("write");
    let junk_arg = junk.to_str().expect("UTF-8 path");
    let run = expect_error(m.ktix(&["klist", "-k", junk_arg], ""), junk_arg);
    assert!(run.stdout.is_empty() || !run.stdout.contains("(0x"), "{}", run.stdout);
    expect_error(m.ktix(&["klist", "-k", s.path("missing.keytab").to_str().expect("UTF-8")], ""), "missing.keytab");
}

#[test]
fn errors_users_meet() {
    let s = Setup::new();
    let m = s.env("cc");
    let pw = format!("{ALICE_PW}\n");

    // No cache yet: klist and kvno say so.
    let none = format!("No credentials cache found (filename: {})", m.ccache.display());
    expect_error(m.ktix(&["klist"], ""), &none);
    expect_error(m.ktix(&["kvno", SERVICE], ""), &none);
    assert!(!m.ccache.exists(), "klist or kvno created the cache");

    // A wrong password and an unknown principal: MIT's messages, no cache made.
    expect_error(m.ktix(&["kinit", "alice"], "wrong-pw\n"), "Password incorrect while getting initial credentials");
    assert!(!m.ccache.exists());
    expect_error(
        m.ktix(&["kinit", "bob"], "pw\n"),
        "Client 'bob@KTIX.TEST' not found in Kerberos database while getting initial credentials",
    );
    assert!(!m.ccache.exists());
    expect_error(m.ktix(&["kinit", "alice"], ""), "no password");
    assert!(!m.ccache.exists());

    // With a cache (not renewable: the 1 h asked for are granted, so RENEWABLE-OK adds nothing):
    // a failed kinit leaves it as it was.
    m.ktix(&["kinit", "-l", "1h", "alice"], &pw).expect_ok();
    m.ktix(&["kvno", SERVICE], "").expect_ok();
    let before = std::fs::read(&m.ccache).expect("read the cache");
    expect_error(m.ktix(&["kinit", "alice"], "wrong-pw\n"), "Password incorrect");
    assert_eq!(std::fs::read(&m.ccache).expect("read"), before, "a failed kinit changed the cache");

    // kvno of an unknown service: exit 1, the service named; the others still printed.
    let run = m.ktix(&["kvno", "nosuch/x.ktix.test", SERVICE], "");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("KDC_ERR_S_PRINCIPAL_UNKNOWN")
            && run.stderr.contains("while getting credentials for nosuch/x.ktix.test@KTIX.TEST"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, format!("{SERVICE_FULL}: kvno = 1\n"));
    // kinit -R of a ticket that is not renewable.
    let run = m.ktix(&["kinit", "-R"], "");
    assert_eq!(run.code, Some(1), "renewing a non-renewable TGT: {}{}", run.stdout, run.stderr);
    assert!(run.error_line().contains("while renewing credentials"), "{}", run.stderr);
}

/// A cache cut short before its tickets or not a cache at all: klist, kvno and kinit -R report it naming the file,
/// exit 1, and leave the file byte for byte; kinit (a new login) replaces it, as MIT's does.
#[test]
fn corrupt_ccache_is_reported_and_left_alone() {
    let s = Setup::new();
    let m = s.env("cc");
    m.ktix(&["kinit", "-r", "1d", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    m.ktix(&["kvno", SERVICE], "").expect_ok();
    let good = std::fs::read(&m.ccache).expect("read the cache");
    let path = m.ccache.display().to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut in the header", good[..3].to_vec()),
        ("cut in the principal", good[..20].to_vec()),
        ("a foreign version", [&[0x05, 0x09][..], &good[2..]].concat()),
        ("not a cache", b"this is not a credential cache\n".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&m.ccache, &bytes).expect("write the damaged cache");
        for args in [&["klist"][..], &["klist", "-e", "-f"], &["kvno", SERVICE], &["kinit", "-R"]] {
            let run = m.ktix(args, "");
            assert_eq!(run.code, Some(1), "{what}: `{}` should fail:\n{}{}", run.command, run.stdout, run.stderr);
            assert!(run.error_line().contains(&path), "{what}: `{}`: {}", run.command, run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{what}: one error line: {}", run.stderr);
            assert!(!run.stdout.contains("Valid starting"), "{what}: listed anyway:\n{}", run.stdout);
            assert_eq!(std::fs::read(&m.ccache).expect("read"), bytes, "{what}: `{}` changed the file", run.command);
        }
    }
    // A last ticket cut short (a writer died while appending it) is dropped, as MIT's klist does:
    // the TGT is listed, and kvno fetches the service ticket again, writing over the torn one.
    std::fs::write(&m.ccache, &good[..good.len() - 7]).expect("write the torn cache");
    let list = m.ktix(&["klist"], "").expect_ok();
    let services: Vec<String> = parsed(&list).into_iter().map(|t| t.service).collect();
    assert_eq!(services, [KRBTGT], "{}", list.stdout);
    m.ktix(&["kvno", SERVICE], "").expect_ok();
    assert_eq!(parsed(&m.ktix(&["klist"], "").expect_ok()).len(), 2);
    assert_eq!(std::fs::metadata(&m.ccache).expect("stat").len(), good.len() as u64);
    // A new login replaces whatever was there.
    m.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    assert_eq!(klist_default_principal(&m.ktix(&["klist"], "").expect_ok().stdout), Some(ALICE));
    // kdestroy removes a damaged cache too.
    std::fs::write(&m.ccache, &good[..good.len() / 2]).expect("write");
    m.ktix(&["kdestroy"], "").expect_ok();
    assert!(!m.ccache.exists());
}

/// A krb5.conf that does not parse: the error names the file and the line.
#[test]
fn broken_krb5_conf_names_file_and_line() {
    let s = Setup::new();
    let good = s.env("cc");
    good.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
    let cases = [
        ("no-equals.conf", "[libdefaults]\n  default_realm = KTIX.TEST\n  this is not a relation\n", 3),
        ("open-section.conf", "# comment\n[libdefaults\n  default_realm = KTIX.TEST\n", 2),
        ("bad-value.conf", "[libdefaults]\n  default_realm = KTIX.TEST\n\n  ticket_lifetime = forever\n", 4),
        ("bad-enctype.conf", "[libdefaults]\n  permitted_enctypes = rot13\n", 2),
    ];
    for (name, text, line) in cases {
        let conf = s.path(name);
        std::fs::write(&conf, text).expect("write krb5.conf");
        let m = Mit::new(&conf, &good.ccache);
        let at = format!("{}:{line}", conf.display());
        expect_error(m.ktix(&["kinit", "alice"], &format!("{ALICE_PW}\n")), &at);
        expect_error(m.ktix(&["kvno", SERVICE], ""), &at);
        // KRB5_CONFIG as a list: the broken file is named wherever it is in it.
        let list = format!("{}:{}", good.config.display(), conf.display());
        let mut cmd = m.command(env!("CARGO_BIN_EXE_ktix"), &["kvno", SERVICE]);
        cmd.env("KRB5_CONFIG", &list);
        let run = Run::from_output("ktix kvno (list)".into(), &mit::run_with_limit(&mut cmd, "", mit::COMMAND_LIMIT));
        expect_error(run, &at);
    }
    // The cache survived all that.
    assert_eq!(parsed(&good.ktix(&["klist"], "").expect_ok()).len(), 1);
}

/// MIT's `kvno` and `ktix kvno` add tickets to one FILE cache at the same time, in loops, each run
/// for a service of its own: as both lock the cache file with `fcntl` and append in place, no
/// ticket is lost — MIT's `klist` lists every one at the end.
#[test]
fn mit_kvno_and_ktix_kvno_in_parallel_on_one_cache_lose_nothing() {
    require_mit_client();
    const ROUNDS: usize = 20;
    let s = Setup::new();
    for i in 0..ROUNDS {
        s.realm.add_random(&format!("host/mit-{i}.ktix.test"));
        s.realm.add_random(&format!("host/ktix-{i}.ktix.test"));
    }
    let m = s.env("cc");
    m.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        let mit = scope.spawn(|| {
            start.wait();
            for i in 0..ROUNDS {
                m.run("kvno", &[&format!("host/mit-{i}.ktix.test")], "").expect_ok();
            }
        });
        start.wait();
        for i in 0..ROUNDS {
            m.ktix(&["kvno", &format!("host/ktix-{i}.ktix.test")], "").expect_ok();
        }
        mit.join().unwrap();
    });
    let services: Vec<String> = m.klist().into_iter().map(|t| t.service).collect();
    assert_eq!(services.len(), 1 + 2 * ROUNDS, "{services:#?}");
    assert!(services.contains(&KRBTGT.to_string()), "{services:#?}");
    for i in 0..ROUNDS {
        for who in ["mit", "ktix"] {
            let service = format!("host/{who}-{i}.ktix.test@KTIX.TEST");
            assert!(services.contains(&service), "{service} lost: {services:#?}");
        }
    }
    // And ktix reads the same.
    let ours = parsed(&m.ktix(&["klist"], "").expect_ok());
    assert_eq!(ours.len(), 1 + 2 * ROUNDS);
}
