//! `ktix demo`: the session-ticket scheme on an embedded realm, every line reporting something
//! that was computed just now.

use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

use ktix::crypto::usage;
use ktix::internals::wire::{
    self, msg_type, pa_type, ticket_flags, AsRep, EtypeInfo2, KrbError, MethodData, TgsRep, Ticket,
};
use ktix::kdc::{silent_logger, stash_path, KdcServer, MasterKey, ServerConfig, SqliteStore};
use ktix::{
    Acceptor, AcceptorConfig, CCache, Client, ClientConfig, Clock, Error, ErrorCode, FixedClock, Kdc, Network,
    RealmPolicy, Recording, Result, Time,
};

const REALM: &str = "KTIX.TEST";
const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const SERVICE: &str = "host/server.ktix.test";

fn step(n: u32, title: &str) {
    println!("\n[{n}] {title}");
}

fn say(line: impl AsRef<str>) {
    println!("    {}", line.as_ref());
}

fn msg_name(bytes: &[u8]) -> &'static str {
    match wire::message_tag(bytes) {
        Some(msg_type::AS_REQ) => "AS-REQ",
        Some(msg_type::AS_REP) => "AS-REP",
        Some(msg_type::TGS_REQ) => "TGS-REQ",
        Some(msg_type::TGS_REP) => "TGS-REP",
        Some(msg_type::KRB_ERROR) => "KRB-ERROR",
        _ => "?",
    }
}

fn etype_name(n: i32) -> String {
    ktix::Enctype::from_i32(n).map(|e| e.name().to_string()).unwrap_or_else(|_| format!("enctype {n}"))
}

fn describe_ticket(t: &Ticket) -> String {
    let name = wire::principal_from(&t.sname, &t.realm).map(|p| p.to_string()).unwrap_or_default();
    format!(
        "ticket for {name} sealed in that server's key ({}, kvno {})",
        etype_name(t.enc_part.etype),
        t.enc_part.kvno.unwrap_or(0)
    )
}

