//! GSS-API names (RFC 2743 §1.1.5, §3.2) for the Kerberos V5 mechanism: Kerberos principal
//! names, user names, host-based service names (`service@host`) and exported names.
//!
//! A host-based name stays as it was imported until it is canonicalized — at the call, with
//! krb5.conf as it is then (`KRB5_CONFIG`): `HTTP@Web.Example.COM` becomes
//! `HTTP/web.example.com@REALM`, the realm from `[domain_realm]` (the host, then its domains
//! `.example.com`, `example.com`, … as MIT looks them up) or else `[libdefaults] default_realm`.
//! The host name is lower-cased and otherwise taken as given: no forward or reverse DNS (what MIT
//! does with `dns_canonicalize_hostname = false`, `rdns = false`). A principal name without a
//! realm gets the default realm, also when canonicalized.

use std::fmt;

use crate::config::Krb5Conf;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::{name_type, Principal};

use super::oid;

/// The exported-name token id (RFC 2743 §3.2).
const EXPORT_TOK_ID: [u8; 2] = [0x04, 0x01];
/// The longest name we import or export, bytes.
const MAX_NAME: usize = 64 * 1024;

/// A GSS-API name of the Kerberos V5 mechanism.
#[derive(Clone, Debug)]
pub struct Name {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// A principal with its realm (given, or from an exported name).
    Principal { principal: Principal, name_type: &'static [u8], text: Option<String> },
    /// A principal name without a realm: the default realm at canonicalization.
    Unrealmed { text: String, name_type: &'static [u8] },
    /// `service@host`, or `service` alone (the local host).
    Hostbased { service: String, host: Option<String> },
}

impl Name {
    /// Imports a name of `name_type` (an OID's content bytes; `None` is the mechanism's default,
    /// a Kerberos principal name):
    ///
    /// - `None`, `KRB5_NT_PRINCIPAL_NAME`, `NT_USER_NAME`: `name/instance@REALM` (MIT's escapes;
    ///   no realm: the default realm, looked up when needed);
    /// - `NT_HOSTBASED_SERVICE`, `NT_HOSTBASED_SERVICE_X`: `service@host` or `service`;
    /// - `NT_EXPORT_NAME`: RFC 2743 §3.2 (`04 01`, OID, name) of the Kerberos V5 mechanism.
    ///
    /// Errors: `KTIX_ERR_GSS_BAD_NAMETYPE` for other name types, `KTIX_ERR_GSS_BAD_NAME` for a
    /// name that is not UTF-8, empty, malformed, or an exported name of another mechanism.
    pub fn import(bytes: &[u8], name_type: Option<&[u8]>) -> Result<Name> {
        if bytes.len() > MAX_NAME {
            return Err(bad_name("the name is too long"));
        }
        match name_type {
            Some(t) if t == oid::NT_EXPORT_NAME => return Name::import_exported(bytes),
            _ => {}
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad_name("the name is not UTF-8"))?;
        match name_type {
            None => Name::principal_text(text, oid::KRB5_NT_PRINCIPAL_NAME),
            Some(t) if t == oid::KRB5_NT_PRINCIPAL_NAME => Name::principal_text(text, oid::KRB5_NT_PRINCIPAL_NAME),
            Some(t) if t == oid::NT_USER_NAME => Name::principal_text(text, oid::NT_USER_NAME),
            Some(t) if t == oid::NT_HOSTBASED_SERVICE || t == oid::NT_HOSTBASED_SERVICE_X => Name::hostbased(text),
            Some(t) => Err(Error::new(
                ErrorCode::KTIX_ERR_GSS_BAD_NAMETYPE,
                format!("name type {} is not supported", oid::to_dotted(t).unwrap_or_else(|_| "(malformed)".into())),
            )),
        }
    }

    /// A host-based service name, `service@host` or `service` (for the local host).
    pub fn hostbased(s: &str) -> Result<Name> {
        let (service, host) = match s.split_once('@') {
            Some((svc, host)) => (svc, Some(host)),
            None => (s, None),
        };
        if service.is_empty() || service.contains('/') {
            return Err(bad_name(&format!("{s:?} is not a host-based service name (service@host)")));
        }
        let host = match host {
            Some(h) => {
                let h = h.trim_end_matches('.');
                if h.is_empty() || h.contains('@') || h.contains('/') {
                    return Err(bad_name(&format!("{s:?}: bad host name")));
                }
                Some(h.to_string())
            }
            None => None,
        };
        Ok(Name { kind: Kind::Hostbased { service: service.to_string(), host } })
    }

    /// The name of a principal.
    pub fn from_principal(p: Principal) -> Name {
        Name { kind: Kind::Principal { principal: p, name_type: oid::KRB5_NT_PRINCIPAL_NAME, text: None } }
    }

    fn principal_text(text: &str, nt: &'static [u8]) -> Result<Name> {
        if text.is_empty() {
            return Err(bad_name("the name is empty"));
        }
        // Parsed now (with a stand-in realm when none is given) so a malformed name fails here.
        Principal::parse(text, Some("R")).map_err(|e| bad_name(e.message()))?;
        if text_has_realm(text) {
            let principal = Principal::parse(text, None).map_err(|e| bad_name(e.message()))?;
            return Ok(Name { kind: Kind::Principal { principal, name_type: nt, text: Some(text.to_string()) } });
        }
        Ok(Name { kind: Kind::Unrealmed { text: text.to_string(), name_type: nt } })
    }

    fn import_exported(bytes: &[u8]) -> Result<Name> {
        let bad = || bad_name("malformed exported name");
        if bytes.len() < 4 || bytes[..2] != EXPORT_TOK_ID {
            return Err(bad());
        }
        let oid_len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let oid_der = bytes.get(4..4 + oid_len).ok_or_else(bad)?;
        if oid_der.len() < 2 || oid_der[0] != 0x06 || usize::from(oid_der[1]) != oid_der.len() - 2 {
            return Err(bad());
        }
        if !oid::is_krb5(&oid_der[2..]) {
            return Err(bad_name("an exported name of another mechanism"));
        }
        let rest = &bytes[4 + oid_len..];
        if rest.len() < 4 {
            return Err(bad());
        }
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() - 4 != n {
            return Err(bad());
        }
        let text = std::str::from_utf8(&rest[4..]).map_err(|_| bad())?;
        let principal = Principal::parse(text, None).map_err(|e| bad_name(e.message()))?;
        Ok(Name::from_principal(principal))
    }

    /// The Kerberos principal this name stands for, with krb5.conf as `KRB5_CONFIG` says now
    /// (see the module documentation).
    ///
    /// Errors: `KTIX_ERR_GSS_BAD_NAME` when a realm is needed and none is configured,
    /// `KTIX_ERR_CONFIG` for an unreadable configuration.
    pub fn canonicalize(&self) -> Result<Principal> {
        match &self.kind {
            Kind::Principal { principal, .. } => Ok(principal.clone()),
            _ => self.canonicalize_with(&Krb5Conf::load_default()?),
        }
    }

    /// [`Name::canonicalize`] with the configuration `conf`.
    pub fn canonicalize_with(&self, conf: &Krb5Conf) -> Result<Principal> {
        match &self.kind {
            Kind::Principal { principal, .. } => Ok(principal.clone()),
            Kind::Unrealmed { text, .. } => {
                let realm = conf
                    .default_realm
                    .as_deref()
                    .ok_or_else(|| bad_name(&format!("{text:?} has no realm and no default realm is configured")))?;
                Principal::parse(text, Some(realm)).map_err(|e| bad_name(e.message()))
            }
            Kind::Hostbased { service, host } => {
                let host = match host {
                    Some(h) => h.to_ascii_lowercase(),
                    None => local_host_name()?,
                };
                let realm = conf.realm_for_host(&host).map(str::to_string).or_else(|| conf.default_realm.clone());
                let realm = realm.ok_or_else(|| {
                    bad_name(&format!(
                        "no realm for host {host}: neither [domain_realm] nor default_realm in krb5.conf names one"
                    ))
                })?;
                Principal::new(name_type::SRV_HST, vec![service.clone(), host], realm)
            }
        }
    }

    /// The RFC 2743 §3.2 exported form of the canonical name: `04 01`, the OID's DER length (2
    /// bytes), the DER OID of the Kerberos V5 mechanism, the name's length (4 bytes), the name
    /// (`name/instance@REALM`), lengths big-endian.
    pub fn export(&self) -> Result<Vec<u8>> {
        let name = self.canonicalize()?.to_string();
        Ok(export_principal_text(&name))
    }

    /// The display form: the principal as imported (`alice@REALM`, `HTTP/host@REALM`), a
    /// host-based name as `service@host` (as imported, before canonicalization).
    pub fn display(&self) -> String {
        match &self.kind {
            Kind::Principal { principal, text, .. } => text.clone().unwrap_or_else(|| principal.to_string()),
            Kind::Unrealmed { text, .. } => text.clone(),
            Kind::Hostbased { service, host: Some(h) } => format!("{service}@{h}"),
            Kind::Hostbased { service, host: None } => service.clone(),
        }
    }

    /// The name type (an OID's content bytes) the display form is of.
    pub fn name_type(&self) -> &'static [u8] {
        match &self.kind {
            Kind::Principal { name_type, .. } | Kind::Unrealmed { name_type, .. } => name_type,
            Kind::Hostbased { .. } => oid::NT_HOSTBASED_SERVICE,
        }
    }

    /// The principal, when the name is one already (a mechanism name, or imported with a realm).
    pub fn principal(&self) -> Option<&Principal> {
        match &self.kind {
            Kind::Principal { principal, .. } => Some(principal),
            _ => None,
        }
    }

    /// Whether the name is host-based (`service@host`).
    pub fn is_hostbased(&self) -> bool {
        matches!(self.kind, Kind::Hostbased { .. })
    }

    /// The service and host of a host-based name.
    pub(crate) fn hostbased_parts(&self) -> Option<(&str, Option<&str>)> {
        match &self.kind {
            Kind::Hostbased { service, host } => Some((service, host.as_deref())),
            _ => None,
        }
    }
}

/// Two names are equal when their canonical principals are (when both canonicalize), else when
/// their display forms and name types are.
impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        match (self.canonicalize(), other.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.display() == other.display() && self.name_type() == other.name_type(),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// The exported form of `name/instance@REALM` text.
fn export_principal_text(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 2 + oid::KRB5.len() + 4 + name.len());
    out.extend_from_slice(&EXPORT_TOK_ID);
    out.extend_from_slice(&((oid::KRB5.len() + 2) as u16).to_be_bytes());
    out.push(0x06);
    out.push(oid::KRB5.len() as u8);
    out.extend_from_slice(oid::KRB5);
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

/// Whether principal text names a realm (an unescaped `@`).
fn text_has_realm(text: &str) -> bool {
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '@' => return true,
            _ => {}
        }
    }
    false
}

