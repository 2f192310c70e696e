//! SPNEGO (RFC 4178): the NegotiationToken codec and the initiator and acceptor state machines
//! over the Kerberos V5 mechanism.
//!
//! ```text
//! NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//! NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
//!                             mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL, ... }
//! NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] MechType OPTIONAL,
//!                             responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL, ... }
//! ```
//!
//! Tags are explicit. The initial NegTokenInit is framed with the SPNEGO OID (RFC 2743 §3.1), the
//! NegTokenResp tokens are not. Microsoft's NegTokenInit2 (`negHints [3] SEQUENCE`, `mechListMIC
//! [4]`) is read as well; unknown fields after the known ones are ignored (the types are
//! extensible). The mechListMIC is the mechanism's MIC over the DER MechTypeList exactly as the
//! initiator sent it. As MIT does, the MIC exchange is required when the acceptor picks a mechanism
//! other than the initiator's first; a side that receives a MIC verifies it and answers with its
//! own.

use super::oid;
use super::token::{defective, frame, unframe};
use crate::error::{Error, ErrorCode, Result};
use crate::wire::{push_len, tlv};

/// The mechanism under SPNEGO: the krb5 initiator or acceptor context. Input and output tokens
/// are complete (framed) krb5 context tokens.
pub(crate) trait NegotiatedMech {
    /// One step of context establishment; `None` input on the initiator's first call. Returns
    /// the token to send, if any.
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>>;
    /// Whether the mechanism's context is established.
    fn is_complete(&self) -> bool;
    /// A MIC token over `data` (for the mechListMIC).
    fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>>;
    /// Verifies a MIC token over `data`.
    fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()>;
}

/// negState of a NegTokenResp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NegState {
    /// accept-completed (0): the acceptor is done.
    AcceptCompleted = 0,
    /// accept-incomplete (1): more tokens follow.
    AcceptIncomplete = 1,
    /// reject (2): negotiation failed.
    Reject = 2,
    /// request-mic (3): the acceptor asks for the mechListMIC.
    RequestMic = 3,
}

/// A NegTokenInit (or Microsoft's NegTokenInit2, hints dropped).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct NegTokenInit {
    /// The mechanisms offered, most preferred first (OID content bytes).
    pub(crate) mech_types: Vec<Vec<u8>>,
    /// The DER MechTypeList as received (or as encoded), what the mechListMIC covers.
    pub(crate) mech_types_der: Vec<u8>,
    /// The optimistic token of the first mechanism.
    pub(crate) mech_token: Option<Vec<u8>>,
    /// The initiator's mechListMIC.
    pub(crate) mech_list_mic: Option<Vec<u8>>,
}

/// A NegTokenResp.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct NegTokenResp {
    /// negState.
    pub(crate) neg_state: Option<NegState>,
    /// supportedMech (OID content bytes): in the acceptor's first reply.
    pub(crate) supported_mech: Option<Vec<u8>>,
    /// The mechanism's token.
    pub(crate) response_token: Option<Vec<u8>>,
    /// mechListMIC.
    pub(crate) mech_list_mic: Option<Vec<u8>>,
}

/// RFC 4178's NegotiationToken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NegotiationToken {
    /// negTokenInit [0].
    Init(NegTokenInit),
    /// negTokenResp [1].
    Resp(NegTokenResp),
}

const SEQUENCE: u8 = 0x30;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const ENUMERATED: u8 = 0x0a;
const BIT_STRING: u8 = 0x03;
/// `[n]` context-specific constructed (explicit tag).
const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

// ---- encoding ----

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn field(out: &mut Vec<u8>, n: u8, tag: u8, content: &[u8]) {
    out.extend(der(ctx(n), &der(tag, content)));
}

/// The DER MechTypeList of `mechs`.
pub(crate) fn mech_type_list(mechs: &[&[u8]]) -> Vec<u8> {
    let oids: Vec<u8> = mechs.iter().flat_map(|m| der(OID, m)).collect();
    der(SEQUENCE, &oids)
}

impl NegotiationToken {
    /// The DER encoding, bare (`a0 …` or `a1 …`).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let n = match self {
            NegotiationToken::Init(i) => {
                body.extend(der(ctx(0), &i.mech_types_der));
                if let Some(t) = &i.mech_token {
                    field(&mut body, 2, OCTET_STRING, t);
                }
                if let Some(m) = &i.mech_list_mic {
                    field(&mut body, 3, OCTET_STRING, m);
                }
                0
            }
            NegotiationToken::Resp(r) => {
                if let Some(s) = r.neg_state {
                    field(&mut body, 0, ENUMERATED, &[s as u8]);
                }
                if let Some(m) = &r.supported_mech {
                    field(&mut body, 1, OID, m);
                }
                if let Some(t) = &r.response_token {
                    field(&mut body, 2, OCTET_STRING, t);
                }
                if let Some(m) = &r.mech_list_mic {
                    field(&mut body, 3, OCTET_STRING, m);
                }
                1
            }
        };
        der(ctx(n), &der(SEQUENCE, &body))
    }

    /// The initial-token form: a NegTokenInit framed with the SPNEGO OID; a NegTokenResp bare.
    pub(crate) fn to_token(&self) -> Vec<u8> {
        match self {
            NegotiationToken::Init(_) => frame(oid::SPNEGO, &self.encode()),
            NegotiationToken::Resp(_) => self.encode(),
        }
    }

    /// Decodes a NegotiationToken, bare or framed with the SPNEGO OID (a framed token of another
    /// mechanism is `KTIX_ERR_GSS_BAD_MECH`). Malformed DER, a wrong tag, bad field contents or
    /// trailing bytes are `KTIX_ERR_GSS_DEFECTIVE_TOKEN`.
    pub(crate) fn decode(token: &[u8]) -> Result<NegotiationToken> {
        let bare = if token.first() == Some(&0x60) {
            let (mech, inner) = unframe(token)?;
            if mech != oid::SPNEGO {
                return Err(Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MECH, "not a SPNEGO token"));
            }
            inner
        } else {
            token
        };
        let (tag, content) = single(bare)?;
        let (seq_tag, fields) = single(content)?;
        if seq_tag != SEQUENCE {
            return Err(defective("SPNEGO: the NegotiationToken is not a SEQUENCE"));
        }
        match tag {
            t if t == ctx(0) => decode_init(fields).map(NegotiationToken::Init),
            t if t == ctx(1) => decode_resp(fields).map(NegotiationToken::Resp),
            _ => Err(defective(format!("SPNEGO: NegotiationToken tag {tag:#04x}"))),
        }
    }
}

