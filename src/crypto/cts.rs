//! AES in CBC mode with ciphertext stealing, as RFC 3962 §5 uses it (the last two blocks are
//! always swapped; the last one may be partial), built on OpenSSL's AES block operations.

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
pub use openssl::symm::Mode;

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

/// Plain CBC over whole blocks, no padding. OpenSSL wants one spare block of output room.
fn cbc(mode: Mode, key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    debug_assert_eq!(data.len() % BLOCK, 0);
    let mut c = CipherCtx::new()?;
    match mode {
        Mode::Encrypt => c.encrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?,
        Mode::Decrypt => c.decrypt_init(Some(cbc_cipher(key)?), Some(key), Some(iv))?,
    }
    c.set_padding(false);
    let mut out = vec![0u8; data.len() + BLOCK];
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
        return cbc(Mode::Encrypt, key, iv, data);
    }
    let blocks = n.div_ceil(BLOCK);
    let mut padded = data.to_vec();
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
pub fn decrypt(key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    let n = data.len();
    if n < BLOCK {
        return Err(Error::integrity("ciphertext shorter than one AES block"));
    }
    if n == BLOCK {
        return cbc(Mode::Decrypt, key, iv, data);
    }
    let blocks = n.div_ceil(BLOCK);
    let tail = n - (blocks - 1) * BLOCK;
    let head_len = (blocks - 2) * BLOCK;
    let mut out = cbc(Mode::Decrypt, key, iv, &data[..head_len])?;
    let prev: [u8; BLOCK] =
        if head_len == 0 { *iv } else { data[head_len - BLOCK..head_len].try_into().expect("one block") };
    // The full block at position blocks-2 is the encryption of the padded last plaintext block.
    let en: [u8; BLOCK] = data[head_len..head_len + BLOCK].try_into().expect("one block");
    let d = block(Mode::Decrypt, key, &en)?;
    let tail_c = &data[head_len + BLOCK..];
    // Reconstruct the original second-to-last ciphertext block: tail bytes + stolen bytes of d.
    let mut c_prev = d;
    c_prev[..tail].copy_from_slice(tail_c);
    let p_prev = block(Mode::Decrypt, key, &c_prev)?;
    out.extend(p_prev.iter().zip(prev.iter()).map(|(a, b)| a ^ b));
    out.extend(d[..tail].iter().zip(tail_c.iter()).map(|(a, b)| a ^ b));
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
        assert!(decrypt(&key, &iv, &[0u8; 15]).is_err());
    }
}
