//! AES in CBC mode with ciphertext stealing, as RFC 3962 §5 uses it (the last two blocks are
//! always swapped; the last one may be partial), built on OpenSSL's AES-CBC.
//!
//! The AES-CBC algorithms are fetched from OpenSSL's provider once per process (OpenSSL 3 would
//! otherwise fetch them again on every context initialisation), and an `AesKey` keeps its keyed
//! contexts for reuse: encryption is one CBC update over the padded data, in place, decryption
//! one block decryption and one CBC update over the reordered ciphertext.
//!
//! OpenSSL 3's own `AES-256-CBC-CTS` would need its `cts_mode` parameter set to CS3 (the default
//! is CS1, which does not swap the last two blocks when the data is whole blocks), which the
//! `openssl` crate's context does not expose; the hand-written stealing here is a copy of the last
//! two blocks around one CBC call, so there is nothing to gain in speed either.

use std::sync::OnceLock;

use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
pub use openssl::symm::Mode;
use parking_lot::Mutex;

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

/// How many keyed contexts an [`AesKey`] keeps per direction (about one per thread using the key at
/// once); contexts beyond that are freed after use.
const POOL_MAX: usize = 8;

/// An AES key for CBC and CBC-CTS, with keyed OpenSSL contexts kept for reuse.
///
/// Keying a context (`EVP_EncryptInit_ex` with a key: allocation, provider call, key schedule)
/// costs about 2,700 instructions, setting a new IV on a keyed one still about 900 (parameter
/// look-ups), an update of a few blocks about 400. So a context is keyed once, and the IV of each
/// operation is applied by hand: the context carries the chaining value of its last operation
/// (`Chained::chain`), and XORing `chain ^ iv` into the first block (before encryption, after
/// decryption) gives CBC with `iv`. The contexts hold the key schedule: they live in the key and
/// are freed with it (OpenSSL wipes a context's key schedule when freeing it). The key bytes are
/// held inline (no heap buffer per key) and wiped on drop; copies the compiler makes when it moves
/// the struct are out of reach (best effort, as for the HMAC states).
pub(crate) struct AesKey {
    key: Zeroizing<[u8; 32]>,
    len: usize,
    enc: Mutex<Kept>,
    dec: Mutex<Kept>,
}

/// The keyed contexts an [`AesKey`] keeps for one direction: a fixed stack, no heap of its own.
#[derive(Default)]
struct Kept {
    ctxs: [Option<Chained>; POOL_MAX],
    n: usize,
}

impl Kept {
    fn pop(&mut self) -> Option<Chained> {
        self.n = self.n.checked_sub(1)?;
        self.ctxs[self.n].take()
    }

    /// Keeps `c` if there is room (it is freed otherwise).
    fn push(&mut self, c: Chained) {
        if self.n < POOL_MAX {
            self.ctxs[self.n] = Some(c);
            self.n += 1;
        }
    }
}

/// A keyed CBC context and the chaining value it will use next: the last ciphertext block it
/// produced (encryption) or read (decryption), zero when fresh.
struct Chained {
    ctx: CipherCtx,
    chain: [u8; BLOCK],
}

impl Chained {
    /// A context keyed for `mode`. Only decryption turns padding off (with it on, an update
    /// holds the last block back for `final`); encryption never calls `final`, and an update
    /// writes every whole block either way. No IV is given: OpenSSL 3.0 looks the IV length up
    /// through the provider's parameters when one is (about 500 instructions, a sixth of the
    /// set-up), and a fresh provider context is zero-allocated, so its IV is the zero block the
    /// `chain` starts from (the RFC 3962 vectors and `kept_contexts_match_fresh_ones` check it).
    fn new(mode: Mode, key: &[u8]) -> Result<Chained> {
        let cipher = cbc_cipher(key)?;
        let mut ctx = CipherCtx::new()?;
        let zero = [0u8; BLOCK];
        match mode {
            Mode::Encrypt => ctx.encrypt_init(Some(cipher), Some(key), None)?,
            Mode::Decrypt => {
                ctx.decrypt_init(Some(cipher), Some(key), None)?;
                ctx.set_padding(false);
            }
        }
        Ok(Chained { ctx, chain: zero })
    }

