//! The C ABI driven from Rust: the whole flow through the exported functions, and their argument
//! checks. (The C programs in examples-c/ drive the same calls from C.)

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use crate::acceptor::*;
use crate::bytes::*;
use crate::ccache::*;
use crate::client::*;
use crate::kdc::*;
use crate::keytab::*;
use crate::result::*;
use crate::*;

const SERVICE: &CStr = c"host/server.ktix.test";

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns NUL-terminated strings that live as long as their owner.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn ok(r: ktix_result) {
    assert_eq!(r, KTIX_OK, "{}", text(ktix_last_error_message()));
}

#[test]
fn version_is_the_crate_version() {
    assert_eq!(text(ktix_version()), env!("CARGO_PKG_VERSION"));
    let macros = format!("{KTIX_VERSION_MAJOR}.{KTIX_VERSION_MINOR}.{KTIX_VERSION_PATCH}");
    assert_eq!(text(ktix_version()), macros);
    assert_eq!(format!("{KTIX_VERSION_MAJOR}.{KTIX_VERSION_MINOR}.{KTIX_VERSION_PATCH}"), env!("CARGO_PKG_VERSION"));
}

#[test]
fn handle_values_are_send_and_sync() {
    fn shared<C: crate::handle::Castable>() {}
    shared::<ktix_kdc>();
    shared::<ktix_kdc_server>();
    shared::<ktix_keytab>();
    shared::<ktix_ccache>();
    shared::<ktix_credentials>();
    shared::<ktix_client>();
    shared::<ktix_ap_context>();
    shared::<ktix_acceptor>();
    shared::<ktix_accepted>();
}

/// A realm in memory with alice and the service; the service's keytab.
fn realm() -> (*mut ktix_kdc, *mut ktix_keytab) {
    let mut kdc = null_mut();
    ok(ktix_kdc_new(c"KTIX.TEST".as_ptr(), &mut kdc));
    ok(ktix_kdc_add_principal(kdc, c"alice".as_ptr(), c"alice-pw".as_ptr()));
    ok(ktix_kdc_add_principal(kdc, SERVICE.as_ptr(), null()));
    let mut keytab = null_mut();
    ok(ktix_kdc_keytab(kdc, SERVICE.as_ptr(), &mut keytab));
    (kdc, keytab)
}

