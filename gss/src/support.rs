//! The calls that need no mechanism: buffers, OIDs and OID sets, buffer sets, the mechanisms
//! this library offers, and the status texts.

use std::ffi::c_int;

use ktix::gss::{major, oid};
use ktix::{Error, ErrorCode};

use crate::boundary::{call, minor_text, null_read, null_write, Failure};
use crate::mem;
use crate::types::{gss_OID, gss_OID_desc, gss_OID_set, gss_buffer_desc, gss_buffer_t, oid_bytes, OM_uint32};
use crate::types::{GSS_C_GSS_CODE, GSS_C_MECH_CODE};

/// The mechanisms this library implements, in MIT's order of preference.
pub const MECHS: [&[u8]; 2] = [oid::KRB5, oid::SPNEGO];

/// The name types the Kerberos mechanism imports.
pub const KRB5_NAME_TYPES: [&[u8]; 5] = [
    oid::KRB5_NT_PRINCIPAL_NAME,
    oid::NT_USER_NAME,
    oid::NT_HOSTBASED_SERVICE,
    oid::NT_HOSTBASED_SERVICE_X,
    oid::NT_EXPORT_NAME,
];

/// `gss_release_buffer`.
#[no_mangle]
pub unsafe extern "C" fn gss_release_buffer(minor: *mut OM_uint32, buffer: gss_buffer_t) -> OM_uint32 {
    call(minor, || {
        mem::release_buffer(buffer);
        Ok(major::COMPLETE)
    })
}

/// `gss_create_empty_oid_set`.
#[no_mangle]
pub unsafe extern "C" fn gss_create_empty_oid_set(minor: *mut OM_uint32, set: *mut gss_OID_set) -> OM_uint32 {
    call(minor, || {
        if set.is_null() {
            return Err(null_write("oid_set"));
        }
        set.write(mem::new_oid_set()?);
        Ok(major::COMPLETE)
    })
}

/// `gss_add_oid_set_member`.
#[no_mangle]
pub unsafe extern "C" fn gss_add_oid_set_member(
    minor: *mut OM_uint32,
    member: *const gss_OID_desc,
    set: *mut gss_OID_set,
) -> OM_uint32 {
    call(minor, || {
        let bytes = oid_bytes(member).ok_or_else(|| null_read("member_oid"))?;
        if set.is_null() || (*set).is_null() {
            return Err(null_read("oid_set"));
        }
        mem::add_to_set(*set, bytes)?;
        Ok(major::COMPLETE)
    })
}

/// `gss_test_oid_set_member`.
#[no_mangle]
pub unsafe extern "C" fn gss_test_oid_set_member(
    minor: *mut OM_uint32,
    member: *const gss_OID_desc,
    set: gss_OID_set,
    present: *mut c_int,
) -> OM_uint32 {
    call(minor, || {
        let bytes = oid_bytes(member).ok_or_else(|| null_read("member"))?;
        if set.is_null() {
            return Err(null_read("set"));
        }
        if present.is_null() {
            return Err(null_write("present"));
        }
        present.write(c_int::from(mem::set_members(set).contains(&bytes)));
        Ok(major::COMPLETE)
    })
}

/// `gss_release_oid_set`.
#[no_mangle]
pub unsafe extern "C" fn gss_release_oid_set(minor: *mut OM_uint32, set: *mut gss_OID_set) -> OM_uint32 {
    call(minor, || {
        if !set.is_null() {
            mem::release_oid_set(*set);
            set.write(std::ptr::null_mut());
        }
        Ok(major::COMPLETE)
    })
}

/// `gss_release_oid`: frees an OID from `gss_str_to_oid`; the library's static OIDs (and any
/// other pointer) are left alone.
#[no_mangle]
pub unsafe extern "C" fn gss_release_oid(minor: *mut OM_uint32, oid: *mut gss_OID) -> OM_uint32 {
    call(minor, || {
        if !oid.is_null() {
            mem::release_oid(*oid);
            oid.write(std::ptr::null_mut());
        }
        Ok(major::COMPLETE)
    })
}