/// This host's name, lower-cased (a host-based name without `@host`): the kernel's host name
/// (`/proc/sys/kernel/hostname`, what gethostname(2) returns), else `/etc/hostname`.
fn local_host_name() -> Result<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
        .find(|s| !s.is_empty())
        .ok_or_else(|| bad_name("the local host name is not available"))
}

fn bad_name(why: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_GSS_BAD_NAME, why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "[libdefaults]\n default_realm = DEF.TEST\n[domain_realm]\n exact.other.test = EXACT.TEST\n \
                        .other.test = OTHER.TEST\n";

    fn conf() -> Krb5Conf {
        Krb5Conf::parse(CONF, "krb5.conf").unwrap()
    }

    #[test]
    fn hostbased_names_through_domain_realm_then_the_default_realm() {
        let c = conf();
        let n = Name::import(b"HTTP@Web.Other.TEST", Some(oid::NT_HOSTBASED_SERVICE)).unwrap();
        assert_eq!(n.display(), "HTTP@Web.Other.TEST");
        assert_eq!(n.name_type(), oid::NT_HOSTBASED_SERVICE);
        let p = n.canonicalize_with(&c).unwrap();
        assert_eq!(p.to_string(), "HTTP/web.other.test@OTHER.TEST");
        assert_eq!(p.name_type(), name_type::SRV_HST);
        let exact = Name::hostbased("host@exact.other.test").unwrap().canonicalize_with(&c).unwrap();
        assert_eq!(exact.to_string(), "host/exact.other.test@EXACT.TEST");
        let def = Name::import(b"ldap@db.nowhere.test", Some(oid::NT_HOSTBASED_SERVICE_X)).unwrap();
        assert_eq!(def.canonicalize_with(&c).unwrap().to_string(), "ldap/db.nowhere.test@DEF.TEST");
        let bare = Name::hostbased("host").unwrap().canonicalize_with(&c).unwrap();
        assert_eq!(bare.components()[0], "host");
        assert_eq!(bare.components()[1], local_host_name().unwrap());
        let none = Krb5Conf::parse("", "empty").unwrap();
        let e = Name::hostbased("HTTP@a.b").unwrap().canonicalize_with(&none).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_GSS_BAD_NAME);
        for bad in ["", "@host", "HTTP@", "a/b@host", "HTTP@h@x"] {
            assert_eq!(Name::hostbased(bad).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_BAD_NAME, "{bad}");
        }
    }

    #[test]
    fn principal_and_user_names() {
        let c = conf();
        let n = Name::import(b"alice@R.TEST", None).unwrap();
        assert_eq!(n.principal().unwrap().to_string(), "alice@R.TEST");
        assert_eq!(n.display(), "alice@R.TEST");
        let u = Name::import(b"bob", Some(oid::NT_USER_NAME)).unwrap();
        assert_eq!(u.name_type(), oid::NT_USER_NAME);
        assert_eq!(u.canonicalize_with(&c).unwrap().to_string(), "bob@DEF.TEST");
        let svc = Name::import(b"host/a.b\\@c@R.TEST", Some(oid::KRB5_NT_PRINCIPAL_NAME)).unwrap();
        assert_eq!(svc.principal().unwrap().components(), ["host", "a.b@c"]);
        assert_eq!(Name::import(b"", None).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_BAD_NAME);
        assert_eq!(Name::import(b"a//b@R", None).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_BAD_NAME);
        assert_eq!(Name::import(&[0xff], None).unwrap_err().code(), ErrorCode::KTIX_ERR_GSS_BAD_NAME);
        let e = Name::import(b"x", Some(oid::NT_ANONYMOUS)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_GSS_BAD_NAMETYPE);
        assert_eq!(Name::from_principal(Principal::parse("a@R", None).unwrap()), Name::import(b"a@R", None).unwrap());
        assert_ne!(Name::import(b"a@R", None).unwrap(), Name::import(b"b@R", None).unwrap());
    }

    #[test]
    fn exported_names_round_trip_and_are_checked() {
        let n = Name::import(b"HTTP/web.r.test@R.TEST", None).unwrap();
        let e = n.export().unwrap();
        let mut expect = vec![0x04, 0x01, 0x00, 0x0b, 0x06, 0x09];
        expect.extend_from_slice(oid::KRB5);
        expect.extend_from_slice(&22u32.to_be_bytes());
        expect.extend_from_slice(b"HTTP/web.r.test@R.TEST");
        assert_eq!(e, expect);
        let back = Name::import(&e, Some(oid::NT_EXPORT_NAME)).unwrap();
        assert_eq!(back, n);
        assert_eq!(back.principal().unwrap().to_string(), "HTTP/web.r.test@R.TEST");
        for cut in 0..e.len() {
            assert!(Name::import(&e[..cut], Some(oid::NT_EXPORT_NAME)).is_err());
        }
        let mut longer = e.clone();
        longer.push(b'x');
        assert_eq!(
            Name::import(&longer, Some(oid::NT_EXPORT_NAME)).unwrap_err().code(),
            ErrorCode::KTIX_ERR_GSS_BAD_NAME
        );
        let mut spnego = vec![0x04, 0x01, 0x00, 0x08, 0x06, 0x06];
        spnego.extend_from_slice(oid::SPNEGO);
        spnego.extend_from_slice(&[0, 0, 0, 1, b'a']);
        assert_eq!(
            Name::import(&spnego, Some(oid::NT_EXPORT_NAME)).unwrap_err().code(),
            ErrorCode::KTIX_ERR_GSS_BAD_NAME
        );
    }
}
