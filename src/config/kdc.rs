//! The `kdc.conf` view: [`KdcConf`], the KDC settings of one realm (listen addresses, lifetimes,
//! enctypes, database and stash names), and the `kdc_ports` list syntax.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::krb5::load_default_krb5_profile;
use super::profile::Profile;
use super::values::Reader;
use super::{config_error, KDC_PORT};
use crate::crypto::Enctype;
use crate::error::Result;
use crate::kdc::{LogTarget, RealmPolicy, MAX_UDP_PAYLOAD};

/// The KDC configuration MIT (as packaged by Debian) reads when `KRB5_KDC_PROFILE` is not set.
pub const DEFAULT_KDC_PROFILE: &str = "/etc/krb5kdc/kdc.conf";

/// The KDC side of `kdc.conf` (MIT's subset libktix uses) for one realm. Values not written are
/// `None` (or the defaults below); [`KdcConf::to_policy`] applies [`RealmPolicy`]'s defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcConf {
    /// The realm read: the one asked for, else `[libdefaults] default_realm`, else the only realm
    /// of `[realms]`.
    pub realm: Option<String>,
    /// UDP listen addresses: the realm's `kdc_listen`/`kdc_ports`, else `[kdcdefaults]`'s, else
    /// port 88 on every interface. A bare port means every IPv4 interface (`0.0.0.0`).
    pub udp_listen: Vec<SocketAddr>,
    /// TCP listen addresses: `kdc_tcp_listen`/`kdc_tcp_ports` the same way (default port 88);
    /// empty when set to an empty value (`kdc_tcp_ports = ""`), which turns TCP off.
    pub tcp_listen: Vec<SocketAddr>,
    /// `max_life`, seconds.
    pub max_life: Option<i64>,
    /// `max_renewable_life`, seconds.
    pub max_renewable_life: Option<i64>,
    /// `supported_enctypes` (salt types dropped).
    pub supported_enctypes: Option<Vec<Enctype>>,
    /// `master_key_type`, as written.
    pub master_key_type: Option<String>,
    /// `database_name`.
    pub database_name: Option<String>,
    /// `key_stash_file`.
    pub key_stash_file: Option<String>,
    /// `[libdefaults] clockskew` (MIT's KDC reads `krb5.conf` too), seconds; default 300.
    pub clockskew: i64,
    /// `kdc_max_dgram_reply_size`, bytes (1 to 65507): the realm's, else `[kdcdefaults]`'s; the
    /// largest reply sent over UDP, see
    /// [`ServerConfig::kdc_max_dgram_reply_size`](crate::kdc::ServerConfig::kdc_max_dgram_reply_size)
    /// (default 4096).
    pub max_dgram_reply_size: Option<usize>,
    /// `[logging] kdc = ...` (else `[logging] default = ...`), as MIT's KDC reads it: where the
    /// request log goes, every relation one destination ([`LogTarget`]'s syntax:
    /// `FILE:/path`, `SYSLOG[:severity[:facility]]`, `STDERR`). Empty when neither is written
    /// (standard error, then).
    pub logging: Vec<LogTarget>,
}

/// Parses a `kdc_ports`-style list (blanks or commas): `PORT`, `ADDR`, `ADDR:PORT` or
/// `[IPv6]:PORT`; the address defaults to `0.0.0.0`, the port to 88.
pub fn parse_listen_addrs(text: &str) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        let bad = |why: &str| config_error(format!("invalid listen address {word:?}: {why}"));
        let port = |p: &str| -> Result<u16> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad("the port must be 1 to 65535")),
            }
        };
        let addr = if word.bytes().all(|b| b.is_ascii_digit()) {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port(word)?)
        } else if let Some(rest) = word.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            let ip: IpAddr = ip.parse().map_err(|_| bad("not an IP address"))?;
            let p = match after {
                "" => KDC_PORT,
                _ => port(after.strip_prefix(':').ok_or_else(|| bad("expected ':' after ']'"))?)?,
            };
            SocketAddr::new(ip, p)
        } else if let Ok(ip) = word.parse::<IpAddr>() {
            SocketAddr::new(ip, KDC_PORT)
        } else if let Some((ip, p)) = word.rsplit_once(':') {
            SocketAddr::new(ip.parse().map_err(|_| bad("not an IP address"))?, port(p)?)
        } else {
            return Err(bad("not a port or an IP address"));
        };
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    Ok(out)
}

