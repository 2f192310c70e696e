//! The Kerberos crypto framework (RFC 3961) on OpenSSL, with the AES enctypes of RFC 3962
//! (17, 18) and RFC 8009 (19, 20).
//!
//! Everything a protocol layer needs is on [`Key`]: `encrypt`/`decrypt` (confounder + integrity,
//! per key usage), `checksum`/`verify_checksum`, `prf`, and string-to-key. The keys derived per
//! usage (Kc, Ke, Ki) are computed on first use, as far as each operation needs them, and
//! cached inside the key.

pub mod cts;
mod nfold;
pub mod usage;

use std::fmt;
use std::sync::{Arc, OnceLock};

use openssl::hash::Hasher;
use openssl::hash::MessageDigest;
use openssl::symm::Mode;
use parking_lot::RwLock;
use zeroize::Zeroizing;

pub use nfold::nfold;

use crate::error::{Error, ErrorCode, Result};

/// The encryption types libktix implements.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Enctype {
    /// aes128-cts-hmac-sha1-96 (17), RFC 3962.
    Aes128CtsHmacSha196 = 17,
    /// aes256-cts-hmac-sha1-96 (18), RFC 3962.
    Aes256CtsHmacSha196 = 18,
    /// aes128-cts-hmac-sha256-128 (19), RFC 8009.
    Aes128CtsHmacSha256128 = 19,
    /// aes256-cts-hmac-sha384-192 (20), RFC 8009.
    Aes256CtsHmacSha384192 = 20,
}

/// How an enctype derives keys and authenticates ciphertext.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// RFC 3962: DK with n-fold, HMAC-SHA1 over the plaintext.
    Sha1,
    /// RFC 8009: KDF-HMAC-SHA2, HMAC over IV + ciphertext.
    Sha2,
}

impl Enctype {
    /// Every supported enctype, strongest first (the order a KDC prefers them in).
    pub const ALL: [Enctype; 4] = [
        Enctype::Aes256CtsHmacSha384192,
        Enctype::Aes256CtsHmacSha196,
        Enctype::Aes128CtsHmacSha256128,
        Enctype::Aes128CtsHmacSha196,
    ];

    /// From the RFC 3961 number; other numbers give `KDC_ERR_ETYPE_NOSUPP`.
    pub fn from_i32(n: i32) -> Result<Enctype> {
        match n {
            17 => Ok(Enctype::Aes128CtsHmacSha196),
            18 => Ok(Enctype::Aes256CtsHmacSha196),
            19 => Ok(Enctype::Aes128CtsHmacSha256128),
            20 => Ok(Enctype::Aes256CtsHmacSha384192),
            _ => Err(Error::new(ErrorCode::KDC_ERR_ETYPE_NOSUPP, format!("encryption type {n} is not supported"))),
        }
    }

