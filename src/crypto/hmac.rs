//! HMAC (RFC 2104) over OpenSSL's low-level SHA-1/SHA-256/SHA-384, with the key's inner and outer
//! pads absorbed once.
//!
//! The low-level hash states (`openssl::sha`) are plain structs: a copy is a `memcpy`, with no
//! allocation, no provider fetch and no parameter look-ups, where an EVP digest context copy costs
//! an allocation and a provider call (about half of an EVP HMAC's instructions on the short inputs
//! Kerberos hashes). The compression functions are the same assembly either way.

use std::hint::black_box;
use std::ops::Deref;

use openssl::sha::{Sha1, Sha256, Sha384};
use zeroize::{Zeroize, Zeroizing};

/// The hash an HMAC runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Hash {
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    /// The hash of `data` in one call.
    pub(super) fn digest(self, data: &[u8]) -> Digest {
        match self {
            Hash::Sha1 => digest::<Sha1>(data),
            Hash::Sha256 => digest::<Sha256>(data),
            Hash::Sha384 => digest::<Sha384>(data),
        }
    }
}

/// The largest digest (SHA-384).
pub(super) const MAX_DIGEST: usize = 48;

/// A digest or MAC, on the stack and wiped when dropped (it may be key material: a KDF output,
/// HMAC's inner hash). Derived keys use it too (`derive::Secret`): `bytes` is the whole buffer
/// (DK's work blocks), `len` how much of it is the value.
pub(super) struct Digest {
    pub(super) bytes: Zeroizing<[u8; MAX_DIGEST]>,
    pub(super) len: usize,
}

impl Digest {
    /// `len` zero bytes (at most [`MAX_DIGEST`]).
    pub(super) fn zeroed(len: usize) -> Digest {
        Digest { bytes: Zeroizing::new([0u8; MAX_DIGEST]), len }
    }
}

impl Deref for Digest {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// One of `openssl::sha`'s hash states, used through generic code so that each hash's state is
/// copied at its own size (an enum of the three would copy SHA-384's 216 bytes for every hash).
trait Sha: Clone + Default {
    /// The hash's input block size.
    const BLOCK: usize;
    /// The digest size.
    const LEN: usize;
    fn update(&mut self, data: &[u8]);
    /// Finishes into the front of `out`; the digest's by-value copy is wiped.
    fn finish_into(self, out: &mut [u8]);
}

macro_rules! sha {
    ($t:ty, $block:expr, $len:expr) => {
        impl Sha for $t {
            const BLOCK: usize = $block;
            const LEN: usize = $len;
            #[inline(always)]
            fn update(&mut self, data: &[u8]) {
                <$t>::update(self, data)
            }
            // Inlined, so that the state is finished where it lies (not copied into an argument).
            #[inline(always)]
            fn finish_into(self, out: &mut [u8]) {
                let mut d = self.finish();
                out[..$len].copy_from_slice(&d);
                d.zeroize();
            }
        }
    };
}
sha!(Sha1, 64, 20);
sha!(Sha256, 64, 32);
sha!(Sha384, 128, 48);

fn digest<S: Sha>(data: &[u8]) -> Digest {
    let mut s = S::default();
    s.update(data);
    let mut d = Digest::zeroed(S::LEN);
    s.finish_into(&mut d.bytes[..]);
    d
}

/// An HMAC key with the inner and outer pads already absorbed, so each MAC costs two state copies
/// and the hashing of the message and of the inner digest.
///
/// The `openssl::sha` structs neither wipe themselves nor can be wiped through the safe API, so
/// dropping a key overwrites its two states with fresh ones (the stores kept by `black_box`). That
/// is best effort: copies the compiler makes when it moves a state, and the finished states of
/// each MAC (consumed by `finish`), are out of reach.
// Boxing the SHA-384 pair would add an allocation per key; a key lives in its own boxed slot.
#[allow(clippy::large_enum_variant)]
pub(super) enum HmacKey {
    Sha1(Sha1, Sha1),
    Sha256(Sha256, Sha256),
    Sha384(Sha384, Sha384),
}

impl HmacKey {
    /// The HMAC key for `key` (hashed first when longer than the hash's block, as RFC 2104 says).
    /// The states are made where they stay and the pads absorbed in place (no state is moved).
    pub(super) fn new(hash: Hash, key: &[u8]) -> HmacKey {
        let mut k = match hash {
            Hash::Sha1 => HmacKey::Sha1(Default::default(), Default::default()),
            Hash::Sha256 => HmacKey::Sha256(Default::default(), Default::default()),
            Hash::Sha384 => HmacKey::Sha384(Default::default(), Default::default()),
        };
        match &mut k {
            HmacKey::Sha1(i, o) => absorb_pads(i, o, key),
            HmacKey::Sha256(i, o) => absorb_pads(i, o, key),
            HmacKey::Sha384(i, o) => absorb_pads(i, o, key),
        }
        k
    }

