//! MIT's value syntaxes (durations, booleans, enctype lists, addresses with a default port) and
//! the typed reader the `krb5.conf` and `kdc.conf` views use, which names a bad value's file and
//! line.

use super::config_error;
use super::profile::Profile;
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};

/// Parses a duration as MIT writes them, to seconds: `36000` (seconds), `1:30` or `1:30:00`
/// (`h:m` or `h:m:s`), or numbers with units `d`, `h`, `m`, `s` in that order, each at most once, blanks
/// allowed between them (`10h`, `8h 0m 0s`, `7d 0h 0m 0s`, `2d3h`). A leading `-` negates. The
/// result must fit MIT's 32-bit `krb5_deltat`.
pub fn parse_duration(text: &str) -> Result<i64> {
    let bad = |why: &str| config_error(format!("invalid duration {text:?}: {why}"));
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    let number = |s: &str| -> Result<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected a number"));
        }
        s.parse::<i64>().map_err(|_| bad("number too large"))
    };
    let secs = if body.bytes().all(|b| b.is_ascii_digit()) {
        number(body)?
    } else if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() > 3 {
            return Err(bad("more than h:m:s"));
        }
        let h = number(parts[0])?;
        let m = number(parts[1])?;
        let s = match parts.get(2) {
            Some(p) => number(p)?,
            None => 0,
        };
        h.checked_mul(3600)
            .and_then(|x| x.checked_add(m.checked_mul(60)?))
            .and_then(|x| x.checked_add(s))
            .ok_or_else(|| bad("too large"))?
    } else {
        let units = [('d', 86_400i64), ('h', 3600), ('m', 60), ('s', 1)];
        let mut next_unit = 0;
        let mut total: i64 = 0;
        let mut rest = body;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("expected a number"));
            }
            let n = number(&rest[..digits])?;
            let unit = rest[digits..].chars().next().ok_or_else(|| bad("a number without a unit after a unit"))?;
            let Some(k) = units.iter().position(|(u, _)| *u == unit) else {
                return Err(bad("units are d, h, m and s"));
            };
            if k < next_unit {
                return Err(bad("units must come in the order d, h, m, s, each once"));
            }
            next_unit = k + 1;
            total = n.checked_mul(units[k].1).and_then(|x| x.checked_add(total)).ok_or_else(|| bad("too large"))?;
            rest = rest[digits + 1..].trim_start();
        }
        total
    };
    if secs > i64::from(i32::MAX) {
        return Err(bad("too large"));
    }
    Ok(if neg { -secs } else { secs })
}

/// Parses a boolean as MIT does, ignoring case: `true`/`yes`/`on`/`1` (also `t`, `y`) and
/// `false`/`no`/`off`/`0` (also `nil`, `n`).
pub fn parse_bool(text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "t" | "y" => Ok(true),
        "false" | "no" | "off" | "0" | "nil" | "n" => Ok(false),
        _ => Err(config_error(format!("invalid boolean {text:?} (true/false, yes/no, on/off, 1/0)"))),
    }
}

/// Parses an enctype list as MIT writes them: names (or numbers) separated by blanks or commas,
/// in preference order. `:salt` suffixes (`aes256-cts:normal`) are dropped; `DEFAULT` stands for
/// every supported enctype ([`Enctype::ALL`]); the families `aes`, `aes-sha1`, `aes-sha2` expand
/// to their members; a `-` prefix removes an enctype or family added before it, `+` is allowed.
/// Names libktix does not implement (`des3-cbc-sha1`, `arcfour-hmac`, `camellia…`, unknown ones)
/// are skipped, as MIT skips names it does not know; a list left with no enctype is an error.
pub fn parse_enctypes(text: &str) -> Result<Vec<Enctype>> {
    use Enctype::*;
    let mut out: Vec<Enctype> = Vec::new();
    for word in text.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        let (remove, word) = match word.as_bytes()[0] {
            b'-' => (true, &word[1..]),
            b'+' => (false, &word[1..]),
            _ => (false, word),
        };
        let name = word.split(':').next().unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let members: Vec<Enctype> = match lower.as_str() {
            "default" => Enctype::ALL.to_vec(),
            "aes" => vec![Aes256CtsHmacSha196, Aes128CtsHmacSha196, Aes256CtsHmacSha384192, Aes128CtsHmacSha256128],
            "aes-sha1" => vec![Aes256CtsHmacSha196, Aes128CtsHmacSha196],
            "aes-sha2" => vec![Aes256CtsHmacSha384192, Aes128CtsHmacSha256128],
            _ => Enctype::from_name(&lower).map(|e| vec![e]).unwrap_or_default(),
        };
        for e in members {
            if remove {
                out.retain(|x| *x != e);
            } else if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_CONFIG,
            format!("no supported encryption type in {text:?} (libktix implements aes*-cts-hmac-sha1-96 and aes*-cts-hmac-sha2)"),
        ));
    }
    Ok(out)
}

