//! The acceptor's security context: raw Kerberos V5 tokens and SPNEGO.

use crate::ccache::CCache;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

use super::super::bindings::ChannelBindings;
use super::super::cred::AcceptorCred;
use super::super::message::Unwrapped;
use super::super::spnego::{is_spnego_token, NegotiatedMech, SpnegoAcceptor};
use super::super::{oid, ContextFlags};
use super::krb5::{Core, Krb5Acceptor};
use super::SecurityContext;

/// What an acceptor accepts.
#[derive(Clone, Debug)]
pub struct AcceptorOptions {
    /// Accept SPNEGO tokens besides raw Kerberos V5 ones (default true).
    pub spnego: bool,
    /// The acceptor's channel bindings: when set, an initiator that sent a different non-zero
    /// binding hash is refused (`KTIX_ERR_GSS_BAD_BINDINGS`), a matching one sets
    /// `CHANNEL_BOUND`, and one that sent none (all zeros) is accepted without `CHANNEL_BOUND`
    /// (RFC 2744 §3.11, as MIT).
    pub channel_bindings: Option<ChannelBindings>,
}

impl Default for AcceptorOptions {
    fn default() -> AcceptorOptions {
        AcceptorOptions { spnego: true, channel_bindings: None }
    }
}

enum Kind {
    /// Before the first token: the mechanism is not known yet.
    Waiting(Option<Krb5Acceptor>),
    Krb5(Krb5Acceptor),
    Spnego(SpnegoAcceptor<Krb5Acceptor>),
}

/// An acceptor's security context (`gss_accept_sec_context`).
///
/// The initiator's AP-REQ is verified by the credentials' [`Acceptor`](crate::Acceptor) — the
/// one AP-REQ verification, with its replay cache — then its 0x8003 checksum is checked:
///
/// - **0x8003 checksum**: at least 24 bytes with Lgth 16, else `KTIX_ERR_GSS_DEFECTIVE_TOKEN`;
///   channel bindings as [`AcceptorOptions::channel_bindings`] says; the flags asked for; a
///   delegated KRB-CRED opened (subkey, else session key, or unencrypted) into a memory cache
///   ([`AcceptorContext::delegated`]).
/// - **no checksum** (hand-made GSS code; MS-KILE and MIT accept it): no flags but MUTUAL from the
///   AP options; bindings not checked.
/// - **another checksum type** (Samba): MIT's rule — a keyed checksum over empty data with the
///   session key, usage 10, else `KTIX_ERR_GSS_BAD_MIC`; flags REPLAY, SEQUENCE (and MUTUAL). A
///   raw AP-REQ from [`Client::ap_req`](crate::Client::ap_req) carries no checksum and is so
///   accepted.
///
/// An AP-REP token is sent only when the AP-REQ has MUTUAL-REQUIRED (as MIT), with a fresh
/// acceptor subkey of the initiator subkey's enctype and a random sequence number; per-message
/// tokens then use that subkey. A failed step returns the error; the KRB-ERROR token to send
/// back, when MIT would send one, is [`AcceptorContext::error_token`].
pub struct AcceptorContext {
    kind: Kind,
    spnego: bool,
}

impl AcceptorContext {
    /// A context accepting with `cred`.
    pub fn new(cred: &AcceptorCred, opts: AcceptorOptions) -> AcceptorContext {
        let krb5 = Krb5Acceptor::new(cred.clone(), opts.channel_bindings);
        AcceptorContext { kind: Kind::Waiting(Some(krb5)), spnego: opts.spnego }
    }

