//! The native half of the Python package `ktix`: the extension module `ktix._ktix`.
//!
//! A thin translation of the core crate: `#[pyclass]` wrappers over core objects, no protocol
//! logic. Every core [`ktix::Error`] becomes a `ktix.KtixError` (or a family subclass) through
//! [`error::to_py_err`], the one mapping function. Calls that do network I/O or real crypto
//! release the GIL (`Python::detach`). Every class is `frozen` and `Send + Sync`: objects are
//! shared between Python threads as the core objects are between Rust threads.
//!
//! The GSS-API contexts (`gss.rs`) are exported here and re-exported as `ktix.gss` by
//! `ktix/gss.py`; their failures raise `ktix.GssError` through `gss::gss_err`.
//!
//! The public Python surface is re-exported by `ktix/__init__.py`; `ktix/_ktix.pyi` describes
//! this module and is checked against it by the tests (`mypy.stubtest`).

#![warn(missing_docs)]

use pyo3::prelude::*;

mod acceptor;
mod ccache;
mod client;
mod conv;
mod error;
mod gss;
mod kdc;
mod keytab;

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

/// The name of an encryption type number as MIT prints it, e.g. `"aes256-cts-hmac-sha1-96"` for
/// 18; `"enctype N"` for a number libktix does not implement.
#[pyfunction]
fn enctype_name(enctype: i32) -> String {
    match ktix::Enctype::from_i32(enctype) {
        Ok(e) => e.name().to_string(),
        Err(_) => format!("enctype {enctype}"),
    }
}

/// The number of an encryption type from its name (`"aes256-cts-hmac-sha1-96"`, also MIT's short
/// names such as `"aes256-sha2"`); raises `CryptoError` for a name libktix does not implement.
#[pyfunction]
fn enctype_number(py: Python<'_>, name: &str) -> PyResult<i32> {
    use error::OrRaise;
    ktix::Enctype::from_name(name).map(ktix::Enctype::id).or_raise(py)
}

/// libktix, a Kerberos V5 library: the native extension module.
#[pymodule]
mod _ktix {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{enctype_name, enctype_number, error_name, version};

    #[pymodule_export]
    use super::kdc::{Kdc, KdcServer};

    #[pymodule_export]
    use super::keytab::Keytab;

    #[pymodule_export]
    use super::ccache::CCache;

    #[pymodule_export]
    use super::client::{ApContext, Client};

    #[pymodule_export]
    use super::acceptor::{Accepted, Acceptor};

    #[pymodule_export]
    use super::gss::{AcceptorContext, InitiatorContext};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", super::version())
    }
}