// ---- decoding ----

/// The first TLV of `b`: (tag, content, rest).
fn next(b: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let t = tlv(b, 0).map_err(|e| defective(format!("SPNEGO: {}", e.message())))?;
    Ok((t.tag, &b[t.start..t.end()], &b[t.end()..]))
}

/// `b` must be exactly one TLV: (tag, content).
fn single(b: &[u8]) -> Result<(u8, &[u8])> {
    let (tag, content, rest) = next(b)?;
    if !rest.is_empty() {
        return Err(defective(format!("SPNEGO: {} bytes after an element", rest.len())));
    }
    Ok((tag, content))
}

/// The content of an explicitly tagged field that must hold one element of type `want`.
fn inner(content: &[u8], want: u8, what: &str) -> Result<Vec<u8>> {
    let (tag, value) = single(content)?;
    if tag != want {
        return Err(defective(format!("SPNEGO: {what} has tag {tag:#04x}")));
    }
    Ok(value.to_vec())
}

/// The `[n]` fields of a SEQUENCE in increasing order, unknown ones included.
fn fields(mut b: &[u8]) -> Result<Vec<(u8, &[u8])>> {
    let mut out: Vec<(u8, &[u8])> = Vec::new();
    while !b.is_empty() {
        let (tag, content, rest) = next(b)?;
        if tag & 0xe0 != 0xa0 {
            return Err(defective(format!("SPNEGO: field tag {tag:#04x} is not a context tag")));
        }
        let n = tag & 0x1f;
        if out.last().is_some_and(|(last, _)| *last >= n) {
            return Err(defective("SPNEGO: fields out of order or repeated"));
        }
        out.push((n, content));
        b = rest;
    }
    Ok(out)
}

fn decode_init(b: &[u8]) -> Result<NegTokenInit> {
    let mut init = NegTokenInit::default();
    let mut have_types = false;
    for (n, content) in fields(b)? {
        match n {
            0 => {
                let (tag, list) = single(content)?;
                if tag != SEQUENCE {
                    return Err(defective("SPNEGO: mechTypes is not a SEQUENCE"));
                }
                let mut rest = list;
                while !rest.is_empty() {
                    let (tag, oid, r) = next(rest)?;
                    if tag != OID || oid.is_empty() {
                        return Err(defective("SPNEGO: a mechType is not an OID"));
                    }
                    init.mech_types.push(oid.to_vec());
                    rest = r;
                }
                init.mech_types_der = content.to_vec();
                have_types = true;
            }
            1 => {
                inner(content, BIT_STRING, "reqFlags")?; // advisory; RFC 4178 says ignore it
            }
            2 => init.mech_token = Some(inner(content, OCTET_STRING, "mechToken")?),
            3 => {
                // RFC 4178: mechListMIC. NegTokenInit2 (Microsoft): negHints, a SEQUENCE.
                let (tag, value) = single(content)?;
                match tag {
                    OCTET_STRING => init.mech_list_mic = Some(value.to_vec()),
                    SEQUENCE => {}
                    _ => return Err(defective(format!("SPNEGO: NegTokenInit field [3] has tag {tag:#04x}"))),
                }
            }
            4 if init.mech_list_mic.is_none() => {
                init.mech_list_mic = Some(inner(content, OCTET_STRING, "mechListMIC")?);
                // NegTokenInit2
            }
            _ => {} // extensions
        }
    }
    if !have_types {
        return Err(defective("SPNEGO: NegTokenInit without mechTypes"));
    }
    Ok(init)
}

fn decode_resp(b: &[u8]) -> Result<NegTokenResp> {
    let mut resp = NegTokenResp::default();
    for (n, content) in fields(b)? {
        match n {
            0 => {
                resp.neg_state = Some(match inner(content, ENUMERATED, "negState")?.as_slice() {
                    [0] => NegState::AcceptCompleted,
                    [1] => NegState::AcceptIncomplete,
                    [2] => NegState::Reject,
                    [3] => NegState::RequestMic,
                    v => return Err(defective(format!("SPNEGO: negState {v:02x?}"))),
                })
            }
            1 => {
                let m = inner(content, OID, "supportedMech")?;
                if m.is_empty() {
                    return Err(defective("SPNEGO: empty supportedMech"));
                }
                resp.supported_mech = Some(m);
            }
            2 => resp.response_token = Some(inner(content, OCTET_STRING, "responseToken")?),
            3 => resp.mech_list_mic = Some(inner(content, OCTET_STRING, "mechListMIC")?),
            _ => {}
        }
    }
    Ok(resp)
}

