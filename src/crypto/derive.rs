//! Key derivation (RFC 3961 §5.1 DK and §5.3 per-usage keys, RFC 8009 §3 KDF-HMAC-SHA2) and the
//! small per-key cache of derived keys.

use std::fmt;
use std::sync::Arc;

use openssl::symm::Mode;
use parking_lot::RwLock;
use zeroize::Zeroizing;

use super::cts::{self, AesKey};
use super::hmac::{Hash, HmacKey};
use super::nfold::folded_block;
use crate::error::Result;

/// DK(base, constant) of RFC 3961 §5.1 with AES as E and random-to-key the identity.
///
/// The blocks K1 = E(n-fold(constant)), K2 = E(K1), … are the CBC encryption, with a zero IV, of
/// n-fold(constant) followed by zero blocks (each block's input is the previous output XOR 0), so
/// all of them come from one CBC update, in the base key's kept context.
pub(super) fn dk(base: &AesKey, constant: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let blocks = len.div_ceil(cts::BLOCK).max(1);
    let mut out = Zeroizing::new(vec![0u8; (blocks + 1) * cts::BLOCK]);
    out[..cts::BLOCK].copy_from_slice(&folded_block(constant));
    base.cbc_in_place(Mode::Encrypt, &[0u8; cts::BLOCK], &mut out, blocks * cts::BLOCK)?;
    out.truncate(len);
    Ok(out)
}

/// KDF-HMAC-SHA2(key, label, context, k) of RFC 8009 §3 (one HMAC block: k ≤ the digest size).
pub(super) fn kdf_hmac_sha2(hash: Hash, key: &[u8], label: &[u8], context: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    kdf_with(&HmacKey::new(hash, key), label, context, len)
}

/// KDF-HMAC-SHA2 with the key already set up as an HMAC key.
pub(super) fn kdf_with(mac: &HmacKey, label: &[u8], context: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let k = ((len * 8) as u32).to_be_bytes();
    Zeroizing::new(mac.mac(&[&1u32.to_be_bytes(), label, &[0], context, &k])[..len].to_vec())
}

/// The keys derived from a base key for one key usage (RFC 3961 §5.3): Kc for checksums,
/// Ke for encryption, Ki for integrity. For known-answer tests and inspection; the hot paths use
/// the per-purpose keys each [`Key`](super::Key) caches.
pub struct DerivedKeys {
    pub(super) kc: Zeroizing<Vec<u8>>,
    pub(super) ke: Zeroizing<Vec<u8>>,
    pub(super) ki: Zeroizing<Vec<u8>>,
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

/// The two keys encryption needs for one usage: Ke with its kept AES contexts, and Ki ready as an
/// HMAC key.
pub(super) struct EncKeys {
    pub(super) ke: AesKey,
    pub(super) ki_mac: HmacKey,
}

/// The derivation constant of RFC 3961 §5.3: the usage, big-endian, then 0x99 (Kc), 0xAA (Ke) or 0x55 (Ki).
pub(super) fn usage_constant(usage: u32, kind: u8) -> [u8; 5] {
    let u = usage.to_be_bytes();
    [u[0], u[1], u[2], u[3], kind]
}

/// Looks `usage` up in a small per-key cache, making and remembering the value on a miss.
pub(super) fn cached<T>(
    cache: &RwLock<Vec<(u32, Arc<T>)>>,
    usage: u32,
    make: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
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
