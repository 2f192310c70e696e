//! `ktix demo` (the README's first command) runs to the end and reports what it computed.

use std::process::Command;

#[test]
fn demo_runs_and_narrates_every_step() {
    let out = Command::new(env!("CARGO_BIN_EXE_ktix")).arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "KDC_ERR_PREAUTH_REQUIRED",
        "ETYPE-INFO2: aes256-cts-hmac-sha384-192 with salt \"KTIX.TESTalice\"",
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
