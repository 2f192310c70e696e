//! The keytab file format (see the [module documentation](super)): [`Keytab::parse`],
//! [`Keytab::to_bytes`], reading and writing keytab files, keytab names, and the bounds-checked
//! reader and the entry codec behind them.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::principal::{name_type, Principal};
use crate::time::Time;

use std::sync::Arc;

use super::{EntryKey, Keytab, KeytabEntry, KeytabSource, OpaqueKey};

/// The largest keytab file [`Keytab::load`] reads (16 MiB; a keytab of a whole large realm is far smaller).
pub const MAX_KEYTAB_SIZE: usize = 16 << 20;

/// The old file format version: native byte order, no name type, component count includes the realm.
const VERSION_1: u16 = 0x0501;
/// The current file format version: big-endian.
const VERSION_2: u16 = 0x0502;

impl Keytab {
    /// Parses a keytab file's bytes (format version 0x0502 or 0x0501).
    ///
    /// Holes (deleted entries) are skipped; an entry size of 0 ends the entries (what follows it
    /// must be zero bytes). Anything that does not fit the format is a
    /// [`ErrorCode::KTIX_ERR_BAD_FILE`] error saying what and at which offset.
    pub fn parse(bytes: &[u8]) -> Result<Keytab> {
        let mut r = Reader { buf: bytes, pos: 0, end: bytes.len(), little_endian: false, scope: "file" };
        let version = r.u16("the file format version")?;
        let little_endian = match version {
            VERSION_2 => false,
            VERSION_1 => true,
            // The first byte is always 5; with the old version's native byte order on a
            // little-endian writer the bytes would read 0x0105 big-endian, which MIT never wrote.
            _ => return Err(bad(0, format!("unknown file format version 0x{version:04x} (not a keytab?)"))),
        };
        r.little_endian = little_endian;
        let mut entries = Vec::new();
        while r.pos < r.end {
            let start = r.pos;
            if r.end - r.pos < 4 {
                return Err(bad(start, format!("{} trailing bytes, too short for an entry size", r.end - r.pos)));
            }
            let size = r.i32("an entry size")?;
            if size == 0 {
                if let Some(i) = bytes[r.pos..].iter().position(|&b| b != 0) {
                    return Err(bad(r.pos + i, "non-zero data after the end-of-entries marker (entry size 0)"));
                }
                break;
            }
            let len = size.unsigned_abs() as usize;
            if len > r.end - r.pos {
                let what = if size < 0 { "hole" } else { "entry" };
                return Err(bad(
                    start,
                    format!("{what} of {len} bytes runs past the end of the file ({} bytes left)", r.end - r.pos),
                ));
            }
            if size < 0 {
                r.pos += len;
                continue;
            }
            let mut er = Reader { buf: bytes, pos: r.pos, end: r.pos + len, little_endian, scope: "entry" };
            let entry = parse_entry(&mut er, version).map_err(|e| e.context(format!("entry at offset {start}")))?;
            entries.push(entry);
            r.pos += len;
        }
        Ok(Keytab { entries, source: None })
    }

