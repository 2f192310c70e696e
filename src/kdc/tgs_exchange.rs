//! The TGS exchange (RFC 4120 §3.3): service tickets, renewal and validation from a TGT.

use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::proto::{self, ApReqCheck, AuthChecksum, TicketContents};
use crate::time::Time;
use crate::wire::{
    self, kdc_options as opt, msg_type, pa_type, ticket_flags as tf, AuthorizationData, EncKdcRepPartOut,
    EncTgsRepPartOut, Flags, KdcRepOut, LastReqEntry, Name, Str, TgsRepOut,
};

use super::{min_time, requested_limit, Kdc, RequestFacts};

pub(super) fn handle(kdc: &Kdc, request: &[u8], now: Time, facts: &mut RequestFacts) -> Result<Vec<u8>> {
    // Borrowed from the request (issue 17): the PA-DATA values, the names and the cipher texts
    // are read where they lie; only what the KDC uses is made a value.
    let req = wire::decode_tgs_req(request)?;
    wire::check_header(&req.pvno, &req.msg_type, msg_type::TGS_REQ)?;
    let body_bytes = wire::req_body_bytes(request)?;
    let body = &req.body;
    let sname = body.sname.map(|s| s.principal(body.realm)).transpose()?;
    // facts.service names the requested server from here on (for error replies and the log);
    // RENEW/VALIDATE replace it by the ticket's own server below.
    facts.service = sname;
    // PA-FX-FAST (which MIT clients always add) is ignored: the reply is a plain TGS-REP.
    let pa = req
        .find_padata(pa_type::TGS_REQ)
        .ok_or_else(|| Error::new(ErrorCode::KDC_ERR_PADATA_TYPE_NOSUPP, "TGS-REQ without PA-TGS-REQ"))?;
    let ap_req = proto::decode_ap_req(pa).map_err(|e| e.context("PA-TGS-REQ"))?;

    // The ticket: normally this realm's TGT; RENEW and VALIDATE may present a ticket for any of
    // the realm's servers (all its keys are here).
    let options = body.kdc_options;
    let renew = options.has(opt::RENEW);
    let validate = options.has(opt::VALIDATE);
    let tgt_key = |tgt_server: &Principal, etype: i32, kvno: Option<u32>| {
        let own_ticket =
            if renew || validate { tgt_server.realm() == kdc.realm() } else { tgt_server.is_tgs_of(kdc.realm()) };
        if !own_ticket {
            return Err(Error::new(ErrorCode::KRB_AP_ERR_NOT_US, format!("{tgt_server} is not this realm's TGS")));
        }
        kdc.ticket_key_of(&*kdc.server_entry(tgt_server, now)?, etype, kvno)
    };
    let opened = proto::open_ap_req(&ap_req, usage::TGS_REQ_AUTH, tgt_key)?;
    facts.client = Some(opened.ticket().client.clone());

    // The authenticator proves the sender holds the TGT session key, and its checksum binds the
    // request body. No replay cache: a replayed TGS-REQ only yields a reply sealed in a key the
    // replayer does not have.
    let check = ApReqCheck {
        clock_skew: kdc.policy().clock_skew,
        checksum: AuthChecksum::Keyed { usage: usage::TGS_REQ_AUTH_CKSUM, over: body_bytes },
        allow_invalid: validate,
        replay: None,
    };
    let verified = opened.verify(now, &check)?;
    let tgt_server = verified.server;
    let subkey = verified.subkey;
    // Owned: a new ticket takes the TGT's client, addresses, authorization data and transited
    // encoding by moving them, not by copies (issue 17).
    let tgt = verified.ticket;

    // The KDC's own policy on ticket times (RFC 4120 §3.3.3): an expired ticket gets nothing,
    // not even a renewal — no skew allowance on the end time here, as MIT's KDC.
    if tgt.end_time < now {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_TKT_EXPIRED, "the ticket-granting ticket has expired"));
    }

    // Options this KDC does not implement are refused, not ignored: a client asking for a
    // user-to-user ticket must not get one sealed in the server's long-term key instead.
    if options.has(opt::ENC_TKT_IN_SKEY) {
        return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "user-to-user (ENC-TKT-IN-SKEY) is not supported"));
    }
    if options.has(opt::POSTDATED) {
        return Err(Error::new(ErrorCode::KDC_ERR_CANNOT_POSTDATE, "postdated tickets are not issued"));
    }
    // Options that need a flag of the presented ticket (MIT's tgsflagrules, RFC 4120 §2.6).
    if options.has(opt::FORWARDED) && !tgt.flags.has(tf::FORWARDABLE) {
        return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "FORWARDED requested with a TGT that is not forwardable"));
    }
    if options.has(opt::PROXY) && !tgt.flags.has(tf::PROXIABLE) {
        return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "PROXY requested with a TGT that is not proxiable"));
    }

    // The client is checked again, as MIT's KDC does: a principal disabled, expired, locked out
    // or deleted since it got its TGT gets nothing more from it, not even a renewal.
    let (centry, _) = kdc.client_entry(&tgt.client, now)?;
    if options.has(opt::FORWARDED) && !centry.allow_forwardable {
        return Err(Error::new(ErrorCode::KDC_ERR_POLICY, format!("{} may not have forwarded tickets", tgt.client)));
    }

    let policy = kdc.policy();
    let start = now.whole_seconds();
    // The server's entry, looked up once: it gives the ticket's limits and the key it is sealed in.
    // The server's name stays in facts.service (for the log and error replies) and is borrowed.
    let (server, sentry, contents) = if renew || validate {
        // Renewal and validation give the presented ticket again, with new times; session key kept.
        let server = tgt_server;
        if facts.service.as_ref().is_some_and(|s| *s != server) {
            return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "RENEW/VALIDATE must name the ticket's own server"));
        }
        let mut c = tgt.clone();
        if renew {
            let renew_till = match (tgt.flags.has(tf::RENEWABLE), tgt.renew_till) {
                (true, Some(r)) => r,
                _ => return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "the ticket is not renewable")),
            };
            if renew_till < now {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_TKT_EXPIRED, "the ticket's renewable life is over"));
            }
            let life = tgt.end_time.secs_since(tgt.start()).max(0);
            c.start_time = Some(start);
            c.end_time = min_time([Some(start.plus_secs(life)), Some(renew_till)]).expect("both present");
        } else {
            if !tgt.flags.has(tf::INVALID) {
                return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "VALIDATE of a ticket that is not invalid"));
            }
            if tgt.start() > now {
                return Err(Error::new(ErrorCode::KRB_AP_ERR_TKT_NYV, "the ticket is not yet valid"));
            }
            c.flags = c.flags.without(tf::INVALID);
        }
        let sentry = kdc.server_entry(&server, now)?;
        let server: &Principal = facts.service.insert(server);
        (server, sentry, c)
    } else {
        let server = facts.service.as_ref().ok_or_else(|| Error::malformed("TGS-REQ without sname"))?;
        if server.realm() != kdc.realm() {
            return Err(Error::new(
                ErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN,
                format!("server {server} is in another realm; cross-realm is not supported"),
            ));
        }
        let sentry = kdc.server_entry(server, now)?;
        let till = requested_limit(Some(body.till));
        let end = min_time([
            till,
            Some(tgt.end_time),
            Some(start.plus_secs(policy.max_life)),
            sentry.max_life.map(|l| start.plus_secs(l)),
        ])
        .expect("always bounded");
        if end <= start {
            return Err(Error::new(ErrorCode::KDC_ERR_NEVER_VALID, "the requested end time is not after the start"));
        }
        // RFC 4120 §2.5: a proxy ticket is never a ticket-granting ticket.
        if options.has(opt::PROXY) && server.is_krbtgt() {
            return Err(Error::new(ErrorCode::KDC_ERR_BADOPTION, "PROXY requested for a ticket-granting ticket"));
        }
        // Single-realm: no transited realms to check, so the policy check is trivially done (MIT sets T too).
        let mut flags =
            Flags::NONE.with_if(tf::PRE_AUTHENT, tgt.flags.has(tf::PRE_AUTHENT)).with(tf::TRANSITED_POLICY_CHECKED);
        // RFC 4120 §2.6: FORWARDABLE and PROXIABLE carry over when asked for and the TGT has
        // them; a FORWARDED (or PROXY) request gets a ticket with that flag and the request's
        // addresses; FORWARDED stays on every ticket issued from a forwarded TGT.
        if options.has(opt::FORWARDABLE)
            && tgt.flags.has(tf::FORWARDABLE)
            && sentry.allow_forwardable
            && centry.allow_forwardable
        {
            flags = flags.with(tf::FORWARDABLE);
        }
        if options.has(opt::PROXIABLE) && tgt.flags.has(tf::PROXIABLE) {
            flags = flags.with(tf::PROXIABLE);
        }
        flags = flags
            .with_if(tf::FORWARDED, options.has(opt::FORWARDED) || tgt.flags.has(tf::FORWARDED))
            .with_if(tf::PROXY, options.has(opt::PROXY));
        let addresses =
            if options.has(opt::FORWARDED) || options.has(opt::PROXY) { body.addresses.clone() } else { tgt.addresses };
        let renew_till = match tgt.renew_till {
            Some(tgt_renew)
                if (options.has(opt::RENEWABLE) || options.has(opt::RENEWABLE_OK))
                    && tgt.flags.has(tf::RENEWABLE)
                    && sentry.allow_renewable =>
            {
                min_time([
                    requested_limit(body.rtime),
                    Some(tgt_renew),
                    Some(start.plus_secs(policy.max_renewable_life)),
                    sentry.max_renewable_life.map(|l| start.plus_secs(l)),
                ])
                .filter(|&r| r > end)
            }
            _ => None,
        };
        flags = flags.with_if(tf::RENEWABLE, renew_till.is_some());
        let authorization_data =
            merge_authz(tgt.authorization_data, body.enc_authorization_data, &tgt.session_key, subkey.as_ref())?;
        let c = TicketContents {
            flags,
            session_key: kdc.new_session_key(&body.etype, &sentry)?,
            client: tgt.client,
            auth_time: tgt.auth_time,
            start_time: Some(start),
            end_time: end,
            renew_till,
            addresses,
            authorization_data,
            transited: tgt.transited,
        };
        (server, sentry, c)
    };
    facts.session_enctype = Some(contents.session_key.enctype());

    let tkey = kdc.ticket_key(&sentry)?;
    let ticket = proto::issue_ticket(&contents, server, &tkey.key, tkey.kvno)?;

    let part = EncTgsRepPartOut(EncKdcRepPartOut {
        key: proto::key_bytes(&contents.session_key),
        last_req: [LastReqEntry { r#type: 0, value: contents.auth_time }],
        nonce: body.nonce,
        key_expiration: None,
        flags: contents.flags,
        auth_time: contents.auth_time,
        start_time: contents.start_time,
        end_time: contents.end_time,
        renew_till: contents.renew_till,
        srealm: ticket.realm,
        sname: ticket.sname,
        caddr: contents.addresses.as_ref(),
    });
    // The reply is sealed in the authenticator subkey when there is one (usage 9), else the TGT session key (8).
    let enc_part = match &subkey {
        Some(k) => proto::seal_out(k, usage::TGS_REP_ENC_PART_SUBKEY, &part, None),
        None => proto::seal_out(&tgt.session_key, usage::TGS_REP_ENC_PART_SESSION, &part, None),
    }?;
    let rep = TgsRepOut(KdcRepOut {
        pvno: wire::PVNO as i32,
        msg_type: msg_type::TGS_REP.into(),
        padata: None,
        crealm: Str::new(contents.client.realm())?,
        cname: Name::of(&contents.client)?,
        ticket,
        enc_part,
    });
    wire::encode(&rep)
}

/// The service ticket's authorization data: the TGT's, followed by what the client sent in
/// enc-authorization-data (sealed in the subkey, usage 5, or the session key, usage 4).
fn merge_authz(
    from_tgt: Option<AuthorizationData>,
    enc_authorization_data: Option<wire::EncryptedDataIn<'_>>,
    session_key: &Key,
    subkey: Option<&Key>,
) -> Result<Option<AuthorizationData>> {
    let Some(enc) = enc_authorization_data else {
        return Ok(from_tgt);
    };
    let extra: AuthorizationData = match subkey {
        Some(k) => proto::open(k, usage::TGS_REQ_AUTHZ_SUBKEY, enc),
        None => proto::open(session_key, usage::TGS_REQ_AUTHZ_SESSION, enc),
    }
    .map_err(|e| e.context("enc-authorization-data"))?;
    let mut all = from_tgt.unwrap_or_default();
    all.extend(extra);
    Ok(Some(all))
}
