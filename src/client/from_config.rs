//! Building a [`Client`] from krb5.conf (`KRB5_CONFIG`, as MIT's tools read it) or from an
//! explicit realm and KDC list: the one place that picks the realm, finds its KDCs and turns
//! `[libdefaults]` into [`ClientConfig`]. The command-line tool, the C layer and the Python layer
//! build their clients through here.

use std::sync::Arc;

use super::{Client, ClientConfig, Network};
use crate::ccache::CCache;
use crate::config::Krb5Conf;
use crate::error::{Error, ErrorCode, Result};

/// A client before it is built: its settings and how it reaches its KDCs. Adjust the public
/// fields (e.g. a requested lifetime given on a command line), then [`ClientSetup::build`].
#[derive(Clone, Debug)]
pub struct ClientSetup {
    /// The client settings (realm, lifetimes, forwardable, enctypes, skew).
    pub config: ClientConfig,
    /// The realm's KDCs, tried in order.
    pub network: Network,
}

impl ClientSetup {
    /// A client of `realm` reaching the KDCs `kdcs` (`host`, `host:port` or `[v6]:port`), with
    /// [`ClientConfig::new`]'s defaults; no file is read.
    pub fn new(realm: &str, kdcs: Vec<String>) -> ClientSetup {
        ClientSetup { config: ClientConfig::new(realm), network: Network::new(kdcs) }
    }

    /// A client as `conf` describes it: of `realm`, else `[libdefaults] default_realm`; reaching
    /// `kdcs` when given, else the realm's `kdc =` entries of `[realms]` (with the configured
    /// `udp_preference_limit`); with the settings of [`Krb5Conf::to_client_config`].
    ///
    /// Errors: `KTIX_ERR_CONFIG` when no realm is given and none is the default, or when no KDC
    /// is given and `conf` names none for the realm.
    pub fn from_krb5_conf(conf: &Krb5Conf, realm: Option<&str>, kdcs: Option<Vec<String>>) -> Result<ClientSetup> {
        let realm = match realm {
            Some(r) => r.to_string(),
            None => conf.default_realm.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::KTIX_ERR_CONFIG,
                    "no default realm set ([libdefaults] default_realm in krb5.conf)",
                )
            })?,
        };
        let kdcs = match kdcs {
            Some(k) => k,
            None => {
                let k = conf.kdcs_for(&realm);
                if k.is_empty() {
                    return Err(Error::new(
                        ErrorCode::KTIX_ERR_CONFIG,
                        format!(
                            "no KDC for realm {realm} in the configuration ([realms] {realm} = {{ kdc = host:port }})"
                        ),
                    ));
                }
                k
            }
        };
        Ok(ClientSetup {
            config: conf.to_client_config(&realm),
            network: Network::new(kdcs).with_udp_preference_limit(conf.udp_preference_limit),
        })
    }

    /// [`ClientSetup::from_krb5_conf`] with the configuration of `$KRB5_CONFIG` (MIT's default
    /// files when unset), read now.
    pub fn from_default_config(realm: Option<&str>, kdcs: Option<Vec<String>>) -> Result<ClientSetup> {
        ClientSetup::from_krb5_conf(&Krb5Conf::load_default()?, realm, kdcs)
    }

    /// The client, keeping its tickets in `ccache`.
    ///
    /// Errors: `KTIX_ERR_INVALID_ARGUMENT` for an empty realm name or an empty KDC list.
    pub fn build(self, ccache: CCache) -> Result<Client> {
        if self.config.realm.is_empty() {
            return Err(Error::invalid("the realm name is empty"));
        }
        if self.network.kdcs().is_empty() {
            return Err(Error::invalid("the KDC list is empty"));
        }
        Ok(Client::new(self.config, Arc::new(self.network), ccache))
    }
}

