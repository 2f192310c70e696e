//! The panic boundary: the one place where a Rust panic is stopped before it reaches C.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; if it panics, returns `on_panic` instead of unwinding into the caller.
///
/// Every exported function wraps its whole body in this call. `AssertUnwindSafe` is sound here
/// because a panicking call hands nothing it touched back to C: its outputs are not written.
pub(crate) fn boundary<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let got = boundary(-1, || -> i32 { panic!("boom") });
        std::panic::set_hook(prev);
        assert_eq!(got, -1);
        assert_eq!(boundary(-1, || 7), 7);
    }
}
