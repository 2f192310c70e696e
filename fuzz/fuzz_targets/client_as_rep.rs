//! Fuzz target: the client's side of the AS exchange (`Client::login_with_keytab`, then
//! `Client::tgt` and `Client::service_ticket`) against a hostile KDC, or whoever can answer its
//! datagrams, in the realm of `common/realm.rs` served by the library's KDC in-process. The
//! keys come from a keytab: a password's string-to-key would cost each input its PBKDF2 rounds.
//! Byte 0 picks what the rest is:
//!
//! - even: the whole reply to the first AS-REQ (a KRB-ERROR asking for pre-authentication with
//!   its ETYPE-INFO2, an AS-REP, anything); the realm's KDC answers whatever follows;
//! - odd: the plaintext of the final AS-REP's enc-part. The realm's KDC answers, and its reply's
//!   enc-part is replaced by the input sealed in alice's key (usage 3); when the input decodes as
//!   an EncKDCRepPart its nonce is first set to the request's, so the client's checks of a reply
//!   it can open (names, times, flags, the key) meet any content.
//!
//! Nothing panics, and a login that succeeds holds a ticket-granting ticket for alice.
#![no_main]

use std::sync::{Arc, OnceLock};

use ktix::ccache::CCache;
use ktix::client::{Client, ClientConfig, InProcess, Transport};
use ktix::crypto::usage;
use ktix::internals::proto;
use ktix::internals::wire::{self, msg_type, AsRep, AsReq, EncAsRepPart, EncTgsRepPart};
use ktix::time::FixedClock;
use ktix::{Kdc, Key, Keytab, Principal};
use libfuzzer_sys::fuzz_target;

#[path = "../common/realm.rs"]
mod realm;

/// The realm's KDC, its clock, and alice's keys (one per enctype) as a list and as a keytab.
struct State {
    kdc: Arc<Kdc>,
    clock: Arc<FixedClock>,
    alice: Vec<Key>,
    keytab: Keytab,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let kdc = realm::kdc();
        let alice = kdc.principal(realm::ALICE).expect("name");
        let keys: Vec<Key> = kdc.entry(&alice).expect("alice").keys.iter().map(|k| k.key.clone()).collect();
        let mut keytab = Keytab::new();
        for key in &keys {
            keytab.add(alice.clone(), 1, key.clone(), realm::now());
        }
        State { kdc: Arc::new(kdc), clock: Arc::new(FixedClock::new(realm::now())), alice: keys, keytab }
    })
}

/// The realm's KDC, with one reply replaced as byte 0 says.
struct Hostile {
    kdc: InProcess,
    odd: bool,
    input: Vec<u8>,
    first: std::sync::atomic::AtomicBool,
}

impl Hostile {
    /// The genuine AS-REP with its enc-part replaced by the input sealed in alice's key.
    fn resealed(&self, request: &[u8], reply: Vec<u8>) -> ktix::Result<Vec<u8>> {
        let Ok(AsRep(mut rep)) = wire::decode::<AsRep>(&reply) else { return Ok(reply) };
        let nonce = wire::decode::<AsReq>(request)?.0.req_body.nonce;
        let plain = match wire::decode_enc_kdc_rep_part(&self.input) {
            Ok((mut part, tag)) => {
                part.nonce = nonce;
                if tag == msg_type::ENC_AS_REP_PART {
                    wire::encode(&EncAsRepPart(part))?
                } else {
                    wire::encode(&EncTgsRepPart(part))?
                }
            }
            Err(_) => self.input.clone(),
        };
        let Some(key) = state().alice.iter().find(|k| k.enctype().id() == rep.enc_part.etype) else { return Ok(reply) };
        rep.enc_part = proto::seal_bytes(key, usage::AS_REP_ENC_PART, &plain, rep.enc_part.kvno)?;
        wire::encode(&AsRep(rep))
    }
}

impl Transport for Hostile {
    fn send(&self, request: &[u8]) -> ktix::Result<Vec<u8>> {
        let first = self.first.swap(false, std::sync::atomic::Ordering::Relaxed);
        if !self.odd && first {
            return Ok(self.input.clone());
        }
        let reply = self.kdc.send(request)?;
        if self.odd && wire::message_tag(&reply) == Some(msg_type::AS_REP) {
            return self.resealed(request, reply);
        }
        Ok(reply)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    let state = state();
    let hostile = Hostile {
        kdc: InProcess::new(state.kdc.clone(), state.clock.clone()),
        odd: mode & 1 == 1,
        input: input.to_vec(),
        first: std::sync::atomic::AtomicBool::new(true),
    };
    let config = ClientConfig::new(realm::REALM);
    let client = Client::with_clock(config, Arc::new(hostile), CCache::memory(), state.clock.clone());
    let Ok(cred) = client.login_with_keytab(realm::ALICE, &state.keytab) else { return };
    assert_eq!(cred.client, client.principal(realm::ALICE).expect("name"), "a login holds alice's ticket");
    assert_eq!(cred.server, Principal::krbtgt(realm::REALM), "a login holds a ticket-granting ticket");
    let _ = client.tgt();
    let _ = client.service_ticket(realm::SERVICE);
});
