//! `ktix.Keytab`: a service's long-term keys (MIT keytab format 0x0502).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use ktix::Error;

use crate::conv;
use crate::error::OrRaise;

/// Long-term service keys, as in an MIT keytab file (format 0x0502). Immutable.
///
/// Get one from ``Kdc.keytab(name)``, ``Keytab.load(path)`` or ``Keytab.from_bytes(data)``;
/// write it with ``save(path)``. ``entries()`` lists the keys without their bytes.
/// ``Keytab()`` is an empty keytab.
#[pyclass(frozen, module = "ktix")]
pub struct Keytab {
    pub(crate) inner: ktix::Keytab,
}

impl From<ktix::Keytab> for Keytab {
    fn from(inner: ktix::Keytab) -> Keytab {
        Keytab { inner }
    }
}

/// A path argument as the `str` the core takes (`FILE:path`, `WRFILE:path` or a plain path).
pub(crate) fn path_text(py: Python<'_>, path: &std::path::Path) -> PyResult<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("{}: the path is not valid UTF-8", path.display())))
        .or_raise(py)
}

#[pymethods]
impl Keytab {
    #[new]
    fn new() -> Keytab {
        Keytab { inner: ktix::Keytab::new() }
    }

    /// Reads the keytab file at ``path`` (a path, ``"FILE:path"`` or ``"WRFILE:path"``).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Keytab> {
        let name = path_text(py, &path)?;
        py.detach(|| ktix::Keytab::load(&name)).or_raise(py).map(Keytab::from)
    }

    /// Parses keytab file bytes (format 0x0502 or 0x0501).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: PyBackedBytes) -> PyResult<Keytab> {
        py.detach(|| ktix::Keytab::parse(&data)).or_raise(py).map(Keytab::from)
    }

    /// Writes the keytab to ``path`` atomically, readable by the owner only (mode 0600).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let name = path_text(py, &path)?;
        py.detach(|| self.inner.save(&name)).or_raise(py)
    }

    /// The keytab file bytes (format 0x0502). They contain the keys: handle them as secrets.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.inner.try_to_bytes().or_raise(py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The entries in file order, as ``KeytabEntry(principal, kvno, enctype, timestamp)``
    /// (without key bytes).
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.inner.entries().iter().map(|e| conv::keytab_entry(py, e)).collect()
    }

    /// The distinct principals, in order of first appearance.
    fn principals(&self) -> Vec<String> {
        self.inner.principals().iter().map(|p| p.to_string()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self.inner.principals().iter().map(|p| p.to_string()).collect();
        format!("<ktix.Keytab {} entries: {}>", self.inner.len(), names.join(", "))
    }
}
