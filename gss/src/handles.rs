//! How C holds the Rust objects behind `gss_name_t`, `gss_cred_id_t` and `gss_ctx_id_t`: a Box of
//! a type tag and the value. A NULL handle and a pointer to a handle of another kind become
//! GSS calling errors here, in one place; a released handle's tag is wiped before its memory
//! goes, so a double release is likelier to be caught (using freed memory is still the caller's
//! error, as with any C library).

use ktix::gss::major;

use crate::boundary::Failure;
use crate::types::Handle;

/// A Rust value that C holds through an opaque handle.
pub trait Kind: Sized {
    /// Marks live handles of this kind; unique per kind.
    const TAG: u64;
    /// The C type name, for messages.
    const WHAT: &'static str;
    /// The routine error for a NULL or foreign handle (`GSS_S_BAD_NAME`, `GSS_S_NO_CRED`,
    /// `GSS_S_NO_CONTEXT`).
    const BAD: u32;
}

#[repr(C)]
struct Tagged<T> {
    tag: u64,
    value: T,
}

const FREED: u64 = 0xdead_dead_dead_dead;

/// Gives C ownership of `value`.
pub fn into_raw<T: Kind>(value: T) -> Handle {
    Box::into_raw(Box::new(Tagged { tag: T::TAG, value })).cast()
}

fn check<T: Kind>(h: Handle) -> Result<(), Failure> {
    if h.is_null() {
        return Err(Failure::Major(T::BAD | major::CALL_INACCESSIBLE_READ, format!("the {} is NULL", T::WHAT)));
    }
    if !(h as usize).is_multiple_of(std::mem::align_of::<u64>()) {
        return Err(Failure::Major(T::BAD | major::CALL_BAD_STRUCTURE, format!("not a {} of this library", T::WHAT)));
    }
    // SAFETY: a non-NULL handle was made by into_raw (the C contract); every Tagged starts with
    // its u64 tag, whatever the kind.
    let tag = unsafe { h.cast::<u64>().read() };
    if tag != T::TAG {
        return Err(Failure::Major(
            T::BAD | major::CALL_BAD_STRUCTURE,
            format!("not a live {} of this library", T::WHAT),
        ));
    }
    Ok(())
}

/// The value behind a handle.
///
/// # Safety
/// `h` is NULL or a pointer this library handed out (possibly of another kind) and not released.
pub unsafe fn get<'a, T: Kind>(h: Handle) -> Result<&'a mut T, Failure> {
    check::<T>(h)?;
    Ok(&mut (*h.cast::<Tagged<T>>()).value)
}

/// Takes the value back from C (the handle is dead afterwards).
///
/// # Safety
/// As for [`get`].
pub unsafe fn take<T: Kind>(h: Handle) -> Result<T, Failure> {
    check::<T>(h)?;
    let mut boxed = Box::from_raw(h.cast::<Tagged<T>>());
    boxed.tag = FREED;
    Ok(boxed.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A(u32);
    impl Kind for A {
        const TAG: u64 = 1;
        const WHAT: &'static str = "a";
        const BAD: u32 = major::NO_CONTEXT;
    }
    struct B;
    impl Kind for B {
        const TAG: u64 = 2;
        const WHAT: &'static str = "b";
        const BAD: u32 = major::NO_CRED;
    }

    #[test]
    fn tags_refuse_null_and_foreign_handles() {
        let h = into_raw(A(5));
        // SAFETY: handles made here.
        unsafe {
            assert_eq!(get::<A>(h).map(|a| a.0).ok(), Some(5));
            assert!(
                matches!(get::<B>(h), Err(Failure::Major(m, _)) if m == major::NO_CRED | major::CALL_BAD_STRUCTURE)
            );
            assert!(
                matches!(get::<A>(std::ptr::null_mut()), Err(Failure::Major(m, _)) if m & major::CALL_INACCESSIBLE_READ != 0)
            );
            assert_eq!(take::<A>(h).map(|a| a.0).ok(), Some(5));
        }
    }
}
