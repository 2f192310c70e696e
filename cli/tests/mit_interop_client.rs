//! Our client side against MIT krb5's KDC (Debian `krb5-kdc`, a throwaway realm on a loopback
//! port): `ktix kinit/kvno/klist/kdestroy` and the library `Client`, for each enctype 17, 18, 19,
//! 20, with MIT's own `kinit`/`klist`/`kvno` reading what we wrote and writing what we read.
//! The harness (MIT KDC guard, krb5.conf writer, command runner, klist parsers) is in
//! `tests/mit/mod.rs`.

mod mit;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktix::config::Krb5Conf as Conf;
use ktix::{CCache, Client, Network, Principal};

use mit::{
    enctype_name, klist_default_principal, parse_klist, parse_klist_keytab, per_enctype_service, KlistTicket, Krb5Conf,
    Mit, MitKdc, Run, ALICE_PW, KRBTGT, REALM, SERVICE,
};

const ENCTYPES: [i32; 4] = [17, 18, 19, 20];
const SERVICE_FULL: &str = "host/server.ktix.test@KTIX.TEST";
const ALICE: &str = "alice@KTIX.TEST";
/// The realm's max_life (see `MitKdc`).
const HOURS_8: i64 = 8 * 3600;

/// A temporary directory with MIT's KDC in it, plus one service per enctype that has only a key
/// of that enctype (`host/eN.ktix.test`, kvno 1), so that the service tickets, not only the
/// session keys, come in each enctype.
struct Realm {
    // Dropped in this order: the KDC stops before its directory goes.
    kdc: MitKdc,
    dir: tempfile::TempDir,
}

impl Realm {
    fn new() -> Realm {
        mit::require_mit_client();
        let dir = tempfile::tempdir().expect("temporary directory");
        let kdc = MitKdc::start_minimal(&dir.path().join("mit"));
        kdc.add_per_enctype_services(&ENCTYPES, None);
        Realm { dir, kdc }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Commands with a krb5.conf restricted to `enctype` and the cache `cc-TAG-ENCTYPE`.
    fn mit(&self, enctype: i32, tag: &str) -> Mit {
        let conf = self.path(&format!("krb5-{enctype}.conf"));
        if !conf.exists() {
            Krb5Conf::new(self.kdc.addr()).enctypes(&[enctype]).write(&conf);
        }
        Mit::new(&conf, &self.path(&format!("cc-{tag}-{enctype}")))
    }
}

fn full(name: &str) -> String {
    format!("{name}@{REALM}")
}

fn find<'a>(tickets: &'a [KlistTicket], service: &str) -> &'a KlistTicket {
    tickets.iter().find(|t| t.service == service).unwrap_or_else(|| panic!("no ticket for {service} in {tickets:#?}"))
}

fn parsed(run: &Run) -> Vec<KlistTicket> {
    parse_klist(&run.stdout).unwrap_or_else(|e| panic!("cannot parse `{}` output ({e}):\n{}", run.command, run.stdout))
}

/// The services of `tickets`, in order.
fn services(tickets: &[KlistTicket]) -> Vec<&str> {
    tickets.iter().map(|t| t.service.as_str()).collect()
}

/// MIT's `klist -e -f` of the cache: its default principal and tickets.
fn mit_klist(m: &Mit) -> (String, Vec<KlistTicket>) {
    let run = m.run("klist", &["-e", "-f"], "").expect_ok();
    let me = klist_default_principal(&run.stdout).unwrap_or_default().to_string();
    (me, parsed(&run))
}

/// The cache's TGT ticket bytes, read with our library.
fn tgt_ticket(path: &Path) -> Vec<u8> {
    let tgs = Principal::parse(KRBTGT, None).expect("krbtgt name");
    CCache::file(path).get(&tgs).expect("read the cache").expect("a TGT in the cache").ticket
}

