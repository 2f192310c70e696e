//! AES in CBC mode with ciphertext stealing, as RFC 3962 §5 uses it (the last two blocks are
//! always swapped; the last one may be partial), built on OpenSSL's AES-CBC.
//!
//! The AES-CBC algorithms are fetched from OpenSSL's provider once per process (OpenSSL 3 would
//! otherwise fetch them again on every context initialisation), and each operation runs in one
//! cipher context: encryption is one CBC pass over the padded data, decryption one block
//! decryption and one CBC pass over the reordered ciphertext with the same key schedule.
//!
//! OpenSSL 3's own `AES-256-CBC-CTS` would need its `cts_mode` parameter set to CS3 (the default
//! is CS1, which does not swap the last two blocks when the data is whole blocks), which the
//! `openssl` crate's context does not expose; the hand-written stealing here is a copy of the last
//! two blocks around one CBC call, so there is nothing to gain in speed either.

use std::sync::OnceLock;

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
pub use openssl::symm::Mode;

use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The AES block size.
pub const BLOCK: usize = 16;

/// An AES-CBC algorithm, fetched from the default provider on first use (the built-in static
/// one, which OpenSSL fetches at every initialisation, if the fetch fails).
fn fetched(slot: &'static OnceLock<Option<Cipher>>, name: &str, builtin: &'static CipherRef) -> &'static CipherRef {
    match slot.get_or_init(|| Cipher::fetch(None, name, None).ok()) {
        Some(c) => c,
        None => builtin,
    }
}

fn cbc_cipher(key: &[u8]) -> Result<&'static CipherRef> {
    static AES128: OnceLock<Option<Cipher>> = OnceLock::new();
    static AES256: OnceLock<Option<Cipher>> = OnceLock::new();
    match key.len() {
        16 => Ok(fetched(&AES128, "AES-128-CBC", Cipher::aes_128_cbc())),
        32 => Ok(fetched(&AES256, "AES-256-CBC", Cipher::aes_256_cbc())),
        n => Err(Error::invalid(format!("AES key of {n} bytes"))),
    }
}

/// A CBC context for `key` and `iv`, for whole blocks. Only decryption turns padding off (with
/// it on, an update holds the last block back for `final`); encryption never calls `final`, and
/// an update writes every whole block either way, so it skips the call (a parameter round trip
/// through the provider in OpenSSL 3).
fn cbc_ctx(mode: Mode, key: &[u8], iv: &[u8; BLOCK]) -> Result<CipherCtx> {
    let mut c = CipherCtx::new()?;
    match mode {
        Mode::Encrypt => c.encrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?,
        Mode::Decrypt => {
            c.decrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?;
            c.set_padding(false);
        }
    }
    Ok(c)
}

/// CBC over whole blocks in `c`, into `out`, which has one spare block of room beyond
/// `data.len()` (the `openssl` crate asks for it; without padding nothing is written there).
fn cbc_update(c: &mut CipherCtx, data: &[u8], out: &mut [u8]) -> Result<()> {
    debug_assert_eq!(data.len() % BLOCK, 0);
    debug_assert_eq!(data.len() + BLOCK, out.len());
    let n = c.cipher_update(data, Some(out))?;
    debug_assert_eq!(n, data.len());
    Ok(())
}

/// Plain CBC over whole blocks, no padding. The output is zeroized when dropped: for decryption
/// it is plaintext.
pub(crate) fn cbc(mode: Mode, key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut c = cbc_ctx(mode, key, iv)?;
    let mut out = Zeroizing::new(vec![0u8; data.len() + BLOCK]);
    cbc_update(&mut c, data, &mut out)?;
    out.truncate(data.len());
    Ok(out)
}

/// One raw AES block operation (ECB on a single block).
pub fn block(mode: Mode, key: &[u8], input: &[u8; BLOCK]) -> Result<[u8; BLOCK]> {
    let mut c = cbc_ctx(mode, key, &[0u8; BLOCK])?;
    let mut b = Zeroizing::new([0u8; 2 * BLOCK]);
    cbc_update(&mut c, input, &mut b[..])?;
    Ok(b[..BLOCK].try_into().expect("one block"))
}

