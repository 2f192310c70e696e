//! The RFC 2744 calls over `ktix::gss`: names, credentials, security contexts and per-message
//! tokens, plus MIT's extensions that real programs use (`gss_acquire_cred_from` with a
//! credential store, `gss_store_cred_into`, `gss_set_neg_mechs`, `gss_localname`,
//! `gss_krb5_ccache_name`, `krb5_gss_register_acceptor_identity`).
//!
//! Every input is read through the helpers of `handles`, `mem` and `types` (NULL and foreign
//! handles are calling errors); every failure is a core [`Error`] mapped by `Status::of` in
//! `boundary`. Environment variables (`KRB5CCNAME`, `KRB5_KTNAME`, `KRB5_CONFIG`) are read by the
//! core at each call, never cached here.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Mutex;

use ktix::acceptor::ReplayCacheName;
use ktix::config::Krb5Conf;
use ktix::gss::{
    major, oid, AcceptorContext, AcceptorCred, AcceptorOptions, ChannelBindings, ContextFlags, InitiatorContext,
    InitiatorCred, InitiatorOptions, Mech, Name, SecurityContext, Status,
};
use ktix::{AcceptorConfig, CCache, Error, ErrorCode, Principal, Time};

use crate::boundary::{call, null_read, null_write, Failure, GssResult};
use crate::handles::{self, Kind};
use crate::mem;
use crate::support::{check_mech, out_oid, MECHS};
use crate::types::*;

// ----- handles ----------------------------------------------------------------------------------

/// What a `gss_name_t` holds.
pub struct NameHandle(pub Name);

impl Kind for NameHandle {
    const TAG: u64 = 0x6b74_6978_6e61_6d65;
    const WHAT: &'static str = "gss_name_t";
    const BAD: u32 = major::BAD_NAME;
}

/// What a `gss_cred_id_t` holds: the initiator part (a ticket cache), the acceptor part (a
/// keytab), or both.
pub struct CredHandle {
    initiator: Option<InitiatorCred>,
    /// The cache behind a delegated credential, for `gss_store_cred`.
    delegated: Option<CCache>,
    acceptor: Option<AcceptorCred>,
    /// `gss_set_neg_mechs`: the mechanisms SPNEGO may negotiate with this credential.
    neg_mechs: Option<Vec<Vec<u8>>>,
}

impl Kind for CredHandle {
    const TAG: u64 = 0x6b74_6978_6372_6564;
    const WHAT: &'static str = "gss_cred_id_t";
    const BAD: u32 = major::NO_CRED;
}

/// What a `gss_ctx_id_t` holds.
pub enum ContextHandle {
    /// Made by `gss_init_sec_context`.
    Initiator(InitiatorContext),
    /// Made by `gss_accept_sec_context`.
    Acceptor(AcceptorContext),
}

impl Kind for ContextHandle {
    const TAG: u64 = 0x6b74_6978_6374_7874;
    const WHAT: &'static str = "gss_ctx_id_t";
    const BAD: u32 = major::NO_CONTEXT;
}

impl ContextHandle {
    fn sc(&self) -> &dyn SecurityContext {
        match self {
            ContextHandle::Initiator(c) => c,
            ContextHandle::Acceptor(c) => c,
        }
    }
}

unsafe fn name_ref<'a>(h: Handle) -> Result<&'a Name, Failure> {
    handles::get::<NameHandle>(h).map(|n| &n.0)
}

unsafe fn ctx_ref<'a>(h: Handle) -> Result<&'a mut ContextHandle, Failure> {
    handles::get::<ContextHandle>(h)
}

/// Writes `value` through an optional output pointer.
unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        p.write(value);
    }
}

/// Writes a new name handle for the principal `name` gives into `out`, when `out` is not NULL
/// and there is a principal (asked only then).
unsafe fn put_name(out: *mut Handle, name: impl FnOnce() -> Option<Principal>) {
    if !out.is_null() {
        if let Some(p) = name() {
            out.write(handles::into_raw(NameHandle(Name::from_principal(p))));
        }
    }
}

/// Seconds from now until `t` (0 when past), as RFC 2744's lifetimes.
fn remaining(t: Option<Time>) -> OM_uint32 {
    match t {
        None => GSS_C_INDEFINITE,
        Some(t) => t.secs_since(Time::now()).clamp(0, i64::from(GSS_C_INDEFINITE - 1)) as OM_uint32,
    }
}

fn gss_err(code: ErrorCode, message: impl Into<String>) -> Failure {
    Failure::Core(Error::new(code, message))
}

// ----- process and thread defaults (MIT's extensions) -------------------------------------------

/// `krb5_gss_register_acceptor_identity`: the keytab acceptors use when none is named.
static ACCEPTOR_KEYTAB: Mutex<Option<String>> = Mutex::new(None);

