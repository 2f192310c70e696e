//! The enctype profiles: [`Enctype`] (numbers, names, key, MAC and checksum sizes, string-to-key
//! iteration defaults) for the AES enctypes of RFC 3962 and RFC 8009, and the checksum type numbers.

use std::fmt;

use openssl::hash::MessageDigest;

use super::cts;
use super::hmac::Hash;
use crate::error::{Error, ErrorCode, Result};

/// The encryption types libktix implements.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Enctype {
    /// aes128-cts-hmac-sha1-96 (17), RFC 3962.
    Aes128CtsHmacSha196 = 17,
    /// aes256-cts-hmac-sha1-96 (18), RFC 3962.
    Aes256CtsHmacSha196 = 18,
    /// aes128-cts-hmac-sha256-128 (19), RFC 8009.
    Aes128CtsHmacSha256128 = 19,
    /// aes256-cts-hmac-sha384-192 (20), RFC 8009.
    Aes256CtsHmacSha384192 = 20,
}

/// How an enctype derives keys and authenticates ciphertext.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    /// RFC 3962: DK with n-fold, HMAC-SHA1 over the plaintext.
    Sha1,
    /// RFC 8009: KDF-HMAC-SHA2, HMAC over IV + ciphertext.
    Sha2,
}

impl Enctype {
    /// Every supported enctype, strongest first (the order a KDC prefers them in).
    pub const ALL: [Enctype; 4] = [
        Enctype::Aes256CtsHmacSha384192,
        Enctype::Aes256CtsHmacSha196,
        Enctype::Aes128CtsHmacSha256128,
        Enctype::Aes128CtsHmacSha196,
    ];

    /// From the RFC 3961 number; other numbers give `KDC_ERR_ETYPE_NOSUPP`.
    pub fn from_i32(n: i32) -> Result<Enctype> {
        match n {
            17 => Ok(Enctype::Aes128CtsHmacSha196),
            18 => Ok(Enctype::Aes256CtsHmacSha196),
            19 => Ok(Enctype::Aes128CtsHmacSha256128),
            20 => Ok(Enctype::Aes256CtsHmacSha384192),
            _ => Err(Error::new(ErrorCode::KDC_ERR_ETYPE_NOSUPP, format!("encryption type {n} is not supported"))),
        }
    }

