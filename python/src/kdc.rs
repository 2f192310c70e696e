//! `ktix.Kdc` (a realm: principal database, policy, AS/TGS) and `ktix.KdcServer` (its UDP/TCP
//! listener, a context manager).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use ktix::kdc::PrincipalEntry;
use ktix::kdc::{open_realm, silent_logger, stderr_logger, PrincipalOptions, RealmSpec};
use ktix::{Enctype, Error, ServerConfig, Time};

use crate::conv;
use crate::error::OrRaise;
use crate::keytab::Keytab;

/// One address or several (`str` or a sequence of `str`).
#[derive(FromPyObject)]
pub(crate) enum OneOrMany {
    /// A single `host:port`.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// An enctype given by number (``20``) or by name (``"aes256-cts-hmac-sha384-192"``, MIT's
/// short names too).
#[derive(FromPyObject)]
pub(crate) enum EnctypeArg {
    /// The number.
    Number(i32),
    /// The name.
    Name(String),
}

/// The enctypes of an ``enctypes=`` argument (not empty), else ``CryptoError`` /
/// ``InvalidArgumentError``.
fn enctype_list(py: Python<'_>, list: Option<Vec<EnctypeArg>>) -> PyResult<Option<Vec<Enctype>>> {
    let Some(list) = list else { return Ok(None) };
    if list.is_empty() {
        return Err(Error::invalid("enctypes must not be empty")).or_raise(py);
    }
    list.into_iter()
        .map(|e| match e {
            EnctypeArg::Number(n) => Enctype::from_i32(n),
            EnctypeArg::Name(name) => Enctype::from_name(&name),
        })
        .collect::<ktix::Result<Vec<_>>>()
        .or_raise(py)
        .map(Some)
}

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A Kerberos realm: its principal database (in memory, or an SQLite file), its policy, and the
/// AS and TGS exchanges.
///
/// ``Kdc(realm, db=None)``: ``db=None`` keeps the database in memory; ``db="realm.db"`` uses the
/// SQLite realm database at that path, created (with its master-key stash ``realm.db.stash``,
/// mode 0600) if absent; or a PostgreSQL database, ``postgresql://USER@HOST:PORT/DBNAME``, with
/// ``stash=`` the master-key stash file (required for PostgreSQL; for SQLite it replaces the
/// default beside the file). ``max_life``, ``max_renewable_life`` (seconds) and ``clock_skew``
/// (seconds) override the policy defaults (8 hours, 7 days, 300 s). ``enctypes`` (numbers or
/// names, strongest first) are the enctypes the realm issues keys and session keys of; the
/// default is the database's, else aes256- and aes128-cts-hmac-sha1-96 (MIT's default), so
/// ``enctypes=[20, 18, 19, 17]`` opts in to the RFC 8009 ones.
///
/// Safe to share between threads; every method may be called from many threads at once.
#[pyclass(frozen, module = "ktix")]
pub struct Kdc {
    pub(crate) inner: Arc<ktix::Kdc>,
    db: Option<PathBuf>,
}

#[pymethods]
impl Kdc {
    #[new]
    #[pyo3(signature = (realm, db=None, *, stash=None, max_life=None, max_renewable_life=None, clock_skew=None, enctypes=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        realm: String,
        db: Option<PathBuf>,
        stash: Option<PathBuf>,
        max_life: Option<i64>,
        max_renewable_life: Option<i64>,
        clock_skew: Option<i64>,
        enctypes: Option<Vec<EnctypeArg>>,
    ) -> PyResult<Kdc> {
        let enctypes = enctype_list(py, enctypes)?;
        let mut spec = match &db {
            None => RealmSpec::memory(&realm),
            Some(path) => RealmSpec::database(path).with_realm(realm).with_stash(stash).creating(true),
        }
        .with_max_life(max_life)
        .with_max_renewable_life(max_renewable_life)
        .with_clock_skew(clock_skew);
        spec.enctypes = enctypes;
        let kdc = py.detach(|| open_realm(&spec)).or_raise(py)?;
        Ok(Kdc { inner: Arc::new(kdc), db })
    }

    /// The realm name, e.g. ``"KTIX.TEST"``.
    #[getter]
    fn realm(&self) -> &str {
        self.inner.realm()
    }

    /// The path of the SQLite realm database, or ``None`` for an in-memory realm.
    #[getter]
    fn db(&self) -> Option<String> {
        self.db.as_ref().map(|p| p.to_string_lossy().into_owned())
    }

