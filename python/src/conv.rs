//! Conversions of core values to Python values: times to timezone-aware datetimes, flags to
//! `ktix.TicketFlags`, credentials and keytab entries to the named tuples of `ktix/_types.py`;
//! and the range checks of numeric arguments.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use ktix::Flags;
use ktix::{Error, Time};

use crate::error::OrRaise;

/// The range of Python's `datetime` (years 1 to 9999), in microseconds since the Unix epoch.
const MIN_MICROS: i64 = -62_135_596_800_000_000;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// Looks up (once) a class or function of `ktix._types`.
macro_rules! types_attr {
    ($py:expr, $name:literal) => {{
        static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        CELL.import($py, "ktix._types", $name)
    }};
}

/// A core time as a timezone-aware UTC `datetime` (clamped to the years `datetime` can hold).
pub(crate) fn utc<'py>(py: Python<'py>, t: Time) -> PyResult<Bound<'py, PyAny>> {
    let micros = t.unix_micros().clamp(MIN_MICROS, MAX_MICROS);
    types_attr!(py, "_utc")?.call1((micros,))
}

/// An optional time as a `datetime` or `None`.
pub(crate) fn utc_opt<'py>(py: Python<'py>, t: Option<Time>) -> PyResult<Option<Bound<'py, PyAny>>> {
    t.map(|t| utc(py, t)).transpose()
}

/// Ticket flags as `ktix.TicketFlags`.
pub(crate) fn ticket_flags<'py>(py: Python<'py>, flags: Flags) -> PyResult<Bound<'py, PyAny>> {
    types_attr!(py, "TicketFlags")?.call1((flags.0,))
}

/// A cached credential as `ktix.Credential(server, start, end, enctype, flags)` (no key bytes).
pub(crate) fn credential<'py>(py: Python<'py>, c: &ktix::Credential) -> PyResult<Bound<'py, PyAny>> {
    let fields = (
        c.server.to_string(),
        utc(py, c.start())?,
        utc(py, c.end_time)?,
        c.key.enctype().id(),
        ticket_flags(py, c.flags)?,
    );
    types_attr!(py, "Credential")?.call1(fields)
}

/// A keytab entry as `ktix.KeytabEntry(principal, kvno, enctype, timestamp)` (no key bytes).
pub(crate) fn keytab_entry<'py>(py: Python<'py>, e: &ktix::KeytabEntry) -> PyResult<Bound<'py, PyAny>> {
    let fields = (e.principal.to_string(), e.kvno, e.key.enctype_id(), utc(py, e.timestamp)?);
    types_attr!(py, "KeytabEntry")?.call1(fields)
}

/// Client counters as `ktix.ClientStats(as_requests, tgs_requests)`.
pub(crate) fn client_stats<'py>(py: Python<'py>, s: ktix::client::ClientStats) -> PyResult<Bound<'py, PyAny>> {
    types_attr!(py, "ClientStats")?.call1((s.as_requests, s.tgs_requests))
}

/// An optional argument that must be positive when given (lifetimes in seconds), else
/// `InvalidArgumentError`.
pub(crate) fn positive(py: Python<'_>, value: Option<i64>, what: &str) -> PyResult<Option<i64>> {
    match value {
        Some(v) if v <= 0 => Err(Error::invalid(format!("{what} must be positive, not {v}"))).or_raise(py),
        other => Ok(other),
    }
}

/// A count argument that must be at least 1 (threads, cache entries), else `InvalidArgumentError`.
pub(crate) fn count(py: Python<'_>, value: i64, what: &str) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::invalid(format!("{what} must be at least 1, not {value}")))
        .or_raise(py)
}
