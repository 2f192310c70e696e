//! The realm master key: [`MasterKey`], which encrypts every long-term key a database store holds,
//! its stash file, and how a stored key is wrapped under it.
//!
//! # Keys under the master key
//!
//! `key_data` is `master.encrypt(KTIX_DB_MASTER_KEY, plaintext)` (usage
//! [`usage::KTIX_DB_MASTER_KEY`], aes256-cts-hmac-sha1-96 with a random confounder) where the
//! plaintext binds the key to its row: `u16 name length ‖ name ‖ u32 kvno ‖ i32 enctype ‖ key bytes`
//! (big-endian), so a key row copied to another principal, kvno or enctype fails to decrypt.
//! `master_check` is the same encryption of a fixed text; opening the database with another
//! master key fails its integrity check, reported as a wrong master key.
//!
//! # The stash
//!
//! [`MasterKey::save_stash`] writes the master key to a file (0600, atomically) in this format:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "KTIXMKEY"
//! 8       2     format version, big-endian: 1
//! 10      4     enctype, big-endian: 18 (aes256-cts-hmac-sha1-96)
//! 14      2     key length, big-endian: 32
//! 16      32    key
//! 48      4     the first 4 bytes of SHA-256 over bytes 0..48
//! ```
//!
//! The default stash of a database is the database path with `.stash` appended
//! (`realm.db` → `realm.db.stash`): [`stash_path`].

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::principal::{name_type, Principal};

/// The magic bytes at the start of a master-key stash file.
pub const STASH_MAGIC: &[u8; 8] = b"KTIXMKEY";

const STASH_VERSION: u16 = 1;
const STASH_CHECK_LEN: usize = 4;
/// A stash is 52 bytes; anything much larger is not one.
const MAX_STASH_SIZE: usize = 4096;
pub(super) const KEY_CHECK_TEXT: &[u8] = b"ktix realm database master key check, version 1";

/// The default master-key stash of the database at `db`: the same path with `.stash` appended.
pub fn stash_path(db: &Path) -> PathBuf {
    let mut s = OsString::from(db.as_os_str());
    s.push(".stash");
    PathBuf::from(s)
}

/// A realm's master key: the aes256-cts-hmac-sha1-96 key that encrypts every long-term key in the
/// database. `Debug` never shows the key.
#[derive(Clone)]
pub struct MasterKey {
    pub(super) key: Key,
}

impl MasterKey {
    /// The enctype of every master key.
    pub const ENCTYPE: Enctype = Enctype::Aes256CtsHmacSha196;

    /// A fresh random master key.
    pub fn generate() -> Result<MasterKey> {
        Ok(MasterKey { key: Key::random(Self::ENCTYPE)? })
    }

    /// The master key derived from a password: string-to-key of aes256-cts-hmac-sha1-96 with the
    /// default iteration count (4096) and the salt [`MasterKey::password_salt`] of `realm`.
    pub fn from_password(password: &[u8], realm: &str) -> Result<MasterKey> {
        if password.is_empty() {
            return Err(Error::invalid("the master password is empty"));
        }
        let salt = MasterKey::password_salt(realm)?;
        Ok(MasterKey { key: Key::from_password(Self::ENCTYPE, password, &salt, None)? })
    }

    /// The salt of a master password: the default salt of the principal `K/M@REALM` (the realm
    /// followed by `K` and `M`, as for MIT's master-key principal), e.g. `KTIX.TESTKM`.
    pub fn password_salt(realm: &str) -> Result<Vec<u8>> {
        let km = Principal::new(name_type::PRINCIPAL, vec!["K".into(), "M".into()], realm)?;
        Ok(km.default_salt())
    }

    /// A master key from a key, which must be aes256-cts-hmac-sha1-96.
    pub fn from_key(key: Key) -> Result<MasterKey> {
        if key.enctype() != Self::ENCTYPE {
            return Err(Error::invalid(format!(
                "a master key must be {}, not {}",
                Self::ENCTYPE.name(),
                key.enctype().name()
            )));
        }
        Ok(MasterKey { key })
    }

    /// The key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Reads a stash file (format in the [module documentation](self)). A missing or unreadable
    /// file is `KTIX_ERR_IO`, a truncated or corrupt one `KTIX_ERR_BAD_FILE`; both name the file.
    pub fn load_stash(path: &Path) -> Result<MasterKey> {
        let bytes = fsutil::read_limited(path, MAX_STASH_SIZE)?;
        MasterKey::parse_stash(&bytes).map_err(|e| e.context(format!("master-key stash {}", path.display())))
    }

    /// Writes the key to a stash file, atomically and readable by the owner only (0600).
    pub fn save_stash(&self, path: &Path) -> Result<()> {
        fsutil::write_atomic(path, &self.stash_bytes())
    }

