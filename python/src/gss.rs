//! `ktix.gss`: GSS-API security contexts (the Kerberos V5 mechanism and SPNEGO) over
//! [`ktix::gss`] — `InitiatorContext` and `AcceptorContext`, with their per-message calls.
//!
//! The Python half (`ktix/gss.py`) re-exports these classes with the flag and status constants
//! and `ChannelBindings`. Every failure of a call here raises `ktix.GssError` (or a subclass of
//! it for the common major statuses), carrying the core error's code and name and the GSS
//! major/minor status of [`ktix::gss::Status::of`]: [`gss_err`], the one mapping. Establishing
//! a context (KDC I/O, the AP exchange) and the per-message calls (crypto) release the GIL.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;

use ktix::gss::{
    self, AcceptorCred, AcceptorOptions, ChannelBindings, ContextFlags, InitiatorCred, InitiatorOptions, Mech, Name,
    SecurityContext, Status,
};
use ktix::{Error, ErrorCode};

use crate::ccache::CCache;
use crate::conv;
use crate::keytab::{path_text, Keytab};

/// A core error raised from a GSS call: `ktix.GssError` (or the subclass for its major
/// status) with the core code and name, and the GSS major and minor status.
pub(crate) fn gss_err(py: Python<'_>, err: &Error) -> PyErr {
    static FROM_GSS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let status = Status::of(err);
    let code = err.code();
    let made = FROM_GSS
        .import(py, "ktix._errors", "_from_gss")
        .and_then(|make| make.call1((code.code(), code.name(), err.message(), status.major, status.minor)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(lookup) => {
            let e = PyRuntimeError::new_err(format!("{err} (and ktix.GssError is unavailable)"));
            e.set_cause(py, Some(lookup));
            e
        }
    }
}

/// `ktix::Result` → `PyResult` through [`gss_err`].
trait OrRaiseGss<T> {
    fn or_raise_gss(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaiseGss<T> for ktix::Result<T> {
    fn or_raise_gss(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| gss_err(py, &e))
    }
}

/// A bytes-like argument: `bytes` and `bytearray` (as `PyBackedBytes` takes them) or a
/// `memoryview` (copied once through `tobytes()`); anything else is a `TypeError`.
fn bytes_like(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PyBackedBytes> {
    if let Ok(b) = obj.extract::<PyBackedBytes>() {
        return Ok(b);
    }
    static MEMORYVIEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let memoryview = MEMORYVIEW.import(obj.py(), "builtins", "memoryview")?;
    if obj.is_instance(memoryview)? {
        return obj.call_method0("tobytes")?.extract::<PyBackedBytes>().map_err(Into::into);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, bytearray or memoryview, not {}",
        obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
    )))
}

/// The `channel_bindings=` argument: `None`, bytes-like application data (addresses
/// unspecified, as python-gssapi's `ChannelBindings(application_data=...)`), or an object with
/// the attributes of `ktix.gss.ChannelBindings`.
fn channel_bindings(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ChannelBindings>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(data) = bytes_like(obj, "channel_bindings") {
        return Ok(Some(ChannelBindings::application(&data)));
    }
    const FIELDS: [&str; 5] = [
        "initiator_address_type",
        "initiator_address",
        "acceptor_address_type",
        "acceptor_address",
        "application_data",
    ];
    for name in FIELDS {
        if !obj.hasattr(name)? {
            return Err(PyTypeError::new_err(format!(
                "channel_bindings must be bytes, bytearray, memoryview or ktix.gss.ChannelBindings, not {}",
                obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
            )));
        }
    }
    let field = |name: &str| -> PyResult<Vec<u8>> {
        let value = obj.getattr(name)?;
        if value.is_none() {
            return Ok(Vec::new());
        }
        Ok(bytes_like(&value, name)?.to_vec())
    };
    let addrtype = |name: &str| -> PyResult<u32> { obj.getattr(name)?.extract::<u32>() };
    Ok(Some(ChannelBindings {
        initiator_addrtype: addrtype("initiator_address_type")?,
        initiator_address: field("initiator_address")?,
        acceptor_addrtype: addrtype("acceptor_address_type")?,
        acceptor_address: field("acceptor_address")?,
        application_data: field("application_data")?,
    }))
}

/// A `ccache=` argument: a cache name (`"FILE:/path"`, `"MEMORY:x"`, a plain path), a path, or
/// a `ktix.CCache`.
#[derive(FromPyObject)]
enum CCacheArg {
    Cache(Py<CCache>),
    Name(String),
    Path(PathBuf),
}

/// A `keytab=` argument: a keytab name or path, or a `ktix.Keytab`.
#[derive(FromPyObject)]
enum KeytabArg {
    Keytab(Py<Keytab>),
    Name(String),
    Path(PathBuf),
}

/// The target name of an initiator: `"service@host"` or `"service"` is a host-based service
/// name (RFC 2743 §4.1, mapped to `service/host@REALM` through krb5.conf), a name with a `/`
/// (`"HTTP/web.ktix.test"`, optionally `@REALM`) a Kerberos principal name.
fn target_name(service: &str) -> ktix::Result<Name> {
    if service.contains('/') {
        Name::import(service.as_bytes(), None)
    } else {
        Name::hostbased(service)
    }
}

/// The parts both context classes share, behind a lock: `step` takes it for writing, the
/// per-message calls (which keep their sequence state inside the context) for reading.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// The `#[pymethods]` of a context class: its own (`$own`: constructor, `step`, …) and the
/// properties and per-message calls both classes share (PyO3 takes one `#[pymethods]` block per
/// class, so the shared ones are pasted into each).
macro_rules! security_context_methods {
    ($ty:ty, { $($own:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($own)*

            /// ``True`` once the context is established (no more tokens to exchange).
            #[getter]
            fn complete(&self) -> bool {
                read(&self.inner).is_complete()
            }

            /// The context flags (``ktix.gss.MUTUAL | ktix.gss.CONF | …``, RFC 2744 values) as an
            /// ``int``: what was asked for while the context is being established, what was agreed
            /// once it is complete.
            #[getter]
            fn flags(&self) -> u32 {
                read(&self.inner).flags().0
            }

            /// The mechanism as a dotted OID: ``"1.2.840.113554.1.2.2"`` (Kerberos V5) or
            /// ``"1.3.6.1.5.5.2"`` (SPNEGO).
            #[getter]
            fn mech(&self, py: Python<'_>) -> PyResult<String> {
                gss::oid::to_dotted(read(&self.inner).mech()).or_raise_gss(py)
            }

            /// The initiator's principal (``"alice@KTIX.TEST"``) once known, else ``None``.
            #[getter]
            fn initiator_name(&self) -> Option<String> {
                read(&self.inner).source_name().map(|p| p.to_string())
            }

            /// The acceptor's principal (``"HTTP/web.ktix.test@KTIX.TEST"``) once known, else
            /// ``None``.
            #[getter]
            fn target_name(&self) -> Option<String> {
                read(&self.inner).target_name().map(|p| p.to_string())
            }

            /// When the context expires (the ticket's end time), a UTC ``datetime``, once known.
            #[getter]
            fn expires<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
                conv::utc_opt(py, read(&self.inner).expires())
            }

            /// ``True`` for an ``InitiatorContext``.
            #[getter]
            fn is_initiator(&self) -> bool {
                read(&self.inner).is_initiator()
            }

            /// A Wrap token (RFC 4121 §4.2.6.2) carrying ``data``, encrypted when ``confidential``
            /// (the default), else integrity-protected only. The GIL is released.
            #[pyo3(signature = (data, confidential=true))]
            fn wrap<'py>(
                &self,
                py: Python<'py>,
                data: &Bound<'py, PyAny>,
                confidential: bool,
            ) -> PyResult<Bound<'py, PyBytes>> {
                let data = bytes_like(data, "data")?;
                let token = py.detach(|| read(&self.inner).wrap(&data, confidential)).or_raise_gss(py)?;
                Ok(PyBytes::new(py, &token))
            }

            /// The data of the peer's Wrap token. A token that does not verify raises
            /// ``GssError`` with ``GSS_S_BAD_SIG``, a malformed one ``GSS_S_DEFECTIVE_TOKEN``; a
            /// replayed, too old, out-of-order token or one after a gap (with replay/sequence
            /// detection) ``GSS_S_DUPLICATE_TOKEN``/``OLD_TOKEN``/``UNSEQ_TOKEN``/``GAP_TOKEN``.
            fn unwrap<'py>(&self, py: Python<'py>, token: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
                let token = bytes_like(token, "token")?;
                let data = py.detach(|| read(&self.inner).unwrap(&token)).or_raise_gss(py)?;
                Ok(PyBytes::new(py, &data))
            }

            /// A MIC token (RFC 4121 §4.2.6.1) over ``data``. The GIL is released.
            fn get_mic<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
                let data = bytes_like(data, "data")?;
                let mic = py.detach(|| read(&self.inner).get_mic(&data)).or_raise_gss(py)?;
                Ok(PyBytes::new(py, &mic))
            }

            /// Checks the peer's MIC token over ``data``; raises ``GssError`` as ``unwrap`` does.
            fn verify_mic(&self, py: Python<'_>, data: &Bound<'_, PyAny>, mic: &Bound<'_, PyAny>) -> PyResult<()> {
                let data = bytes_like(data, "data")?;
                let mic = bytes_like(mic, "mic")?;
                py.detach(|| read(&self.inner).verify_mic(&data, &mic)).or_raise_gss(py)
            }

            /// The largest message whose Wrap token fits in ``max_output`` bytes.
            #[pyo3(signature = (max_output, confidential=true))]
            fn wrap_size_limit(&self, max_output: usize, confidential: bool) -> usize {
                read(&self.inner).wrap_size_limit(confidential, max_output)
            }
        }
    };
}

