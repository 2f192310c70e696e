//! `ktix demo` (the README's first command) runs to the end and reports what it computed.

use std::process::Command;

#[test]
fn demo_runs_and_narrates_every_step() {
    let out = Command::new(env!("CARGO_BIN_EXE_ktix")).arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "KDC_ERR_PREAUTH_REQUIRED",
        "ETYPE-INFO2: aes256-cts-hmac-sha1-96 with salt \"KTIX.TESTalice\"",
        "alice tries to open the TGT with her own key: KRB_AP_ERR_BAD_INTEGRITY",
        "(8 h)",
        "client = alice@KTIX.TEST",
        "KDC requests for this contact: 0",
        "KRB_AP_ERR_REPEAT",
        "one bit flipped in the ticket: KRB_AP_ERR_BAD_INTEGRITY",
        "KDC: KRB_AP_ERR_TKT_EXPIRED",
        "after:  0 credentials",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("UNEXPECTED"), "{text}");
}

/// Output into a pipe whose reader has gone (`ktix demo | head -1`) ends the tool quietly, by
/// SIGPIPE as MIT's tools end, not with a panic.
#[test]
fn a_closed_pipe_ends_the_tool_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktix"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ktix demo");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for ktix demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "{:?}: {stderr}", out.status);
}

/// `ktix --help` describes the tool (not the library's package description) and lists every
/// command of API.md.
#[test]
fn help_describes_the_tool_and_its_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_ktix")).arg("--help").output().expect("ktix --help");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with("libktix: Kerberos V5 session tickets — KDC, client tools and an embedded demo"),
        "{text}"
    );
    for command in ["demo", "db", "kdc", "kinit", "klist", "kvno", "kdestroy"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{command} "))), "{command}: {text}");
    }
}
