//! The Kerberos crypto framework (RFC 3961) on OpenSSL, with the AES enctypes of RFC 3962
//! (17, 18) and RFC 8009 (19, 20).
//!
//! Everything a protocol layer needs is on [`Key`]: `encrypt`/`decrypt` (confounder + integrity,
//! per key usage), `checksum`/`verify_checksum`, `prf`, and string-to-key. The keys derived per
//! usage (Kc, Ke, Ki) are computed on first use, as far as each operation needs them, and
//! cached inside the key.
//!
//! The files: `enctype.rs` (the enctype profiles and checksum type numbers), `derive.rs` (key
//! derivation and the per-key cache of derived keys), `hmac.rs` (HMAC with precomputed pads),
//! `cts.rs` (AES-CTS, and AES keys with their OpenSSL contexts kept), `nfold.rs`, `usage.rs` (key
//! usage numbers); this one holds [`Key`].

pub mod cts;
mod derive;
mod enctype;
mod hmac;
mod nfold;
pub mod usage;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use openssl::symm::Mode;
use zeroize::{Zeroize, Zeroizing};

pub use nfold::nfold;

use crate::error::{Error, ErrorCode, Result};

use self::cts::AesKey;
pub use self::derive::DerivedKeys;
use self::derive::{cached, dk, kdf_hmac_sha2, kdf_with, usage_constant, EncKeys, Got, Secret, Slot, SLOTS};
use self::enctype::Family;
pub use self::enctype::{checksum_type, Enctype, MAX_ITERATIONS};
use self::hmac::HmacKey;

/// The longest key of a supported enctype (AES-256).
const MAX_KEY: usize = 32;

struct KeyInner {
    enctype: Enctype,
    /// The key: its first `enctype.key_len()` bytes.
    bytes: Zeroizing<[u8; MAX_KEY]>,
    /// The base key set up for derivations (and prf), on first use: its AES contexts (RFC 3962)
    /// or its HMAC pads (RFC 8009).
    base: OnceLock<Base>,
    /// Ke + Ki per usage (encryption), derived on first use.
    enc: [Slot<EncKeys>; SLOTS],
    /// Kc per usage (checksums), derived on first use.
    cksum: [Slot<HmacKey>; SLOTS],
}

