//! The Kerberos V5 mechanism's context establishment (RFC 4121 §4.1): the initiator's AP-REQ
//! token with the 0x8003 checksum, the acceptor's verification and AP-REP token, and the
//! per-message protection both end up with.

use std::sync::Arc;

use crate::ccache::CCache;
use crate::client::Client;
use crate::crypto::{checksum_type, usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::proto::{self, AuthChecksum, NewApReq, VerifiedApReq};
use crate::time::{Clock, Time};
use crate::wire::{self, ap_options, ticket_flags as tf};

use super::super::bindings::{self, ChannelBindings};
use super::super::checksum::GssChecksum;
use super::super::message::{MessageProtection, Unwrapped};
use super::super::spnego::NegotiatedMech;
use super::super::token::{self, TOK_AP_REP, TOK_AP_REQ, TOK_KRB_ERROR};
use super::super::ContextFlags;
use crate::gss::cred::AcceptorCred;

/// The flags the initiator may ask for in the checksum besides CONF and INTEG (always sent, as
/// MIT does).
const ASKABLE: ContextFlags =
    ContextFlags(ContextFlags::DELEG.0 | ContextFlags::MUTUAL.0 | ContextFlags::REPLAY.0 | ContextFlags::SEQUENCE.0);

/// An established context's protection and facts.
pub(crate) struct Established {
    pub protection: MessageProtection,
    pub flags: ContextFlags,
    pub expires: Time,
}

/// A random initial sequence number (30 bits, as MIT's, so peers that mishandle the wrap of
/// 32-bit numbers never see it).
fn initial_seq() -> Result<u32> {
    Ok(Client::nonce()? & 0x3fff_ffff)
}

/// The per-message state shared by both sides' state machines.
pub(crate) struct Core {
    pub clock: Arc<dyn Clock>,
    pub established: Option<Established>,
    pub source: Option<Principal>,
    pub target: Option<Principal>,
    pub failed: bool,
}

impl Core {
    fn new(clock: Arc<dyn Clock>) -> Core {
        Core { clock, established: None, source: None, target: None, failed: false }
    }

    /// The established state, checked for expiry.
    pub fn ready(&self) -> Result<&Established> {
        let e = self
            .established
            .as_ref()
            .ok_or_else(|| Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the security context is not established"))?;
        if e.expires <= self.clock.now() {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_CONTEXT_EXPIRED, "the security context has expired"));
        }
        Ok(e)
    }

    pub fn flags(&self) -> ContextFlags {
        self.established.as_ref().map_or(ContextFlags::NONE, |e| e.flags)
    }

    pub fn expires(&self) -> Option<Time> {
        self.established.as_ref().map(|e| e.expires)
    }

    pub fn wrap(&self, data: &[u8], conf: bool) -> Result<Vec<u8>> {
        self.ready()?.protection.wrap(data, conf)
    }

    pub fn unwrap(&self, token: &[u8]) -> Result<Unwrapped> {
        self.ready()?.protection.unwrap(token)
    }

    pub fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.ready()?.protection.get_mic(data)
    }

    pub fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<Option<ErrorCode>> {
        self.ready()?.protection.verify_mic(data, mic)
    }

    pub fn wrap_size_limit(&self, conf: bool, max_output: usize) -> usize {
        self.established.as_ref().map_or(0, |e| e.protection.wrap_size_limit(conf, max_output))
    }

    fn fail<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

fn defective(why: &str) -> Error {
    Error::new(ErrorCode::KTIX_ERR_GSS_DEFECTIVE_TOKEN, why.to_string())
}

/// After the AP-REQ, what the initiator needs to check the AP-REP.
struct Pending {
    session_key: Key,
    subkey: Key,
    ctime: Time,
    seq: u32,
    flags: ContextFlags,
    expires: Time,
}

/// The initiator's state machine.
pub(crate) struct Krb5Initiator {
    pub core: Core,
    client: Arc<Client>,
    target: Principal,
    req_flags: ContextFlags,
    bindings: Option<ChannelBindings>,
    pending: Option<Pending>,
    started: bool,
}