thread_local! {
    /// `gss_krb5_ccache_name`: this thread's credential cache, when set.
    static THREAD_CCACHE: RefCell<Option<CString>> = const { RefCell::new(None) };
    /// The previous name `gss_krb5_ccache_name` handed out (valid until its next call).
    static PREVIOUS_CCACHE: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn default_ccache() -> Option<String> {
    THREAD_CCACHE.with(|c| c.borrow().as_ref().map(|s| s.to_string_lossy().into_owned()))
}

fn default_keytab() -> Option<String> {
    ACCEPTOR_KEYTAB.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `krb5_gss_register_acceptor_identity`: `path` becomes the keytab of acceptors that name none.
#[no_mangle]
pub unsafe extern "C" fn krb5_gss_register_acceptor_identity(path: *const c_char) -> OM_uint32 {
    call(std::ptr::null_mut(), || {
        let value = (!path.is_null()).then(|| CStr::from_ptr(path).to_string_lossy().into_owned());
        *ACCEPTOR_KEYTAB.lock().unwrap_or_else(|e| e.into_inner()) = value;
        Ok(major::COMPLETE)
    })
}

/// `gss_krb5_ccache_name`: sets this thread's credential cache (`NULL`: back to `KRB5CCNAME`);
/// `*out_name` gets the previous one.
#[no_mangle]
pub unsafe extern "C" fn gss_krb5_ccache_name(
    minor: *mut OM_uint32,
    name: *const c_char,
    out_name: *mut *const c_char,
) -> OM_uint32 {
    call(minor, || {
        let new = (!name.is_null()).then(|| CStr::from_ptr(name).to_owned());
        let old = THREAD_CCACHE.with(|c| std::mem::replace(&mut *c.borrow_mut(), new));
        if !out_name.is_null() {
            let old = old.unwrap_or_else(|| CString::new(CCache::default_name()).unwrap_or_default());
            PREVIOUS_CCACHE.with(|p| {
                let mut p = p.borrow_mut();
                *p = Some(old);
                out_name.write(p.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()));
            });
        }
        Ok(major::COMPLETE)
    })
}

// ----- names ------------------------------------------------------------------------------------

/// `gss_import_name`.
#[no_mangle]
pub unsafe extern "C" fn gss_import_name(
    minor: *mut OM_uint32,
    input: *const gss_buffer_desc,
    name_type: *const gss_OID_desc,
    output: *mut Handle,
) -> OM_uint32 {
    call(minor, || {
        if output.is_null() {
            return Err(null_write("output_name"));
        }
        output.write(std::ptr::null_mut());
        if input.is_null() {
            return Err(null_read("input_name_buffer"));
        }
        let bytes = mem::buffer_bytes(input)?;
        // C programs often count the terminating NUL in the length.
        let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        let name = Name::import(bytes, oid_bytes(name_type))?;
        output.write(handles::into_raw(NameHandle(name)));
        Ok(major::COMPLETE)
    })
}

/// `gss_display_name`.
#[no_mangle]
pub unsafe extern "C" fn gss_display_name(
    minor: *mut OM_uint32,
    name: Handle,
    output: gss_buffer_t,
    output_type: *mut gss_OID,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output);
        let name = name_ref(name)?;
        mem::set_buffer(output, name.display().as_bytes())?;
        put(output_type, crate::types::name_type_desc(name.name_type()));
        Ok(major::COMPLETE)
    })
}

/// `gss_compare_name`.
#[no_mangle]
pub unsafe extern "C" fn gss_compare_name(minor: *mut OM_uint32, a: Handle, b: Handle, equal: *mut c_int) -> OM_uint32 {
    call(minor, || {
        if equal.is_null() {
            return Err(null_write("name_equal"));
        }
        let (a, b) = (name_ref(a)?, name_ref(b)?);
        equal.write(c_int::from(a == b));
        Ok(major::COMPLETE)
    })
}

/// `gss_export_name`: RFC 2743 §3.2 (`04 01`, OID, name), for a mechanism name.
#[no_mangle]
pub unsafe extern "C" fn gss_export_name(minor: *mut OM_uint32, name: Handle, output: gss_buffer_t) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output);
        let exported = name_ref(name)?.export()?;
        mem::set_buffer(output, &exported)?;
        Ok(major::COMPLETE)
    })
}

/// `gss_duplicate_name`.
#[no_mangle]
pub unsafe extern "C" fn gss_duplicate_name(minor: *mut OM_uint32, name: Handle, output: *mut Handle) -> OM_uint32 {
    call(minor, || {
        if output.is_null() {
            return Err(null_write("dest_name"));
        }
        let copy = name_ref(name)?.clone();
        output.write(handles::into_raw(NameHandle(copy)));
        Ok(major::COMPLETE)
    })
}

/// `gss_canonicalize_name`: the Kerberos principal the name stands for (krb5.conf's
/// `[domain_realm]` and `default_realm`, no DNS).
#[no_mangle]
pub unsafe extern "C" fn gss_canonicalize_name(
    minor: *mut OM_uint32,
    name: Handle,
    mech: *const gss_OID_desc,
    output: *mut Handle,
) -> OM_uint32 {
    call(minor, || {
        if output.is_null() {
            return Err(null_write("output_name"));
        }
        let m = oid_bytes(mech).ok_or_else(|| null_read("mech_type"))?;
        check_mech(Some(m))?;
        let principal = name_ref(name)?.canonicalize()?;
        output.write(handles::into_raw(NameHandle(Name::from_principal(principal))));
        Ok(major::COMPLETE)
    })
}

