//! The `krb5.conf` view: [`Krb5Conf`] and [`RealmConf`], the client-side relations libktix reads,
//! and how the default configuration is found (`$KRB5_CONFIG`).

use std::collections::BTreeMap;

use super::profile::Profile;
use super::values::{with_default_port, Reader};
use super::{config_error, KDC_PORT};
use crate::client::ClientConfig;
use crate::crypto::Enctype;
use crate::error::Result;

/// The client configuration MIT reads when `KRB5_CONFIG` is not set.
pub const DEFAULT_KRB5_CONFIG: &str = "/etc/krb5.conf";

/// One realm of `krb5.conf`'s `[realms]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealmConf {
    /// `kdc`: the KDCs as `host:port` (port 88 when none is written), in order. A `tcp/` or `udp/`
    /// prefix is dropped; `http(s)://` proxy URLs are left out (not supported).
    pub kdc: Vec<String>,
    /// `master_kdc`, as `host:port` (default port 88).
    pub master_kdc: Vec<String>,
    /// `admin_server`, as `host:port` (default port 749).
    pub admin_server: Vec<String>,
    /// `kpasswd_server`, as `host:port` (default port 464).
    pub kpasswd_server: Vec<String>,
    /// `default_domain`.
    pub default_domain: Option<String>,
}

/// The client side of `krb5.conf`: the `[libdefaults]`, `[realms]` and `[domain_realm]` relations
/// libktix uses. Other relations (`dns_lookup_kdc`, `rdns`, …) and sections are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Krb5Conf {
    /// `default_realm`.
    pub default_realm: Option<String>,
    /// `ticket_lifetime`, seconds (default 1 day, as MIT).
    pub ticket_lifetime: i64,
    /// `renew_lifetime`, seconds (`None`: not set, MIT asks for no renewable life).
    pub renew_lifetime: Option<i64>,
    /// `forwardable` (`None`: not set; [`ClientConfig`]'s default then applies).
    pub forwardable: Option<bool>,
    /// `clockskew`, seconds (default 300).
    pub clockskew: i64,
    /// `default_tkt_enctypes` (`None`: not set).
    pub default_tkt_enctypes: Option<Vec<Enctype>>,
    /// `default_tgs_enctypes` (`None`: not set).
    pub default_tgs_enctypes: Option<Vec<Enctype>>,
    /// `permitted_enctypes` (`None`: not set).
    pub permitted_enctypes: Option<Vec<Enctype>>,
    /// `udp_preference_limit`, bytes: larger requests go by TCP first (default 1465, at most
    /// 32700 as MIT).
    pub udp_preference_limit: usize,
    /// `[realms]`, by realm name.
    pub realms: BTreeMap<String, RealmConf>,
    /// `[domain_realm]`: (host or `.domain`, realm) pairs in file order.
    pub domain_realm: Vec<(String, String)>,
}

impl Default for Krb5Conf {
    fn default() -> Krb5Conf {
        Krb5Conf {
            default_realm: None,
            ticket_lifetime: 24 * 3600,
            renew_lifetime: None,
            forwardable: None,
            clockskew: 300,
            default_tkt_enctypes: None,
            default_tgs_enctypes: None,
            permitted_enctypes: None,
            udp_preference_limit: 1465,
            realms: BTreeMap::new(),
            domain_realm: Vec::new(),
        }
    }
}

