//! The AP exchange's messages (RFC 4120 §3.2, §5.5): ONE AP-REQ builder and ONE AP-REQ
//! verification, with the AP-REP that answers it.
//!
//! Every caller of the AP exchange goes through here: the client's TGS requests (the PA-TGS-REQ
//! of RFC 4120 §5.4.1) and its application AP-REQs are built by [`build_ap_req`]; the KDC's TGS
//! exchange and the acceptor verify them with [`open_ap_req`] and [`OpenedApReq::verify`]
//! ([`verify_ap_req`] does both). What differs between callers is a parameter — where the key
//! that opens the ticket comes from, the key usages, whether a keyed checksum is required, and
//! whether replays are remembered — never a second copy of the checks.

use crate::ccache::Credential;
use crate::crypto::{checksum_type, usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::{
    self, ap_options, msg_type, ticket_flags as tf, ApRep, ApReqIn, ApReqOut, AuthenticatorOut, AuthorizationData,
    Checksum, EncApRepPart, Flags, Name, RawDer, Str, Ticket,
};

use super::{
    encryption_key, key_bytes, key_from_bytes, open, open_bytes, open_ticket, seal, take_key, wipe_key, TicketContents,
    PVNO,
};

/// The checksum an authenticator carries.
#[derive(Clone, Copy, Debug)]
pub enum AuthChecksum<'a> {
    /// None.
    None,
    /// A keyed checksum of `over`, made with the ticket's session key for `usage` (the TGS
    /// request: usage 6 over the KDC-REQ-BODY).
    Keyed {
        /// The key usage.
        usage: u32,
        /// The bytes checksummed.
        over: &'a [u8],
    },
    /// A checksum value the application made itself (the GSS-API 0x8003 structure).
    Raw {
        /// The checksum type.
        ctype: i32,
        /// The checksum value.
        bytes: &'a [u8],
    },
}

/// What the client puts in an AP-REQ besides the ticket.
#[derive(Debug)]
pub struct NewApReq<'a> {
    /// The ticket, DER-encoded as the KDC sent it (and the cache keeps it).
    pub ticket: &'a [u8],
    /// The ticket's session key: it seals the authenticator.
    pub session_key: &'a Key,
    /// The ticket's client, named in the authenticator.
    pub client: &'a Principal,
    /// The key usage of the authenticator (7 in a TGS request, 11 in an application AP-REQ).
    pub usage: u32,
    /// The authenticator's time.
    pub now: Time,
    /// The authenticator checksum.
    pub checksum: AuthChecksum<'a>,
    /// A subkey for the rest of the exchange.
    pub subkey: Option<&'a Key>,
    /// The initial sequence number.
    pub seq_number: Option<u32>,
    /// MUTUAL-REQUIRED: the server must answer with an AP-REP.
    pub mutual: bool,
}

impl<'a> NewApReq<'a> {
    /// An AP-REQ with `cred`'s ticket, session key and client, its authenticator sealed for
    /// `usage` at `now` with `subkey`: no checksum, no sequence number, no mutual authentication
    /// (the fields are set after it for those).
    pub fn with_credential(cred: &'a Credential, usage: u32, now: Time, subkey: &'a Key) -> NewApReq<'a> {
        NewApReq {
            ticket: &cred.ticket,
            session_key: &cred.key,
            client: &cred.client,
            usage,
            now,
            checksum: AuthChecksum::None,
            subkey: Some(subkey),
            seq_number: None,
            mutual: false,
        }
    }
}