/// `gss_oid_equal`: by content.
#[no_mangle]
pub unsafe extern "C" fn gss_oid_equal(a: *const gss_OID_desc, b: *const gss_OID_desc) -> c_int {
    let r = std::panic::catch_unwind(|| match (oid_bytes(a), oid_bytes(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    });
    c_int::from(r.unwrap_or(false))
}

/// `gss_oid_to_str`: MIT's form, `{ 1 2 840 113554 1 2 2 }`.
#[no_mangle]
pub unsafe extern "C" fn gss_oid_to_str(
    minor: *mut OM_uint32,
    oid: *const gss_OID_desc,
    out: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(out);
        let bytes = oid_bytes(oid).ok_or_else(|| null_read("oid"))?;
        let dotted = oid::to_dotted(bytes)?;
        let text = format!("{{ {} }}\0", dotted.replace('.', " "));
        mem::set_buffer(out, text.as_bytes())?;
        (*out).length -= 1; // MIT counts the terminating NUL out of the length
        Ok(major::COMPLETE)
    })
}

/// `gss_str_to_oid`: `{ 1 2 840 … }` or `1.2.840…`.
#[no_mangle]
pub unsafe extern "C" fn gss_str_to_oid(
    minor: *mut OM_uint32,
    input: *const gss_buffer_desc,
    out: *mut gss_OID,
) -> OM_uint32 {
    call(minor, || {
        if out.is_null() {
            return Err(null_write("oid"));
        }
        if input.is_null() {
            return Err(null_read("oid_str"));
        }
        let text = String::from_utf8_lossy(mem::buffer_bytes(input)?).into_owned();
        let text = text.trim_end_matches('\0').trim();
        let dotted = match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(inner) => inner.split_whitespace().collect::<Vec<_>>().join("."),
            None => text.to_string(),
        };
        let bytes = oid::from_dotted(&dotted)?;
        out.write(mem::new_oid(&bytes)?);
        Ok(major::COMPLETE)
    })
}

/// `gss_indicate_mechs`: Kerberos V5 and SPNEGO.
#[no_mangle]
pub unsafe extern "C" fn gss_indicate_mechs(minor: *mut OM_uint32, set: *mut gss_OID_set) -> OM_uint32 {
    call(minor, || {
        if set.is_null() {
            return Err(null_write("mech_set"));
        }
        set.write(mem::oid_set_of(&MECHS)?);
        Ok(major::COMPLETE)
    })
}

/// `gss_inquire_names_for_mech`.
#[no_mangle]
pub unsafe extern "C" fn gss_inquire_names_for_mech(
    minor: *mut OM_uint32,
    mech: *const gss_OID_desc,
    name_types: *mut gss_OID_set,
) -> OM_uint32 {
    call(minor, || {
        if name_types.is_null() {
            return Err(null_write("name_types"));
        }
        let m = oid_bytes(mech).ok_or_else(|| null_read("mechanism"))?;
        if !oid::is_krb5(m) && m != oid::SPNEGO {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MECH, "not a mechanism of this library").into());
        }
        name_types.write(mem::oid_set_of(&KRB5_NAME_TYPES)?);
        Ok(major::COMPLETE)
    })
}

