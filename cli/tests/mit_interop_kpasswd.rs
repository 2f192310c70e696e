//! The change-password service (RFC 3244, issue 19 point 4) of `ktix kdc serve --kpasswd`, with
//! MIT krb5's own `kpasswd` and with `ktix kpasswd`: the new password logs in with MIT's `kinit`,
//! the old one no longer does, and a password too short for the principal's policy is refused
//! with result code 4 (`KRB5_KPASSWD_SOFTERROR`) and the policy's reason. The harness is in
//! `tests/mit/mod.rs`.

mod mit;

use std::net::SocketAddr;

use mit::{free_port, ktix_ok, show, Krb5Conf, KtixKdc, KtixRealm, Mit, ALICE_PW, SERVICE};

/// A realm with alice (password [`ALICE_PW`]) under the policy `strict` (`--min-length 12`),
/// served with `--kpasswd` on a free port, and MIT commands whose krb5.conf names that port as
/// the realm's `kpasswd_server`.
struct Served {
    kdc: KtixKdc,
    realm: KtixRealm,
    mit: Mit,
    _dir: tempfile::TempDir,
}

fn serve() -> Served {
    mit::require_mit_client();
    let dir = tempfile::tempdir().expect("temporary directory");
    let realm = KtixRealm::init(dir.path());
    realm.add_password("alice", ALICE_PW);
    realm.add_random(SERVICE);
    let db = realm.db_str();
    ktix_ok(&["db", "policy", "add", "strict", "--min-length", "12", "--db", db], "");
    ktix_ok(&["db", "mod", "alice", "--policy", "strict", "--db", db], "");
    let kpasswd: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
    let kp = kpasswd.to_string();
    let kdc = KtixKdc::serve(&realm, &["--kpasswd", &kp], &dir.path().join("kdc.log"));
    assert!(kdc.log().contains(&format!("change-password service (kpasswd) on {kp}")), "{}", kdc.log());
    let conf = dir.path().join("krb5.conf");
    Krb5Conf::new(kdc.addr()).kpasswd_server(kpasswd).write(&conf);
    let mit = Mit::new(&conf, &dir.path().join("cc"));
    Served { kdc, realm, mit, _dir: dir }
}

/// The old password, then the new one twice, as both `kpasswd`s read them.
fn answers(old: &str, new: &str) -> String {
    format!("{old}\n{new}\n{new}\n")
}

/// Checks that `password` logs alice in with MIT's kinit and `old` does not.
fn assert_logs_in(s: &Served, password: &str, old: &str) {
    s.mit.kinit_password(&[], "alice", password).expect_ok();
    s.mit.run("kvno", &[SERVICE], "").expect_ok();
    let run = s.mit.kinit_password(&[], "alice", old).expect_failure();
    assert!(run.error_line().contains("Password incorrect"), "{run:?}");
}

/// Waits for the KDC's KPASSWD line after `mark` and returns it.
fn kpasswd_line(s: &Served, mark: usize) -> String {
    let lines = s.kdc.wait_lines(mark, "a KPASSWD request", |l| l.iter().any(|l| l.exchange == "KPASSWD"));
    lines.iter().find(|l| l.exchange == "KPASSWD").map(|l| l.raw.clone()).unwrap_or_else(|| show(&lines))
}

#[test]
fn mit_kpasswd_changes_a_password_and_the_policy_refuses_a_short_one() {
    let s = serve();
    // Too short for `strict`: MIT's kpasswd prints the soft error's text and fails.
    let mark = s.kdc.mark();
    let run = s.mit.run("kpasswd", &["alice"], &answers(ALICE_PW, "short-pw")).expect_failure();
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("Password change rejected") && said.contains("too short"), "{run:?}");
    let line = kpasswd_line(&s, mark);
    assert!(line.contains("result 4 (password change rejected)"), "{line}");
    assert_logs_in(&s, ALICE_PW, "short-pw");

    // Long enough: changed; the new password logs in, the old one does not.
    let new = "a much longer password";
    let mark = s.kdc.mark();
    let run = s.mit.run("kpasswd", &["alice"], &answers(ALICE_PW, new)).expect_ok();
    assert!(run.stdout.contains("Password changed."), "{run:?}");
    let line = kpasswd_line(&s, mark);
    assert!(line.contains("result=KDC_ERR_NONE") && line.contains("client=alice@KTIX.TEST"), "{line}");
    assert_logs_in(&s, new, ALICE_PW);
    assert!(s.realm.list().contains("alice@KTIX.TEST"));
}

#[test]
fn ktix_kpasswd_changes_a_password_and_the_policy_refuses_a_short_one() {
    let s = serve();
    let run = s.mit.ktix(&["kpasswd", "alice"], &answers(ALICE_PW, "short-pw")).expect_failure();
    assert!(run.stderr.contains("result code 4") && run.stderr.contains("too short"), "{run:?}");
    assert_logs_in(&s, ALICE_PW, "short-pw");
    // A wrong old password gets no change-password ticket.
    let run = s.mit.ktix(&["kpasswd", "alice"], &answers("not-alice-pw", "a much longer password")).expect_failure();
    assert!(run.stderr.contains("Password incorrect"), "{run:?}");

    let new = "a much longer password";
    let run = s.mit.ktix(&["kpasswd", "alice"], &answers(ALICE_PW, new)).expect_ok();
    assert!(run.stdout.contains("Password changed."), "{run:?}");
    assert_logs_in(&s, new, ALICE_PW);
    // Without a principal: the cache's (alice, after the kinit above).
    let third = "a third long password";
    s.mit.ktix(&["kpasswd"], &answers(new, third)).expect_ok();
    assert_logs_in(&s, third, new);
}
