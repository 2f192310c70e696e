//! GSS-API credentials of the Kerberos V5 mechanism: an initiator's (a ticket cache with a TGT,
//! through a [`Client`]) and an acceptor's (a keytab, through an [`Acceptor`]).
//!
//! The environment is read when credentials are acquired, never before: `KRB5CCNAME` for the
//! default ticket cache, `KRB5_KTNAME` for the default keytab (servers such as PostgreSQL set it
//! just before accepting), `KRB5_CONFIG` for the realm's KDCs.

use std::sync::Arc;

use crate::acceptor::{Acceptor, AcceptorConfig};
use crate::ccache::CCache;
use crate::client::{Client, ClientSetup, Transport};
use crate::config::Krb5Conf;
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::time::{SystemClock, Time};

use super::Name;

/// An initiator's credentials: a ticket cache holding a TGT, and the [`Client`] that gets
/// service tickets with it (reusing those in the cache).
#[derive(Clone)]
pub struct InitiatorCred {
    client: Arc<Client>,
    name: Principal,
    expires: Time,
}

impl InitiatorCred {
    /// The credentials of the cache named `ccache` (`FILE:…`, `MEMORY:…`), or of the default
    /// cache (`KRB5CCNAME`, else `FILE:/tmp/krb5cc_<uid>`, read now). The KDCs of the TGT's realm
    /// come from krb5.conf (`KRB5_CONFIG`, read now); a realm krb5.conf does not know can still
    /// use the service tickets already in the cache.
    ///
    /// Errors: `KTIX_ERR_GSS_NO_CRED` (no cache, no principal, no TGT),
    /// `KTIX_ERR_GSS_CREDENTIALS_EXPIRED` (the TGT has ended), `KTIX_ERR_INVALID_ARGUMENT` (an
    /// unsupported cache type).
    pub fn acquire(ccache: Option<&str>) -> Result<InitiatorCred> {
        let cache = match ccache {
            Some(name) => CCache::resolve(name)?,
            None => CCache::default()?,
        };
        InitiatorCred::from_ccache(cache)
    }

    /// The credentials in `ccache`, with a client configured from krb5.conf (as
    /// [`InitiatorCred::acquire`]).
    pub fn from_ccache(ccache: CCache) -> Result<InitiatorCred> {
        let principal = owner(&ccache)?;
        let conf = Krb5Conf::load_default()?;
        let client = match ClientSetup::from_krb5_conf(&conf, Some(principal.realm()), None) {
            Ok(setup) => setup.build(ccache)?,
            Err(e) => {
                // No KDC for the realm: cached service tickets still work; a TGS request fails
                // with the configuration error.
                let transport: Arc<dyn Transport> = Arc::new(NoKdc(e));
                Client::new(conf.to_client_config(principal.realm()), transport, ccache)
            }
        };
        InitiatorCred::from_client(Arc::new(client))
    }

    /// The credentials of a client that is logged in (its cache holds a TGT).
    ///
    /// Errors: as [`InitiatorCred::acquire`].
    pub fn from_client(client: Arc<Client>) -> Result<InitiatorCred> {
        let name = owner(client.ccache())?;
        let tgt = client.ccache().get(&Principal::krbtgt(name.realm()))?.ok_or_else(|| {
            Error::new(
                ErrorCode::KTIX_ERR_GSS_NO_CRED,
                format!("no ticket-granting ticket for {name} in {}", client.ccache().name()),
            )
        })?;
        if tgt.end_time <= client.now() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_GSS_CREDENTIALS_EXPIRED,
                format!("the ticket-granting ticket of {name} has expired"),
            ));
        }
        Ok(InitiatorCred { client, name, expires: tgt.end_time })
    }

    /// The principal the credentials are for.
    pub fn name(&self) -> &Principal {
        &self.name
    }

    /// When the TGT ends.
    pub fn expires(&self) -> Time {
        self.expires
    }

    /// The client the contexts get their tickets through.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }
}

impl std::fmt::Debug for InitiatorCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiatorCred").field("name", &self.name).field("expires", &self.expires).finish()
    }
}

/// The cache's principal; `KTIX_ERR_GSS_NO_CRED` when there is none.
fn owner(ccache: &CCache) -> Result<Principal> {
    let no_cred = |why: String| Error::new(ErrorCode::KTIX_ERR_GSS_NO_CRED, why);
    match ccache.principal() {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(no_cred(format!("no credentials cache found ({})", ccache.name()))),
        Err(e) => Err(no_cred(format!("credentials cache {}: {}", ccache.name(), e.message()))),
    }
}

/// A transport for a realm without configured KDCs: every request fails with why.
struct NoKdc(Error);

impl Transport for NoKdc {
    fn send(&self, _request: &[u8]) -> Result<Vec<u8>> {
        Err(self.0.clone())
    }
}

/// An acceptor's credentials: the keys of a keytab, used through an [`Acceptor`] (replay cache
/// shared with the process's other acceptors of the service, keytab file followed when rewritten).
#[derive(Clone)]
pub struct AcceptorCred {
    acceptor: Arc<Acceptor>,
    name: Option<Principal>,
    /// A host-based name without a host (`HTTP`): tickets for `HTTP/<any host>` are accepted.
    service: Option<String>,
}

