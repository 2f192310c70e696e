//! `ktix.CCache`: the client's ticket cache (memory, or MIT FILE format v4).

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::conv;
use crate::error::OrRaise;

/// A credential (ticket) cache: ``CCache.memory()``, ``CCache.file(path)`` (MIT FILE format v4,
/// readable by MIT's klist and libkrb5), ``CCache.default()`` (``$KRB5CCNAME``, as MIT resolves
/// it) or ``CCache.resolve(name)`` (``"MEMORY:x"``, ``"FILE:/path"``).
///
/// Handles are shared: every ``CCache`` object made from the same memory cache sees the same
/// tickets. Safe to use from many threads.
#[pyclass(frozen, module = "ktix")]
pub struct CCache {
    pub(crate) inner: ktix::CCache,
}

#[pymethods]
impl CCache {
    /// A new, empty in-memory cache (gone when the last handle is).
    #[staticmethod]
    fn memory() -> CCache {
        CCache { inner: ktix::CCache::memory() }
    }

    /// The FILE cache at ``path`` (MIT's format; created when first written, mode 0600). Nothing
    /// is read until the cache is used.
    #[staticmethod]
    fn file(path: PathBuf) -> CCache {
        CCache { inner: ktix::CCache::file(path) }
    }

    /// The cache ``$KRB5CCNAME`` names, else the default ``FILE:/tmp/krb5cc_<uid>``, as MIT's
    /// tools choose it.
    #[staticmethod]
    fn default(py: Python<'_>) -> PyResult<CCache> {
        py.detach(ktix::CCache::default).or_raise(py).map(|inner| CCache { inner })
    }

    /// The cache called ``name``: ``"FILE:/path"``, ``"MEMORY:id"`` or a plain path.
    #[staticmethod]
    fn resolve(py: Python<'_>, name: &str) -> PyResult<CCache> {
        py.detach(|| ktix::CCache::resolve(name)).or_raise(py).map(|inner| CCache { inner })
    }

    /// The cache's full name, e.g. ``"MEMORY:1f2e…"`` or ``"FILE:/tmp/krb5cc_1000"``.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// The file of a FILE cache, ``None`` for a memory cache.
    #[getter]
    fn path(&self) -> Option<String> {
        self.inner.path().map(|p| p.to_string_lossy().into_owned())
    }

    /// Whether the cache exists: a FILE cache's file is there, a memory cache is initialized.
    fn exists(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.inner.exists()).or_raise(py)
    }

    /// The cache's owner (``"alice@KTIX.TEST"``), or ``None`` when it is empty or destroyed.
    #[getter]
    fn principal(&self, py: Python<'_>) -> PyResult<Option<String>> {
        py.detach(|| self.inner.principal()).or_raise(py).map(|p| p.map(|p| p.to_string()))
    }

    /// The tickets, in the order stored, as ``Credential(server, start, end, enctype, flags)``
    /// tuples (no key material).
    fn credentials<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let creds = py.detach(|| self.inner.credentials()).or_raise(py)?;
        creds.iter().map(|c| conv::credential(py, c)).collect()
    }

    /// Destroys the cache: every ticket and session key is dropped and zeroized; a FILE cache's
    /// file is overwritten and removed (``NotFoundError`` when there is none), as ``kdestroy``.
    fn destroy(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.destroy()).or_raise(py)
    }

    fn __repr__(&self) -> String {
        format!("<ktix.CCache {}>", self.inner.name())
    }
}
