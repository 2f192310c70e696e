//! Principal names: `component/component@REALM`, with RFC 1964 / MIT escaping.

use std::fmt;

use crate::error::{Error, ErrorCode, Result};

/// Name types (RFC 4120 §6.2).
pub mod name_type {
    /// Name type not known.
    pub const UNKNOWN: i32 = 0;
    /// Just the name of the principal, as in DCE, or for users.
    pub const PRINCIPAL: i32 = 1;
    /// Service and other unique instance (krbtgt).
    pub const SRV_INST: i32 = 2;
    /// Service with host name as instance (telnet, rcommands).
    pub const SRV_HST: i32 = 3;
    /// Service with host as remaining components.
    pub const SRV_XHST: i32 = 4;
    /// Unique ID.
    pub const UID: i32 = 5;
    /// Enterprise name (RFC 6806).
    pub const ENTERPRISE: i32 = 10;
}

/// A Kerberos principal: name type, name components and realm.
///
/// Equality ignores the name type, as RFC 4120 §6.2 says names must be compared.
#[derive(Clone, Eq)]
pub struct Principal {
    name_type: i32,
    components: Vec<String>,
    realm: String,
}

impl PartialEq for Principal {
    fn eq(&self, other: &Principal) -> bool {
        self.components == other.components && self.realm == other.realm
    }
}

impl std::hash::Hash for Principal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // What equality compares, in one write when it fits a small buffer (each write to the
        // store maps' SipHash costs its own rounds: ~7 per lookup otherwise). The components and
        // the realm each end with 0xFF, a byte UTF-8 never holds, so the bytes stay unambiguous.
        let mut buf = [0u8; 128];
        let mut n = 0;
        for part in self.components.iter().map(String::as_bytes).chain([self.realm.as_bytes()]) {
            let Some(slot) = buf.get_mut(n..n + part.len() + 1) else {
                // A long name: component by component.
                self.components.hash(state);
                self.realm.hash(state);
                return;
            };
            slot[..part.len()].copy_from_slice(part);
            slot[part.len()] = 0xff;
            n += part.len() + 1;
        }
        state.write(&buf[..n]);
    }
}

impl Principal {
    /// A principal from its parts. At least one component; no empty realm.
    pub fn new(name_type: i32, components: Vec<String>, realm: impl Into<String>) -> Result<Principal> {
        let realm = realm.into();
        if components.is_empty() {
            return Err(Error::invalid("a principal name needs at least one component"));
        }
        if realm.is_empty() {
            return Err(Error::invalid("a principal needs a realm"));
        }
        Ok(Principal { name_type, components, realm })
    }

    /// Parses `a/b@REALM` (backslash escapes `\/ \@ \\ \n \t \b \0`). Without `@REALM`, the
    /// `default_realm` is used; with neither, an error. A name with two or more components and no
    /// explicit type is `NT-SRV-INST` when its first component is `krbtgt`, `NT-SRV-HST`
    /// otherwise; a single component is `NT-PRINCIPAL`, as MIT's parser does.
    pub fn parse(text: &str, default_realm: Option<&str>) -> Result<Principal> {
        // Most names have no escapes (every service name the client asks for on each AP-REQ):
        // split them on their separators, each component allocated once at its size.
        let (components, realm) = if text.contains('\\') { split_escaped(text)? } else { split_plain(text)? };
        if components.iter().any(|c| c.is_empty()) {
            return Err(bad_name(text, "has an empty component"));
        }
        let realm = match realm {
            Some(r) if r.is_empty() => return Err(bad_name(text, "has an empty realm")),
            Some(r) => r,
            None => default_realm
                .filter(|r| !r.is_empty())
                .ok_or_else(|| bad_name(text, "has no realm and no default realm is set"))?
                .to_string(),
        };
        let name_type = match components.len() {
            1 => name_type::PRINCIPAL,
            _ if components[0] == "krbtgt" => name_type::SRV_INST,
            _ => name_type::SRV_HST,
        };
        Ok(Principal { name_type, components, realm })
    }

    /// The ticket-granting service of `realm`: `krbtgt/REALM@REALM`.
    pub fn krbtgt(realm: &str) -> Principal {
        Principal {
            name_type: name_type::SRV_INST,
            components: vec!["krbtgt".into(), realm.into()],
            realm: realm.into(),
        }
    }