#[test]
fn the_whole_flow_over_loopback() {
    let (kdc, keytab) = realm();
    let mut server = null_mut();
    ok(ktix_kdc_server_new(kdc, c"127.0.0.1:0".as_ptr(), 0, &mut server));
    let address = ktix_kdc_server_address(server);
    assert!(text(address).starts_with("127.0.0.1:"));

    let mut cc = null_mut();
    ok(ktix_ccache_new_memory(&mut cc));
    assert!(text(ktix_ccache_name(cc)).starts_with("MEMORY:"));
    let mut client = null_mut();
    ok(ktix_client_new(c"KTIX.TEST".as_ptr(), address, cc, &mut client));
    ok(ktix_client_login(client, c"alice".as_ptr(), c"alice-pw".as_ptr()));

    let mut ap_req = ktix_bytes { data: null_mut(), len: 0 };
    let mut ctx = null_mut();
    ok(ktix_client_ap_req(client, SERVICE.as_ptr(), true, &mut ap_req, &mut ctx));
    assert!(ap_req.len > 0);

    let mut acceptor = null_mut();
    ok(ktix_acceptor_new(keytab, &mut acceptor));
    let mut accepted = null_mut();
    ok(ktix_acceptor_accept(acceptor, ap_req.data, ap_req.len, &mut accepted));
    assert_eq!(text(ktix_accepted_client(accepted)), "alice@KTIX.TEST");
    assert_eq!(text(ktix_accepted_server(accepted)), "host/server.ktix.test@KTIX.TEST");
    let mut times = ktix_times::default();
    ok(ktix_accepted_times(accepted, &mut times));
    assert!(times.end_time > times.start_time && times.start_time >= times.auth_time);

    // A replay of the same AP-REQ is refused.
    let mut again = null_mut();
    assert_eq!(ktix_acceptor_accept(acceptor, ap_req.data, ap_req.len, &mut again), KRB_AP_ERR_REPEAT);
    assert!(again.is_null());
    assert!(text(ktix_last_error_message()).starts_with("KRB_AP_ERR_REPEAT (34)"));

    let (mut rep, mut rep_len) = (null(), 0usize);
    ok(ktix_accepted_ap_rep(accepted, &mut rep, &mut rep_len));
    assert!(!rep.is_null() && rep_len > 0);
    assert!(!ktix_ap_context_is_verified(ctx));
    ok(ktix_ap_context_verify(ctx, rep, rep_len));
    assert!(ktix_ap_context_is_verified(ctx));

    // Both sides hold the same session key.
    let mut theirs = ktix_secret { data: null_mut(), len: 0, enctype: 0 };
    let mut ours = ktix_secret { data: null_mut(), len: 0, enctype: 0 };
    ok(ktix_accepted_session_key(accepted, &mut theirs));
    ok(ktix_ap_context_session_key(ctx, &mut ours));
    // SAFETY: each secret holds len bytes.
    let same = unsafe {
        std::slice::from_raw_parts(theirs.data, theirs.len) == std::slice::from_raw_parts(ours.data, ours.len)
    };
    // The realm's default enctypes: aes256-cts-hmac-sha1-96 (18) first.
    assert!(same && theirs.enctype == 18 && theirs.len == 32);
    ktix_secret_free(&mut theirs);
    ktix_secret_free(&mut ours);

    // The cache holds the TGT and the service ticket.
    let mut list = null_mut();
    ok(ktix_ccache_credentials(cc, &mut list));
    assert_eq!(ktix_credentials_len(list), 2);
    let mut info =
        ktix_credential_info { client: null(), server: null(), times: ktix_times::default(), enctype: 0, flags: 0 };
    ok(ktix_credentials_get(list, 0, &mut info));
    assert_eq!(text(info.server), "krbtgt/KTIX.TEST@KTIX.TEST");
    assert_eq!(text(info.client), "alice@KTIX.TEST");
    assert_ne!(info.flags & 0x0040_0000, 0, "INITIAL");
    assert_eq!(ktix_credentials_get(list, 2, &mut info), KTIX_ERR_INVALID_ARGUMENT);
    assert!(info.server.is_null());
    ktix_credentials_free(list);

    ok(ktix_client_logout(client));
    let mut list = null_mut();
    ok(ktix_ccache_credentials(cc, &mut list));
    assert_eq!(ktix_credentials_len(list), 0);
    ktix_credentials_free(list);
    let mut bytes = ktix_bytes { data: null_mut(), len: 0 };
    assert_eq!(ktix_client_ap_req(client, SERVICE.as_ptr(), false, &mut bytes, null_mut()), KTIX_ERR_NOT_LOGGED_IN);

    ok(ktix_kdc_server_stop(server));
    ok(ktix_kdc_server_stop(server));
    ktix_bytes_free(&mut ap_req);
    ktix_accepted_free(accepted);
    ktix_ap_context_free(ctx);
    ktix_acceptor_free(acceptor);
    ktix_client_free(client);
    ktix_ccache_free(cc);
    ktix_kdc_server_free(server);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
}

