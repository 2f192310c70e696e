//! Keytab files: MIT's own keytabs parsed and re-written byte for byte, a keytab from MIT's `ktutil`
//! with enctypes libktix does not implement, corrupt input, and MIT's `klist` reading what we write.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ktix::keytab::{EntryKey, OpaqueKey};
use ktix::{Enctype, ErrorCode, Key, Keytab, KeytabEntry, Principal, Time};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keytab").join(name)
}

fn load_fixture(name: &str) -> (Vec<u8>, Keytab) {
    let bytes = fs::read(fixture(name)).unwrap();
    let kt = Keytab::parse(&bytes).unwrap();
    (bytes, kt)
}

fn p(s: &str) -> Principal {
    Principal::parse(s, None).unwrap()
}

fn enctypes(kt: &Keytab) -> Vec<i32> {
    kt.entries().iter().map(|e| e.key.enctype_id()).collect()
}

#[test]
fn mit_server_keytab() {
    let (bytes, kt) = load_fixture("server.keytab");
    let server = p("host/server.ktix.test@KTIX.TEST");
    assert_eq!(kt.principals(), vec![server.clone()]);
    assert_eq!(enctypes(&kt), vec![18, 17, 20, 19]);
    for e in kt.entries() {
        assert_eq!(e.principal.name_type(), 1, "kadmin ktadd writes NT-PRINCIPAL");
        assert_eq!(e.kvno, 2);
        assert!(e.key.key().is_some());
        assert_eq!(e.timestamp, kt.entries()[0].timestamp);
    }
    let best = kt.find(&server, None, None).unwrap();
    assert_eq!(best.key.enctype(), Some(Enctype::Aes256CtsHmacSha384192));
    let aes256 = kt.find(&server, Some(2), Some(Enctype::Aes256CtsHmacSha196)).unwrap();
    assert_eq!(hex::encode(aes256.key.bytes()), "ef5c8137fb27e45b721731e2db07575d0e4d1a08592307d24a7f54260a05ac5f");
    assert!(kt.find(&server, Some(1), None).is_none());
    // MIT's bytes come back exactly.
    assert_eq!(kt.to_bytes(), bytes);
}

#[test]
fn mit_krbtgt_keytab() {
    let (bytes, kt) = load_fixture("krbtgt.keytab");
    let tgs = Principal::krbtgt("KTIX.TEST");
    assert_eq!(kt.principals(), vec![tgs.clone()]);
    assert_eq!(enctypes(&kt), vec![18, 17, 20, 19]);
    assert!(kt.entries().iter().all(|e| e.kvno == 1));
    assert_eq!(kt.find(&tgs, Some(1), Some(Enctype::Aes128CtsHmacSha196)).unwrap().key.bytes().len(), 16);
    assert_eq!(kt.to_bytes(), bytes);
}

/// `mixed.keytab`, made with MIT ktutil 1.20.1 (see tests/fixtures/keytab/README.md): three
/// supported entries, arcfour-hmac (23) and des3-cbc-sha1 (16) opaque, a kvno of 300.
#[test]
fn ktutil_keytab_with_unsupported_enctypes() {
    let (bytes, kt) = load_fixture("mixed.keytab");
    let svc = p("svc/mixed.ktix.test@KTIX.TEST");
    let alice = p("alice@KTIX.TEST");
    assert_eq!(kt.principals(), vec![svc.clone(), alice.clone()]);
    assert_eq!(enctypes(&kt), vec![18, 23, 19, 20, 16, 17]);
    let kvnos: Vec<u32> = kt.entries().iter().map(|e| e.kvno).collect();
    assert_eq!(kvnos, vec![3, 3, 3, 300, 3, 1], "the 32-bit kvno (300) wins over the 8-bit one (44)");
    match &kt.entries()[1].key {
        EntryKey::Unsupported(o) => {
            assert_eq!(o.enctype(), 23);
            assert_eq!(hex::encode(o.bytes()), "09cd858bdd9de59381a48bf0e994f574");
        }
        other => panic!("rc4 entry should be opaque: {other:?}"),
    }
    assert!(kt.entries()[4].key.key().is_none());
    // Keys are string-to-key of the passwords given to ktutil, with the default salt.
    for e in kt.entries() {
        let Some(k) = e.key.key() else { continue };
        let pw: &[u8] = if e.principal == alice { b"alice-pw" } else { b"mixed-pw" };
        let want = Key::from_password(k.enctype(), pw, &e.principal.default_salt(), None).unwrap();
        assert_eq!(k, &want, "{:?}", e);
    }
    // find never returns opaque keys; the highest usable kvno of svc is 300.
    assert_eq!(kt.find(&svc, None, None).unwrap().kvno, 300);
    let v3 = kt.find(&svc, Some(3), None).unwrap();
    assert_eq!(v3.key.enctype(), Some(Enctype::Aes256CtsHmacSha196));
    assert_eq!(kt.find(&svc, None, Some(Enctype::Aes128CtsHmacSha256128)).unwrap().kvno, 3);
    // Rewriting preserves everything, byte for byte.
    assert_eq!(kt.to_bytes(), bytes);
}