    /// From the name MIT uses (`aes256-cts-hmac-sha1-96`, also `aes256-cts`, `aes128-sha2` …) or the number.
    pub fn from_name(name: &str) -> Result<Enctype> {
        let n = name.trim().to_ascii_lowercase();
        let e = match n.as_str() {
            "aes128-cts-hmac-sha1-96" | "aes128-cts" | "aes128-sha1" | "17" => Enctype::Aes128CtsHmacSha196,
            "aes256-cts-hmac-sha1-96" | "aes256-cts" | "aes256-sha1" | "aes" | "18" => Enctype::Aes256CtsHmacSha196,
            "aes128-cts-hmac-sha256-128" | "aes128-sha2" | "19" => Enctype::Aes128CtsHmacSha256128,
            "aes256-cts-hmac-sha384-192" | "aes256-sha2" | "20" => Enctype::Aes256CtsHmacSha384192,
            _ => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_UNSUPPORTED_ENCTYPE,
                    format!("unknown encryption type {name:?}"),
                ))
            }
        };
        Ok(e)
    }

    /// The RFC 3961 number.
    pub fn id(self) -> i32 {
        self as i32
    }

    /// The name MIT prints (`klist -e`).
    pub fn name(self) -> &'static str {
        match self {
            Enctype::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96",
            Enctype::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96",
            Enctype::Aes128CtsHmacSha256128 => "aes128-cts-hmac-sha256-128",
            Enctype::Aes256CtsHmacSha384192 => "aes256-cts-hmac-sha384-192",
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes128CtsHmacSha256128 => 16,
            Enctype::Aes256CtsHmacSha196 | Enctype::Aes256CtsHmacSha384192 => 32,
        }
    }

    /// The keyed checksum type that goes with this enctype (RFC 3961 §8 "required checksum").
    pub fn checksum_type(self) -> i32 {
        match self {
            Enctype::Aes128CtsHmacSha196 => checksum_type::HMAC_SHA1_96_AES128,
            Enctype::Aes256CtsHmacSha196 => checksum_type::HMAC_SHA1_96_AES256,
            Enctype::Aes128CtsHmacSha256128 => checksum_type::HMAC_SHA256_128_AES128,
            Enctype::Aes256CtsHmacSha384192 => checksum_type::HMAC_SHA384_192_AES256,
        }
    }

    /// The enctype whose key computes `cksumtype`.
    pub fn for_checksum_type(cksumtype: i32) -> Result<Enctype> {
        Enctype::ALL.into_iter().find(|e| e.checksum_type() == cksumtype).ok_or_else(|| {
            Error::new(ErrorCode::KDC_ERR_SUMTYPE_NOSUPP, format!("checksum type {cksumtype} is not supported"))
        })
    }

    /// The default string-to-key iteration count (4096 for RFC 3962, 32768 for RFC 8009).
    pub fn default_iterations(self) -> u32 {
        match self.family() {
            Family::Sha1 => 4096,
            Family::Sha2 => 32768,
        }
    }

    fn family(self) -> Family {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => Family::Sha1,
            _ => Family::Sha2,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => MessageDigest::sha1(),
            Enctype::Aes128CtsHmacSha256128 => MessageDigest::sha256(),
            Enctype::Aes256CtsHmacSha384192 => MessageDigest::sha384(),
        }
    }

    /// Length of the integrity tag / checksum in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => 12,
            Enctype::Aes128CtsHmacSha256128 => 16,
            Enctype::Aes256CtsHmacSha384192 => 24,
        }
    }

    /// Length of Kc and Ki (RFC 8009 truncates them for 20).
    fn ki_len(self) -> usize {
        match self {
            Enctype::Aes256CtsHmacSha384192 => 24,
            _ => self.key_len(),
        }
    }

    /// Bytes that `encrypt` adds to the plaintext (confounder + integrity tag).
    pub fn overhead(self) -> usize {
        cts::BLOCK + self.mac_len()
    }

    /// The iteration count carried in s2kparams (4 bytes, big-endian), or the default when absent.
    /// Counts below the default or of 2^24 and more are refused, as MIT refuses them.
    pub fn iterations_from_params(self, s2kparams: Option<&[u8]>) -> Result<u32> {
        match s2kparams {
            None => Ok(self.default_iterations()),
            Some(p) => {
                let b: [u8; 4] =
                    p.try_into().map_err(|_| Error::invalid(format!("s2kparams of {} bytes (want 4)", p.len())))?;
                let n = u32::from_be_bytes(b);
                // As MIT does: a peer may not lower the count below the default (a downgrade), nor
                // ask for 2^24 or more.
                if n < self.default_iterations() || n >= MAX_ITERATIONS {
                    return Err(Error::invalid(format!(
                        "string-to-key iteration count {n} is outside {}..{MAX_ITERATIONS}",
                        self.default_iterations()
                    )));
                }
                Ok(n)
            }
        }
    }
}

/// s2kparams iteration counts must stay below this (MIT refuses 2^24 and more too).
pub const MAX_ITERATIONS: u32 = 1 << 24;

impl fmt::Display for Enctype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checksum type numbers (RFC 3961 §8, RFC 3962, RFC 8009, RFC 4121).
pub mod checksum_type {
    /// hmac-sha1-96-aes128.
    pub const HMAC_SHA1_96_AES128: i32 = 15;
    /// hmac-sha1-96-aes256.
    pub const HMAC_SHA1_96_AES256: i32 = 16;
    /// hmac-sha256-128-aes128.
    pub const HMAC_SHA256_128_AES128: i32 = 19;
    /// hmac-sha384-192-aes256.
    pub const HMAC_SHA384_192_AES256: i32 = 20;
    /// The GSS-API authenticator checksum (RFC 4121 §4.1.1): a structure, not a keyed checksum.
    pub const GSSAPI: i32 = 0x8003;
}

