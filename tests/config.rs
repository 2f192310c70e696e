//! krb5.conf / kdc.conf: the profile parser on realistic files (the ones `mit-realm.sh` writes, a
//! Debian-style krb5.conf with includes), syntax errors with their lines, value syntaxes, several
//! files merged, and — where a C compiler and MIT's libkrb5 are installed — the same files read by
//! MIT's own profile library, compared relation by relation.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ktix::config::{
    parse_bool, parse_duration, parse_enctypes, parse_listen_addrs, KdcConf, Krb5Conf, Profile, DEFAULT_KRB5_CONFIG,
};
use ktix::{Enctype, ErrorCode, RealmPolicy};

use Enctype::{
    Aes128CtsHmacSha196 as A128, Aes128CtsHmacSha256128 as A128S2, Aes256CtsHmacSha196 as A256,
    Aes256CtsHmacSha384192 as A256S2,
};

/// Fixture directory, relative to the crate root (where cargo runs integration tests; the Debian
/// fixture's `include` lines rely on it).
const FIX: &str = "tests/fixtures/config";

fn fixture(name: &str) -> PathBuf {
    Path::new(FIX).join(name)
}

fn load(name: &str) -> Profile {
    Profile::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().expect("socket address")).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn mit_realm_krb5_conf() {
    let conf = Krb5Conf::from_profile(&load("mit-realm-krb5.conf")).expect("typed");
    assert_eq!(conf.default_realm.as_deref(), Some("KTIX.TEST"));
    assert_eq!(conf.forwardable, Some(true));
    assert_eq!(conf.kdcs_for("KTIX.TEST"), strings(&["127.0.0.1:18888"]));
    assert!(conf.kdcs_for("OTHER.TEST").is_empty());
    assert_eq!(conf.clockskew, 300);
    assert_eq!(conf.udp_preference_limit, 1465);
    assert_eq!(conf.ticket_lifetime, 86400);
    assert_eq!(conf.renew_lifetime, None);
    let client = conf.to_client_config("KTIX.TEST");
    assert_eq!(client.realm, "KTIX.TEST");
    assert!(client.forwardable);
    assert_eq!(client.enctypes, Enctype::ALL.to_vec());
    assert_eq!(client.ticket_lifetime, 86400);
    assert_eq!(client.renew_lifetime, None);
    assert_eq!(client.clock_skew, 300);
}

#[test]
fn mit_realm_kdc_conf() {
    let profile = load("mit-realm-kdc.conf");
    let kdc = KdcConf::from_profile(&profile, None).expect("typed");
    assert_eq!(kdc.realm.as_deref(), Some("KTIX.TEST"), "the only realm");
    assert_eq!(kdc.udp_listen, addrs(&["0.0.0.0:18888"]));
    assert_eq!(kdc.tcp_listen, addrs(&["0.0.0.0:18888"]));
    assert_eq!(kdc.max_life, Some(8 * 3600));
    assert_eq!(kdc.max_renewable_life, Some(7 * 86400));
    assert_eq!(kdc.supported_enctypes, Some(vec![A256, A128, A256S2, A128S2]));
    assert_eq!(kdc.database_name.as_deref(), Some("/tmp/ktix-mit/principal"));
    assert_eq!(kdc.key_stash_file.as_deref(), Some("/tmp/ktix-mit/stash"));
    assert_eq!(kdc.master_key_type, None);
    let policy = kdc.to_policy();
    assert_eq!(policy.max_life, 8 * 3600);
    assert_eq!(policy.max_renewable_life, 7 * 86400);
    assert_eq!(policy.clock_skew, 300);
    assert_eq!(policy.enctypes, vec![A256, A128, A256S2, A128S2]);
    // Unknown tags stay in the profile.
    assert_eq!(profile.get(&["realms", "KTIX.TEST", "default_principal_flags"]), Some("+preauth"));
    assert_eq!(profile.get(&["logging", "kdc"]), Some("FILE:/tmp/ktix-mit/kdc.log"));

    // Another realm: nothing of KTIX.TEST's, the [kdcdefaults] ports, RealmPolicy's defaults.
    let other = KdcConf::from_profile(&profile, Some("OTHER.TEST")).expect("typed");
    assert_eq!(other.max_life, None);
    assert_eq!(other.udp_listen, addrs(&["0.0.0.0:18888"]));
    let d = RealmPolicy::default();
    let p = other.to_policy();
    assert_eq!(
        (p.max_life, p.max_renewable_life, p.clock_skew, p.enctypes),
        (d.max_life, d.max_renewable_life, 300, d.enctypes)
    );
}