#[test]
fn round_trip_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rt.keytab");
    let name = format!("FILE:{}", path.display());
    let (_, mut kt) = load_fixture("mixed.keytab");
    let extra = p("HTTP/www.ktix.test@KTIX.TEST");
    kt.add(extra.clone(), 7, Key::random(Enctype::Aes256CtsHmacSha384192).unwrap(), Time::from_unix(1_700_000_000));
    kt.save(&name).unwrap();
    let back = Keytab::load(&name).unwrap();
    assert_eq!(back.entries(), kt.entries());
    assert_eq!(back.to_bytes(), kt.to_bytes());
    assert_eq!(Keytab::load(&format!("WRFILE:{}", path.display())).unwrap().len(), kt.len());
    assert_eq!(Keytab::load(path.to_str().unwrap()).unwrap().len(), kt.len());
    assert_eq!(back.find(&extra, None, None).unwrap().kvno, 7);
}

#[test]
fn save_writes_0600_and_failed_save_keeps_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("svc.keytab");
    let (old_bytes, kt) = load_fixture("server.keytab");
    kt.save(path.to_str().unwrap()).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o600);
    assert_eq!(fs::read(&path).unwrap(), old_bytes);

    // A save into a "directory" that is the keytab file itself fails, and names the file.
    let bad = path.join("inner.keytab");
    let e = Keytab::new().save(bad.to_str().unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
    assert!(e.message().contains("inner.keytab"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), old_bytes);

    // A save whose content cannot be encoded fails before touching the file.
    let mut huge = kt.clone();
    let long = Principal::new(1, vec!["x".repeat(70_000)], "KTIX.TEST").unwrap();
    huge.add(long, 1, Key::random(Enctype::Aes128CtsHmacSha196).unwrap(), Time::EPOCH);
    assert!(huge.save(path.to_str().unwrap()).is_err());
    assert_eq!(fs::read(&path).unwrap(), old_bytes);
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.keytab");
    let e = Keytab::load(&format!("FILE:{}", missing.display())).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
    assert!(e.message().contains(&*missing.to_string_lossy()), "{e}");

    let garbage = dir.path().join("garbage.keytab");
    fs::write(&garbage, b"\x05\x02\x00\x00\x00\x10short").unwrap();
    let e = Keytab::load(garbage.to_str().unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
    assert!(e.message().contains(&*garbage.to_string_lossy()), "{e}");
    assert!(e.message().contains("offset 2"), "{e}");

    let e = Keytab::load("KEYRING:persistent:0").unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
}

#[test]
fn default_name_honours_krb5_ktname() {
    // The only test in this binary that touches the variable.
    std::env::remove_var("KRB5_KTNAME");
    assert_eq!(Keytab::default_name(), "FILE:/etc/krb5.keytab");
    std::env::set_var("KRB5_KTNAME", "FILE:/tmp/x.keytab");
    assert_eq!(Keytab::default_name(), "FILE:/tmp/x.keytab");
    std::env::remove_var("KRB5_KTNAME");
}

/// The entry boundaries of a keytab (offsets where a truncated file is still a valid shorter keytab).
fn entry_boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut out = vec![2];
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        let size = i32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap());
        pos += 4 + size.unsigned_abs() as usize;
        out.push(pos);
    }
    out
}

#[test]
fn every_truncation_is_an_error_or_a_prefix() {
    for name in ["server.keytab", "krbtgt.keytab", "mixed.keytab"] {
        let (bytes, kt) = load_fixture(name);
        let bounds = entry_boundaries(&bytes);
        for cut in 0..bytes.len() {
            match Keytab::parse(&bytes[..cut]) {
                Ok(short) => {
                    assert!(bounds.contains(&cut), "{name}: truncation at {cut} parsed");
                    assert_eq!(short.entries(), &kt.entries()[..short.len()]);
                }
                Err(e) => {
                    assert!(!bounds.contains(&cut), "{name}: cut at entry boundary {cut}: {e}");
                    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{name} cut {cut}");
                    assert!(e.message().contains("offset"), "{e}");
                }
            }
        }
    }
}