impl AcceptorCred {
    /// The credentials of the keytab named `keytab` (`FILE:path` or a path), or of the default
    /// keytab (`KRB5_KTNAME`, else `FILE:/etc/krb5.keytab`, read now), for `name` (`None`: any
    /// principal in the keytab).
    ///
    /// Errors: `KTIX_ERR_GSS_NO_CRED` (the keytab cannot be read, is empty, or has no key for
    /// `name`), `KTIX_ERR_GSS_BAD_NAME` (a name without a realm and none configured).
    pub fn acquire(keytab: Option<&str>, name: Option<&Name>) -> Result<AcceptorCred> {
        AcceptorCred::acquire_with(keytab, name, AcceptorConfig::default())
    }

    /// [`AcceptorCred::acquire`] with the acceptor's settings (`config`: replay cache, skew …);
    /// its `service` is set from `name`.
    pub fn acquire_with(keytab: Option<&str>, name: Option<&Name>, config: AcceptorConfig) -> Result<AcceptorCred> {
        let kt_name = match keytab {
            Some(k) => k.to_string(),
            None => Keytab::default_name(),
        };
        let kt = Keytab::load(&kt_name)
            .map_err(|e| Error::new(ErrorCode::KTIX_ERR_GSS_NO_CRED, format!("keytab {kt_name}: {}", e.message())))?;
        AcceptorCred::from_keytab_with(kt, name, config)
    }

    /// The credentials of `keytab` for `name` (`None`: any principal in it), on the system clock.
    ///
    /// A host-based name (`HTTP@host`) is canonicalized through krb5.conf; when the keytab has no
    /// key for that principal but has one for the same name in another realm, that one is used
    /// (MIT matches host-based acceptor names regardless of realm). A host-based name without a
    /// host (`HTTP`) accepts tickets for the service on any host in the keytab.
    pub fn from_keytab(keytab: Keytab, name: Option<&Name>) -> Result<AcceptorCred> {
        AcceptorCred::from_keytab_with(keytab, name, AcceptorConfig::default())
    }

    /// [`AcceptorCred::from_keytab`] with the acceptor's settings (`config`: replay cache, skew
    /// …); its `service` is set from `name`.
    pub fn from_keytab_with(keytab: Keytab, name: Option<&Name>, config: AcceptorConfig) -> Result<AcceptorCred> {
        if keytab.is_empty() {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CRED, "the keytab has no keys"));
        }
        let principals = keytab.principals();
        let no_key =
            |what: &str| Error::new(ErrorCode::KTIX_ERR_GSS_NO_CRED, format!("no key for {what} in the keytab"));
        let (service_principal, service) = match name {
            None => (None, None),
            Some(n) => match n.hostbased_parts() {
                Some((svc, None)) => {
                    if !principals.iter().any(|p| p.components().len() == 2 && p.components()[0] == svc) {
                        return Err(no_key(&format!("service {svc}")));
                    }
                    (None, Some(svc.to_string()))
                }
                _ => {
                    let p = n.canonicalize()?;
                    if principals.contains(&p) {
                        (Some(p), None)
                    } else if let Some(q) =
                        principals.iter().find(|q| n.is_hostbased() && q.components() == p.components())
                    {
                        (Some(q.clone()), None)
                    } else {
                        return Err(no_key(&p.to_string()));
                    }
                }
            },
        };
        let config = AcceptorConfig { service: service_principal.clone(), ..config };
        let acceptor = Acceptor::try_with_config(keytab, config, Arc::new(SystemClock))?;
        Ok(AcceptorCred { acceptor: Arc::new(acceptor), name: service_principal, service })
    }

    /// The credentials of an acceptor built by the caller (its keytab, settings and clock); it
    /// accepts for its configured service, or any principal of its keytab.
    pub fn from_acceptor(acceptor: Acceptor) -> AcceptorCred {
        AcceptorCred::from_shared_acceptor(Arc::new(acceptor))
    }

    /// [`AcceptorCred::from_acceptor`] with an acceptor shared with other code.
    pub fn from_shared_acceptor(acceptor: Arc<Acceptor>) -> AcceptorCred {
        let name = acceptor.config().service.clone();
        AcceptorCred { acceptor, name, service: None }
    }

    /// The principal the credentials accept for; `None`: any in the keytab.
    pub fn name(&self) -> Option<&Principal> {
        self.name.as_ref()
    }

    /// The acceptor that verifies the AP-REQs.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    /// `KRB_AP_ERR_NOT_US` unless `server` is a principal these credentials accept for.
    pub(crate) fn check_server(&self, server: &Principal) -> Result<()> {
        match &self.service {
            Some(svc) if server.components().len() != 2 || &server.components()[0] != svc => Err(Error::new(
                ErrorCode::KRB_AP_ERR_NOT_US,
                format!("the ticket is for {server}, not for service {svc}"),
            )),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Debug for AcceptorCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptorCred").field("name", &self.name).field("service", &self.service).finish()
    }
}