#[test]
fn debian_kdc_conf() {
    let kdc = KdcConf::from_profile(&load("debian-kdc.conf"), Some("EXAMPLE.COM")).expect("typed");
    assert_eq!(kdc.udp_listen, addrs(&["0.0.0.0:750", "0.0.0.0:88"]));
    assert_eq!(kdc.tcp_listen, addrs(&["0.0.0.0:88"]), "MIT's default TCP port");
    assert_eq!(kdc.max_life, Some(10 * 3600));
    assert_eq!(kdc.master_key_type, None, "commented out");
    assert_eq!(kdc.supported_enctypes, None, "commented out");
    // No supported_enctypes: MIT 1.20's default, aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96.
    assert_eq!(kdc.to_policy().enctypes, ktix::kdc::DEFAULT_ENCTYPES.to_vec());
    assert_eq!(kdc.database_name.as_deref(), Some("/var/lib/krb5kdc/principal"));
}

#[test]
fn kdc_conf_listen_and_realm_choice() {
    let text = "[kdcdefaults]\n kdc_ports = 88\n kdc_tcp_ports = 88\n kdc_tcp_listen = \"\"\n\
                [realms]\n A = {\n  kdc_listen = 127.0.0.1:1088 [::1]:1088\n  master_key_type = aes256-cts\n }\n\
                B = {\n  max_life = 1h\n }\n\
                [libdefaults]\n default_realm = B\n clockskew = 1m\n";
    let a = KdcConf::parse(text, "kdc.conf", Some("A")).expect("A");
    assert_eq!(a.udp_listen, addrs(&["127.0.0.1:1088", "[::1]:1088"]));
    assert!(a.tcp_listen.is_empty(), "kdc_tcp_listen = \"\" turns TCP off");
    assert_eq!(a.master_key_type.as_deref(), Some("aes256-cts"));
    assert_eq!(a.clockskew, 60);
    assert_eq!(a.to_policy().clock_skew, 60);
    let b = KdcConf::parse(text, "kdc.conf", None).expect("default realm");
    assert_eq!(b.realm.as_deref(), Some("B"));
    assert_eq!(b.max_life, Some(3600));
    assert_eq!(b.udp_listen, addrs(&["0.0.0.0:88"]));
    // Two realms and no default realm: none chosen.
    let none = KdcConf::parse("[realms]\nA = {\n}\nB = {\n}\n", "kdc.conf", None).expect("parses");
    assert_eq!(none.realm, None);
    assert_eq!(none.udp_listen, addrs(&["0.0.0.0:88"]));
    assert_eq!(none.tcp_listen, addrs(&["0.0.0.0:88"]));

    let e = KdcConf::parse("[realms]\nA = {\n\n max_renewable_life = forever\n}\n", "kdc.conf", Some("A"))
        .expect_err("bad duration");
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
    assert!(e.message().starts_with("kdc.conf:4: realms.A.max_renewable_life: invalid duration"), "{e}");
    let e = KdcConf::parse("[kdcdefaults]\nkdc_ports = 88,kdc.example\n", "kdc.conf", None).expect_err("bad port");
    assert!(e.message().starts_with("kdc.conf:2: kdcdefaults.kdc_ports: invalid listen address"), "{e}");
    let e = KdcConf::parse("[realms]\nA = {\nsupported_enctypes = des3-cbc-sha1:normal\n}\n", "kdc.conf", None)
        .expect_err("no enctype");
    assert!(e.message().starts_with("kdc.conf:3: realms.A.supported_enctypes: no supported"), "{e}");
}