impl Krb5Initiator {
    pub fn new(
        client: Arc<Client>,
        target: Principal,
        req_flags: ContextFlags,
        bindings: Option<ChannelBindings>,
    ) -> Krb5Initiator {
        let mut core = Core::new(client.clock().clone());
        core.target = Some(target.clone());
        Krb5Initiator { core, client, target, req_flags, bindings, pending: None, started: false }
    }

    /// The AP-REQ token (first step).
    fn first(&mut self) -> Result<Vec<u8>> {
        let cred = self.client.service_ticket(&self.target.to_string())?;
        self.core.source = Some(cred.client.clone());
        let subkey = Key::random(cred.key.enctype())?;
        let seq = initial_seq()?;
        let mut flags = self.req_flags.intersect(ASKABLE).with(ContextFlags::CONF).with(ContextFlags::INTEG);
        // Delegation only with a forwardable TGT, and silently dropped when the KDC will not
        // forward it, as MIT does.
        let mut delegation = None;
        if flags.contains(ContextFlags::DELEG) {
            let forwardable = self.client.tgt().map(|t| t.flags.has(tf::FORWARDABLE)).unwrap_or(false);
            if forwardable {
                match self.client.forwarded_tgt() {
                    Ok(fwd) => delegation = Some(proto::build_krb_cred(std::slice::from_ref(&fwd), &subkey)?),
                    Err(e) => log::info!("ktix gss: no delegation, the forwarded TGT was refused: {e}"),
                }
            }
            if delegation.is_none() {
                flags = flags.without(ContextFlags::DELEG);
            }
        }
        let cksum =
            GssChecksum { bindings_hash: bindings::hash_of(self.bindings.as_ref())?, flags, delegation }.encode()?;
        let mutual = flags.contains(ContextFlags::MUTUAL);
        let (ap_req, ctime) = proto::build_ap_req(&NewApReq {
            checksum: AuthChecksum::Raw { ctype: checksum_type::GSSAPI, bytes: &cksum },
            seq_number: Some(seq),
            mutual,
            ..NewApReq::with_credential(&cred, usage::AP_REQ_AUTH, self.client.now(), &subkey)
        })?;
        if mutual {
            self.pending =
                Some(Pending { session_key: cred.key.clone(), subkey, ctime, seq, flags, expires: cred.end_time });
        } else {
            // Complete at once: both directions start from the initiator's number.
            let protection = MessageProtection::new(subkey, false, true, seq.into(), seq.into(), flags);
            self.core.established =
                Some(Established { protection, flags: flags.with(ContextFlags::PROT_READY), expires: cred.end_time });
        }
        Ok(token::krb5_token(TOK_AP_REQ, &ap_req))
    }

    /// The acceptor's AP-REP token (or KRB-ERROR token).
    fn reply(&mut self, input: &[u8]) -> Result<()> {
        let p = self.pending.take().ok_or_else(|| defective("no token was expected"))?;
        let (id, body) = token::parse_krb5_token(input)?;
        match id {
            TOK_AP_REP => {}
            TOK_KRB_ERROR => {
                let e = wire::decode::<wire::KrbError>(body).map_err(|_| defective("malformed KRB-ERROR token"))?;
                return Err(proto::error_from_krb_error(&e));
            }
            _ => return Err(defective("expected an AP-REP token")),
        }
        let rep = proto::verify_ap_rep(body, &p.session_key, p.ctime)?;
        let recv_seq = rep.seq_number.unwrap_or(0);
        let (key, acceptor_subkey) = match rep.subkey {
            Some(k) => (k, true),
            None => (p.subkey, false),
        };
        let protection = MessageProtection::new(key, acceptor_subkey, true, p.seq.into(), recv_seq.into(), p.flags);
        self.core.established =
            Some(Established { protection, flags: p.flags.with(ContextFlags::PROT_READY), expires: p.expires });
        Ok(())
    }
}

