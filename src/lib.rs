//! libktix: Kerberos V5 session tickets — KDC, client with ticket cache, acceptor.
//!
//! Real RFC 4120 messages in DER, the RFC 3961 crypto framework with the AES enctypes of
//! RFC 3962 and RFC 8009, on OpenSSL.
//!
//! ```
//! use std::sync::Arc;
//! use ktix::{Acceptor, CCache, Client, ClientConfig, Kdc, KdcServer, Network, ServerConfig, Time};
//!
//! # fn main() -> ktix::Result<()> {
//! // A realm with a user and a service, served on a loopback port.
//! let kdc = Arc::new(Kdc::new("KTIX.TEST")?);
//! kdc.add_principal("alice", Some("secret"))?;
//! kdc.add_principal("host/server.ktix.test", None)?;
//! let keytab = kdc.keytab("host/server.ktix.test", Time::now())?;
//! let mut server = KdcServer::start(kdc, &["127.0.0.1:0"], ServerConfig::default())?;
//!
//! // The client logs in (AS exchange), then gets a service ticket (TGS) and builds an AP-REQ.
//! let transport = Arc::new(Network::new(vec![server.address()]));
//! let client = Client::new(ClientConfig::new("KTIX.TEST"), transport, CCache::memory());
//! client.login("alice", "secret")?;
//! let (ap_req, mut ctx) = client.ap_req("host/server.ktix.test", true)?;
//!
//! // The service accepts it with its keytab and answers for mutual authentication.
//! let accepted = Acceptor::new(keytab).accept(&ap_req)?;
//! assert_eq!(accepted.client.to_string(), "alice@KTIX.TEST");
//! ctx.verify(accepted.ap_rep.as_deref().unwrap_or_default())?;
//!
//! client.logout()?; // flushes the cache; every session key is zeroized
//! server.stop();
//! # Ok(())
//! # }
//! ```
//!
//! # The public surface
//!
//! | what | items |
//! |---|---|
//! | a realm | [`Kdc`] (principal database + [`RealmPolicy`] + the AS/TGS logic, `handle(request, now)`), [`KdcServer`] / [`ServerConfig`] (UDP + TCP transport); in [`kdc`]: the [`kdc::PrincipalStore`] trait, [`kdc::MemoryStore`], [`kdc::SqliteStore`], [`kdc::MasterKey`], request records |
//! | a client | [`Client`] / [`ClientConfig`] (login, service tickets, AP-REQ, renew, logout), [`ApContext`] (checks the AP-REP), transports [`Network`], [`InProcess`], [`Recording`] behind [`Transport`] |
//! | a service | [`Acceptor`] / [`AcceptorConfig`] → [`Accepted`]; [`acceptor::ReplayCache`], [`acceptor::FileReplayCache`] (chosen by [`acceptor::ReplayCacheName`]) |
//! | files and caches | [`Keytab`] / [`KeytabEntry`] (MIT keytab format), [`CCache`] / [`Credential`] (memory, MIT FILE format) |
//! | configuration | [`config`]: MIT's profile format, the krb5.conf and kdc.conf views |
//! | values | [`Principal`], [`Time`] with [`Clock`] ([`SystemClock`], [`FixedClock`]), [`Flags`] (with the bit names in [`flags`]), [`Key`] / [`Enctype`] and the RFC 3961 key usages in [`crypto`] |
//! | GSS-API | [`gss`]: the Kerberos V5 mechanism and SPNEGO — security contexts, per-message tokens, names, credentials, [`gss::Status`] |
//! | errors | [`Error`] with its stable [`ErrorCode`] (Kerberos codes keep their RFC 4120 numbers; ktix's own start at 1000), [`Result`] |
//!
//! The machinery under it — the RFC 4120 messages in DER and the pieces every exchange is built
//! from (sealing, tickets, the one AP-REQ builder and verification) — is crate-private: no codec
//! type appears in a public signature, so the codec can change without breaking callers. This
//! workspace's tests, fuzz targets and tools reach it through a hidden `internals` module that
//! carries no stability promise.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod acceptor;
pub mod ccache;
pub mod client;
pub mod config;
pub mod crypto;
pub mod error;
pub mod flags;
mod fsutil;
pub mod gss;
pub mod kdc;
pub mod keytab;
pub mod principal;
mod proto;
pub mod time;
mod wire;