/// `ktix kinit` (password on stdin), `ktix kvno`, MIT's `klist` of that cache, `ktix kinit -R`,
/// and `ktix kdestroy`; then `ktix klist` of a cache MIT's `kinit`/`kvno` wrote, against MIT's
/// `klist` of it.
#[test]
fn ktix_tools_with_mit_kdc() {
    let realm = Realm::new();
    for e in ENCTYPES {
        let name = enctype_name(e);
        let svc = per_enctype_service(e);
        let ctx = format!("enctype {e}");

        // ktix kinit + kvno, read by MIT's klist.
        let ours = realm.mit(e, "ours");
        let kinit = ours.ktix(&["kinit", "-r", "1d", "alice"], &format!("{ALICE_PW}\n")).expect_ok();
        assert_eq!(kinit.stdout, "", "{ctx}");
        let kvno = ours.ktix(&["kvno", SERVICE, &svc], "").expect_ok();
        assert_eq!(kvno.stdout, format!("{SERVICE_FULL}: kvno = 2\n{}: kvno = 1\n", full(&svc)), "{ctx}");
        // MIT's kvno prints the same for the same services (from the cache we wrote).
        let mit_kvno = ours.run("kvno", &[SERVICE, &svc], "").expect_ok();
        assert_eq!(mit_kvno.stdout, kvno.stdout, "{ctx}");

        let (me, tickets) = mit_klist(&ours);
        assert_eq!(me, ALICE, "{ctx}");
        assert_eq!(services(&tickets), [KRBTGT, SERVICE_FULL, &full(&svc)], "{ctx}: {tickets:#?}");
        for t in &tickets {
            assert_eq!(t.skey_etype, name, "{ctx}: session key of {}", t.service);
        }
        let tgt = find(&tickets, KRBTGT);
        assert!(tgt.has_flags("FRIA"), "{ctx}: TGT flags {}", tgt.flags);
        assert_eq!(tgt.expires - tgt.start, HOURS_8, "{ctx}: TGT life");
        // kinit asks for renewal until its own now + 1 d; the KDC's start is that now or later
        // (seconds later on a loaded machine); once, on a loaded machine, it was one second
        // before it (86401): both sides round to whole seconds, so allow that second.
        let renew = tgt.renew_until.expect("a renewable TGT") - tgt.start;
        assert!((86400 - 60..=86401).contains(&renew), "{ctx}: renewable life {renew}");
        assert!((tgt.start - mit::unix_now()).abs() < 60, "{ctx}: TGT start {}", tgt.start);
        let st = find(&tickets, &full(&svc));
        assert_eq!(st.ticket_etype, name, "{ctx}: {svc} ticket enctype");
        assert!(st.has_flags("A") && !st.has_flags("I"), "{ctx}: service ticket flags {}", st.flags);
        assert_eq!(st.expires, tgt.expires, "{ctx}: the service ticket ends with the TGT");

        // ktix kinit -R: a new TGT from MIT's KDC (a TGS exchange for krbtgt), still read by MIT.
        let before = tgt_ticket(&ours.ccache);
        let log_mark = realm.kdc.log().len();
        ours.ktix(&["kinit", "-R"], "").expect_ok();
        let after = tgt_ticket(&ours.ccache);
        assert_ne!(before, after, "{ctx}: kinit -R stored no new TGT");
        let renewal = format!("{ALICE} for {KRBTGT}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = realm.kdc.log();
            if log[log_mark..].lines().any(|l| l.contains("TGS_REQ") && l.contains("ISSUE") && l.contains(&renewal)) {
                break;
            }
            assert!(Instant::now() < deadline, "{ctx}: MIT's KDC logged no renewal:\n{}", &log[log_mark..]);
            std::thread::sleep(Duration::from_millis(20));
        }
        let (me, renewed) = mit_klist(&ours);
        assert_eq!(me, ALICE, "{ctx}");
        let rtgt = find(&renewed, KRBTGT);
        assert!(rtgt.start >= tgt.start && rtgt.has_flags("R"), "{ctx}: renewed TGT {rtgt:?}");
        assert_eq!(rtgt.renew_until, tgt.renew_until, "{ctx}: renewal keeps renew-until");
        assert_eq!(rtgt.skey_etype, name, "{ctx}");

        // ktix kdestroy: the file is gone and MIT's klist says so.
        ours.ktix(&["kdestroy"], "").expect_ok();
        assert!(!ours.ccache.exists(), "{ctx}: kdestroy left {}", ours.ccache.display());
        let gone = ours.run("klist", &[], "").expect_failure();
        assert!(gone.error_line().contains("No credentials cache found"), "{ctx}: {}", gone.stderr);

        // MIT's kinit + kvno, read by ktix klist: the same rows as MIT's klist.
        let theirs = realm.mit(e, "mit");
        theirs.kinit_password(&["-r", "1d"], "alice", ALICE_PW).expect_ok();
        theirs.run("kvno", &[SERVICE, &svc], "").expect_ok();
        for opts in [&["-e", "-f"][..], &["-e"], &["-f"], &[]] {
            let mut args = vec!["klist"];
            args.extend_from_slice(opts);
            let ktix = theirs.ktix(&args, "").expect_ok();
            let mit = theirs.run("klist", opts, "").expect_ok();
            assert_eq!(parsed(&ktix), parsed(&mit), "{ctx}: klist {opts:?}");
            assert_eq!(klist_default_principal(&ktix.stdout), Some(ALICE), "{ctx}");
            // The layout too, line for line.
            assert_eq!(ktix.stdout, mit.stdout, "{ctx}: klist {opts:?} layout");
        }
        let rows = parsed(&theirs.ktix(&["klist", "-e"], "").expect_ok());
        assert_eq!(services(&rows), [KRBTGT, SERVICE_FULL, &full(&svc)], "{ctx}");
        assert!(rows.iter().all(|t| t.skey_etype == name), "{ctx}: {rows:#?}");
        assert_eq!(find(&rows, &full(&svc)).ticket_etype, name, "{ctx}");

        // ktix kdestroy of MIT's cache.
        theirs.ktix(&["kdestroy"], "").expect_ok();
        assert!(!theirs.ccache.exists(), "{ctx}");
        theirs.run("klist", &[], "").expect_failure();
    }
}

