//! The C types of RFC 2744 as MIT's `<gssapi/gssapi.h>` lays them out on LP64 Linux, and the
//! exported data objects (`GSS_C_NT_*`, `gss_mech_*`, …): pointer-sized objects pointing to
//! static descriptors. Programs copy-relocate the pointers, so OIDs are always compared by
//! content ([`oid_bytes`]), never by address.
#![allow(non_camel_case_types, non_upper_case_globals)]

use std::ffi::{c_char, c_void};
use std::sync::atomic::AtomicI32;

use ktix::gss::oid;

/// `OM_uint32`.
pub type OM_uint32 = u32;

/// `gss_OID_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_OID_desc {
    /// Number of content bytes.
    pub length: OM_uint32,
    /// The DER content bytes of the OID.
    pub elements: *mut c_void,
}
/// `gss_OID`.
pub type gss_OID = *mut gss_OID_desc;

// SAFETY: the descriptors this library defines point to immutable static bytes.
unsafe impl Sync for gss_OID_desc {}

/// `gss_OID_set_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_OID_set_desc {
    /// Number of OIDs.
    pub count: usize,
    /// The OIDs, `count` of them.
    pub elements: gss_OID,
}
/// `gss_OID_set`.
pub type gss_OID_set = *mut gss_OID_set_desc;

// SAFETY: the sets this library defines as statics point to immutable static descriptors.
unsafe impl Sync for gss_OID_set_desc {}

/// `gss_buffer_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_buffer_desc {
    /// Number of bytes.
    pub length: usize,
    /// The bytes (allocated with `malloc` when this library fills a buffer).
    pub value: *mut c_void,
}
/// `gss_buffer_t`.
pub type gss_buffer_t = *mut gss_buffer_desc;

/// `struct gss_channel_bindings_struct`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_channel_bindings_struct {
    /// Initiator address type (`GSS_C_AF_*`).
    pub initiator_addrtype: OM_uint32,
    /// Initiator address.
    pub initiator_address: gss_buffer_desc,
    /// Acceptor address type.
    pub acceptor_addrtype: OM_uint32,
    /// Acceptor address.
    pub acceptor_address: gss_buffer_desc,
    /// Application data (e.g. TLS channel bindings).
    pub application_data: gss_buffer_desc,
}
/// `gss_channel_bindings_t`.
pub type gss_channel_bindings_t = *mut gss_channel_bindings_struct;

/// `gss_key_value_element_desc` (credential stores, MIT's extension).
#[repr(C)]
#[derive(Debug)]
pub struct gss_key_value_element_desc {
    /// The key (`keytab`, `ccache`, `client_keytab`, `rcache`).
    pub key: *const c_char,
    /// Its value.
    pub value: *const c_char,
}

/// `gss_key_value_set_desc`.
#[repr(C)]
#[derive(Debug)]
pub struct gss_key_value_set_desc {
    /// Number of elements.
    pub count: OM_uint32,
    /// The elements.
    pub elements: *mut gss_key_value_element_desc,
}

/// `gss_name_t`, `gss_cred_id_t`, `gss_ctx_id_t`: opaque handles (see `handles`).
pub type Handle = *mut c_void;

/// `GSS_C_INDEFINITE`.
pub const GSS_C_INDEFINITE: OM_uint32 = 0xffff_ffff;
/// `GSS_C_BOTH`.
pub const GSS_C_BOTH: i32 = 0;
/// `GSS_C_INITIATE`.
pub const GSS_C_INITIATE: i32 = 1;
/// `GSS_C_ACCEPT`.
pub const GSS_C_ACCEPT: i32 = 2;
/// `GSS_C_GSS_CODE`.
pub const GSS_C_GSS_CODE: i32 = 1;
/// `GSS_C_MECH_CODE`.
pub const GSS_C_MECH_CODE: i32 = 2;

/// A pointer-sized exported data object: what `GSS_C_NT_USER_NAME` & co. are in C
/// (`extern gss_OID GSS_C_NT_USER_NAME`).
#[repr(transparent)]
#[derive(Debug)]
pub struct Exported<T>(pub *const T);

// SAFETY: the pointee is an immutable static.
unsafe impl<T> Sync for Exported<T> {}