#[test]
fn in_process_client_keytab_login_and_handle() {
    let (kdc, keytab) = realm();
    let mut cc = null_mut();
    ok(ktix_ccache_new_memory(&mut cc));
    let mut client = null_mut();
    ok(ktix_client_new_in_process(kdc, cc, &mut client));
    ktix_ccache_free(cc); // the client keeps the cache
    ktix_kdc_free(kdc); // and the KDC
    ok(ktix_client_login_keytab(client, SERVICE.as_ptr(), keytab));
    assert_eq!(ktix_client_login(client, c"alice".as_ptr(), c"wrong".as_ptr()), KDC_ERR_PREAUTH_FAILED);
    assert_eq!(ktix_client_login(client, c"bob".as_ptr(), c"pw".as_ptr()), KDC_ERR_C_PRINCIPAL_UNKNOWN);
    ktix_client_free(client);

    assert_eq!(ktix_keytab_len(keytab), 2, "the default enctypes: 18, 17");
    let mut e = ktix_keytab_entry_info { principal: null(), kvno: 0, enctype: 0, timestamp: 0 };
    ok(ktix_keytab_entry(keytab, 0, &mut e));
    assert_eq!(text(e.principal), "host/server.ktix.test@KTIX.TEST");
    assert_eq!(e.kvno, 1);
    ktix_keytab_free(keytab);

    let (kdc, keytab) = realm();
    let mut reply = ktix_bytes { data: null_mut(), len: 0 };
    ok(ktix_kdc_handle(kdc, b"not a request".as_ptr(), 13, &mut reply));
    assert_eq!(reply.len, 0, "no reply to what is not a request");
    ktix_bytes_free(&mut reply);
    let malformed = [0x6a, 0x03, 0x02, 0x01, 0x05];
    ok(ktix_kdc_handle(kdc, malformed.as_ptr(), malformed.len(), &mut reply));
    assert!(reply.len > 0);
    // SAFETY: reply holds len bytes.
    let first = unsafe { *reply.data };
    assert_eq!(first, 0x7e, "a KRB-ERROR ([APPLICATION 30])");
    ktix_bytes_free(&mut reply);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
}