    /// CBC with `iv` over the whole blocks `buf[..len]` (at least one), in place; `buf` has a
    /// spare block beyond `len` (the `openssl` crate asks for it; nothing is written there).
    fn cbc(&mut self, mode: Mode, iv: &[u8; BLOCK], buf: &mut [u8], len: usize) -> Result<()> {
        debug_assert!(len >= BLOCK && len.is_multiple_of(BLOCK) && buf.len() >= len + BLOCK);
        let last = len - BLOCK;
        match mode {
            Mode::Encrypt => {
                xor_block(&mut buf[..BLOCK], &self.chain, iv);
                update(&mut self.ctx, buf, len)?;
                self.chain.copy_from_slice(&buf[last..len]);
            }
            Mode::Decrypt => {
                let next: [u8; BLOCK] = buf[last..len].try_into().expect("one block");
                update(&mut self.ctx, buf, len)?;
                xor_block(&mut buf[..BLOCK], &self.chain, iv);
                self.chain = next;
            }
        }
        Ok(())
    }
}

/// `b ^= x ^ y` over one block.
fn xor_block(b: &mut [u8], x: &[u8; BLOCK], y: &[u8; BLOCK]) {
    b.iter_mut().zip(x.iter().zip(y)).for_each(|(b, (x, y))| *b ^= x ^ y);
}

/// One update over `buf[..len]` in place.
fn update(c: &mut CipherCtx, buf: &mut [u8], len: usize) -> Result<()> {
    let n = c.cipher_update_inplace(buf, len)?;
    debug_assert_eq!(n, len);
    Ok(())
}

impl AesKey {
    /// The key (16 or 32 bytes; other lengths fail at first use). No context is keyed yet.
    pub(crate) fn new(key: &[u8]) -> AesKey {
        let mut k =
            AesKey { key: Zeroizing::new([0; 32]), len: key.len(), enc: Mutex::default(), dec: Mutex::default() };
        // A key of another length is kept as its first 32 bytes and refused at first use.
        let n = key.len().min(32);
        k.key[..n].copy_from_slice(&key[..n]);
        k
    }

    fn key(&self) -> Result<&[u8]> {
        match self.len {
            16 | 32 => Ok(&self.key[..self.len]),
            n => Err(Error::invalid(format!("AES key of {n} bytes"))),
        }
    }

    /// Runs `f` with a keyed context for `mode` from the pool (or a new one), and puts it back
    /// if `f` succeeded (after a failure its chaining value is unknown).
    fn with<T>(&self, mode: Mode, f: impl FnOnce(&mut Chained) -> Result<T>) -> Result<T> {
        let pool = match mode {
            Mode::Encrypt => &self.enc,
            Mode::Decrypt => &self.dec,
        };
        let taken = pool.lock().pop();
        let mut c = match taken {
            Some(c) => c,
            None => Chained::new(mode, self.key()?)?,
        };
        let r = f(&mut c)?;
        pool.lock().push(c);
        Ok(r)
    }

    /// Plain CBC with `iv` over the whole blocks `buf[..len]`, in place; `buf` has a spare block
    /// beyond `len`.
    pub(crate) fn cbc_in_place(&self, mode: Mode, iv: &[u8; BLOCK], buf: &mut [u8], len: usize) -> Result<()> {
        self.with(mode, |c| c.cbc(mode, iv, buf, len))
    }

    /// One raw AES block operation (ECB on a single block).
    pub(crate) fn block(&self, mode: Mode, input: &[u8; BLOCK]) -> Result<[u8; BLOCK]> {
        let mut b = Zeroizing::new([0u8; 2 * BLOCK]);
        b[..BLOCK].copy_from_slice(input);
        self.cbc_in_place(mode, &[0u8; BLOCK], &mut b[..], BLOCK)?;
        Ok(b[..BLOCK].try_into().expect("one block"))
    }