/// `gss_release_name`.
#[no_mangle]
pub unsafe extern "C" fn gss_release_name(minor: *mut OM_uint32, name: *mut Handle) -> OM_uint32 {
    call(minor, || release::<NameHandle>(name, "name"))
}

/// Releases the handle in `*slot` and sets the slot to NULL; a NULL handle is nothing to release
/// (`gss_release_name`, `gss_release_cred`).
///
/// # Safety
/// `slot` is NULL or points to a handle that is NULL or was handed out by this library.
unsafe fn release<T: handles::Kind>(slot: *mut Handle, what: &str) -> Result<OM_uint32, Failure> {
    if slot.is_null() {
        return Err(null_read(what));
    }
    if !(*slot).is_null() {
        handles::take::<T>(*slot)?;
        slot.write(std::ptr::null_mut());
    }
    Ok(major::COMPLETE)
}

/// The local account of a name: MIT's default `auth_to_local` rule (a one-component principal
/// of the default realm maps to that component).
fn local_name(name: &Name) -> Result<String, Failure> {
    let p = name.canonicalize()?;
    let default = Krb5Conf::load_default()?.default_realm;
    match (p.components(), default) {
        ([user], Some(realm)) if realm == p.realm() => Ok(user.clone()),
        _ => Err(gss_err(
            ErrorCode::KTIX_ERR_NOT_FOUND,
            format!("no local account for {p}: not a user of the default realm"),
        )),
    }
}

/// `gss_localname`.
#[no_mangle]
pub unsafe extern "C" fn gss_localname(
    minor: *mut OM_uint32,
    name: Handle,
    mech: *const gss_OID_desc,
    local: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(local);
        check_mech(oid_bytes(mech))?;
        let user = local_name(name_ref(name)?)?;
        mem::set_buffer(local, user.as_bytes())?;
        Ok(major::COMPLETE)
    })
}

/// `gss_userok`: whether `name` may log in as `user` (its local name is `user`).
#[no_mangle]
pub unsafe extern "C" fn gss_userok(name: Handle, user: *const c_char) -> c_int {
    if user.is_null() {
        return 0;
    }
    let mut ok = false;
    call(std::ptr::null_mut(), || {
        ok = local_name(name_ref(name)?)?.as_bytes() == CStr::from_ptr(user).to_bytes();
        Ok(major::COMPLETE)
    });
    c_int::from(ok)
}

/// `gss_pname_to_uid`.
#[no_mangle]
pub unsafe extern "C" fn gss_pname_to_uid(
    minor: *mut OM_uint32,
    name: Handle,
    mech: *const gss_OID_desc,
    uid: *mut libc::uid_t,
) -> OM_uint32 {
    call(minor, || {
        if uid.is_null() {
            return Err(null_write("uidp"));
        }
        check_mech(oid_bytes(mech))?;
        let user = local_name(name_ref(name)?)?;
        let c = CString::new(user.clone()).map_err(|_| gss_err(ErrorCode::KTIX_ERR_GSS_BAD_NAME, "NUL in a name"))?;
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as c_char; 16384];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut found);
        if found.is_null() {
            return Err(gss_err(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no account {user:?} on this system")));
        }
        uid.write(pw.pw_uid);
        Ok(major::COMPLETE)
    })
}

// ----- credentials ------------------------------------------------------------------------------

/// A credential store (`gss_acquire_cred_from`): `ccache`, `keytab`, `client_keytab`, `rcache`.
#[derive(Default)]
struct Store {
    ccache: Option<String>,
    keytab: Option<String>,
    rcache: Option<String>,
}

unsafe fn read_store(store: *const gss_key_value_set_desc) -> Result<Store, Failure> {
    let mut out = Store::default();
    if store.is_null() || (*store).count == 0 {
        return Ok(out);
    }
    if (*store).elements.is_null() {
        return Err(Failure::Major(major::CALL_BAD_STRUCTURE, "a credential store with no elements".into()));
    }
    for i in 0..(*store).count as usize {
        let e = &*(*store).elements.add(i);
        if e.key.is_null() || e.value.is_null() {
            return Err(Failure::Major(major::CALL_BAD_STRUCTURE, "a credential store element is NULL".into()));
        }
        let key = CStr::from_ptr(e.key).to_string_lossy();
        let value = CStr::from_ptr(e.value).to_string_lossy().into_owned();
        match key.as_ref() {
            "ccache" => out.ccache = Some(value),
            "keytab" => out.keytab = Some(value),
            "rcache" => out.rcache = Some(value),
            // A client keytab (MIT's initiator-side key source) is not used.
            "client_keytab" => {}
            other => {
                return Err(gss_err(
                    ErrorCode::KTIX_ERR_GSS_UNAVAILABLE,
                    format!("credential store key {other:?} is not supported"),
                ))
            }
        }
    }
    Ok(out)
}

unsafe fn check_mechs(mechs: *const gss_OID_set_desc) -> Result<(), Failure> {
    let wanted = mem::set_members(mechs);
    if !mechs.is_null() && !wanted.is_empty() && !wanted.iter().any(|m| oid::is_krb5(m) || *m == oid::SPNEGO) {
        return check_mech(wanted.first().copied());
    }
    Ok(())
}

