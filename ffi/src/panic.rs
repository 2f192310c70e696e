//! The panic boundary: the one place where a Rust panic is stopped before it reaches C.
//!
//! Every exported function wraps its whole body in [`ffi_boundary!`]. The body's value is turned
//! into what C receives by [`IntoC`]: a `Result<()>` becomes a [`ktix_result`] (recording the
//! error's message for `ktix_last_error_message()`), a plain value is passed through. A panic
//! becomes the fallback of the C return type ([`Fallback`]): `KTIX_ERR_PANIC` for a result, NULL
//! for a pointer, zero for a number, nothing for `void`.
//!
//! Nothing unwinds across `extern "C"`: the unwind is caught here, inside the function. The crate
//! refuses to build with `panic = "abort"`, where there would be nothing to catch.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ktix::{Error, ErrorCode};

use crate::result::{self, ktix_result};

#[cfg(panic = "abort")]
compile_error!("ktix-ffi must be built with panic = \"unwind\": its panic boundary turns panics into KTIX_ERR_PANIC");

/// Runs an exported function's body inside the panic boundary.
///
/// `ffi_boundary!(try { … })`: the body returns `ktix::Result<()>` and the function returns its
/// `ktix_result`. `ffi_boundary!({ … })`: the body returns the C value itself.
macro_rules! ffi_boundary {
    (try $body:block) => {
        $crate::panic::boundary(move || -> ::ktix::Result<()> { $body })
    };
    ($body:block) => {
        $crate::panic::boundary(move || $body)
    };
}
pub(crate) use ffi_boundary;

/// What a C return type becomes when the body panicked.
pub(crate) trait Fallback {
    /// The value returned in place of a panicking body's.
    fn on_panic() -> Self;
}

impl Fallback for ktix_result {
    fn on_panic() -> Self {
        result::KTIX_ERR_PANIC
    }
}

impl<T> Fallback for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl<T> Fallback for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}

impl Fallback for () {
    fn on_panic() -> Self {}
}

impl Fallback for usize {
    fn on_panic() -> Self {
        0
    }
}

impl Fallback for u32 {
    fn on_panic() -> Self {
        0
    }
}

impl Fallback for bool {
    fn on_panic() -> Self {
        false
    }
}

/// How a body's value becomes the C return value.
pub(crate) trait IntoC {
    /// The C return type.
    type C: Fallback;
    /// The conversion.
    fn into_c(self) -> Self::C;
}

impl IntoC for ktix::Result<()> {
    type C = ktix_result;
    fn into_c(self) -> ktix_result {
        match self {
            Ok(()) => {
                result::clear_last_error();
                result::KTIX_OK
            }
            Err(e) => result::record(&e),
        }
    }
}

macro_rules! into_c_as_is {
    ($($t:ty),*) => { $( impl IntoC for $t { type C = $t; fn into_c(self) -> $t { self } } )* };
}
into_c_as_is!(ktix_result, (), usize, u32, bool);

impl<T> IntoC for *const T {
    type C = *const T;
    fn into_c(self) -> *const T {
        self
    }
}

/// Runs `body`; if it panics, returns the fallback of its C type instead of unwinding into the
/// caller (and, for a `ktix_result`, records the panic as the thread's last error).
///
/// `AssertUnwindSafe` is sound here because a panicking call hands nothing it touched back to C:
/// its outputs are not written (they keep the NULL / empty value written on entry).
pub(crate) fn boundary<R: IntoC>(body: impl FnOnce() -> R) -> R::C {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value.into_c(),
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            // Recording is best effort and cannot panic into C: it is inside its own catch.
            let _ = catch_unwind(|| {
                result::record(&Error::new(ErrorCode::KTIX_ERR_PANIC, format!("panic inside libktix: {what}")))
            });
            R::C::on_panic()
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quietly<T>(f: impl FnOnce() -> T) -> T {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let got = f();
        std::panic::set_hook(prev);
        got
    }

    fn boom<T>() -> T {
        panic!("boom")
    }

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        let got: ktix_result = quietly(|| ffi_boundary!(try { panic!("boom") }));
        assert_eq!(got, result::KTIX_ERR_PANIC);
        assert!(result::last_error().contains("panic inside libktix: boom"), "{}", result::last_error());
        let p: *const u8 = quietly(|| ffi_boundary!({ boom::<*const u8>() }));
        assert!(p.is_null());
        let n: usize = quietly(|| ffi_boundary!({ boom::<usize>() }));
        assert_eq!(n, 0);
        assert_eq!(ffi_boundary!({ 7usize }), 7);
    }

    #[test]
    fn results_record_and_clear_the_last_error() {
        let got = ffi_boundary!(try { Err(Error::invalid("bad thing")) });
        assert_eq!(got, result::KTIX_ERR_INVALID_ARGUMENT);
        assert!(result::last_error().contains("bad thing"));
        assert_eq!(ffi_boundary!(try { Ok(()) }), result::KTIX_OK);
        assert_eq!(result::last_error(), "");
    }
}