    /// The MAC of the concatenation of `parts`.
    pub(super) fn mac(&self, parts: &[&[u8]]) -> Digest {
        match self {
            HmacKey::Sha1(i, o) => mac::<Sha1>(i, o, parts),
            HmacKey::Sha256(i, o) => mac::<Sha256>(i, o, parts),
            HmacKey::Sha384(i, o) => mac::<Sha384>(i, o, parts),
        }
    }
}

/// Absorbs the key's inner and outer pads into fresh states. The key block is XORed in place into
/// the inner pad, then into the outer one, and wiped: one block of key material on the stack.
fn absorb_pads<S: Sha>(inner: &mut S, outer: &mut S, key: &[u8]) {
    let mut k = [0u8; 128];
    if key.len() > S::BLOCK {
        let d = digest::<S>(key);
        k[..d.len()].copy_from_slice(&d);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let k = &mut k[..S::BLOCK];
    k.iter_mut().for_each(|b| *b ^= 0x36);
    inner.update(k);
    k.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
    outer.update(k);
    k.zeroize();
}

/// HMAC from the padded states: the inner hash of `parts`, then the outer hash of it, both
/// finished into the one output buffer.
fn mac<S: Sha>(inner: &S, outer: &S, parts: &[&[u8]]) -> Digest {
    let mut d = Digest::zeroed(S::LEN);
    let mut h = inner.clone();
    for p in parts {
        h.update(p);
    }
    h.finish_into(&mut d.bytes[..]);
    let mut o = outer.clone();
    o.update(&d.bytes[..S::LEN]);
    o.finish_into(&mut d.bytes[..]);
    d
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        match self {
            HmacKey::Sha1(i, o) => (*i, *o) = Default::default(),
            HmacKey::Sha256(i, o) => (*i, *o) = Default::default(),
            HmacKey::Sha384(i, o) => (*i, *o) = Default::default(),
        }
        black_box(&*self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 6 (a key longer than the block) and RFC 2202 test case 2, against
    /// OpenSSL's EVP HMAC as well.
    #[test]
    fn matches_the_rfcs_and_evp() {
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::sign::Signer;
        let long = [0xaau8; 131];
        let msg = b"Test Using Larger Than Block-Size Key - Hash Key First";
        let d = HmacKey::new(Hash::Sha256, &long).mac(&[&msg[..10], &msg[10..]]);
        assert_eq!(d[..8], [0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f]);
        let d = HmacKey::new(Hash::Sha1, b"Jefe").mac(&[b"what do ya want for nothing?"]);
        assert_eq!(d[..4], [0xef, 0xfc, 0xdf, 0x6a]);
        for (hash, md) in [
            (Hash::Sha1, MessageDigest::sha1()),
            (Hash::Sha256, MessageDigest::sha256()),
            (Hash::Sha384, MessageDigest::sha384()),
        ] {
            for key_len in [1usize, 16, 24, 32, 64, 65, 128, 129, 200] {
                let key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
                let data: Vec<u8> = (0..300).map(|i| (i * 7) as u8).collect();
                let pkey = PKey::hmac(&key).unwrap();
                let mut s = Signer::new(md, &pkey).unwrap();
                s.update(&data).unwrap();
                let want = s.sign_to_vec().unwrap();
                let got = HmacKey::new(hash, &key).mac(&[&data[..100], &data[100..]]);
                assert_eq!(&got[..], &want[..], "{hash:?} key of {key_len}");
            }
        }
    }
}