/// CTS-encrypts `data` (at least one block) with `iv`.
pub fn encrypt(key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    let n = data.len();
    if n < BLOCK {
        return Err(Error::invalid("AES-CTS input shorter than one block"));
    }
    if n == BLOCK {
        return Ok(cbc(Mode::Encrypt, key, iv, data)?.to_vec());
    }
    let blocks = n.div_ceil(BLOCK);
    // The padded copy is plaintext (keys, often): zeroized when dropped, sized once.
    let mut padded = Zeroizing::new(Vec::with_capacity(blocks * BLOCK));
    padded.extend_from_slice(data);
    padded.resize(blocks * BLOCK, 0);
    // CBC in place of the padded copy: ciphertext from here on.
    let mut c = cbc_ctx(Mode::Encrypt, key, iv)?;
    let mut out = vec![0u8; (blocks + 1) * BLOCK];
    cbc_update(&mut c, &padded, &mut out)?;
    out.truncate(blocks * BLOCK);
    // Swap the last two blocks and cut the (new) last one to the tail's length.
    let (head, last) = out.split_at_mut((blocks - 1) * BLOCK);
    let prev = &mut head[(blocks - 2) * BLOCK..];
    prev.swap_with_slice(last);
    out.truncate(n);
    Ok(out)
}

/// CTS-decrypts `data` (at least one block) with `iv`.
///
/// The plaintext is built in one buffer of its final size, and every intermediate copy is
/// zeroized, so the only plaintext left is the returned `Vec` (which the caller should hold in
/// zeroizing storage, as [`crate::Key::decrypt`] does).
pub fn decrypt(key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    let n = data.len();
    if n < BLOCK {
        return Err(Error::integrity("ciphertext shorter than one AES block"));
    }
    if n == BLOCK {
        let mut c = cbc_ctx(Mode::Decrypt, key, iv)?;
        let mut out = vec![0u8; 2 * BLOCK];
        cbc_update(&mut c, data, &mut out)?;
        out.truncate(BLOCK);
        return Ok(out);
    }
    let blocks = n.div_ceil(BLOCK);
    let tail = n - (blocks - 1) * BLOCK;
    let head_len = (blocks - 2) * BLOCK;
    // The full block at position blocks-2 is the encryption of the padded last plaintext block
    // (E_n): decrypted with a zero IV it is P_n (zero-padded) XOR E_{n-1}, so its bytes past the
    // tail are the stolen bytes of E_{n-1}.
    let mut c = cbc_ctx(Mode::Decrypt, key, &[0u8; BLOCK])?;
    let mut d = Zeroizing::new([0u8; 2 * BLOCK]);
    cbc_update(&mut c, &data[head_len..head_len + BLOCK], &mut d[..])?;
    // The CBC ciphertext as encryption made it: E_1..E_{n-2}, E_{n-1} (tail bytes + stolen
    // bytes), E_n; decrypted in one pass with the caller's IV (the same key schedule).
    let mut cbc_in = Vec::with_capacity(blocks * BLOCK);
    cbc_in.extend_from_slice(&data[..head_len]);
    cbc_in.extend_from_slice(&data[head_len + BLOCK..]);
    cbc_in.extend_from_slice(&d[tail..BLOCK]);
    cbc_in.extend_from_slice(&data[head_len..head_len + BLOCK]);
    d.zeroize();
    c.decrypt_init(None, None, Some(iv))?;
    let mut out = vec![0u8; (blocks + 1) * BLOCK];
    cbc_update(&mut c, &cbc_in, &mut out)?;
    // What follows the plaintext (the padding block's rest and the spare block) is wiped; the
    // buffer is only truncated: no reallocation that would leave a copy of the plaintext behind.
    out[n..].zeroize();
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let key = [7u8; 32];
        let iv = [0u8; BLOCK];
        for len in 16..100 {
            let p: Vec<u8> = (0..len as u8).collect();
            let c = encrypt(&key, &iv, &p).unwrap();
            assert_eq!(c.len(), p.len());
            assert_eq!(decrypt(&key, &iv, &c).unwrap(), p, "len {len}");
        }
        assert!(encrypt(&key, &iv, &[0u8; 15]).is_err());
        // Decryption builds the plaintext in one buffer: no reallocation (which would leave a copy).
        for len in [16usize, 17, 31, 32, 40, 47, 48, 100] {
            let p = vec![3u8; len];
            let d = decrypt(&key, &iv, &encrypt(&key, &iv, &p).unwrap()).unwrap();
            assert_eq!(d.len(), len, "len {len}");
            assert!(d.capacity() <= (len.div_ceil(BLOCK) + 1) * BLOCK, "len {len}");
        }
        assert!(decrypt(&key, &iv, &[0u8; 15]).is_err());
    }

    #[test]
    fn block_is_one_aes_block_both_ways() {
        // FIPS-197 C.3 (AES-256).
        let key: Vec<u8> = (0u8..32).collect();
        let p: [u8; BLOCK] = core::array::from_fn(|i| (i as u8) * 0x11);
        let c = block(Mode::Encrypt, &key, &p).unwrap();
        assert_eq!(c[..4], [0x8e, 0xa2, 0xb7, 0xca]);
        assert_eq!(block(Mode::Decrypt, &key, &c).unwrap(), p);
    }
}
