//! Known-answer cases produced by MIT krb5 itself (`tests/fixtures/mit-crypto/mit-crypto.json`,
//! made by `gen.sh` there): string-to-key, MIT ciphertexts we must open, checksums and PRF
//! outputs we must reproduce, and keys written by MIT's `ktutil` and `kadmin.local`.

use std::path::PathBuf;

use ktix::crypto::{Enctype, Key};
use ktix::{ErrorCode, Principal};
use serde_json::Value;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mit-crypto/mit-crypto.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hx(v: &Value, k: &str) -> Vec<u8> {
    let s = v[k].as_str().unwrap_or_else(|| panic!("field {k} in {v}"));
    hex::decode(s).unwrap_or_else(|e| panic!("field {k}: {e}"))
}

fn opt_hx(v: &Value, k: &str) -> Option<Vec<u8>> {
    if v[k].is_null() {
        None
    } else {
        Some(hx(v, k))
    }
}

fn num(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("field {k} in {v}"))
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v[k].as_array().unwrap_or_else(|| panic!("section {k}"))
}

fn enctype(v: &Value) -> Enctype {
    Enctype::from_i32(num(v, "enctype") as i32).unwrap()
}

fn key(v: &Value) -> Key {
    Key::new(enctype(v), &hx(v, "key_hex")).unwrap()
}

fn usage(v: &Value) -> u32 {
    num(v, "usage") as u32
}

/// Every enctype appears in a section.
fn assert_all_enctypes(cases: &[Value]) {
    for e in Enctype::ALL {
        assert!(cases.iter().any(|c| num(c, "enctype") == i64::from(e.id())), "no case for {e}");
    }
}

fn assert_integrity_error(r: ktix::Result<impl Sized>, what: &str) {
    match r {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{what}: {e}"),
    }
}

#[test]
fn fixture_is_from_mit() {
    let v = fixture();
    let version = v["mit_version"].as_str().unwrap();
    assert!(version.starts_with("Kerberos 5 release "), "{version}");
}

#[test]
fn string_to_key_matches_mit() {
    let v = fixture();
    let cases = list(&v, "string_to_key");
    for c in cases {
        let e = enctype(c);
        let params = opt_hx(c, "s2kparams_hex");
        let iterations = num(c, "iterations") as u32;
        let got = if c["mit_weak_pbkdf2iter_hook"] == true {
            // Counts below the default: MIT made these only with its weak-count test hook, and
            // both refuse them in s2kparams; the explicit-count call still derives them.
            assert!(e.iterations_from_params(params.as_deref()).is_err(), "{c}");
            Key::from_password_iterations(e, &hx(c, "password_hex"), &hx(c, "salt_hex"), iterations)
        } else {
            assert_eq!(e.iterations_from_params(params.as_deref()).unwrap(), iterations, "{c}");
            Key::from_password(e, &hx(c, "password_hex"), &hx(c, "salt_hex"), params.as_deref())
        }
        .unwrap_or_else(|err| panic!("{c}: {err}"));
        assert_eq!(hex::encode(got.bytes()), c["key_hex"].as_str().unwrap(), "{c}");
        // The readable fields say the same as the hex ones.
        assert_eq!(c["password"].as_str().unwrap().as_bytes(), hx(c, "password_hex"), "{c}");
        assert_eq!(c["salt"].as_str().unwrap().as_bytes(), hx(c, "salt_hex"), "{c}");
    }
    assert_all_enctypes(cases);
    assert!(cases.len() >= 40, "{} string-to-key cases", cases.len());
}

#[test]
fn s2kparams_mit_rejects_are_rejected() {
    let v = fixture();
    let cases = list(&v, "s2k_rejected");
    let mut checked = 0;
    for c in cases {
        let e = enctype(c);
        let params = hx(c, "s2kparams_hex");
        assert!(e.iterations_from_params(Some(&params)).is_err(), "{c}");
        assert!(Key::from_password(e, b"alice-pw", b"KTIX.TESTalice", Some(&params)).is_err(), "{c}");
        checked += 1;
    }
    assert!(checked >= 24, "{checked} rejected s2kparams cases");
}

/// Every s2kparams value MIT 1.20 refuses, ktix refuses too (below the default count, 2^24 and up).
#[test]
fn s2kparams_full_parity_with_mit() {
    let v = fixture();
    let mut accepted = Vec::new();
    for c in list(&v, "s2k_rejected") {
        let params = hx(c, "s2kparams_hex");
        if enctype(c).iterations_from_params(Some(&params)).is_ok() {
            accepted.push(format!("{} {}", num(c, "enctype"), c["s2kparams_hex"]));
        }
    }
    assert!(accepted.is_empty(), "MIT rejects but ktix accepts: {accepted:?}");
}

#[test]
fn decrypts_mit_ciphertexts() {
    let v = fixture();
    let cases = list(&v, "encrypt");
    for c in cases {
        assert_eq!(c["mit_decrypt_ok"], true, "{c}");
        let k = key(c);
        let pt = hx(c, "plaintext_hex");
        let ct = hx(c, "ciphertext_hex");
        assert_eq!(ct.len(), pt.len() + k.enctype().overhead(), "{c}");
        let got = k.decrypt(usage(c), &ct).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(&got[..], &pt[..], "{c}");
    }
    assert_all_enctypes(cases);
    for u in [1, 2, 3, 7, 11, 12] {
        assert!(cases.iter().any(|c| usage(c) == u), "no case for usage {u}");
    }
    for n in [0, 1, 15, 16, 17, 32, 100, 256] {
        assert!(cases.iter().any(|c| hx(c, "plaintext_hex").len() == n), "no case of {n} bytes");
    }
    assert!(cases.len() >= 192, "{} encryption cases", cases.len());
}

