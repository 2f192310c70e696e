//! `ktix.Acceptor` (a service's side: verifies AP-REQs with its keytab) and `ktix.Accepted` (what
//! an accepted AP-REQ says, and the AP-REP to send back).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use ktix::acceptor::ReplayCacheName;
use ktix::Flags;
use ktix::{AcceptorConfig, Error, Principal, SystemClock, Time};

use crate::conv;
use crate::error::OrRaise;
use crate::keytab::Keytab;

/// A service's side of the AP exchange: verifies AP-REQs with the service's keytab (ticket,
/// authenticator, clock skew, replay, ticket times) and builds the AP-REP for mutual
/// authentication.
///
/// ``Acceptor(keytab, *, service=None, clock_skew=300, replay_capacity=None, rcache=None)``: with
/// ``service`` (a principal name; the keytab's realm when it names none) only tickets for that
/// service are accepted, otherwise for any principal in the keytab. One acceptor is meant to
/// serve many threads: ``accept`` releases the GIL. The replay cache is the one every acceptor
/// of the same service in the process shares (``rcache``: an MIT replay cache name such as
/// ``"dfl:"``, ``"file2:/path"``, ``"none:"``, ``"memory:"``; ``None``: ``KRB5RCACHENAME`` /
/// ``KRB5RCACHETYPE``, else memory); ``replay_capacity`` caps its live entries (``None``: only
/// the memory ceiling applies). A keytab loaded from a file (``Keytab.load``) is re-read when
/// the file changes.
#[pyclass(frozen, module = "ktix")]
pub struct Acceptor {
    inner: ktix::Acceptor,
    keytab: Py<Keytab>,
}

#[pymethods]
impl Acceptor {
    #[new]
    #[pyo3(signature = (keytab, *, service=None, clock_skew=300, replay_capacity=None, rcache=None))]
    fn new(
        py: Python<'_>,
        keytab: Py<Keytab>,
        service: Option<&str>,
        clock_skew: i64,
        replay_capacity: Option<i64>,
        rcache: Option<&str>,
    ) -> PyResult<Acceptor> {
        let kt = keytab.get().inner.clone();
        if clock_skew < 0 {
            return Err(Error::invalid(format!("clock_skew must not be negative, not {clock_skew}"))).or_raise(py);
        }
        let replay_capacity = match replay_capacity {
            Some(n) => conv::count(py, n, "replay_capacity")?,
            None => usize::MAX,
        };
        let replay_cache = rcache.map(ReplayCacheName::parse).transpose().or_raise(py)?;
        let service = match service {
            None => None,
            Some(name) => {
                let realm = kt.principals().first().map(|p| p.realm().to_string());
                Some(Principal::parse(name, realm.as_deref()).or_raise(py)?)
            }
        };
        let config = AcceptorConfig { clock_skew, replay_capacity, service, replay_cache, ..AcceptorConfig::default() };
        let inner = ktix::Acceptor::try_with_config(kt, config, Arc::new(SystemClock)).or_raise(py)?;
        Ok(Acceptor { inner, keytab })
    }

    /// Verifies an AP-REQ (``bytes``) and returns what it proves as ``Accepted``; raises an
    /// ``ApError`` subclass (``TicketError``, ``SkewError``, ``ReplayError``, ``IntegrityError``
    /// …) when it does not verify. The GIL is released while it works.
    fn accept(&self, py: Python<'_>, ap_req: PyBackedBytes) -> PyResult<Accepted> {
        // The result is made without the GIL too: dropping the session key and subkey (zeroizing
        // them, freeing their derived keys' OpenSSL contexts) is ≈ 3,200 instructions.
        py.detach(|| self.inner.accept(&ap_req).map(Accepted::from)).or_raise(py)
    }

    /// The keytab this acceptor uses.
    #[getter]
    fn keytab(&self, py: Python<'_>) -> Py<Keytab> {
        self.keytab.clone_ref(py)
    }

    /// How many authenticators the replay cache holds now.
    #[getter]
    fn replay_cache_size(&self) -> usize {
        self.inner.replay_cache().len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ktix.Acceptor for {}>",
            self.keytab.get().inner.principals().iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
        )
    }
}