/// DK(base, constant) of RFC 3961 §5.1 with AES as E and random-to-key the identity.
fn dk(base: &[u8], constant: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut block: [u8; cts::BLOCK] = nfold(constant, cts::BLOCK).try_into().expect("n-fold to one block");
    let mut out = Zeroizing::new(Vec::with_capacity(len + cts::BLOCK));
    while out.len() < len {
        block = cts::block(Mode::Encrypt, base, &block)?;
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    Ok(out)
}

/// KDF-HMAC-SHA2(key, label, context, k) of RFC 8009 §3 (one HMAC block: k ≤ the digest size).
fn kdf_hmac_sha2(
    md: MessageDigest,
    key: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    kdf_with(&HmacKey::new(md, key)?, label, context, len)
}

/// KDF-HMAC-SHA2 with the key already set up as an HMAC key.
fn kdf_with(mac: &HmacKey, label: &[u8], context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let k = ((len * 8) as u32).to_be_bytes();
    let mut out = Zeroizing::new(mac.mac(&[&1u32.to_be_bytes(), label, &[0], context, &k])?);
    out.truncate(len);
    Ok(out)
}

/// An HMAC key (RFC 2104) with the inner and outer pads already absorbed, so each MAC costs two
/// context copies instead of a key setup.
struct HmacKey {
    inner: Hasher,
    outer: Hasher,
}

impl HmacKey {
    fn new(md: MessageDigest, key: &[u8]) -> Result<HmacKey> {
        let block = md.block_size();
        let mut k = Zeroizing::new(vec![0u8; block]);
        if key.len() > block {
            let d = openssl::hash::hash(md, key)?;
            k[..d.len()].copy_from_slice(&d);
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = Zeroizing::new(vec![0u8; block]);
        let mut inner = Hasher::new(md)?;
        pad.iter_mut().zip(k.iter()).for_each(|(p, b)| *p = b ^ 0x36);
        inner.update(&pad)?;
        let mut outer = Hasher::new(md)?;
        pad.iter_mut().zip(k.iter()).for_each(|(p, b)| *p = b ^ 0x5c);
        outer.update(&pad)?;
        Ok(HmacKey { inner, outer })
    }

    fn mac(&self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let mut h = self.inner.clone();
        for p in parts {
            h.update(p)?;
        }
        let digest = h.finish()?;
        let mut o = self.outer.clone();
        o.update(&digest)?;
        Ok(o.finish()?.to_vec())
    }
}

/// The keys derived from a base key for one key usage (RFC 3961 §5.3): Kc for checksums,
/// Ke for encryption, Ki for integrity. For known-answer tests and inspection; the hot paths use
/// the per-purpose keys each [`Key`] caches.
pub struct DerivedKeys {
    kc: Zeroizing<Vec<u8>>,
    ke: Zeroizing<Vec<u8>>,
    ki: Zeroizing<Vec<u8>>,
}

impl DerivedKeys {
    /// Kc, the checksum key.
    pub fn kc(&self) -> &[u8] {
        &self.kc
    }

    /// Ke, the encryption key.
    pub fn ke(&self) -> &[u8] {
        &self.ke
    }

    /// Ki, the integrity key.
    pub fn ki(&self) -> &[u8] {
        &self.ki
    }
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKeys(<redacted>)")
    }
}

/// The two keys encryption needs for one usage: Ke, and Ki ready as an HMAC key.
struct EncKeys {
    ke: Zeroizing<Vec<u8>>,
    ki_mac: HmacKey,
}

/// The derivation constant of RFC 3961 §5.3: the usage, big-endian, then 0x99 (Kc), 0xAA (Ke) or 0x55 (Ki).
fn usage_constant(usage: u32, kind: u8) -> [u8; 5] {
    let u = usage.to_be_bytes();
    [u[0], u[1], u[2], u[3], kind]
}

/// Looks `usage` up in a small per-key cache, making and remembering the value on a miss.
fn cached<T>(cache: &RwLock<Vec<(u32, Arc<T>)>>, usage: u32, make: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
    if let Some((_, v)) = cache.read().iter().find(|(u, _)| *u == usage) {
        return Ok(v.clone());
    }
    let v = Arc::new(make()?);
    let mut c = cache.write();
    if let Some((_, existing)) = c.iter().find(|(u, _)| *u == usage) {
        return Ok(existing.clone());
    }
    if c.len() < DERIVED_CACHE_MAX {
        c.push((usage, v.clone()));
    }
    Ok(v)
}

/// How many usages a key keeps derived keys for; past that, derivations are not cached.
const DERIVED_CACHE_MAX: usize = 16;

struct KeyInner {
    enctype: Enctype,
    bytes: Zeroizing<Vec<u8>>,
    /// Ke + Ki per usage (encryption), derived on first use.
    enc: RwLock<Vec<(u32, Arc<EncKeys>)>>,
    /// Kc per usage (checksums), derived on first use.
    cksum: RwLock<Vec<(u32, Arc<HmacKey>)>>,
    /// RFC 8009: the base key as an HMAC key, shared by every derivation from it.
    base_mac: OnceLock<HmacKey>,
}

/// A Kerberos key (an RFC 4120 EncryptionKey): enctype + key bytes.
///
/// The bytes are zeroized when the last clone is dropped and never printed (`Debug` shows only
/// the enctype). Clones share one cache of derived keys, so the hot path derives nothing twice.
#[derive(Clone)]
pub struct Key {
    inner: Arc<KeyInner>,
}

impl Key {
    /// A key from its raw bytes, which must have the enctype's length.
    pub fn new(enctype: Enctype, bytes: &[u8]) -> Result<Key> {
        if bytes.len() != enctype.key_len() {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_INVALID_ARGUMENT,
                format!("a {} key has {} bytes, not {}", enctype.name(), enctype.key_len(), bytes.len()),
            ));
        }
        Ok(Key {
            inner: Arc::new(KeyInner {
                enctype,
                bytes: Zeroizing::new(bytes.to_vec()),
                enc: RwLock::new(Vec::new()),
                cksum: RwLock::new(Vec::new()),
                base_mac: OnceLock::new(),
            }),
        })
    }

    /// A key from an enctype number and raw bytes (as found in an EncryptionKey).
    pub fn from_parts(enctype: i32, bytes: &[u8]) -> Result<Key> {
        Key::new(Enctype::from_i32(enctype)?, bytes)
    }

    /// A fresh random key (random-to-key over OpenSSL's CSPRNG).
    pub fn random(enctype: Enctype) -> Result<Key> {
        let mut b = Zeroizing::new(vec![0u8; enctype.key_len()]);
        openssl::rand::rand_bytes(&mut b)?;
        Key::new(enctype, &b)
    }

    /// string-to-key: the long-term key for `password` with `salt`; `s2kparams` as found in
    /// ETYPE-INFO2 (4-byte big-endian iteration count), `None` for the default.
    pub fn from_password(enctype: Enctype, password: &[u8], salt: &[u8], s2kparams: Option<&[u8]>) -> Result<Key> {
        let iterations = enctype.iterations_from_params(s2kparams)?;
        Key::from_password_iterations(enctype, password, salt, iterations)
    }

    /// string-to-key with an explicit iteration count (any count from 1, for known-answer tests and
    /// stored keys; counts received from a peer go through [`Key::from_password`]).
    pub fn from_password_iterations(enctype: Enctype, password: &[u8], salt: &[u8], iterations: u32) -> Result<Key> {
        if iterations == 0 || iterations >= MAX_ITERATIONS {
            return Err(Error::invalid(format!("string-to-key iteration count {iterations} is out of range")));
        }
        let len = enctype.key_len();
        let mut tkey = Zeroizing::new(vec![0u8; len]);
        let key = match enctype.family() {
            Family::Sha1 => {
                openssl::pkcs5::pbkdf2_hmac(password, salt, iterations as usize, MessageDigest::sha1(), &mut tkey)?;
                dk(&tkey, b"kerberos", len)?
            }
            Family::Sha2 => {
                let mut saltp = enctype.name().as_bytes().to_vec();
                saltp.push(0);
                saltp.extend_from_slice(salt);
                openssl::pkcs5::pbkdf2_hmac(password, &saltp, iterations as usize, enctype.digest(), &mut tkey)?;
                kdf_hmac_sha2(enctype.digest(), &tkey, b"kerberos", &[], len)?
            }
        };
        Key::new(enctype, &key)
    }

    /// The enctype.
    pub fn enctype(&self) -> Enctype {
        self.inner.enctype
    }

    /// The raw key bytes. Handle with care: copy them only into zeroizing storage.
    pub fn bytes(&self) -> &[u8] {
        &self.inner.bytes
    }

    /// Derives one key of `len` bytes for `constant` from this key.
    fn derive(&self, constant: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        let e = self.enctype();
        match e.family() {
            Family::Sha1 => dk(&self.inner.bytes, constant, len),
            Family::Sha2 => {
                let mac = match self.inner.base_mac.get() {
                    Some(m) => m,
                    None => {
                        let m = HmacKey::new(e.digest(), &self.inner.bytes)?;
                        let _ = self.inner.base_mac.set(m);
                        self.inner.base_mac.get().expect("set just above")
                    }
                };
                kdf_with(mac, constant, &[], len)
            }
        }
    }

    /// Kc, Ke and Ki for `usage` (computed afresh; for tests and inspection).
    pub fn derived(&self, usage: u32) -> Result<DerivedKeys> {
        let e = self.enctype();
        Ok(DerivedKeys {
            kc: self.derive(&usage_constant(usage, 0x99), e.ki_len())?,
            ke: self.derive(&usage_constant(usage, 0xAA), e.key_len())?,
            ki: self.derive(&usage_constant(usage, 0x55), e.ki_len())?,
        })
    }

    fn enc_keys(&self, usage: u32) -> Result<Arc<EncKeys>> {
        cached(&self.inner.enc, usage, || {
            let e = self.enctype();
            let ki = self.derive(&usage_constant(usage, 0x55), e.ki_len())?;
            Ok(EncKeys {
                ke: self.derive(&usage_constant(usage, 0xAA), e.key_len())?,
                ki_mac: HmacKey::new(e.digest(), &ki)?,
            })
        })
    }

    fn cksum_key(&self, usage: u32) -> Result<Arc<HmacKey>> {
        cached(&self.inner.cksum, usage, || {
            let e = self.enctype();
            HmacKey::new(e.digest(), &self.derive(&usage_constant(usage, 0x99), e.ki_len())?)
        })
    }

    /// Encrypts `plaintext` for `usage` with a random confounder: the `cipher` of an EncryptedData.
    pub fn encrypt(&self, usage: u32, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut conf = [0u8; cts::BLOCK];
        openssl::rand::rand_bytes(&mut conf)?;
        self.encrypt_with_confounder(usage, &conf, plaintext)
    }

    /// Encrypts with a given confounder (for known-answer tests; use [`Key::encrypt`] otherwise).
    pub fn encrypt_with_confounder(&self, usage: u32, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        if confounder.len() != cts::BLOCK {
            return Err(Error::invalid("the confounder is one AES block"));
        }
        let e = self.enctype();
        let d = self.enc_keys(usage)?;
        let mut data = Zeroizing::new(Vec::with_capacity(confounder.len() + plaintext.len()));
        data.extend_from_slice(confounder);
        data.extend_from_slice(plaintext);
        let iv = [0u8; cts::BLOCK];
        let mut out = cts::encrypt(&d.ke, &iv, &data)?;
        let mac = match e.family() {
            Family::Sha1 => d.ki_mac.mac(&[&data])?,
            Family::Sha2 => d.ki_mac.mac(&[&iv, &out])?,
        };
        out.extend_from_slice(&mac[..e.mac_len()]);
        Ok(out)
    }

    /// Decrypts and integrity-checks `ciphertext` for `usage`; returns the plaintext without the
    /// confounder. Any failure (wrong key, wrong usage, tampering, truncation) is
    /// `KRB_AP_ERR_BAD_INTEGRITY`.
    pub fn decrypt(&self, usage: u32, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let e = self.enctype();
        let h = e.mac_len();
        if ciphertext.len() < cts::BLOCK + h {
            return Err(Error::integrity(format!("ciphertext of {} bytes is too short", ciphertext.len())));
        }
        let (c, tag) = ciphertext.split_at(ciphertext.len() - h);
        let d = self.enc_keys(usage)?;
        let iv = [0u8; cts::BLOCK];
        if e.family() == Family::Sha2 {
            let mac = d.ki_mac.mac(&[&iv, c])?;
            if !openssl::memcmp::eq(&mac[..h], tag) {
                return Err(Error::integrity("ciphertext modified or wrong key"));
            }
        }
        let mut plain = Zeroizing::new(cts::decrypt(&d.ke, &iv, c)?);
        if e.family() == Family::Sha1 {
            let mac = d.ki_mac.mac(&[&plain])?;
            if !openssl::memcmp::eq(&mac[..h], tag) {
                return Err(Error::integrity("ciphertext modified or wrong key"));
            }
        }
        plain.drain(..cts::BLOCK);
        Ok(plain)
    }

    /// The keyed checksum of `data` for `usage`, of this enctype's checksum type.
    pub fn checksum(&self, usage: u32, data: &[u8]) -> Result<Vec<u8>> {
        let e = self.enctype();
        let mut mac = self.cksum_key(usage)?.mac(&[data])?;
        mac.truncate(e.mac_len());
        Ok(mac)
    }

    /// Verifies a keyed checksum of type `cksumtype` in constant time. A checksum type that
    /// does not belong to this key's enctype is `KRB_AP_ERR_INAPP_CKSUM`; a mismatch is
    /// `KRB_AP_ERR_BAD_INTEGRITY`.
    pub fn verify_checksum(&self, usage: u32, cksumtype: i32, data: &[u8], cksum: &[u8]) -> Result<()> {
        if cksumtype != self.enctype().checksum_type() {
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_INAPP_CKSUM,
                format!("checksum type {cksumtype} does not go with a {} key", self.enctype()),
            ));
        }
        let mac = self.checksum(usage, data)?;
        if mac.len() != cksum.len() || !openssl::memcmp::eq(&mac, cksum) {
            return Err(Error::integrity("checksum mismatch"));
        }
        Ok(())
    }

    /// The RFC 3961 pseudo-random function of this key over `input`.
    pub fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let e = self.enctype();
        match e.family() {
            Family::Sha1 => {
                let digest = openssl::hash::hash(MessageDigest::sha1(), input)?;
                let tmp: [u8; cts::BLOCK] = digest[..cts::BLOCK].try_into().expect("16 of 20 bytes");
                let kp = dk(self.bytes(), b"prf", e.key_len())?;
                Ok(Zeroizing::new(cts::block(Mode::Encrypt, &kp, &tmp)?.to_vec()))
            }
            Family::Sha2 => {
                let len = if e == Enctype::Aes256CtsHmacSha384192 { 48 } else { 32 };
                kdf_hmac_sha2(e.digest(), self.bytes(), b"prf", input, len)
            }
        }
    }
}