    /// CTS-encrypts the plaintext in `buf` (at least one block) in place with `iv`. Room for the
    /// padding is reserved without leaving a copy of the plaintext behind; on failure `buf` is
    /// wiped.
    pub(crate) fn encrypt_in_place(&self, iv: &[u8; BLOCK], buf: &mut Vec<u8>) -> Result<()> {
        let n = buf.len();
        if n < BLOCK {
            return Err(Error::invalid("AES-CTS input shorter than one block"));
        }
        let blocks = n.div_ceil(BLOCK);
        let room = (blocks + 1) * BLOCK;
        if buf.capacity() < room {
            let mut bigger = Vec::with_capacity(room);
            bigger.extend_from_slice(buf);
            buf.zeroize();
            *buf = bigger;
        }
        buf.resize(room, 0);
        if let Err(e) = self.cbc_in_place(Mode::Encrypt, iv, buf, blocks * BLOCK) {
            buf.zeroize();
            return Err(e);
        }
        if blocks > 1 {
            // Swap the last two blocks; truncation then cuts the (new) last one to the tail.
            let (head, last) = buf[..blocks * BLOCK].split_at_mut((blocks - 1) * BLOCK);
            head[(blocks - 2) * BLOCK..].swap_with_slice(last);
        }
        buf.truncate(n);
        Ok(())
    }

    /// CTS-decrypts `data` (at least one block) with `iv`.
    ///
    /// The plaintext is built in one buffer of its final size, and every intermediate copy is
    /// zeroized, so the only plaintext left is the returned one.
    pub(crate) fn decrypt(&self, iv: &[u8; BLOCK], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let n = data.len();
        if n < BLOCK {
            return Err(Error::integrity("ciphertext shorter than one AES block"));
        }
        let blocks = n.div_ceil(BLOCK);
        let mut out = Zeroizing::new(Vec::with_capacity((blocks + 1) * BLOCK));
        self.with(Mode::Decrypt, |c| {
            if n == BLOCK {
                out.extend_from_slice(data);
                out.resize(2 * BLOCK, 0);
                return c.cbc(Mode::Decrypt, iv, &mut out, BLOCK);
            }
            let tail = n - (blocks - 1) * BLOCK;
            let head_len = (blocks - 2) * BLOCK;
            // The full block at position blocks-2 is the encryption of the padded last plaintext
            // block (E_n): decrypted with a zero IV it is P_n (zero-padded) XOR E_{n-1}, so its
            // bytes past the tail are the stolen bytes of E_{n-1}.
            let e_n = &data[head_len..head_len + BLOCK];
            let mut d = Zeroizing::new([0u8; 2 * BLOCK]);
            d[..BLOCK].copy_from_slice(e_n);
            c.cbc(Mode::Decrypt, &[0u8; BLOCK], &mut d[..], BLOCK)?;
            // The CBC ciphertext as encryption made it: E_1..E_{n-2}, E_{n-1} (tail bytes +
            // stolen bytes), E_n; decrypted in place in one pass with the caller's IV.
            out.extend_from_slice(&data[..head_len]);
            out.extend_from_slice(&data[head_len + BLOCK..]);
            out.extend_from_slice(&d[tail..BLOCK]);
            out.extend_from_slice(e_n);
            out.resize((blocks + 1) * BLOCK, 0);
            c.cbc(Mode::Decrypt, iv, &mut out, blocks * BLOCK)
        })?;
        // What follows the plaintext (the padding block's rest and the spare block) is wiped; the
        // buffer is only truncated: no reallocation that would leave a copy of the plaintext.
        out[n..].zeroize();
        out.truncate(n);
        Ok(out)
    }
}

/// One raw AES block operation (ECB on a single block).
pub fn block(mode: Mode, key: &[u8], input: &[u8; BLOCK]) -> Result<[u8; BLOCK]> {
    AesKey::new(key).block(mode, input)
}

/// CTS-encrypts `data` (at least one block) with `iv`.
pub fn encrypt(key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity((data.len().div_ceil(BLOCK) + 1) * BLOCK);
    buf.extend_from_slice(data);
    AesKey::new(key).encrypt_in_place(iv, &mut buf)?;
    Ok(buf)
}