/// Where an acceptor remembers authenticators: the store's `rcache`, else `KRB5RCACHENAME` /
/// `KRB5RCACHETYPE` (read now), else `dfl:` — the file every process of the service shares, as
/// MIT's library does, because the programs that load this library are mostly forking servers
/// (PostgreSQL's backends, Apache's workers) whose processes must catch each other's replays.
fn replay_cache(store: &Store) -> Result<ReplayCacheName, Failure> {
    let name = match &store.rcache {
        Some(name) => ReplayCacheName::parse(name),
        None => ReplayCacheName::from_env_or(ReplayCacheName::File(ReplayCacheName::default_file())),
    };
    name.map_err(|e| gss_err(ErrorCode::KTIX_ERR_GSS_NO_CRED, format!("replay cache: {}", e.message())))
}

/// The credentials `usage` asks for, from `store` or the defaults.
fn acquire(name: Option<&Name>, usage: c_int, store: &Store) -> Result<CredHandle, Failure> {
    let want_init = usage == GSS_C_INITIATE || usage == GSS_C_BOTH;
    let want_accept = usage == GSS_C_ACCEPT || usage == GSS_C_BOTH;
    if !want_init && !want_accept {
        return Err(Failure::Major(
            major::FAILURE,
            format!("cred_usage {usage} is not GSS_C_BOTH, GSS_C_INITIATE or GSS_C_ACCEPT"),
        ));
    }
    let mut first_error = None;
    let mut initiator = None;
    if want_init {
        let ccache = store.ccache.clone().or_else(default_ccache);
        match InitiatorCred::acquire(ccache.as_deref()) {
            Ok(cred) => {
                let wanted = name.map(Name::canonicalize).transpose()?;
                match wanted {
                    Some(p) if &p != cred.name() => {
                        first_error = Some(Error::new(
                            ErrorCode::KTIX_ERR_GSS_NO_CRED,
                            format!("the credential cache holds tickets of {}, not {p}", cred.name()),
                        ))
                    }
                    _ => initiator = Some(cred),
                }
            }
            Err(e) => first_error = Some(e),
        }
    }
    let mut acceptor = None;
    if want_accept {
        let keytab = store.keytab.clone().or_else(default_keytab);
        let config = AcceptorConfig { replay_cache: Some(replay_cache(store)?), ..AcceptorConfig::default() };
        match AcceptorCred::acquire_with(keytab.as_deref(), name, config) {
            Ok(cred) => acceptor = Some(cred),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    // GSS_C_BOTH is satisfied by either part (a service that also initiates, or not).
    match (initiator.is_some() || acceptor.is_some(), first_error) {
        (false, Some(e)) => Err(e.into()),
        _ => Ok(CredHandle { initiator, delegated: None, acceptor, neg_mechs: None }),
    }
}

unsafe fn finish_acquire(
    cred: CredHandle,
    output: *mut Handle,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> GssResult {
    if !actual_mechs.is_null() {
        actual_mechs.write(mem::oid_set_of(&MECHS)?);
    }
    put(time_rec, remaining(cred.initiator.as_ref().map(InitiatorCred::expires)));
    output.write(handles::into_raw(cred));
    Ok(major::COMPLETE)
}

/// `gss_acquire_cred`.
#[no_mangle]
pub unsafe extern "C" fn gss_acquire_cred(
    minor: *mut OM_uint32,
    desired_name: Handle,
    _time_req: OM_uint32,
    desired_mechs: *const gss_OID_set_desc,
    usage: c_int,
    output: *mut Handle,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    gss_acquire_cred_from(
        minor,
        desired_name,
        _time_req,
        desired_mechs,
        usage,
        std::ptr::null(),
        output,
        actual_mechs,
        time_rec,
    )
}

/// `gss_acquire_cred_from` (MIT's extension): `keytab:` and `ccache:` stores.
#[no_mangle]
pub unsafe extern "C" fn gss_acquire_cred_from(
    minor: *mut OM_uint32,
    desired_name: Handle,
    _time_req: OM_uint32,
    desired_mechs: *const gss_OID_set_desc,
    usage: c_int,
    store: *const gss_key_value_set_desc,
    output: *mut Handle,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        if output.is_null() {
            return Err(null_write("output_cred_handle"));
        }
        output.write(std::ptr::null_mut());
        put(actual_mechs, std::ptr::null_mut());
        check_mechs(desired_mechs)?;
        let name = if desired_name.is_null() { None } else { Some(name_ref(desired_name)?) };
        let cred = acquire(name, usage, &read_store(store)?)?;
        finish_acquire(cred, output, actual_mechs, time_rec)
    })
}

/// `gss_release_cred`.
#[no_mangle]
pub unsafe extern "C" fn gss_release_cred(minor: *mut OM_uint32, cred: *mut Handle) -> OM_uint32 {
    call(minor, || release::<CredHandle>(cred, "cred_handle"))
}

/// The credential a call names, or the default initiator credential for `GSS_C_NO_CREDENTIAL`.
unsafe fn cred_or_default(cred: Handle, holder: &mut Option<CredHandle>) -> Result<&CredHandle, Failure> {
    if cred.is_null() {
        Ok(holder.insert(acquire(None, GSS_C_INITIATE, &Store::default())?))
    } else {
        Ok(handles::get::<CredHandle>(cred)?)
    }
}

fn cred_usage(c: &CredHandle) -> c_int {
    match (c.initiator.is_some(), c.acceptor.is_some()) {
        (true, true) => GSS_C_BOTH,
        (true, false) => GSS_C_INITIATE,
        _ => GSS_C_ACCEPT,
    }
}

fn cred_name(c: &CredHandle) -> Option<Principal> {
    c.initiator.as_ref().map(|i| i.name().clone()).or_else(|| c.acceptor.as_ref().and_then(|a| a.name().cloned()))
}

/// `gss_inquire_cred`.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_cred(
    minor: *mut OM_uint32,
    cred: Handle,
    name: *mut Handle,
    lifetime: *mut OM_uint32,
    usage: *mut c_int,
    mechs: *mut gss_OID_set,
) -> OM_uint32 {
    call(minor, || {
        put(name, std::ptr::null_mut());
        put(mechs, std::ptr::null_mut());
        let mut holder = None;
        let c = cred_or_default(cred, &mut holder)?;
        put(lifetime, remaining(c.initiator.as_ref().map(InitiatorCred::expires)));
        put(usage, cred_usage(c));
        if !mechs.is_null() {
            mechs.write(mem::oid_set_of(&MECHS)?);
        }
        put_name(name, || cred_name(c));
        Ok(major::COMPLETE)
    })
}

