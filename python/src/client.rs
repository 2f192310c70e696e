//! `ktix.Client` (a principal's side: login, service tickets, AP-REQs, logout) and
//! `ktix.ApContext` (what the client keeps of an AP-REQ to check the server's AP-REP).

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use ktix::{ClientSetup, Error, ErrorCode};

use crate::ccache::CCache;
use crate::conv;
use crate::error::OrRaise;
use crate::kdc::OneOrMany;
use crate::keytab::Keytab;

/// A principal's side of Kerberos: logs in (AS exchange), gets and reuses service tickets (TGS
/// exchange), builds AP-REQs and logs out.
///
/// ``Client(realm, kdc="host:port", ccache=CCache.memory())``. ``kdc`` is one ``"host:port"``
/// or a sequence of them. Without ``kdc``, the KDCs of ``realm`` (and the client settings) come
/// from krb5.conf (``$KRB5_CONFIG``, as MIT reads it); without ``realm`` too, its
/// ``default_realm``. Without ``ccache``, tickets are kept in a new memory cache.
/// ``ticket_lifetime`` and ``renew_lifetime`` are in seconds.
///
/// Safe to share between threads: concurrent ``ap_req`` calls for one service make a single TGS
/// request.
#[pyclass(frozen, module = "ktix")]
pub struct Client {
    inner: ktix::Client,
    ccache: Py<CCache>,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (realm=None, kdc=None, ccache=None, *, ticket_lifetime=None, renew_lifetime=None, forwardable=None))]
    fn new(
        py: Python<'_>,
        realm: Option<String>,
        kdc: Option<OneOrMany>,
        ccache: Option<Py<CCache>>,
        ticket_lifetime: Option<i64>,
        renew_lifetime: Option<i64>,
        forwardable: Option<bool>,
    ) -> PyResult<Client> {
        let kdcs = kdc.map(OneOrMany::into_vec);
        let mut setup = py
            .detach(|| match (realm, kdcs) {
                (Some(realm), Some(kdcs)) => Ok(ClientSetup::new(&realm, kdcs)),
                (realm, kdcs) => ClientSetup::from_default_config(realm.as_deref(), kdcs),
            })
            .or_raise(py)?;
        let config = &mut setup.config;
        if let Some(v) = conv::positive(py, ticket_lifetime, "ticket_lifetime")? {
            config.ticket_lifetime = v;
        }
        if let Some(v) = conv::positive(py, renew_lifetime, "renew_lifetime")? {
            config.renew_lifetime = Some(v);
        }
        if let Some(f) = forwardable {
            config.forwardable = f;
        }
        let ccache = match ccache {
            Some(c) => c,
            None => Py::new(py, CCache { inner: ktix::CCache::memory() })?,
        };
        let inner = setup.build(ccache.get().inner.clone()).or_raise(py)?;
        Ok(Client { inner, ccache })
    }

    /// The client's realm.
    #[getter]
    fn realm(&self) -> &str {
        &self.inner.config().realm
    }

    /// The ticket cache this client uses.
    #[getter]
    fn ccache(&self, py: Python<'_>) -> Py<CCache> {
        self.ccache.clone_ref(py)
    }

    /// The logged-in principal (the cache's owner, e.g. ``"alice@KTIX.TEST"``), or ``None``.
    #[getter]
    fn principal(&self, py: Python<'_>) -> PyResult<Option<String>> {
        py.detach(|| self.inner.ccache().principal()).or_raise(py).map(|p| p.map(|p| p.to_string()))
    }

    /// How many AS and TGS requests this client has sent, as ``ClientStats``.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::client_stats(py, self.inner.stats())
    }

    /// Logs ``user`` in with ``password`` (AS exchange with pre-authentication): the cache is
    /// emptied, given to ``user``, and the ticket-granting ticket stored in it. Returns the TGT's
    /// ``Credential``.
    fn login<'py>(&self, py: Python<'py>, user: &str, password: &str) -> PyResult<Bound<'py, PyAny>> {
        let tgt = py.detach(|| self.inner.login(user, password)).or_raise(py)?;
        conv::credential(py, &tgt)
    }

    /// Logs ``user`` in with its key from ``keytab`` (AS exchange, as ``kinit -k``). Returns the
    /// TGT's ``Credential``.
    fn login_with_keytab<'py>(&self, py: Python<'py>, user: &str, keytab: &Keytab) -> PyResult<Bound<'py, PyAny>> {
        let tgt = py.detach(|| self.inner.login_with_keytab(user, &keytab.inner)).or_raise(py)?;
        conv::credential(py, &tgt)
    }

    /// The service ticket for ``service`` (e.g. ``"host/server.ktix.test"``): from the cache
    /// while fresh, else from the KDC (TGS exchange) and then cached.
    fn service_ticket<'py>(&self, py: Python<'py>, service: &str) -> PyResult<Bound<'py, PyAny>> {
        let cred = py.detach(|| self.inner.service_ticket(service)).or_raise(py)?;
        conv::credential(py, &cred)
    }

    /// Renews the ticket-granting ticket (it must be renewable). Returns the new TGT.
    fn renew<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tgt = py.detach(|| self.inner.renew()).or_raise(py)?;
        conv::credential(py, &tgt)
    }

    /// An AP-REQ for ``service`` and the ``ApContext`` to check the server's answer. The service
    /// ticket comes from the cache, or the KDC on first use. With ``mutual=True`` (the default)
    /// the server must answer an AP-REP, which ``ApContext.verify`` checks.
    #[pyo3(signature = (service, mutual=true))]
    fn ap_req<'py>(&self, py: Python<'py>, service: &str, mutual: bool) -> PyResult<(Bound<'py, PyBytes>, ApContext)> {
        let (bytes, ctx) = py.detach(|| self.inner.ap_req(service, mutual)).or_raise(py)?;
        let server = ctx.server().to_string();
        let seq_number = ctx.seq_number();
        Ok((PyBytes::new(py, &bytes), ApContext { inner: Mutex::new(ctx), server, mutual, seq_number }))
    }

    /// Logs out: flushes the cache, dropping (and zeroizing) every ticket's session key.
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.logout()).or_raise(py)
    }

    fn __repr__(&self) -> String {
        format!("<ktix.Client {} ccache={}>", self.inner.config().realm, self.inner.ccache().name())
    }
}

