//! AES in CBC mode with ciphertext stealing, as RFC 3962 §5 uses it (the last two blocks are
//! always swapped; the last one may be partial), built on OpenSSL's AES block operations.

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
pub use openssl::symm::Mode;

use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The AES block size.
pub const BLOCK: usize = 16;

fn cbc_cipher(key: &[u8]) -> Result<&'static CipherRef> {
    match key.len() {
        16 => Ok(Cipher::aes_128_cbc()),
        32 => Ok(Cipher::aes_256_cbc()),
        n => Err(Error::invalid(format!("AES key of {n} bytes"))),
    }
}

/// Plain CBC over whole blocks, no padding. OpenSSL wants one spare block of output room. The
/// output is zeroized when dropped: for decryption it is plaintext.
fn cbc(mode: Mode, key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    debug_assert_eq!(data.len() % BLOCK, 0);
    let mut c = CipherCtx::new()?;
    match mode {
        Mode::Encrypt => c.encrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?,
        Mode::Decrypt => c.decrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?,
    }
    c.set_padding(false);
    let mut out = Zeroizing::new(vec![0u8; data.len() + BLOCK]);
    let n = c.cipher_update(data, Some(&mut out))?;
    out.truncate(n);
    Ok(out)
}

/// One raw AES block operation (ECB on a single block).
pub fn block(mode: Mode, key: &[u8], input: &[u8; BLOCK]) -> Result<[u8; BLOCK]> {
    let out = cbc(mode, key, &[0u8; BLOCK], input)?;
    let mut b = [0u8; BLOCK];
    b.copy_from_slice(&out[..BLOCK]);
    Ok(b)
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
    let c = cbc(Mode::Encrypt, key, iv, &padded)?;
    let tail = n - (blocks - 1) * BLOCK; // bytes in the last (partial or full) block
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(&c[..(blocks - 2) * BLOCK]);
    out.extend_from_slice(&c[(blocks - 1) * BLOCK..]); // last CBC block moves up
    out.extend_from_slice(&c[(blocks - 2) * BLOCK..(blocks - 2) * BLOCK + tail]);
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
    let mut out = Vec::with_capacity(n);
    if n == BLOCK {
        out.extend_from_slice(&cbc(Mode::Decrypt, key, iv, data)?);
        return Ok(out);
    }
    let blocks = n.div_ceil(BLOCK);
    let tail = n - (blocks - 1) * BLOCK;
    let head_len = (blocks - 2) * BLOCK;
    out.extend_from_slice(&cbc(Mode::Decrypt, key, iv, &data[..head_len])?);
    let mut prev = [0u8; BLOCK];
    prev.copy_from_slice(if head_len == 0 { iv } else { &data[head_len - BLOCK..head_len] });
    // The full block at position blocks-2 is the encryption of the padded last plaintext block.
    let mut en = [0u8; BLOCK];
    en.copy_from_slice(&data[head_len..head_len + BLOCK]);
    let mut d = Zeroizing::new(block(Mode::Decrypt, key, &en)?);
    let tail_c = &data[head_len + BLOCK..];
    // Reconstruct the original second-to-last ciphertext block: tail bytes + stolen bytes of d.
    let mut c_prev = Zeroizing::new(*d);
    c_prev[..tail].copy_from_slice(tail_c);
    let p_prev = Zeroizing::new(block(Mode::Decrypt, key, &c_prev)?);
    out.extend(p_prev.iter().zip(prev.iter()).map(|(a, b)| a ^ b));
    out.extend(d[..tail].iter().zip(tail_c.iter()).map(|(a, b)| a ^ b));
    d.zeroize();
    debug_assert_eq!(out.len(), n);
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
        // Decryption builds the plaintext in place: no reallocation (which would leave a copy).
        for len in [16usize, 17, 31, 32, 40, 47, 48, 100] {
            let p = vec![3u8; len];
            let d = decrypt(&key, &iv, &encrypt(&key, &iv, &p).unwrap()).unwrap();
            assert_eq!(d.capacity(), len, "len {len}");
        }
        assert!(decrypt(&key, &iv, &[0u8; 15]).is_err());
    }
}
