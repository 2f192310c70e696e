//! Issue 13 with MIT krb5's own `kinit`, `kvno` and `klist` against the built `ktix kdc serve`:
//! the session-key enctype of a service with only aes128 keys, a TGT kept alive across a krbtgt
//! rotation with `ktix db cpw --keepold` (and refused after `ktix db purgekeys`), a client
//! revoked after it got its TGT, and a lockout policy. The harness is in `tests/mit/mod.rs`.

mod mit;

use mit::{ktix_ok, Krb5Conf, Mit, ServedRealm, ALICE_PW, KRBTGT, SERVICE};

/// MIT commands with their own cache, the client listing `enctypes` (MIT's defaults when `None`).
fn mit(s: &ServedRealm, tag: &str, enctypes: Option<&[i32]>) -> Mit {
    let conf = s.path(&format!("krb5-{tag}.conf"));
    let mut c = Krb5Conf::new(s.kdc.addr());
    if let Some(e) = enctypes {
        c = c.enctypes(e);
    }
    c.write(&conf);
    Mit::new(&conf, &s.path(&format!("cc-{tag}")))
}

fn db(s: &ServedRealm, args: &[&str], stdin: &str) -> String {
    let mut all = vec!["db"];
    all.extend_from_slice(args);
    all.extend(["--db", s.realm.db_str()]);
    ktix_ok(&all, stdin)
}

#[test]
fn a_service_with_only_aes128_keys_gets_aes128_session_keys() {
    mit::require_mit_client();
    let s = ServedRealm::start();
    let svc = "HTTP/aes128.ktix.test";
    db(&s, &["add", "--random", "--enctypes", "aes128-cts-hmac-sha1-96", svc], "");
    // The client lists SHA-2 first.
    let m = mit(&s, "sha2-first", Some(&[20, 19, 18, 17]));
    m.kinit_password(&[], "alice", ALICE_PW).expect_ok();
    m.run("kvno", &[svc, SERVICE], "").expect_ok();
    let tickets = m.klist();
    let t = |name: &str| tickets.iter().find(|t| t.service.starts_with(name)).unwrap_or_else(|| panic!("{tickets:#?}"));
    assert_eq!(t(svc).skey_etype, "aes128-cts-hmac-sha1-96", "{tickets:#?}");
    assert_eq!(t(svc).ticket_etype, "aes128-cts-hmac-sha1-96", "{tickets:#?}");
    // Services with every key get the client's first choice.
    assert_eq!(t(SERVICE).skey_etype, "aes256-cts-hmac-sha384-192", "{tickets:#?}");
    assert_eq!(t(KRBTGT).skey_etype, "aes256-cts-hmac-sha384-192", "{tickets:#?}");
}

#[test]
fn a_tgt_outlives_a_krbtgt_rotation_with_keepold_until_purgekeys() {
    mit::require_mit_client();
    let s = ServedRealm::start();
    let before = mit(&s, "before", None);
    before.kinit_password(&["-r", "2d"], "alice", ALICE_PW).expect_ok();
    let renewed = before.with_ccache(&s.path("cc-renewed"));
    std::fs::copy(&before.ccache, &renewed.ccache).expect("copy the cache");
    let out = db(&s, &["cpw", "--random", "--keepold", "krbtgt/KTIX.TEST"], "");
    assert!(out.contains("kvno 2, old keys kept"), "{out}");

    // The TGT sealed in kvno 1 still gets service tickets and is renewed (into kvno 2).
    let kvno = before.run("kvno", &[SERVICE], "").expect_ok();
    assert!(kvno.stdout.contains("kvno = 1"), "{}", kvno.stdout);
    renewed.run("kinit", &["-R"], "").expect_ok();
    // A new login gets a TGT of kvno 2.
    let fresh = mit(&s, "fresh", None);
    fresh.kinit_password(&[], "alice", ALICE_PW).expect_ok();

    // After purgekeys the kvno-1 TGT opens no more: KRB_AP_ERR_BADKEYVER, as MIT's KDC says it.
    let out = db(&s, &["purgekeys", "krbtgt/KTIX.TEST", "--keepkvno", "2"], "");
    assert!(out.contains("removed 4 old keys"), "{out}");
    let other = "HTTP/late.ktix.test";
    db(&s, &["add", "--random", other], "");
    let run = before.run("kvno", &[other], "").expect_failure();
    assert!(run.error_line().contains("Key version is not available"), "{run:?}");
    let run = before.run("kinit", &["-R"], "").expect_failure();
    assert!(run.error_line().contains("Key version is not available"), "{run:?}");
    // The renewed TGT (kvno 2) and the fresh one keep working.
    renewed.run("kvno", &[other], "").expect_ok();
    fresh.run("kvno", &[other], "").expect_ok();
}

#[test]
fn a_client_disabled_after_login_gets_no_more_tickets() {
    mit::require_mit_client();
    let s = ServedRealm::start();
    let m = mit(&s, "revoked", None);
    m.kinit_password(&["-r", "2d"], "alice", ALICE_PW).expect_ok();
    db(&s, &["mod", "alice", "--disabled", "on"], "");
    let run = m.run("kvno", &[SERVICE], "").expect_failure();
    assert!(run.error_line().contains("Client's credentials have been revoked"), "{run:?}");
    let run = m.run("kinit", &["-R"], "").expect_failure();
    assert!(run.error_line().contains("Client's credentials have been revoked"), "{run:?}");
    db(&s, &["mod", "alice", "--disabled", "off"], "");
    m.run("kvno", &[SERVICE], "").expect_ok();
}

#[test]
fn a_lockout_policy_revokes_after_failed_kinits_until_unlocked() {
    mit::require_mit_client();
    let s = ServedRealm::start();
    db(&s, &["policy", "add", "lock", "--max-failures", "2", "--lockout-duration", "1h"], "");
    db(&s, &["mod", "alice", "--policy", "lock"], "");
    let m = mit(&s, "lockout", None);
    for _ in 0..2 {
        let run = m.kinit_password(&[], "alice", "wrong-pw").expect_failure();
        assert!(run.error_line().contains("Password incorrect"), "{run:?}");
    }
    // Locked: the right password too is refused, as MIT's KDC refuses it.
    let run = m.kinit_password(&[], "alice", ALICE_PW).expect_failure();
    assert_eq!(
        run.error_line(),
        "kinit: Client's credentials have been revoked while getting initial credentials",
        "{run:?}"
    );
    assert!(db(&s, &["list"], "").contains("failures=2"));
    db(&s, &["mod", "alice", "--unlock"], "");
    m.kinit_password(&[], "alice", ALICE_PW).expect_ok();
}