/// The initiator (client) side of a GSS-API security context.
///
/// ``InitiatorContext(service, ccache=None, *, mutual=True, delegate=False, spnego=False,
/// channel_bindings=None, lifetime=None)``. ``service`` is a host-based service name,
/// ``"HTTP@web.ktix.test"`` (the realm from krb5.conf's ``[domain_realm]``/``default_realm``, no
/// DNS), or a principal name with a ``/`` (``"HTTP/web.ktix.test@KTIX.TEST"``). ``ccache`` is a
/// ``ktix.CCache``, a cache name or path; ``None`` is ``$KRB5CCNAME`` or the default cache, read
/// now (a ``GssError`` with ``GSS_S_NO_CRED`` when it holds no TGT). ``mutual`` asks the acceptor
/// to authenticate itself, ``delegate`` forwards the TGT to it, ``spnego`` wraps the Kerberos
/// mechanism in SPNEGO (RFC 4178, what HTTP Negotiate uses). The context always asks for
/// replay and sequence detection, confidentiality and integrity. ``channel_bindings``:
/// application data (bytes-like) or a ``ktix.gss.ChannelBindings``.
///
/// ``step(None)`` gives the first token for the acceptor; feed each answer to ``step`` until
/// ``complete``. Safe to share between threads; ``step`` and the per-message calls release the
/// GIL.
#[pyclass(frozen, module = "ktix.gss")]
pub struct InitiatorContext {
    inner: RwLock<gss::InitiatorContext>,
}