    /// One step: the initiator's token in, the token to send back (if any) out.
    ///
    /// Errors: `KTIX_ERR_GSS_BAD_MECH` (a token of another mechanism, or SPNEGO when not
    /// accepted), `KTIX_ERR_GSS_DEFECTIVE_TOKEN`, `KTIX_ERR_GSS_BAD_BINDINGS`, and the AP-REQ's
    /// Kerberos errors (`KRB_AP_ERR_REPEAT`, `_SKEW`, `_NOT_US`, `_BAD_INTEGRITY` …).
    pub fn step(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Kind::Waiting(k) = &mut self.kind {
            let krb5 =
                k.take().ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the context failed earlier"))?;
            self.kind = if is_spnego_token(input) {
                if !self.spnego {
                    return Err(Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MECH, "SPNEGO is not accepted here"));
                }
                Kind::Spnego(SpnegoAcceptor::new(krb5))
            } else {
                Kind::Krb5(krb5)
            };
        }
        match &mut self.kind {
            Kind::Krb5(k) => k.step(Some(input)),
            Kind::Spnego(s) => s.step(Some(input)),
            Kind::Waiting(_) => Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "no context")),
        }
    }

    /// The authenticated initiator, once its AP-REQ is verified.
    pub fn initiator_name(&self) -> Option<&Principal> {
        self.krb5().and_then(|k| k.core.source.as_ref())
    }

    /// The delegated credentials: a memory cache holding the initiator's forwarded TGT (usable
    /// with a [`Client`](crate::Client) to get service tickets as the initiator).
    pub fn delegated(&self) -> Option<&CCache> {
        self.krb5().and_then(|k| k.delegated.as_ref())
    }

    /// After a failed [`step`](AcceptorContext::step) on a raw krb5 token: the KRB-ERROR token
    /// (`03 00`, RFC 4121 §4.1) to send to the initiator, as MIT's acceptor sends one — only
    /// when the AP-REQ decoded and asked for mutual authentication (the initiator then waits
    /// for a reply and turns this one into the error). `None` otherwise and under SPNEGO.
    pub fn error_token(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Krb5(k) => k.error_token.as_deref(),
            _ => None,
        }
    }

    /// Takes the delegated credentials out of the context.
    pub fn take_delegated(&mut self) -> Option<CCache> {
        match &mut self.kind {
            Kind::Krb5(k) => k.delegated.take(),
            Kind::Spnego(s) => s.inner_mut().delegated.take(),
            Kind::Waiting(_) => None,
        }
    }

    fn krb5(&self) -> Option<&Krb5Acceptor> {
        match &self.kind {
            Kind::Krb5(k) => Some(k),
            Kind::Spnego(s) => Some(s.inner()),
            Kind::Waiting(k) => k.as_ref(),
        }
    }

    fn core(&self) -> Option<&Core> {
        self.krb5().map(|k| &k.core)
    }

    fn done(&self) -> Result<&Core> {
        match self.core() {
            Some(c) if self.is_complete() => Ok(c),
            _ => Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the security context is not established")),
        }
    }
}

impl SecurityContext for AcceptorContext {
    fn is_complete(&self) -> bool {
        match &self.kind {
            Kind::Krb5(k) => k.is_complete(),
            Kind::Spnego(s) => s.is_complete(),
            Kind::Waiting(_) => false,
        }
    }

    fn flags(&self) -> ContextFlags {
        let f = self.core().map_or(ContextFlags::NONE, |c| c.flags());
        if self.is_complete() {
            f
        } else {
            f.without(ContextFlags::PROT_READY)
        }
    }

    fn mech(&self) -> &'static [u8] {
        match &self.kind {
            Kind::Spnego(_) => oid::SPNEGO,
            _ => oid::KRB5,
        }
    }

    fn is_initiator(&self) -> bool {
        false
    }

    fn source_name(&self) -> Option<Principal> {
        self.core().and_then(|c| c.source.clone())
    }

    fn target_name(&self) -> Option<Principal> {
        self.core().and_then(|c| c.target.clone())
    }

    fn expires(&self) -> Option<Time> {
        self.core().and_then(|c| c.expires())
    }

    fn wrap(&self, data: &[u8], conf: bool) -> Result<Vec<u8>> {
        self.done()?.wrap(data, conf)
    }

    fn unwrap_detailed(&self, token: &[u8]) -> Result<Unwrapped> {
        self.done()?.unwrap(token)
    }

    fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.done()?.get_mic(data)
    }

    fn verify_mic_detailed(&self, data: &[u8], mic: &[u8]) -> Result<Option<ErrorCode>> {
        self.done()?.verify_mic(data, mic)
    }

    fn wrap_size_limit(&self, conf: bool, max_output: usize) -> usize {
        self.core().map_or(0, |c| c.wrap_size_limit(conf, max_output))
    }
}

impl std::fmt::Debug for AcceptorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptorContext")
            .field("mech", &oid::to_dotted(self.mech()).unwrap_or_default())
            .field("complete", &self.is_complete())
            .field("flags", &self.flags())
            .field("initiator", &self.initiator_name())
            .finish()
    }
}
