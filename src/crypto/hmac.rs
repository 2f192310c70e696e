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
    /// The hash's input block size.
    fn block_size(self) -> usize {
        match self {
            Hash::Sha1 | Hash::Sha256 => 64,
            Hash::Sha384 => 128,
        }
    }

    /// The hash of `data` in one call.
    pub(super) fn digest(self, data: &[u8]) -> Digest {
        let mut s = State::new(self);
        s.update(data);
        s.finish()
    }
}

/// The largest digest (SHA-384).
const MAX_DIGEST: usize = 48;

/// A digest or MAC, on the stack and wiped when dropped (it may be key material: a KDF output,
/// HMAC's inner hash).
pub(super) struct Digest {
    bytes: Zeroizing<[u8; MAX_DIGEST]>,
    len: usize,
}

impl Deref for Digest {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A running hash. The `openssl::sha` structs neither wipe themselves nor can be wiped through
/// the safe API, so dropping one of these overwrites it with a fresh state (the store kept by
/// `black_box`). That is best effort: copies the compiler makes when it moves a state are out of
/// reach.
#[derive(Clone)]
enum State {
    Sha1(Sha1),
    Sha256(Sha256),
    Sha384(Sha384),
}

impl State {
    fn new(hash: Hash) -> State {
        match hash {
            Hash::Sha1 => State::Sha1(Sha1::new()),
            Hash::Sha256 => State::Sha256(Sha256::new()),
            Hash::Sha384 => State::Sha384(Sha384::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            State::Sha1(s) => s.update(data),
            State::Sha256(s) => s.update(data),
            State::Sha384(s) => s.update(data),
        }
    }

    /// The digest; the state left behind is a fresh one, which `drop` overwrites again.
    fn finish(mut self) -> Digest {
        let mut bytes = Zeroizing::new([0u8; MAX_DIGEST]);
        let len = match &mut self {
            State::Sha1(s) => put(&mut bytes[..], std::mem::take(s).finish()),
            State::Sha256(s) => put(&mut bytes[..], std::mem::take(s).finish()),
            State::Sha384(s) => put(&mut bytes[..], std::mem::take(s).finish()),
        };
        Digest { bytes, len }
    }
}

/// Copies a digest into the front of `out` and wipes the by-value copy it came in; its length.
fn put<const N: usize>(out: &mut [u8], mut d: [u8; N]) -> usize {
    out[..N].copy_from_slice(&d);
    d.zeroize();
    N
}

impl Drop for State {
    fn drop(&mut self) {
        match self {
            State::Sha1(s) => *s = Sha1::new(),
            State::Sha256(s) => *s = Sha256::new(),
            State::Sha384(s) => *s = Sha384::new(),
        }
        black_box(&*self);
    }
}

/// An HMAC key with the inner and outer pads already absorbed, so each MAC costs two state copies
/// and the hashing of the message and of the inner digest.
pub(super) struct HmacKey {
    inner: State,
    outer: State,
}

impl HmacKey {
    /// The HMAC key for `key` (hashed first when longer than the hash's block, as RFC 2104 says).
    pub(super) fn new(hash: Hash, key: &[u8]) -> HmacKey {
        let block = hash.block_size();
        let mut k = Zeroizing::new([0u8; 128]);
        if key.len() > block {
            let d = hash.digest(key);
            k[..d.len()].copy_from_slice(&d);
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = Zeroizing::new([0u8; 128]);
        let mut inner = State::new(hash);
        let mut outer = inner.clone();
        pad.iter_mut().zip(k.iter()).for_each(|(p, b)| *p = b ^ 0x36);
        inner.update(&pad[..block]);
        pad.iter_mut().zip(k.iter()).for_each(|(p, b)| *p = b ^ 0x5c);
        outer.update(&pad[..block]);
        HmacKey { inner, outer }
    }

    /// The MAC of the concatenation of `parts`.
    pub(super) fn mac(&self, parts: &[&[u8]]) -> Digest {
        let mut h = self.inner.clone();
        for p in parts {
            h.update(p);
        }
        let inner = h.finish();
        let mut o = self.outer.clone();
        o.update(&inner);
        o.finish()
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
