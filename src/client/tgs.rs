//! Service tickets: the TGS exchange, with cache reuse and one exchange per service at a time.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::ccache::Credential;
use crate::crypto::{usage, Key};
use crate::error::Result;
use crate::principal::Principal;
use crate::proto::{self, AuthChecksum, NewApReq};
use crate::wire::{
    self, kdc_options as opt, msg_type, pa_type, ticket_flags as tf, FlagBits, Flags, KdcOptions, KdcReq, KdcReqBody,
    PaData, TgsRep, TgsReq,
};

use super::Client;

/// What a TGS request asks for.
enum TgsKind {
    /// A ticket for another service.
    Service,
    /// RENEW the presented ticket.
    Renew,
    /// A FORWARDED (and FORWARDABLE) copy of the TGT, for delegation.
    Forwarded,
}

impl Client {
    /// A valid ticket for `service`: from the cache while it has more than the clock-skew margin
    /// left, otherwise from the KDC (and then cached). Concurrent callers for the same service
    /// share one TGS exchange.
    pub fn service_ticket(&self, service: &str) -> Result<Credential> {
        let server = self.principal(service)?;
        if let Some(c) = self.fresh(&server)? {
            return Ok(c);
        }
        let gate = {
            let mut inflight = self.inflight.lock();
            inflight.entry(server.clone()).or_insert_with(|| Arc::new(Mutex::new(()))).clone()
        };
        let result = {
            let _turn = gate.lock();
            self.fetch_service_ticket(&server)
        };
        // The gate goes once nobody else waits on it, so the map holds only services being
        // fetched now (not every service ever asked for). Handles are only cloned under the map's
        // lock, so the count cannot grow behind our back.
        let mut inflight = self.inflight.lock();
        if Arc::strong_count(&gate) == 2 && inflight.get(&server).is_some_and(|g| Arc::ptr_eq(g, &gate)) {
            inflight.remove(&server);
        }
        result
    }

    /// The TGS exchange for `server`, unless someone fetched the ticket while we waited our turn.
    fn fetch_service_ticket(&self, server: &Principal) -> Result<Credential> {
        if let Some(c) = self.fresh(server)? {
            return Ok(c);
        }
        let tgt = self.tgt()?;
        let cred = self.tgs_exchange(&tgt, server, TgsKind::Service)?;
        self.ccache.store(cred.clone())?;
        Ok(cred)
    }

    /// Renews the TGT (TGS exchange with RENEW) and replaces it in the cache.
    pub fn renew(&self) -> Result<Credential> {
        let tgt = self.tgt()?;
        let server = tgt.server.clone();
        let cred = self.tgs_exchange(&tgt, &server, TgsKind::Renew)?;
        self.ccache.store(cred.clone())?;
        Ok(cred)
    }

    /// A forwarded TGT for delegation (GSS-API's DELEG, `kinit -f` then `ssh -K`): a TGS exchange
    /// for `krbtgt/REALM` with the FORWARDED option (and FORWARDABLE, as MIT's
    /// `krb5_fwd_tgt_creds` asks, so the receiver may forward it on), without addresses. The
    /// result is returned, not cached: it would replace the cache's own TGT.
    ///
    /// Errors: `KDC_ERR_BADOPTION` when the TGT is not forwardable (checked here first, as the
    /// KDC would refuse), the KDC's errors otherwise.
    pub fn forwarded_tgt(&self) -> Result<Credential> {
        let tgt = self.tgt()?;
        if !tgt.flags.has(tf::FORWARDABLE) {
            return Err(crate::error::Error::new(
                crate::error::ErrorCode::KDC_ERR_BADOPTION,
                "the ticket-granting ticket is not forwardable",
            ));
        }
        let server = tgt.server.clone();
        self.tgs_exchange(&tgt, &server, TgsKind::Forwarded)
    }

    fn fresh(&self, server: &Principal) -> Result<Option<Credential>> {
        let now = self.now();
        Ok(self
            .ccache
            .get(server)?
            .filter(|c| c.is_fresh(now, self.config.clock_skew) && c.start() <= now.plus_secs(self.config.clock_skew)))
    }