security_context_methods!(InitiatorContext, {
    #[new]
    #[pyo3(signature = (service, ccache=None, *, mutual=true, delegate=false, spnego=false, channel_bindings=None, lifetime=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        service: &str,
        ccache: Option<CCacheArg>,
        mutual: bool,
        delegate: bool,
        spnego: bool,
        channel_bindings: Option<&Bound<'_, PyAny>>,
        lifetime: Option<i64>,
    ) -> PyResult<InitiatorContext> {
        let bindings = self::channel_bindings(channel_bindings)?;
        let lifetime = conv::positive(py, lifetime, "lifetime")?.map(|l| u32::try_from(l).unwrap_or(u32::MAX));
        let ccache = match ccache {
            None => None,
            Some(CCacheArg::Cache(c)) => Some(Ok(c.get().inner.clone())),
            Some(CCacheArg::Name(name)) => Some(Err(name)),
            Some(CCacheArg::Path(path)) => Some(Err(path_text(py, &path)?)),
        };
        let defaults = InitiatorOptions::default();
        let flags = defaults
            .flags
            .without(ContextFlags::MUTUAL)
            .with_if(ContextFlags::MUTUAL, mutual)
            .with_if(ContextFlags::DELEG, delegate);
        let opts = InitiatorOptions {
            mech: if spnego { Mech::Spnego } else { Mech::Krb5 },
            flags,
            channel_bindings: bindings,
            lifetime,
        };
        let service = service.to_string();
        let ctx = py
            .detach(move || {
                let cred = match ccache {
                    None => InitiatorCred::acquire(None)?,
                    Some(Ok(cache)) => InitiatorCred::from_ccache(cache)?,
                    Some(Err(name)) => InitiatorCred::acquire(Some(&name))?,
                };
                let target = target_name(&service)?;
                gss::InitiatorContext::new(&cred, &target, opts)
            })
            .or_raise_gss(py)?;
        Ok(InitiatorContext { inner: RwLock::new(ctx) })
    }

    /// One step of establishing the context: ``step(None)`` first, then each token the acceptor
    /// answered. Returns the token to send to the acceptor, or ``None`` when there is none
    /// (then ``complete`` is ``True``). A refusal (the acceptor's KRB-ERROR, a bad AP-REP)
    /// raises ``GssError``. The GIL is released (this may talk to the KDC).
    #[pyo3(signature = (token=None))]
    fn step<'py>(&self, py: Python<'py>, token: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let token = match token {
            Some(t) if !t.is_none() => Some(bytes_like(t, "token")?),
            _ => None,
        };
        let out = py.detach(|| write(&self.inner).step(token.as_deref())).or_raise_gss(py)?;
        Ok(out.map(|t| PyBytes::new(py, &t)))
    }

    fn __repr__(&self) -> String {
        let ctx = read(&self.inner);
        let target = ctx.target_name().map(|p| p.to_string()).unwrap_or_else(|| "?".into());
        let state = if ctx.is_complete() { "complete" } else { "establishing" };
        format!("<ktix.gss.InitiatorContext to {target} {state}>")
    }
});