    fn stash_bytes(&self) -> Zeroizing<Vec<u8>> {
        let key = self.key.bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(16 + key.len() + STASH_CHECK_LEN));
        out.extend_from_slice(STASH_MAGIC);
        out.extend_from_slice(&STASH_VERSION.to_be_bytes());
        out.extend_from_slice(&self.key.enctype().id().to_be_bytes());
        out.extend_from_slice(&(key.len() as u16).to_be_bytes());
        out.extend_from_slice(key);
        let check = openssl::sha::sha256(&out);
        out.extend_from_slice(&check[..STASH_CHECK_LEN]);
        out
    }

    fn parse_stash(bytes: &[u8]) -> Result<MasterKey> {
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, why.to_string());
        if bytes.len() < 16 || &bytes[..8] != STASH_MAGIC {
            return Err(bad("not a ktix master-key stash (no KTIXMKEY header)"));
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != STASH_VERSION {
            return Err(bad(&format!("unsupported stash format version {version}")));
        }
        let enctype = i32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        let key_len = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
        let body_len = 16 + key_len;
        if bytes.len() != body_len + STASH_CHECK_LEN {
            return Err(bad(&format!(
                "truncated or oversized: {} bytes, expected {}",
                bytes.len(),
                body_len + STASH_CHECK_LEN
            )));
        }
        let check = openssl::sha::sha256(&bytes[..body_len]);
        if !openssl::memcmp::eq(&check[..STASH_CHECK_LEN], &bytes[body_len..]) {
            return Err(bad("corrupt (its check value does not match)"));
        }
        let key = Key::from_parts(enctype, &bytes[16..body_len]).map_err(|e| bad(&format!("bad key: {e}")))?;
        MasterKey::from_key(key).map_err(|e| bad(e.message()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.key.enctype().name())
    }
}

/// The plaintext a stored key is encrypted as: its row's identity, then the key bytes.
pub(super) fn key_plaintext(name: &str, kvno: u32, enctype: i32, key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let name_len = u16::try_from(name.len()).map_err(|_| Error::invalid("principal name too long"))?;
    let mut p = Zeroizing::new(Vec::with_capacity(2 + name.len() + 8 + key.len()));
    p.extend_from_slice(&name_len.to_be_bytes());
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(&kvno.to_be_bytes());
    p.extend_from_slice(&enctype.to_be_bytes());
    p.extend_from_slice(key);
    Ok(p)
}

impl MasterKey {
    /// Wraps the long-term key `key` of `name` (kvno, enctype) for storage: the `key_data` of a
    /// key row in every database store, and of a dump file (see the module documentation).
    pub(crate) fn wrap_key(&self, name: &str, kvno: u32, key: &Key) -> Result<Vec<u8>> {
        let pt = key_plaintext(name, kvno, key.enctype().id(), key.bytes())?;
        self.key.encrypt(usage::KTIX_DB_MASTER_KEY, &pt)
    }

    /// Unwraps a stored key of `name` at `kvno` of enctype number `enctype`: checks that it
    /// decrypts under this master key (`KRB_AP_ERR_BAD_INTEGRITY`) and belongs to that row
    /// (`KRB_AP_ERR_BAD_INTEGRITY`, "belongs to another row"); an unsupported enctype is
    /// `KTIX_ERR_BAD_FILE`.
    pub(crate) fn unwrap_key(&self, name: &str, kvno: u32, enctype: i32, data: &[u8]) -> Result<Key> {
        let et = Enctype::from_i32(enctype).map_err(|_| {
            Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("principal {name}: unsupported enctype {enctype}"))
        })?;
        let pt = self.key.decrypt(usage::KTIX_DB_MASTER_KEY, data).map_err(|_| {
            Error::new(
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                format!("principal {name}: key kvno {kvno} enctype {enctype} does not decrypt with the master key"),
            )
        })?;
        let header = key_plaintext(name, kvno, enctype, &[])?;
        if pt.len() != header.len() + et.key_len() || !openssl::memcmp::eq(&pt[..header.len()], &header) {
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                format!("principal {name}: key kvno {kvno} enctype {enctype} belongs to another row"),
            ));
        }
        Key::new(et, &pt[header.len()..])
    }

    /// The `master_check` of a database: this key's encryption of a fixed text.
    pub(crate) fn check_value(&self) -> Result<Vec<u8>> {
        self.key.encrypt(usage::KTIX_DB_MASTER_KEY, KEY_CHECK_TEXT)
    }

    /// Whether `check` (a database's `master_check`) was made by this key.
    pub(crate) fn matches_check(&self, enctype: i32, check: &[u8]) -> bool {
        enctype == self.key.enctype().id()
            && matches!(self.key.decrypt(usage::KTIX_DB_MASTER_KEY, check), Ok(t) if t.as_slice() == KEY_CHECK_TEXT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stash_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let mk = MasterKey::generate().unwrap();
        mk.save_stash(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 52);
        assert_eq!(&bytes[..8], STASH_MAGIC);
        assert_eq!(MasterKey::load_stash(&p).unwrap().key(), mk.key());
        for cut in [0, 5, 16, 30, 51] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e = MasterKey::load_stash(&p).unwrap_err();
            assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
            assert!(e.message().contains(&*p.to_string_lossy()), "{e}");
        }
        for i in [3, 9, 12, 20, 50] {
            let mut b = bytes.clone();
            b[i] ^= 1;
            std::fs::write(&p, &b).unwrap();
            assert_eq!(MasterKey::load_stash(&p).unwrap_err().code(), ErrorCode::KTIX_ERR_BAD_FILE);
        }
    }

    #[test]
    fn password_master_key_uses_km_salt() {
        assert_eq!(MasterKey::password_salt("R.TEST").unwrap(), b"R.TESTKM");
        let a = MasterKey::from_password(b"pw", "R.TEST").unwrap();
        let b = Key::from_password(MasterKey::ENCTYPE, b"pw", b"R.TESTKM", None).unwrap();
        assert_eq!(a.key(), &b);
        assert!(MasterKey::from_password(b"", "R.TEST").is_err());
        assert!(MasterKey::from_key(Key::random(Enctype::Aes128CtsHmacSha196).unwrap()).is_err());
        assert_eq!(stash_path(Path::new("/x/realm.db")), Path::new("/x/realm.db.stash"));
    }
}