    fn tgs_exchange(&self, tgt: &Credential, server: &Principal, kind: TgsKind) -> Result<Credential> {
        let now = self.now();
        let nonce = Self::nonce()?;
        let mut options = Flags::NONE;
        if (self.config.forwardable || matches!(kind, TgsKind::Forwarded)) && tgt.flags.has(tf::FORWARDABLE) {
            options = options.with(opt::FORWARDABLE);
        }
        if tgt.flags.has(tf::RENEWABLE) {
            options = options.with(opt::RENEWABLE_OK);
        }
        let till = match kind {
            TgsKind::Service => wire::kerberos_time(tgt.end_time),
            TgsKind::Forwarded => {
                options = options.with(opt::FORWARDED);
                wire::kerberos_time(tgt.end_time)
            }
            TgsKind::Renew => {
                options = options.with(opt::RENEW);
                wire::kerberos_time(tgt.renew_till.unwrap_or(tgt.end_time))
            }
        };
        let body = KdcReqBody {
            kdc_options: KdcOptions(options.to_bits()),
            cname: None,
            realm: wire::kstring(server.realm())?,
            sname: Some(wire::principal_name(server)?),
            from: None,
            till,
            rtime: None,
            nonce,
            etype: self.config.tgs_enctypes.iter().map(|e| e.id()).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let body_bytes = wire::encode(&body)?;
        let subkey = Key::random(tgt.key.enctype())?;
        let (ap_req, _) = proto::build_ap_req(&NewApReq {
            checksum: AuthChecksum::Keyed { usage: usage::TGS_REQ_AUTH_CKSUM, over: &body_bytes },
            ..NewApReq::with_credential(tgt, usage::TGS_REQ_AUTH, now, &subkey)
        })?;
        let req = TgsReq(KdcReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::TGS_REQ.into()),
            padata: Some(vec![PaData { r#type: pa_type::TGS_REQ, value: wire::octets(ap_req) }]),
            req_body: body,
        });
        let request = wire::encode(&req)?;
        debug_assert_eq!(wire::req_body_bytes(&request).ok(), Some(&body_bytes[..]));
        self.tgs_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply = self.exchange(&request, msg_type::TGS_REP)?;

        let rep = wire::decode::<TgsRep>(&reply)?.0;
        wire::check_header(&rep.pvno, &rep.msg_type, msg_type::TGS_REP)?;
        let plain = proto::open_bytes(&subkey, usage::TGS_REP_ENC_PART_SUBKEY, &rep.enc_part)
            .map_err(|e| e.context("TGS reply"))?;
        let (mut part, _) = wire::decode_enc_kdc_rep_part(&plain)?;
        let key = proto::take_key(&mut part.key)?;
        super::login::check_reply("TGS", &rep, &part, nonce, &tgt.client, server)?;
        super::login::credential_from(tgt.client.clone(), server.clone(), key, &part, wire::encode(&rep.ticket)?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::client::InProcess;
    use crate::{CCache, Client, ClientConfig, FixedClock, Kdc, Time};

    #[test]
    fn the_single_flight_map_keeps_only_services_in_flight() {
        let kdc = Arc::new(Kdc::new("R.TEST").unwrap());
        kdc.add_principal("alice", Some("pw")).unwrap();
        let clock = Arc::new(FixedClock::new(Time::from_unix(1_790_000_000)));
        let transport = Arc::new(InProcess::new(kdc.clone(), clock.clone()));
        let client = Arc::new(Client::with_clock(ClientConfig::new("R.TEST"), transport, CCache::memory(), clock));
        client.login("alice", "pw").unwrap();
        for i in 0..20 {
            let name = format!("host/s{i}.r.test");
            kdc.add_principal(&name, None).unwrap();
            client.service_ticket(&name).unwrap();
        }
        // Unknown services fail, and leave nothing behind either.
        assert!(client.service_ticket("host/nobody.r.test").is_err());
        // Many threads after one service share the gate while it is in flight.
        kdc.add_principal("host/shared.r.test", None).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let c = client.clone();
                std::thread::spawn(move || c.service_ticket("host/shared.r.test").unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(client.stats().tgs_requests, 22);
        assert!(client.inflight.lock().is_empty());
    }
}
