//! Logging in: the AS exchange, pre-authenticated with PA-ENC-TIMESTAMP.

use zeroize::Zeroizing;

use crate::ccache::Credential;
use crate::crypto::{usage, Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::keytab::Keytab;
use crate::principal::Principal;
use crate::proto;
use crate::wire::{
    self, kdc_options as opt, msg_type, pa_type, AsRep, AsReq, EtypeInfo2, FlagBits, Flags, KdcOptions, KdcReq,
    KdcReqBody, KrbError, MethodData, PaData, PaEncTsEnc,
};

use super::Client;

/// Where the client's long-term key comes from.
enum KeySource<'a> {
    Password(&'a [u8]),
    Keytab(&'a Keytab),
}

impl KeySource<'_> {
    /// The key for `etype`, with the salt and parameters the KDC announced.
    fn key(&self, who: &Principal, etype: Enctype, salt: Option<&[u8]>, s2kparams: Option<&[u8]>) -> Result<Key> {
        match self {
            KeySource::Password(pw) => {
                let default_salt = who.default_salt();
                Key::from_password(etype, pw, salt.unwrap_or(&default_salt), s2kparams)
            }
            KeySource::Keytab(kt) => {
                kt.find(who, None, Some(etype)).and_then(|e| e.key.key().cloned()).ok_or_else(|| {
                    Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("the keytab has no {etype} key for {who}"))
                })
            }
        }
    }

    /// Enctypes this source can produce, in the client's preference order.
    fn enctypes(&self, who: &Principal, preferred: &[Enctype]) -> Vec<Enctype> {
        match self {
            KeySource::Password(_) => preferred.to_vec(),
            KeySource::Keytab(kt) => {
                preferred.iter().copied().filter(|&e| kt.find(who, None, Some(e)).is_some()).collect()
            }
        }
    }
}

/// The salt and parameters for one enctype, from ETYPE-INFO2.
struct SaltInfo {
    etype: Enctype,
    salt: Option<Vec<u8>>,
    s2kparams: Option<Vec<u8>>,
}

/// The first ETYPE-INFO2 entry of an enctype we asked for.
fn salt_info(padata: &[PaData], asked: &[Enctype]) -> Result<Option<SaltInfo>> {
    let Some(pa) = padata.iter().find(|p| p.r#type == pa_type::ETYPE_INFO2) else {
        return Ok(None);
    };
    let entries = wire::decode::<EtypeInfo2>(&pa.value).map_err(|e| e.context("PA-ETYPE-INFO2"))?;
    Ok(entries.into_iter().find_map(|e| {
        let etype = Enctype::from_i32(e.etype).ok().filter(|et| asked.contains(et))?;
        Some(SaltInfo {
            etype,
            salt: e.salt.map(|s| s.as_bytes().to_vec()),
            s2kparams: e.s2kparams.map(|p| p.to_vec()),
        })
    }))
}