/// Adds `:port` to a `host`, `IPv4`, `[IPv6]` or bare IPv6 address that has none.
pub(super) fn with_default_port(addr: &str, port: u16) -> String {
    let addr = addr.trim();
    if addr.starts_with('[') {
        if addr.contains("]:") {
            addr.to_string()
        } else {
            format!("{addr}:{port}")
        }
    } else if addr.matches(':').count() > 1 {
        format!("[{addr}]:{port}")
    } else if addr.contains(':') {
        addr.to_string()
    } else {
        format!("{addr}:{port}")
    }
}

// ------------------------------------------------------------------------------------------------
// Typed reading helpers

/// Reads typed values from a profile, reporting bad values with where they were written.
pub(super) struct Reader<'a>(pub(super) &'a Profile);

impl Reader<'_> {
    pub(super) fn typed<T>(&self, path: &[&str], parse: impl Fn(&str) -> Result<T>) -> Result<Option<T>> {
        match self.0.relation(path) {
            None => Ok(None),
            Some((text, origin)) => {
                parse(text).map(Some).map_err(|e| e.context(format_args!("{origin}: {}", path.join("."))))
            }
        }
    }

    pub(super) fn duration(&self, path: &[&str]) -> Result<Option<i64>> {
        self.typed(path, parse_duration)
    }

    pub(super) fn boolean(&self, path: &[&str]) -> Result<Option<bool>> {
        self.typed(path, parse_bool)
    }

    pub(super) fn enctypes(&self, path: &[&str]) -> Result<Option<Vec<Enctype>>> {
        self.typed(path, parse_enctypes)
    }

    pub(super) fn string(&self, path: &[&str]) -> Option<String> {
        self.0.get(path).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("8h 0m 0s", 28800),
            ("10h", 36000),
            ("30m", 1800),
            ("1d", 86400),
            ("7d 0h 0m 0s", 604800),
            ("36000", 36000),
            ("1:30:00", 5400),
            ("1:30", 5400),
            ("2d3h", 183600),
            ("2d 3h", 183600),
            ("1h90m", 9000),
            ("1d2h3m4s", 93784),
            ("01:02:03", 3723),
            (" 5h ", 18000),
            ("-1h", -3600),
            ("0", 0),
            ("2147483647", 2147483647),
            ("24855d", 2147472000),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}")), want, "{text}");
        }
        for bad in [
            "",
            "h",
            "1 h",
            "1m 1h",
            "1h 1h",
            "1d 2",
            "2 3",
            "1:",
            "1::2",
            "1:2:3:4",
            "1x",
            "1.5h",
            "+5",
            "2147483648",
            "24856d",
            "99999999999999999999",
        ] {
            assert_eq!(parse_duration(bad).expect_err(bad).code(), ErrorCode::KTIX_ERR_CONFIG, "{bad}");
        }
    }

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "yes", "Yes", "on", "1", "t", "y"] {
            assert!(parse_bool(t).expect(t));
        }
        for f in ["false", "No", "off", "OFF", "0", "nil", "n"] {
            assert!(!parse_bool(f).expect(f));
        }
        assert!(parse_bool("maybe").is_err());
        assert!(parse_bool("").is_err());
    }

    #[test]
    fn enctype_lists() {
        use Enctype::*;
        let cases: &[(&str, &[Enctype])] = &[
            ("aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
            ("aes256-cts:normal, aes128-cts:special", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
            ("des3-cbc-sha1 arcfour-hmac rc4-hmac camellia256-cts-cmac aes128-sha2", &[Aes128CtsHmacSha256128]),
            ("DEFAULT", &Enctype::ALL),
            (
                "DEFAULT -aes128-cts-hmac-sha1-96",
                &[Aes256CtsHmacSha384192, Aes256CtsHmacSha196, Aes128CtsHmacSha256128],
            ),
            ("aes-sha2", &[Aes256CtsHmacSha384192, Aes128CtsHmacSha256128]),
            ("aes", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196, Aes256CtsHmacSha384192, Aes128CtsHmacSha256128]),
            ("+aes-sha1 -aes256-cts aes256-sha1", &[Aes128CtsHmacSha196, Aes256CtsHmacSha196]),
            ("18,18,17", &[Aes256CtsHmacSha196, Aes128CtsHmacSha196]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_enctypes(text).unwrap_or_else(|e| panic!("{text}: {e}")), *want, "{text}");
        }
        for bad in ["", "des3-cbc-sha1 arcfour-hmac", "aes -aes", ", ,"] {
            assert_eq!(parse_enctypes(bad).expect_err(bad).code(), ErrorCode::KTIX_ERR_CONFIG);
        }
    }

    #[test]
    fn default_ports() {
        assert_eq!(with_default_port("kdc", 88), "kdc:88");
        assert_eq!(with_default_port("kdc:750", 88), "kdc:750");
        assert_eq!(with_default_port("[::1]", 88), "[::1]:88");
        assert_eq!(with_default_port("[::1]:750", 88), "[::1]:750");
        assert_eq!(with_default_port("::1", 88), "[::1]:88");
    }
}
