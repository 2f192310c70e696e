//! libktix: Kerberos V5 session tickets — KDC, client with ticket cache, acceptor.
//!
//! Real RFC 4120 messages in DER, the RFC 3961 crypto framework with the AES enctypes of
//! RFC 3962 and RFC 8009, on OpenSSL.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acceptor;
pub mod ccache;
pub mod client;
pub mod crypto;
pub mod error;
pub mod fsutil;
pub mod kdc;
pub mod keytab;
pub mod principal;
pub mod proto;
pub mod time;
pub mod wire;

pub use acceptor::{Accepted, Acceptor, AcceptorConfig};
pub use ccache::{CCache, Credential};
pub use client::{ApContext, Client, ClientConfig, InProcess, Network, Recording, Transport};
pub use crypto::{Enctype, Key};
pub use error::{Error, ErrorCode, Result};
pub use kdc::{Kdc, RealmPolicy};
pub use kdc::{KdcServer, ServerConfig};
pub use keytab::{Keytab, KeytabEntry};
pub use principal::Principal;
pub use time::{Clock, FixedClock, SystemClock, Time};