impl Client {
    /// Logs `user` in with a password: AS exchange with pre-authentication; the TGT goes into
    /// the cache, which is first emptied and given to `user`.
    pub fn login(&self, user: &str, password: &str) -> Result<Credential> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        self.login_with(user, &KeySource::Password(&pw))
    }

    /// Logs `user` in with its key from a keytab (as `kinit -k`).
    pub fn login_with_keytab(&self, user: &str, keytab: &Keytab) -> Result<Credential> {
        self.login_with(user, &KeySource::Keytab(keytab))
    }

    fn login_with(&self, user: &str, source: &KeySource<'_>) -> Result<Credential> {
        let me = self.principal(user)?;
        let cred = self.initial_ticket(&me, &Principal::krbtgt(me.realm()), source)?;
        self.ccache.initialize(&me)?;
        self.ccache.store(cred.clone())?;
        Ok(cred)
    }

    /// An INITIAL ticket for `user` to `service` from its password (kinit -S): the AS exchange
    /// of [`Client::login`], the credential returned and not cached. `kpasswd` uses it for
    /// `kadmin/changepw`.
    pub fn initial_ticket_with_password(&self, user: &str, password: &str, service: &Principal) -> Result<Credential> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        self.initial_ticket(&self.principal(user)?, service, &KeySource::Password(&pw))
    }

    fn initial_ticket(&self, me: &Principal, tgs: &Principal, source: &KeySource<'_>) -> Result<Credential> {
        let (me, tgs) = (me.clone(), tgs.clone());
        let etypes = source.enctypes(&me, &self.config.enctypes);
        if etypes.is_empty() {
            return Err(Error::new(ErrorCode::KDC_ERR_ETYPE_NOSUPP, format!("no usable key enctype for {me}")));
        }

        // First try without pre-authentication, to learn the enctype and salt (as kinit does).
        let (nonce, request) = self.as_request(&me, &tgs, &etypes, None)?;
        self.as_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply = self.transport.send(&request)?;
        let (reply, nonce, key) = match wire::message_tag(&reply) {
            Some(msg_type::AS_REP) => {
                let rep = wire::decode::<AsRep>(&reply)?.0;
                let info = salt_info(rep.padata.as_deref().unwrap_or_default(), &etypes)?;
                let etype = Enctype::from_i32(rep.enc_part.etype)?;
                let (salt, params) = match &info {
                    Some(i) if i.etype == etype => (i.salt.as_deref(), i.s2kparams.as_deref()),
                    _ => (None, None),
                };
                (reply.clone(), nonce, source.key(&me, etype, salt, params)?)
            }
            Some(msg_type::KRB_ERROR) => {
                let err = wire::decode::<KrbError>(&reply)?;
                if err.error_code != ErrorCode::KDC_ERR_PREAUTH_REQUIRED.code() {
                    return Err(proto::error_from_krb_error(&err));
                }
                let method_data = match &err.e_data {
                    Some(d) => wire::decode::<MethodData>(d).map_err(|e| e.context("PREAUTH_REQUIRED e-data"))?,
                    None => Vec::new(),
                };
                if !method_data.iter().any(|p| p.r#type == pa_type::ENC_TIMESTAMP) {
                    return Err(Error::new(
                        ErrorCode::KDC_ERR_PADATA_TYPE_NOSUPP,
                        "the KDC does not offer encrypted-timestamp pre-authentication",
                    ));
                }
                let info = salt_info(&method_data, &etypes)?;
                let (etype, salt, params) = match &info {
                    Some(i) => (i.etype, i.salt.as_deref(), i.s2kparams.as_deref()),
                    None => (etypes[0], None, None),
                };
                let key = source.key(&me, etype, salt, params)?;
                let now = self.now();
                let ts = PaEncTsEnc {
                    patimestamp: wire::kerberos_time(now),
                    pausec: Some(wire::int(now.subsec_micros().into())),
                };
                let pa = PaData {
                    r#type: pa_type::ENC_TIMESTAMP,
                    value: wire::octets(wire::encode(&proto::seal(&key, usage::PA_ENC_TIMESTAMP, &ts, None)?)?),
                };
                let (nonce, request) = self.as_request(&me, &tgs, &etypes, Some(pa))?;
                self.as_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (self.exchange(&request, msg_type::AS_REP)?, nonce, key)
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_REPLY_MISMATCH,
                    "the KDC's reply is neither AS-REP nor KRB-ERROR",
                ))
            }
        };
        self.read_as_rep(&reply, &me, &tgs, nonce, &key)
    }

    /// Builds an AS-REQ; returns its nonce and bytes.
    fn as_request(
        &self,
        me: &Principal,
        tgs: &Principal,
        etypes: &[Enctype],
        pa: Option<PaData>,
    ) -> Result<(u32, Vec<u8>)> {
        let now = self.now();
        let nonce = Self::nonce()?;
        let mut options = Flags::NONE.with_if(opt::FORWARDABLE, self.config.forwardable);
        let rtime = match self.config.renew_lifetime {
            Some(r) => {
                options = options.with(opt::RENEWABLE);
                Some(wire::kerberos_time(now.plus_secs(r)))
            }
            None => {
                options = options.with(opt::RENEWABLE_OK);
                None
            }
        };
        let body = KdcReqBody {
            kdc_options: KdcOptions(options.to_bits()),
            cname: Some(wire::principal_name(me)?),
            realm: wire::kstring(me.realm())?,
            sname: Some(wire::principal_name(tgs)?),
            from: None,
            till: wire::kerberos_time(now.plus_secs(self.config.ticket_lifetime)),
            rtime,
            nonce,
            etype: etypes.iter().map(|e| e.id()).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let req = AsReq(KdcReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::AS_REQ.into()),
            padata: pa.map(|p| vec![p]),
            req_body: body,
        });
        Ok((nonce, wire::encode(&req)?))
    }

    /// Opens an AS-REP with the client's key and checks it answers our request.
    fn read_as_rep(&self, reply: &[u8], me: &Principal, tgs: &Principal, nonce: u32, key: &Key) -> Result<Credential> {
        let rep = wire::decode::<AsRep>(reply)?.0;
        wire::check_header(&rep.pvno, &rep.msg_type, msg_type::AS_REP)?;
        let plain = proto::open_bytes(key, usage::AS_REP_ENC_PART, &rep.enc_part)
            .map_err(|e| Error::new(e.code(), "cannot open the AS reply: wrong password or key".to_string()))?;
        let (mut part, _tag) = wire::decode_enc_kdc_rep_part(&plain)?;
        let session_key = proto::take_key(&mut part.key)?;
        check_reply("AS", &rep, &part, nonce, me, tgs)?;
        credential_from(me.clone(), tgs.clone(), session_key, &part, wire::encode(&rep.ticket)?)
    }
}