#[test]
fn debian_krb5_conf() {
    let profile = load("debian-krb5.conf");
    assert_eq!(
        profile.section_names(),
        vec!["libdefaults", "realms", "domain_realm", "login", "logging", "capaths", "appdefaults", "plugins"]
    );
    // Quoting and escapes.
    assert_eq!(profile.get(&["libdefaults", "default_ccache_name"]), Some("KEYRING:persistent:%{uid}"));
    assert_eq!(profile.get(&["appdefaults", "kinit", "banner"]), Some("Welcome to \"ATHENA\"\tKerberos\n"));
    assert_eq!(profile.get(&["appdefaults", "pam", "ATHENA.MIT.EDU", "minimum_uid"]), Some("1000"));
    assert_eq!(profile.get(&["capaths", "ATHENA.MIT.EDU", "CSAIL.MIT.EDU"]), Some("."));
    assert_eq!(
        profile.get_all(&["realms", "ATHENA.MIT.EDU", "auth_to_local"]),
        vec![r"RULE:[1:$1@$0](.*@ATHENA\.MIT\.EDU)s/@.*//", "DEFAULT"]
    );
    // Included files: the first default_realm is still the main file's.
    assert_eq!(profile.get_all(&["libdefaults", "default_realm"]), vec!["ATHENA.MIT.EDU", "IGNORED.BY.ORDER"]);
    let finals: Vec<bool> = profile.find(&["realms", "ZONE.MIT.EDU"]).iter().map(|e| e.is_final()).collect();
    assert_eq!(finals, vec![true]);
    let origin = profile.find(&["realms", "INCLUDED.TEST", "kdc"])[0].origin().to_string();
    assert_eq!(origin, "tests/fixtures/config/included.conf:4");

    let conf = Krb5Conf::from_profile(&profile).expect("typed");
    assert_eq!(conf.default_realm.as_deref(), Some("ATHENA.MIT.EDU"));
    assert_eq!(conf.ticket_lifetime, 36000);
    assert_eq!(conf.renew_lifetime, Some(7 * 86400));
    assert_eq!(conf.clockskew, 300);
    assert_eq!(conf.forwardable, Some(true));
    assert_eq!(conf.udp_preference_limit, 1);
    assert_eq!(conf.default_tkt_enctypes, Some(vec![A256]), "des3 and arcfour skipped");
    assert_eq!(conf.default_tgs_enctypes, Some(vec![A256, A128]));
    assert_eq!(conf.permitted_enctypes, Some(vec![A256S2, A256, A128S2]));
    assert_eq!(conf.tgs_enctypes(), vec![A256, A128]);

    let realms: Vec<&str> = conf.realms.keys().map(String::as_str).collect();
    assert_eq!(
        realms,
        vec!["ATHENA.MIT.EDU", "CSAIL.MIT.EDU", "INCLUDED.TEST", "IPV6.TEST", "ZONE.MIT.EDU", "stanford.edu"]
    );
    assert_eq!(
        conf.kdcs_for("ATHENA.MIT.EDU"),
        strings(&["kerberos.mit.edu:88", "kerberos-1.mit.edu:88", "kerberos-2.mit.edu:88", "kerberos-3.mit.edu:88"])
    );
    assert!(conf.kdcs_for("CSAIL.MIT.EDU").is_empty());
    assert_eq!(conf.kdcs_for("INCLUDED.TEST"), strings(&["kdc.included.test:1088"]));
    let v6 = &conf.realms["IPV6.TEST"];
    assert_eq!(v6.kdc, strings(&["[2001:db8::1]:88", "[2001:db8::2]:750", "kdc.ipv6.test:8888"]));
    assert_eq!(v6.master_kdc, strings(&["kdc.ipv6.test:88"]));
    assert_eq!(v6.kpasswd_server, strings(&["kdc.ipv6.test:464"]));
    let athena = &conf.realms["ATHENA.MIT.EDU"];
    assert_eq!(athena.admin_server, strings(&["kerberos.mit.edu:749"]));
    assert_eq!(athena.default_domain.as_deref(), Some("mit.edu"));

    // [domain_realm], with the included and includedir'd entries but not the skipped files'.
    assert_eq!(conf.realm_for_host("kerberos.mit.edu"), Some("ATHENA.MIT.EDU"));
    assert_eq!(conf.realm_for_host("MIT.EDU"), Some("ATHENA.MIT.EDU"));
    assert_eq!(conf.realm_for_host("www.media.mit.edu"), Some("MEDIA-LAB.MIT.EDU"));
    assert_eq!(conf.realm_for_host("a.b.slac.stanford.edu"), Some("SLAC.STANFORD.EDU"));
    assert_eq!(conf.realm_for_host("www.stanford.edu"), Some("stanford.edu"));
    assert_eq!(conf.realm_for_host("stanford.edu"), None, "only .stanford.edu is mapped");
    assert_eq!(conf.realm_for_host("included.test"), Some("INCLUDED.TEST"));
    assert_eq!(conf.realm_for_host("host.included.test"), Some("INCLUDED.TEST"), "MIT tries the parent domain");
    assert_eq!(conf.realm_for_host("x.plain.test"), Some("PLAIN.TEST"));
    assert_eq!(conf.realm_for_host("skipped.test"), None);
    assert_eq!(conf.realm_for_host("hidden.test"), None);
    assert_eq!(conf.realm_for_host("example.org"), None);

    let client = conf.to_client_config("ATHENA.MIT.EDU");
    assert_eq!(client.ticket_lifetime, 36000);
    assert_eq!(client.renew_lifetime, Some(7 * 86400));
    assert_eq!(client.enctypes, vec![A256]);
    assert!(client.forwardable);
}