/// The machinery under the public API — RFC 4120 messages in DER (`wire`), the pieces every
/// exchange is built from (`proto`), file helpers (`fsutil`) — for this workspace's tests, fuzz
/// targets and tools. **Not a stable API**: it changes with the codec and the implementation,
/// in any release; nothing here is covered by semantic versioning.
#[doc(hidden)]
pub mod internals {
    /// RFC 4120 messages and types (`rasn-kerberos`), encode/decode, conversions.
    pub mod wire {
        pub use crate::wire::*;
    }
    /// Seal/open, tickets, KRB-ERROR, the AP-REQ builder and verification.
    pub mod proto {
        pub use crate::proto::*;
    }
    /// Bounded reads, atomic 0600 writes.
    pub mod fsutil {
        pub use crate::fsutil::*;
    }
    /// The GSS-API token decoders, for the fuzz targets and the seeder.
    pub mod gss {
        use crate::Result;

        /// The krb5 token ids: AP-REQ, AP-REP, KRB-ERROR, MIC, Wrap.
        pub const TOKEN_IDS: [[u8; 2]; 5] = {
            use crate::gss::token::*;
            [TOK_AP_REQ, TOK_AP_REP, TOK_KRB_ERROR, TOK_MIC, TOK_WRAP]
        };

        /// RFC 2743 §3.1 framing of `inner` with mechanism `mech` (OID content bytes).
        pub fn frame(mech: &[u8], inner: &[u8]) -> Vec<u8> {
            crate::gss::token::frame(mech, inner)
        }

        /// Splits a framed token into mechanism OID and inner token.
        pub fn unframe(token: &[u8]) -> Result<(&[u8], &[u8])> {
            crate::gss::token::unframe(token)
        }

        /// A framed krb5 token: token id and body.
        pub fn krb5_token(tok_id: [u8; 2], body: &[u8]) -> Vec<u8> {
            crate::gss::token::krb5_token(tok_id, body)
        }

        /// Parses a framed krb5 token into token id and body.
        pub fn parse_krb5_token(token: &[u8]) -> Result<([u8; 2], &[u8])> {
            crate::gss::token::parse_krb5_token(token)
        }

        /// Decodes a SPNEGO NegotiationToken (bare or framed); when it decodes, re-encodes it and
        /// says whether that decodes to the same value.
        pub fn spnego_round_trip(token: &[u8]) -> Result<bool> {
            use crate::gss::spnego::NegotiationToken;
            let value = NegotiationToken::decode(token)?;
            Ok(NegotiationToken::decode(&value.to_token())? == value)
        }

        /// Whether `token` looks like a SPNEGO token (framed NegTokenInit or bare NegTokenResp).
        pub fn is_spnego_token(token: &[u8]) -> bool {
            crate::gss::spnego::is_spnego_token(token)
        }

        /// A stand-in mechanism for driving the SPNEGO state machines in a fuzzer: a token that
        /// starts with `0` asks for another round, any other completes it; its output is always
        /// `b"mech"`; a MIC over some data is the data itself.
        struct Stand {
            complete: bool,
        }