/// Runs the demo.
pub fn run() -> Result<()> {
    println!("libktix {} — the Kerberos session-ticket scheme, step by step", env!("CARGO_PKG_VERSION"));
    let clock = Arc::new(FixedClock::new(Time::now().whole_seconds()));

    step(1, "An embedded KDC for realm KTIX.TEST, on a temporary SQLite database, served on loopback");
    let dir = TempDir::new()?;
    let db_path = dir.path().join("realm.db");
    let master = MasterKey::generate()?;
    master.save_stash(&stash_path(&db_path))?;
    let store = Arc::new(SqliteStore::create(&db_path, REALM, &master)?);
    let kdc = Arc::new(Kdc::with_store(REALM, store, RealmPolicy::default())?);
    kdc.add_principal(USER, Some(PASSWORD))?;
    kdc.add_principal(SERVICE, None)?;
    say(format!("database {} (keys encrypted under the master key in its 0600 stash)", db_path.display()));
    for name in [USER, SERVICE, &format!("krbtgt/{REALM}")] {
        let e = kdc.entry(&kdc.principal(name)?)?;
        let kinds: Vec<&str> = e.keys.iter().map(|k| k.key.enctype().name()).collect();
        say(format!("{:<34} kvno {}  keys: {}", e.principal.to_string(), e.current_kvno(), kinds.join(", ")));
    }
    say(format!(
        "alice's keys come from her password (salt \"{}\"); the others are random",
        String::from_utf8_lossy(&kdc.principal(USER)?.default_salt())
    ));
    say(format!(
        "policy: tickets live at most {} h, renewable up to {} days, clock skew {} s",
        kdc.policy().max_life / 3600,
        kdc.policy().max_renewable_life / 86400,
        kdc.policy().clock_skew
    ));
    let server_config = ServerConfig { clock: clock.clone(), logger: silent_logger(), ..ServerConfig::default() };
    let mut server = KdcServer::start(kdc.clone(), &["127.0.0.1:0"], server_config)?;
    say(format!("KDC listening on {} (UDP and TCP)", server.address()));

    let recorder = Arc::new(Recording::new(Network::new(vec![server.address()])));
    let ccache = CCache::memory();
    let client = Client::with_clock(ClientConfig::new(REALM), recorder.clone(), ccache.clone(), clock.clone());

    step(2, "AS exchange: alice logs in (pre-authentication required)");
    let tgt = client.login(USER, PASSWORD)?;
    let mut as_rep_bytes = Vec::new();
    for (req, rep) in recorder.since(0) {
        let mut line = format!("{} ({} bytes) -> {} ({} bytes)", msg_name(&req), req.len(), msg_name(&rep), rep.len());
        if wire::message_tag(&rep) == Some(msg_type::KRB_ERROR) {
            let e = wire::decode::<KrbError>(&rep)?;
            line += &format!(": {}", ErrorCode(e.error_code).name());
            say(line);
            if let Some(md) = e.e_data.as_ref().and_then(|d| wire::decode::<MethodData>(d).ok()) {
                for pa in md.iter().filter(|p| p.r#type == pa_type::ETYPE_INFO2) {
                    for entry in wire::decode::<EtypeInfo2>(&pa.value)? {
                        say(format!(
                            "    ETYPE-INFO2: {} with salt \"{}\"",
                            etype_name(entry.etype),
                            entry.salt.as_ref().map(wire::kstring_text).unwrap_or_default()
                        ));
                    }
                }
            }
            say("    alice derives her key from the password with that salt and sends PA-ENC-TIMESTAMP");
        } else {
            say(line);
            as_rep_bytes = rep;
        }
    }
    let as_rep = wire::decode::<AsRep>(&as_rep_bytes)?.0;

    step(3, "The reply carries both copies of the fresh session key");
    say(format!(
        "client's copy: enc-part sealed in alice's long-term key ({}, kvno {})",
        etype_name(as_rep.enc_part.etype),
        as_rep.enc_part.kvno.unwrap_or(0)
    ));
    say(format!(
        "server's copy: inside the TGT, sealed in krbtgt's key ({}, kvno {})",
        etype_name(as_rep.ticket.enc_part.etype),
        as_rep.ticket.enc_part.kvno.unwrap_or(0)
    ));
    say(format!(
        "session key: {}; TGT valid {} -> {} ({} h), flags {}",
        tgt.key.enctype(),
        tgt.start(),
        tgt.end_time,
        tgt.end_time.secs_since(tgt.start()) / 3600,
        tgt.flags.names(ticket_flags::NAMES).join(" ")
    ));
    let alice_key = ktix::Key::from_password(
        ktix::Enctype::from_i32(as_rep.ticket.enc_part.etype)?,
        PASSWORD.as_bytes(),
        &kdc.principal(USER)?.default_salt(),
        None,
    )?;
    match ktix::internals::proto::open_bytes(&alice_key, usage::TICKET, &as_rep.ticket.enc_part) {
        Err(e) => say(format!(
            "alice tries to open the TGT with her own key: {} — she can neither read nor alter it",
            e.code()
        )),
        Ok(_) => say("UNEXPECTED: alice's key opened the ticket"),
    }

    step(4, "TGS exchange + AP exchange: alice contacts host/server.ktix.test");
    let acceptor = Acceptor::with_config(kdc.keytab(SERVICE, clock.now())?, AcceptorConfig::default(), clock.clone());
    let before = recorder.count();
    let (ap_req, mut ctx) = client.ap_req(SERVICE, true)?;
    for (req, rep) in recorder.since(before) {
        say(format!("{} ({} bytes) -> {} ({} bytes)", msg_name(&req), req.len(), msg_name(&rep), rep.len()));
        if let Ok(t) = wire::decode::<TgsRep>(&rep) {
            say(format!("    {}", describe_ticket(&t.0.ticket)));
            say(format!(
                "    the reply's enc-part is sealed in the TGS authenticator's subkey ({})",
                etype_name(t.0.enc_part.etype)
            ));
        }
    }
    say(format!(
        "AP-REQ ({} bytes): the service ticket + an authenticator sealed in the session key ({})",
        ap_req.len(),
        ctx.session_key().enctype()
    ));
    let accepted = acceptor.accept(&ap_req)?;
    say(format!(
        "acceptor opened the ticket with its keytab key (kvno {}, {}) and the authenticator with the session key",
        accepted.kvno, accepted.ticket_enctype
    ));
    say(format!("  client = {}, ticket valid until {}", accepted.client, accepted.end_time));
    let ap_rep = accepted.ap_rep.clone().unwrap_or_default();
    ctx.verify(&ap_rep)?;
    say(format!(
        "mutual authentication: AP-REP ({} bytes) echoes the authenticator's time; alice verified it",
        ap_rep.len()
    ));
    drop(accepted);
    say("the acceptor kept no session key: it went to the caller in the Accepted value, now dropped");

    step(5, "A second contact is served from the ticket cache");
    let before = recorder.count();
    let (ap_req2, mut ctx2) = client.ap_req(SERVICE, true)?;
    let accepted2 = acceptor.accept(&ap_req2)?;
    ctx2.verify(accepted2.ap_rep.as_deref().unwrap_or_default())?;
    say(format!(
        "KDC requests for this contact: {} (cache holds {} tickets)",
        recorder.count() - before,
        ccache.credentials()?.len()
    ));

    step(6, "What the acceptor refuses");
    match acceptor.accept(&ap_req2) {
        Err(e) => say(format!("the same AP-REQ again: {} (replay cache)", e.code())),
        Ok(_) => say("UNEXPECTED: a replay was accepted"),
    }
    let (fresh, _) = client.ap_req(SERVICE, false)?;
    let mut forged = wire::decode::<wire::ApReq>(&fresh)?;
    let mut cipher = forged.ticket.enc_part.cipher.to_vec();
    let middle = cipher.len() / 2;
    cipher[middle] ^= 0x01;
    forged.ticket.enc_part.cipher = wire::octets(cipher);
    match acceptor.accept(&wire::encode(&forged)?) {
        Err(e) => say(format!("an AP-REQ with one bit flipped in the ticket: {}", e.code())),
        Ok(_) => say("UNEXPECTED: a tampered ticket was accepted"),
    }

    step(7, "Eight hours and one minute later (the clock is a fixed test clock)");
    clock.advance(8 * 3600 + 60);
    let before = recorder.count();
    match client.ap_req(SERVICE, true) {
        Err(e) => {
            say(format!(
                "the cached service ticket has ended, so the client asks the KDC again ({} request)",
                recorder.count() - before
            ));
            say(format!("KDC: {} — the TGT ended too; alice must log in again", e.code()));
        }
        Ok(_) => say("UNEXPECTED: an expired ticket was renewed without login"),
    }
    let stale = acceptor.accept(&ap_req);
    say(format!(
        "the first AP-REQ presented again now: {} (its authenticator is 8 hours old)",
        stale.map(|_| "accepted".to_string()).unwrap_or_else(|e| e.code().name())
    ));

    step(8, "Logoff flushes the cache");
    say(format!("before: {} credentials in {}", ccache.credentials()?.len(), ccache.name()));
    client.logout()?;
    say(format!(
        "after:  {} credentials; every session key has been dropped and zeroized",
        ccache.credentials()?.len()
    ));
    server.stop();
    println!("\nDone: {} KDC exchanges in all; the KDC is stopped and its temporary realm removed.", recorder.count());
    Ok(())
}

/// A private temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let mut id = [0u8; 8];
        openssl::rand::rand_bytes(&mut id).map_err(Error::from)?;
        let name: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("ktix-demo-{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(|e| Error::io(path.display(), e))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