/// Whether `token` is a SPNEGO token: a NegTokenInit framed with the SPNEGO OID, or a bare
/// NegTokenResp (`a1 …`). A cheap look at the outer bytes, for routing; not a full parse.
pub(crate) fn is_spnego_token(token: &[u8]) -> bool {
    match token.first() {
        Some(0x60) => unframe(token).is_ok_and(|(mech, _)| mech == oid::SPNEGO),
        Some(&t) => t == ctx(1),
        None => false,
    }
}

fn expect_resp(token: &[u8]) -> Result<NegTokenResp> {
    match NegotiationToken::decode(token)? {
        NegotiationToken::Resp(r) => Ok(r),
        NegotiationToken::Init(_) => Err(defective("SPNEGO: a NegTokenInit where a NegTokenResp was expected")),
    }
}

fn verify_list_mic<M: NegotiatedMech>(inner: &M, der: &[u8], mic: &[u8]) -> Result<()> {
    inner.verify_mic(der, mic).map_err(|e| {
        Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, format!("SPNEGO: the mechListMIC does not verify: {}", e.message()))
    })
}

fn rejected(resp: &NegTokenResp) -> Error {
    let why = if resp.response_token.is_some() { " (with a mechanism token)" } else { "" };
    Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MECH, format!("SPNEGO: the acceptor rejected the negotiation{why}"))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Nothing exchanged yet.
    Start,
    /// Tokens are being exchanged.
    Running,
    /// Negotiation and the mechanism are complete.
    Done,
    /// A step failed: the context is dead.
    Failed,
}

fn finished(phase: Phase) -> Error {
    let what = if phase == Phase::Done { "already complete" } else { "failed earlier" };
    Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, format!("SPNEGO: the negotiation {what}"))
}

/// The MIC bookkeeping both sides keep (as MIT's `mic_reqd`, `mic_sent`, `mic_rcvd`).
#[derive(Default, Debug)]
struct Mic {
    required: bool,
    sent: bool,
    received: bool,
}

/// SPNEGO as the initiator, offering the Kerberos V5 mechanism with an optimistic token.
pub(crate) struct SpnegoInitiator<M: NegotiatedMech> {
    inner: M,
    phase: Phase,
    /// The acceptor's first reply has been seen (it names the mechanism).
    chosen: bool,
    mech_types_der: Vec<u8>,
    mic: Mic,
}

impl<M: NegotiatedMech> SpnegoInitiator<M> {
    /// Negotiation over `inner`, whose first token becomes the optimistic mechToken.
    pub(crate) fn new(inner: M) -> Self {
        SpnegoInitiator {
            inner,
            phase: Phase::Start,
            chosen: false,
            mech_types_der: mech_type_list(&[oid::KRB5]),
            mic: Mic::default(),
        }
    }

    /// Whether negotiation and the mechanism's context are both complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The mechanism.
    pub(crate) fn inner(&self) -> &M {
        &self.inner
    }

    /// The mechanism, mutably.
    pub(crate) fn inner_mut(&mut self) -> &mut M {
        &mut self.inner
    }

    /// One step: `None` first (gives the framed NegTokenInit), then each acceptor token. Returns
    /// the token to send, or `None` when there is nothing to send. After an error the context
    /// is dead.
    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let result = match self.phase {
            Phase::Start => self.start(input),
            Phase::Running => match input {
                Some(t) => self.running(t),
                None => Err(defective("SPNEGO: the acceptor's token is needed")),
            },
            Phase::Done | Phase::Failed => return Err(finished(self.phase)),
        };
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    fn start(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        // A Windows acceptor may speak first with a NegTokenInit2 of hints: read and ignored.
        if let Some(t) = input {
            if !matches!(NegotiationToken::decode(t)?, NegotiationToken::Init(_)) {
                return Err(defective("SPNEGO: a NegTokenResp before our NegTokenInit"));
            }
        }
        let token = self.inner.step(None)?;
        self.phase = Phase::Running;
        let init = NegTokenInit {
            mech_types: vec![oid::KRB5.to_vec()],
            mech_types_der: self.mech_types_der.clone(),
            mech_token: token,
            mech_list_mic: None,
        };
        Ok(Some(NegotiationToken::Init(init).to_token()))
    }

