//! Key derivation (RFC 3961 §5.1 DK and §5.3 per-usage keys, RFC 8009 §3 KDF-HMAC-SHA2) and the
//! small per-key cache of derived keys.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use openssl::symm::Mode;
use zeroize::Zeroizing;

use super::cts::{self, AesKey};
use super::hmac::{Hash, HmacKey, MAX_DIGEST};
use super::nfold::folded_block;
use crate::error::Result;

/// DK(base, constant) of RFC 3961 §5.1 with AES as E and random-to-key the identity.
///
/// The blocks K1 = E(n-fold(constant)), K2 = E(K1), … are the CBC encryption, with a zero IV, of
/// n-fold(constant) followed by zero blocks (each block's input is the previous output XOR 0), so
/// all of them come from one CBC update, in the base key's kept context.
pub(super) fn dk(base: &AesKey, constant: &[u8], len: usize) -> Result<Secret> {
    let blocks = len.div_ceil(cts::BLOCK).max(1);
    let mut out = Secret::zeroed(len);
    if (blocks + 1) * cts::BLOCK > MAX_DIGEST {
        return Err(crate::error::Error::invalid(format!("a derived key of {len} bytes")));
    }
    out.bytes[..cts::BLOCK].copy_from_slice(&folded_block(constant));
    base.cbc_in_place(Mode::Encrypt, &[0u8; cts::BLOCK], &mut out.bytes[..], blocks * cts::BLOCK)?;
    Ok(out)
}

/// KDF-HMAC-SHA2(key, label, context, k) of RFC 8009 §3 (one HMAC block: k ≤ the digest size).
pub(super) fn kdf_hmac_sha2(hash: Hash, key: &[u8], label: &[u8], context: &[u8], len: usize) -> Secret {
    kdf_with(&HmacKey::new(hash, key), label, context, len)
}

/// KDF-HMAC-SHA2 with the key already set up as an HMAC key.
pub(super) fn kdf_with(mac: &HmacKey, label: &[u8], context: &[u8], len: usize) -> Secret {
    let k = ((len * 8) as u32).to_be_bytes();
    let mut out = mac.mac(&[&1u32.to_be_bytes(), label, &[0], context, &k]);
    // k-truncate: the bytes past `len` stay in the buffer, wiped with it.
    assert!(len <= out.len, "KDF-HMAC-SHA2 of {len} bytes from one HMAC block");
    out.len = len;
    out
}

/// A derived key or KDF output on the stack, wiped when dropped (no heap buffer per derivation):
/// HMAC's digest type, whose 48 bytes also hold DK's work blocks for a 32-byte key (two blocks
/// and the spare one).
pub(super) use super::hmac::Digest as Secret;

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

/// How many usages a key keeps derived keys for, per purpose (encryption, checksums): a key serves
/// a handful (a ticket key one, a session key three or four, a GSS context key four); past that,
/// derivations are made for each call and not kept.
pub(super) const SLOTS: usize = 6;

/// One cached derived key: its usage and the key, set once and then only read. The slots of a key
/// fill in order, so a lookup reads them until the first empty one, without a lock (one acquire
/// load per slot); the key is boxed so that a key whose usages are never used stays small.
pub(super) type Slot<T> = OnceLock<(u32, Box<T>)>;

/// A derived key from the cache, or made for this call only when the cache is full.
pub(super) enum Got<'a, T> {
    Cached(&'a T),
    Owned(Box<T>),
}

impl<T> Deref for Got<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Got::Cached(t) => t,
            Got::Owned(t) => t,
        }
    }
}

/// Looks `usage` up in a key's slots, making and remembering the value on a miss. Threads racing
/// on one usage may each make it; the first to fill a slot wins and the others use its value.
pub(super) fn cached<'a, T>(
    slots: &'a [Slot<T>],
    usage: u32,
    make: impl FnOnce() -> Result<Box<T>>,
) -> Result<Got<'a, T>> {
    let mut free = slots.len();
    for (i, s) in slots.iter().enumerate() {
        match s.get() {
            Some((u, v)) if *u == usage => return Ok(Got::Cached(v)),
            Some(_) => {}
            None => {
                free = i;
                break;
            }
        }
    }
    let mut v = make()?;
    for s in &slots[free..] {
        match s.set((usage, v)) {
            Ok(()) => return Ok(Got::Cached(&s.get().expect("just set").1)),
            Err((_, back)) => match s.get() {
                Some((u, theirs)) if *u == usage => return Ok(Got::Cached(theirs)),
                _ => v = back,
            },
        }
    }
    Ok(Got::Owned(v))
}