/// CTS-decrypts `data` (at least one block) with `iv`. The plaintext is built in one buffer of its
/// final size and every intermediate copy is zeroized, so the only plaintext left is the returned
/// `Vec` (which the caller should hold in zeroizing storage, as [`crate::Key::decrypt`] does).
pub fn decrypt(key: &[u8], iv: &[u8; BLOCK], data: &[u8]) -> Result<Vec<u8>> {
    let mut plain = AesKey::new(key).decrypt(iv, data)?;
    Ok(std::mem::take(&mut *plain))
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

    /// A reused key (kept contexts, chaining values carried over) gives what a fresh one (a fresh
    /// context: plain CBC, which the RFC 3962 vectors check) gives, for any IV and length, in
    /// any order of operations, from several threads at once.
    #[test]
    fn kept_contexts_match_fresh_ones() {
        for key_len in [16usize, 32] {
            let key: Vec<u8> = (0..key_len as u8).map(|i| i.wrapping_mul(29)).collect();
            let kept = AesKey::new(&key);
            std::thread::scope(|s| {
                for t in 0..3u8 {
                    let (key, kept) = (&key, &kept);
                    s.spawn(move || {
                        for len in 16..70usize {
                            let iv: [u8; BLOCK] = core::array::from_fn(|i| (i * len) as u8 ^ t);
                            let p: Vec<u8> = (0..len).map(|i| (i * 3 + len) as u8).collect();
                            let want = encrypt(key, &iv, &p).unwrap();
                            let mut got = p.clone();
                            kept.encrypt_in_place(&iv, &mut got).unwrap();
                            assert_eq!(got, want, "len {len}");
                            assert_eq!(&kept.decrypt(&iv, &want).unwrap()[..], &p[..], "len {len}");
                            let b: [u8; BLOCK] = want[..BLOCK].try_into().unwrap();
                            assert_eq!(kept.block(Mode::Decrypt, &b).unwrap(), block(Mode::Decrypt, key, &b).unwrap());
                            assert_eq!(kept.block(Mode::Encrypt, &b).unwrap(), block(Mode::Encrypt, key, &b).unwrap());
                        }
                    });
                }
            });
        }
        let bad = AesKey::new(&[0u8; 20]);
        assert!(bad.block(Mode::Encrypt, &[0u8; BLOCK]).is_err());
        assert!(bad.decrypt(&[0u8; BLOCK], &[0u8; 32]).is_err());
    }

    /// A fresh context is keyed without an IV (its provider context starts from a zero IV, which
    /// `Chained::chain` assumes): CBC through it matches OpenSSL's CBC with the IV given, both ways.
    #[test]
    fn fresh_contexts_match_openssl_cbc_with_an_iv() {
        use openssl::symm::{Cipher, Crypter};
        for (key_len, cipher) in [(16usize, Cipher::aes_128_cbc()), (32, Cipher::aes_256_cbc())] {
            for t in 0..4u8 {
                let key: Vec<u8> = (0..key_len).map(|i| (i as u8).wrapping_mul(31) ^ t).collect();
                let iv: [u8; BLOCK] = core::array::from_fn(|i| (i as u8) ^ t.wrapping_mul(17));
                let plain: Vec<u8> = (0..48).map(|i| (i * 5 + usize::from(t)) as u8).collect();
                let mut want = vec![0u8; 48 + BLOCK];
                let mut c = Crypter::new(cipher, Mode::Encrypt, &key, Some(&iv)).unwrap();
                c.pad(false);
                assert_eq!(c.update(&plain, &mut want).unwrap(), 48);
                let mut got = plain.clone();
                got.resize(48 + BLOCK, 0);
                AesKey::new(&key).cbc_in_place(Mode::Encrypt, &iv, &mut got, 48).unwrap();
                assert_eq!(got[..48], want[..48], "key of {key_len}, {t}");
                let mut back = want[..48].to_vec();
                back.resize(48 + BLOCK, 0);
                AesKey::new(&key).cbc_in_place(Mode::Decrypt, &iv, &mut back, 48).unwrap();
                assert_eq!(back[..48], plain[..], "key of {key_len}, {t}");
            }
        }
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