/// `gss_inquire_cred_by_mech`.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_cred_by_mech(
    minor: *mut OM_uint32,
    cred: Handle,
    mech: *const gss_OID_desc,
    name: *mut Handle,
    init_lifetime: *mut OM_uint32,
    accept_lifetime: *mut OM_uint32,
    usage: *mut c_int,
) -> OM_uint32 {
    call(minor, || {
        put(name, std::ptr::null_mut());
        check_mech(oid_bytes(mech))?;
        let mut holder = None;
        let c = cred_or_default(cred, &mut holder)?;
        put(init_lifetime, c.initiator.as_ref().map_or(0, |i| remaining(Some(i.expires()))));
        put(accept_lifetime, if c.acceptor.is_some() { GSS_C_INDEFINITE } else { 0 });
        put(usage, cred_usage(c));
        put_name(name, || cred_name(c));
        Ok(major::COMPLETE)
    })
}

/// `gss_set_neg_mechs`: the mechanisms SPNEGO may negotiate with `cred` (Kerberos V5 is the only
/// one this library has, so a set without it leaves SPNEGO nothing).
#[no_mangle]
pub unsafe extern "C" fn gss_set_neg_mechs(
    minor: *mut OM_uint32,
    cred: Handle,
    mechs: *const gss_OID_set_desc,
) -> OM_uint32 {
    call(minor, || {
        let c = handles::get::<CredHandle>(cred)?;
        if mechs.is_null() {
            return Err(null_read("mech_set"));
        }
        c.neg_mechs = Some(mem::set_members(mechs).into_iter().map(<[u8]>::to_vec).collect());
        Ok(major::COMPLETE)
    })
}

/// Whether SPNEGO may use Kerberos V5 with `cred` (not excluded by `gss_set_neg_mechs`).
fn spnego_allows_krb5(cred: Option<&CredHandle>) -> bool {
    cred.and_then(|c| c.neg_mechs.as_ref()).is_none_or(|m| m.iter().any(|o| oid::is_krb5(o)))
}

/// `gss_store_cred`.
#[no_mangle]
pub unsafe extern "C" fn gss_store_cred(
    minor: *mut OM_uint32,
    cred: Handle,
    usage: c_int,
    mech: *const gss_OID_desc,
    overwrite: OM_uint32,
    default: OM_uint32,
    elements_stored: *mut gss_OID_set,
    usage_stored: *mut c_int,
) -> OM_uint32 {
    gss_store_cred_into(minor, cred, usage, mech, overwrite, default, std::ptr::null(), elements_stored, usage_stored)
}

/// `gss_store_cred_into` (MIT's extension): a delegated credential into the store's `ccache`
/// (or the default cache).
#[no_mangle]
pub unsafe extern "C" fn gss_store_cred_into(
    minor: *mut OM_uint32,
    cred: Handle,
    usage: c_int,
    mech: *const gss_OID_desc,
    _overwrite: OM_uint32,
    _default: OM_uint32,
    store: *const gss_key_value_set_desc,
    elements_stored: *mut gss_OID_set,
    usage_stored: *mut c_int,
) -> OM_uint32 {
    call(minor, || {
        put(elements_stored, std::ptr::null_mut());
        check_mech(oid_bytes(mech))?;
        let c = handles::get::<CredHandle>(cred)?;
        if usage == GSS_C_ACCEPT {
            return Err(gss_err(ErrorCode::KTIX_ERR_GSS_UNAVAILABLE, "acceptor credentials cannot be stored"));
        }
        let source = c
            .delegated
            .as_ref()
            .ok_or_else(|| gss_err(ErrorCode::KTIX_ERR_GSS_NO_CRED, "the credential holds no tickets to store"))?;
        let principal = source
            .principal()?
            .ok_or_else(|| gss_err(ErrorCode::KTIX_ERR_GSS_NO_CRED, "the credential's cache has no principal"))?;
        let dest_name = read_store(store)?.ccache.or_else(default_ccache).unwrap_or_else(CCache::default_name);
        let dest = CCache::resolve(&dest_name)?;
        dest.initialize(&principal)?;
        for cred in source.credentials()? {
            dest.store(cred)?;
        }
        if !elements_stored.is_null() {
            elements_stored.write(mem::oid_set_of(&[oid::KRB5])?);
        }
        put(usage_stored, GSS_C_INITIATE);
        Ok(major::COMPLETE)
    })
}