    /// The name type.
    pub fn name_type(&self) -> i32 {
        self.name_type
    }

    /// The name components.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// True for `krbtgt/…` names.
    pub fn is_krbtgt(&self) -> bool {
        self.components.len() == 2 && self.components[0] == "krbtgt"
    }

    /// True for `krbtgt/REALM@REALM`, i.e. equal to [`Principal::krbtgt`]`(realm)`, without
    /// building that principal.
    pub fn is_tgs_of(&self, realm: &str) -> bool {
        self.is_krbtgt() && self.components[1] == realm && self.realm == realm
    }

    /// The same name with another name type.
    pub fn with_name_type(mut self, name_type: i32) -> Principal {
        self.name_type = name_type;
        self
    }

    /// The default salt (RFC 4120 §4): realm followed by every component, no separators.
    pub fn default_salt(&self) -> Vec<u8> {
        let mut s = self.realm.clone().into_bytes();
        for c in &self.components {
            s.extend_from_slice(c.as_bytes());
        }
        s
    }

    /// The name without the realm, escaped (`host/server.ktix.test`).
    pub fn name_without_realm(&self) -> String {
        let mut out = String::new();
        let _ = self.write_name(&mut out); // writing to a String cannot fail
        out
    }

    /// Writes the name as `Display` shows it, to any writer (a `String` takes it without
    /// `core::fmt`'s formatter in between).
    pub(crate) fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        self.write_name(out)?;
        out.write_char('@')?;
        write_escaped(out, &self.realm)
    }

    /// Writes the escaped components, `/`-separated (no intermediate `String`).
    fn write_name(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                out.write_char('/')?;
            }
            write_escaped(out, c)?;
        }
        Ok(())
    }
}

/// Writes `s` with the name syntax's special characters escaped (`\/`, `\@`, `\\`, and `\n`,
/// `\t`, `\b`, `\0` for the control characters MIT escapes), the plain runs in one piece each.
fn write_escaped(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '/' => "\\/",
            '@' => "\\@",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\0' => "\\0",
            _ => continue,
        };
        out.write_str(&s[plain..i])?;
        out.write_str(escaped)?;
        plain = i + c.len_utf8();
    }
    out.write_str(&s[plain..])
}

/// `text` without backslashes, split into its components and realm (`None`: no `@`): what
/// [`split_escaped`] gives for such a text, without its per-character pushes.
fn split_plain(text: &str) -> Result<(Vec<String>, Option<String>)> {
    let (name, realm) = match text.split_once('@') {
        Some((_, r)) if r.contains('@') => return Err(bad_name(text, "has two '@'")),
        Some((n, r)) => (n, Some(r.to_string())),
        None => (text, None),
    };
    Ok((name.split('/').map(String::from).collect(), realm))
}

/// `text` split into its components and realm (`None`: no `@`), backslash escapes resolved.
fn split_escaped(text: &str) -> Result<(Vec<String>, Option<String>)> {
    let mut components = vec![String::new()];
    let mut realm: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let in_realm = realm.is_some();
        let ch = match c {
            '\\' => match chars.next().ok_or_else(|| bad_name(text, "ends in a backslash"))? {
                'n' => '\n',
                't' => '\t',
                'b' => '\u{8}',
                '0' => '\0',
                other => other,
            },
            '/' if !in_realm => {
                components.push(String::new());
                continue;
            }
            '@' if !in_realm => {
                realm = Some(String::new());
                continue;
            }
            '@' => return Err(bad_name(text, "has two '@'")),
            other => other,
        };
        match realm.as_mut() {
            Some(r) => r.push(ch),
            None => components.last_mut().expect("never empty").push(ch),
        }
    }
    Ok((components, realm))
}

fn bad_name(text: &str, why: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("principal name {text:?} {why}"))
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({self})")
    }
}

impl std::str::FromStr for Principal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Principal> {
        Principal::parse(s, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(p: &Principal) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(p)
    }