    /// The file bytes: format 0x0502, every entry with the 32-bit kvno after the key (as MIT writes).
    ///
    /// An entry that the format cannot hold (a name part longer than 65,535 bytes, more than
    /// 65,535 components) is left out; [`Keytab::try_to_bytes`] reports it instead, and
    /// [`Keytab::save`] uses that.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = VERSION_2.to_be_bytes().to_vec();
        for e in &self.entries {
            if let Ok(body) = encode_entry(e) {
                out.extend_from_slice(&body);
            }
        }
        out
    }

    /// The file bytes as [`Keytab::to_bytes`], or an error naming the first entry the format cannot hold.
    pub fn try_to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = VERSION_2.to_be_bytes().to_vec();
        for e in &self.entries {
            out.extend_from_slice(&encode_entry(e)?);
        }
        Ok(out)
    }

    /// Reads the keytab named `name`: `FILE:path`, `WRFILE:path` or a plain path. Errors name the file.
    ///
    /// The keytab remembers the file (see [`Keytab::file`]), so an acceptor built from it follows
    /// the file when it is rewritten.
    pub fn load(name: &str) -> Result<Keytab> {
        Keytab::load_path(Path::new(file_path(name)?))
    }

    /// Reads the keytab file at `path`, remembering the file and its stamp.
    pub(crate) fn load_path(path: &Path) -> Result<Keytab> {
        let (bytes, stamp) = fsutil::read_limited_with_stamp(path, MAX_KEYTAB_SIZE)?;
        let mut keytab = Keytab::parse(&bytes).map_err(|e| e.context(path.display()))?;
        keytab.source = Some(Arc::new(KeytabSource { path: path.to_path_buf(), stamp }));
        Ok(keytab)
    }

    /// Writes the keytab to `name` (as for [`Keytab::load`]), replacing the file atomically, mode 0600.
    pub fn save(&self, name: &str) -> Result<()> {
        let path = file_path(name)?;
        let bytes = Zeroizing::new(self.try_to_bytes().map_err(|e| e.context(path))?);
        fsutil::write_atomic(Path::new(path), &bytes)
    }

    /// The default keytab name: `$KRB5_KTNAME` when set and not empty, else `FILE:/etc/krb5.keytab`.
    pub fn default_name() -> String {
        match std::env::var("KRB5_KTNAME") {
            Ok(n) if !n.is_empty() => n,
            _ => "FILE:/etc/krb5.keytab".to_string(),
        }
    }
}

/// The path in a keytab name: `FILE:path`, `WRFILE:path`, or a plain path (one starting with `/`,
/// or without a `TYPE:` prefix). Other types (`MEMORY:`, `KEYRING:` …) are not supported.
fn file_path(name: &str) -> Result<&str> {
    let path = match name.split_once(':') {
        Some((kind, rest)) if !name.starts_with('/') && !kind.contains('/') => match kind {
            "FILE" | "WRFILE" => rest,
            _ => return Err(Error::invalid(format!("keytab {name:?}: type {kind:?} is not supported (only FILE)"))),
        },
        _ => name,
    };
    if path.is_empty() {
        return Err(Error::invalid(format!("keytab name {name:?} has no file path")));
    }
    Ok(path)
}

fn bad(offset: usize, why: impl fmt::Display) -> Error {
    Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("keytab: {why} (offset {offset})"))
}