// ----- security contexts ------------------------------------------------------------------------

unsafe fn bindings(cb: *const gss_channel_bindings_struct) -> Result<Option<ChannelBindings>, Failure> {
    if cb.is_null() {
        return Ok(None);
    }
    let cb = &*cb;
    Ok(Some(ChannelBindings {
        initiator_addrtype: cb.initiator_addrtype,
        initiator_address: mem::buffer_bytes(&cb.initiator_address)?.to_vec(),
        acceptor_addrtype: cb.acceptor_addrtype,
        acceptor_address: mem::buffer_bytes(&cb.acceptor_address)?.to_vec(),
        application_data: mem::buffer_bytes(&cb.application_data)?.to_vec(),
    }))
}

/// The RFC 2744 flags a program may request of an initiator.
const REQUESTABLE: u32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20;

/// Fills the outputs common to init and accept; the major status of the step.
unsafe fn step_outputs(
    ctx: &ContextHandle,
    token: Option<Vec<u8>>,
    output_token: gss_buffer_t,
    mech: *mut gss_OID,
    flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> GssResult {
    let sc = ctx.sc();
    mem::set_buffer(output_token, token.as_deref().unwrap_or(&[]))?;
    put(mech, out_oid(sc.mech()));
    let complete = sc.is_complete();
    let f = sc.flags();
    put(flags, if complete { f.with(ContextFlags::PROT_READY).0 } else { f.0 });
    put(time_rec, if complete { remaining(sc.expires()) } else { 0 });
    Ok(if complete { major::COMPLETE } else { major::CONTINUE_NEEDED })
}

/// `gss_init_sec_context`: Kerberos V5 (`GSS_C_NO_OID` or the krb5 OID) or SPNEGO.
#[no_mangle]
pub unsafe extern "C" fn gss_init_sec_context(
    minor: *mut OM_uint32,
    cred: Handle,
    context: *mut Handle,
    target: Handle,
    mech_type: *const gss_OID_desc,
    req_flags: OM_uint32,
    time_req: OM_uint32,
    chan: *const gss_channel_bindings_struct,
    input_token: *const gss_buffer_desc,
    actual_mech: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output_token);
        if context.is_null() {
            return Err(Failure::Major(
                major::CALL_INACCESSIBLE_READ | major::NO_CONTEXT,
                "context_handle is NULL".into(),
            ));
        }
        if (*context).is_null() {
            let target = name_ref(target)?;
            let mech = match oid_bytes(mech_type) {
                None => Mech::Krb5,
                Some(m) if oid::is_krb5(m) => Mech::Krb5,
                Some(m) if m == oid::SPNEGO => Mech::Spnego,
                Some(m) => return check_mech(Some(m)).map(|()| major::FAILURE),
            };
            let mut holder = None;
            let c = cred_or_default(cred, &mut holder)?;
            let icred = c.initiator.as_ref().ok_or_else(|| {
                gss_err(ErrorCode::KTIX_ERR_GSS_NO_CRED, "the credential cannot initiate (acceptor credentials only)")
            })?;
            if mech == Mech::Spnego && !spnego_allows_krb5(Some(c)) {
                return Err(gss_err(ErrorCode::KTIX_ERR_GSS_BAD_MECH, "gss_set_neg_mechs left SPNEGO no mechanism"));
            }
            let opts = InitiatorOptions {
                mech,
                flags: ContextFlags((req_flags & REQUESTABLE) | ContextFlags::CONF.0 | ContextFlags::INTEG.0),
                channel_bindings: bindings(chan)?,
                lifetime: (time_req != 0 && time_req != GSS_C_INDEFINITE).then_some(time_req),
            };
            let mut ctx = InitiatorContext::new(icred, target, opts)?;
            let token = ctx.step(None)?;
            let handle = ContextHandle::Initiator(ctx);
            let m = step_outputs(&handle, token, output_token, actual_mech, ret_flags, time_rec)?;
            context.write(handles::into_raw(handle));
            return Ok(m);
        }
        let handle = ctx_ref(*context)?;
        let ContextHandle::Initiator(ctx) = handle else {
            return Err(Failure::Major(
                major::NO_CONTEXT,
                "an acceptor's context given to gss_init_sec_context".into(),
            ));
        };
        let input = mem::buffer_bytes(input_token)?;
        if input.is_empty() {
            return Err(gss_err(
                ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN,
                "no input token to continue the context with",
            ));
        }
        let token = ctx.step(Some(input))?;
        step_outputs(handle, token, output_token, actual_mech, ret_flags, time_rec)
    })
}