#[test]
fn a_stash_may_be_named_and_postgres_requires_one() {
    let dir = tempfile_dir("stash");
    let db = std::ffi::CString::new(dir.join("realm.db").to_string_lossy().as_bytes()).expect("path");
    let stash = std::ffi::CString::new(dir.join("elsewhere.stash").to_string_lossy().as_bytes()).expect("path");
    let mut kdc = null_mut();
    ok(ktix_kdc_open_with_stash(db.as_ptr(), stash.as_ptr(), c"DB.TEST".as_ptr(), &mut kdc));
    ktix_kdc_free(kdc);
    assert!(dir.join("elsewhere.stash").exists() && !dir.join("realm.db.stash").exists());
    let mut kdc = null_mut();
    ok(ktix_kdc_open_with_stash(db.as_ptr(), stash.as_ptr(), null(), &mut kdc));
    ktix_kdc_free(kdc);
    let mut kdc = null_mut();
    assert_eq!(ktix_kdc_open(db.as_ptr(), null(), &mut kdc), KTIX_ERR_IO, "not beside the file");
    let uri = c"postgresql://ktix@127.0.0.1:1/realm";
    assert_eq!(ktix_kdc_open(uri.as_ptr(), c"DB.TEST".as_ptr(), &mut kdc), KTIX_ERR_INVALID_ARGUMENT);
    assert!(kdc.is_null());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ktix-ffi-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn database_realm_is_created_then_reopened() {
    let dir = std::env::temp_dir().join(format!("ktix-ffi-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = std::ffi::CString::new(dir.join("realm.db").to_string_lossy().as_bytes()).expect("path");
    let mut kdc = null_mut();
    assert_eq!(ktix_kdc_open(db.as_ptr(), null(), &mut kdc), KTIX_ERR_NULL_ARGUMENT);
    ok(ktix_kdc_open(db.as_ptr(), c"DB.TEST".as_ptr(), &mut kdc));
    ok(ktix_kdc_add_principal(kdc, c"alice".as_ptr(), c"pw".as_ptr()));
    ktix_kdc_free(kdc);
    let mut kdc = null_mut();
    assert_eq!(ktix_kdc_open(db.as_ptr(), c"OTHER.TEST".as_ptr(), &mut kdc), KTIX_ERR_INVALID_ARGUMENT);
    ok(ktix_kdc_open(db.as_ptr(), null(), &mut kdc));
    assert_eq!(ktix_kdc_add_principal(kdc, c"alice".as_ptr(), c"pw".as_ptr()), KTIX_ERR_EXISTS);
    let mut kt = null_mut();
    ok(ktix_kdc_keytab(kdc, c"alice".as_ptr(), &mut kt));
    let path = std::ffi::CString::new(dir.join("alice.keytab").to_string_lossy().as_bytes()).expect("path");
    ok(ktix_keytab_save(kt, path.as_ptr()));
    let mut loaded = null_mut();
    ok(ktix_keytab_load(path.as_ptr(), &mut loaded));
    assert_eq!(ktix_keytab_len(loaded), ktix_keytab_len(kt));
    ktix_keytab_free(loaded);
    ktix_keytab_free(kt);
    ktix_kdc_free(kdc);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn database_realm_keeps_the_database_enctypes() {
    let dir = std::env::temp_dir().join(format!("ktix-ffi-enctypes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("realm.db");
    // A database made as `ktix db init --enctypes aes128-cts-hmac-sha1-96` makes it.
    let store = ktix::kdc::SqliteStore::open_or_create(&path, Some("DB.TEST")).expect("database");
    store.set_enctypes(&[ktix::Enctype::Aes128CtsHmacSha196]).expect("enctypes");
    drop(store);
    let db = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("path");
    let mut kdc = null_mut();
    ok(ktix_kdc_open(db.as_ptr(), null(), &mut kdc));
    ok(ktix_kdc_add_principal(kdc, c"alice".as_ptr(), c"pw".as_ptr()));
    let mut kt = null_mut();
    ok(ktix_kdc_keytab(kdc, c"alice".as_ptr(), &mut kt));
    assert_eq!(ktix_keytab_len(kt), 1);
    let mut e = ktix_keytab_entry_info { principal: null(), kvno: 0, enctype: 0, timestamp: 0 };
    ok(ktix_keytab_entry(kt, 0, &mut e));
    assert_eq!(e.enctype, 17);
    ktix_keytab_free(kt);
    ktix_kdc_free(kdc);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn null_and_wrong_arguments_give_result_codes() {
    let mut out = null_mut();
    assert_eq!(ktix_kdc_new(null(), &mut out), KTIX_ERR_NULL_ARGUMENT);
    assert_eq!(ktix_kdc_new(c"R".as_ptr(), null_mut()), KTIX_ERR_NULL_ARGUMENT);
    assert_eq!(ktix_kdc_new(c"".as_ptr(), &mut out), KTIX_ERR_INVALID_ARGUMENT);
    assert!(out.is_null());
    let (kdc, keytab) = realm();
    // A keytab handle where an acceptor is expected.
    let mut accepted = null_mut();
    let r = ktix_acceptor_accept(keytab.cast::<ktix_acceptor>(), b"x".as_ptr(), 1, &mut accepted);
    assert_eq!(r, KTIX_ERR_INVALID_ARGUMENT);
    let mut acceptor = null_mut();
    ok(ktix_acceptor_new(keytab, &mut acceptor));
    assert_eq!(ktix_acceptor_accept(acceptor, null(), 5, &mut accepted), KTIX_ERR_NULL_ARGUMENT);
    assert_eq!(ktix_acceptor_accept(acceptor, b"x".as_ptr(), usize::MAX, &mut accepted), KTIX_ERR_INVALID_ARGUMENT);
    assert_eq!(ktix_acceptor_accept(acceptor, b"garbage".as_ptr(), 7, &mut accepted), KTIX_ERR_MALFORMED);
    assert!(accepted.is_null());
    assert_eq!(ktix_kdc_server_new(kdc, c"".as_ptr(), 0, &mut null_mut()), KTIX_ERR_INVALID_ARGUMENT);
    assert_eq!(ktix_kdc_server_new(kdc, c"127.0.0.1:0".as_ptr(), 0x80, &mut null_mut()), KTIX_ERR_INVALID_ARGUMENT);
    assert!(ktix_accepted_client(null()).is_null());
    assert!(text(ktix_last_error_message()).contains("the ktix_accepted handle is NULL"));
    assert!(ktix_kdc_server_address(kdc.cast::<ktix_kdc_server>()).is_null());
    assert!(text(ktix_last_error_message()).contains("not a live ktix_kdc_server handle"));
    assert_eq!(ktix_keytab_len(null()), 0);
    assert_eq!(ktix_ccache_destroy(null()), KTIX_ERR_NULL_ARGUMENT);
    let mut client = null_mut();
    assert_eq!(ktix_client_new_default(null(), &mut client), KTIX_ERR_NULL_ARGUMENT);
    assert!(client.is_null());
    let mut cc = null_mut();
    ok(ktix_ccache_new_memory(&mut cc));
    assert_eq!(ktix_client_new_default(cc, null_mut()), KTIX_ERR_NULL_ARGUMENT);
    assert_eq!(ktix_client_new_default(kdc.cast::<ktix_ccache>(), &mut client), KTIX_ERR_INVALID_ARGUMENT);
    assert!(client.is_null());
    ktix_ccache_free(cc);
    assert_eq!(text(ktix_result_name(KTIX_ERR_NULL_ARGUMENT)), "KTIX_ERR_NULL_ARGUMENT");
    ktix_acceptor_free(acceptor);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    ktix_kdc_free(null_mut());
    ktix_accepted_free(null_mut());
}

#[test]
fn file_cache_is_shared_through_the_file() {
    let dir = std::env::temp_dir().join(format!("ktix-ffi-cc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = std::ffi::CString::new(dir.join("cc").to_string_lossy().as_bytes()).expect("path");
    let (kdc, keytab) = realm();

    // One client logs in into the file; a second client on another handle to the file uses the TGT.
    let mut cc = null_mut();
    ok(ktix_ccache_new_file(path.as_ptr(), &mut cc));
    assert_eq!(text(ktix_ccache_name(cc)), format!("FILE:{}", dir.join("cc").display()));
    let mut client = null_mut();
    ok(ktix_client_new_in_process(kdc, cc, &mut client));
    ok(ktix_client_login(client, c"alice".as_ptr(), c"alice-pw".as_ptr()));
    ktix_client_free(client);
    ktix_ccache_free(cc);

    let name = std::ffi::CString::new(format!("FILE:{}", dir.join("cc").display())).expect("name");
    let mut cc2 = null_mut();
    ok(ktix_ccache_resolve(name.as_ptr(), &mut cc2));
    let mut client2 = null_mut();
    ok(ktix_client_new_in_process(kdc, cc2, &mut client2));
    let mut req = ktix_bytes { data: null_mut(), len: 0 };
    ok(ktix_client_ap_req(client2, SERVICE.as_ptr(), false, &mut req, null_mut()));
    let mut acceptor = null_mut();
    ok(ktix_acceptor_new(keytab, &mut acceptor));
    let mut accepted = null_mut();
    ok(ktix_acceptor_accept(acceptor, req.data, req.len, &mut accepted));
    assert_eq!(text(ktix_accepted_client(accepted)), "alice@KTIX.TEST");
    ok(ktix_client_logout(client2));
    assert!(!dir.join("cc").exists());
    assert_eq!(ktix_ccache_destroy(cc2), KTIX_ERR_NOT_FOUND);
    assert_eq!(ktix_ccache_resolve(c"KEYRING:x".as_ptr(), &mut null_mut()), KTIX_ERR_INVALID_ARGUMENT);
    assert_eq!(ktix_ccache_new_file(c"".as_ptr(), &mut null_mut()), KTIX_ERR_INVALID_ARGUMENT);

    ktix_bytes_free(&mut req);
    ktix_accepted_free(accepted);
    ktix_acceptor_free(acceptor);
    ktix_client_free(client2);
    ktix_ccache_free(cc2);
    ktix_keytab_free(keytab);
    ktix_kdc_free(kdc);
    let _ = std::fs::remove_dir_all(&dir);
}