#[test]
fn later_files_and_finals() {
    let list = format!("{}:{}", fixture("debian-krb5.conf").display(), fixture("later.conf").display());
    let profile = Profile::load_list(&list).expect("list");
    let conf = Krb5Conf::from_profile(&profile).expect("typed");
    assert_eq!(conf.default_realm.as_deref(), Some("ATHENA.MIT.EDU"), "earlier files win");
    assert_eq!(conf.kdcs_for("ZONE.MIT.EDU"), strings(&["casio.mit.edu:88", "seiko.mit.edu:88"]), "final");
    assert_eq!(conf.kdcs_for("ATHENA.MIT.EDU").last().map(String::as_str), Some("later.mit.edu:88"));
    assert_eq!(conf.kdcs_for("LATER.TEST"), strings(&["kdc.later.test:88"]));
    assert_eq!(profile.get(&["libdefaults", "dns_lookup_kdc"]), Some("true"));

    // The same with merge, and missing files in the list are skipped.
    let mut merged = load("debian-krb5.conf");
    merged.merge(load("later.conf"));
    assert_eq!(merged, profile);
    let with_missing = format!("/nonexistent/krb5.conf:{list}:/nonexistent/other.conf");
    assert_eq!(Profile::load_list(&with_missing).expect("missing skipped"), profile);
    let empty = Profile::load_list("/nonexistent/a.conf:/nonexistent/b.conf").expect("all missing");
    assert!(empty.is_empty());
    assert_eq!(Krb5Conf::from_profile(&empty).expect("typed"), Krb5Conf::default());
    assert!(Profile::load_list("").expect("empty list").is_empty());

    // A directory in the list reads its profile files, as includedir does.
    let dir = Profile::load_list(&fixture("krb5.conf.d").display().to_string()).expect("directory");
    assert_eq!(dir.get(&["domain_realm", ".plain.test"]), Some("PLAIN.TEST"));
    assert_eq!(dir.get(&["domain_realm", "skipped.test"]), None);
    assert_eq!(dir.get(&["domain_realm", "hidden.test"]), None);
}