/// Builds an AP-REQ: the ticket and an authenticator sealed in its session key. Returns the
/// AP-REQ's DER and the authenticator's time (to the microsecond), which a mutual AP-REP echoes.
pub fn build_ap_req(req: &NewApReq<'_>) -> Result<(Vec<u8>, Time)> {
    let key = req.session_key;
    let cksum = match req.checksum {
        AuthChecksum::None => None,
        AuthChecksum::Keyed { usage, over } => {
            Some(Checksum { r#type: key.enctype().checksum_type(), checksum: wire::octets(key.checksum(usage, over)?) })
        }
        AuthChecksum::Raw { ctype, bytes } => Some(Checksum { r#type: ctype, checksum: wire::octets(bytes) }),
    };
    let ctime = Time::from_unix_parts(req.now.unix(), req.now.subsec_micros());
    let auth = AuthenticatorOut {
        authenticator_vno: PVNO,
        crealm: Str::new(req.client.realm())?,
        cname: Name::of(req.client)?,
        cksum,
        cusec: ctime.subsec_micros(),
        ctime,
        subkey: req.subkey.map(key_bytes),
        seq_number: req.seq_number,
    };
    let authenticator = seal(key, req.usage, &auth, None)?;
    // The ticket goes in as the KDC sent it (MIT does the same): decoding it only to encode it
    // again cost ~5,000 instructions per AP-REQ. Only a ticket whose outer TLV is not DER (or
    // not a Ticket at all) is decoded, to re-encode it or to say what is wrong with it.
    let reencoded;
    let ticket = match RawDer::one(req.ticket, TICKET_TAG) {
        Ok(t) => t,
        Err(_) => {
            let t = wire::decode::<Ticket>(req.ticket).map_err(|e| e.context("cached ticket"))?;
            reencoded = wire::encode(&t)?;
            RawDer::one(&reencoded, TICKET_TAG)?
        }
    };
    let ap_req = ApReqOut {
        pvno: PVNO,
        msg_type: msg_type::AP_REQ.into(),
        ap_options: Flags::NONE.with_if(ap_options::MUTUAL_REQUIRED, req.mutual),
        ticket,
        authenticator,
    };
    Ok((wire::encode(&ap_req)?, ctime))
}

/// The identifier of a Ticket, \[APPLICATION 1\] constructed.
const TICKET_TAG: u8 = 0x61;

/// Decodes an AP-REQ, borrowing its ticket and authenticator from `bytes` (issue 17: no copies
/// of the cipher texts), and checks its header (pvno 5, msg-type 14).
pub fn decode_ap_req(bytes: &[u8]) -> Result<ApReqIn<'_>> {
    let req = wire::decode_ap_req(bytes)?;
    wire::check_header(&req.pvno, &req.msg_type, msg_type::AP_REQ)?;
    Ok(req)
}

/// The key that opens a ticket, as the caller's key source found it.
#[derive(Debug)]
pub struct TicketKey {
    /// The key.
    pub key: Key,
    /// Its version.
    pub kvno: u32,
}

/// Remembers authenticators to refuse a second use (`KRB_AP_ERR_REPEAT`). The acceptor's replay
/// caches implement it; the TGS keeps none.
pub trait ReplayGuard {
    /// Records `fingerprint` as seen until `expires`; `KRB_AP_ERR_REPEAT` when it is already there.
    fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()>;
}

/// How an opened AP-REQ is checked: the caller's policy.
pub struct ApReqCheck<'a> {
    /// The accepted clock skew, seconds (a negative value counts as 0).
    pub clock_skew: i64,
    /// The authenticator checksum that must be there: [`AuthChecksum::Keyed`] requires a keyed
    /// checksum of those bytes for that usage (`KRB_AP_ERR_INAPP_CKSUM` when absent,
    /// `KRB_AP_ERR_MODIFIED` when it does not match); [`AuthChecksum::None`] takes whatever the
    /// application sent, refusing only checksum types we do not know. `Raw` is not a check.
    pub checksum: AuthChecksum<'a>,
    /// Accept a ticket flagged INVALID (the TGS's VALIDATE); otherwise it is `KRB_AP_ERR_TKT_NYV`.
    pub allow_invalid: bool,
    /// Where authenticators are remembered; `None`: no replay detection.
    pub replay: Option<&'a dyn ReplayGuard>,
}

/// An AP-REQ whose ticket and authenticator opened, not yet checked.
pub struct OpenedApReq<'a> {
    options: Flags,
    server: Principal,
    kvno: u32,
    ticket_enctype: Enctype,
    ticket: TicketContents,
    auth: OpenedAuthenticator,
    subkey: Option<Key>,
    /// The authenticator's ciphertext: its fingerprint is what a replay cache remembers.
    sealed_authenticator: &'a [u8],
}

/// What [`OpenedApReq::verify`] checks of the authenticator, decoded straight into our types
/// (`wire::decode_authenticator`); the client's name is kept as made, an error included, so
/// that the checks fail in their order (the version first).
struct OpenedAuthenticator {
    vno: wire::Integer,
    client: Result<Principal>,
    cksum: Option<Checksum>,
    cusec: wire::Integer,
    ctime: Time,
    seq_number: Option<u32>,
    authorization_data: Option<AuthorizationData>,
}

/// An AP-REQ that passed every check.
#[derive(Debug)]
pub struct VerifiedApReq {
    /// The AP options (MUTUAL-REQUIRED …).
    pub options: Flags,
    /// The service the ticket is for.
    pub server: Principal,
    /// The version of the key that opened the ticket.
    pub kvno: u32,
    /// The enctype of the key that opened the ticket.
    pub ticket_enctype: Enctype,
    /// The ticket.
    pub ticket: TicketContents,
    /// The authenticated client.
    pub client: Principal,
    /// The authenticator's time, to the microsecond.
    pub ctime: Time,
    /// The client's subkey, when it sent one.
    pub subkey: Option<Key>,
    /// The client's initial sequence number, when it sent one.
    pub seq_number: Option<u32>,
    /// The authenticator checksum (type, bytes), when there is one.
    pub checksum: Option<(i32, Vec<u8>)>,
    /// The authenticator's authorization data.
    pub authorization_data: Option<AuthorizationData>,
}

/// Opens an AP-REQ: the ticket with the key `key_for(server, etype, kvno)` finds (the key
/// source decides which servers it serves and answers `KRB_AP_ERR_NOT_US`, `_BADKEYVER` or
/// `_NOKEY`), then the authenticator with the ticket's session key for `auth_usage`.
/// User-to-user AP-REQs (USE-SESSION-KEY) are `KRB_AP_ERR_METHOD`.
pub fn open_ap_req<'a>(
    req: &ApReqIn<'a>,
    auth_usage: u32,
    key_for: impl FnOnce(&Principal, i32, Option<u32>) -> Result<TicketKey>,
) -> Result<OpenedApReq<'a>> {
    let options = req.ap_options;
    if options.has(ap_options::USE_SESSION_KEY) {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_METHOD, "user-to-user tickets are not supported"));
    }
    let server = req.ticket.sname.principal(req.ticket.realm)?;
    let enc = &req.ticket.enc_part;
    let TicketKey { key, kvno } = key_for(&server, enc.etype, enc.kvno)?;
    let ticket_enctype = key.enctype();
    let ticket = open_ticket(&req.ticket, &key)?;
    let plain =
        open_bytes(&ticket.session_key, auth_usage, req.authenticator).map_err(|e| e.context("authenticator"))?;
    // Decoded straight into our types; the subkey is read from the plaintext (wiped on drop)
    // into the Key, no other copy made.
    let decoded = wire::decode_authenticator(&plain).map_err(|e| e.context("authenticator"))?;
    let subkey = decoded.subkey.map(key_from_bytes).transpose()?;
    let auth = OpenedAuthenticator {
        client: decoded.cname.principal(decoded.crealm),
        vno: decoded.authenticator_vno,
        cksum: decoded.cksum,
        cusec: decoded.cusec,
        ctime: decoded.ctime,
        seq_number: decoded.seq_number,
        authorization_data: decoded.authorization_data,
    };
    Ok(OpenedApReq {
        options,
        server,
        kvno,
        ticket_enctype,
        ticket,
        auth,
        subkey,
        sealed_authenticator: req.authenticator.cipher,
    })
}

