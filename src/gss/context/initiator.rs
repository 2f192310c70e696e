//! The initiator's security context: raw Kerberos V5 or SPNEGO over it.

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

use super::super::bindings::ChannelBindings;
use super::super::cred::InitiatorCred;
use super::super::message::Unwrapped;
use super::super::spnego::{NegotiatedMech, SpnegoInitiator};
use super::super::{oid, ContextFlags, Name};
use super::krb5::{Core, Krb5Initiator};
use super::SecurityContext;

/// The mechanism an initiator uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mech {
    /// Kerberos V5 directly (OID 1.2.840.113554.1.2.2).
    #[default]
    Krb5,
    /// SPNEGO (1.3.6.1.5.5.2) offering Kerberos V5.
    Spnego,
}

/// What an initiator asks for.
#[derive(Clone, Debug)]
pub struct InitiatorOptions {
    /// The mechanism.
    pub mech: Mech,
    /// The flags asked for (`req_flags`). DELEG is honoured only with a forwardable TGT; CONF and
    /// INTEG are always granted by this mechanism.
    pub flags: ContextFlags,
    /// The channel bindings, hashed into the authenticator checksum.
    pub channel_bindings: Option<ChannelBindings>,
    /// The lifetime asked for, seconds (`time_req`). The context lives as long as the service
    /// ticket (as with MIT, a shorter request does not shorten it); kept for the C and Python
    /// layers.
    pub lifetime: Option<u32>,
}

impl Default for InitiatorOptions {
    fn default() -> InitiatorOptions {
        InitiatorOptions {
            mech: Mech::Krb5,
            flags: ContextFlags::MUTUAL
                .with(ContextFlags::SEQUENCE)
                .with(ContextFlags::REPLAY)
                .with(ContextFlags::CONF)
                .with(ContextFlags::INTEG),
            channel_bindings: None,
            lifetime: None,
        }
    }
}

enum Kind {
    Krb5(Krb5Initiator),
    Spnego(SpnegoInitiator<Krb5Initiator>),
}

/// An initiator's security context (`gss_init_sec_context`).
///
/// The first [`step`](InitiatorContext::step) (with `None`) gets a service ticket for the target
/// through the credentials' client (from its cache when there is one) and returns the AP-REQ
/// token; with MUTUAL the next step takes the acceptor's AP-REP token (a KRB-ERROR token from the
/// acceptor becomes its error). The authenticator carries a subkey of the session key's enctype,
/// a random initial sequence number and the 0x8003 checksum (channel-binding hash, flags, and
/// with DELEG a KRB-CRED holding a forwarded TGT).
pub struct InitiatorContext {
    kind: Kind,
}

impl InitiatorContext {
    /// A context from `cred` to `target` (canonicalized now: a host-based name through krb5.conf).
    ///
    /// Errors: `KTIX_ERR_GSS_BAD_NAME` (a target without a realm and none configured),
    /// `KTIX_ERR_GSS_CREDENTIALS_EXPIRED` (the TGT has ended).
    pub fn new(cred: &InitiatorCred, target: &Name, opts: InitiatorOptions) -> Result<InitiatorContext> {
        let target: Principal = target.canonicalize()?;
        if cred.expires() <= cred.client().now() {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_CREDENTIALS_EXPIRED, "the initiator's credentials expired"));
        }
        let krb5 = Krb5Initiator::new(cred.client().clone(), target, opts.flags, opts.channel_bindings);
        let kind = match opts.mech {
            Mech::Krb5 => Kind::Krb5(krb5),
            Mech::Spnego => Kind::Spnego(SpnegoInitiator::new(krb5)),
        };
        Ok(InitiatorContext { kind })
    }

    /// One step: `None` the first time; then the acceptor's token. Returns the token to send,
    /// or `None` when there is nothing to send ([`is_complete`](SecurityContext::is_complete)
    /// says whether the context is established).
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        match &mut self.kind {
            Kind::Krb5(k) => k.step(input),
            Kind::Spnego(s) => s.step(input),
        }
    }

    fn core(&self) -> &Core {
        match &self.kind {
            Kind::Krb5(k) => &k.core,
            Kind::Spnego(s) => &s.inner().core,
        }
    }

    /// The core, once the whole exchange (SPNEGO included) is complete.
    fn done(&self) -> Result<&Core> {
        if !self.is_complete() {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the security context is not established"));
        }
        Ok(self.core())
    }
}

impl SecurityContext for InitiatorContext {
    fn is_complete(&self) -> bool {
        match &self.kind {
            Kind::Krb5(k) => k.is_complete(),
            Kind::Spnego(s) => s.is_complete(),
        }
    }

    fn flags(&self) -> ContextFlags {
        let f = self.core().flags();
        if self.is_complete() {
            f
        } else {
            f.without(ContextFlags::PROT_READY)
        }
    }

    fn mech(&self) -> &'static [u8] {
        match &self.kind {
            Kind::Krb5(_) => oid::KRB5,
            Kind::Spnego(_) => oid::SPNEGO,
        }
    }

    fn is_initiator(&self) -> bool {
        true
    }

    fn source_name(&self) -> Option<Principal> {
        self.core().source.clone()
    }

    fn target_name(&self) -> Option<Principal> {
        self.core().target.clone()
    }

    fn expires(&self) -> Option<Time> {
        self.core().expires()
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
        self.core().wrap_size_limit(conf, max_output)
    }
}

impl std::fmt::Debug for InitiatorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitiatorContext")
            .field("mech", &oid::to_dotted(self.mech()).unwrap_or_default())
            .field("complete", &self.is_complete())
            .field("flags", &self.flags())
            .field("target", &self.target_name())
            .finish()
    }
}
