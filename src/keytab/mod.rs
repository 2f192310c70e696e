//! Keytabs: long-term service keys in MIT's keytab file format.
//!
//! The format (not an RFC; MIT's own, also read and written by Heimdal, Java and Windows'
//! `ktpass`): a 16-bit version, `0x0502` (all integers big-endian) or the old `0x0501` (integers
//! in the writer's native byte order, read here as little-endian, the order of every machine that
//! wrote them in practice), then entries until the end of the file. Each entry:
//!
//! ```text
//! i32  size                  bytes that follow; negative = a hole (a deleted entry) of -size bytes; 0 = end
//! u16  num_components        0x0501: counts the realm too
//! u16 + bytes                realm
//! (u16 + bytes)*             components
//! u32  name_type             0x0502 only
//! u32  timestamp             when the key was written, seconds since the epoch
//! u8   kvno                  the low 8 bits of the key version
//! u16  enctype
//! u16 + bytes                key
//! u32  kvno                  optional (when at least 4 bytes of the entry remain); when not 0 it is the kvno
//! ...                        anything further in the entry is ignored (Heimdal keeps flags there)
//! ```
//!
//! [`Keytab::to_bytes`] always writes version `0x0502` and, as MIT does, always the 32-bit kvno
//! after the key (and the low 8 bits of the kvno in the 8-bit field); so a keytab MIT wrote without
//! holes re-serializes byte for byte. Entries whose enctype libktix does not implement (say
//! `arcfour-hmac` or `des3-cbc-sha1` from an MIT keytab) are kept opaque, so rewriting such a
//! keytab loses nothing, but they are never offered for decryption ([`Keytab::find`] skips them).
//!
//! The file format (parsing, encoding, reading and writing files, keytab names) is in `format.rs`;
//! this file holds the [`Keytab`] type and its entries.

mod format;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto::{Enctype, Key};
use crate::fsutil::FileStamp;
use crate::principal::Principal;
use crate::time::Time;

pub use self::format::MAX_KEYTAB_SIZE;

/// The key of a keytab entry whose enctype libktix does not implement, kept as it was read so that
/// rewriting the keytab preserves it. It is never used for cryptography. `Debug` hides the bytes.
#[derive(Clone)]
pub struct OpaqueKey {
    enctype: u16,
    bytes: Zeroizing<Vec<u8>>,
}

impl OpaqueKey {
    /// An opaque key from the 16-bit enctype number of the file format and the key bytes.
    pub fn new(enctype: u16, bytes: &[u8]) -> OpaqueKey {
        OpaqueKey { enctype, bytes: Zeroizing::new(bytes.to_vec()) }
    }

    /// The enctype number (as stored: 0..=65535).
    pub fn enctype(&self) -> i32 {
        i32::from(self.enctype)
    }

    /// The raw key bytes. Handle with care: copy them only into zeroizing storage.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl PartialEq for OpaqueKey {
    /// Constant-time comparison of the key bytes.
    fn eq(&self, other: &OpaqueKey) -> bool {
        self.enctype == other.enctype
            && self.bytes.len() == other.bytes.len()
            && openssl::memcmp::eq(&self.bytes, &other.bytes)
    }
}

impl Eq for OpaqueKey {}

impl fmt::Debug for OpaqueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpaqueKey(enctype {}, {} bytes, <redacted>)", self.enctype, self.bytes.len())
    }
}

/// The key of a keytab entry: a usable [`Key`], or one of an enctype libktix does not implement.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EntryKey {
    /// A key of an enctype libktix implements.
    Supported(Key),
    /// A key of another enctype, kept only to be written back.
    Unsupported(OpaqueKey),
}

impl EntryKey {
    /// The key, when its enctype is supported; `None` for an opaque one.
    pub fn key(&self) -> Option<&Key> {
        match self {
            EntryKey::Supported(k) => Some(k),
            EntryKey::Unsupported(_) => None,
        }
    }

    /// The enctype, when supported.
    pub fn enctype(&self) -> Option<Enctype> {
        self.key().map(Key::enctype)
    }

    /// The enctype number, supported or not.
    pub fn enctype_id(&self) -> i32 {
        match self {
            EntryKey::Supported(k) => k.enctype().id(),
            EntryKey::Unsupported(o) => o.enctype(),
        }
    }