/// What a client checks of every KDC reply (RFC 4120 §3.1.5, §3.3.4): the nonce it sent, the
/// client named in the reply, and the server both in the encrypted part and on the ticket.
pub(super) fn check_reply(
    exchange: &str,
    rep: &wire::KdcRep,
    part: &wire::EncKdcRepPart,
    nonce: u32,
    client: &Principal,
    server: &Principal,
) -> Result<()> {
    let mismatch = |what: &str| {
        Error::new(ErrorCode::KTIX_ERR_REPLY_MISMATCH, format!("{exchange} reply: {what} does not match the request"))
    };
    if part.nonce != nonce {
        return Err(mismatch("nonce"));
    }
    if &wire::principal_from(&part.sname, &part.srealm)? != server {
        return Err(mismatch("server name"));
    }
    if &wire::principal_from(&rep.cname, &rep.crealm)? != client {
        return Err(mismatch("client name"));
    }
    if &wire::principal_from(&rep.ticket.sname, &rep.ticket.realm)? != server {
        return Err(mismatch("ticket server"));
    }
    Ok(())
}

/// A cache credential from a decrypted EncKDCRepPart (whose key the caller has taken out with
/// [`proto::take_key`]) and the ticket's bytes.
pub(super) fn credential_from(
    client: Principal,
    server: Principal,
    key: Key,
    part: &wire::EncKdcRepPart,
    ticket: Vec<u8>,
) -> Result<Credential> {
    Ok(Credential {
        client,
        server,
        key,
        auth_time: wire::time_from(&part.auth_time),
        start_time: wire::opt_time(&part.start_time),
        end_time: wire::time_from(&part.end_time),
        renew_till: wire::opt_time(&part.renew_till),
        flags: Flags::from_bits(&part.flags.0),
        is_skey: false,
        addresses: part.caddr.iter().flatten().map(|a| (a.addr_type, a.address.to_vec())).collect(),
        authdata: Vec::new(),
        ticket,
        second_ticket: Vec::new(),
    })
}