/// [`open_ap_req`], then [`OpenedApReq::verify`].
pub fn verify_ap_req(
    req: &ApReqIn<'_>,
    auth_usage: u32,
    key_for: impl FnOnce(&Principal, i32, Option<u32>) -> Result<TicketKey>,
    now: Time,
    check: &ApReqCheck<'_>,
) -> Result<VerifiedApReq> {
    open_ap_req(req, auth_usage, key_for)?.verify(now, check)
}

impl OpenedApReq<'_> {
    /// The opened ticket (its client is known before the authenticator is checked).
    pub fn ticket(&self) -> &TicketContents {
        &self.ticket
    }

    /// Checks the authenticator against the ticket at `now` (RFC 4120 §3.2.3): version 5, the
    /// same client (`KRB_AP_ERR_BADMATCH`), its time within the skew (`KRB_AP_ERR_SKEW`), the
    /// ticket valid now within the skew (`KRB_AP_ERR_TKT_NYV`, `KRB_AP_ERR_TKT_EXPIRED`), the
    /// checksum as `check` requires, and — last, so only a request that passed every check is
    /// remembered — not a replay.
    pub fn verify(self, now: Time, check: &ApReqCheck<'_>) -> Result<VerifiedApReq> {
        let OpenedApReq { options, server, kvno, ticket_enctype, ticket, auth, subkey, sealed_authenticator } = self;
        if wire::int_value(&auth.vno, "authenticator-vno")? != wire::PVNO {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_BADVERSION, "authenticator version is not 5"));
        }
        let client = auth.client?;
        if client != ticket.client {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_BADMATCH, "ticket and authenticator name different clients"));
        }
        let skew = check.clock_skew.max(0);
        let ctime = Time::from_unix_parts(auth.ctime.unix(), wire::micros(&auth.cusec)?);
        if !ctime.within_secs(now, skew) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_SKEW, "clock skew too great"));
        }
        if ticket.start().minus_secs(skew) > now || (ticket.flags.has(tf::INVALID) && !check.allow_invalid) {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_TKT_NYV, "ticket not yet valid"));
        }
        if ticket.end_time.plus_secs(skew) < now {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_TKT_EXPIRED, "ticket expired"));
        }
        let checksum = check_checksum(&ticket.session_key, auth.cksum.as_ref(), check.checksum)?;
        if let Some(replay) = check.replay {
            replay.check_and_insert(fingerprint(sealed_authenticator)?, ctime.plus_secs(skew), now)?;
        }
        Ok(VerifiedApReq {
            options,
            server,
            kvno,
            ticket_enctype,
            ticket,
            client,
            ctime,
            subkey,
            seq_number: auth.seq_number,
            checksum,
            authorization_data: auth.authorization_data,
        })
    }
}