impl KdcConf {
    /// Reads the settings of `realm` (see [`KdcConf::realm`] when `None`) from `profile`, which
    /// may be `kdc.conf` alone or merged with `krb5.conf` (as MIT's KDC reads them).
    pub fn from_profile(profile: &Profile, realm: Option<&str>) -> Result<KdcConf> {
        let realm: Option<String> = match realm {
            Some(r) => Some(r.to_string()),
            None => profile.get(&["libdefaults", "default_realm"]).map(str::to_string).or_else(|| {
                let names = profile.subsection_names(&["realms"]);
                (names.len() == 1).then(|| names[0].to_string())
            }),
        };
        let r = Reader(profile);
        // A relation of the realm's subsection, when there is a realm.
        let in_realm = |tag: &'static str| realm.as_deref().map(|name| ["realms", name, tag]);
        let realm_string = |tag| in_realm(tag).and_then(|p| r.string(&p));
        let realm_duration = |tag| in_realm(tag).map_or(Ok(None), |p| r.duration(&p));
        // MIT's order: the realm's kdc_listen, its kdc_ports, then the same two in [kdcdefaults].
        let listen = |listen_tag: &'static str, ports_tag: &'static str| -> Result<Vec<SocketAddr>> {
            let mut paths: Vec<Vec<&str>> = Vec::new();
            for tag in [listen_tag, ports_tag] {
                paths.extend(in_realm(tag).map(|p| p.to_vec()));
            }
            for tag in [listen_tag, ports_tag] {
                paths.push(vec!["kdcdefaults", tag]);
            }
            for path in &paths {
                if let Some(addrs) = r.typed(path, parse_listen_addrs)? {
                    return Ok(addrs);
                }
            }
            Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), KDC_PORT)])
        };
        let dgram_size = |t: &str| match t.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_UDP_PAYLOAD).contains(&n) => Ok(n),
            _ => Err(config_error(format!("invalid datagram size {t:?}: 1 to {MAX_UDP_PAYLOAD} bytes"))),
        };
        let in_realm_size = in_realm("kdc_max_dgram_reply_size").map_or(Ok(None), |p| r.typed(&p, dgram_size))?;
        let max_dgram_reply_size = match in_realm_size {
            Some(n) => Some(n),
            None => r.typed(&["kdcdefaults", "kdc_max_dgram_reply_size"], dgram_size)?,
        };
        let mut log_specs = profile.get_all(&["logging", "kdc"]);
        if log_specs.is_empty() {
            log_specs = profile.get_all(&["logging", "default"]);
        }
        let logging = log_specs
            .into_iter()
            .map(|spec| LogTarget::parse(spec).map_err(|e| config_error(format!("[logging]: {}", e.message()))))
            .collect::<Result<Vec<_>>>()?;
        Ok(KdcConf {
            logging,
            max_dgram_reply_size,
            udp_listen: listen("kdc_listen", "kdc_ports")?,
            tcp_listen: listen("kdc_tcp_listen", "kdc_tcp_ports")?,
            max_life: realm_duration("max_life")?,
            max_renewable_life: realm_duration("max_renewable_life")?,
            supported_enctypes: in_realm("supported_enctypes").map_or(Ok(None), |p| r.enctypes(&p))?,
            master_key_type: realm_string("master_key_type"),
            database_name: realm_string("database_name"),
            key_stash_file: realm_string("key_stash_file"),
            clockskew: r.duration(&["libdefaults", "clockskew"])?.unwrap_or(300),
            realm,
        })
    }

    /// Parses `kdc.conf` text (see [`Profile::parse`]).
    pub fn parse(text: &str, source: &str, realm: Option<&str>) -> Result<KdcConf> {
        KdcConf::from_profile(&Profile::parse(text, source)?, realm)
    }

    /// Reads what MIT's KDC reads: `$KRB5_KDC_PROFILE` (or [`DEFAULT_KDC_PROFILE`]) first, then
    /// the `krb5.conf` files of [`Krb5Conf::load_default`](super::Krb5Conf::load_default); missing
    /// files are skipped.
    pub fn load_default(realm: Option<&str>) -> Result<KdcConf> {
        let list = std::env::var("KRB5_KDC_PROFILE").unwrap_or_else(|_| DEFAULT_KDC_PROFILE.to_string());
        let mut profile = Profile::load_list(&list)?;
        profile.merge(load_default_krb5_profile()?);
        KdcConf::from_profile(&profile, realm)
    }

    /// The realm policy: the settings written here, [`RealmPolicy::default`]'s otherwise
    /// (8 h, 7 days, skew 300 s, every supported enctype).
    pub fn to_policy(&self) -> RealmPolicy {
        let d = RealmPolicy::default();
        RealmPolicy {
            max_life: self.max_life.unwrap_or(d.max_life),
            max_renewable_life: self.max_renewable_life.unwrap_or(d.max_renewable_life),
            clock_skew: self.clockskew,
            enctypes: self.supported_enctypes.clone().unwrap_or(d.enctypes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let v = parse_listen_addrs("750,88 127.0.0.1:1088, [::1]:99 10.0.0.1 [::2] 88").expect("parses");
        let want: Vec<SocketAddr> =
            ["0.0.0.0:750", "0.0.0.0:88", "127.0.0.1:1088", "[::1]:99", "10.0.0.1:88", "[::2]:88"]
                .iter()
                .map(|s| s.parse().expect("addr"))
                .collect();
        assert_eq!(v, want);
        for bad in ["0", "70000", "host.example:88", "[::1", "[::1]x", "x"] {
            assert!(parse_listen_addrs(bad).is_err(), "{bad}");
        }
        assert!(parse_listen_addrs("").expect("empty").is_empty());
    }

    #[test]
    fn logging_from_kdc_or_default() {
        let text = "[logging]\n kdc = FILE:/var/log/kdc.log\n kdc = SYSLOG:INFO:DAEMON\n default = STDERR\n";
        let conf = KdcConf::parse(text, "kdc.conf", Some("R")).unwrap();
        let want = vec![
            LogTarget::File("/var/log/kdc.log".into()),
            LogTarget::Syslog { severity: "INFO".into(), facility: "DAEMON".into() },
        ];
        assert_eq!(conf.logging, want);
        let conf = KdcConf::parse("[logging]\n default = STDERR\n", "kdc.conf", Some("R")).unwrap();
        assert_eq!(conf.logging, vec![LogTarget::Stderr]);
        assert!(KdcConf::parse("[realms]\n R = {\n }\n", "kdc.conf", Some("R")).unwrap().logging.is_empty());
        let err = KdcConf::parse("[logging]\n kdc = FILE:kdc.log\n", "kdc.conf", Some("R")).unwrap_err();
        assert!(err.message().contains("[logging]") && err.message().contains("absolute"), "{err}");
    }

    #[test]
    fn max_dgram_reply_size_from_the_realm_or_kdcdefaults() {
        let text = "[kdcdefaults]\n kdc_max_dgram_reply_size = 1500\n[realms]\n A = {\n  kdc_max_dgram_reply_size = 900\n }\n B = {\n }\n";
        assert_eq!(KdcConf::parse(text, "kdc.conf", Some("A")).unwrap().max_dgram_reply_size, Some(900));
        assert_eq!(KdcConf::parse(text, "kdc.conf", Some("B")).unwrap().max_dgram_reply_size, Some(1500));
        assert_eq!(KdcConf::parse("[realms]\n B = {\n }\n", "k", Some("B")).unwrap().max_dgram_reply_size, None);
        for bad in ["0", "70000", "big"] {
            let text = format!("[kdcdefaults]\n kdc_max_dgram_reply_size = {bad}\n");
            let err = KdcConf::parse(&text, "kdc.conf", Some("B")).unwrap_err();
            assert!(err.message().contains("kdc_max_dgram_reply_size"), "{err}");
        }
    }
}