impl Krb5Conf {
    /// Reads the typed settings from `profile`; a value that does not parse is an error naming
    /// its file and line.
    pub fn from_profile(profile: &Profile) -> Result<Krb5Conf> {
        let r = Reader(profile);
        let d = Krb5Conf::default();
        let lib = |tag: &'static str| -> [&'static str; 2] { ["libdefaults", tag] };
        let udp_preference_limit = r
            .typed(&lib("udp_preference_limit"), |t| {
                t.trim().parse::<usize>().map_err(|_| config_error(format!("invalid number {t:?}")))
            })?
            .map_or(d.udp_preference_limit, |n| n.min(32_700));
        let mut realms = BTreeMap::new();
        for name in profile.subsection_names(&["realms"]) {
            let list = |tag: &str, port: u16| -> Vec<String> {
                profile
                    .get_all(&["realms", name, tag])
                    .into_iter()
                    .filter_map(|v| {
                        let v = v.trim();
                        let v = v.strip_prefix("tcp/").or_else(|| v.strip_prefix("udp/")).unwrap_or(v);
                        (!v.is_empty() && !v.contains("://")).then(|| with_default_port(v, port))
                    })
                    .collect()
            };
            let realm = RealmConf {
                kdc: list("kdc", KDC_PORT),
                master_kdc: list("master_kdc", KDC_PORT),
                admin_server: list("admin_server", 749),
                kpasswd_server: list("kpasswd_server", 464),
                default_domain: profile.get(&["realms", name, "default_domain"]).map(str::to_string),
            };
            realms.insert(name.to_string(), realm);
        }
        let mut domain_realm = Vec::new();
        for section in profile.subsections(&["domain_realm"]) {
            for e in section.entries() {
                if let Some(v) = e.text() {
                    domain_realm.push((e.name().to_string(), v.to_string()));
                }
            }
        }
        Ok(Krb5Conf {
            default_realm: r.string(&lib("default_realm")),
            ticket_lifetime: r.duration(&lib("ticket_lifetime"))?.unwrap_or(d.ticket_lifetime),
            renew_lifetime: r.duration(&lib("renew_lifetime"))?,
            forwardable: r.boolean(&lib("forwardable"))?,
            clockskew: r.duration(&lib("clockskew"))?.unwrap_or(d.clockskew),
            default_tkt_enctypes: r.enctypes(&lib("default_tkt_enctypes"))?,
            default_tgs_enctypes: r.enctypes(&lib("default_tgs_enctypes"))?,
            permitted_enctypes: r.enctypes(&lib("permitted_enctypes"))?,
            udp_preference_limit,
            realms,
            domain_realm,
        })
    }

    /// Parses `krb5.conf` text (see [`Profile::parse`]).
    pub fn parse(text: &str, source: &str) -> Result<Krb5Conf> {
        Krb5Conf::from_profile(&Profile::parse(text, source)?)
    }

    /// Reads the configuration MIT's tools read: the files of `$KRB5_CONFIG` (a `:`-separated
    /// list), or [`DEFAULT_KRB5_CONFIG`]. Missing files are skipped; none at all is an empty
    /// configuration, as with MIT.
    pub fn load_default() -> Result<Krb5Conf> {
        Krb5Conf::from_profile(&load_default_krb5_profile()?)
    }

    /// The KDC addresses (`host:port`) of `realm`; empty when the realm is not configured.
    pub fn kdcs_for(&self, realm: &str) -> Vec<String> {
        self.realms.get(realm).map(|r| r.kdc.clone()).unwrap_or_default()
    }

    /// The realm `[domain_realm]` maps `host` to, as MIT looks it up: the host name itself
    /// (lower-cased, without a trailing dot), then `.` + its domain, then the domain, then the same
    /// for each parent domain (`a.b.example.com`, `.b.example.com`, `b.example.com`,
    /// `.example.com`, …). `None` when nothing matches (MIT would then guess from the domain or
    /// use the default realm; that choice is the caller's).
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        let lookup = |key: &str| {
            self.domain_realm
                .iter()
                .find(|(k, _)| k.trim_end_matches('.').eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let mut key: &str = &host;
        loop {
            if let Some(realm) = lookup(key) {
                return Some(realm);
            }
            if let Some(domain) = key.strip_prefix('.') {
                key = domain;
            } else {
                let dot = key.find('.')?;
                key = &key[dot..];
            }
            if key.is_empty() {
                return None;
            }
        }
    }

    /// The enctypes an AS request should offer: `default_tkt_enctypes`, else
    /// `permitted_enctypes` (MIT's default for it), else every supported enctype.
    pub fn tkt_enctypes(&self) -> Vec<Enctype> {
        self.default_tkt_enctypes
            .as_ref()
            .or(self.permitted_enctypes.as_ref())
            .cloned()
            .unwrap_or_else(|| Enctype::ALL.to_vec())
    }

    /// The enctypes a TGS request should offer: `default_tgs_enctypes`, else
    /// `permitted_enctypes`, else every supported enctype.
    pub fn tgs_enctypes(&self) -> Vec<Enctype> {
        self.default_tgs_enctypes
            .as_ref()
            .or(self.permitted_enctypes.as_ref())
            .cloned()
            .unwrap_or_else(|| Enctype::ALL.to_vec())
    }

    /// Client settings for `realm`: [`ClientConfig::new`]'s defaults overridden by what this
    /// configuration sets (ticket and renewable lifetimes, forwardable, AS enctypes
    /// ([`Krb5Conf::tkt_enctypes`]), clock skew).
    pub fn to_client_config(&self, realm: &str) -> ClientConfig {
        let mut c = ClientConfig::new(realm);
        c.ticket_lifetime = self.ticket_lifetime;
        if self.renew_lifetime.is_some_and(|r| r > 0) {
            c.renew_lifetime = self.renew_lifetime;
        }
        if let Some(f) = self.forwardable {
            c.forwardable = f;
        }
        c.enctypes = self.tkt_enctypes();
        c.tgs_enctypes = self.tgs_enctypes();
        c.clock_skew = self.clockskew;
        c
    }
}

/// The profile of `$KRB5_CONFIG` or [`DEFAULT_KRB5_CONFIG`].
pub(super) fn load_default_krb5_profile() -> Result<Profile> {
    match std::env::var("KRB5_CONFIG") {
        Ok(list) => Profile::load_list(&list),
        Err(_) => Profile::load_list(DEFAULT_KRB5_CONFIG),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn domain_realm_walk() {
        let c = Krb5Conf::parse(
            "[domain_realm]\n.mit.edu = ATHENA\nmit.edu = ATHENA\n.media.mit.edu = MEDIA\nexample.com = EX\nhost.other.org = HOST\n",
            "t",
        )
        .expect("parses");
        assert_eq!(c.realm_for_host("www.mit.edu"), Some("ATHENA"));
        assert_eq!(c.realm_for_host("MIT.EDU."), Some("ATHENA"));
        assert_eq!(c.realm_for_host("a.media.mit.edu"), Some("MEDIA"));
        assert_eq!(c.realm_for_host("media.mit.edu"), Some("ATHENA"));
        assert_eq!(c.realm_for_host("www.example.com"), Some("EX"));
        assert_eq!(c.realm_for_host("host.other.org"), Some("HOST"));
        assert_eq!(c.realm_for_host("x.other.org"), None);
        assert_eq!(c.realm_for_host(""), None);
        assert_eq!(c.realm_for_host("."), None);
    }

    #[test]
    fn bad_values_name_their_origin() {
        let e = Krb5Conf::parse("[libdefaults]\n\nticket_lifetime = 10x\n", "k.conf").expect_err("bad");
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_CONFIG);
        assert!(e.message().starts_with("k.conf:3: libdefaults.ticket_lifetime: invalid duration"), "{e}");
    }
}