impl NegotiatedMech for Krb5Initiator {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if self.core.failed {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the context failed earlier"));
        }
        if self.core.established.is_some() {
            return Err(defective("the context is already established"));
        }
        let r = match (self.started, input) {
            (false, None) => {
                self.started = true;
                self.first().map(Some)
            }
            (false, Some(_)) => Err(defective("an initiator's first step takes no token")),
            (true, Some(t)) => self.reply(t).map(|()| None),
            (true, None) => Err(defective("the acceptor's reply token is missing")),
        };
        self.core.fail(r)
    }

    fn is_complete(&self) -> bool {
        self.core.established.is_some()
    }

    fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.get_mic(data)
    }

    fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()> {
        match self.core.verify_mic(data, mic)? {
            None => Ok(()),
            Some(code) => Err(Error::new(code, "the MIC is out of sequence")),
        }
    }
}

/// The acceptor's state machine.
pub(crate) struct Krb5Acceptor {
    pub core: Core,
    cred: AcceptorCred,
    bindings: Option<ChannelBindings>,
    pub delegated: Option<CCache>,
    /// After a failure: the KRB-ERROR token for the initiator, when there is one to send.
    pub error_token: Option<Vec<u8>>,
    started: bool,
}

impl Krb5Acceptor {
    pub fn new(cred: AcceptorCred, bindings: Option<ChannelBindings>) -> Krb5Acceptor {
        let core = Core::new(cred.acceptor().clock().clone());
        Krb5Acceptor { core, cred, bindings, delegated: None, error_token: None, started: false }
    }

