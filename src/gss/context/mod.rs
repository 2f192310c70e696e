//! GSS-API security contexts of the Kerberos V5 mechanism (RFC 4121 §4.1), raw or negotiated
//! through SPNEGO (RFC 4178): the [`InitiatorContext`], the [`AcceptorContext`], and the
//! [`SecurityContext`] trait of both (state, names, flags, per-message protection).
//!
//! `krb5.rs` holds the mechanism's two state machines (the AP-REQ / AP-REP exchange with the
//! 0x8003 checksum); `initiator.rs` and `acceptor.rs` the public contexts, which run them
//! directly or under SPNEGO.

mod acceptor;
mod initiator;
mod krb5;

pub use acceptor::{AcceptorContext, AcceptorOptions};
pub use initiator::{InitiatorContext, InitiatorOptions, Mech};

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

use super::{ContextFlags, Unwrapped};

/// What every security context offers once established (RFC 2743 §2.2, §2.3).
///
/// Per-message calls before the context is complete are `KTIX_ERR_GSS_NO_CONTEXT`; after it
/// [`expires`](SecurityContext::expires), `KTIX_ERR_GSS_CONTEXT_EXPIRED`.
pub trait SecurityContext: Send + Sync {
    /// Whether the context is established.
    fn is_complete(&self) -> bool;
    /// The context flags (`ret_flags`): those asked for that the peers agreed on, plus
    /// `PROT_READY` once per-message protection is available and `CHANNEL_BOUND` on an acceptor
    /// whose channel bindings matched the initiator's.
    fn flags(&self) -> ContextFlags;
    /// The mechanism used: `oid::KRB5`, or `oid::SPNEGO` when negotiated.
    fn mech(&self) -> &'static [u8];
    /// Whether this side initiated the context.
    fn is_initiator(&self) -> bool;
    /// The initiator's principal (known once the AP-REQ is built or verified).
    fn source_name(&self) -> Option<Principal>;
    /// The acceptor's principal.
    fn target_name(&self) -> Option<Principal>;
    /// When the context ends: the end of the service ticket.
    fn expires(&self) -> Option<Time>;
    /// A Wrap token (RFC 4121 §4.2.6.2) of `data`, encrypted when `conf`.
    fn wrap(&self, data: &[u8], conf: bool) -> Result<Vec<u8>>;
    /// Unwraps a Wrap token: the data, whether it was encrypted, and the sequence condition
    /// (duplicate, old, unsequenced, gap) of a token that verified.
    fn unwrap_detailed(&self, token: &[u8]) -> Result<Unwrapped>;
    /// Unwraps a Wrap token; a sequence condition is an error with its code.
    fn unwrap(&self, token: &[u8]) -> Result<Vec<u8>> {
        let u = self.unwrap_detailed(token)?;
        match u.sequence {
            Some(code) => Err(Error::new(code, "the token verified but is out of sequence")),
            None => Ok(u.data),
        }
    }
    /// A MIC token (RFC 4121 §4.2.6.1) of `data`.
    fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>>;
    /// Checks a MIC token over `data`: `Ok(Some(code))` when it verified but the sequence check
    /// flags it.
    fn verify_mic_detailed(&self, data: &[u8], mic: &[u8]) -> Result<Option<ErrorCode>>;
    /// Checks a MIC token over `data`; a sequence condition is an error with its code.
    fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()> {
        match self.verify_mic_detailed(data, mic)? {
            Some(code) => Err(Error::new(code, "the MIC verified but is out of sequence")),
            None => Ok(()),
        }
    }
    /// The largest message whose Wrap token fits `max_output` bytes.
    fn wrap_size_limit(&self, conf: bool, max_output: usize) -> usize;
}