impl<T> Exported<T> {
    /// The pointer as C sees it.
    pub fn get(&self) -> *mut T {
        self.0.cast_mut()
    }
}

/// A static `gss_OID_desc` of `bytes`.
const fn desc(bytes: &'static [u8]) -> gss_OID_desc {
    gss_OID_desc { length: bytes.len() as u32, elements: bytes.as_ptr() as *mut c_void }
}

/// The static descriptors of the mechanisms this library implements; the data objects and the
/// OIDs this library hands out (actual_mech_type, …) point here.
pub static KRB5_DESC: gss_OID_desc = desc(oid::KRB5);
/// SPNEGO's descriptor.
pub static SPNEGO_DESC: gss_OID_desc = desc(oid::SPNEGO);
static KRB5_OLD_DESC: gss_OID_desc = desc(oid::KRB5_OLD);
static KRB5_MS_DESC: gss_OID_desc = desc(oid::KRB5_MS);

macro_rules! oid_objects {
    ($($name:ident = $bytes:expr;)*) => {
        $(
            #[no_mangle]
            #[doc = concat!("MIT's `", stringify!($name), "`.")]
            pub static $name: Exported<gss_OID_desc> = Exported(&desc($bytes));
        )*
    };
}

/// 1.3.6.1.5.5.13.N: the RFC 5587 mechanism attributes `GSS_C_MA_*` (index N).
static MA: [[u8; 7]; 28] = {
    let mut all = [[0x2b, 6, 1, 5, 5, 0x0d, 0]; 28];
    let mut i = 0;
    while i < 28 {
        all[i][6] = i as u8;
        i += 1;
    }
    all
};

/// 1.2.840.113554.1.2.2.5.N: MIT's krb5 mechanism extensions.
const fn krb5_ext(last: u8) -> &'static [u8] {
    match last {
        5 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 5],
        14 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 14],
        15 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 15],
        16 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 16],
        17 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 17],
        _ => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 5, 18],
    }
}

/// 1.2.840.113554.1.2.2.N: the krb5 name types.
const fn krb5_nt(last: u8) -> &'static [u8] {
    match last {
        1 => oid::KRB5_NT_PRINCIPAL_NAME,
        2 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 2],
        6 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 6],
        _ => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 7],
    }
}

