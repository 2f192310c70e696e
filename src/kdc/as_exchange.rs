//! The AS exchange (RFC 4120 §3.1): initial tickets, with PA-ENC-TIMESTAMP pre-authentication.

use crate::crypto::{usage, Enctype};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::proto::{self, TicketContents};
use crate::time::Time;
use crate::wire::{
    self, kdc_options as opt, msg_type, pa_type, ticket_flags as tf, AsRepOut, EncAsRepPartOut, EncKdcRepPartOut,
    EtypeInfo2EntryOut, Flags, KdcRepOut, LastReqEntry, Name, PaDataOut, PaEncTsEnc, SeqOf, Str, TransitedEncoding,
};

use super::{min_time, requested_limit, Kdc, PrincipalEntry, RequestFacts};

pub(super) fn handle(kdc: &Kdc, request: &[u8], now: Time, facts: &mut RequestFacts) -> Result<Vec<u8>> {
    // Borrowed from the request bytes (issue 17): the names are read from it in place, and the
    // reply echoes the cname from it.
    let mut req = wire::decode_as_req(request)?;
    wire::check_header(&req.pvno, &req.msg_type, msg_type::AS_REQ)?;
    // Moved out of the request, not copied: nothing below reads body.addresses again.
    let addresses = req.body.addresses.take();
    let body = &req.body;
    let cname = body.cname.ok_or_else(|| Error::malformed("AS-REQ without cname"))?;
    // The names live in facts (the log and error replies name them) and are borrowed from there;
    // the client is known to them even when the sname is bad.
    let client: &Principal = facts.client.insert(cname.principal(body.realm)?);
    let sname = body.sname.ok_or_else(|| Error::malformed("AS-REQ without sname"))?;
    let server: &Principal = facts.service.insert(sname.principal(body.realm)?);
    // Both names carry the request's realm.
    if client.realm() != kdc.realm() {
        return Err(Error::new(
            ErrorCode::KDC_ERR_WRONG_REALM,
            format!("this KDC serves {}, not {}", kdc.realm(), client.realm()),
        ));
    }

    // Disabled, expired, locked out: refused before any password is tried, as MIT's KDC.
    let (centry, cpolicy) = kdc.client_entry(client, now)?;
    let sentry = kdc.server_entry(server, now)?;

    // The reply key, as MIT chooses it: the first enctype in the client's list that the realm
    // permits and the client has a key for.
    let reply_etype = body
        .etype
        .iter()
        .filter_map(|&n| Enctype::from_i32(n).ok())
        .find(|&e| kdc.policy().enctypes.contains(&e) && centry.current_key(e).is_some())
        .ok_or_else(|| {
            Error::new(ErrorCode::KDC_ERR_ETYPE_NOSUPP, format!("{client} has no key of a requested enctype"))
        })?;
    let reply_key = centry.current_key(reply_etype).expect("checked above");

    let pre_authenticated = match req.find_padata(pa_type::ENC_TIMESTAMP) {
        Some(value) => {
            let checked = verify_timestamp(kdc, &centry, value, now);
            // Failed pre-authentications count towards the policy's lockout; a success ends
            // the count.
            match (&checked, &cpolicy) {
                (Err(e), Some(p)) if p.max_failures > 0 && e.code() == ErrorCode::KDC_ERR_PREAUTH_FAILED => {
                    kdc.store().record_failure(client, p, now)?;
                }
                (Ok(()), _) if centry.fail_count > 0 => kdc.store().clear_failures(client)?,
                _ => {}
            }
            checked?;
            true
        }
        None if centry.requires_preauth => {
            facts.e_data = Some(preauth_method_data(&centry, reply_etype)?);
            return Err(Error::new(ErrorCode::KDC_ERR_PREAUTH_REQUIRED, "NEEDED_PREAUTH"));
        }
        None => false,
    };

    let options = body.kdc_options;
    if options.has(opt::POSTDATED) || options.has(opt::ALLOW_POSTDATE) {
        return Err(Error::new(ErrorCode::KDC_ERR_CANNOT_POSTDATE, "postdated tickets are not issued"));
    }
    let policy = kdc.policy();
    let start = now.whole_seconds();
    let till = requested_limit(Some(body.till));
    let end = min_time([
        till,
        Some(start.plus_secs(policy.max_life)),
        centry.max_life.map(|l| start.plus_secs(l)),
        sentry.max_life.map(|l| start.plus_secs(l)),
    ])
    .expect("the realm limit is always there");
    if end <= start {
        return Err(Error::new(ErrorCode::KDC_ERR_NEVER_VALID, "the requested end time is not after the start"));
    }

    let mut flags = Flags::NONE.with(tf::INITIAL).with_if(tf::PRE_AUTHENT, pre_authenticated);
    if options.has(opt::FORWARDABLE) && centry.allow_forwardable && sentry.allow_forwardable {
        flags = flags.with(tf::FORWARDABLE);
    }
    if options.has(opt::PROXIABLE) {
        flags = flags.with(tf::PROXIABLE);
    }
    let renewable_allowed = centry.allow_renewable && sentry.allow_renewable && policy.max_renewable_life > 0;
    let mut rtime = if options.has(opt::RENEWABLE) { body.rtime } else { None };
    if options.has(opt::RENEWABLE_OK) && !options.has(opt::RENEWABLE) && till.is_some_and(|t| t > end) {
        rtime = till;
    }
    let renew_till = if renewable_allowed && (options.has(opt::RENEWABLE) || rtime.is_some()) {
        min_time([
            requested_limit(rtime).or(Some(start.plus_secs(policy.max_renewable_life))),
            Some(start.plus_secs(policy.max_renewable_life)),
            centry.max_renewable_life.map(|l| start.plus_secs(l)),
            sentry.max_renewable_life.map(|l| start.plus_secs(l)),
        ])
        .filter(|&r| r > end)
    } else {
        None
    };
    flags = flags.with_if(tf::RENEWABLE, renew_till.is_some());

    let session_key = kdc.new_session_key(&body.etype, &sentry)?;
    facts.session_enctype = Some(session_key.enctype());
    let contents = TicketContents {
        flags,
        session_key,
        client: client.clone(),
        auth_time: start,
        start_time: Some(start),
        end_time: end,
        renew_till,
        addresses,
        authorization_data: None,
        transited: TransitedEncoding { r#type: 1, contents: wire::octets(Vec::new()) },
    };
    let tkey = kdc.ticket_key(&sentry)?;
    let ticket = proto::issue_ticket(&contents, server, &tkey.key, tkey.kvno)?;

    let part = EncAsRepPartOut(EncKdcRepPartOut {
        key: proto::key_bytes(&contents.session_key),
        last_req: [LastReqEntry { r#type: 0, value: start }],
        nonce: body.nonce,
        key_expiration: None,
        flags,
        auth_time: start,
        start_time: Some(start),
        end_time: end,
        renew_till,
        srealm: ticket.realm,
        sname: ticket.sname,
        caddr: contents.addresses.as_ref(),
    });
    let enc_part = proto::seal_out(&reply_key.key, usage::AS_REP_ENC_PART, &part, Some(reply_key.kvno))?;
    let etype_info2 = wire::encode(&SeqOf([etype_info2_entry(&centry, reply_etype)?]))?;
    let rep = AsRepOut(KdcRepOut {
        pvno: wire::PVNO as i32,
        msg_type: msg_type::AS_REP.into(),
        padata: Some(SeqOf([PaDataOut { r#type: pa_type::ETYPE_INFO2, value: &etype_info2 }])),
        crealm: Str::new(client.realm())?,
        // The cname as it came (its components' bytes, whatever the client's Principal makes of
        // bytes that are not UTF-8).
        cname: Name::In(cname),
        ticket,
        enc_part,
    });
    wire::encode(&rep)
}

/// Checks PA-ENC-TIMESTAMP: opens with the client's key (`KDC_ERR_PREAUTH_FAILED` when it
/// does not) and checks the time against the skew (`KRB_AP_ERR_SKEW`).
fn verify_timestamp(kdc: &Kdc, centry: &PrincipalEntry, value: &[u8], now: Time) -> Result<()> {
    let enc = wire::decode_encrypted_data(value).map_err(|e| e.context("PA-ENC-TIMESTAMP"))?;
    let etype = Enctype::from_i32(enc.etype)
        .map_err(|_| Error::new(ErrorCode::KDC_ERR_PREAUTH_FAILED, "PA-ENC-TIMESTAMP in an unsupported enctype"))?;
    let key =
        centry.current_key(etype).filter(|k| enc.kvno.is_none_or(|v| v == 0 || v == k.kvno)).ok_or_else(|| {
            Error::new(ErrorCode::KDC_ERR_PREAUTH_FAILED, format!("{} has no current {etype} key", centry.principal))
        })?;
    let ts: PaEncTsEnc = proto::open(&key.key, usage::PA_ENC_TIMESTAMP, enc).map_err(|e| match e.code() {
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY => {
            Error::new(ErrorCode::KDC_ERR_PREAUTH_FAILED, "pre-authentication failed (wrong password?)")
        }
        _ => Error::new(ErrorCode::KDC_ERR_PREAUTH_FAILED, format!("PA-ENC-TIMESTAMP: {}", e.message())),
    })?;
    let usec = ts.pausec.as_ref().map(wire::micros).transpose()?.unwrap_or(0);
    let t = Time::from_unix_parts(wire::time_from(&ts.patimestamp).unix(), usec);
    if !t.within_secs(now, kdc.policy().clock_skew) {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_SKEW, "clock skew too great"));
    }
    Ok(())
}

/// The ETYPE-INFO2-ENTRY of the client's current key of `etype`: its salt and s2kparams,
/// borrowed (issue 17).
fn etype_info2_entry(centry: &PrincipalEntry, etype: Enctype) -> Result<EtypeInfo2EntryOut<'_>> {
    let k = centry.current_key(etype).ok_or_else(|| Error::invalid("no key"))?;
    Ok(EtypeInfo2EntryOut {
        etype: etype.id(),
        salt: Some(Str::bytes(&k.salt).ok_or_else(|| Error::invalid("salt not representable"))?),
        s2kparams: k.s2kparams.as_deref(),
    })
}

/// The METHOD-DATA of a PREAUTH_REQUIRED error: ETYPE-INFO2 for the reply enctype, and
/// PA-ENC-TIMESTAMP.
fn preauth_method_data(centry: &PrincipalEntry, etype: Enctype) -> Result<Vec<u8>> {
    let info = wire::encode(&SeqOf([etype_info2_entry(centry, etype)?]))?;
    wire::encode(&SeqOf([
        PaDataOut { r#type: pa_type::ETYPE_INFO2, value: &info },
        PaDataOut { r#type: pa_type::ENC_TIMESTAMP, value: &[] },
    ]))
}