/// `gss_display_status`: one text per call, `*message_context` non-zero while more follow.
/// `GSS_C_GSS_CODE`: RFC 2743's texts of each condition of the major status;
/// `GSS_C_MECH_CODE`: the message of this thread's last failure with that minor status, or the
/// core error table's text.
#[no_mangle]
pub unsafe extern "C" fn gss_display_status(
    minor: *mut OM_uint32,
    status_value: OM_uint32,
    status_type: c_int,
    _mech_type: *const gss_OID_desc,
    message_context: *mut OM_uint32,
    status_string: gss_buffer_t,
) -> OM_uint32 {
    call(minor, || {
        mem::clear_buffer(status_string);
        if message_context.is_null() {
            return Err(null_read("message_context"));
        }
        let texts: Vec<String> = match status_type {
            GSS_C_GSS_CODE => major::texts(status_value).into_iter().map(String::from).collect(),
            GSS_C_MECH_CODE => vec![minor_text(status_value)],
            _ => {
                return Err(Failure::Major(
                    major::BAD_STATUS,
                    format!("status type {status_type} is neither GSS_C_GSS_CODE nor GSS_C_MECH_CODE"),
                ))
            }
        };
        let i = *message_context as usize;
        let text = texts
            .get(i)
            .ok_or_else(|| Failure::Major(major::BAD_STATUS, "message_context is past the last text".into()))?;
        mem::set_buffer(status_string, text.as_bytes())?;
        message_context.write(if i + 1 < texts.len() { (i + 1) as OM_uint32 } else { 0 });
        Ok(major::COMPLETE)
    })
}

/// `gss_buffer_set_desc` (MIT's extension).
#[repr(C)]
pub struct gss_buffer_set_desc {
    count: usize,
    elements: gss_buffer_t,
}

/// `gss_create_empty_buffer_set`.
#[no_mangle]
pub unsafe extern "C" fn gss_create_empty_buffer_set(
    minor: *mut OM_uint32,
    set: *mut *mut gss_buffer_set_desc,
) -> OM_uint32 {
    call(minor, || {
        if set.is_null() {
            return Err(null_write("buffer_set"));
        }
        let s = libc::calloc(1, std::mem::size_of::<gss_buffer_set_desc>()).cast::<gss_buffer_set_desc>();
        if s.is_null() {
            return Err(Failure::Major(major::FAILURE, "out of memory".into()));
        }
        set.write(s);
        Ok(major::COMPLETE)
    })
}

/// `gss_add_buffer_set_member`.
#[no_mangle]
pub unsafe extern "C" fn gss_add_buffer_set_member(
    minor: *mut OM_uint32,
    member: *const gss_buffer_desc,
    set: *mut *mut gss_buffer_set_desc,
) -> OM_uint32 {
    call(minor, || {
        if set.is_null() {
            return Err(null_read("buffer_set"));
        }
        if (*set).is_null() {
            gss_create_empty_buffer_set(std::ptr::null_mut(), set);
            if (*set).is_null() {
                return Err(Failure::Major(major::FAILURE, "out of memory".into()));
            }
        }
        let s = *set;
        let bytes = mem::buffer_bytes(member)?;
        let grown = libc::realloc((*s).elements.cast(), ((*s).count + 1) * std::mem::size_of::<gss_buffer_desc>())
            .cast::<gss_buffer_desc>();
        if grown.is_null() {
            return Err(Failure::Major(major::FAILURE, "out of memory".into()));
        }
        (*s).elements = grown;
        mem::set_buffer(grown.add((*s).count), bytes)?;
        (*s).count += 1;
        Ok(major::COMPLETE)
    })
}

/// `gss_release_buffer_set`.
#[no_mangle]
pub unsafe extern "C" fn gss_release_buffer_set(
    minor: *mut OM_uint32,
    set: *mut *mut gss_buffer_set_desc,
) -> OM_uint32 {
    call(minor, || {
        if set.is_null() || (*set).is_null() {
            return Ok(major::COMPLETE);
        }
        let s = *set;
        for i in 0..(*s).count {
            mem::release_buffer((*s).elements.add(i));
        }
        libc::free((*s).elements.cast());
        libc::free(s.cast());
        set.write(std::ptr::null_mut());
        Ok(major::COMPLETE)
    })
}