    /// The enctype's name as MIT prints it for supported enctypes, `enctype N` for others.
    pub fn enctype_name(&self) -> String {
        match self {
            EntryKey::Supported(k) => k.enctype().name().to_string(),
            EntryKey::Unsupported(o) => format!("enctype {}", o.enctype()),
        }
    }

    /// The raw key bytes. Handle with care: copy them only into zeroizing storage.
    pub fn bytes(&self) -> &[u8] {
        match self {
            EntryKey::Supported(k) => k.bytes(),
            EntryKey::Unsupported(o) => o.bytes(),
        }
    }
}

impl From<Key> for EntryKey {
    fn from(k: Key) -> EntryKey {
        EntryKey::Supported(k)
    }
}

/// One key of one principal in a keytab.
///
/// `Debug` shows the principal, kvno, time and enctype, never the key bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeytabEntry {
    /// Whose key this is (the name type as stored; comparisons ignore it).
    pub principal: Principal,
    /// When the key was written to the keytab (whole seconds).
    pub timestamp: Time,
    /// The key version number.
    pub kvno: u32,
    /// The key.
    pub key: EntryKey,
}

/// A keytab: a list of long-term keys, in file order. Cheap to clone (keys are shared).
#[derive(Clone, Default, Debug)]
pub struct Keytab {
    entries: Vec<KeytabEntry>,
    /// The file it was read from and what the file was then; dropped by any change in memory.
    source: Option<Arc<KeytabSource>>,
}

/// Where a keytab was loaded from.
#[derive(Debug)]
pub(crate) struct KeytabSource {
    pub path: PathBuf,
    pub stamp: FileStamp,
}

impl Keytab {
    /// An empty keytab.
    pub fn new() -> Keytab {
        Keytab { entries: Vec::new(), source: None }
    }

    /// The file this keytab was loaded from by [`Keytab::load`], while it is unchanged in memory
    /// (adding or removing an entry makes it a keytab of its own). An
    /// [`Acceptor`](crate::Acceptor) built from a keytab with a file re-reads the file when it
    /// changes.
    pub fn file(&self) -> Option<&Path> {
        self.source.as_deref().map(|s| s.path.as_path())
    }