oid_objects! {
    GSS_C_NT_USER_NAME = oid::NT_USER_NAME;
    gss_nt_user_name = oid::NT_USER_NAME;
    GSS_C_NT_MACHINE_UID_NAME = oid::NT_MACHINE_UID_NAME;
    gss_nt_machine_uid_name = oid::NT_MACHINE_UID_NAME;
    GSS_C_NT_STRING_UID_NAME = oid::NT_STRING_UID_NAME;
    gss_nt_string_uid_name = oid::NT_STRING_UID_NAME;
    GSS_C_NT_HOSTBASED_SERVICE = oid::NT_HOSTBASED_SERVICE;
    gss_nt_service_name = oid::NT_HOSTBASED_SERVICE;
    GSS_C_NT_HOSTBASED_SERVICE_X = oid::NT_HOSTBASED_SERVICE_X;
    gss_nt_service_name_v2 = oid::NT_HOSTBASED_SERVICE_X;
    GSS_C_NT_ANONYMOUS = oid::NT_ANONYMOUS;
    GSS_C_NT_EXPORT_NAME = oid::NT_EXPORT_NAME;
    gss_nt_exported_name = oid::NT_EXPORT_NAME;
    GSS_C_NT_COMPOSITE_EXPORT = &[0x2b, 6, 1, 5, 6, 6];
    GSS_KRB5_NT_PRINCIPAL_NAME = krb5_nt(1);
    gss_nt_krb5_name = krb5_nt(1);
    gss_nt_krb5_principal = krb5_nt(2);
    GSS_KRB5_NT_ENTERPRISE_NAME = krb5_nt(6);
    GSS_KRB5_NT_X509_CERT = krb5_nt(7);
    gss_mech_iakerb = &[0x2b, 6, 1, 5, 2, 5];
    GSS_KRB5_CRED_NO_CI_FLAGS_X = &[0x2a, 0x85, 0x70, 0x2b, 0x0d, 0x1d];
    GSS_KRB5_GET_CRED_IMPERSONATOR = krb5_ext(14);
    GSS_C_INQ_SSPI_SESSION_KEY = krb5_ext(5);
    GSS_C_SEC_CONTEXT_SASL_SSF = krb5_ext(15);
    GSS_C_INQ_NEGOEX_KEY = krb5_ext(16);
    GSS_C_INQ_NEGOEX_VERIFY_KEY = krb5_ext(17);
    GSS_C_MA_NEGOEX_AND_SPNEGO = krb5_ext(18);
    GSS_C_ATTR_LOCAL_LOGIN_USER = b"local-login-user";
    GSS_C_MA_MECH_CONCRETE = &MA[1];
    GSS_C_MA_MECH_PSEUDO = &MA[2];
    GSS_C_MA_MECH_COMPOSITE = &MA[3];
    GSS_C_MA_MECH_NEGO = &MA[4];
    GSS_C_MA_MECH_GLUE = &MA[5];
    GSS_C_MA_NOT_MECH = &MA[6];
    GSS_C_MA_DEPRECATED = &MA[7];
    GSS_C_MA_NOT_DFLT_MECH = &MA[8];
    GSS_C_MA_ITOK_FRAMED = &MA[9];
    GSS_C_MA_AUTH_INIT = &MA[10];
    GSS_C_MA_AUTH_TARG = &MA[11];
    GSS_C_MA_AUTH_INIT_INIT = &MA[12];
    GSS_C_MA_AUTH_TARG_INIT = &MA[13];
    GSS_C_MA_AUTH_INIT_ANON = &MA[14];
    GSS_C_MA_AUTH_TARG_ANON = &MA[15];
    GSS_C_MA_DELEG_CRED = &MA[16];
    GSS_C_MA_INTEG_PROT = &MA[17];
    GSS_C_MA_CONF_PROT = &MA[18];
    GSS_C_MA_MIC = &MA[19];
    GSS_C_MA_WRAP = &MA[20];
    GSS_C_MA_PROT_READY = &MA[21];
    GSS_C_MA_REPLAY_DET = &MA[22];
    GSS_C_MA_OOS_DET = &MA[23];
    GSS_C_MA_CBINDINGS = &MA[24];
    GSS_C_MA_PFS = &MA[25];
    GSS_C_MA_COMPRESS = &MA[26];
    GSS_C_MA_CTX_TRANS = &MA[27];
}

/// MIT's `gss_mech_krb5` (points to the same descriptor this library returns as the mechanism).
#[no_mangle]
pub static gss_mech_krb5: Exported<gss_OID_desc> = Exported(&KRB5_DESC);
/// MIT's `gss_mech_krb5_old` (1.3.5.1.5.2).
#[no_mangle]
pub static gss_mech_krb5_old: Exported<gss_OID_desc> = Exported(&KRB5_OLD_DESC);
/// MIT's `gss_mech_krb5_wrong` (Microsoft's 1.2.840.48018.1.2.2).
#[no_mangle]
pub static gss_mech_krb5_wrong: Exported<gss_OID_desc> = Exported(&KRB5_MS_DESC);

static KRB5_ONLY: [gss_OID_desc; 1] = [desc(oid::KRB5)];
static KRB5_OLD_ONLY: [gss_OID_desc; 1] = [desc(oid::KRB5_OLD)];
static KRB5_ALL: [gss_OID_desc; 3] = [desc(oid::KRB5), desc(oid::KRB5_OLD), desc(oid::KRB5_MS)];
static SET_KRB5: gss_OID_set_desc = gss_OID_set_desc { count: 1, elements: KRB5_ONLY.as_ptr().cast_mut() };
static SET_KRB5_OLD: gss_OID_set_desc = gss_OID_set_desc { count: 1, elements: KRB5_OLD_ONLY.as_ptr().cast_mut() };
static SET_KRB5_BOTH: gss_OID_set_desc = gss_OID_set_desc { count: 3, elements: KRB5_ALL.as_ptr().cast_mut() };