/// Whether `mech` (content bytes; `None` = the default) names a mechanism of this library.
pub fn check_mech(mech: Option<&[u8]>) -> Result<(), Failure> {
    match mech {
        None => Ok(()),
        Some(m) if oid::is_krb5(m) || m == oid::SPNEGO => Ok(()),
        Some(m) => Err(Error::new(
            ErrorCode::KTIX_ERR_GSS_BAD_MECH,
            format!(
                "mechanism {} is not Kerberos V5 or SPNEGO",
                oid::to_dotted(m).unwrap_or_else(|_| "(malformed)".into())
            ),
        )
        .into()),
    }
}

/// An OID this library hands out for `bytes` (a static one when it is a mechanism or name type
/// of ours).
pub fn out_oid(bytes: &[u8]) -> gss_OID {
    crate::types::mech_desc(bytes).unwrap_or_else(|| crate::types::name_type_desc(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::GSS_C_NT_USER_NAME;

    fn text(b: &gss_buffer_desc) -> String {
        // SAFETY: buffers filled by this library.
        String::from_utf8(unsafe { mem::buffer_bytes(b) }.unwrap().to_vec()).unwrap()
    }

    #[test]
    fn oid_strings_and_sets() {
        let mut minor = 0;
        let mut buf = gss_buffer_desc { length: 0, value: std::ptr::null_mut() };
        // SAFETY: valid pointers throughout.
        unsafe {
            assert_eq!(gss_oid_to_str(&mut minor, GSS_C_NT_USER_NAME.get(), &mut buf), 0);
            assert_eq!(text(&buf), "{ 1 2 840 113554 1 2 1 1 }");
            let mut o: gss_OID = std::ptr::null_mut();
            assert_eq!(gss_str_to_oid(&mut minor, &buf, &mut o), 0);
            assert_eq!(gss_oid_equal(o, GSS_C_NT_USER_NAME.get()), 1);
            gss_release_buffer(&mut minor, &mut buf);
            let mut set: gss_OID_set = std::ptr::null_mut();
            assert_eq!(gss_create_empty_oid_set(&mut minor, &mut set), 0);
            assert_eq!(gss_add_oid_set_member(&mut minor, o, &mut set), 0);
            assert_eq!(gss_add_oid_set_member(&mut minor, o, &mut set), 0);
            assert_eq!((*set).count, 1);
            let mut present = 0;
            assert_eq!(gss_test_oid_set_member(&mut minor, GSS_C_NT_USER_NAME.get(), set, &mut present), 0);
            assert_eq!(present, 1);
            gss_release_oid_set(&mut minor, &mut set);
            assert!(set.is_null());
            assert_eq!(gss_release_oid(&mut minor, &mut o), 0);
            let mut stat = GSS_C_NT_USER_NAME.get();
            gss_release_oid(&mut minor, &mut stat); // a static OID: left alone
            assert_eq!(oid_bytes(GSS_C_NT_USER_NAME.get()), Some(oid::NT_USER_NAME));
        }
    }

    #[test]
    fn display_status_walks_every_condition() {
        let mut minor = 0;
        let mut ctx = 0;
        let mut buf = gss_buffer_desc { length: 0, value: std::ptr::null_mut() };
        let mut all = Vec::new();
        // SAFETY: valid pointers throughout.
        unsafe {
            loop {
                let m = gss_display_status(
                    &mut minor,
                    major::BAD_SIG | major::GAP_TOKEN,
                    GSS_C_GSS_CODE,
                    std::ptr::null(),
                    &mut ctx,
                    &mut buf,
                );
                assert_eq!(m, 0);
                all.push(text(&buf));
                gss_release_buffer(&mut minor, &mut buf);
                if ctx == 0 {
                    break;
                }
            }
            assert_eq!(all.len(), 2);
            assert!(all[0].contains("Message Integrity Check"), "{all:?}");
            assert_ne!(gss_display_status(&mut minor, 0, 9, std::ptr::null(), &mut ctx, &mut buf), 0);
        }
    }
}