/// What a client keeps of an AP-REQ it built, to check the server's AP-REP (mutual
/// authentication) with ``verify``. Made by ``Client.ap_req``.
#[pyclass(frozen, module = "ktix")]
pub struct ApContext {
    inner: Mutex<ktix::ApContext>,
    server: String,
    mutual: bool,
    seq_number: u32,
}

impl ApContext {
    fn lock(&self) -> std::sync::MutexGuard<'_, ktix::ApContext> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl ApContext {
    /// Checks the server's AP-REP (``Accepted.ap_rep``): it must open with the session key and
    /// echo the authenticator, else ``MutualAuthError``. A KRB-ERROR from the server raises the
    /// error it carries. ``None`` is accepted only when mutual authentication was not requested.
    fn verify(&self, py: Python<'_>, ap_rep: Option<PyBackedBytes>) -> PyResult<()> {
        py.detach(|| {
            let mut ctx = self.lock();
            match &ap_rep {
                Some(bytes) => ctx.verify(bytes),
                None if ctx.mutual() => Err(Error::new(
                    ErrorCode::KRB_AP_ERR_MUT_FAIL,
                    "mutual authentication was requested but the server sent no AP-REP",
                )),
                None => Ok(()),
            }
        })
        .or_raise(py)
    }

    /// The service the AP-REQ is for (``"host/server.ktix.test@KTIX.TEST"``).
    #[getter]
    fn server(&self) -> &str {
        &self.server
    }

    /// Whether mutual authentication was requested.
    #[getter]
    fn mutual(&self) -> bool {
        self.mutual
    }

    /// ``True`` once ``verify`` has checked an AP-REP.
    #[getter]
    fn verified(&self) -> bool {
        self.lock().is_verified()
    }

    /// The client's initial sequence number (sent in the authenticator).
    #[getter]
    fn seq_number(&self) -> u32 {
        self.seq_number
    }

    /// The server's initial sequence number from its AP-REP, once verified (``None`` if it sent
    /// none).
    #[getter]
    fn server_seq_number(&self) -> Option<u32> {
        self.lock().server_seq_number()
    }

    fn __repr__(&self) -> String {
        let state = if self.verified() { "verified" } else { "unverified" };
        format!("<ktix.ApContext {} mutual={} {state}>", self.server, if self.mutual { "True" } else { "False" })
    }
}