#[test]
fn includes_with_absolute_paths() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::create_dir(d.join("conf.d")).expect("mkdir");
    std::fs::write(d.join("conf.d/b.conf"), "[s]\nv = from-b\n").expect("write");
    std::fs::write(d.join("conf.d/a-1_x"), "[s]\nv = from-a\n").expect("write");
    std::fs::write(d.join("conf.d/c.conf.bak"), "[s]\nv = skipped\n").expect("write");
    std::fs::write(d.join("inc.conf"), "[t]\nw = 1\n").expect("write");
    let main = format!(
        "[s]\nv = first\nsub = {{\ninclude {inc}\nafter = 1\n}}\nincludedir {dir}\nv = last\n",
        inc = d.join("inc.conf").display(),
        dir = d.join("conf.d").display()
    );
    std::fs::write(d.join("main.conf"), &main).expect("write");
    let p = Profile::load(&d.join("main.conf")).expect("loads");
    assert_eq!(p.get_all(&["s", "v"]), vec!["first", "last", "from-a", "from-b"]);
    assert_eq!(p.get(&["s", "sub", "after"]), Some("1"), "the including file goes on where it was");
    assert_eq!(p.get(&["t", "w"]), Some("1"));

    // A missing included file names the including line.
    std::fs::write(d.join("bad.conf"), format!("[s]\n\ninclude {}\n", d.join("nope.conf").display())).expect("write");
    let e = Profile::load(&d.join("bad.conf")).expect_err("missing include");
    assert!(e.message().starts_with(&format!("{}:3: cannot read included file", d.join("bad.conf").display())), "{e}");
    // A syntax error in an included file names that file and where it was included.
    std::fs::write(d.join("broken.conf"), "[s]\n}\n").expect("write");
    std::fs::write(d.join("top.conf"), format!("include {}\n", d.join("broken.conf").display())).expect("write");
    let e = Profile::load(&d.join("top.conf")).expect_err("broken include");
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
    let want = format!("{}:2: '}}' without an open subsection", d.join("broken.conf").display());
    assert!(e.message().starts_with(&want), "{e}");
    assert!(e.message().contains(&format!("(included from {}:1)", d.join("top.conf").display())), "{e}");
    // A file including itself stops at the depth bound instead of looping.
    let selfref = d.join("self.conf");
    std::fs::write(&selfref, format!("[s]\na = 1\ninclude {}\n", selfref.display())).expect("write");
    let e = Profile::load(&selfref).expect_err("include loop");
    assert!(e.message().contains("includes nested deeper"), "{e}");
    // includedir of a missing directory.
    let e = Profile::parse("includedir /nonexistent/krb5.conf.d\n", "x.conf").expect_err("missing dir");
    assert!(e.message().starts_with("x.conf:1: cannot read directory"), "{e}");
    // `include` only counts at the very start of a line.
    let e = Profile::parse("[s]\n  include /etc/x\n", "x.conf").expect_err("indented include");
    assert!(e.message().starts_with("x.conf:2: missing '='"), "{e}");
}

#[test]
fn load_errors_name_the_file() {
    let e = Profile::load(Path::new("/nonexistent/krb5.conf")).expect_err("missing");
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
    assert!(e.message().contains("/nonexistent/krb5.conf"), "{e}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("krb5.conf");
    std::fs::write(&f, "[libdefaults]\n default_realm = X\n[realms]\n X = {\n  kdc = a\n").expect("write");
    let e = Profile::load(&f).expect_err("unterminated");
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
    assert_eq!(
        e.message(),
        format!("{}:4: subsection \"X\" not closed with '}}' before the end of the file", f.display())
    );
    // Also through the list loader (a file that exists but is broken is not skipped).
    let e = Profile::load_list(&f.display().to_string()).expect_err("broken in a list");
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
}

#[test]
fn syntax_errors_with_their_lines() {
    let cases: &[(&str, usize, &str)] = &[
        ("[libdefaults]\n default_realm = X\n[realms]\n X = {\n  kdc = a\n", 4, "subsection \"X\" not closed"),
        ("[realms]\n X = {\n  kdc = a\n }\n}\n", 5, "'}' without an open subsection"),
        ("}\n", 1, "'}' without an open subsection"),
        ("# leading comment\n\ndefault_realm = X\n[libdefaults]\n", 3, "relation outside of any [section]"),
        ("[libdefaults]\n default_realm X\n", 2, "missing '=' in relation"),
        ("[libdefaults]\n\n\n forwardable\n", 4, "missing '=' in relation"),
        ("[libdefaults]\n default realm = X\n", 2, "contains blanks"),
        ("[libdefaults]\n = X\n", 2, "relation without a tag"),
        ("[libdefaults\n", 1, "section header without ']'"),
        ("[libdefaults] # comment\n", 1, "unexpected text after section header"),
        ("[realms]\n X = {\n[libdefaults]\n", 3, "section header inside the subsection opened at line 2"),
        ("[realms]\n X =\n\n {\n }\n", 3, "expected '{'"),
        ("[realms]\n X =\n", 2, "expected '{'"),
        ("[realms]\n X = { kdc = a }\n", 2, "'{' must end the line"),
        ("module /usr/lib/x.so:residual\n", 1, "profile modules are not supported"),
    ];
    for (text, line, what) in cases {
        let e = Profile::parse(text, "krb5.conf").expect_err(text);
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG, "{text}");
        let prefix = format!("krb5.conf:{line}: ");
        assert!(e.message().starts_with(&prefix), "{text:?}: {e}");
        assert!(e.message().contains(what), "{text:?}: {e}");
    }
}