#[test]
fn bit_flips_never_panic() {
    // A small deterministic generator (xorshift); no dependency needed.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    let mut total = 0;
    for name in ["server.keytab", "krbtgt.keytab", "mixed.keytab"] {
        let (bytes, _) = load_fixture(name);
        // Every single-bit flip.
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            total += 1;
            if let Err(e) = Keytab::parse(&b) {
                assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
                errors += 1;
            }
        }
        // Random multi-byte damage.
        for _ in 0..3000 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            total += 1;
            if let Ok(kt) = Keytab::parse(&b) {
                // Whatever parses re-serializes and parses again to the same entries.
                let again = Keytab::parse(&kt.to_bytes()).unwrap();
                assert_eq!(again.entries(), kt.entries());
            } else {
                errors += 1;
            }
        }
    }
    assert!(errors > 0 && errors < total, "{errors} of {total}");
}

#[test]
fn huge_declared_sizes_do_not_allocate() {
    // Entry and string sizes near their maxima with almost no data behind them.
    for input in [
        vec![5, 2, 0x7f, 0xff, 0xff, 0xff, 0, 1],
        vec![5, 2, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        vec![5, 2, 0, 0, 0, 6, 0, 1, 0, 1, b'R', 0xff],
    ] {
        assert_eq!(Keytab::parse(&input).unwrap_err().code(), ErrorCode::KTIX_ERR_BAD_FILE);
    }
}

#[test]
fn opaque_entries_survive_edits() {
    let (_, mut kt) = load_fixture("mixed.keytab");
    let svc = p("svc/mixed.ktix.test@KTIX.TEST");
    assert_eq!(kt.remove(&svc, Some(300)), 1);
    kt.push_entry(KeytabEntry {
        principal: svc.clone(),
        timestamp: Time::from_unix(5),
        kvno: 4,
        key: EntryKey::Unsupported(OpaqueKey::new(25, &[1, 2, 3])),
    });
    let back = Keytab::parse(&kt.to_bytes()).unwrap();
    assert_eq!(back.entries(), kt.entries());
    // kvno 4 has only an opaque key: find falls back to kvno 3.
    assert_eq!(back.find(&svc, None, None).unwrap().kvno, 3);
}

/// MIT's `klist -k -e -K -t` reads a keytab we wrote and shows the same entries and keys.
#[test]
fn mit_klist_reads_our_keytab() {
    if Command::new("klist").arg("-V").output().is_err() {
        eprintln!("SKIP: MIT klist is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.keytab");
    let (_, mixed) = load_fixture("mixed.keytab");
    let mut kt = Keytab::new();
    let ts = Time::from_unix(1_700_000_000); // 2023-11-14 22:13:20 UTC
    let names = ["host/server.ktix.test@KTIX.TEST", "alice@KTIX.TEST", "we\\/ird@OTHER.REALM"];
    for (i, name) in names.iter().enumerate() {
        for (j, t) in Enctype::ALL.into_iter().enumerate() {
            let kvno = [1, 2, 1000][i] + j as u32 % 2;
            kt.add(p(name), kvno, Key::random(t).unwrap(), ts);
        }
    }
    for e in mixed.entries().iter().filter(|e| e.key.key().is_none()) {
        kt.push_entry(e.clone());
    }
    kt.save(&format!("FILE:{}", path.display())).unwrap();

    let out = Command::new("klist")
        .args(["-k", "-e", "-K", "-t"])
        .arg(format!("FILE:{}", path.display()))
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "klist failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("----")).skip(1).collect();
    assert_eq!(lines.len(), kt.len(), "{stdout}");
    for (line, e) in lines.iter().zip(kt.entries()) {
        // "  KVNO MM/DD/YY HH:MM:SS PRINCIPAL (ENCTYPE)  (0xKEY)"
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 6, "{line}");
        assert_eq!(f[0], e.kvno.to_string(), "{line}");
        let (y, mo, d, h, mi, sec) = e.timestamp.civil();
        let when = format!("{mo:02}/{d:02}/{:02} {h:02}:{mi:02}:{sec:02}", y % 100);
        assert_eq!(format!("{} {}", f[1], f[2]), when, "{line}");
        assert_eq!(f[3], e.principal.to_string(), "{line}");
        match e.key.enctype() {
            Some(t) => assert_eq!(f[4], format!("({})", t.name()), "{line}"),
            None => assert!(f[4].contains(if e.key.enctype_id() == 23 { "arcfour" } else { "des3" }), "{line}"),
        }
        assert_eq!(f[5], format!("(0x{})", hex::encode(e.key.bytes())), "{line}");
    }
}