    fn running(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>> {
        let resp = expect_resp(input)?;
        if resp.neg_state == Some(NegState::Reject) {
            if let Some(t) = &resp.response_token {
                self.inner.step(Some(t))?; // the mechanism's own error (a KRB-ERROR) first
            }
            return Err(rejected(&resp));
        }
        if !self.chosen {
            match &resp.supported_mech {
                Some(m) if oid::is_krb5(m) => self.chosen = true,
                Some(m) => {
                    let name = oid::to_dotted(m).unwrap_or_else(|_| "a malformed OID".into());
                    return Err(Error::new(
                        ErrorCode::KTIX_ERR_GSS_BAD_MECH,
                        format!("SPNEGO: the acceptor chose {name}, which we did not offer"),
                    ));
                }
                None => return Err(defective("SPNEGO: the acceptor's first reply names no mechanism")),
            }
        }
        if resp.neg_state == Some(NegState::RequestMic) {
            self.mic.required = true;
        }
        let mut out = None;
        if let Some(t) = &resp.response_token {
            if self.inner.is_complete() {
                return Err(defective("SPNEGO: a mechanism token after the mechanism completed"));
            }
            out = self.inner.step(Some(t))?;
        }
        let complete = self.inner.is_complete();
        if let Some(mic) = &resp.mech_list_mic {
            if !complete || self.mic.received {
                return Err(defective("SPNEGO: a mechListMIC before the mechanism completed, or a second one"));
            }
            verify_list_mic(&self.inner, &self.mech_types_der, mic)?;
            self.mic.received = true;
            self.mic.required = true; // a peer that sends a MIC expects one back, unless it is done
        }
        if resp.neg_state == Some(NegState::AcceptCompleted) {
            if !complete || out.is_some() {
                return Err(defective("SPNEGO: the acceptor completed but the mechanism did not"));
            }
            if self.mic.sent && !self.mic.received {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_GSS_BAD_MIC,
                    "SPNEGO: the acceptor completed without the mechListMIC it owes",
                ));
            }
            self.phase = Phase::Done;
            return Ok(None);
        }
        let mut mic_out = None;
        if complete && self.mic.required && !self.mic.sent {
            mic_out = Some(self.inner.get_mic(&self.mech_types_der)?);
            self.mic.sent = true;
        }
        if out.is_none() && mic_out.is_none() {
            return Err(defective("SPNEGO: the acceptor expects more, but there is nothing to send"));
        }
        if complete && self.mic.sent && self.mic.received {
            self.phase = Phase::Done; // the acceptor has sent its MIC: ours is the last token
        }
        let resp = NegTokenResp { neg_state: None, supported_mech: None, response_token: out, mech_list_mic: mic_out };
        Ok(Some(NegotiationToken::Resp(resp).encode()))
    }
}

/// SPNEGO as the acceptor: picks the first Kerberos V5 OID the initiator lists (answering with
/// that OID, Microsoft's included), takes an optimistic token meant for it, verifies a
/// mechListMIC when one comes and sends one when the MIC exchange is required or the initiator
/// sent one.
pub(crate) struct SpnegoAcceptor<M: NegotiatedMech> {
    inner: M,
    phase: Phase,
    mech_types_der: Vec<u8>,
    chosen: Vec<u8>,
    /// A MIC received before the mechanism completed, verified once it has.
    pending_mic: Option<Vec<u8>>,
    mic: Mic,
}

impl<M: NegotiatedMech> SpnegoAcceptor<M> {
    /// Negotiation over `inner`.
    pub(crate) fn new(inner: M) -> Self {
        SpnegoAcceptor {
            inner,
            phase: Phase::Start,
            mech_types_der: Vec::new(),
            chosen: Vec::new(),
            pending_mic: None,
            mic: Mic::default(),
        }
    }

    /// Whether negotiation and the mechanism's context are both complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The mechanism.
    pub(crate) fn inner(&self) -> &M {
        &self.inner
    }

    /// The mechanism, mutably.
    pub(crate) fn inner_mut(&mut self) -> &mut M {
        &mut self.inner
    }