#[test]
fn lenient_where_mit_is() {
    let p = Profile::parse(
        "\n  ; comment\n\t# comment\n[ s ]*\na=1\n\tb\t=\t two words \t\nc = \"q\" junk\nd = \"unterminated\n\
         e* = 5\nsub =\n{ ignored\n x = y\n} ignored too\n",
        "x",
    )
    .expect("parses");
    assert_eq!(p.get(&[" s ", "a"]), Some("1"));
    assert_eq!(p.get(&[" s ", "b"]), Some("two words"));
    assert_eq!(p.get(&[" s ", "c"]), Some("q"));
    assert_eq!(p.get(&[" s ", "d"]), Some("unterminated"));
    assert_eq!(p.get(&[" s ", "e"]), Some("5"));
    assert_eq!(p.get(&[" s ", "sub", "x"]), Some("y"));
    // CRLF line ends.
    let p = Profile::parse("[s]\r\na = 1\r\nb = {\r\n c = 2\r\n}\r\n", "x").expect("crlf");
    assert_eq!(p.get(&["s", "a"]), Some("1"));
    assert_eq!(p.get(&["s", "b", "c"]), Some("2"));
}

#[test]
fn value_syntax_tables() {
    for (text, want) in [
        ("8h 0m 0s", 28800),
        ("10h", 36000),
        ("30m", 1800),
        ("1d", 86400),
        ("7d 0h 0m 0s", 604800),
        ("36000", 36000),
        ("1:30:00", 5400),
        ("2d3h", 183600),
    ] {
        assert_eq!(parse_duration(text).expect(text), want, "{text}");
    }
    for bad in ["", "ten hours", "1h 1d", "1:2:3:4", "3 h"] {
        assert_eq!(parse_duration(bad).expect_err(bad).code(), ErrorCode::KTIX_ERR_CONFIG);
    }
    for (text, want) in [("true", true), ("Yes", true), ("ON", true), ("1", true), ("false", false), ("no", false)] {
        assert_eq!(parse_bool(text).expect(text), want);
    }
    for (text, want) in [("off", false), ("0", false)] {
        assert_eq!(parse_bool(text).expect(text), want);
    }
    assert!(parse_bool("2").is_err());
    let cases: &[(&str, &[Enctype])] = &[
        ("aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal", &[A256, A128]),
        ("des3-cbc-sha1,arcfour-hmac,rc4-hmac,camellia128-cts-cmac,aes128-cts", &[A128]),
        ("DEFAULT", &Enctype::ALL),
        ("aes256-sha2 aes128-sha2", &[A256S2, A128S2]),
    ];
    for (text, want) in cases {
        assert_eq!(parse_enctypes(text).expect(text), *want, "{text}");
    }
    assert!(parse_enctypes("des-cbc-crc des3-cbc-sha1").is_err());
    assert_eq!(parse_listen_addrs("750,88").expect("ports"), addrs(&["0.0.0.0:750", "0.0.0.0:88"]));
}