/// `ktix kinit -k -t` with keytabs MIT's `kadmin.local ktadd` wrote: the service's random keys
/// and alice's password keys; `ktix klist -k -e -t` of them against MIT's.
#[test]
fn ktix_kinit_with_mit_keytab() {
    let realm = Realm::new();
    let alice_kt = realm.path("alice.keytab");
    realm.kdc.kadmin(&format!("ktadd -norandkey -k {} alice\n", alice_kt.display()));
    let server_kt = realm.kdc.server_keytab();

    // The keytab listings first (no KDC involved).
    let m = realm.mit(17, "list");
    for kt in [&server_kt, &alice_kt] {
        let kt = kt.to_str().expect("UTF-8 path");
        for opts in [&["-k", "-e", "-t"][..], &["-k", "-e"], &["-k", "-t"], &["-k"], &["-k", "-e", "-K"]] {
            let mut args = vec!["klist"];
            args.extend_from_slice(opts);
            args.push(kt);
            let ours = m.ktix(&args, "").expect_ok();
            let mut margs = opts.to_vec();
            margs.push(kt);
            let theirs = m.run("klist", &margs, "").expect_ok();
            let rows = parse_klist_keytab(&ours.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", ours.stdout));
            assert_eq!(rows, parse_klist_keytab(&theirs.stdout).expect("MIT's keytab list"), "klist {opts:?} {kt}");
            assert_eq!(rows.len(), 4, "{kt}: {rows:?}");
            // The layout too, line for line.
            assert_eq!(ours.stdout, theirs.stdout, "klist {opts:?} {kt} layout");
        }
    }

    for e in ENCTYPES {
        let ctx = format!("enctype {e}");
        for (who, kt) in [(SERVICE, &server_kt), ("alice", &alice_kt)] {
            let m = realm.mit(e, &format!("kt-{}", who.replace('/', "_")));
            let kt_arg = format!("FILE:{}", kt.display());
            m.ktix(&["kinit", "-k", "-t", &kt_arg, who], "").expect_ok();
            let (me, tickets) = mit_klist(&m);
            assert_eq!(me, full(who), "{ctx}");
            assert_eq!(services(&tickets), [KRBTGT], "{ctx}");
            assert_eq!(tickets[0].skey_etype, enctype_name(e), "{ctx}: {who}");
            assert!(tickets[0].has_flags("IA"), "{ctx}: {who}: flags {}", tickets[0].flags);
            // The TGT works for MIT's kvno too.
            let kvno = m.run("kvno", &[&per_enctype_service(e)], "").expect_ok();
            assert!(kvno.stdout.contains("kvno = 1"), "{ctx}: {}", kvno.stdout);
        }
        // A key the keytab does not have for that enctype: MIT's ktadd of a single-enctype
        // service, asked for with another enctype.
        let other = if e == 17 { 18 } else { 17 };
        let single = realm.path(&format!("single-{other}.keytab"));
        if !single.exists() {
            realm.kdc.kadmin(&format!("ktadd -norandkey -k {} {}\n", single.display(), per_enctype_service(other)));
        }
        let m = realm.mit(e, "kt-missing");
        let kt_arg = format!("FILE:{}", single.display());
        let run = m.ktix(&["kinit", "-k", "-t", &kt_arg, &per_enctype_service(other)], "").expect_failure();
        assert!(run.stderr.starts_with("ktix: "), "{ctx}: {}", run.stderr);
        assert!(!m.ccache.exists(), "{ctx}: a failed kinit -k left a cache");
    }
}

/// The library: a `Client` over a cache MIT's `kinit` wrote gets a service ticket from MIT's
/// KDC and adds it to that cache, keeping MIT's configuration entries; MIT's `klist` lists it and
/// MIT's `kvno --cached-only` uses it.
#[test]
fn client_library_adds_to_mit_cache() {
    let realm = Realm::new();
    for e in ENCTYPES {
        let ctx = format!("enctype {e}");
        let svc = per_enctype_service(e);
        let m = realm.mit(e, "lib");
        m.kinit_password(&[], "alice", ALICE_PW).expect_ok();
        let config_before = m.run("klist", &["-C"], "").expect_ok().stdout;
        assert!(config_before.contains("config: pa_type("), "{ctx}: MIT wrote no config entry:\n{config_before}");

        let text = std::fs::read_to_string(&m.config).expect("read krb5.conf");
        let conf = Conf::parse(&text, &m.config.display().to_string()).expect("parse krb5.conf");
        let transport = Network::new(conf.kdcs_for(REALM)).with_udp_preference_limit(conf.udp_preference_limit);
        let client = Client::new(conf.to_client_config(REALM), Arc::new(transport), CCache::file(&m.ccache));
        assert_eq!(client.logged_in().expect("the cache's principal").to_string(), ALICE, "{ctx}");
        let cred = client.service_ticket(&svc).unwrap_or_else(|err| panic!("{ctx}: service ticket: {err}"));
        assert_eq!(cred.key.enctype().id(), e, "{ctx}");
        assert_eq!(cred.server.to_string(), full(&svc), "{ctx}");
        assert_eq!(client.stats().tgs_requests, 1, "{ctx}");
        assert_eq!(client.stats().as_requests, 0, "{ctx}: the TGT came from MIT's kinit");
        // Asked again: from the cache.
        client.service_ticket(&svc).expect("cached service ticket");
        assert_eq!(client.stats().tgs_requests, 1, "{ctx}");

        let (me, tickets) = mit_klist(&m);
        assert_eq!(me, ALICE, "{ctx}");
        assert_eq!(services(&tickets), [KRBTGT, &full(&svc)], "{ctx}");
        let st = find(&tickets, &full(&svc));
        assert_eq!((st.skey_etype.as_str(), st.ticket_etype.as_str()), (enctype_name(e), enctype_name(e)), "{ctx}");
        assert_eq!(st.start, cred.start().unix(), "{ctx}");
        assert_eq!(st.expires, cred.end_time.unix(), "{ctx}");
        let config_after = m.run("klist", &["-C"], "").expect_ok().stdout;
        let config_lines =
            |s: &str| -> Vec<String> { s.lines().filter(|l| l.starts_with("config: ")).map(str::to_string).collect() };
        assert_eq!(config_lines(&config_after), config_lines(&config_before), "{ctx}: MIT's config entries");

        // MIT uses the ticket we added without asking its KDC.
        let log_len = realm.kdc.log().len();
        let kvno = m.run("kvno", &["--cached-only", &svc], "").expect_ok();
        assert_eq!(kvno.stdout, format!("{}: kvno = 1\n", full(&svc)), "{ctx}");
        assert!(!realm.kdc.log()[log_len..].contains("TGS_REQ"), "{ctx}: MIT's kvno went to the KDC");
    }
}
