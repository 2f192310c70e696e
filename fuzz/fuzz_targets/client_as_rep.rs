//! Fuzz target: the client's side of the AS exchange (`Client::login_with_keytab`, then
//! `Client::tgt` and `Client::service_ticket`) against a hostile KDC, or whoever can answer its
//! datagrams, in a realm of the library's own KDC in-process at a fixed time. The keys come from
//! a keytab: a password's string-to-key would cost each input its PBKDF2 rounds. Byte 0 picks
//! what the rest is:
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
use ktix::kdc::{MemoryStore, PrincipalEntry};
use ktix::time::FixedClock;
use ktix::{Enctype, Kdc, Key, Keytab, Principal, RealmPolicy, Time};
use libfuzzer_sys::fuzz_target;

const REALM: &str = "KTIX.TEST";
const ALICE_PW: &str = "alice-pw";

struct Realm {
    kdc: Arc<Kdc>,
    clock: Arc<FixedClock>,
    /// Alice's keys, one per enctype (default salt), as a list and as a keytab.
    alice: Vec<Key>,
    keytab: Keytab,
}

fn realm() -> &'static Realm {
    static REALM_: OnceLock<Realm> = OnceLock::new();
    REALM_.get_or_init(|| {
        let policy = RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() };
        let kdc = Kdc::with_store(REALM, Arc::new(MemoryStore::new()), policy).expect("kdc");
        let alice = kdc.principal("alice").expect("name");
        let mut entry = PrincipalEntry::new(alice.clone());
        entry.set_password(ALICE_PW.as_bytes(), &Enctype::ALL, 1).expect("keys");
        kdc.put_principal(entry).expect("alice");
        kdc.add_principal("host/server.ktix.test", None).expect("service");
        let keys: Vec<Key> = Enctype::ALL
            .iter()
            .map(|&e| Key::from_password(e, ALICE_PW.as_bytes(), &alice.default_salt(), None).expect("key"))
            .collect();
        let now = Time::from_civil(2027, 1, 15, 12, 0, 0).expect("time");
        let mut keytab = Keytab::new();
        for key in &keys {
            keytab.add(alice.clone(), 1, key.clone(), now);
        }
        Realm { kdc: Arc::new(kdc), clock: Arc::new(FixedClock::new(now)), alice: keys, keytab }
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
        let Some(key) = realm().alice.iter().find(|k| k.enctype().id() == rep.enc_part.etype) else { return Ok(reply) };
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
    let realm = realm();
    let hostile = Hostile {
        kdc: InProcess::new(realm.kdc.clone(), realm.clock.clone()),
        odd: mode & 1 == 1,
        input: input.to_vec(),
        first: std::sync::atomic::AtomicBool::new(true),
    };
    let client = Client::with_clock(ClientConfig::new(REALM), Arc::new(hostile), CCache::memory(), realm.clock.clone());
    let Ok(cred) = client.login_with_keytab("alice", &realm.keytab) else { return };
    let alice = Principal::parse("alice@KTIX.TEST", None).expect("name");
    assert_eq!(cred.client, alice, "a login holds alice's ticket");
    assert_eq!(cred.server, Principal::krbtgt(REALM), "a login holds a ticket-granting ticket");
    let _ = client.tgt();
    let _ = client.service_ticket("host/server.ktix.test");
});
