//! A small in-process realm for the flow tests.
#![allow(dead_code)]

use std::sync::Arc;

use ktix::{Acceptor, AcceptorConfig, CCache, Client, ClientConfig, FixedClock, InProcess, Kdc, Time};

pub const REALM: &str = "KTIX.TEST";
pub const SERVICE: &str = "host/server.ktix.test";

/// A KDC with alice (password) and a service, a fixed clock shared by everyone.
pub struct Realm {
    pub kdc: Arc<Kdc>,
    pub clock: Arc<FixedClock>,
}

impl Realm {
    /// The realm opts in to all four enctypes, the RFC 8009 ones first (a realm's default is
    /// MIT's aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96 only): these flows exercise 19
    /// and 20 too.
    pub fn new() -> Realm {
        Realm::with_policy(all_enctypes())
    }

    pub fn now(&self) -> Time {
        use ktix::Clock;
        self.clock.now()
    }

    pub fn client(&self) -> Client {
        self.client_with(ClientConfig::new(REALM))
    }

    pub fn client_with(&self, config: ClientConfig) -> Client {
        let transport = Arc::new(InProcess::new(self.kdc.clone(), self.clock.clone()));
        Client::with_clock(config, transport, CCache::memory(), self.clock.clone())
    }

    pub fn acceptor(&self) -> Acceptor {
        let kt = self.kdc.keytab(SERVICE, self.now()).unwrap();
        Acceptor::with_config(kt, AcceptorConfig::default(), self.clock.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the KDC / client / acceptor integration tests: raw requests built by hand (for the
// bad cases the client API cannot produce), hand-issued tickets, and reply decoding.
// ---------------------------------------------------------------------------------------------

use ktix::crypto::usage;
use ktix::internals::proto::{self, TicketContents};
use ktix::internals::wire::{
    self, msg_type, pa_type, ApOptions, ApReq, AsReq, Authenticator, Checksum, EncKdcRepPart, FlagBits, Flags,
    KdcOptions, KdcRep, KdcReq, KdcReqBody, KrbError, PaData, PaEncTsEnc, TgsReq, Ticket, TransitedEncoding,
};
use ktix::kdc::{MemoryStore, PrincipalEntry};
use ktix::{Clock, Enctype, ErrorCode, Key, Keytab, Principal, RealmPolicy};

/// The default realm policy opted in to every enctype (20, 18, 19, 17).
pub fn all_enctypes() -> RealmPolicy {
    RealmPolicy { enctypes: Enctype::ALL.to_vec(), ..RealmPolicy::default() }
}

/// alice's password.
pub const ALICE_PW: &str = "alice-pw";
/// The time the shared fixed clock starts at (whole seconds).
pub const T0: i64 = 1_790_000_000;

/// `name` in the test realm.
pub fn principal(name: &str) -> Principal {
    Principal::parse(name, Some(REALM)).unwrap()
}

/// `krbtgt/KTIX.TEST@KTIX.TEST`.
pub fn krbtgt() -> Principal {
    Principal::krbtgt(REALM)
}

/// The key `password` gives `name` for `enctype` with the default salt and iteration count.
pub fn password_key(name: &str, password: &str, enctype: Enctype) -> Key {
    Key::from_password(enctype, password.as_bytes(), &principal(name).default_salt(), None).unwrap()
}

/// alice's long-term key of `enctype`.
pub fn alice_key(enctype: Enctype) -> Key {
    password_key("alice", ALICE_PW, enctype)
}

/// The enctype numbers of `enctypes`.
pub fn ids(enctypes: &[Enctype]) -> Vec<i32> {
    enctypes.iter().map(|e| e.id()).collect()
}

impl Realm {
    /// A realm like [`Realm::new`] under `policy`.
    pub fn with_policy(policy: RealmPolicy) -> Realm {
        let kdc = Kdc::with_store(REALM, Arc::new(MemoryStore::new()), policy).unwrap();
        kdc.add_principal("alice", Some(ALICE_PW)).unwrap();
        kdc.add_principal(SERVICE, None).unwrap();
        Realm { kdc: Arc::new(kdc), clock: Arc::new(FixedClock::new(Time::from_unix(T0))) }
    }

    /// A client whose own clock is `clock` (its KDC still answers at the realm's time).
    pub fn client_with_clock(&self, config: ClientConfig, clock: Arc<dyn Clock>) -> Client {
        let transport = Arc::new(InProcess::new(self.kdc.clone(), self.clock.clone()));
        Client::with_clock(config, transport, CCache::memory(), clock)
    }

    /// A client logged in as alice.
    pub fn alice(&self) -> Client {
        let c = self.client();
        c.login("alice", ALICE_PW).unwrap();
        c
    }

    /// An acceptor for [`SERVICE`] with `config`, on the realm's clock.
    pub fn acceptor_with(&self, config: AcceptorConfig) -> Acceptor {
        let kt = self.kdc.keytab(SERVICE, self.now()).unwrap();
        Acceptor::with_config(kt, config, self.clock.clone())
    }

    /// An acceptor with `keytab` and default settings, on the realm's clock.
    pub fn acceptor_with_keytab(&self, keytab: Keytab) -> Acceptor {
        Acceptor::with_config(keytab, AcceptorConfig::default(), self.clock.clone())
    }

    /// Adds `name` with random keys.
    pub fn add_service(&self, name: &str) -> Principal {
        self.kdc.add_principal(name, None).unwrap()
    }

    /// A copy of the store entry of `name`.
    pub fn entry(&self, name: &str) -> PrincipalEntry {
        (*self.kdc.entry(&principal(name)).unwrap()).clone()
    }

    /// The key (and kvno) the KDC seals tickets for `server` in: its strongest current key.
    pub fn ticket_key(&self, server: &Principal) -> (Key, u32) {
        let e = self.kdc.entry(server).unwrap();
        let k = e.strongest_key(&self.kdc.policy().enctypes).unwrap();
        (k.key.clone(), k.kvno)
    }

    /// The krbtgt key TGTs are sealed in.
    pub fn tgs_key(&self) -> (Key, u32) {
        self.ticket_key(&krbtgt())
    }

    /// A ticket for `server` issued by hand (sealed in the server's current strongest key).
    pub fn issue(&self, server: &Principal, contents: &TicketContents) -> Ticket {
        let (key, kvno) = self.ticket_key(server);
        // The ticket as a client receives it: encoded, then decoded.
        wire::decode(&wire::encode(&proto::issue_ticket(contents, server, &key, kvno).unwrap()).unwrap()).unwrap()
    }

    /// The KDC's answer at the realm's time.
    pub fn handle(&self, request: &[u8]) -> Vec<u8> {
        self.kdc.handle(request, self.now())
    }
}

/// Ticket contents for `client` with `session_key`, valid `start..end`, with `flags`.
pub fn ticket_contents(client: &Principal, session_key: &Key, start: Time, end: Time, flags: Flags) -> TicketContents {
    TicketContents {
        flags,
        session_key: session_key.clone(),
        client: client.clone(),
        auth_time: start,
        start_time: Some(start),
        end_time: end,
        renew_till: None,
        addresses: None,
        authorization_data: None,
        transited: TransitedEncoding { r#type: 1, contents: wire::octets(Vec::new()) },
    }
}

/// A cache credential for a hand-issued ticket, so the client API can use it.
pub fn credential(server: &Principal, contents: &TicketContents, ticket: &Ticket) -> ktix::Credential {
    ktix::Credential {
        client: contents.client.clone(),
        server: server.clone(),
        key: contents.session_key.clone(),
        auth_time: contents.auth_time,
        start_time: contents.start_time,
        end_time: contents.end_time,
        renew_till: contents.renew_till,
        flags: contents.flags,
        is_skey: false,
        addresses: Vec::new(),
        authdata: Vec::new(),
        ticket: wire::encode(ticket).unwrap(),
        second_ticket: Vec::new(),
    }
}

/// An AS-REQ, field by field.
#[derive(Clone)]
pub struct AsReqParams {
    pub client: Principal,
    pub server: Principal,
    pub realm: String,
    pub etypes: Vec<i32>,
    pub options: Flags,
    pub till: Time,
    pub rtime: Option<Time>,
    pub nonce: u32,
    pub padata: Vec<PaData>,
}

impl AsReqParams {
    /// An AS-REQ from `client` for the TGT at `now`: every enctype, no options, till now + 24 h.
    pub fn new(client: &str, now: Time) -> AsReqParams {
        AsReqParams {
            client: principal(client),
            server: krbtgt(),
            realm: REALM.to_string(),
            etypes: ids(&Enctype::ALL),
            options: Flags::NONE,
            till: now.plus_secs(24 * 3600),
            rtime: None,
            nonce: 0x1234_5678,
            padata: Vec::new(),
        }
    }

    /// With PA-ENC-TIMESTAMP for `t` in `key`.
    pub fn preauth(mut self, key: &Key, t: Time) -> AsReqParams {
        self.padata.push(pa_enc_timestamp(key, t));
        self
    }

    /// The DER AS-REQ.
    pub fn encode(&self) -> Vec<u8> {
        let body = KdcReqBody {
            kdc_options: KdcOptions(self.options.to_bits()),
            cname: Some(wire::principal_name(&self.client).unwrap()),
            realm: wire::kstring(&self.realm).unwrap(),
            sname: Some(wire::principal_name(&self.server).unwrap()),
            from: None,
            till: wire::kerberos_time(self.till),
            rtime: self.rtime.map(wire::kerberos_time),
            nonce: self.nonce,
            etype: self.etypes.clone(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let req = AsReq(KdcReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::AS_REQ.into()),
            padata: if self.padata.is_empty() { None } else { Some(self.padata.clone()) },
            req_body: body,
        });
        wire::encode(&req).unwrap()
    }
}

/// PA-ENC-TIMESTAMP for `t` sealed in `key` (usage 1).
pub fn pa_enc_timestamp(key: &Key, t: Time) -> PaData {
    let ts = PaEncTsEnc { patimestamp: wire::kerberos_time(t), pausec: Some(wire::int(t.subsec_micros().into())) };
    let enc = proto::seal(key, usage::PA_ENC_TIMESTAMP, &ts, None).unwrap();
    PaData { r#type: pa_type::ENC_TIMESTAMP, value: wire::octets(wire::encode(&enc).unwrap()) }
}

/// The KRB-ERROR in `reply` (panics, naming the message type, when it is something else).
pub fn krb_error(reply: &[u8]) -> KrbError {
    assert_eq!(wire::message_tag(reply), Some(msg_type::KRB_ERROR), "expected a KRB-ERROR");
    wire::decode::<KrbError>(reply).unwrap()
}

/// The error code of the KRB-ERROR in `reply`.
pub fn error_code(reply: &[u8]) -> ErrorCode {
    ErrorCode(krb_error(reply).error_code)
}

/// Panics with the KRB-ERROR's code and text when `reply` is not of message type `want`.
pub fn expect_tag(reply: &[u8], want: u8) {
    let tag = wire::message_tag(reply);
    if tag == Some(msg_type::KRB_ERROR) {
        let e = krb_error(reply);
        panic!(
            "expected message type {want}, got KRB-ERROR {:?}: {:?}",
            ErrorCode(e.error_code),
            e.e_text.as_ref().map(wire::kstring_text)
        );
    }
    assert_eq!(tag, Some(want), "unexpected message type");
}

/// The AS-REP in `reply`.
pub fn as_rep(reply: &[u8]) -> KdcRep {
    expect_tag(reply, msg_type::AS_REP);
    wire::decode::<ktix::internals::wire::AsRep>(reply).unwrap().0
}

/// The TGS-REP in `reply`.
pub fn tgs_rep(reply: &[u8]) -> KdcRep {
    expect_tag(reply, msg_type::TGS_REP);
    wire::decode::<ktix::internals::wire::TgsRep>(reply).unwrap().0
}

/// Opens a KDC reply's enc-part with `key` for `usage`: the part and the plaintext's first byte.
pub fn open_rep_part(rep: &KdcRep, key: &Key, usage: u32) -> (EncKdcRepPart, u8) {
    let plain = proto::open_bytes(key, usage, &rep.enc_part).unwrap();
    let (part, tag) = wire::decode_enc_kdc_rep_part(&plain).unwrap();
    assert_eq!(plain[0], 0x60 | tag);
    (part, plain[0])
}

/// The flags of a reply part.
pub fn part_flags(part: &EncKdcRepPart) -> Flags {
    Flags::from_bits(&part.flags.0)
}

/// A TGS-REQ, field by field.
#[derive(Clone)]
pub struct TgsReqParams {
    /// The TGT (or any ticket) presented.
    pub ticket: Ticket,
    /// The key the authenticator is sealed in and the body checksum keyed with.
    pub session_key: Key,
    /// The authenticator's client.
    pub client: Principal,
    /// The server asked for (`None`: no sname).
    pub server: Option<Principal>,
    pub options: Flags,
    pub till: Time,
    pub nonce: u32,
    pub etypes: Vec<i32>,
    /// The authenticator subkey.
    pub subkey: Option<Key>,
    /// The authenticator time.
    pub ctime: Time,
}

impl TgsReqParams {
    /// A request for `server` with `ticket`, alice's authenticator at `now`, no subkey, till now + 8 h.
    pub fn new(ticket: &Ticket, session_key: &Key, server: &Principal, now: Time) -> TgsReqParams {
        TgsReqParams {
            ticket: ticket.clone(),
            session_key: session_key.clone(),
            client: principal("alice"),
            server: Some(server.clone()),
            options: Flags::NONE,
            till: now.whole_seconds().plus_secs(8 * 3600),
            nonce: 0x0bad_cafe,
            etypes: ids(&Enctype::ALL),
            subkey: None,
            ctime: now,
        }
    }

    /// The KDC-REQ-BODY.
    pub fn body(&self) -> KdcReqBody {
        KdcReqBody {
            kdc_options: KdcOptions(self.options.to_bits()),
            cname: None,
            realm: wire::kstring(REALM).unwrap(),
            sname: self.server.as_ref().map(|s| wire::principal_name(s).unwrap()),
            from: None,
            till: wire::kerberos_time(self.till),
            rtime: None,
            nonce: self.nonce,
            etype: self.etypes.clone(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        }
    }

    /// The DER TGS-REQ, its authenticator checksumming the body (usage 6) and sealed (usage 7).
    pub fn encode(&self) -> Vec<u8> {
        let body = self.body();
        let body_bytes = wire::encode(&body).unwrap();
        let k = &self.session_key;
        let auth = Authenticator {
            authenticator_vno: wire::int(wire::PVNO),
            crealm: wire::kstring(self.client.realm()).unwrap(),
            cname: wire::principal_name(&self.client).unwrap(),
            cksum: Some(Checksum {
                r#type: k.enctype().checksum_type(),
                checksum: wire::octets(k.checksum(usage::TGS_REQ_AUTH_CKSUM, &body_bytes).unwrap()),
            }),
            cusec: wire::int(self.ctime.subsec_micros().into()),
            ctime: wire::kerberos_time(self.ctime),
            subkey: self.subkey.as_ref().map(proto::encryption_key),
            seq_number: None,
            authorization_data: None,
        };
        let ap_req = ApReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::AP_REQ.into()),
            ap_options: ApOptions(Flags::NONE.to_bits()),
            ticket: self.ticket.clone(),
            authenticator: proto::seal(k, usage::TGS_REQ_AUTH, &auth, None).unwrap(),
        };
        let req = TgsReq(KdcReq {
            pvno: wire::int(wire::PVNO),
            msg_type: wire::int(msg_type::TGS_REQ.into()),
            padata: Some(vec![PaData {
                r#type: pa_type::TGS_REQ,
                value: wire::octets(wire::encode(&ap_req).unwrap()),
            }]),
            req_body: body,
        });
        let bytes = wire::encode(&req).unwrap();
        assert_eq!(wire::req_body_bytes(&bytes).unwrap(), &body_bytes[..]);
        bytes
    }
}

/// An authenticator for `client` at `ctime`, nothing optional.
pub fn authenticator(client: &Principal, ctime: Time) -> Authenticator {
    Authenticator {
        authenticator_vno: wire::int(wire::PVNO),
        crealm: wire::kstring(client.realm()).unwrap(),
        cname: wire::principal_name(client).unwrap(),
        cksum: None,
        cusec: wire::int(ctime.subsec_micros().into()),
        ctime: wire::kerberos_time(ctime),
        subkey: None,
        seq_number: None,
        authorization_data: None,
    }
}

/// A DER AP-REQ: `ticket` and `auth` sealed in `session_key` (usage 11).
pub fn ap_req_bytes(ticket: &Ticket, session_key: &Key, auth: &Authenticator, mutual: bool) -> Vec<u8> {
    let req = ApReq {
        pvno: wire::int(wire::PVNO),
        msg_type: wire::int(msg_type::AP_REQ.into()),
        ap_options: ApOptions(Flags::NONE.with_if(wire::ap_options::MUTUAL_REQUIRED, mutual).to_bits()),
        ticket: ticket.clone(),
        authenticator: proto::seal(session_key, usage::AP_REQ_AUTH, auth, None).unwrap(),
    };
    wire::encode(&req).unwrap()
}

/// The Ticket inside a cache credential.
pub fn cred_ticket(cred: &ktix::Credential) -> Ticket {
    wire::decode::<Ticket>(&cred.ticket).unwrap()
}
