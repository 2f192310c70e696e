//! The two traits every message goes through: [`ToDer`] (encode) and [`FromDer`] (decode).
//!
//! Each RFC 4120 type the library sends or receives implements them. The KDC's, the client's and
//! the acceptor's messages have hand-written DER code (`enc.rs`, `dec.rs`: issue 17, rasn's
//! generic codec was a quarter of a TGS exchange); the rare ones delegate to `rasn`, whose
//! decoder is also the reference the hand-written one is checked against (unit tests and the
//! fuzz targets' differential checks).

use crate::error::{Error, ErrorCode, Result};

/// A value that encodes itself in DER.
pub trait ToDer {
    /// Appends the DER encoding of `self` to `out`.
    fn write_der(&self, out: &mut Vec<u8>) -> Result<()>;
}

/// A value that decodes from exactly one DER encoding.
pub trait FromDer: Sized {
    /// Decodes one value that fills `bytes` exactly (trailing bytes are an error).
    fn from_der(bytes: &[u8]) -> Result<Self>;
}

/// The short name of a type, for error messages ("TgsReq: …").
pub(crate) fn short_type_name<T>() -> &'static str {
    let n = std::any::type_name::<T>();
    n.rsplit("::").next().unwrap_or(n)
}

/// Decodes with rasn (the reference decoder): `KTIX_ERR_MALFORMED` naming the type on failure.
pub(crate) fn rasn_decode<T: rasn::Decode>(bytes: &[u8]) -> Result<T> {
    rasn::der::decode::<T>(bytes).map_err(|e| Error::malformed(format_args!("{}: {e}", short_type_name::<T>())))
}

/// Encodes with rasn (the reference encoder), appending to `out`.
pub(crate) fn rasn_encode<T: rasn::Encode>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    let v = rasn::der::encode(value).map_err(|e| {
        Error::new(ErrorCode::KRB_ERR_GENERIC, format!("cannot encode {}: {e}", short_type_name::<T>()))
    })?;
    if out.is_empty() {
        *out = v;
    } else {
        out.extend_from_slice(&v);
    }
    Ok(())
}

/// Implements [`ToDer`] through rasn for types without hand-written encoding.
macro_rules! to_der_via_rasn {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::wire::ToDer for $t {
            fn write_der(&self, out: &mut Vec<u8>) -> $crate::error::Result<()> {
                $crate::wire::codec::rasn_encode(self, out)
            }
        }
    )*};
}

/// Implements [`FromDer`] through rasn for types without hand-written decoding.
macro_rules! from_der_via_rasn {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::wire::FromDer for $t {
            fn from_der(bytes: &[u8]) -> $crate::error::Result<Self> {
                $crate::wire::codec::rasn_decode(bytes)
            }
        }
    )*};
}

pub(crate) use {from_der_via_rasn, to_der_via_rasn};