/// The acceptor (service) side of a GSS-API security context.
///
/// ``AcceptorContext(keytab=None, *, spnego=True, channel_bindings=None)``. ``keytab`` is a
/// ``ktix.Keytab``, a keytab name or path; ``None`` is ``$KRB5_KTNAME`` or MIT's default
/// ``FILE:/etc/krb5.keytab``, read now (servers set ``KRB5_KTNAME`` just before accepting). Any
/// principal of the keytab is accepted, with the replay cache every acceptor of the service in
/// the process shares. ``spnego=True`` accepts SPNEGO as well as raw Kerberos tokens (the reply
/// is in the initiator's mechanism); ``False`` raw Kerberos only. With ``channel_bindings`` the
/// initiator's must match (else ``GssError`` with ``GSS_S_BAD_BINDINGS``).
///
/// Feed each initiator token to ``step`` until ``complete``; send back what it returns.
/// ``initiator_name`` is the authenticated client; ``delegated`` the forwarded TGT, if any.
#[pyclass(frozen, module = "ktix.gss")]
pub struct AcceptorContext {
    inner: RwLock<gss::AcceptorContext>,
}

security_context_methods!(AcceptorContext, {
    #[new]
    #[pyo3(signature = (keytab=None, *, spnego=true, channel_bindings=None))]
    fn new(
        py: Python<'_>,
        keytab: Option<KeytabArg>,
        spnego: bool,
        channel_bindings: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<AcceptorContext> {
        let opts = AcceptorOptions { spnego, channel_bindings: self::channel_bindings(channel_bindings)? };
        let keytab = match keytab {
            None => None,
            Some(KeytabArg::Keytab(k)) => Some(Ok(k.get().inner.clone())),
            Some(KeytabArg::Name(name)) => Some(Err(name)),
            Some(KeytabArg::Path(path)) => Some(Err(path_text(py, &path)?)),
        };
        let cred = py
            .detach(move || match keytab {
                None => AcceptorCred::acquire(None, None),
                Some(Ok(kt)) => AcceptorCred::from_keytab(kt, None),
                Some(Err(name)) => AcceptorCred::acquire(Some(&name), None),
            })
            .or_raise_gss(py)?;
        Ok(AcceptorContext { inner: RwLock::new(gss::AcceptorContext::new(&cred, opts)) })
    }

    /// One step of establishing the context with the initiator's ``token``. Returns the token to
    /// send back (the AP-REP, a SPNEGO answer), or ``None`` when there is none. A token that
    /// does not verify raises ``GssError`` (``GSS_S_DEFECTIVE_TOKEN``, ``GSS_S_BAD_BINDINGS``,
    /// ``GSS_S_FAILURE`` with the Kerberos code as ``minor``…); when the initiator asked for
    /// mutual authentication (raw krb5), the error's ``token`` is the KRB-ERROR token to send it,
    /// as MIT's acceptor does. The GIL is released.
    fn step<'py>(&self, py: Python<'py>, token: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let token = match token {
            Some(t) if !t.is_none() => bytes_like(t, "token")?,
            _ => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN,
                    "an acceptor's step needs the initiator's token",
                ))
                .or_raise_gss(py)
            }
        };
        let (out, error_token) = py.detach(|| {
            let mut ctx = write(&self.inner);
            match ctx.step(&token) {
                Ok(out) => (Ok(out), None),
                Err(e) => (Err(e), ctx.error_token().map(<[u8]>::to_vec)),
            }
        });
        match out {
            Ok(out) => Ok(out.map(|t| PyBytes::new(py, &t))),
            Err(e) => {
                let err = gss_err(py, &e);
                if let Some(t) = error_token {
                    err.value(py).setattr("token", PyBytes::new(py, &t))?;
                }
                Err(err)
            }
        }
    }

    /// The TGT the initiator delegated (forwarded), as a memory ``ktix.CCache`` a
    /// ``ktix.Client`` can use to get service tickets as the initiator; ``None`` without
    /// delegation.
    #[getter]
    fn delegated(&self) -> Option<CCache> {
        read(&self.inner).delegated().map(|c| CCache { inner: c.clone() })
    }

    fn __repr__(&self) -> String {
        let ctx = read(&self.inner);
        match ctx.initiator_name() {
            Some(p) if ctx.is_complete() => format!("<ktix.gss.AcceptorContext from {p} complete>"),
            _ => "<ktix.gss.AcceptorContext establishing>".to_string(),
        }
    }
});