        impl crate::gss::spnego::NegotiatedMech for Stand {
            fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
                if self.complete {
                    return Err(crate::Error::new(crate::ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN, "complete"));
                }
                self.complete = input.is_some_and(|t| t.first() != Some(&0));
                Ok(Some(b"mech".to_vec()))
            }
            fn is_complete(&self) -> bool {
                self.complete
            }
            fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
                Ok(data.to_vec())
            }
            fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()> {
                match data == mic {
                    true => Ok(()),
                    false => Err(crate::Error::new(crate::ErrorCode::KTIX_ERR_GSS_BAD_MIC, "stand-in MIC")),
                }
            }
        }

        /// Feeds `tokens` to a SPNEGO acceptor, then (after its first step) to a SPNEGO initiator,
        /// both over a stand-in mechanism, until one fails. Returns the error codes of the two
        /// (`None`: every token was taken) and whether each side ended complete; a complete side
        /// has a complete mechanism.
        pub fn spnego_drive(tokens: &[&[u8]]) -> [(Option<crate::ErrorCode>, bool); 2] {
            use crate::gss::spnego::{SpnegoAcceptor, SpnegoInitiator};
            let mut acc = SpnegoAcceptor::new(Stand { complete: false });
            let mut acc_err = None;
            for t in tokens {
                if let Err(e) = acc.step(Some(t)) {
                    acc_err = Some(e.code());
                    break;
                }
            }
            let mut ini = SpnegoInitiator::new(Stand { complete: false });
            let mut ini_err = ini.step(None).err().map(|e| e.code());
            for t in tokens {
                if ini_err.is_some() {
                    break;
                }
                ini_err = ini.step(Some(t)).err().map(|e| e.code());
            }
            assert!(!acc.is_complete() || (acc.inner().complete && acc.inner_mut().complete));
            assert!(!ini.is_complete() || (ini.inner().complete && ini.inner_mut().complete));
            [(acc_err, acc.is_complete()), (ini_err, ini.is_complete())]
        }

        /// The RFC 4121 per-message protection of a context with a given key.
        pub struct MessageProtection(crate::gss::message::MessageProtection);

        impl MessageProtection {
            /// See the crate-private `gss::message::MessageProtection::new`.
            pub fn new(
                key: crate::Key,
                acceptor_subkey: bool,
                initiator: bool,
                send_seq: u64,
                recv_seq: u64,
                flags: crate::gss::ContextFlags,
            ) -> MessageProtection {
                MessageProtection(crate::gss::message::MessageProtection::new(
                    key,
                    acceptor_subkey,
                    initiator,
                    send_seq,
                    recv_seq,
                    flags,
                ))
            }

            /// A MIC token over `data`.
            pub fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
                self.0.get_mic(data)
            }

            /// Verifies a MIC token; `Some(code)` is the sequence check's finding.
            pub fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<Option<crate::ErrorCode>> {
                self.0.verify_mic(data, mic)
            }

            /// A Wrap token of `data`.
            pub fn wrap(&self, data: &[u8], conf: bool) -> Result<Vec<u8>> {
                self.0.wrap(data, conf)
            }

            /// Opens a Wrap token.
            pub fn unwrap(&self, token: &[u8]) -> Result<crate::gss::Unwrapped> {
                self.0.unwrap(token)
            }

            /// The largest input whose Wrap token fits `max_output` bytes.
            pub fn wrap_size_limit(&self, conf: bool, max_output: usize) -> usize {
                self.0.wrap_size_limit(conf, max_output)
            }
        }
    }
    /// The FILE credential cache's byte format.
    pub mod ccache_file {
        /// Parses FILE-cache bytes; when they name a principal, writes them, re-reads that and
        /// writes it again: `Ok(false)` when the two writes differ.
        pub fn round_trip(bytes: &[u8]) -> crate::Result<bool> {
            crate::ccache::file_round_trip(bytes)
        }
    }
}

pub use acceptor::{Accepted, Acceptor, AcceptorConfig};
pub use ccache::{CCache, Credential};
pub use client::{ApContext, Client, ClientConfig, ClientSetup, InProcess, Network, Recording, Transport};
pub use crypto::{Enctype, Key};
pub use error::{Error, ErrorCode, Result};
pub use flags::Flags;
pub use kdc::{open_realm, Kdc, RealmPolicy, RealmSpec};
pub use kdc::{KdcServer, ServerConfig};
pub use keytab::{Keytab, KeytabEntry};
pub use principal::Principal;
pub use time::{Clock, FixedClock, SystemClock, Time};

#[cfg(test)]
mod thread_safety {
    /// The core objects are shared between threads by `Arc` (a compile-time check).
    #[test]
    fn core_objects_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Kdc>();
        check::<crate::KdcServer>();
        check::<crate::Client>();
        check::<crate::Acceptor>();
        check::<crate::CCache>();
        check::<crate::Keytab>();
        check::<crate::Key>();
        check::<crate::kdc::SqliteStore>();
    }
}
