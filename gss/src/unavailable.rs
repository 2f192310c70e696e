//! The calls this library exports (every program linked against MIT's library binds them all at
//! start-up) but does not implement: each returns `GSS_S_UNAVAILABLE`, with a minor status whose
//! `gss_display_status` text names the call. They take only the minor status: the System V
//! calling convention lets the caller pass more arguments, which are left alone (RFC 2744 leaves
//! outputs undefined on failure).

use std::ffi::{c_int, c_long, c_void};

use crate::boundary::{call, unavailable};
use crate::types::OM_uint32;

macro_rules! unavailable_calls {
    ($($name:ident)*) => {
        $(
            #[no_mangle]
            #[doc = concat!("`", stringify!($name), "`: `GSS_S_UNAVAILABLE`.")]
            pub unsafe extern "C" fn $name(minor: *mut OM_uint32) -> OM_uint32 {
                call(minor, || Err(unavailable(stringify!($name))))
            }
        )*
    };
}

unavailable_calls! {
    gss_acquire_cred_impersonate_name gss_acquire_cred_with_password gss_add_cred gss_add_cred_from
    gss_add_cred_impersonate_name gss_add_cred_with_password gss_authorize_localname
    gss_complete_auth_token gss_decapsulate_token gss_delete_name_attribute gss_display_mech_attr
    gss_display_name_ext gss_encapsulate_token gss_export_cred gss_export_name_composite
    gss_export_sec_context gss_get_mic_iov gss_get_mic_iov_length gss_get_name_attribute
    gss_import_cred gss_import_sec_context gss_indicate_mechs_by_attrs gss_inquire_attrs_for_mech
    gss_inquire_cred_by_oid gss_inquire_mech_for_saslname gss_inquire_mechs_for_name gss_inquire_name
    gss_inquire_saslname_for_mech gss_inquire_sec_context_by_oid gss_krb5_copy_ccache
    gss_krb5_export_lucid_sec_context gss_krb5_free_lucid_sec_context gss_krb5_get_tkt_flags
    gss_krb5_import_cred gss_krb5_set_allowable_enctypes gss_krb5_set_cred_rcache gss_map_name_to_any
    gss_process_context_token gss_pseudo_random gss_release_any_name_mapping gss_release_iov_buffer
    gss_seal gss_set_cred_option gss_set_name_attribute gss_set_sec_context_option gss_sign gss_unseal
    gss_unwrap_aead gss_unwrap_iov gss_verify gss_verify_mic_iov gss_wrap_aead gss_wrap_iov
    gss_wrap_iov_length gsskrb5_extract_authtime_from_sec_context
    gsskrb5_extract_authz_data_from_sec_context gssspi_mech_invoke gssspi_set_cred_option
}

/// MIT's internal `gss_krb5int_make_seal_token_v3` (a `krb5_error_code` call with a
/// `krb5_context`): `ENOSYS`, nothing is touched.
#[no_mangle]
pub extern "C" fn gss_krb5int_make_seal_token_v3() -> c_int {
    libc::ENOSYS
}

/// MIT's internal `gss_krb5int_unseal_token_v3`: `ENOSYS`.
#[no_mangle]
pub extern "C" fn gss_krb5int_unseal_token_v3() -> c_int {
    libc::ENOSYS
}

/// MIT's internal `gssint_g_seqstate_init(void **state, …)`: `ENOSYS`, no state.
#[no_mangle]
pub unsafe extern "C" fn gssint_g_seqstate_init(state: *mut *mut c_void) -> c_long {
    if !state.is_null() {
        state.write(std::ptr::null_mut());
    }
    c_long::from(libc::ENOSYS)
}

/// `krb5_gss_use_kdc_context`: nothing to do (there is no krb5 context here).
#[no_mangle]
pub extern "C" fn krb5_gss_use_kdc_context() -> OM_uint32 {
    0
}