/// The authenticator checksum as the caller requires it; returns it as (type, bytes).
fn check_checksum(
    session_key: &Key,
    cksum: Option<&Checksum>,
    required: AuthChecksum<'_>,
) -> Result<Option<(i32, Vec<u8>)>> {
    match (required, cksum) {
        (AuthChecksum::Keyed { usage, over }, Some(c)) => {
            session_key.verify_checksum(usage, c.r#type, over, &c.checksum).map_err(|e| match e.code() {
                ErrorCode::KRB_AP_ERR_BAD_INTEGRITY => {
                    Error::new(ErrorCode::KRB_AP_ERR_MODIFIED, "the checksummed data does not match the authenticator")
                }
                _ => e,
            })?;
        }
        (AuthChecksum::Keyed { .. }, None) => {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_INAPP_CKSUM, "the authenticator has no checksum"));
        }
        (_, Some(c)) if c.r#type != checksum_type::GSSAPI && Enctype::for_checksum_type(c.r#type).is_err() => {
            // A keyed checksum over application data we do not see: we can only check its type.
            return Err(Error::new(
                ErrorCode::KRB_AP_ERR_INAPP_CKSUM,
                format!("authenticator checksum type {} is not supported", c.r#type),
            ));
        }
        _ => {}
    }
    Ok(cksum.map(|c| (c.r#type, c.checksum.to_vec())))
}

/// The replay-cache fingerprint of an authenticator: SHA-256 of its ciphertext.
fn fingerprint(cipher: &[u8]) -> Result<[u8; 32]> {
    let d = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), cipher)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    Ok(out)
}