    /// One step with the initiator's token (the framed NegTokenInit first, then NegTokenResps).
    /// Returns the token to send, or `None` when there is nothing to send. An initiator offering
    /// no Kerberos V5 OID is `KTIX_ERR_GSS_BAD_MECH`. After an error the context is dead.
    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let input = match (self.phase, input) {
            (Phase::Done | Phase::Failed, _) => return Err(finished(self.phase)),
            (_, Some(t)) => t,
            (_, None) => return Err(defective("SPNEGO: the acceptor needs the initiator's token")),
        };
        let result = if self.phase == Phase::Start { self.start(input) } else { self.running(input) };
        if result.is_err() {
            self.phase = Phase::Failed;
        }
        result
    }

    fn start(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>> {
        let init = match NegotiationToken::decode(input)? {
            NegotiationToken::Init(i) => i,
            NegotiationToken::Resp(_) => {
                return Err(defective("SPNEGO: a NegTokenResp where a NegTokenInit was expected"))
            }
        };
        let index = init.mech_types.iter().position(|m| oid::is_krb5(m)).ok_or_else(|| {
            let offered: Vec<String> =
                init.mech_types.iter().map(|m| oid::to_dotted(m).unwrap_or_else(|_| "?".into())).collect();
            Error::new(
                ErrorCode::KTIX_ERR_GSS_BAD_MECH,
                format!("SPNEGO: the initiator offers no Kerberos V5 mechanism ({})", offered.join(", ")),
            )
        })?;
        self.chosen = init.mech_types[index].clone();
        self.mech_types_der = init.mech_types_der;
        // RFC 4178 §5: not the initiator's first choice, so a downgrade must be ruled out.
        self.mic.required = index != 0;
        self.pending_mic = init.mech_list_mic;
        self.phase = Phase::Running;
        let out = match (&init.mech_token, index) {
            (Some(t), 0) => self.inner.step(Some(t))?,
            _ => None, // no optimistic token, or one for a mechanism we did not pick: ask for ours
        };
        self.reply(out, true)
    }

    fn running(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>> {
        let resp = expect_resp(input)?;
        if resp.neg_state == Some(NegState::Reject) {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_GSS_BAD_MECH,
                "SPNEGO: the initiator abandoned the negotiation",
            ));
        }
        let mut out = None;
        if let Some(t) = &resp.response_token {
            if self.inner.is_complete() {
                return Err(defective("SPNEGO: a mechanism token after the mechanism completed"));
            }
            out = self.inner.step(Some(t))?;
        }
        if let Some(m) = resp.mech_list_mic {
            if self.pending_mic.is_some() || self.mic.received {
                return Err(defective("SPNEGO: a second mechListMIC"));
            }
            self.pending_mic = Some(m);
        }
        self.reply(out, false)
    }

    fn reply(&mut self, out: Option<Vec<u8>>, first: bool) -> Result<Option<Vec<u8>>> {
        let complete = self.inner.is_complete();
        let sent_before = self.mic.sent;
        if complete {
            if let Some(mic) = self.pending_mic.take() {
                verify_list_mic(&self.inner, &self.mech_types_der, &mic)?;
                self.mic.received = true;
                self.mic.required = true; // a peer that sends a MIC expects one back
            }
        }
        if sent_before && !self.mic.received {
            // We sent our MIC; the initiator's next token must carry its own (RFC 4178 §5).
            return Err(defective("SPNEGO: the initiator's token lacks the required mechListMIC"));
        }
        let mut mic_out = None;
        if complete && self.mic.required && !self.mic.sent {
            mic_out = Some(self.inner.get_mic(&self.mech_types_der)?);
            self.mic.sent = true;
        }
        let done = complete && (!self.mic.required || self.mic.received);
        if done {
            self.phase = Phase::Done;
            if !first && out.is_none() && mic_out.is_none() {
                return Ok(None); // the initiator's MIC answered ours: nothing more to say
            }
        }
        let resp = NegTokenResp {
            neg_state: Some(if done { NegState::AcceptCompleted } else { NegState::AcceptIncomplete }),
            supported_mech: first.then(|| self.chosen.clone()),
            response_token: out,
            mech_list_mic: mic_out,
        };
        Ok(Some(NegotiationToken::Resp(resp).encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NTLM: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

    /// A stand-in for the krb5 contexts: the initiator sends `AP-REQ`, the acceptor answers
    /// `AP-REP` when mutual; `KRB-ERROR` makes either fail; a MIC is `MIC` + data.
    struct Fake {
        initiator: bool,
        mutual: bool,
        started: bool,
        complete: bool,
    }

    fn fake(initiator: bool, mutual: bool) -> Fake {
        Fake { initiator, mutual, started: false, complete: false }
    }

    impl NegotiatedMech for Fake {
        fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
            match (self.initiator, input) {
                (_, Some(b"KRB-ERROR")) => Err(Error::new(ErrorCode::KRB_AP_ERR_MODIFIED, "from the mechanism")),
                (true, None) if !self.started => {
                    self.started = true;
                    self.complete = !self.mutual;
                    Ok(Some(b"AP-REQ".to_vec()))
                }
                (true, Some(b"AP-REP")) if self.started && !self.complete => {
                    self.complete = true;
                    Ok(None)
                }
                (false, Some(b"AP-REQ")) if !self.complete => {
                    self.complete = true;
                    Ok(self.mutual.then(|| b"AP-REP".to_vec()))
                }
                _ => Err(defective("fake: unexpected step")),
            }
        }
        fn is_complete(&self) -> bool {
            self.complete
        }
        fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
            assert!(self.complete, "MIC before completion");
            Ok([b"MIC".as_slice(), data].concat())
        }
        fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()> {
            if mic == [b"MIC".as_slice(), data].concat() {
                Ok(())
            } else {
                Err(Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, "fake MIC"))
            }
        }
    }

    fn mic_over(mechs: &[&[u8]]) -> Vec<u8> {
        [b"MIC".as_slice(), &mech_type_list(mechs)].concat()
    }

    fn resp(token: &[u8]) -> NegTokenResp {
        match NegotiationToken::decode(token).unwrap() {
            NegotiationToken::Resp(r) => r,
            other => panic!("not a NegTokenResp: {other:?}"),
        }
    }

    fn init_token(mechs: &[&[u8]], token: Option<&[u8]>, mic: Option<Vec<u8>>) -> Vec<u8> {
        NegotiationToken::Init(NegTokenInit {
            mech_types: mechs.iter().map(|m| m.to_vec()).collect(),
            mech_types_der: mech_type_list(mechs),
            mech_token: token.map(<[u8]>::to_vec),
            mech_list_mic: mic,
        })
        .to_token()
    }

    fn resp_token(state: Option<NegState>, mech: Option<&[u8]>, token: Option<&[u8]>, mic: Option<Vec<u8>>) -> Vec<u8> {
        NegotiationToken::Resp(NegTokenResp {
            neg_state: state,
            supported_mech: mech.map(<[u8]>::to_vec),
            response_token: token.map(<[u8]>::to_vec),
            mech_list_mic: mic,
        })
        .encode()
    }

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn initiator_and_acceptor_agree_without_a_mic() {
        for mutual in [true, false] {
            let mut ini = SpnegoInitiator::new(fake(true, mutual));
            let mut acc = SpnegoAcceptor::new(fake(false, mutual));
            let t1 = ini.step(None).unwrap().unwrap();
            assert!(is_spnego_token(&t1) && t1.starts_with(&[0x60]));
            assert_eq!(unframe(&t1).unwrap().0, oid::SPNEGO);
            let t2 = acc.step(Some(&t1)).unwrap().unwrap();
            assert!(acc.is_complete() && is_spnego_token(&t2) && t2[0] == 0xa1);
            let r = resp(&t2);
            assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
            assert_eq!(r.supported_mech.as_deref(), Some(oid::KRB5));
            assert_eq!(r.response_token.as_deref(), mutual.then_some(&b"AP-REP"[..]));
            assert_eq!(r.mech_list_mic, None, "MIT sends none when the first mechanism is taken");
            assert!(!ini.is_complete());
            assert_eq!(ini.step(Some(&t2)).unwrap(), None);
            assert!(ini.is_complete() && ini.inner().is_complete() && acc.inner().is_complete());
            assert!(ini.inner_mut().initiator && !acc.inner_mut().initiator);
            assert_eq!(code(ini.step(Some(&t2))), ErrorCode::KTIX_ERR_GSS_NO_CONTEXT);
            assert_eq!(code(acc.step(Some(&t1))), ErrorCode::KTIX_ERR_GSS_NO_CONTEXT);
        }
    }

    #[test]
    fn microsoft_oid_first_is_answered_with_that_oid() {
        let mut acc = SpnegoAcceptor::new(fake(false, true));
        let t = acc.step(Some(&init_token(&[oid::KRB5_MS, oid::KRB5, NTLM], Some(b"AP-REQ"), None))).unwrap();
        let r = resp(&t.unwrap());
        assert_eq!(r.supported_mech.as_deref(), Some(oid::KRB5_MS));
        assert_eq!((r.neg_state, r.response_token.as_deref()), (Some(NegState::AcceptCompleted), Some(&b"AP-REP"[..])));
        assert_eq!(r.mech_list_mic, None);
        assert!(acc.is_complete());
        // And our initiator takes a reply naming it.
        let mut ini = SpnegoInitiator::new(fake(true, true));
        ini.step(None).unwrap();
        let reply = resp_token(Some(NegState::AcceptCompleted), Some(oid::KRB5_MS), Some(b"AP-REP"), None);
        assert_eq!(ini.step(Some(&reply)).unwrap(), None);
        assert!(ini.is_complete());
    }

    #[test]
    fn mic_exchange_when_krb5_is_not_the_first_choice() {
        let mechs: &[&[u8]] = &[NTLM, oid::KRB5];
        for last in ["good", "tampered", "absent"] {
            let mut acc = SpnegoAcceptor::new(fake(false, true));
            // The optimistic token is NTLM's: not used; the acceptor asks for a krb5 token.
            let r1 = resp(&acc.step(Some(&init_token(mechs, Some(b"NTLMSSP"), None))).unwrap().unwrap());
            assert_eq!(r1.neg_state, Some(NegState::AcceptIncomplete));
            assert_eq!(r1.supported_mech.as_deref(), Some(oid::KRB5));
            assert_eq!((r1.response_token, r1.mech_list_mic), (None, None));
            // The krb5 token: the mechanism completes and the acceptor sends its MIC first.
            let r2 = acc.step(Some(&resp_token(None, None, Some(b"AP-REQ"), None))).unwrap().unwrap();
            let r2 = resp(&r2);
            assert_eq!(r2.neg_state, Some(NegState::AcceptIncomplete));
            assert_eq!(r2.response_token.as_deref(), Some(&b"AP-REP"[..]));
            assert_eq!(r2.mech_list_mic, Some(mic_over(mechs)));
            assert!(!acc.is_complete());
            let mut mic = mic_over(mechs);
            match last {
                "good" => {
                    assert_eq!(acc.step(Some(&resp_token(None, None, None, Some(mic)))).unwrap(), None);
                    assert!(acc.is_complete());
                }
                "tampered" => {
                    mic[5] ^= 1;
                    let r = acc.step(Some(&resp_token(None, None, None, Some(mic))));
                    assert_eq!(code(r), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
                    assert!(!acc.is_complete());
                }
                _ => {
                    let r = acc.step(Some(&resp_token(Some(NegState::AcceptIncomplete), None, None, None)));
                    assert_eq!(code(r), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
                    assert!(!acc.is_complete());
                }
            }
        }
    }

    #[test]
    fn initiator_answers_and_checks_the_acceptors_mic() {
        let ours: &[&[u8]] = &[oid::KRB5];
        // The acceptor sends its MIC with accept-incomplete: we verify it and answer with ours.
        let mut ini = SpnegoInitiator::new(fake(true, true));
        ini.step(None).unwrap();
        let reply =
            resp_token(Some(NegState::AcceptIncomplete), Some(oid::KRB5), Some(b"AP-REP"), Some(mic_over(ours)));
        let r = resp(&ini.step(Some(&reply)).unwrap().unwrap());
        assert_eq!((r.response_token, r.mech_list_mic), (None, Some(mic_over(ours))));
        assert!(ini.is_complete());
        // The acceptor completes and sends a MIC (Windows does): verified, nothing more sent.
        let mut ini = SpnegoInitiator::new(fake(true, true));
        ini.step(None).unwrap();
        let reply = resp_token(Some(NegState::AcceptCompleted), Some(oid::KRB5), Some(b"AP-REP"), Some(mic_over(ours)));
        assert_eq!(ini.step(Some(&reply)).unwrap(), None);
        assert!(ini.is_complete());
        // A tampered MIC, or one over another list (a downgrade), is refused.
        for bad in [[b"MIC".as_slice(), &mech_type_list(&[oid::KRB5])[..3]].concat(), mic_over(&[NTLM, oid::KRB5])] {
            let mut ini = SpnegoInitiator::new(fake(true, true));
            ini.step(None).unwrap();
            let reply = resp_token(Some(NegState::AcceptCompleted), Some(oid::KRB5), Some(b"AP-REP"), Some(bad));
            assert_eq!(code(ini.step(Some(&reply))), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
            assert!(!ini.is_complete());
        }
        // request-mic: we send ours, then the acceptor must complete with its own.
        let mut ini = SpnegoInitiator::new(fake(true, true));
        ini.step(None).unwrap();
        let reply = resp_token(Some(NegState::RequestMic), Some(oid::KRB5), Some(b"AP-REP"), None);
        assert_eq!(resp(&ini.step(Some(&reply)).unwrap().unwrap()).mech_list_mic, Some(mic_over(ours)));
        assert!(!ini.is_complete());
        let without = resp_token(Some(NegState::AcceptCompleted), None, None, None);
        let mut twin = SpnegoInitiator::new(fake(true, true));
        twin.step(None).unwrap();
        twin.step(Some(&reply)).unwrap();
        assert_eq!(code(twin.step(Some(&without))), ErrorCode::KTIX_ERR_GSS_BAD_MIC);
        let with = resp_token(Some(NegState::AcceptCompleted), None, None, Some(mic_over(ours)));
        assert_eq!(ini.step(Some(&with)).unwrap(), None);
        assert!(ini.is_complete());
    }

    #[test]
    fn acceptor_verifies_an_initiators_mic_and_answers() {
        let ours: &[&[u8]] = &[oid::KRB5, NTLM];
        let mut acc = SpnegoAcceptor::new(fake(false, false));
        let t = acc.step(Some(&init_token(ours, Some(b"AP-REQ"), Some(mic_over(ours))))).unwrap().unwrap();
        let r = resp(&t);
        assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
        assert_eq!(r.mech_list_mic, Some(mic_over(ours)));
        assert!(acc.is_complete());
        let mut tampered = mic_over(ours);
        tampered.push(0);
        let mut acc = SpnegoAcceptor::new(fake(false, false));
        assert_eq!(
            code(acc.step(Some(&init_token(ours, Some(b"AP-REQ"), Some(tampered))))),
            ErrorCode::KTIX_ERR_GSS_BAD_MIC
        );
        assert!(!acc.is_complete());
    }

    #[test]
    fn rejections() {
        let mut acc = SpnegoAcceptor::new(fake(false, true));
        assert_eq!(
            code(acc.step(Some(&init_token(&[NTLM], Some(b"NTLMSSP"), None)))),
            ErrorCode::KTIX_ERR_GSS_BAD_MECH
        );
        assert!(!acc.is_complete());
        assert_eq!(code(acc.step(Some(&init_token(&[oid::KRB5], None, None)))), ErrorCode::KTIX_ERR_GSS_NO_CONTEXT);
        // The mechanism's own error comes through.
        let mut acc = SpnegoAcceptor::new(fake(false, true));
        assert_eq!(
            code(acc.step(Some(&init_token(&[oid::KRB5], Some(b"KRB-ERROR"), None)))),
            ErrorCode::KRB_AP_ERR_MODIFIED
        );
        let mut acc = SpnegoAcceptor::new(fake(false, true));
        assert_eq!(code(acc.step(None)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
        let mut acc = SpnegoAcceptor::new(fake(false, true));
        let bare_resp = resp_token(None, None, Some(b"AP-REQ"), None);
        assert_eq!(code(acc.step(Some(&bare_resp))), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);

        for (reply, want) in [
            (resp_token(Some(NegState::Reject), None, None, None), ErrorCode::KTIX_ERR_GSS_BAD_MECH),
            (resp_token(Some(NegState::Reject), None, Some(b"KRB-ERROR"), None), ErrorCode::KRB_AP_ERR_MODIFIED),
            (resp_token(Some(NegState::AcceptCompleted), Some(NTLM), None, None), ErrorCode::KTIX_ERR_GSS_BAD_MECH),
            (
                resp_token(Some(NegState::AcceptCompleted), None, Some(b"AP-REP"), None),
                ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN,
            ),
            (
                resp_token(Some(NegState::AcceptCompleted), Some(oid::KRB5), None, None),
                ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN,
            ),
            (init_token(&[oid::KRB5], None, None), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN),
            (vec![0xa1, 0x00], ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN),
        ] {
            let mut ini = SpnegoInitiator::new(fake(true, true));
            ini.step(None).unwrap();
            assert_eq!(code(ini.step(Some(&reply))), want, "{reply:02x?}");
            assert!(!ini.is_complete());
            assert_eq!(code(ini.step(Some(&reply))), ErrorCode::KTIX_ERR_GSS_NO_CONTEXT);
        }
        let mut ini = SpnegoInitiator::new(fake(true, true));
        ini.step(None).unwrap();
        assert_eq!(code(ini.step(None)), ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN);
    }

    #[test]
    fn codec_round_trips_and_known_bytes() {
        let done = resp_token(Some(NegState::AcceptCompleted), None, None, None);
        assert_eq!(done, [0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00]);
        let mut expect = vec![0x60, 0x25, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
        expect.extend([0xa0, 0x1b, 0x30, 0x19, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09]);
        expect.extend(oid::KRB5);
        expect.extend([0xa2, 0x08, 0x04, 0x06, b'A', b'P', b'-', b'R', b'E', b'Q']);
        assert_eq!(init_token(&[oid::KRB5], Some(b"AP-REQ"), None), expect);
        for t in [
            init_token(&[oid::KRB5_MS, oid::KRB5, NTLM], Some(&[7; 300]), Some(vec![1, 2, 3])),
            resp_token(Some(NegState::RequestMic), Some(oid::KRB5), Some(&[9; 70_000]), Some(vec![4; 28])),
            resp_token(None, None, None, None),
        ] {
            let decoded = NegotiationToken::decode(&t).unwrap();
            assert_eq!(decoded.to_token(), t);
        }
    }

    #[test]
    fn negtokeninit2_and_extensions_are_tolerated() {
        // NegTokenInit2 (MS-SPNG): mechTypes [0], reqFlags [1], mechToken [2], negHints [3] (a
        // SEQUENCE), mechListMIC [4], then an unknown [5].
        let mut body = der(ctx(0), &mech_type_list(&[oid::KRB5_MS, oid::KRB5]));
        field(&mut body, 1, BIT_STRING, &[0x01, 0x02]);
        field(&mut body, 2, OCTET_STRING, b"AP-REQ");
        let hint = der(ctx(0), &der(0x1b, b"not_defined_in_RFC4178@please_ignore"));
        body.extend(der(ctx(3), &der(SEQUENCE, &hint)));
        field(&mut body, 4, OCTET_STRING, b"mic");
        field(&mut body, 5, 0x0c, b"future");
        let t = frame(oid::SPNEGO, &der(ctx(0), &der(SEQUENCE, &body)));
        let NegotiationToken::Init(i) = NegotiationToken::decode(&t).unwrap() else { panic!("not init") };
        assert_eq!(i.mech_types, [oid::KRB5_MS.to_vec(), oid::KRB5.to_vec()]);
        assert_eq!(i.mech_types_der, mech_type_list(&[oid::KRB5_MS, oid::KRB5]));
        assert_eq!((i.mech_token.as_deref(), i.mech_list_mic.as_deref()), (Some(&b"AP-REQ"[..]), Some(&b"mic"[..])));
        // Hints only (what a Windows server sends first): our initiator ignores them.
        let hints_only = frame(
            oid::SPNEGO,
            &der(
                ctx(0),
                &der(
                    SEQUENCE,
                    &[der(ctx(0), &mech_type_list(&[oid::KRB5])), der(ctx(3), &der(SEQUENCE, &hint))].concat(),
                ),
            ),
        );
        let mut ini = SpnegoInitiator::new(fake(true, false));
        assert!(ini.step(Some(&hints_only)).unwrap().is_some());
        // An unknown field in a NegTokenResp is skipped too.
        let mut body = Vec::new();
        field(&mut body, 0, ENUMERATED, &[1]);
        field(&mut body, 7, OCTET_STRING, b"?");
        let r = resp(&der(ctx(1), &der(SEQUENCE, &body)));
        assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    }

    #[test]
    fn malformed_tokens_are_defective() {
        let d = ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN;
        let good = init_token(&[oid::KRB5, NTLM], Some(b"AP-REQ"), Some(vec![5; 20]));
        for cut in 0..good.len() {
            assert!(NegotiationToken::decode(&good[..cut]).is_err(), "cut {cut}");
        }
        let r = resp_token(Some(NegState::AcceptIncomplete), Some(oid::KRB5), Some(b"x"), Some(vec![1]));
        for cut in 0..r.len() {
            assert_eq!(code(NegotiationToken::decode(&r[..cut])), d, "cut {cut}");
        }
        let mut long = r.clone();
        long.push(0);
        assert_eq!(code(NegotiationToken::decode(&long)), d);
        for bad in [
            der(ctx(1), &der(SEQUENCE, &der(ctx(0), &der(ENUMERATED, &[4])))), // negState 4
            der(ctx(1), &der(SEQUENCE, &der(ctx(0), &der(ENUMERATED, &[0, 0])))),
            der(ctx(1), &der(SEQUENCE, &der(ctx(2), &der(0x24, b"")))), // constructed OCTET STRING
            der(ctx(1), &der(SEQUENCE, &der(ctx(1), &der(OID, b"")))),  // empty OID
            der(
                ctx(1),
                &der(SEQUENCE, &[der(ctx(2), &der(OCTET_STRING, b"")), der(ctx(0), &der(ENUMERATED, &[0]))].concat()),
            ),
            der(
                ctx(1),
                &der(SEQUENCE, &[der(ctx(2), &der(OCTET_STRING, b"")), der(ctx(2), &der(OCTET_STRING, b""))].concat()),
            ),
            der(ctx(1), &der(SEQUENCE, &der(0x04, b""))), // not a context tag
            der(ctx(1), &der(0x31, b"")),                 // SET, not SEQUENCE
            der(ctx(2), &der(SEQUENCE, b"")),             // neither [0] nor [1]
            der(ctx(0), &der(SEQUENCE, b"")),             // NegTokenInit without mechTypes
            der(ctx(0), &der(SEQUENCE, &der(ctx(0), &der(SEQUENCE, &der(0x04, b"x"))))), // not an OID
            der(
                ctx(0),
                &der(SEQUENCE, &[der(ctx(0), &mech_type_list(&[oid::KRB5])), der(ctx(3), &der(0x02, &[1]))].concat()),
            ),
        ] {
            assert_eq!(code(NegotiationToken::decode(&bad)), d, "{bad:02x?}");
        }
        assert_eq!(code(NegotiationToken::decode(&frame(oid::KRB5, &[0xa1, 0x00]))), ErrorCode::KTIX_ERR_GSS_BAD_MECH);
    }

    #[test]
    fn spnego_tokens_are_recognized() {
        assert!(is_spnego_token(&init_token(&[oid::KRB5], None, None)));
        assert!(is_spnego_token(&resp_token(None, None, None, None)));
        assert!(!is_spnego_token(&super::super::token::krb5_token([1, 0], b"x")));
        assert!(!is_spnego_token(&[]));
        assert!(!is_spnego_token(&[0x60, 0x05]));
        assert!(!is_spnego_token(&[0x05, 0x04, 0x00]));
    }
}