/// Every test that reads or sets KRB5_CONFIG / KRB5_KDC_PROFILE is here, so none races another.
#[test]
fn default_locations_from_the_environment() {
    let list = format!("/nonexistent.conf:{}", fixture("mit-realm-krb5.conf").display());
    std::env::set_var("KRB5_CONFIG", &list);
    let conf = Krb5Conf::load_default().expect("KRB5_CONFIG");
    assert_eq!(conf.kdcs_for("KTIX.TEST"), strings(&["127.0.0.1:18888"]));

    std::env::set_var("KRB5_KDC_PROFILE", fixture("mit-realm-kdc.conf"));
    let kdc = KdcConf::load_default(None).expect("KRB5_KDC_PROFILE");
    assert_eq!(kdc.realm.as_deref(), Some("KTIX.TEST"), "default_realm of krb5.conf");
    assert_eq!(kdc.max_life, Some(8 * 3600));

    std::env::set_var("KRB5_CONFIG", "/nonexistent/krb5.conf");
    assert_eq!(Krb5Conf::load_default().expect("missing: empty"), Krb5Conf::default());

    std::env::remove_var("KRB5_CONFIG");
    std::env::remove_var("KRB5_KDC_PROFILE");
    // The system file, when there is one, must load (its absence means an empty configuration).
    let system = Krb5Conf::load_default();
    if Path::new(DEFAULT_KRB5_CONFIG).exists() {
        system.expect("the system krb5.conf");
    } else {
        assert_eq!(system.expect("no krb5.conf"), Krb5Conf::default());
    }
}

