//! The one mapping from a core [`ktix::Error`] to a Python exception.
//!
//! `ktix.KtixError` is a plain Python class (`ktix/_errors.py`), so that it pickles, can be
//! subclassed and constructed from Python like any exception; this module looks it up once and
//! instantiates it as `KtixError(code, name, message)`.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Converts a core error into the `ktix.KtixError` carrying its code, name and message.
///
/// Should the exception class itself be unavailable (a broken installation), the failure to
/// find it is returned instead, so the caller still gets an exception.
pub(crate) fn to_py_err(py: Python<'_>, err: &ktix::Error) -> PyErr {
    static KTIX_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let code = err.code();
    let made = KTIX_ERROR
        .import(py, "ktix._errors", "KtixError")
        .and_then(|class| class.call1((code.code(), code.name(), err.message())));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(lookup) => {
            let e = PyRuntimeError::new_err(format!("{err} (and ktix.KtixError is unavailable)"));
            e.set_cause(py, Some(lookup));
            e
        }
    }
}