/// A base key ready for derivations, shared by every derivation from it.
enum Base {
    /// RFC 3962: the key with its kept AES contexts (DK).
    Aes(AesKey),
    /// RFC 8009: the key as an HMAC key (KDF-HMAC-SHA2).
    Mac(HmacKey),
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
        let mut inner = Arc::new(KeyInner {
            enctype,
            bytes: Zeroizing::new([0; MAX_KEY]),
            base: OnceLock::new(),
            enc: Default::default(),
            cksum: Default::default(),
        });
        // Copied into place, not moved in: a moved array would leave a copy of the key behind.
        Arc::get_mut(&mut inner).expect("just made").bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(Key { inner })
    }

    /// A key from an enctype number and raw bytes (as found in an EncryptionKey).
    pub fn from_parts(enctype: i32, bytes: &[u8]) -> Result<Key> {
        Key::new(Enctype::from_i32(enctype)?, bytes)
    }

    /// A fresh random key (random-to-key over OpenSSL's CSPRNG).
    pub fn random(enctype: Enctype) -> Result<Key> {
        let mut b = Zeroizing::new([0u8; MAX_KEY]);
        let b = &mut b[..enctype.key_len()];
        random_bytes(b)?;
        Key::new(enctype, b)
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
                openssl::pkcs5::pbkdf2_hmac(
                    password,
                    salt,
                    iterations as usize,
                    Enctype::Aes128CtsHmacSha196.digest(),
                    &mut tkey,
                )?;
                dk(&AesKey::new(&tkey), b"kerberos", len)?
            }
            Family::Sha2 => {
                let mut saltp = enctype.name().as_bytes().to_vec();
                saltp.push(0);
                saltp.extend_from_slice(salt);
                openssl::pkcs5::pbkdf2_hmac(password, &saltp, iterations as usize, enctype.digest(), &mut tkey)?;
                kdf_hmac_sha2(enctype.hash(), &tkey, b"kerberos", &[], len)
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
        &self.inner.bytes[..self.inner.enctype.key_len()]
    }

    /// The base key set up for this enctype's derivations, on first use.
    fn base(&self) -> &Base {
        self.inner.base.get_or_init(|| match self.enctype().family() {
            Family::Sha1 => Base::Aes(AesKey::new(self.bytes())),
            Family::Sha2 => Base::Mac(HmacKey::new(self.enctype().hash(), self.bytes())),
        })
    }

    /// Derives one key of `len` bytes for `constant` from this key.
    fn derive(&self, constant: &[u8], len: usize) -> Result<Secret> {
        match self.base() {
            Base::Aes(aes) => dk(aes, constant, len),
            Base::Mac(mac) => Ok(kdf_with(mac, constant, &[], len)),
        }
    }

    /// Kc, Ke and Ki for `usage` (computed afresh; for tests and inspection).
    pub fn derived(&self, usage: u32) -> Result<DerivedKeys> {
        let e = self.enctype();
        let v = |s: Secret| Zeroizing::new(s.to_vec());
        Ok(DerivedKeys {
            kc: v(self.derive(&usage_constant(usage, 0x99), e.ki_len())?),
            ke: v(self.derive(&usage_constant(usage, 0xAA), e.key_len())?),
            ki: v(self.derive(&usage_constant(usage, 0x55), e.ki_len())?),
        })
    }

    fn enc_keys(&self, usage: u32) -> Result<Got<'_, EncKeys>> {
        cached(&self.inner.enc, usage, || {
            let e = self.enctype();
            let ki = self.derive(&usage_constant(usage, 0x55), e.ki_len())?;
            let ke = self.derive(&usage_constant(usage, 0xAA), e.key_len())?;
            // Boxed here, so that the keys are built in place rather than moved into the box.
            Ok(Box::new(EncKeys { ke: AesKey::new(&ke), ki_mac: HmacKey::new(e.hash(), &ki) }))
        })
    }

    fn cksum_key(&self, usage: u32) -> Result<Got<'_, HmacKey>> {
        cached(&self.inner.cksum, usage, || {
            let e = self.enctype();
            Ok(Box::new(HmacKey::new(e.hash(), &self.derive(&usage_constant(usage, 0x99), e.ki_len())?)))
        })
    }

    /// Encrypts `plaintext` for `usage` with a random confounder: the `cipher` of an EncryptedData.
    pub fn encrypt(&self, usage: u32, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut conf = Zeroizing::new([0u8; cts::BLOCK]);
        random_bytes(&mut conf[..])?;
        self.encrypt_with_confounder(usage, &conf[..], plaintext)
    }

    /// Encrypts with a given confounder (for known-answer tests; use [`Key::encrypt`] otherwise).
    pub fn encrypt_with_confounder(&self, usage: u32, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        if confounder.len() != cts::BLOCK {
            return Err(Error::invalid("the confounder is one AES block"));
        }
        let e = self.enctype();
        let d = self.enc_keys(usage)?;
        let iv = [0u8; cts::BLOCK];
        // RFC 3962 MACs the plaintext: before it is encrypted in place.
        let plain_mac = (e.family() == Family::Sha1).then(|| d.ki_mac.mac(&[confounder, plaintext]));
        // One buffer, sized once for the CTS padding and for the tag: plaintext, then
        // ciphertext in place, then the tag appended.
        let n = confounder.len() + plaintext.len();
        let mut out = Vec::with_capacity(((n.div_ceil(cts::BLOCK) + 1) * cts::BLOCK).max(n + e.mac_len()));
        out.extend_from_slice(confounder);
        out.extend_from_slice(plaintext);
        d.ke.encrypt_in_place(&iv, &mut out)?;
        let mac = match plain_mac {
            Some(m) => m,
            None => d.ki_mac.mac(&[&iv, &out]),
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
            let mac = d.ki_mac.mac(&[&iv, c]);
            if !openssl::memcmp::eq(&mac[..h], tag) {
                return Err(Error::integrity("ciphertext modified or wrong key"));
            }
            if c.len() > 2 * cts::BLOCK {
                // The MAC covers the ciphertext, so the confounder is not needed: the blocks after
                // the first are the CTS encryption of the plaintext with the first as IV (the
                // stealing only involves the last two), decrypted straight into the result.
                let (first, rest) = c.split_at(cts::BLOCK);
                return d.ke.decrypt(first.try_into().expect("one block"), rest);
            }
        }
        let mut plain = d.ke.decrypt(&iv, c)?;
        if e.family() == Family::Sha1 {
            let mac = d.ki_mac.mac(&[&plain]);
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
        Ok(self.cksum_key(usage)?.mac(&[data])[..e.mac_len()].to_vec())
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
        let mac = self.cksum_key(usage)?.mac(&[data]);
        let mac = &mac[..self.enctype().mac_len()];
        if mac.len() != cksum.len() || !openssl::memcmp::eq(mac, cksum) {
            return Err(Error::integrity("checksum mismatch"));
        }
        Ok(())
    }

    /// The RFC 3961 pseudo-random function of this key over `input`.
    pub fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let e = self.enctype();
        match e.family() {
            Family::Sha1 => {
                let digest = e.hash().digest(input);
                let tmp: [u8; cts::BLOCK] = digest[..cts::BLOCK].try_into().expect("16 of 20 bytes");
                let kp = self.derive(b"prf", e.key_len())?;
                Ok(Zeroizing::new(AesKey::new(&kp).block(Mode::Encrypt, &tmp)?.to_vec()))
            }
            Family::Sha2 => {
                let len = if e == Enctype::Aes256CtsHmacSha384192 { 48 } else { 32 };
                let out = match self.base() {
                    Base::Mac(mac) => kdf_with(mac, b"prf", input, len),
                    Base::Aes(_) => kdf_hmac_sha2(e.hash(), self.bytes(), b"prf", input, len),
                };
                Ok(Zeroizing::new(out.to_vec()))
            }
        }
    }
}