    pub(crate) fn source(&self) -> Option<&Arc<KeytabSource>> {
        self.source.as_ref()
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[KeytabEntry] {
        &self.entries
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a key. An entry with the same principal, kvno and enctype is replaced in place;
    /// otherwise the entry is appended.
    pub fn add(&mut self, principal: Principal, kvno: u32, key: Key, timestamp: Time) {
        self.push_entry(KeytabEntry { principal, timestamp: timestamp.whole_seconds(), kvno, key: key.into() });
    }

    /// Adds an entry (supported or opaque key), replacing one with the same principal, kvno and
    /// enctype number, as [`Keytab::add`] does.
    pub fn push_entry(&mut self, entry: KeytabEntry) {
        self.source = None;
        let same = |e: &&mut KeytabEntry| {
            e.principal == entry.principal && e.kvno == entry.kvno && e.key.enctype_id() == entry.key.enctype_id()
        };
        match self.entries.iter_mut().find(same) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
    }

    /// Removes the entries of `principal` with key version `kvno` (every version when `None`);
    /// returns how many were removed.
    pub fn remove(&mut self, principal: &Principal, kvno: Option<u32>) -> usize {
        self.source = None;
        let before = self.entries.len();
        self.entries.retain(|e| !(&e.principal == principal && (kvno.is_none() || kvno == Some(e.kvno))));
        before - self.entries.len()
    }

    /// The entry holding the key for `principal` with key version `kvno` and enctype `enctype`.
    ///
    /// `kvno: None` takes the highest key version the principal has (among entries of `enctype`
    /// when one is given); `enctype: None` takes the strongest enctype of that version (in the order
    /// of [`Enctype::ALL`]). Only entries with a supported key are considered, so the result's
    /// `key.key()` is always `Some`. Name types are ignored when comparing principals.
    pub fn find(&self, principal: &Principal, kvno: Option<u32>, enctype: Option<Enctype>) -> Option<&KeytabEntry> {
        let candidates = || {
            self.entries.iter().filter(move |e| {
                &e.principal == principal
                    && e.key.enctype().is_some()
                    && (enctype.is_none() || e.key.enctype() == enctype)
            })
        };
        let kvno = match kvno {
            Some(k) => k,
            None => candidates().map(|e| e.kvno).max()?,
        };
        candidates().filter(|e| e.kvno == kvno).min_by_key(|e| strength_rank(&e.key))
    }

    /// The distinct principals, in order of first appearance.
    pub fn principals(&self) -> Vec<Principal> {
        let mut seen = HashSet::new();
        self.entries.iter().filter(|e| seen.insert(&e.principal)).map(|e| e.principal.clone()).collect()
    }
}

fn strength_rank(key: &EntryKey) -> usize {
    key.enctype().and_then(|t| Enctype::ALL.iter().position(|&a| a == t)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::name_type;

    pub(super) fn p(s: &str) -> Principal {
        Principal::parse(s, None).unwrap()
    }

    pub(super) fn key(t: Enctype, fill: u8) -> Key {
        Key::new(t, &vec![fill; t.key_len()]).unwrap()
    }

    pub(super) fn sample() -> Keytab {
        let mut kt = Keytab::new();
        let h = p("host/a.test@R");
        kt.add(h.clone(), 1, key(Enctype::Aes128CtsHmacSha196, 1), Time::from_unix(100));
        kt.add(h.clone(), 2, key(Enctype::Aes128CtsHmacSha196, 2), Time::from_unix(200));
        kt.add(h.clone(), 2, key(Enctype::Aes256CtsHmacSha196, 3), Time::from_unix(200));
        kt.add(p("alice@R"), 300, key(Enctype::Aes256CtsHmacSha384192, 4), Time::from_unix(300));
        kt.push_entry(KeytabEntry {
            principal: h,
            timestamp: Time::from_unix(400),
            kvno: 3,
            key: EntryKey::Unsupported(OpaqueKey::new(23, &[9; 16])),
        });
        kt
    }

    #[test]
    fn find_picks_highest_kvno_and_strongest_supported() {
        let kt = sample();
        let h = p("host/a.test@R");
        // kvno 3 has only an opaque key: highest *usable* kvno is 2.
        let e = kt.find(&h, None, None).unwrap();
        assert_eq!((e.kvno, e.key.enctype()), (2, Some(Enctype::Aes256CtsHmacSha196)));
        let e = kt.find(&h, None, Some(Enctype::Aes128CtsHmacSha196)).unwrap();
        assert_eq!(e.kvno, 2);
        let e = kt.find(&h, Some(1), None).unwrap();
        assert_eq!(e.key.enctype(), Some(Enctype::Aes128CtsHmacSha196));
        assert!(kt.find(&h, Some(3), None).is_none());
        assert!(kt.find(&h, Some(1), Some(Enctype::Aes256CtsHmacSha196)).is_none());
        // Name type is ignored.
        let h_other_type = h.clone().with_name_type(name_type::PRINCIPAL);
        assert!(kt.find(&h_other_type, Some(1), None).is_some());
        assert_eq!(kt.find(&p("alice@R"), None, None).unwrap().kvno, 300);
        assert!(kt.find(&p("bob@R"), None, None).is_none());
    }

    #[test]
    fn add_replaces_remove_counts_principals_dedup() {
        let mut kt = sample();
        let h = p("host/a.test@R");
        kt.add(h.clone(), 2, key(Enctype::Aes256CtsHmacSha196, 7), Time::from_unix(500));
        assert_eq!(kt.len(), 5);
        assert_eq!(kt.find(&h, Some(2), None).unwrap().key.bytes(), &[7; 32][..]);
        assert_eq!(kt.principals(), vec![h.clone(), p("alice@R")]);
        assert_eq!(kt.remove(&h, Some(2)), 2);
        assert_eq!(kt.remove(&h, Some(2)), 0);
        assert_eq!(kt.remove(&h, None), 2);
        assert_eq!(kt.len(), 1);
    }

    #[test]
    fn debug_hides_keys() {
        let kt = sample();
        let s = format!("{kt:?}");
        assert!(s.contains("host/a.test@R"), "{s}");
        assert!(s.contains("redacted"), "{s}");
        assert!(!s.contains("[9, 9"), "{s}");
        assert!(!s.contains("0909"), "{s}");
    }

    #[test]
    fn send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Keytab>();
        check::<KeytabEntry>();
    }
}
