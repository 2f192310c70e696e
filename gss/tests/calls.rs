//! The C calls themselves (through the crate's rlib, exactly what C reaches): a krb5 and a SPNEGO
//! context established with `GSS_C_NO_CREDENTIAL` on both sides from `KRB5CCNAME`/`KRB5_KTNAME`,
//! names, per-message tokens with the sequence conditions as supplementary bits, an exact
//! `gss_wrap_size_limit`, `gss_display_status` texts, and NULL or foreign handles refused with
//! calling errors. One test: the environment is process-wide.

#[path = "../../tests/common/mod.rs"]
mod core_common;

use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::Arc;

use core_common::{Realm, ALICE_PW, REALM, SERVICE};
use ktix::gss::{major, oid};
use ktix::{CCache, Client, ClientConfig, InProcess, Time};
use ktix_gss::calls::*;
use ktix_gss::support::{gss_display_status, gss_release_buffer};
use ktix_gss::types::*;

fn buf(bytes: &[u8]) -> gss_buffer_desc {
    gss_buffer_desc { length: bytes.len(), value: bytes.as_ptr() as *mut c_void }
}

fn empty() -> gss_buffer_desc {
    gss_buffer_desc { length: 0, value: null_mut() }
}

fn bytes(b: &gss_buffer_desc) -> Vec<u8> {
    if b.length == 0 {
        return Vec::new();
    }
    // SAFETY: buffers filled by the library.
    unsafe { std::slice::from_raw_parts(b.value as *const u8, b.length) }.to_vec()
}

fn take(b: &mut gss_buffer_desc) -> Vec<u8> {
    let v = bytes(b);
    let mut m = 0;
    // SAFETY: a buffer the library filled.
    unsafe { gss_release_buffer(&mut m, b) };
    v
}

fn mech_text(minor: u32) -> String {
    let (mut m, mut ctx, mut out) = (0, 0, empty());
    // SAFETY: valid pointers.
    unsafe { gss_display_status(&mut m, minor, GSS_C_MECH_CODE, null(), &mut ctx, &mut out) };
    String::from_utf8(take(&mut out)).unwrap()
}

const FLAGS: u32 = 2 | 4 | 8 | 16 | 32; // MUTUAL REPLAY SEQUENCE CONF INTEG

/// Establishes a context over `mech` (NULL = krb5) with default credentials on both sides.
unsafe fn establish(target: Handle, mech: *const gss_OID_desc) -> (Handle, Handle, Handle, *mut gss_OID_desc) {
    let (mut minor, mut ictx, mut actx): (u32, Handle, Handle) = (0, null_mut(), null_mut());
    let mut src: Handle = null_mut();
    let mut actual: gss_OID = null_mut();
    let mut token = empty();
    let mut input = Vec::new();
    for round in 0..4 {
        let ib = buf(&input);
        let mut ret_flags = 0;
        let m = gss_init_sec_context(
            &mut minor,
            null_mut(),
            &mut ictx,
            target,
            mech,
            FLAGS,
            0,
            null(),
            if round == 0 { null() } else { &ib },
            &mut actual,
            &mut token,
            &mut ret_flags,
            null_mut(),
        );
        assert!(m == major::COMPLETE || m == major::CONTINUE_NEEDED, "init: 0x{m:x} {}", mech_text(minor));
        let out = take(&mut token);
        if m == major::COMPLETE && out.is_empty() {
            assert!(!actx.is_null());
            return (ictx, actx, src, actual);
        }
        let ob = buf(&out);
        let mut amech: gss_OID = null_mut();
        let mut reply = empty();
        let mut delegated: Handle = null_mut();
        let a = gss_accept_sec_context(
            &mut minor,
            &mut actx,
            null_mut(),
            &ob,
            null(),
            &mut src,
            &mut amech,
            &mut reply,
            null_mut(),
            null_mut(),
            &mut delegated,
        );
        assert!(a == major::COMPLETE || a == major::CONTINUE_NEEDED, "accept: 0x{a:x} {}", mech_text(minor));
        assert!(delegated.is_null(), "no delegation was asked for");
        input = take(&mut reply);
        if m == major::COMPLETE && a == major::COMPLETE && input.is_empty() {
            return (ictx, actx, src, actual);
        }
    }
    panic!("the context did not complete in 4 rounds");
}