/// How many random bytes a thread draws from OpenSSL at a time for [`random_bytes`]: a TGS
/// exchange takes 64 (a session key, two confounders), so one refill serves 32 of them (at 512
/// bytes, 8: a refill every 8 was ~650 instructions per TGS; 4096 would save only ~40 more).
const RANDOM_POOL: usize = 2048;

/// A thread's supply of CSPRNG output for [`random_bytes`]: bytes handed out are wiped from it,
/// the rest is wiped when the thread ends (`Zeroizing`).
struct RandomPool {
    bytes: Zeroizing<[u8; RANDOM_POOL]>,
    /// Bytes of `bytes` already handed out (and wiped).
    used: usize,
    /// The process the bytes were drawn in ([`process_generation`]): a forked child draws its own,
    /// never its parent's.
    generation: u64,
}

thread_local! {
    /// This thread's [`RandomPool`] (empty until the first draw).
    static POOL: std::cell::RefCell<RandomPool> =
        std::cell::RefCell::new(RandomPool { bytes: Zeroizing::new([0; RANDOM_POOL]), used: RANDOM_POOL, generation: 0 });
}

/// Forks this process has gone through: one more in each child, from a `pthread_atfork` handler.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// The `pthread_atfork` child handler: runs in the child, in `fork`, before `fork` returns there.
extern "C" fn count_fork() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Registers [`count_fork`] with `pthread_atfork`, once per process; false if that failed.
///
/// The crate's one `unsafe` block. Sound because `pthread_atfork` only stores the function
/// pointers it is given (no pointer of ours is dereferenced), the handler is a plain `extern "C"`
/// function with no captured state that cannot unwind (an atomic add), and an atomic add is
/// async-signal-safe, as a handler in the child of a multithreaded process must be. A handler
/// registered in a parent stays registered in its children (POSIX), so grandchildren count too.
/// The registration is never undone by us; if ktix is a shared library that gets unloaded, glibc
/// drops the handler with it (its `pthread_atfork` is linked into the caller and registers under
/// the caller's `__dso_handle`, which `dlclose` unregisters), so no handler outlives its code.
#[allow(unsafe_code)]
fn watch_forks() -> bool {
    static WATCHING: OnceLock<bool> = OnceLock::new();
    // SAFETY: see above.
    *WATCHING.get_or_init(|| unsafe { libc::pthread_atfork(None, None, Some(count_fork)) } == 0)
}

/// Which process the calling thread runs in, as far as handing out random bytes goes: the fork
/// count since the first call (no system call), or the process id if the fork handler could not
/// be registered (a `getpid` system call: about 1-3 % of a TGS exchange).
fn process_generation() -> u64 {
    if watch_forks() {
        // Above any process id, so that the two kinds of value never meet.
        (1 << 32) + FORKS.load(Ordering::Relaxed)
    } else {
        u64::from(std::process::id())
    }
}