#[test]
fn tampered_mit_ciphertexts_fail_integrity() {
    let v = fixture();
    let cases = list(&v, "encrypt");
    let mut checked = 0usize;
    for c in cases {
        let k = key(c);
        let u = usage(c);
        let ct = hx(c, "ciphertext_hex");

        // Wrong key: the same enctype, one key bit flipped.
        let mut other = k.bytes().to_vec();
        other[0] ^= 0x01;
        let wrong = Key::new(k.enctype(), &other).unwrap();
        assert_integrity_error(wrong.decrypt(u, &ct), &format!("wrong key {c}"));

        // Wrong usage.
        for bad in [u + 1, u + 100, u ^ 0x8000_0000] {
            assert_integrity_error(k.decrypt(bad, &ct), &format!("usage {bad} for {c}"));
        }

        // One bit flipped in each byte (confounder, body and integrity tag).
        for i in 0..ct.len() {
            let mut t = ct.clone();
            t[i] ^= 1 << (i % 8);
            assert_integrity_error(k.decrypt(u, &t), &format!("bit flipped at {i} in {c}"));
        }

        // Truncations: the last byte, the first byte, down to nothing.
        let mut cuts = vec![ct.len() - 1, ct.len() - k.enctype().mac_len(), 16, 15, 1, 0];
        cuts.retain(|&n| n < ct.len());
        for n in cuts {
            assert_integrity_error(k.decrypt(u, &ct[..n]), &format!("truncated to {n} in {c}"));
        }
        assert_integrity_error(k.decrypt(u, &ct[1..]), &format!("first byte dropped in {c}"));

        // An extra byte appended.
        let mut longer = ct.clone();
        longer.push(0);
        assert_integrity_error(k.decrypt(u, &longer), &format!("byte appended in {c}"));
        checked += 1;
    }
    assert!(checked >= 192, "{checked} tampering cases");
}

#[test]
fn checksums_match_mit() {
    let v = fixture();
    let cases = list(&v, "checksum");
    for c in cases {
        assert_eq!(c["mit_verify_ok"], true, "{c}");
        let k = key(c);
        let u = usage(c);
        let data = hx(c, "data_hex");
        let want = hx(c, "checksum_hex");
        let cksumtype = num(c, "cksumtype") as i32;
        assert_eq!(cksumtype, k.enctype().checksum_type(), "{c}");
        assert_eq!(hex::encode(k.checksum(u, &data).unwrap()), hex::encode(&want), "{c}");
        k.verify_checksum(u, cksumtype, &data, &want).unwrap_or_else(|e| panic!("{c}: {e}"));

        assert_integrity_error(k.verify_checksum(u + 1, cksumtype, &data, &want), &format!("wrong usage {c}"));
        let mut flipped = want.clone();
        flipped[0] ^= 0x80;
        assert_integrity_error(k.verify_checksum(u, cksumtype, &data, &flipped), &format!("flipped {c}"));
        assert_integrity_error(
            k.verify_checksum(u, cksumtype, &data, &want[..want.len() - 1]),
            &format!("truncated {c}"),
        );
        let mut other_data = data.clone();
        other_data.push(0);
        assert_integrity_error(k.verify_checksum(u, cksumtype, &other_data, &want), &format!("other data {c}"));
        let other_type = Enctype::ALL.into_iter().map(|e| e.checksum_type()).find(|&t| t != cksumtype).unwrap();
        let err = k.verify_checksum(u, other_type, &data, &want).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_INAPP_CKSUM, "{c}");
    }
    assert_all_enctypes(cases);
    for u in [6, 10] {
        assert!(cases.iter().any(|c| usage(c) == u), "no checksum for usage {u}");
    }
    assert!(cases.len() >= 64, "{} checksum cases", cases.len());
}

#[test]
fn prf_matches_mit() {
    let v = fixture();
    let cases = list(&v, "prf");
    for c in cases {
        let got = key(c).prf(&hx(c, "input_hex")).unwrap();
        assert_eq!(hex::encode(&got[..]), c["output_hex"].as_str().unwrap(), "{c}");
    }
    assert_all_enctypes(cases);
    assert!(cases.len() >= 48, "{} PRF cases", cases.len());
}

#[test]
fn keys_from_mit_admin_tools() {
    let v = fixture();
    let cases = list(&v, "keytab");
    for c in cases {
        let e = enctype(c);
        let salt = hx(c, "salt_hex");
        let got = Key::from_password(e, &hx(c, "password_hex"), &salt, None).unwrap();
        assert_eq!(hex::encode(got.bytes()), c["key_hex"].as_str().unwrap(), "{c}");

        let p = Principal::parse(c["principal"].as_str().unwrap(), None).unwrap();
        let expected_salt = match c["salt_kind"].as_str().unwrap() {
            "default" => Some(p.default_salt()),
            "norealm" => Some(p.components().concat().into_bytes()),
            "onlyrealm" => Some(p.realm().as_bytes().to_vec()),
            "custom" => None,
            other => panic!("salt kind {other}"),
        };
        if let Some(s) = expected_salt {
            assert_eq!(s, salt, "{c}");
        }
        assert!(num(c, "kvno") >= 1, "{c}");
    }
    assert_all_enctypes(cases);
    for tool in ["ktutil", "kadmin.local"] {
        assert!(cases.iter().any(|c| c["tool"] == tool), "no keys from {tool}");
    }
    assert!(cases.len() >= 36, "{} keytab keys", cases.len());
}
