//! The boundary between C and Rust: every exported call runs its body through [`call`], which
//! writes the minor status, turns a core [`Error`] into the GSS major/minor status with
//! [`Status::of`], keeps the failure's message as the thread's last error (for
//! `gss_display_status` with `GSS_C_MECH_CODE`), and stops a panic before it reaches C.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ktix::gss::{major, Status};
use ktix::{Error, ErrorCode};

use crate::types::OM_uint32;

#[cfg(panic = "abort")]
compile_error!("ktix-gss must be built with panic = \"unwind\": its boundary turns panics into GSS_S_FAILURE");

thread_local! {
    /// The last failure of this thread: its minor status and message.
    static LAST: RefCell<Option<(OM_uint32, String)>> = const { RefCell::new(None) };
}

/// What a body returns: the major status of a success (`GSS_S_COMPLETE`, `GSS_S_CONTINUE_NEEDED`
/// or supplementary bits), or the failure.
pub type GssResult = Result<OM_uint32, Failure>;

/// A failed call: a core error, or a GSS status that no core error stands for (calling errors).
#[derive(Debug)]
pub enum Failure {
    /// A core error, mapped with [`Status::of`].
    Core(Error),
    /// A major status with minor 0 and a message (NULL arguments, bad structures).
    Major(OM_uint32, String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

impl Failure {
    /// The major status, minor status and message.
    pub fn status(&self) -> Status {
        match self {
            Failure::Core(e) => Status::of(e),
            Failure::Major(m, text) => Status { major: *m, minor: 0, message: text.clone() },
        }
    }
}

/// A calling error: `what` could not be read (NULL).
pub fn null_read(what: &str) -> Failure {
    Failure::Major(major::CALL_INACCESSIBLE_READ, format!("{what} is NULL"))
}

/// A calling error: `what` cannot be written (NULL).
pub fn null_write(what: &str) -> Failure {
    Failure::Major(major::CALL_INACCESSIBLE_WRITE, format!("{what} is NULL"))
}

/// `GSS_S_UNAVAILABLE` for a call this library does not implement.
pub fn unavailable(call: &str) -> Failure {
    Failure::Core(Error::new(
        ErrorCode::KTIX_ERR_GSS_UNAVAILABLE,
        format!("{call} is not implemented by libktix's libgssapi_krb5 (the Kerberos V5 and SPNEGO mechanisms only)"),
    ))
}

/// Runs an exported call's body: writes `*minor` (0 on success), records a failure as the
/// thread's last error, turns a panic into `GSS_S_FAILURE`.
///
/// # Safety
/// `minor` is NULL or points to a writable `OM_uint32`.
pub unsafe fn call(minor: *mut OM_uint32, body: impl FnOnce() -> GssResult) -> OM_uint32 {
    if !minor.is_null() {
        // SAFETY: a non-NULL minor_status points to an OM_uint32 (RFC 2744).
        unsafe { minor.write(0) };
    }
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Err(Failure::Core(Error::new(ErrorCode::KTIX_ERR_PANIC, format!("panic inside libktix: {what}"))))
    });
    match outcome {
        Ok(m) => m,
        Err(f) => {
            let s = f.status();
            let _ = catch_unwind(|| record(s.minor, &s.message));
            if !minor.is_null() {
                // SAFETY: as above.
                unsafe { minor.write(s.minor) };
            }
            if major::is_error(s.major) {
                s.major
            } else {
                major::FAILURE
            }
        }
    }
}

/// Keeps `message` as this thread's text for minor status `minor`.
pub fn record(minor: OM_uint32, message: &str) {
    LAST.with(|l| *l.borrow_mut() = Some((minor, message.to_string())));
}

/// The text of a minor status: the thread's last message when it is that failure's, else the
/// core error table's name and description.
pub fn minor_text(minor: OM_uint32) -> String {
    if minor == 0 {
        return "Success".into();
    }
    if let Some(text) = LAST.with(|l| l.borrow().as_ref().filter(|(m, _)| *m == minor).map(|(_, t)| t.clone())) {
        return text;
    }
    match Status::code_of_minor(minor) {
        Some(code) => match code.description() {
            Some(d) => format!("{d} ({})", code.name()),
            None => code.name(),
        },
        None => format!("Unknown code {minor}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_set_minor_and_keep_the_message() {
        let mut minor = 77;
        // SAFETY: valid pointers in these tests.
        let m = unsafe {
            call(&mut minor, || Err(Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, "the MIC does not match").into()))
        };
        assert_eq!(m, major::BAD_SIG);
        assert_eq!(minor, 1101);
        assert_eq!(minor_text(1101), "the MIC does not match");
        assert!(minor_text(1106).contains("KTIX_ERR_GSS_DEFECTIVE_TOKEN"), "{}", minor_text(1106));
        assert_eq!(unsafe { call(&mut minor, || Ok(major::CONTINUE_NEEDED)) }, major::CONTINUE_NEEDED);
        assert_eq!(minor, 0);
    }

    #[test]
    fn a_panic_is_a_failure() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut minor = 0;
        // SAFETY: valid pointers.
        let m = unsafe { call(&mut minor, || panic!("boom")) };
        std::panic::set_hook(prev);
        assert_eq!(m, major::FAILURE);
        assert_eq!(minor, 1002);
        assert!(minor_text(1002).contains("boom"));
        assert_eq!(unsafe { call(std::ptr::null_mut(), || Err(unavailable("gss_x"))) }, major::UNAVAILABLE);
    }
}
