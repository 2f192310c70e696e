//! libktix: Kerberos V5 session tickets — KDC, client with ticket cache, acceptor.
//!
//! Real RFC 4120 messages in DER, the RFC 3961 crypto framework with the AES enctypes of
//! RFC 3962 and RFC 8009, on OpenSSL.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod error;
pub mod principal;
pub mod time;
pub mod wire;

pub use crypto::{Enctype, Key};
pub use error::{Error, ErrorCode, Result};
pub use principal::Principal;
pub use time::{Clock, FixedClock, SystemClock, Time};