/// `gss_accept_sec_context`: Kerberos V5 and SPNEGO tokens; the acceptor credential defaults to
/// the keytab of `KRB5_KTNAME` (read now), as PostgreSQL's server expects.
#[no_mangle]
pub unsafe extern "C" fn gss_accept_sec_context(
    minor: *mut OM_uint32,
    context: *mut Handle,
    cred: Handle,
    input_token: *const gss_buffer_desc,
    chan: *const gss_channel_bindings_struct,
    src_name: *mut Handle,
    mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
    delegated: *mut Handle,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output_token);
        put(src_name, std::ptr::null_mut());
        put(delegated, std::ptr::null_mut());
        if context.is_null() {
            return Err(Failure::Major(
                major::CALL_INACCESSIBLE_READ | major::NO_CONTEXT,
                "context_handle is NULL".into(),
            ));
        }
        let input = mem::buffer_bytes(input_token)?;
        if input.is_empty() {
            return Err(gss_err(ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN, "no input token to accept"));
        }
        if !(*context).is_null() {
            let handle = ctx_ref(*context)?;
            return accept_step(handle, input, src_name, mech_type, output_token, ret_flags, time_rec, delegated);
        }
        let acred = if cred.is_null() {
            let config =
                AcceptorConfig { replay_cache: Some(replay_cache(&Store::default())?), ..AcceptorConfig::default() };
            AcceptorCred::acquire_with(default_keytab().as_deref(), None, config)?
        } else {
            let c = handles::get::<CredHandle>(cred)?;
            if !spnego_allows_krb5(Some(c)) {
                return Err(gss_err(ErrorCode::KTIX_ERR_GSS_BAD_MECH, "gss_set_neg_mechs excludes Kerberos V5"));
            }
            c.acceptor.clone().ok_or_else(|| {
                gss_err(ErrorCode::KTIX_ERR_GSS_NO_CRED, "the credential cannot accept (initiator credentials only)")
            })?
        };
        let opts = AcceptorOptions { spnego: true, channel_bindings: bindings(chan)? };
        let mut handle = ContextHandle::Acceptor(AcceptorContext::new(&acred, opts));
        // A first token that fails leaves no context behind.
        let m = accept_step(&mut handle, input, src_name, mech_type, output_token, ret_flags, time_rec, delegated)?;
        context.write(handles::into_raw(handle));
        Ok(m)
    })
}

/// One acceptor step and its outputs.
#[allow(clippy::too_many_arguments)]
unsafe fn accept_step(
    handle: &mut ContextHandle,
    input: &[u8],
    src_name: *mut Handle,
    mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
    delegated: *mut Handle,
) -> GssResult {
    let ContextHandle::Acceptor(ctx) = handle else {
        return Err(Failure::Major(major::NO_CONTEXT, "an initiator's context given to gss_accept_sec_context".into()));
    };
    let token = match ctx.step(input) {
        Ok(token) => token,
        Err(e) => {
            // As MIT's acceptor: a KRB-ERROR token for an initiator that waits for the AP-REP.
            if let Some(error_token) = ctx.error_token() {
                mem::set_buffer(output_token, error_token)?;
            }
            return Err(e.into());
        }
    };
    if ctx.is_complete() {
        put_name(src_name, || ctx.initiator_name().cloned());
        if !delegated.is_null() && ctx.flags().contains(ContextFlags::DELEG) {
            if let Some(cache) = ctx.take_delegated() {
                let initiator = InitiatorCred::from_ccache(cache.clone())?;
                let cred =
                    CredHandle { initiator: Some(initiator), delegated: Some(cache), acceptor: None, neg_mechs: None };
                delegated.write(handles::into_raw(cred));
            }
        }
    }
    step_outputs(handle, token, output_token, mech_type, ret_flags, time_rec)
}

/// `gss_delete_sec_context`.
#[no_mangle]
pub unsafe extern "C" fn gss_delete_sec_context(
    minor: *mut OM_uint32,
    context: *mut Handle,
    output: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output);
        if context.is_null() {
            return Err(Failure::Major(
                major::CALL_INACCESSIBLE_READ | major::NO_CONTEXT,
                "context_handle is NULL".into(),
            ));
        }
        if (*context).is_null() {
            return Err(Failure::Major(major::NO_CONTEXT, "no context to delete".into()));
        }
        handles::take::<ContextHandle>(*context)?;
        context.write(std::ptr::null_mut());
        Ok(major::COMPLETE)
    })
}

/// `gss_context_time`.
#[no_mangle]
pub unsafe extern "C" fn gss_context_time(
    minor: *mut OM_uint32,
    context: Handle,
    time_rec: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        let sc = ctx_ref(context)?.sc();
        if !sc.is_complete() {
            return Err(gss_err(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the context is not established"));
        }
        let left = remaining(sc.expires());
        put(time_rec, left);
        if left == 0 {
            return Err(gss_err(ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED, "the context has expired"));
        }
        Ok(major::COMPLETE)
    })
}