/// A bounds-checked cursor over `buf[..end]`; offsets in errors are from the start of the file.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    little_endian: bool,
    /// What `end` is the end of, for messages: "file" or "entry".
    scope: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.end - self.pos {
            return Err(bad(
                self.pos,
                format!("{what} needs {n} bytes, {} left in the {}", self.end - self.pos, self.scope),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        if self.little_endian {
            a.reverse();
        }
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// A counted octet string (u16 length + bytes).
    fn counted(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.u16(&format!("the length of {what}"))?;
        self.take(usize::from(n), what)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        let b = self.counted(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| bad(at, format!("{what} is not UTF-8")))
    }
}

fn parse_entry(r: &mut Reader<'_>, version: u16) -> Result<KeytabEntry> {
    let count_at = r.pos;
    let mut count = r.u16("the component count")?;
    if version == VERSION_1 {
        count =
            count.checked_sub(1).ok_or_else(|| bad(count_at, "component count 0 (version 0x0501 counts the realm)"))?;
    }
    if count == 0 {
        return Err(bad(count_at, "a principal with no name components"));
    }
    let realm = r.string("the realm")?;
    if realm.is_empty() {
        return Err(bad(count_at, "a principal with an empty realm"));
    }
    let mut components = Vec::new();
    for i in 0..count {
        components.push(r.string(&format!("name component {i}"))?);
    }
    let nt = if version == VERSION_1 { name_type::UNKNOWN } else { r.u32("the name type")? as i32 };
    let principal = Principal::new(nt, components, realm).map_err(|e| bad(count_at, e.message()))?;
    let timestamp = Time::from_unix(i64::from(r.u32("the timestamp")?));
    let mut kvno = u32::from(r.u8("the 8-bit kvno")?);
    let key_at = r.pos;
    let enctype = r.u16("the key's enctype")?;
    let key_bytes = r.counted("the key")?;
    let key = match Enctype::from_i32(i32::from(enctype)) {
        Ok(t) => EntryKey::Supported(Key::new(t, key_bytes).map_err(|_| {
            bad(key_at, format!("a {} key of {} bytes (needs {})", t.name(), key_bytes.len(), t.key_len()))
        })?),
        Err(_) => EntryKey::Unsupported(OpaqueKey::new(enctype, key_bytes)),
    };
    if r.end - r.pos >= 4 {
        let kvno32 = r.u32("the 32-bit kvno")?;
        if kvno32 != 0 {
            kvno = kvno32;
        }
    }
    Ok(KeytabEntry { principal, timestamp, kvno, key })
}

/// One entry with its size prefix, big-endian (0x0502).
fn encode_entry(e: &KeytabEntry) -> Result<Zeroizing<Vec<u8>>> {
    let too_long =
        |what: &str| Error::invalid(format!("keytab entry for {}: {what} does not fit the keytab format", e.principal));
    let mut b = Zeroizing::new(vec![0u8; 4]);
    let comps = e.principal.components();
    let count = u16::try_from(comps.len()).map_err(|_| too_long("the number of name components"))?;
    b.extend_from_slice(&count.to_be_bytes());
    for s in std::iter::once(e.principal.realm()).chain(comps.iter().map(String::as_str)) {
        let n = u16::try_from(s.len()).map_err(|_| too_long("a name part"))?;
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b.extend_from_slice(&(e.principal.name_type() as u32).to_be_bytes());
    let ts = u32::try_from(e.timestamp.unix().clamp(0, i64::from(u32::MAX))).unwrap_or(0);
    b.extend_from_slice(&ts.to_be_bytes());
    b.push(e.kvno as u8); // the low 8 bits; the full kvno follows the key
    let enctype = match &e.key {
        EntryKey::Supported(k) => u16::try_from(k.enctype().id()).map_err(|_| too_long("the enctype"))?,
        EntryKey::Unsupported(o) => o.enctype,
    };
    b.extend_from_slice(&enctype.to_be_bytes());
    let key = e.key.bytes();
    let n = u16::try_from(key.len()).map_err(|_| too_long("the key"))?;
    b.extend_from_slice(&n.to_be_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&e.kvno.to_be_bytes());
    let size = i32::try_from(b.len() - 4).map_err(|_| too_long("the entry"))?;
    b[..4].copy_from_slice(&size.to_be_bytes());
    Ok(b)
}
#[cfg(test)]
mod tests {
    use super::super::tests::{key, p, sample};
    use super::*;

    #[test]
    fn round_trip() {
        let kt = sample();
        let bytes = kt.to_bytes();
        assert_eq!(&bytes[..2], &[5, 2]);
        let back = Keytab::parse(&bytes).unwrap();
        assert_eq!(back.entries(), kt.entries());
        for (a, b) in back.entries().iter().zip(kt.entries()) {
            assert_eq!(a.principal.name_type(), b.principal.name_type());
        }
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(kt.try_to_bytes().unwrap(), bytes);
    }

    #[test]
    fn version_0501_little_endian_counts_realm() {
        let mut body = Vec::new();
        body.extend_from_slice(&3u16.to_le_bytes()); // realm + 2 components
        for s in ["R", "host", "a.test"] {
            body.extend_from_slice(&(s.len() as u16).to_le_bytes());
            body.extend_from_slice(s.as_bytes());
        }
        body.extend_from_slice(&1_000u32.to_le_bytes());
        body.push(5);
        body.extend_from_slice(&17u16.to_le_bytes());
        body.extend_from_slice(&16u16.to_le_bytes());
        body.extend_from_slice(&[0xab; 16]);
        let mut file = vec![5, 1];
        // A hole first, then the entry.
        file.extend_from_slice(&(-3i32).to_le_bytes());
        file.extend_from_slice(&[0, 0, 0]);
        file.extend_from_slice(&(body.len() as i32).to_le_bytes());
        file.extend_from_slice(&body);
        let kt = Keytab::parse(&file).unwrap();
        assert_eq!(kt.len(), 1);
        let e = &kt.entries()[0];
        assert_eq!(e.principal, p("host/a.test@R"));
        assert_eq!(e.principal.name_type(), name_type::UNKNOWN);
        assert_eq!((e.kvno, e.timestamp), (5, Time::from_unix(1_000)));
        assert_eq!(e.key.enctype(), Some(Enctype::Aes128CtsHmacSha196));
        // Rewritten as 0x0502.
        let again = Keytab::parse(&kt.to_bytes()).unwrap();
        assert_eq!(again.entries(), kt.entries());
    }

    #[test]
    fn kvno_trailer_rules() {
        let kt = sample();
        let mut bytes = kt.to_bytes();
        // Zero the 32-bit kvno of the first entry: the 8-bit one is used.
        let first_len = i32::from_be_bytes(bytes[2..6].try_into().unwrap()) as usize;
        let trailer = 6 + first_len - 4;
        bytes[trailer..trailer + 4].copy_from_slice(&[0; 4]);
        bytes[trailer - 16 - 2 - 2 - 1] = 9; // the 8-bit kvno of a 16-byte key entry
        assert_eq!(Keytab::parse(&bytes).unwrap().entries()[0].kvno, 9);
        // No trailer at all (shorten the entry by 4).
        let mut short = vec![5, 2];
        short.extend_from_slice(&((first_len - 4) as i32).to_be_bytes());
        short.extend_from_slice(&bytes[6..6 + first_len - 4]);
        assert_eq!(Keytab::parse(&short).unwrap().entries()[0].kvno, 9);
        // Extra bytes after the trailer (Heimdal's flags) are ignored.
        let mut long = vec![5, 2];
        long.extend_from_slice(&((first_len + 4) as i32).to_be_bytes());
        long.extend_from_slice(&kt.to_bytes()[6..6 + first_len]);
        long.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(Keytab::parse(&long).unwrap().entries()[0].kvno, 1);
    }

    #[test]
    fn corrupt_inputs_are_bad_file_with_offset() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "version"),
            (vec![5], "version"),
            (vec![5, 3], "0x0503"),
            (vec![5, 2, 0, 0], "trailing"),
            (vec![5, 2, 0, 0, 0, 9, 0], "runs past"),
            (vec![5, 2, 0x80, 0, 0, 0], "runs past"),
            (vec![5, 2, 0xff, 0xff, 0xff, 0xf0, 0], "hole"),
            (vec![5, 2, 0, 0, 0, 0, 0, 1], "end-of-entries"),
            (vec![5, 2, 0, 0, 0, 2, 0, 0], "no name components"),
            (vec![5, 2, 0, 0, 0, 4, 0, 1, 0, 9], "the realm needs 9 bytes"),
        ];
        for (input, want) in cases {
            let e = Keytab::parse(&input).unwrap_err();
            assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{input:?}");
            assert!(e.message().contains(want), "{input:?}: {e}");
            assert!(e.message().contains("offset"), "{input:?}: {e}");
        }
        // Empty keytab and zero padding are fine.
        assert!(Keytab::parse(&[5, 2]).unwrap().is_empty());
        assert!(Keytab::parse(&[5, 2, 0, 0, 0, 0, 0, 0]).unwrap().is_empty());
        // A supported enctype with a key of the wrong length.
        let mut kt = sample().to_bytes();
        let first_len = i32::from_be_bytes(kt[2..6].try_into().unwrap()) as usize;
        let keylen_at = 6 + first_len - 4 - 16 - 2;
        kt[keylen_at + 1] = 15;
        let e = Keytab::parse(&kt).unwrap_err();
        assert!(e.message().contains("aes128-cts-hmac-sha1-96 key of 15 bytes"), "{e}");
    }

    #[test]
    fn names() {
        assert_eq!(file_path("FILE:/a/b").unwrap(), "/a/b");
        assert_eq!(file_path("WRFILE:rel").unwrap(), "rel");
        assert_eq!(file_path("/x:y").unwrap(), "/x:y");
        assert_eq!(file_path("dir/x:y").unwrap(), "dir/x:y");
        assert_eq!(file_path("plain").unwrap(), "plain");
        assert!(file_path("MEMORY:x").is_err());
        assert!(file_path("FILE:").is_err());
        assert!(file_path("").is_err());
    }

    #[test]
    fn unrepresentable_entry() {
        let mut kt = Keytab::new();
        let long = Principal::new(1, vec!["x".repeat(70_000)], "R").unwrap();
        kt.add(long, 1, key(Enctype::Aes128CtsHmacSha196, 1), Time::EPOCH);
        assert!(kt.try_to_bytes().is_err());
        assert_eq!(kt.to_bytes(), vec![5, 2]);
    }
}
