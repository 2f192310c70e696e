//! n-fold (RFC 3961 §5.1): stretches or folds a constant to a block size, and the folded
//! derivation constants, computed once per process.

use std::sync::OnceLock;

/// The AES block size the derivation constants are folded to.
const BLOCK: usize = 16;

/// Key usages below this have their three derivation constants (usage + 0x99/0xAA/0x55)
/// folded once and kept; others are folded on every derivation.
const CACHED_USAGES: usize = 128;

/// The derivation constant of RFC 3961 §5.3 n-folded to one AES block: from a table filled on
/// first use for the fixed constants (every usage below 128 with each of the three kinds,
/// `"kerberos"`, `"prf"`), n-folded afresh for any other.
pub(super) fn folded_block(constant: &[u8]) -> [u8; BLOCK] {
    static USAGES: [OnceLock<[u8; BLOCK]>; CACHED_USAGES * 3] = [const { OnceLock::new() }; CACHED_USAGES * 3];
    static KERBEROS: OnceLock<[u8; BLOCK]> = OnceLock::new();
    static PRF: OnceLock<[u8; BLOCK]> = OnceLock::new();
    let fold = || -> [u8; BLOCK] { nfold(constant, BLOCK).try_into().expect("n-fold to one block") };
    let slot = match constant {
        [0, 0, 0, u, kind] if (*u as usize) < CACHED_USAGES => {
            let k = match kind {
                0x99 => 0,
                0xAA => 1,
                0x55 => 2,
                _ => return fold(),
            };
            &USAGES[*u as usize * 3 + k]
        }
        b"kerberos" => &KERBEROS,
        b"prf" => &PRF,
        _ => return fold(),
    };
    *slot.get_or_init(fold)
}

/// n-folds `input` to `out_len` bytes.
///
/// The input is repeated, each repetition rotated right by 13 bits more than the one before,
/// until the length is the least common multiple of both lengths; those bits are then added
/// `out_len` bytes at a time with ones'-complement addition.
pub fn nfold(input: &[u8], out_len: usize) -> Vec<u8> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return vec![0; out_len];
    }
    let lcm = lcm(in_len, out_len);
    let in_bits = in_len * 8;
    let mut out = vec![0u8; out_len];
    let mut carry: u32 = 0;
    // Walk the lcm-long string from its last byte to its first, adding into the output.
    for i in (0..lcm).rev() {
        // Byte i of the concatenation: repetition r = i / in_len, rotated right by 13*r bits.
        let rep = i / in_len;
        let rot = (13 * rep) % in_bits;
        let pos_bits = ((i % in_len) * 8 + in_bits - rot) % in_bits; // bit index in the original
        let byte = bits_at(input, pos_bits);
        let o = i % out_len;
        carry += out[o] as u32 + byte as u32;
        out[o] = carry as u8;
        carry >>= 8;
    }
    // Propagate the end-around carry.
    while carry != 0 {
        for b in out.iter_mut().rev() {
            carry += *b as u32;
            *b = carry as u8;
            carry >>= 8;
            if carry == 0 {
                break;
            }
        }
    }
    out
}

/// The 8 bits of `data` (taken as a ring) starting at bit `start` (MSB-first numbering).
fn bits_at(data: &[u8], start: usize) -> u8 {
    let n = data.len() * 8;
    let mut v = 0u8;
    for k in 0..8 {
        let bit = (start + k) % n;
        let b = (data[bit / 8] >> (7 - bit % 8)) & 1;
        v = (v << 1) | b;
    }
    v
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn lcm(a: usize, b: usize) -> usize {
    a / gcd(a, b) * b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3961_examples() {
        assert_eq!(nfold(b"012345", 8), [0xbe, 0x07, 0x26, 0x31, 0x27, 0x6b, 0x19, 0x55]);
        assert_eq!(nfold(b"kerberos", 8), *b"kerberos");
    }

    #[test]
    fn the_cached_constants_are_the_n_folds() {
        for c in [
            &[0u8, 0, 0, 2, 0xAA][..],
            &[0, 0, 0, 127, 0x55],
            &[0, 0, 0, 128, 0x99],
            &[0, 0, 1, 2, 0x99],
            &[0, 0, 0, 3, 0x42],
            b"kerberos",
            b"prf",
            b"other",
        ] {
            // Twice: once filling the table, once from it.
            assert_eq!(folded_block(c).to_vec(), nfold(c, BLOCK));
            assert_eq!(folded_block(c).to_vec(), nfold(c, BLOCK));
        }
    }
}