    /// From the name MIT uses (`aes256-cts-hmac-sha1-96`, also `aes256-cts`, `aes128-sha2` …) or the number.
    pub fn from_name(name: &str) -> Result<Enctype> {
        let n = name.trim().to_ascii_lowercase();
        let e = match n.as_str() {
            "aes128-cts-hmac-sha1-96" | "aes128-cts" | "aes128-sha1" | "17" => Enctype::Aes128CtsHmacSha196,
            "aes256-cts-hmac-sha1-96" | "aes256-cts" | "aes256-sha1" | "aes" | "18" => Enctype::Aes256CtsHmacSha196,
            "aes128-cts-hmac-sha256-128" | "aes128-sha2" | "19" => Enctype::Aes128CtsHmacSha256128,
            "aes256-cts-hmac-sha384-192" | "aes256-sha2" | "20" => Enctype::Aes256CtsHmacSha384192,
            _ => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_UNSUPPORTED_ENCTYPE,
                    format!("unknown encryption type {name:?}"),
                ))
            }
        };
        Ok(e)
    }

    /// The RFC 3961 number.
    pub fn id(self) -> i32 {
        self as i32
    }

    /// The name MIT prints (`klist -e`).
    pub fn name(self) -> &'static str {
        match self {
            Enctype::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96",
            Enctype::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96",
            Enctype::Aes128CtsHmacSha256128 => "aes128-cts-hmac-sha256-128",
            Enctype::Aes256CtsHmacSha384192 => "aes256-cts-hmac-sha384-192",
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes128CtsHmacSha256128 => 16,
            Enctype::Aes256CtsHmacSha196 | Enctype::Aes256CtsHmacSha384192 => 32,
        }
    }

    /// The keyed checksum type that goes with this enctype (RFC 3961 §8 "required checksum").
    pub fn checksum_type(self) -> i32 {
        match self {
            Enctype::Aes128CtsHmacSha196 => checksum_type::HMAC_SHA1_96_AES128,
            Enctype::Aes256CtsHmacSha196 => checksum_type::HMAC_SHA1_96_AES256,
            Enctype::Aes128CtsHmacSha256128 => checksum_type::HMAC_SHA256_128_AES128,
            Enctype::Aes256CtsHmacSha384192 => checksum_type::HMAC_SHA384_192_AES256,
        }
    }

    /// The enctype whose key computes `cksumtype`.
    pub fn for_checksum_type(cksumtype: i32) -> Result<Enctype> {
        Enctype::ALL.into_iter().find(|e| e.checksum_type() == cksumtype).ok_or_else(|| {
            Error::new(ErrorCode::KDC_ERR_SUMTYPE_NOSUPP, format!("checksum type {cksumtype} is not supported"))
        })
    }

    /// The default string-to-key iteration count (4096 for RFC 3962, 32768 for RFC 8009).
    pub fn default_iterations(self) -> u32 {
        match self.family() {
            Family::Sha1 => 4096,
            Family::Sha2 => 32768,
        }
    }

    pub(super) fn family(self) -> Family {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => Family::Sha1,
            _ => Family::Sha2,
        }
    }

    pub(super) fn digest(self) -> MessageDigest {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => MessageDigest::sha1(),
            Enctype::Aes128CtsHmacSha256128 => MessageDigest::sha256(),
            Enctype::Aes256CtsHmacSha384192 => MessageDigest::sha384(),
        }
    }

    /// The hash of this enctype's HMACs (integrity, checksums, RFC 8009 key derivation).
    pub(super) fn hash(self) -> Hash {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => Hash::Sha1,
            Enctype::Aes128CtsHmacSha256128 => Hash::Sha256,
            Enctype::Aes256CtsHmacSha384192 => Hash::Sha384,
        }
    }

    /// Length of the integrity tag / checksum in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => 12,
            Enctype::Aes128CtsHmacSha256128 => 16,
            Enctype::Aes256CtsHmacSha384192 => 24,
        }
    }

    /// Length of Kc and Ki (RFC 8009 truncates them for 20).
    pub(super) fn ki_len(self) -> usize {
        match self {
            Enctype::Aes256CtsHmacSha384192 => 24,
            _ => self.key_len(),
        }
    }

    /// Bytes that `encrypt` adds to the plaintext (confounder + integrity tag).
    pub fn overhead(self) -> usize {
        cts::BLOCK + self.mac_len()
    }

    /// The iteration count carried in s2kparams (4 bytes, big-endian), or the default when absent.
    /// Counts below the default or of 2^24 and more are refused, as MIT refuses them.
    pub fn iterations_from_params(self, s2kparams: Option<&[u8]>) -> Result<u32> {
        match s2kparams {
            None => Ok(self.default_iterations()),
            Some(p) => {
                let b: [u8; 4] =
                    p.try_into().map_err(|_| Error::invalid(format!("s2kparams of {} bytes (want 4)", p.len())))?;
                let n = u32::from_be_bytes(b);
                // As MIT does: a peer may not lower the count below the default (a downgrade), nor
                // ask for 2^24 or more.
                if n < self.default_iterations() || n >= MAX_ITERATIONS {
                    return Err(Error::invalid(format!(
                        "string-to-key iteration count {n} is outside {}..{MAX_ITERATIONS}",
                        self.default_iterations()
                    )));
                }
                Ok(n)
            }
        }
    }
}

/// s2kparams iteration counts must stay below this (MIT refuses 2^24 and more too).
pub const MAX_ITERATIONS: u32 = 1 << 24;

impl fmt::Display for Enctype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checksum type numbers (RFC 3961 §8, RFC 3962, RFC 8009, RFC 4121).
pub mod checksum_type {
    /// hmac-sha1-96-aes128.
    pub const HMAC_SHA1_96_AES128: i32 = 15;
    /// hmac-sha1-96-aes256.
    pub const HMAC_SHA1_96_AES256: i32 = 16;
    /// hmac-sha256-128-aes128.
    pub const HMAC_SHA256_128_AES128: i32 = 19;
    /// hmac-sha384-192-aes256.
    pub const HMAC_SHA384_192_AES256: i32 = 20;
    /// The GSS-API authenticator checksum (RFC 4121 §4.1.1): a structure, not a keyed checksum.
    pub const GSSAPI: i32 = 0x8003;
}
