//! The native half of the Python package `ktix`: the extension module `ktix._ktix`.
//!
//! A thin translation of the core crate: `#[pyclass]` wrappers over core objects, no protocol
//! logic. Every core [`ktix::Error`] becomes a `ktix.KtixError` through [`error::to_py_err`],
//! the one mapping function. The public Python surface is re-exported by `ktix/__init__.py`;
//! `ktix/_ktix.pyi` describes this module and is checked against it by the tests.

#![warn(missing_docs)]

use pyo3::prelude::*;

mod error;

/// The version of libktix, e.g. `"0.1.0"`.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The symbolic name of a ktix / Kerberos error code, e.g. `"KRB_AP_ERR_SKEW"` for 37.
#[pyfunction]
fn error_name(code: i32) -> String {
    ktix::ErrorCode(code).name()
}

/// Raises the `KtixError` that the core error `(code, message)` maps to (for the tests of the
/// error mapping; not part of the public API).
#[pyfunction]
fn _raise_error(py: Python<'_>, code: i32, message: &str) -> PyResult<()> {
    Err(error::to_py_err(py, &ktix::Error::new(ktix::ErrorCode(code), message)))
}

/// libktix, a Kerberos V5 library: the native extension module.
#[pymodule]
mod _ktix {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{_raise_error, error_name, version};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", super::version())
    }
}