    fn accept(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>> {
        let (id, body) = token::parse_krb5_token(input)?;
        if id != TOK_AP_REQ {
            return Err(defective("expected an AP-REQ token"));
        }
        let acceptor = self.cred.acceptor();
        let v = acceptor.verify_at(body, acceptor.clock().now())?;
        self.cred.check_server(&v.server)?;
        self.core.source = Some(v.client.clone());
        self.core.target = Some(v.server.clone());
        let mutual = v.options.has(ap_options::MUTUAL_REQUIRED);
        // DELEG comes back only when a delegation was stored.
        let flags = self.checksum_flags(&v, mutual)?;
        // Confidentiality and integrity are always available (as with MIT, even for an
        // initiator that did not ask for them).
        let allowed = flags.with(ContextFlags::CONF).with(ContextFlags::INTEG);
        let initiator_seq = v.seq_number.unwrap_or(0);
        let (protection, output) = if mutual {
            // MIT's acceptor: an AP-REP only when asked, with a subkey of its own (the enctype
            // of the initiator's subkey) and a random initial sequence number.
            let enctype = v.subkey.as_ref().map_or(v.ticket.session_key.enctype(), |k| k.enctype());
            let subkey = Key::random(enctype)?;
            let seq = initial_seq()?;
            let rep = proto::build_ap_rep(&v, Some(&subkey), Some(seq))?;
            let protection = MessageProtection::new(subkey, true, false, seq.into(), initiator_seq.into(), allowed);
            (protection, Some(token::krb5_token(TOK_AP_REP, &rep)))
        } else {
            let key = v.subkey.clone().unwrap_or_else(|| v.ticket.session_key.clone());
            let protection =
                MessageProtection::new(key, false, false, initiator_seq.into(), initiator_seq.into(), allowed);
            (protection, None)
        };
        self.core.established =
            Some(Established { protection, flags: flags.with(ContextFlags::PROT_READY), expires: v.ticket.end_time });
        Ok(output)
    }

    /// The context flags the authenticator checksum grants, with the channel bindings checked
    /// and a delegation stored; see the module documentation of `gss::context` for the cases.
    fn checksum_flags(&mut self, v: &VerifiedApReq, mutual: bool) -> Result<ContextFlags> {
        let mutual_flag = ContextFlags::NONE.with_if(ContextFlags::MUTUAL, mutual);
        match &v.checksum {
            // No checksum (hand-made GSS code, e.g. some SMB clients; MS-KILE allows it, and so
            // does MIT): no flags asked, bindings not checked.
            None => Ok(mutual_flag),
            Some((ctype, bytes)) if *ctype == checksum_type::GSSAPI => {
                let c = GssChecksum::parse(bytes)?;
                let mut flags = c.flags.intersect(ASKABLE.with(ContextFlags::CONF).with(ContextFlags::INTEG));
                if let Some(b) = &self.bindings {
                    if c.bindings_hash != [0u8; 16] {
                        let ours = b.hash()?;
                        if !openssl::memcmp::eq(&ours, &c.bindings_hash) {
                            return Err(Error::new(
                                ErrorCode::KTIX_ERR_GSS_BAD_BINDINGS,
                                "the initiator's channel bindings differ from the acceptor's",
                            ));
                        }
                        flags = flags.with(ContextFlags::CHANNEL_BOUND);
                    }
                }
                if let Some(krb_cred) = &c.delegation {
                    let mut keys: Vec<&Key> = Vec::with_capacity(2);
                    if let Some(k) = &v.subkey {
                        keys.push(k);
                    }
                    keys.push(&v.ticket.session_key);
                    let creds = proto::open_krb_cred(krb_cred, &keys, &v.client)
                        .map_err(|e| e.context("delegated credentials"))?;
                    // Only the initiator's own tickets: the cache is handed on as the
                    // initiator's identity.
                    if creds.is_empty() || creds.iter().any(|c| c.client != v.client) {
                        log::warn!("ktix gss: delegated credentials from {} for another client ignored", v.client);
                        flags = flags.without(ContextFlags::DELEG);
                    } else {
                        let cache = CCache::memory();
                        cache.initialize(&v.client)?;
                        for cred in creds {
                            cache.store(cred)?;
                        }
                        self.delegated = Some(cache);
                    }
                }
                Ok(flags.with(mutual_flag))
            }
            // A keyed checksum over nothing (Samba's way), as MIT checks it: the session key,
            // usage 10.
            Some((ctype, bytes)) => {
                v.ticket.session_key.verify_checksum(usage::AP_REQ_AUTH_CKSUM, *ctype, &[], bytes).map_err(|_| {
                    Error::new(ErrorCode::KTIX_ERR_GSS_BAD_MIC, "the authenticator checksum does not verify")
                })?;
                Ok(ContextFlags::REPLAY.with(ContextFlags::SEQUENCE).with(mutual_flag))
            }
        }
    }
}

/// The KRB-ERROR token (03 00) an acceptor sends for `err` on the AP-REQ token `input`, as MIT's
/// does: only when the AP-REQ decodes and asks for MUTUAL-REQUIRED (an initiator that does not
/// wait for a reply would never read it). The error code is the Kerberos code of `err`, or
/// `KRB_ERR_GENERIC`; the e-text is the code's fixed text.
fn error_token(input: &[u8], err: &Error, now: Time) -> Option<Vec<u8>> {
    let (id, body) = token::parse_krb5_token(input).ok()?;
    if id != TOK_AP_REQ {
        return None;
    }
    let req = proto::decode_ap_req(body).ok()?;
    if !req.ap_options.has(ap_options::MUTUAL_REQUIRED) {
        return None;
    }
    let server = req.ticket.sname.principal(req.ticket.realm).ok()?;
    let reply = proto::ErrorReply { realm: server.realm().to_string(), server: Some(server), ..Default::default() };
    let krb_error = proto::krb_error(err, now, &reply).ok()?;
    Some(token::krb5_token(TOK_KRB_ERROR, &krb_error))
}

impl NegotiatedMech for Krb5Acceptor {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if self.core.failed {
            return Err(Error::new(ErrorCode::KTIX_ERR_GSS_NO_CONTEXT, "the context failed earlier"));
        }
        if self.started {
            return Err(defective("the context is already established"));
        }
        let r = match input {
            Some(t) => {
                self.started = true;
                let r = self.accept(t);
                if let Err(e) = &r {
                    self.error_token = error_token(t, e, self.core.clock.now());
                }
                r
            }
            None => Err(defective("the acceptor needs the initiator's token")),
        };
        self.core.fail(r)
    }

    fn is_complete(&self) -> bool {
        self.core.established.is_some()
    }

    fn get_mic(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.get_mic(data)
    }

    fn verify_mic(&self, data: &[u8], mic: &[u8]) -> Result<()> {
        match self.core.verify_mic(data, mic)? {
            None => Ok(()),
            Some(code) => Err(Error::new(code, "the MIC is out of sequence")),
        }
    }
}