#[test]
fn the_c_calls_over_ktix_gss() {
    let dir = tempfile::tempdir().unwrap();
    let realm = Realm::new();
    realm.clock.set(Time::now());
    let cc_path = dir.path().join("ccache");
    let transport = Arc::new(InProcess::new(realm.kdc.clone(), realm.clock.clone()));
    let c = Client::with_clock(ClientConfig::new(REALM), transport, CCache::file(&cc_path), realm.clock.clone());
    c.login("alice", ALICE_PW).unwrap();
    c.service_ticket(SERVICE).unwrap();
    let kt_path = dir.path().join("server.keytab");
    realm.kdc.keytab(SERVICE, realm.now()).unwrap().save(kt_path.to_str().unwrap()).unwrap();
    let conf = dir.path().join("krb5.conf");
    std::fs::write(&conf, format!("[libdefaults]\n default_realm = {REALM}\n[domain_realm]\n .ktix.test = {REALM}\n"))
        .unwrap();
    std::env::set_var("KRB5_CONFIG", &conf);
    std::env::set_var("KRB5CCNAME", format!("FILE:{}", cc_path.display()));
    std::env::set_var("KRB5_KTNAME", format!("FILE:{}", kt_path.display()));
    std::env::set_var("KRB5RCACHEDIR", dir.path());

    // SAFETY: every pointer below is valid or deliberately NULL/foreign, as the call allows.
    unsafe {
        let mut minor = 0;
        let mut target: Handle = null_mut();
        let name = b"host@server.ktix.test";
        assert_eq!(gss_import_name(&mut minor, &buf(name), GSS_C_NT_HOSTBASED_SERVICE.get(), &mut target), 0);

        // Kerberos V5.
        let (ictx, actx, src, actual) = establish(target, null());
        assert_eq!(oid_bytes(actual), Some(oid::KRB5));
        let mut shown = empty();
        let mut nt: gss_OID = null_mut();
        assert_eq!(gss_display_name(&mut minor, src, &mut shown, &mut nt), 0);
        assert_eq!(take(&mut shown), b"alice@KTIX.TEST");
        let mut exported = empty();
        assert_eq!(gss_export_name(&mut minor, src, &mut exported), 0);
        let e = take(&mut exported);
        assert_eq!(&e[..4], &[4, 1, 0, 11]);
        assert_eq!(&e[4..15], &[&[6u8, 9][..], oid::KRB5].concat()[..]);
        assert_eq!(&e[15..19], &[0, 0, 0, 15]);
        assert_eq!(&e[19..], b"alice@KTIX.TEST");

        let (mut s, mut t, mut life, mut flags, mut local, mut open) = (null_mut(), null_mut(), 0, 0, 0, 0);
        let mut m: gss_OID = null_mut();
        assert_eq!(
            gss_inquire_context(&mut minor, ictx, &mut s, &mut t, &mut life, &mut m, &mut flags, &mut local, &mut open),
            0
        );
        assert_eq!((local, open), (1, 1));
        assert!(life > 0 && flags & FLAGS == FLAGS, "life {life} flags {flags:x}");
        let mut equal = 0;
        assert_eq!(gss_compare_name(&mut minor, s, src, &mut equal), 0);
        assert_eq!(equal, 1);
        for mut n in [s, t] {
            assert_eq!(gss_release_name(&mut minor, &mut n), 0);
        }
        // The local account: MIT's default rule (a one-component name of the default realm).
        let mut lname = empty();
        assert_eq!(gss_localname(&mut minor, src, null(), &mut lname), 0);
        assert_eq!(take(&mut lname), b"alice");
        assert_eq!(gss_userok(src, c"alice".as_ptr()), 1);
        assert_eq!(gss_userok(src, c"root".as_ptr()), 0);
        assert!(
            major::is_error(gss_localname(&mut minor, target, null(), &mut lname)),
            "a service has no local account"
        );

        // Wrap/unwrap; the same token twice is a duplicate, given with its data.
        let (mut conf_state, mut wrapped, mut out) = (0, empty(), empty());
        assert_eq!(gss_wrap(&mut minor, ictx, 1, 0, &buf(b"secret"), &mut conf_state, &mut wrapped), 0);
        assert_eq!(conf_state, 1);
        let w = take(&mut wrapped);
        assert_eq!(gss_unwrap(&mut minor, actx, &buf(&w), &mut out, &mut conf_state, null_mut()), 0);
        assert_eq!(take(&mut out), b"secret");
        assert_eq!(
            gss_unwrap(&mut minor, actx, &buf(&w), &mut out, &mut conf_state, null_mut()),
            major::DUPLICATE_TOKEN
        );
        assert_eq!(take(&mut out), b"secret");
        // A QOP other than the default is refused.
        assert_eq!(gss_wrap(&mut minor, ictx, 1, 7, &buf(b"x"), null_mut(), &mut wrapped), major::BAD_QOP);

        // MICs; a tampered one is GSS_S_BAD_SIG with a minor status display_status explains.
        let mut mic = empty();
        assert_eq!(gss_get_mic(&mut minor, actx, 0, &buf(b"hello"), &mut mic), 0);
        let mut mic = take(&mut mic);
        assert_eq!(gss_verify_mic(&mut minor, ictx, &buf(b"hello"), &buf(&mic), null_mut()), 0);
        let last = mic.len() - 1;
        mic[last] ^= 1;
        assert_eq!(gss_verify_mic(&mut minor, ictx, &buf(b"hello"), &buf(&mic), null_mut()), major::BAD_SIG);
        assert_eq!(minor, 1101);
        assert!(!mech_text(minor).is_empty());

        // gss_wrap_size_limit is exact.
        let mut limit = 0;
        assert_eq!(gss_wrap_size_limit(&mut minor, ictx, 1, 0, 16384, &mut limit), 0);
        for (len, fits) in [(limit as usize, true), (limit as usize + 1, false)] {
            let data = vec![0x5a; len];
            assert_eq!(gss_wrap(&mut minor, ictx, 1, 0, &buf(&data), null_mut(), &mut wrapped), 0);
            assert_eq!(take(&mut wrapped).len() <= 16384, fits, "{len} bytes");
        }

        // NULL and foreign handles are calling errors, never a crash.
        let m = gss_wrap(&mut minor, null_mut(), 1, 0, &buf(b"x"), null_mut(), &mut wrapped);
        assert_eq!(m, major::NO_CONTEXT | major::CALL_INACCESSIBLE_READ);
        let m = gss_wrap(&mut minor, src, 1, 0, &buf(b"x"), null_mut(), &mut wrapped);
        assert_eq!(m, major::NO_CONTEXT | major::CALL_BAD_STRUCTURE);
        let mut not_a_name = ictx;
        assert_eq!(gss_release_name(&mut minor, &mut not_a_name), major::BAD_NAME | major::CALL_BAD_STRUCTURE);
        assert_eq!(
            gss_display_name(&mut minor, null_mut(), &mut shown, null_mut()),
            major::BAD_NAME | major::CALL_INACCESSIBLE_READ
        );
        let junk = [0u64; 4];
        let m = gss_unwrap(&mut minor, junk.as_ptr() as Handle, &buf(&w), &mut out, null_mut(), null_mut());
        assert_eq!(m, major::NO_CONTEXT | major::CALL_BAD_STRUCTURE);
        // Garbage tokens are defective.
        let mut fresh: Handle = null_mut();
        let m = gss_accept_sec_context(
            &mut minor,
            &mut fresh,
            null_mut(),
            &buf(b"garbage"),
            null(),
            null_mut(),
            null_mut(),
            &mut out,
            null_mut(),
            null_mut(),
            null_mut(),
        );
        assert_eq!(m, major::DEFECTIVE_TOKEN, "{}", mech_text(minor));
        assert!(fresh.is_null());

        for mut ctx in [ictx, actx] {
            assert_eq!(gss_delete_sec_context(&mut minor, &mut ctx, null_mut()), 0);
            assert!(ctx.is_null());
        }
        let mut src = src;
        assert_eq!(gss_release_name(&mut minor, &mut src), 0);

        // A replayed AP-REQ is refused, and the initiator (who asked for MUTUAL) gets MIT's
        // KRB-ERROR token back in the output token.
        let mut ictx: Handle = null_mut();
        let mut t1 = empty();
        let m = gss_init_sec_context(
            &mut minor,
            null_mut(),
            &mut ictx,
            target,
            null(),
            FLAGS,
            0,
            null(),
            null(),
            null_mut(),
            &mut t1,
            null_mut(),
            null_mut(),
        );
        assert_eq!(m, major::CONTINUE_NEEDED);
        let t1 = take(&mut t1);
        let rcache_files = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("ktix_") && n.ends_with(".rcache"))
                .count()
        };
        for replay in [false, true] {
            let mut actx: Handle = null_mut();
            let mut reply = empty();
            let m = gss_accept_sec_context(
                &mut minor,
                &mut actx,
                null_mut(),
                &buf(&t1),
                null(),
                null_mut(),
                null_mut(),
                &mut reply,
                null_mut(),
                null_mut(),
                null_mut(),
            );
            let reply = take(&mut reply);
            assert!(!reply.is_empty() && reply[0] == 0x60, "replay {replay}: {reply:?}");
            // With no KRB5RCACHENAME/KRB5RCACHETYPE, the acceptor remembers authenticators in
            // the `dfl:` file ($KRB5RCACHEDIR/ktix_<uid>.rcache) that the processes of a forking
            // server share, as MIT's library does.
            assert_eq!(rcache_files(), 1, "the default replay cache is the shared file");
            if replay {
                assert!(major::is_error(m) && actx.is_null(), "0x{m:x}");
                assert!(mech_text(minor).to_lowercase().contains("replay"), "{}", mech_text(minor));
                let mut done = empty();
                let m = gss_init_sec_context(
                    &mut minor,
                    null_mut(),
                    &mut ictx,
                    target,
                    null(),
                    FLAGS,
                    0,
                    null(),
                    &buf(&reply),
                    null_mut(),
                    &mut done,
                    null_mut(),
                    null_mut(),
                );
                assert!(major::is_error(m), "the initiator took a KRB-ERROR as an AP-REP: 0x{m:x}");
            } else {
                assert_eq!(m, 0);
                gss_delete_sec_context(&mut minor, &mut actx, null_mut());
            }
        }
        gss_delete_sec_context(&mut minor, &mut ictx, null_mut());

        // SPNEGO, as curl asks for it.
        let spnego = gss_OID_desc { length: oid::SPNEGO.len() as u32, elements: oid::SPNEGO.as_ptr() as *mut c_void };
        let (ictx, actx, src, actual) = establish(target, &spnego);
        assert_eq!(oid_bytes(actual), Some(oid::SPNEGO));
        assert_eq!(gss_display_name(&mut minor, src, &mut shown, null_mut()), 0);
        assert_eq!(take(&mut shown), b"alice@KTIX.TEST");
        assert_eq!(gss_wrap(&mut minor, actx, 0, 0, &buf(b"integrity only"), &mut conf_state, &mut wrapped), 0);
        assert_eq!(conf_state, 0);
        let w = take(&mut wrapped);
        assert_eq!(gss_unwrap(&mut minor, ictx, &buf(&w), &mut out, &mut conf_state, null_mut()), 0);
        assert_eq!((take(&mut out), conf_state), (b"integrity only".to_vec(), 0));
        for mut ctx in [ictx, actx] {
            gss_delete_sec_context(&mut minor, &mut ctx, null_mut());
        }
        for mut n in [src, target] {
            gss_release_name(&mut minor, &mut n);
        }

        // No ticket: GSS_S_NO_CRED, with the reason.
        std::env::set_var("KRB5CCNAME", format!("FILE:{}", dir.path().join("missing").display()));
        let mut cred: Handle = null_mut();
        let m = gss_acquire_cred(&mut minor, null_mut(), 0, null(), GSS_C_INITIATE, &mut cred, null_mut(), null_mut());
        assert_eq!(m, major::NO_CRED);
        assert!(cred.is_null());
        // Acceptor credentials from a credential store.
        let store_kt = format!("FILE:{}", kt_path.display());
        let key = c"keytab";
        let value = std::ffi::CString::new(store_kt).unwrap();
        let mut element = gss_key_value_element_desc { key: key.as_ptr(), value: value.as_ptr() };
        let store = gss_key_value_set_desc { count: 1, elements: &mut element };
        std::env::set_var("KRB5_KTNAME", "FILE:/nonexistent");
        let m = gss_acquire_cred_from(
            &mut minor,
            null_mut(),
            0,
            null(),
            GSS_C_ACCEPT,
            &store,
            &mut cred,
            null_mut(),
            null_mut(),
        );
        assert_eq!(m, 0, "{}", mech_text(minor));
        let mut usage = 0;
        assert_eq!(gss_inquire_cred(&mut minor, cred, null_mut(), null_mut(), &mut usage, null_mut()), 0);
        assert_eq!(usage, GSS_C_ACCEPT);
        assert_eq!(gss_release_cred(&mut minor, &mut cred), 0);
    }
}