impl Client {
    /// A client as krb5.conf describes it (`$KRB5_CONFIG`, else MIT's default files, read now):
    /// of its `default_realm`, reaching that realm's KDCs, with its `[libdefaults]` settings,
    /// keeping tickets in `ccache`. What MIT's tools do without options.
    ///
    /// Errors: `KTIX_ERR_CONFIG` (an unreadable configuration, no default realm, no KDC for it),
    /// `KTIX_ERR_INVALID_ARGUMENT` (an empty realm name).
    pub fn from_config(ccache: CCache) -> Result<Client> {
        ClientSetup::from_default_config(None, None)?.build(ccache)
    }

    /// Like [`Client::from_config`] with the configuration `conf`, for `realm` (`None`: the
    /// default realm).
    pub fn from_krb5_conf(conf: &Krb5Conf, realm: Option<&str>, ccache: CCache) -> Result<Client> {
        ClientSetup::from_krb5_conf(conf, realm, None)?.build(ccache)
    }

    /// A client of `realm` reaching `kdcs`, with default settings and no configuration file.
    ///
    /// Errors: `KTIX_ERR_INVALID_ARGUMENT` for an empty realm name or an empty KDC list.
    pub fn for_realm(realm: &str, kdcs: Vec<String>, ccache: CCache) -> Result<Client> {
        ClientSetup::new(realm, kdcs).build(ccache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "[libdefaults]\n  default_realm = D.TEST\n  forwardable = false\n  ticket_lifetime = 2h\n  \
                        udp_preference_limit = 1\n[realms]\n  D.TEST = {\n    kdc = 127.0.0.1:7001\n  }\n  \
                        E.TEST = {\n    kdc = 127.0.0.1:7002\n  }\n";

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.expect_err("an error").code()
    }

    #[test]
    fn the_default_realm_its_kdcs_and_libdefaults() {
        let conf = Krb5Conf::parse(CONF, "krb5.conf").expect("conf");
        let c = Client::from_krb5_conf(&conf, None, CCache::memory()).expect("client");
        assert_eq!(c.config().realm, "D.TEST");
        assert!(!c.config().forwardable);
        assert_eq!(c.config().ticket_lifetime, 7200);
        let s = ClientSetup::from_krb5_conf(&conf, None, None).expect("setup");
        assert_eq!(s.network.kdcs(), ["127.0.0.1:7001"]);
        assert_eq!(s.network.udp_preference_limit(), 1);
        let e = ClientSetup::from_krb5_conf(&conf, Some("E.TEST"), None).expect("setup");
        assert_eq!((e.config.realm.as_str(), e.network.kdcs()), ("E.TEST", &["127.0.0.1:7002".to_string()][..]));
        let given = ClientSetup::from_krb5_conf(&conf, Some("NONE.TEST"), Some(vec!["kdc.none.test".into()]));
        assert_eq!(given.expect("setup").network.kdcs(), ["kdc.none.test"]);
    }

    #[test]
    fn missing_realm_or_kdcs_are_configuration_errors() {
        let conf = Krb5Conf::parse(CONF, "krb5.conf").expect("conf");
        assert_eq!(
            code(Client::from_krb5_conf(&conf, Some("NONE.TEST"), CCache::memory())),
            ErrorCode::KTIX_ERR_CONFIG
        );
        let bare = Krb5Conf::parse("[libdefaults]\n  forwardable = true\n", "krb5.conf").expect("conf");
        assert_eq!(code(Client::from_krb5_conf(&bare, None, CCache::memory())), ErrorCode::KTIX_ERR_CONFIG);
    }

    #[test]
    fn explicit_realms_and_kdcs_must_not_be_empty() {
        assert!(Client::for_realm("R.TEST", vec!["127.0.0.1:88".into()], CCache::memory()).is_ok());
        assert_eq!(
            code(Client::for_realm("", vec!["k".into()], CCache::memory())),
            ErrorCode::KTIX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(code(Client::for_realm("R.TEST", vec![], CCache::memory())), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
        let conf = Krb5Conf::parse(CONF, "krb5.conf").expect("conf");
        let empty = ClientSetup::from_krb5_conf(&conf, None, Some(vec![])).expect("setup");
        assert_eq!(code(empty.build(CCache::memory())), ErrorCode::KTIX_ERR_INVALID_ARGUMENT);
    }
}