/// The real configuration files MIT's packages installed on this machine, when there are any.
#[test]
fn system_files_when_present() {
    for path in ["/etc/krb5.conf", "/etc/krb5kdc/kdc.conf"] {
        let path = Path::new(path);
        if !path.exists() {
            eprintln!("{}: absent, skipped", path.display());
            continue;
        }
        let profile = Profile::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Krb5Conf::from_profile(&profile).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        KdcConf::from_profile(&profile, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(mit) = mit_dump(&path.display().to_string()) {
            assert_eq!(dump(&profile), mit, "{}: libktix and MIT read different relations", path.display());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// MIT's profile library as the reference

/// The compiled `mit-profile-dump.c`, or `None` without a C compiler or MIT's headers/library.
fn mit_dumper() -> Option<&'static Path> {
    static DUMPER: OnceLock<Option<PathBuf>> = OnceLock::new();
    DUMPER
        .get_or_init(|| {
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mit-profile-dump");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
            let built = Command::new(cc)
                .arg(fixture("mit-profile-dump.c"))
                .arg("-o")
                .arg(&out)
                .arg("-lkrb5")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !built {
                eprintln!("MIT's profile library not available (cc, libkrb5-dev): comparison skipped");
            }
            built.then_some(out)
        })
        .as_deref()
}

type Dump = BTreeMap<String, Vec<String>>;

/// What MIT reads from a `KRB5_CONFIG`-style list, grouped by path; `None` when unavailable.
fn mit_dump(list: &str) -> Option<Dump> {
    let out = Command::new(mit_dumper()?).arg(list).output().expect("run mit-profile-dump");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.starts_with('!'), "MIT refused {list}: {text}");
    let mut dump = Dump::new();
    for line in text.lines() {
        let (path, value) = line.split_once('=').expect("path=value");
        dump.entry(path.to_string()).or_default().push(value.to_string());
    }
    Some(dump)
}

/// The same listing from libktix's profile.
fn dump(profile: &Profile) -> Dump {
    fn escape(s: &str) -> String {
        s.replace('\\', "\\\\").replace('\n', "\\n")
    }
    fn walk(profile: &Profile, path: &mut Vec<String>, out: &mut Dump) {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        for name in profile.names(&refs) {
            let mut full = refs.clone();
            full.push(name);
            let values = profile.get_all(&full);
            if !values.is_empty() {
                let key = full.iter().map(|s| escape(s)).collect::<Vec<_>>().join("\u{1f}");
                out.insert(key, values.iter().map(|v| escape(v)).collect());
            }
        }
        for name in profile.subsection_names(&refs).into_iter().map(str::to_string).collect::<Vec<_>>() {
            path.push(name);
            walk(profile, path, out);
            path.pop();
        }
    }
    let mut out = Dump::new();
    for section in profile.section_names() {
        walk(profile, &mut vec![section.to_string()], &mut out);
    }
    out
}

#[test]
fn same_relations_as_mit() {
    let lists = [
        vec!["mit-realm-krb5.conf"],
        vec!["mit-realm-kdc.conf"],
        vec!["debian-kdc.conf"],
        vec!["debian-krb5.conf"],
        vec!["debian-krb5.conf", "later.conf"],
        vec!["later.conf", "debian-krb5.conf"],
        vec!["mit-realm-kdc.conf", "mit-realm-krb5.conf"],
        vec!["krb5.conf.d"],
    ];
    for files in lists {
        let list = files.iter().map(|f| fixture(f).display().to_string()).collect::<Vec<_>>().join(":");
        let Some(mit) = mit_dump(&list) else { return };
        let ours = dump(&Profile::load_list(&list).expect("loads"));
        assert!(!ours.is_empty());
        assert_eq!(ours, mit, "{list}");
    }
    // Quoting, blanks and finals, written to a file for MIT.
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a.conf");
    let b = tmp.path().join("b.conf");
    std::fs::write(
        &a,
        "[s]*\nq = \"a\\tb\\\\c\\\"d\\qe\" tail\nraw = x\\ny \nstar = v*\nfin* = 1\nsub =\n{\n x = 1\n}*\n\
         [t]\nk = 1\nsub = {\n in = {\n  deep = 1\n }\n}\n[t]\nk = 2\n",
    )
    .expect("write");
    std::fs::write(&b, "[s]\nq = later\n[t]\nk = 3\nfin = 2\nsub = {\n in = {\n  deep = 2\n }*\n}\n").expect("write");
    for list in [
        a.display().to_string(),
        format!("{}:{}", a.display(), b.display()),
        format!("{}:{}", b.display(), a.display()),
    ] {
        let Some(mit) = mit_dump(&list) else { return };
        assert_eq!(dump(&Profile::load_list(&list).expect("loads")), mit, "{list}");
    }
}

/// Cut or damaged files give a result or an error, never a panic.
#[test]
fn damaged_files_never_panic() {
    let text = std::fs::read_to_string(fixture("debian-krb5.conf")).expect("fixture");
    for (cut, _) in text.char_indices().step_by(7) {
        let _ = Profile::parse(&text[..cut], "cut.conf").and_then(|p| Krb5Conf::from_profile(&p));
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let damaged: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
        let _ = Profile::parse(&damaged.join("\n"), "damaged.conf").and_then(|p| Krb5Conf::from_profile(&p));
    }
    for junk in
        ["[", "]", "{", "}*", "=", "\"", "\\", "*", "a=\"\\", "[]*", "x =\n{", "\u{0}", "é = ü", "[s]\né=\"ü\\é"]
    {
        let _ = Profile::parse(junk, "junk.conf");
        let _ = parse_duration(junk);
        let _ = parse_enctypes(junk);
        let _ = parse_listen_addrs(junk);
        let _ = parse_bool(junk);
    }
}

#[test]
fn tkt_and_tgs_enctypes_go_to_their_own_exchanges() {
    let conf = Krb5Conf::parse(
        "[libdefaults]\n default_realm = R\n default_tkt_enctypes = aes256-cts-hmac-sha1-96\n default_tgs_enctypes = aes128-cts-hmac-sha1-96\n",
        "inline",
    )
    .expect("parse");
    let client = conf.to_client_config("R");
    assert_eq!(client.enctypes, vec![ktix::Enctype::Aes256CtsHmacSha196]);
    assert_eq!(client.tgs_enctypes, vec![ktix::Enctype::Aes128CtsHmacSha196]);
}
