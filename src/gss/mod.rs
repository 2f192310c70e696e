//! The GSS-API Kerberos V5 mechanism (RFC 2743, RFC 4121 with RFC 1964's framing) and SPNEGO
//! (RFC 4178).
//!
//! Layout (one concept per file):
//!
//! | file | holds |
//! |---|---|
//! | `oid` | object identifiers: the mechanisms and name types, DER content bytes compared by value |
//! | `flags` | [`ContextFlags`], the RFC 2744 context flag bits |
//! | `spnego` | RFC 4178: NegTokenInit/NegTokenResp codec, the initiator and acceptor state machines |
//! | `status` | [`Status`]: the GSS major/minor status of a core [`Error`](crate::Error) |
//! | `name` | [`Name`]: principal, user, host-based and exported names; canonicalization |
//! | `bindings` | [`ChannelBindings`] and their RFC 4121 hash |
//! | `checksum` | the 0x8003 authenticator checksum (RFC 4121 §4.1.1) |
//! | `cred` | [`InitiatorCred`] (ticket cache) and [`AcceptorCred`] (keytab) |
//! | `context/` | [`InitiatorContext`], [`AcceptorContext`], the [`SecurityContext`] trait |
//! | `message` | RFC 4121 §4.2 MIC and Wrap tokens ([`Unwrapped`]), `wrap_size_limit` |
//! | `sequence` | the receive-side replay/sequence window (64 tokens, 64-bit numbers) |
//! | `token` | RFC 2743 §3.1 framing (`0x60 len 06 oid …`) and the krb5 token ids (RFC 1964, RFC 4121) |
//!
//! A context on each side, the tokens carried by the application:
//!
//! ```no_run
//! use ktix::gss::{
//!     AcceptorContext, AcceptorCred, AcceptorOptions, InitiatorContext, InitiatorCred, InitiatorOptions, Name,
//!     SecurityContext,
//! };
//! # fn main() -> ktix::Result<()> {
//! // The client: its ticket cache ($KRB5CCNAME), a host-based target through krb5.conf.
//! let cred = InitiatorCred::acquire(None)?;
//! let target = Name::hostbased("HTTP@web.example.com")?;
//! let mut client = InitiatorContext::new(&cred, &target, InitiatorOptions::default())?;
//! // The server: its keytab ($KRB5_KTNAME), raw krb5 and SPNEGO tokens accepted.
//! let mut server = AcceptorContext::new(&AcceptorCred::acquire(None, None)?, AcceptorOptions::default());
//!
//! let ap_req = client.step(None)?.expect("the first token");
//! let ap_rep = server.step(&ap_req)?.expect("an AP-REP: mutual authentication is the default");
//! client.step(Some(&ap_rep))?;
//! assert!(client.is_complete() && server.is_complete());
//! println!("{} authenticated", server.initiator_name().expect("known once accepted"));
//!
//! let sealed = client.wrap(b"hello", true)?;
//! assert_eq!(server.unwrap(&sealed)?, b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! The security contexts build their AP-REQ and verify the peer's with the one AP exchange of
//! `proto::ap`, the same code the TGS and the [`Acceptor`](crate::Acceptor) use; the KRB-CRED of
//! a delegation is built and opened by `proto::cred`.

mod bindings;
mod checksum;
mod context;
mod cred;
mod flags;
pub(crate) mod message;
mod name;
pub mod oid;
mod sequence;
pub(crate) mod spnego;
mod status;
pub(crate) mod token;

pub use bindings::{ChannelBindings, AF_INET, AF_INET6, AF_NULLADDR, AF_UNSPEC};
pub use context::{AcceptorContext, AcceptorOptions, InitiatorContext, InitiatorOptions, Mech, SecurityContext};
pub use cred::{AcceptorCred, InitiatorCred};
pub use flags::ContextFlags;
pub use message::Unwrapped;
pub use name::Name;
pub use status::{major, Status};