/// Fills `out` from OpenSSL's CSPRNG (the DRBG `RAND_bytes` serves) for session keys and
/// confounders. Each `RAND_bytes` call has a fixed cost well above that of the bytes (its DRBG
/// re-keys after every call: ~6,700 instructions for 16 or 32 bytes), so a thread draws
/// [`RANDOM_POOL`] bytes at once and hands them out in order, wiping each byte it hands out; a
/// request larger than half the pool goes to OpenSSL directly. The pool is per thread and per
/// process (refilled when [`process_generation`] changes, so a forked child never repeats its
/// parent's bytes).
pub(crate) fn random_bytes(out: &mut [u8]) -> Result<()> {
    if out.len() > RANDOM_POOL / 2 {
        openssl::rand::rand_bytes(out)?;
        return Ok(());
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let generation = process_generation();
        if pool.used + out.len() > RANDOM_POOL || pool.generation != generation {
            openssl::rand::rand_bytes(&mut pool.bytes[..])?;
            pool.used = 0;
            pool.generation = generation;
        }
        let start = pool.used;
        let taken = &mut pool.bytes[start..start + out.len()];
        out.copy_from_slice(taken);
        taken.zeroize();
        pool.used += out.len();
        Ok(())
    })
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
    fn random_bytes_never_repeat_and_are_wiped_from_the_pool() {
        let mut seen = std::collections::HashSet::new();
        // Several refills of the pool, in sizes that do not divide it, and one past its half.
        for len in [16usize, 32, 24, 7, 16, RANDOM_POOL / 2 + 1].iter().cycle().take(600) {
            let mut b = vec![0u8; *len];
            random_bytes(&mut b).unwrap();
            assert!(seen.insert(b), "a repeated draw of {len} bytes");
        }
        // What was handed out is zero in the pool; what was not yet is not all zero.
        let mut b = [0u8; 32];
        random_bytes(&mut b).unwrap();
        POOL.with(|pool| {
            let pool = pool.borrow();
            assert!(pool.used >= 32 && pool.used < RANDOM_POOL);
            assert!(pool.bytes[..pool.used].iter().all(|&x| x == 0));
            assert!(pool.bytes[pool.used..].iter().any(|&x| x != 0));
        });
    }

    /// The derived-key slots: more usages than slots (the rest made per call), used from several
    /// threads at once, give what a fresh key gives; each usage is kept once.
    #[test]
    fn derived_keys_beyond_the_slots_and_from_several_threads() {
        let n = 2 * SLOTS as u32 + 3;
        for e in Enctype::ALL {
            let k = Key::random(e).unwrap();
            std::thread::scope(|s| {
                for t in 0..3u32 {
                    let k = &k;
                    s.spawn(move || {
                        for usage in (0..n).map(|u| (u * 7 + t) % n) {
                            let fresh = Key::new(e, k.bytes()).unwrap();
                            let c = k.encrypt(usage, b"data").unwrap();
                            assert_eq!(&fresh.decrypt(usage, &c).unwrap()[..], b"data");
                            let c = fresh.encrypt(usage, b"more data").unwrap();
                            assert_eq!(&k.decrypt(usage, &c).unwrap()[..], b"more data");
                            let m = k.checksum(usage, b"x").unwrap();
                            assert_eq!(m, fresh.checksum(usage, b"x").unwrap());
                        }
                    });
                }
            });
            for usages in [
                k.inner.enc.iter().filter_map(|s| s.get().map(|(u, _)| *u)).collect::<Vec<_>>(),
                k.inner.cksum.iter().filter_map(|s| s.get().map(|(u, _)| *u)).collect(),
            ] {
                let mut unique = usages.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!((usages.len(), unique.len()), (SLOTS, SLOTS), "{usages:?}");
            }
        }
    }

    /// What the fork handler does in a child (one more fork) makes the next draw refill the pool:
    /// the bytes the parent would have handed out next are not handed out.
    #[test]
    fn a_fork_refills_the_random_pool() {
        assert!(watch_forks(), "pthread_atfork registration");
        let mut b = [0u8; 16];
        count_fork();
        random_bytes(&mut b).unwrap();
        let next: [u8; 16] = POOL.with(|p| p.borrow().bytes[16..32].try_into().unwrap());
        let before = process_generation();
        count_fork();
        assert_ne!(process_generation(), before);
        random_bytes(&mut b).unwrap();
        assert_ne!(b, next);
        POOL.with(|p| assert_eq!(p.borrow().used, 16, "refilled"));
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