impl PartialEq for Key {
    /// Constant-time comparison of the key bytes.
    fn eq(&self, other: &Key) -> bool {
        self.enctype() == other.enctype()
            && self.bytes().len() == other.bytes().len()
            && openssl::memcmp::eq(self.bytes(), other.bytes())
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}, <redacted>)", self.enctype().name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_every_enctype() {
        for e in Enctype::ALL {
            let k = Key::random(e).unwrap();
            for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 256] {
                let p: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let c = k.encrypt(3, &p).unwrap();
                assert_eq!(c.len(), p.len() + e.overhead());
                assert_eq!(&k.decrypt(3, &c).unwrap()[..], &p[..]);
                assert_eq!(k.decrypt(4, &c).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
                for bit in [0, c.len() * 4, c.len() * 8 - 1] {
                    let mut t = c.clone();
                    t[bit / 8] ^= 1 << (bit % 8);
                    assert_eq!(k.decrypt(3, &t).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
                }
                for cut in 0..c.len().min(40) {
                    assert_eq!(k.decrypt(3, &c[..cut]).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
                }
            }
            let other = Key::random(e).unwrap();
            let c = k.encrypt(2, b"ticket").unwrap();
            assert_eq!(other.decrypt(2, &c).unwrap_err().code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
        }
    }

    #[test]
    fn checksums_verify_and_reject() {
        for e in Enctype::ALL {
            let k = Key::random(e).unwrap();
            let c = k.checksum(6, b"body").unwrap();
            assert_eq!(c.len(), e.mac_len());
            k.verify_checksum(6, e.checksum_type(), b"body", &c).unwrap();
            assert_eq!(
                k.verify_checksum(6, e.checksum_type(), b"bodY", &c).unwrap_err().code(),
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY
            );
            assert_eq!(k.verify_checksum(6, 99, b"body", &c).unwrap_err().code(), ErrorCode::KRB_AP_ERR_INAPP_CKSUM);
            assert!(k.verify_checksum(6, e.checksum_type(), b"body", &c[1..]).is_err());
        }
    }

    #[test]
    fn debug_never_shows_bytes() {
        let k = Key::new(Enctype::Aes128CtsHmacSha196, &[0xAB; 16]).unwrap();
        let s = format!("{k:?}");
        assert!(!s.to_lowercase().contains("ab"), "{s}");
        assert!(s.contains("redacted"));
    }

    #[test]
    fn wrong_lengths_and_params_are_errors() {
        assert!(Key::new(Enctype::Aes256CtsHmacSha196, &[0; 16]).is_err());
        assert!(Key::from_password(Enctype::Aes128CtsHmacSha196, b"p", b"s", Some(&[0, 0, 0, 0])).is_err());
        assert!(Key::from_password(Enctype::Aes128CtsHmacSha196, b"p", b"s", Some(&[0, 1])).is_err());
        assert_eq!(Enctype::from_i32(23).unwrap_err().code(), ErrorCode::KDC_ERR_ETYPE_NOSUPP);
    }
}
