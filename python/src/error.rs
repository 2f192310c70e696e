//! The one mapping from a core [`ktix::Error`] to a Python exception.
//!
//! `ktix.KtixError` and its family subclasses are plain Python classes (`ktix/_errors.py`), so
//! that they pickle, can be subclassed and constructed from Python like any exception. This module
//! calls `ktix._errors._from_core(code, name, message)`, which picks the class for the code (the
//! table is documented there) and builds the instance. Failures of the GSS-API calls (and the
//! core's GSS codes, 1100-1199) go through `gss::gss_err` instead, which adds the GSS major and
//! minor status (`ktix._errors._from_gss`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Converts a core error into the `ktix.KtixError` (or family subclass) carrying its code, name
/// and message.
///
/// Should the exception classes themselves be unavailable (a broken installation), the failure
/// to find them is returned instead, so the caller still gets an exception.
pub(crate) fn to_py_err(py: Python<'_>, err: &ktix::Error) -> PyErr {
    if (1100..1200).contains(&err.code().code()) {
        // The GSS-API codes (KTIX_ERR_GSS_*) raise GssError with their major/minor status.
        return crate::gss::gss_err(py, err);
    }
    static FROM_CORE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let code = err.code();
    let made = FROM_CORE
        .import(py, "ktix._errors", "_from_core")
        .and_then(|make| make.call1((code.code(), code.name(), err.message())));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(lookup) => {
            let e = PyRuntimeError::new_err(format!("{err} (and ktix.KtixError is unavailable)"));
            e.set_cause(py, Some(lookup));
            e
        }
    }
}

/// `ktix::Result` → `PyResult`, through [`to_py_err`].
pub(crate) trait OrRaise<T> {
    /// The value, or the core error raised as a `KtixError`.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for ktix::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}