/// The AP-REP for a verified AP-REQ (mutual authentication): the authenticator's time echoed,
/// sealed in the ticket's session key (usage 12), with the acceptor's subkey and sequence number
/// when it chooses them.
pub fn build_ap_rep(verified: &VerifiedApReq, subkey: Option<&Key>, seq_number: Option<u32>) -> Result<Vec<u8>> {
    let mut part = EncApRepPart {
        ctime: wire::kerberos_time(verified.ctime),
        cusec: wire::int(verified.ctime.subsec_micros().into()),
        subkey: subkey.map(encryption_key),
        seq_number,
    };
    let enc_part = seal(&verified.ticket.session_key, usage::AP_REP_ENC_PART, &part, None);
    if let Some(k) = part.subkey.as_mut() {
        wipe_key(k);
    }
    let rep = ApRep { pvno: wire::int(wire::PVNO), msg_type: wire::int(msg_type::AP_REP.into()), enc_part: enc_part? };
    wire::encode(&rep)
}

/// What a verified AP-REP said.
#[derive(Debug)]
pub struct ApRepContents {
    /// The server's subkey, if it chose one.
    pub subkey: Option<Key>,
    /// The server's initial sequence number, if any.
    pub seq_number: Option<u32>,
}

/// Checks a server's AP-REP: it must open with the session key (usage 12) and echo the
/// authenticator's time `ctime` exactly, else `KRB_AP_ERR_MUT_FAIL`. A KRB-ERROR from the server
/// is returned as the error it carries.
pub fn verify_ap_rep(ap_rep: &[u8], session_key: &Key, ctime: Time) -> Result<ApRepContents> {
    if wire::message_tag(ap_rep) == Some(msg_type::KRB_ERROR) {
        return Err(super::error_from_krb_error(&wire::decode::<wire::KrbError>(ap_rep)?));
    }
    let rep = wire::decode::<ApRep>(ap_rep)?;
    wire::check_header(&rep.pvno, &rep.msg_type, msg_type::AP_REP)?;
    let mut part: EncApRepPart = open(session_key, usage::AP_REP_ENC_PART, &rep.enc_part).map_err(|e| {
        Error::new(
            ErrorCode::KRB_AP_ERR_MUT_FAIL,
            format!("the AP-REP does not open with the session key: {}", e.message()),
        )
    })?;
    let subkey = part.subkey.as_mut().map(take_key).transpose()?;
    let t = Time::from_unix_parts(wire::time_from(&part.ctime).unix(), wire::micros(&part.cusec)?);
    if t != ctime {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_MUT_FAIL, "the AP-REP does not echo the authenticator's time"));
    }
    Ok(ApRepContents { subkey, seq_number: part.seq_number })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::proto::issue_ticket;
    use crate::wire::TransitedEncoding;

    const NOW: Time = Time::from_unix_parts(1_790_000_000, 250_000);

    struct Fixture {
        service_key: Key,
        session_key: Key,
        client: Principal,
        server: Principal,
        ticket: Vec<u8>,
    }

    fn fixture(flags: Flags) -> Fixture {
        let service_key = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
        let session_key = Key::random(Enctype::Aes128CtsHmacSha256128).unwrap();
        let client = Principal::parse("alice@R.TEST", None).unwrap();
        let server = Principal::parse("host/s.r.test@R.TEST", None).unwrap();
        let contents = TicketContents {
            flags,
            session_key: session_key.clone(),
            client: client.clone(),
            auth_time: NOW.minus_secs(60),
            start_time: None,
            end_time: NOW.plus_secs(3600),
            renew_till: None,
            addresses: None,
            authorization_data: None,
            transited: TransitedEncoding { r#type: 1, contents: wire::octets(Vec::new()) },
        };
        let ticket = wire::encode(&issue_ticket(&contents, &server, &service_key, 3).unwrap()).unwrap();
        Fixture { service_key, session_key, client, server, ticket }
    }

    impl Fixture {
        /// An AP-REQ's bytes (checked to decode) and its authenticator time.
        fn ap_req(&self, usage: u32, checksum: AuthChecksum<'_>, now: Time) -> (Vec<u8>, Time) {
            let subkey = Key::random(self.session_key.enctype()).unwrap();
            let (bytes, ctime) = build_ap_req(&NewApReq {
                ticket: &self.ticket,
                session_key: &self.session_key,
                client: &self.client,
                usage,
                now,
                checksum,
                subkey: Some(&subkey),
                seq_number: Some(7),
                mutual: true,
            })
            .unwrap();
            decode_ap_req(&bytes).unwrap();
            (bytes, ctime)
        }

        fn verify(&self, req: &[u8], usage: u32, now: Time, check: &ApReqCheck<'_>) -> Result<VerifiedApReq> {
            let key = self.service_key.clone();
            verify_ap_req(&decode_ap_req(req)?, usage, |_, _, _| Ok(TicketKey { key, kvno: 3 }), now, check)
        }
    }

    fn check(checksum: AuthChecksum<'_>) -> ApReqCheck<'_> {
        ApReqCheck { clock_skew: 300, checksum, allow_invalid: false, replay: None }
    }

    /// Remembers every fingerprint; refuses the second sight of one.
    impl ReplayGuard for parking_lot::Mutex<Vec<[u8; 32]>> {
        fn check_and_insert(&self, fingerprint: [u8; 32], _: Time, _: Time) -> Result<()> {
            let mut seen = self.lock();
            if seen.contains(&fingerprint) {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_REPEAT, "replay"));
            }
            seen.push(fingerprint);
            Ok(())
        }
    }

    #[test]
    fn built_and_verified_round_trip_with_ap_rep() {
        let f = fixture(Flags::NONE);
        let (req, ctime) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, NOW);
        assert_eq!(ctime, NOW);
        let v = f.verify(&req, usage::AP_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap();
        assert_eq!(
            (v.client.clone(), v.server.clone(), v.kvno, v.seq_number),
            (f.client.clone(), f.server, 3, Some(7))
        );
        assert!(v.options.has(ap_options::MUTUAL_REQUIRED));
        assert!(v.subkey.is_some() && v.checksum.is_none());
        let rep = build_ap_rep(&v, None, Some(9)).unwrap();
        let got = verify_ap_rep(&rep, &f.session_key, ctime).unwrap();
        assert_eq!(got.seq_number, Some(9));
        // Another time is not an echo; another key does not open it.
        let err = verify_ap_rep(&rep, &f.session_key, ctime.plus_secs(1)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_MUT_FAIL);
        let other = Key::random(f.session_key.enctype()).unwrap();
        assert_eq!(verify_ap_rep(&rep, &other, ctime).unwrap_err().code(), ErrorCode::KRB_AP_ERR_MUT_FAIL);
    }

    #[test]
    fn the_authenticator_usage_is_the_callers() {
        let f = fixture(Flags::NONE);
        let (req, _) = f.ap_req(usage::TGS_REQ_AUTH, AuthChecksum::None, NOW);
        let err = f.verify(&req, usage::AP_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
        f.verify(&req, usage::TGS_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap();
    }

    #[test]
    fn a_required_keyed_checksum_must_be_there_and_match() {
        let f = fixture(Flags::NONE);
        let body = b"the request body".as_slice();
        let keyed = AuthChecksum::Keyed { usage: usage::TGS_REQ_AUTH_CKSUM, over: body };
        let (req, _) = f.ap_req(usage::TGS_REQ_AUTH, keyed, NOW);
        let v = f.verify(&req, usage::TGS_REQ_AUTH, NOW, &check(keyed)).unwrap();
        assert_eq!(v.checksum.unwrap().0, f.session_key.enctype().checksum_type());

        let other = AuthChecksum::Keyed { usage: usage::TGS_REQ_AUTH_CKSUM, over: b"another body" };
        let err = f.verify(&req, usage::TGS_REQ_AUTH, NOW, &check(other)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_MODIFIED);

        let (bare, _) = f.ap_req(usage::TGS_REQ_AUTH, AuthChecksum::None, NOW);
        let err = f.verify(&bare, usage::TGS_REQ_AUTH, NOW, &check(keyed)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_INAPP_CKSUM);
    }

    #[test]
    fn application_checksums_pass_through_unless_of_an_unknown_type() {
        let f = fixture(Flags::NONE);
        let gss = AuthChecksum::Raw { ctype: checksum_type::GSSAPI, bytes: &[0u8; 24] };
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, gss, NOW);
        let v = f.verify(&req, usage::AP_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap();
        assert_eq!(v.checksum, Some((checksum_type::GSSAPI, vec![0u8; 24])));
        let odd = AuthChecksum::Raw { ctype: 0x7777, bytes: &[1, 2, 3] };
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, odd, NOW);
        let err = f.verify(&req, usage::AP_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_INAPP_CKSUM);
    }

    #[test]
    fn skew_ticket_times_and_invalid_tickets() {
        let f = fixture(Flags::NONE);
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, NOW);
        let err = f.verify(&req, usage::AP_REQ_AUTH, NOW.plus_secs(301), &check(AuthChecksum::None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_SKEW);
        let late = NOW.plus_secs(3600 + 200);
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, late);
        // Within the skew of the end time: accepted; beyond it: expired.
        f.verify(&req, usage::AP_REQ_AUTH, late, &check(AuthChecksum::None)).unwrap();
        let later = NOW.plus_secs(3600 + 400);
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, later);
        let err = f.verify(&req, usage::AP_REQ_AUTH, later, &check(AuthChecksum::None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_TKT_EXPIRED);

        let f = fixture(Flags::NONE.with(tf::INVALID));
        let (req, _) = f.ap_req(usage::TGS_REQ_AUTH, AuthChecksum::None, NOW);
        let err = f.verify(&req, usage::TGS_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_TKT_NYV);
        let validate = ApReqCheck { allow_invalid: true, ..check(AuthChecksum::None) };
        f.verify(&req, usage::TGS_REQ_AUTH, NOW, &validate).unwrap();
    }

    #[test]
    fn only_requests_that_pass_every_check_are_remembered() {
        let f = fixture(Flags::NONE);
        let seen = parking_lot::Mutex::new(Vec::new());
        let guarded = ApReqCheck { replay: Some(&seen), ..check(AuthChecksum::None) };
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, NOW);
        let err = f.verify(&req, usage::AP_REQ_AUTH, NOW.plus_secs(1000), &guarded).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_SKEW);
        assert!(seen.lock().is_empty());
        f.verify(&req, usage::AP_REQ_AUTH, NOW, &guarded).unwrap();
        let err = f.verify(&req, usage::AP_REQ_AUTH, NOW, &guarded).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_REPEAT);
        // Without a guard (the TGS) the same request passes again.
        f.verify(&req, usage::AP_REQ_AUTH, NOW, &check(AuthChecksum::None)).unwrap();
    }

    #[test]
    fn the_key_source_decides_and_names_the_server() {
        let f = fixture(Flags::NONE);
        let (req, _) = f.ap_req(usage::AP_REQ_AUTH, AuthChecksum::None, NOW);
        let req = decode_ap_req(&req).unwrap();
        let asked = Cell::new(None);
        let err = open_ap_req(&req, usage::AP_REQ_AUTH, |server, etype, kvno| {
            asked.set(Some((server.to_string(), etype, kvno)));
            Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, "not ours"))
        })
        .err()
        .unwrap();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_NOT_US);
        assert_eq!(asked.take(), Some(("host/s.r.test@R.TEST".to_string(), 18, Some(3))));
        // A wrong key: the ticket does not open.
        let wrong = Key::random(Enctype::Aes256CtsHmacSha196).unwrap();
        let err = open_ap_req(&req, usage::AP_REQ_AUTH, |_, _, _| Ok(TicketKey { key: wrong, kvno: 3 })).err().unwrap();
        assert_eq!(err.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY);
    }
}