/// `gss_inquire_context`.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_context(
    minor: *mut OM_uint32,
    context: Handle,
    src_name: *mut Handle,
    targ_name: *mut Handle,
    lifetime: *mut OM_uint32,
    mech: *mut gss_OID,
    flags: *mut OM_uint32,
    locally_initiated: *mut c_int,
    open: *mut c_int,
) -> OM_uint32 {
    call(minor, || {
        put(src_name, std::ptr::null_mut());
        put(targ_name, std::ptr::null_mut());
        let sc = ctx_ref(context)?.sc();
        let complete = sc.is_complete();
        put_name(src_name, || sc.source_name());
        put_name(targ_name, || sc.target_name());
        put(lifetime, if complete { remaining(sc.expires()) } else { 0 });
        put(mech, out_oid(sc.mech()));
        put(flags, if complete { sc.flags().with(ContextFlags::PROT_READY).0 } else { sc.flags().0 });
        put(locally_initiated, c_int::from(sc.is_initiator()));
        put(open, c_int::from(complete));
        Ok(major::COMPLETE)
    })
}

// ----- per-message tokens -----------------------------------------------------------------------

fn check_qop(qop: OM_uint32) -> Result<(), Failure> {
    if qop != 0 {
        return Err(Failure::Major(major::BAD_QOP, format!("QOP {qop} is not GSS_C_QOP_DEFAULT")));
    }
    Ok(())
}

/// The supplementary major bits of a sequence condition on a token that verified.
fn sequence_bits(code: Option<ErrorCode>) -> OM_uint32 {
    code.map_or(major::COMPLETE, |c| Status::of(&Error::new(c, "")).major)
}

/// `gss_wrap`.
#[no_mangle]
pub unsafe extern "C" fn gss_wrap(
    minor: *mut OM_uint32,
    context: Handle,
    conf_req: c_int,
    qop: OM_uint32,
    input: *const gss_buffer_desc,
    conf_state: *mut c_int,
    output: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output);
        check_qop(qop)?;
        let sc = ctx_ref(context)?.sc();
        let token = sc.wrap(mem::buffer_bytes(input)?, conf_req != 0)?;
        mem::set_buffer(output, &token)?;
        put(conf_state, c_int::from(conf_req != 0));
        Ok(major::COMPLETE)
    })
}

/// `gss_unwrap`: sequence conditions (duplicate, old, unsequenced, gap) come back as
/// supplementary bits with the data, as MIT's library returns them.
#[no_mangle]
pub unsafe extern "C" fn gss_unwrap(
    minor: *mut OM_uint32,
    context: Handle,
    input: *const gss_buffer_desc,
    output: gss_buffer_t,
    conf_state: *mut c_int,
    qop_state: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(output);
        let sc = ctx_ref(context)?.sc();
        let u = sc.unwrap_detailed(mem::buffer_bytes(input)?)?;
        mem::set_buffer(output, &u.data)?;
        put(conf_state, c_int::from(u.conf));
        put(qop_state, 0);
        Ok(sequence_bits(u.sequence))
    })
}

/// `gss_get_mic`.
#[no_mangle]
pub unsafe extern "C" fn gss_get_mic(
    minor: *mut OM_uint32,
    context: Handle,
    qop: OM_uint32,
    message: *const gss_buffer_desc,
    token: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(token);
        check_qop(qop)?;
        let mic = ctx_ref(context)?.sc().get_mic(mem::buffer_bytes(message)?)?;
        mem::set_buffer(token, &mic)?;
        Ok(major::COMPLETE)
    })
}

/// `gss_verify_mic`: sequence conditions as supplementary bits, as for `gss_unwrap`.
#[no_mangle]
pub unsafe extern "C" fn gss_verify_mic(
    minor: *mut OM_uint32,
    context: Handle,
    message: *const gss_buffer_desc,
    token: *const gss_buffer_desc,
    qop_state: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        let sc = ctx_ref(context)?.sc();
        let seq = sc.verify_mic_detailed(mem::buffer_bytes(message)?, mem::buffer_bytes(token)?)?;
        put(qop_state, 0);
        Ok(sequence_bits(seq))
    })
}

/// `gss_wrap_size_limit`: the largest message whose Wrap token fits `req_output_size` (exact:
/// PostgreSQL fills its 16 kB packets to it).
#[no_mangle]
pub unsafe extern "C" fn gss_wrap_size_limit(
    minor: *mut OM_uint32,
    context: Handle,
    conf_req: c_int,
    qop: OM_uint32,
    req_output_size: OM_uint32,
    max_input: *mut OM_uint32,
) -> OM_uint32 {
    call(minor, || {
        check_qop(qop)?;
        if max_input.is_null() {
            return Err(null_write("max_input_size"));
        }
        let sc = ctx_ref(context)?.sc();
        if !sc.is_complete() {
            return Err(gss_err(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the context is not established"));
        }
        let limit = sc.wrap_size_limit(conf_req != 0, req_output_size as usize);
        max_input.write(limit.min(u32::MAX as usize) as OM_uint32);
        Ok(major::COMPLETE)
    })
}