    /// Adds a principal with keys of every realm enctype, derived from ``password`` or random
    /// when ``password`` is ``None``; returns its full name (``"alice@KTIX.TEST"``).
    ///
    /// Pre-authentication is required unless ``requires_preauth=False``. ``enctypes`` (numbers or
    /// names) limits the keys to those enctypes, e.g. a service with only
    /// aes128-cts-hmac-sha256-128 keys (``[19]``) gets tickets and session keys of that enctype
    /// only; each must be one of the realm's (else ``InvalidArgumentError``). Raises
    /// ``ExistsError`` when the principal exists.
    #[pyo3(signature = (name, password=None, *, requires_preauth=true, enctypes=None))]
    fn add_principal(
        &self,
        py: Python<'_>,
        name: &str,
        password: Option<&str>,
        requires_preauth: bool,
        enctypes: Option<Vec<EnctypeArg>>,
    ) -> PyResult<String> {
        let Some(enctypes) = enctype_list(py, enctypes)? else {
            let options = PrincipalOptions::default().with_preauth(requires_preauth);
            return py
                .detach(|| self.inner.add_principal_with(name, password, &options))
                .or_raise(py)
                .map(|p| p.to_string());
        };
        py.detach(|| {
            let realm_enctypes = &self.inner.policy().enctypes;
            if let Some(e) = enctypes.iter().find(|e| !realm_enctypes.contains(e)) {
                return Err(Error::invalid(format!("{} is not one of the realm's enctypes", e.name())));
            }
            let p = self.inner.principal(name)?;
            if p.realm() != self.inner.realm() {
                return Err(Error::invalid(format!("{p} is not in realm {}", self.inner.realm())));
            }
            let mut entry = PrincipalEntry::new(p.clone());
            match password {
                Some(pw) => entry.set_password(pw.as_bytes(), &enctypes, 1)?,
                None => entry.set_random_keys(&enctypes, 1)?,
            }
            entry.requires_preauth = requires_preauth;
            self.inner.store().add(entry)?;
            Ok(p)
        })
        .or_raise(py)
        .map(|p| p.to_string())
    }

    /// Deletes a principal; ``False`` when there was none.
    fn delete_principal(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        py.detach(|| {
            let p = self.inner.principal(name)?;
            self.inner.store().delete(&p)
        })
        .or_raise(py)
    }

    /// Every principal of the realm (``krbtgt/REALM@REALM`` included), sorted by name.
    fn principals(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.store().list()).or_raise(py).map(|v| v.iter().map(|p| p.to_string()).collect())
    }

    /// A keytab (in memory) with the current keys of ``name``, for its service to accept
    /// tickets: ``kdc.keytab("host/server.ktix.test").save(path)``.
    fn keytab(&self, py: Python<'_>, name: &str) -> PyResult<Keytab> {
        py.detach(|| self.inner.keytab(name, Time::now())).or_raise(py).map(Keytab::from)
    }

    /// Turns a KDC request (AS-REQ or TGS-REQ bytes) into the reply bytes (AS-REP, TGS-REP or
    /// KRB-ERROR), without any network: the pure core of the KDC. Input that is not shaped like
    /// a request (first byte other than 0x6a/0x6c) gets ``b""``: nothing is to be sent.
    fn handle<'py>(&self, py: Python<'py>, request: PyBackedBytes) -> Bound<'py, PyBytes> {
        let reply = py.detach(|| self.inner.handle(&request, Time::now()));
        PyBytes::new(py, &reply)
    }

    /// Serves this realm over UDP and TCP on ``listen`` (``"host:port"`` or a sequence of them;
    /// port 0 picks a free port) until ``stop()``; use it as a context manager::
    ///
    ///     with kdc.serve("127.0.0.1:0") as server:
    ///         client = ktix.Client("KTIX.TEST", kdc=server.address)
    ///
    /// ``workers``: threads answering UDP (default: one per CPU). ``log=True`` writes one line
    /// per request to standard error.
    #[pyo3(signature = (listen = OneOrMany::One("127.0.0.1:0".to_string()), *, workers=None, log=false),
           text_signature = "(self, listen='127.0.0.1:0', *, workers=None, log=False)")]
    fn serve(&self, py: Python<'_>, listen: OneOrMany, workers: Option<i64>, log: bool) -> PyResult<KdcServer> {
        let mut config =
            ServerConfig { logger: if log { stderr_logger() } else { silent_logger() }, ..Default::default() };
        if let Some(w) = workers {
            config.workers = conv::count(py, w, "workers")?;
        }
        let listen = listen.into_vec();
        let server = py.detach(|| ktix::KdcServer::start(self.inner.clone(), &listen, config)).or_raise(py)?;
        let addresses = server.local_addrs().iter().map(|a| a.to_string()).collect();
        Ok(KdcServer { address: server.address(), addresses, inner: Mutex::new(server) })
    }

    fn __repr__(&self) -> String {
        match &self.db {
            None => format!("<ktix.Kdc {} (in memory)>", self.inner.realm()),
            Some(p) => format!("<ktix.Kdc {} db={}>", self.inner.realm(), p.display()),
        }
    }
}

/// A running KDC network server (UDP and TCP on each listen address), made by ``Kdc.serve``.
///
/// A context manager: leaving the ``with`` block stops it. ``stop()`` is idempotent; the server
/// is also stopped when garbage-collected.
#[pyclass(frozen, module = "ktix")]
pub struct KdcServer {
    inner: Mutex<ktix::KdcServer>,
    address: String,
    addresses: Vec<String>,
}

#[pymethods]
impl KdcServer {
    /// The first bound address as ``"host:port"`` (with the port chosen for port 0): what
    /// ``Client(kdc=...)`` and krb5.conf's ``kdc =`` take.
    #[getter]
    fn address(&self) -> &str {
        &self.address
    }

    /// Every bound address as ``"host:port"``.
    #[getter]
    fn addresses(&self) -> Vec<String> {
        self.addresses.clone()
    }

    /// ``True`` until ``stop()``.
    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_running()
    }

    /// Stops serving: answers what is queued, closes every socket and joins the server's
    /// threads. Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.lock().unwrap_or_else(|e| e.into_inner()).stop());
    }

    /// Returns the server itself.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Stops the server; exceptions propagate.
    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        let _ = (exc_type, exc_value, traceback);
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.running() { "running" } else { "stopped" };
        format!("<ktix.KdcServer {} {state}>", self.addresses.join(", "))
    }
}