/// An accepted AP-REQ: the authenticated client, what its ticket says, and the AP-REP to send
/// back for mutual authentication. Holds no keys. Times are timezone-aware UTC datetimes.
#[pyclass(frozen, module = "ktix")]
pub struct Accepted {
    // The principals as the core returned them, formatted by the getters: formatting both on
    // every call cost ≈ 2,700 instructions (of ≈ 66,000 per call from Python).
    client: Principal,
    server: Principal,
    auth_time: Time,
    start_time: Time,
    end_time: Time,
    renew_till: Option<Time>,
    flags: Flags,
    authorization_data: Vec<(i32, Vec<u8>)>,
    seq_number: Option<u32>,
    checksum: Option<(i32, Vec<u8>)>,
    ap_rep: Option<Vec<u8>>,
    kvno: u32,
    enctype: i32,
    session_enctype: i32,
}

impl From<ktix::acceptor::Accepted> for Accepted {
    /// Everything but the keys, moved as it is: the session key and subkey are dropped (so
    /// zeroized) here.
    fn from(a: ktix::acceptor::Accepted) -> Accepted {
        Accepted {
            enctype: a.ticket_enctype.id(),
            session_enctype: a.session_key.enctype().id(),
            client: a.client,
            server: a.server,
            auth_time: a.auth_time,
            start_time: a.start_time,
            end_time: a.end_time,
            renew_till: a.renew_till,
            flags: a.flags,
            authorization_data: a.authorization_data,
            seq_number: a.seq_number,
            checksum: a.checksum,
            ap_rep: a.ap_rep,
            kvno: a.kvno,
        }
    }
}

#[pymethods]
impl Accepted {
    /// The authenticated client, e.g. ``"alice@KTIX.TEST"``.
    #[getter]
    fn client(&self) -> String {
        self.client.to_string()
    }

    /// The service the ticket was for, e.g. ``"host/server.ktix.test@KTIX.TEST"``.
    #[getter]
    fn server(&self) -> String {
        self.server.to_string()
    }

    /// The AP-REP to send to the client when it asked for mutual authentication, else ``None``.
    #[getter]
    fn ap_rep<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.ap_rep.as_deref().map(|b| PyBytes::new(py, b))
    }

    /// When the client authenticated to the KDC (its login).
    #[getter]
    fn auth_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::utc(py, self.auth_time)
    }

    /// When the ticket became valid.
    #[getter]
    fn start_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::utc(py, self.start_time)
    }

    /// When the ticket expires.
    #[getter]
    fn end_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::utc(py, self.end_time)
    }

    /// Until when the ticket is renewable, or ``None``.
    #[getter]
    fn renew_till<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        conv::utc_opt(py, self.renew_till)
    }

    /// The ticket flags.
    #[getter]
    fn flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::ticket_flags(py, self.flags)
    }

    /// Authorization data of the ticket and authenticator (AD-IF-RELEVANT opened) as
    /// ``(ad_type, bytes)`` pairs.
    #[getter]
    fn authorization_data<'py>(&self, py: Python<'py>) -> Vec<(i32, Bound<'py, PyBytes>)> {
        self.authorization_data.iter().map(|(t, d)| (*t, PyBytes::new(py, d))).collect()
    }

    /// The client's initial sequence number, when it sent one.
    #[getter]
    fn seq_number(&self) -> Option<u32> {
        self.seq_number
    }

    /// The authenticator checksum as ``(type, bytes)`` (e.g. the GSS-API 0x8003 structure), or
    /// ``None``.
    #[getter]
    fn checksum<'py>(&self, py: Python<'py>) -> Option<(i32, Bound<'py, PyBytes>)> {
        self.checksum.as_ref().map(|(t, d)| (*t, PyBytes::new(py, d)))
    }

    /// The key version of the service key that opened the ticket.
    #[getter]
    fn kvno(&self) -> u32 {
        self.kvno
    }

    /// The enctype of the service key that opened the ticket (e.g. 20).
    #[getter]
    fn enctype(&self) -> i32 {
        self.enctype
    }

    /// The enctype of the ticket's session key.
    #[getter]
    fn session_enctype(&self) -> i32 {
        self.session_enctype
    }

    fn __repr__(&self) -> String {
        format!(
            "<ktix.Accepted client={} server={} mutual={}>",
            self.client,
            self.server,
            if self.ap_rep.is_some() { "True" } else { "False" }
        )
    }
}