    #[test]
    fn equal_principals_hash_equal_short_and_long() {
        let long = "x".repeat(200);
        for (a, b) in [
            ("host/s.r.test@R.TEST", "host/s.r.test@R.TEST"),
            (&*format!("host/{long}@R.TEST"), &*format!("host/{long}@R.TEST")),
            (&*format!("{long}@R.TEST"), &*format!("{long}@R.TEST")),
        ] {
            let (p, q) = (Principal::parse(a, None).unwrap(), Principal::parse(b, None).unwrap());
            // Equality ignores the name type; so does the hash.
            let q = q.with_name_type(name_type::UNKNOWN);
            assert_eq!(p, q);
            assert_eq!(hash_of(&p), hash_of(&q));
        }
        // Where the component boundaries lie is part of the name.
        let ab = Principal::new(1, vec!["a".into(), "b".into()], "R").unwrap();
        let a_b = Principal::new(1, vec!["ab".into()], "R").unwrap();
        let a_br = Principal::new(1, vec!["a".into()], "bR").unwrap();
        assert_ne!(hash_of(&ab), hash_of(&a_b));
        assert_ne!(hash_of(&ab), hash_of(&a_br));
    }

    #[test]
    fn parse_and_display() {
        let p = Principal::parse("host/server.ktix.test", Some("KTIX.TEST")).unwrap();
        assert_eq!(p.components(), ["host", "server.ktix.test"]);
        assert_eq!(p.name_type(), name_type::SRV_HST);
        assert_eq!(p.to_string(), "host/server.ktix.test@KTIX.TEST");
        assert_eq!(p.default_salt(), b"KTIX.TESThostserver.ktix.test");
        let a = Principal::parse("alice@KTIX.TEST", None).unwrap();
        assert_eq!(a.default_salt(), b"KTIX.TESTalice");
        assert_eq!(a.name_type(), name_type::PRINCIPAL);
        let t = Principal::parse("krbtgt/KTIX.TEST@KTIX.TEST", None).unwrap();
        assert_eq!(t, Principal::krbtgt("KTIX.TEST"));
        assert!(t.is_tgs_of("KTIX.TEST"));
        assert!(!t.is_tgs_of("OTHER.TEST"));
        assert!(!Principal::parse("krbtgt/OTHER.TEST@KTIX.TEST", None).unwrap().is_tgs_of("KTIX.TEST"));
        assert!(!Principal::parse("krbtgt/KTIX.TEST@OTHER.TEST", None).unwrap().is_tgs_of("KTIX.TEST"));
        assert!(!Principal::parse("host/KTIX.TEST@KTIX.TEST", None).unwrap().is_tgs_of("KTIX.TEST"));
        assert!(!Principal::parse("krbtgt@KTIX.TEST", None).unwrap().is_tgs_of("KTIX.TEST"));
        assert_eq!(t.name_type(), name_type::SRV_INST);
        let e = Principal::parse("we\\/ird\\@x@R", None).unwrap();
        assert_eq!(e.components(), ["we/ird@x"]);
        assert_eq!(e.to_string(), "we\\/ird\\@x@R");
        // Every escaped character, at the start, the end and between multi-byte ones; the
        // escaped text parses back to the same name.
        let odd =
            Principal::new(name_type::PRINCIPAL, vec!["/é@".into(), "a\\b\nc\td\u{8}e\0".into(), "ü".into()], "R@É/")
                .unwrap();
        let text = odd.to_string();
        assert_eq!(text, "\\/é\\@/a\\\\b\\nc\\td\\be\\0/ü@R\\@É\\/");
        assert_eq!(odd.name_without_realm(), "\\/é\\@/a\\\\b\\nc\\td\\be\\0/ü");
        assert_eq!(Principal::parse(&text, None).unwrap().components(), odd.components());
        assert_eq!(Principal::parse(&text, None).unwrap().realm(), "R@É/");
    }

    #[test]
    fn parse_errors() {
        for bad in ["", "a//b@R", "a@", "a@R@S", "a\\"] {
            assert!(Principal::parse(bad, Some("R")).is_err(), "{bad:?}");
        }
        assert!(Principal::parse("alice", None).is_err());
    }

    #[test]
    fn names_without_escapes_split_as_the_escape_aware_scan_does() {
        for text in [
            "",
            "a",
            "a/b",
            "host/s.r.test@R.TEST",
            "a@R",
            "a@",
            "@R",
            "a//b@R",
            "/a",
            "a/",
            "a@R@S",
            "a@R/x",
            "a@R/x@y",
            "a/b/c@R",
            "krbtgt/R@R",
            "ü/ß@Ř",
        ] {
            let plain = split_plain(text).map_err(|e| e.to_string());
            let escaped = split_escaped(text).map_err(|e| e.to_string());
            assert_eq!(plain, escaped, "{text:?}");
        }
    }
}