/// MIT's `gss_mech_set_krb5` ({krb5}).
#[no_mangle]
pub static gss_mech_set_krb5: Exported<gss_OID_set_desc> = Exported(&SET_KRB5);
/// MIT's `gss_mech_set_krb5_old` ({the pre-RFC krb5 OID}).
#[no_mangle]
pub static gss_mech_set_krb5_old: Exported<gss_OID_set_desc> = Exported(&SET_KRB5_OLD);
/// MIT's `gss_mech_set_krb5_both` ({krb5, old krb5, Microsoft's krb5}).
#[no_mangle]
pub static gss_mech_set_krb5_both: Exported<gss_OID_set_desc> = Exported(&SET_KRB5_BOTH);

/// MIT's debugging switch `krb5_gss_dbg_client_expcreds` (an `int`; read by nothing here).
#[no_mangle]
pub static krb5_gss_dbg_client_expcreds: AtomicI32 = AtomicI32::new(0);

/// The content bytes of a C OID; `None` for `GSS_C_NO_OID`.
///
/// # Safety
/// `p` is NULL or points to a valid `gss_OID_desc` whose `elements` holds `length` bytes.
pub unsafe fn oid_bytes<'a>(p: *const gss_OID_desc) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    let d = &*p;
    if d.length == 0 || d.elements.is_null() {
        return Some(&[]);
    }
    Some(std::slice::from_raw_parts(d.elements.cast::<u8>(), d.length as usize))
}

/// The static descriptor this library hands out for a mechanism OID, when it is one of ours.
pub fn mech_desc(bytes: &[u8]) -> Option<gss_OID> {
    let d: &'static gss_OID_desc = if bytes == oid::KRB5 {
        &KRB5_DESC
    } else if bytes == oid::SPNEGO {
        &SPNEGO_DESC
    } else if bytes == oid::KRB5_OLD {
        &KRB5_OLD_DESC
    } else if bytes == oid::KRB5_MS {
        &KRB5_MS_DESC
    } else {
        return None;
    };
    Some((d as *const gss_OID_desc).cast_mut())
}

/// The static descriptor of a name type this library hands out (`gss_display_name`'s type).
pub fn name_type_desc(bytes: &[u8]) -> gss_OID {
    let all: [&Exported<gss_OID_desc>; 7] = [
        &GSS_KRB5_NT_PRINCIPAL_NAME,
        &GSS_C_NT_USER_NAME,
        &GSS_C_NT_HOSTBASED_SERVICE,
        &GSS_C_NT_HOSTBASED_SERVICE_X,
        &GSS_C_NT_EXPORT_NAME,
        &GSS_C_NT_ANONYMOUS,
        &GSS_C_NT_MACHINE_UID_NAME,
    ];
    for e in all {
        // SAFETY: our own static descriptors.
        if unsafe { oid_bytes(e.get()) } == Some(bytes) {
            return e.get();
        }
    }
    GSS_KRB5_NT_PRINCIPAL_NAME.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_mits_header() {
        assert_eq!(std::mem::size_of::<gss_OID_desc>(), 16);
        assert_eq!(std::mem::size_of::<gss_buffer_desc>(), 16);
        assert_eq!(std::mem::size_of::<gss_OID_set_desc>(), 16);
        assert_eq!(std::mem::size_of::<gss_channel_bindings_struct>(), 64);
        assert_eq!(std::mem::size_of::<gss_key_value_set_desc>(), 16);
        assert_eq!(std::mem::size_of::<Exported<gss_OID_desc>>(), 8);
    }

    #[test]
    fn data_objects_hold_the_oids_by_content() {
        // SAFETY: our own statics.
        unsafe {
            assert_eq!(oid_bytes(GSS_C_NT_HOSTBASED_SERVICE.get()), Some(oid::NT_HOSTBASED_SERVICE));
            assert_eq!(oid::to_dotted(oid_bytes(GSS_C_MA_CTX_TRANS.get()).unwrap()).unwrap(), "1.3.6.1.5.5.13.27");
            assert_eq!(
                oid::to_dotted(oid_bytes(GSS_C_INQ_NEGOEX_KEY.get()).unwrap()).unwrap(),
                "1.2.840.113554.1.2.2.5.16"
            );
            let set = &*gss_mech_set_krb5_both.get();
            assert_eq!(set.count, 3);
            assert_eq!(oid_bytes(set.elements.add(2)), Some(oid::KRB5_MS));
        }
    }
}
