//! FILE credential caches (MIT format 0x0504, 0x0503 read): every field round-trips, MIT-written
//! caches are read and rewritten byte for byte, corrupt files are errors that leave the file
//! alone, concurrent writers lose nothing, destroy wipes; and, against a throwaway MIT realm,
//! MIT's kinit/kvno/klist and our client share one cache both ways.

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[path = "port/mod.rs"]
mod port;
use port::free_port;

use ktix::ccache::{CacheEntry, ConfigEntry};
use ktix::internals::wire::{ticket_flags as tf, Flags};
use ktix::{CCache, Client, ClientConfig, Credential, Enctype, ErrorCode, Key, Network, Principal, Time};

const FIXTURE: &str = "tests/fixtures/ccache/mit-1.20.ccache";

fn p(s: &str) -> Principal {
    Principal::parse(s, Some("KTIX.TEST")).unwrap()
}

fn cred(client: &str, server: &str, fill: u8) -> Credential {
    Credential {
        client: p(client),
        server: p(server),
        key: Key::new(Enctype::Aes256CtsHmacSha196, &[fill; 32]).unwrap(),
        auth_time: Time::from_unix(1_790_000_000),
        start_time: Some(Time::from_unix(1_790_000_010)),
        end_time: Time::from_unix(1_790_028_800),
        renew_till: Some(Time::from_unix(1_790_604_800)),
        flags: Flags::of(&[tf::FORWARDABLE, tf::RENEWABLE, tf::PRE_AUTHENT]),
        is_skey: false,
        addresses: vec![],
        authdata: vec![],
        ticket: vec![0x61, 3, 2, 1, fill],
        second_ticket: vec![],
    }
}

fn assert_same(a: &Credential, b: &Credential) {
    assert_eq!(a.client, b.client);
    assert_eq!(a.client.name_type(), b.client.name_type());
    assert_eq!(a.server, b.server);
    assert_eq!(a.server.name_type(), b.server.name_type());
    assert_eq!(a.key, b.key);
    assert_eq!(a.key.bytes(), b.key.bytes());
    assert_eq!(a.auth_time, b.auth_time);
    assert_eq!(a.start_time, b.start_time);
    assert_eq!(a.end_time, b.end_time);
    assert_eq!(a.renew_till, b.renew_till);
    assert_eq!(a.flags, b.flags);
    assert_eq!(a.is_skey, b.is_skey);
    assert_eq!(a.addresses, b.addresses);
    assert_eq!(a.authdata, b.authdata);
    assert_eq!(a.ticket, b.ticket);
    assert_eq!(a.second_ticket, b.second_ticket);
}

fn copy_fixture(dir: &Path) -> PathBuf {
    let path = dir.join("cc");
    fs::copy(FIXTURE, &path).unwrap();
    path
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn every_field_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    let cache = CCache::file(&path);
    assert_eq!(cache.name(), format!("FILE:{}", path.display()));
    assert_eq!(cache.path(), Some(path.as_path()));
    // No I/O until used; a missing file is an empty, uninitialized cache.
    assert!(!path.exists());
    assert!(!cache.exists().unwrap());
    assert_eq!(cache.principal().unwrap(), None);
    assert!(cache.credentials().unwrap().is_empty());
    let e = cache.store(cred("alice", "krbtgt/KTIX.TEST", 1)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert!(!path.exists());

    let alice = p("alice");
    cache.initialize(&alice).unwrap();
    assert_eq!(mode(&path), 0o600);
    let mut full = cred("alice", "host/server.ktix.test", 2);
    full.client = Principal::new(10, vec!["alice@corp.example".into()], "KTIX.TEST").unwrap();
    full.server = full.server.clone().with_name_type(3);
    full.key = Key::new(Enctype::Aes128CtsHmacSha256128, &[9; 16]).unwrap();
    full.is_skey = true;
    full.flags = Flags(0xdead_beef);
    full.addresses = vec![(2, vec![127, 0, 0, 1]), (24, vec![0; 16]), (-1, vec![1])];
    full.authdata = vec![(1, vec![0x30, 0x00]), (128, vec![1, 2, 3])];
    full.second_ticket = vec![0x61, 0x80, 0, 0];
    full.renew_till = None;
    let tgt = cred("alice", "krbtgt/KTIX.TEST", 1);
    cache.store(tgt.clone()).unwrap();
    cache.store(full.clone()).unwrap();
    cache.set_config("pa_type", Some(&p("krbtgt/KTIX.TEST")), b"2").unwrap();
    cache.set_config("fast_avail", None, b"yes").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(&fs::read(&path).unwrap()[..2], &[5, 4]);

    // A second handle (as another process would) reads it all back.
    let other = CCache::file(&path);
    assert_eq!(other.principal().unwrap(), Some(alice.clone()));
    let got = other.credentials().unwrap();
    assert_eq!(got.len(), 2);
    assert_same(&got[0], &tgt);
    let mut expect = full.clone();
    expect.addresses[2].0 = 0xffff; // a negative type is stored in 16 bits, as MIT does
    assert_same(&got[1], &expect);
    assert_same(&other.get(&full.server).unwrap().unwrap(), &expect);
    assert_eq!(other.config("pa_type", Some(&p("krbtgt/KTIX.TEST"))).unwrap(), Some(b"2".to_vec()));
    assert_eq!(other.config("fast_avail", None).unwrap(), Some(b"yes".to_vec()));
    assert_eq!(other.config("fast_avail", Some(&alice)).unwrap(), None);
    assert_eq!(other.kdc_time_offset().unwrap(), None);

    // Replacing appends the new one and marks the old one removed, as MIT does; config set twice
    // keeps one entry.
    let len = fs::metadata(&path).unwrap().len();
    let mut tgt2 = tgt.clone();
    tgt2.end_time = tgt.end_time.plus_secs(60);
    other.store(tgt2.clone()).unwrap();
    other.set_config("fast_avail", None, b"no").unwrap();
    let got = cache.credentials().unwrap();
    assert_eq!(got.len(), 2);
    assert_same(&got[0], &expect);
    assert_same(&got[1], &tgt2);
    assert!(fs::metadata(&path).unwrap().len() > len, "appended in place");
    assert_eq!(
        cache.config_entries().unwrap(),
        vec![
            ConfigEntry {
                key: "pa_type".into(),
                principal: Some("krbtgt/KTIX.TEST@KTIX.TEST".into()),
                value: b"2".to_vec()
            },
            ConfigEntry { key: "fast_avail".into(), principal: None, value: b"no".to_vec() },
        ]
    );
    assert!(cache.remove_config("fast_avail", None).unwrap());
    assert!(!cache.remove_config("fast_avail", None).unwrap());
    assert!(cache.remove(&full.server).unwrap());
    assert!(!cache.remove(&full.server).unwrap());
    assert_eq!(cache.credentials().unwrap().len(), 1);
    assert_eq!(cache.config_entries().unwrap().len(), 1);

    // initialize empties everything.
    cache.initialize(&p("bob")).unwrap();
    assert_eq!(other.principal().unwrap(), Some(p("bob")));
    assert!(other.entries().unwrap().is_empty());
}

/// One credential in format 0x0503: the enctype twice, no header.
fn v3_file(principal: &Principal, creds: &[&Credential]) -> Vec<u8> {
    fn data(out: &mut Vec<u8>, d: &[u8]) {
        out.extend_from_slice(&(d.len() as u32).to_be_bytes());
        out.extend_from_slice(d);
    }
    fn name(out: &mut Vec<u8>, p: &Principal) {
        out.extend_from_slice(&(p.name_type() as u32).to_be_bytes());
        out.extend_from_slice(&(p.components().len() as u32).to_be_bytes());
        data(out, p.realm().as_bytes());
        for c in p.components() {
            data(out, c.as_bytes());
        }
    }
    let mut out = vec![5, 3];
    name(&mut out, principal);
    for c in creds {
        name(&mut out, &c.client);
        name(&mut out, &c.server);
        let et = c.key.enctype().id() as u16;
        out.extend_from_slice(&et.to_be_bytes());
        out.extend_from_slice(&et.to_be_bytes());
        data(&mut out, c.key.bytes());
        for t in [c.auth_time, c.start_time.unwrap_or(Time::EPOCH), c.end_time, c.renew_till.unwrap_or(Time::EPOCH)] {
            out.extend_from_slice(&(t.unix() as u32).to_be_bytes());
        }
        out.push(c.is_skey as u8);
        out.extend_from_slice(&c.flags.0.to_be_bytes());
        out.extend_from_slice(&(c.addresses.len() as u32).to_be_bytes());
        for (t, a) in &c.addresses {
            out.extend_from_slice(&(*t as u16).to_be_bytes());
            data(&mut out, a);
        }
        out.extend_from_slice(&0u32.to_be_bytes()); // no authdata
        data(&mut out, &c.ticket);
        data(&mut out, &c.second_ticket);
    }
    out
}

#[test]
fn version_0503_is_read_and_rewritten_as_0504() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    let mut tgt = cred("alice", "krbtgt/KTIX.TEST", 4);
    tgt.addresses = vec![(2, vec![10, 0, 0, 1])];
    tgt.start_time = None;
    fs::write(&path, v3_file(&p("alice"), &[&tgt])).unwrap();
    let cache = CCache::file(&path);
    assert_eq!(cache.principal().unwrap(), Some(p("alice")));
    let got = cache.credentials().unwrap();
    assert_eq!(got.len(), 1);
    assert_same(&got[0], &tgt);
    let svc = cred("alice", "host/server.ktix.test", 5);
    cache.store(svc.clone()).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], &[5, 4, 0, 0], "rewritten as 0x0504 with an empty header");
    let got = CCache::file(&path).credentials().unwrap();
    assert_same(&got[0], &tgt);
    assert_same(&got[1], &svc);
}

fn expect_bad_file(cache: &CCache, path: &Path, want: &str) {
    let before = fs::read(path).unwrap();
    let check = |e: ktix::Error| {
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
        assert!(e.message().contains(&*path.to_string_lossy()), "{e}");
        assert!(e.message().contains(want), "{want:?}: {e}");
    };
    check(cache.principal().unwrap_err());
    check(cache.credentials().unwrap_err());
    check(cache.get(&p("krbtgt/KTIX.TEST")).unwrap_err());
    check(cache.store(cred("alice", "host/x", 1)).unwrap_err());
    check(cache.set_config("k", None, b"v").unwrap_err());
    check(cache.remove(&p("krbtgt/KTIX.TEST")).unwrap_err());
    assert_eq!(fs::read(path).unwrap(), before, "the file must be left alone");
}

#[test]
fn corrupt_truncated_and_foreign_files_are_errors_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(FIXTURE).unwrap();
    let path = dir.path().join("cc");
    let cache = CCache::file(&path);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "version needs 2 bytes"),
        (vec![5], "version needs 2 bytes"),
        (vec![5, 2, 0, 0], "0x0502 is not supported"),
        (vec![5, 1, 0, 0], "0x0501 is not supported"),
        (vec![5, 9, 0, 0], "unknown file format version 0x0509"),
        (b"this is not a ccache\n".to_vec(), "unknown file format version"),
        (vec![0x05, 0x02, 0x00, 0x00, 0x00, 0x40], "0x0502"), // a keytab
        (good[..20].to_vec(), "default principal"),
        (good[..3].to_vec(), "header length"),
        ([&good[..2], &[0xff, 0xff][..], &good[4..]].concat(), "the header needs 65535 bytes"),
        ([&good[..4], &[0, 1, 0, 9][..], &good[8..]].concat(), "a header field needs 9 bytes"),
    ];
    for (bytes, want) in cases {
        fs::write(&path, &bytes).unwrap();
        expect_bad_file(&cache, &path, want);
        // destroy still works on a corrupt file (the CLI's kdestroy must be able to clean up) —
        // checked once below; initialize replaces it explicitly.
    }
    fs::write(&path, &good[..good.len() - 5]).unwrap();
    cache.initialize(&p("alice")).unwrap();
    assert_eq!(cache.principal().unwrap(), Some(p("alice")));
    fs::write(&path, b"junk").unwrap();
    cache.destroy().unwrap();
    assert!(!path.exists());
    // Too big to be a cache: refused before reading it.
    let f = fs::File::create(&path).unwrap();
    f.set_len(ktix::ccache::MAX_CCACHE_SIZE as u64 + 1).unwrap();
    let e = cache.credentials().unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
}

/// Every single-byte flip and every truncation of the MIT fixture: an error or a cache, no panic.
#[test]
fn mutations_of_the_mit_fixture_never_panic() {
    let good = fs::read(FIXTURE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    let cache = CCache::file(&path);
    let step = (good.len() / 300).max(1);
    for i in (0..good.len()).step_by(step) {
        for variant in 0..2 {
            let bytes = if variant == 0 {
                good[..i].to_vec()
            } else {
                let mut b = good.clone();
                b[i] ^= 0xff;
                b
            };
            fs::write(&path, &bytes).unwrap();
            if let Err(e) = cache.entries() {
                assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
            }
        }
    }
}

#[test]
fn mit_fixture_is_read_and_rewritten_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let original = fs::read(&path).unwrap();
    let cache = CCache::file(&path);
    assert_eq!(cache.principal().unwrap(), Some(p("alice")));
    assert_eq!(cache.kdc_time_offset().unwrap(), Some((0, 0)));

    // Usable tickets: the TGT and two service tickets with aes256 session keys.
    let creds = cache.credentials().unwrap();
    let servers: Vec<String> = creds.iter().map(|c| c.server.to_string()).collect();
    assert_eq!(
        servers,
        ["krbtgt/KTIX.TEST@KTIX.TEST", "host/server.ktix.test@KTIX.TEST", "host/rc4.ktix.test@KTIX.TEST"]
    );
    for c in &creds {
        assert_eq!(c.client, p("alice"));
        assert_eq!(c.key.enctype(), Enctype::Aes256CtsHmacSha196);
        assert!(c.end_time > c.auth_time && c.renew_till.is_some());
        assert!(c.flags.has(tf::FORWARDABLE) && c.flags.has(tf::RENEWABLE) && c.flags.has(tf::PRE_AUTHENT));
        assert_eq!(c.ticket.first(), Some(&0x61), "a DER Ticket");
    }
    let tgt = &creds[0];
    assert_eq!(tgt.server.name_type(), 2);
    assert!(tgt.flags.has(tf::INITIAL));
    assert_eq!(tgt.start_time, Some(tgt.auth_time));

    // Kept but not usable: an arcfour session key, and a referral entry (empty realm).
    let entries = cache.entries().unwrap();
    assert_eq!(entries.len(), 7);
    let opaque: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            CacheEntry::Opaque(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(opaque.len(), 2);
    assert_eq!(opaque[0].server_name(), "host/rc4b.ktix.test@KTIX.TEST");
    assert_eq!(opaque[0].key().enctype_id(), 23);
    assert_eq!(opaque[0].key().key(), None);
    assert_eq!(opaque[0].client(), Some(p("alice")));
    assert_eq!(opaque[1].server_name(), "host/ref.ktix.test@");
    assert_eq!(opaque[1].server(), None);
    assert_eq!(opaque[1].key().enctype_id(), 18);
    assert!(!format!("{:?}", opaque[0]).contains(&format!("{:?}", opaque[0].key().bytes())));
    assert!(cache.get(&p("host/rc4b.ktix.test")).unwrap().is_none());

    // MIT's configuration entries: not tickets, but visible as configuration.
    let krbtgt = p("krbtgt/KTIX.TEST");
    assert_eq!(cache.config("fast_avail", Some(&krbtgt)).unwrap(), Some(b"yes".to_vec()));
    assert_eq!(cache.config("pa_type", Some(&krbtgt)).unwrap(), Some(b"2".to_vec()));
    assert_eq!(cache.config_entries().unwrap().len(), 2);
    assert!(cache.get(&p("krb5_ccache_conf_data/fast_avail")).unwrap().is_none());

    // Storing a credential that is already there changes nothing.
    let ino = fs::metadata(&path).unwrap().ino();
    cache.store(tgt.clone()).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino, "changed in place, never replaced");
    assert_eq!(fs::read(&path).unwrap(), original);

    // A new ticket for the arcfour service replaces the opaque one: appended, the old one marked
    // removed in place (the bytes before the end are the original's but for its ticket times).
    cache.store(cred("alice", "host/rc4b.ktix.test", 7)).unwrap();
    let entries = cache.entries().unwrap();
    assert_eq!(entries.len(), 7);
    assert!(matches!(&entries[6], CacheEntry::Ticket(c) if c.server == p("host/rc4b.ktix.test")));
    let now = fs::read(&path).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
    assert_eq!(now[..original.len()].iter().zip(&original).filter(|(a, b)| a != b).count(), 8, "auth and end time");
    assert!(cache.remove(&p("host/rc4b.ktix.test")).unwrap());
    assert_eq!(cache.entries().unwrap().len(), 6);
}

#[test]
fn mit_klist_reads_our_rewrite_of_the_fixture() {
    if !have("klist") {
        eprintln!("SKIPPED mit_klist_reads_our_rewrite_of_the_fixture: MIT klist is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let before = klist(&path);
    let cache = CCache::file(&path);
    let mut extra = cred("alice", "host/extra.ktix.test", 3);
    extra.key = Key::new(Enctype::Aes128CtsHmacSha256128, &[3; 16]).unwrap();
    // A real Ticket (klist decodes it for the ticket's enctype): the fixture's own.
    extra.ticket = cache.get(&p("host/server.ktix.test")).unwrap().unwrap().ticket;
    cache.store(extra).unwrap();
    let after = klist(&path);
    assert!(after.starts_with(before.trim_end()), "MIT's listing changed:\n{before}\n---\n{after}");
    let added = &after[before.trim_end().len()..];
    assert!(added.contains("host/extra.ktix.test@KTIX.TEST"), "{after}");
    assert!(added.contains("Etype (skey, tkt): aes128-cts-hmac-sha256-128, aes256-cts-hmac-sha1-96"), "{after}");
}

#[test]
fn concurrent_stores_from_two_handles_lose_nothing() {
    const PER_THREAD: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    CCache::file(&path).initialize(&p("alice")).unwrap();
    let start = Arc::new(Barrier::new(3));
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (path, start) = (path.clone(), start.clone());
            std::thread::spawn(move || {
                let cache = CCache::file(&path);
                start.wait();
                for i in 0..PER_THREAD {
                    cache.store(cred("alice", &format!("host/t{t}-{i}.ktix.test"), i as u8)).unwrap();
                    if i % 10 == 0 {
                        cache.set_config(&format!("k{t}"), None, &[i as u8]).unwrap();
                    }
                }
            })
        })
        .collect();
    // A reader meanwhile: never a torn or failed read, never fewer credentials than before.
    let reader = {
        let (path, start, done) = (path.clone(), start.clone(), done.clone());
        std::thread::spawn(move || {
            let cache = CCache::file(&path);
            start.wait();
            let mut seen = 0;
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let n = cache.credentials().unwrap().len();
                assert!(n >= seen, "{n} < {seen}");
                seen = n;
                reads += 1;
            }
            reads
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    let creds = CCache::file(&path).credentials().unwrap();
    assert_eq!(creds.len(), 2 * PER_THREAD);
    for t in 0..2 {
        for i in 0..PER_THREAD {
            let server = p(&format!("host/t{t}-{i}.ktix.test"));
            assert!(creds.iter().any(|c| c.server == server), "{server} lost");
        }
    }
    assert_eq!(CCache::file(&path).config_entries().unwrap().len(), 2);
    assert!(reads > 0);
    // No temporary or lock files: the cache file is locked itself, as MIT does.
    let names: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["cc"]);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_cache_rewritten_underneath_is_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    let a = CCache::file(&path);
    let b = CCache::file(&path);
    a.initialize(&p("alice")).unwrap();
    a.store(cred("alice", "krbtgt/KTIX.TEST", 1)).unwrap();
    assert_eq!(a.credentials().unwrap().len(), 1);
    b.initialize(&p("bob")).unwrap();
    b.store(cred("bob", "krbtgt/KTIX.TEST", 2)).unwrap();
    b.store(cred("bob", "host/server.ktix.test", 3)).unwrap();
    assert_eq!(a.principal().unwrap(), Some(p("bob")));
    let got = a.credentials().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].key.bytes(), &[2; 32]);
    // Replaced by a plain copy (another program's atomic rename).
    let other = dir.path().join("other");
    fs::copy(FIXTURE, &other).unwrap();
    fs::rename(&other, &path).unwrap();
    assert_eq!(a.principal().unwrap(), Some(p("alice")));
    assert_eq!(a.credentials().unwrap().len(), 3);
}

#[test]
fn destroy_wipes_and_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let cache = CCache::file(&path);
    cache.set_config("x", None, b"y").unwrap();
    let mut still_open = fs::File::open(&path).unwrap();
    let len = fs::metadata(&path).unwrap().len();
    cache.destroy().unwrap();
    assert!(!path.exists());
    let mut old = Vec::new();
    still_open.read_to_end(&mut old).unwrap();
    assert_eq!(old.len() as u64, len);
    assert!(old.iter().all(|&b| b == 0), "the old content is overwritten with zeros");
    // Gone: empty and uninitialized; destroying again says so.
    assert!(!cache.exists().unwrap());
    assert_eq!(cache.principal().unwrap(), None);
    assert!(cache.credentials().unwrap().is_empty());
    let e = cache.destroy().unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert!(e.message().contains("no credentials cache found"), "{e}");
    assert!(e.message().contains(&*path.to_string_lossy()), "{e}");
    let e = cache.store(cred("alice", "krbtgt/KTIX.TEST", 1)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KTIX_ERR_NOT_FOUND);
    assert!(!path.exists());
}

#[test]
fn a_cache_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    fs::create_dir(&path).unwrap();
    let cache = CCache::file(&path);
    for e in [cache.credentials().unwrap_err(), cache.store(cred("alice", "host/x", 1)).unwrap_err()] {
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE, "{e}");
        assert!(e.message().contains("not a regular file"), "{e}");
    }
}

#[test]
fn a_torn_last_record_is_dropped_and_written_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    let good = fs::read(&path).unwrap();
    let cache = CCache::file(&path);
    let all = cache.entries().unwrap().len();
    // A writer died in the middle of appending: the records before it are all there.
    let extra = cred("alice", "host/extra.ktix.test", 3);
    cache.store(extra.clone()).unwrap();
    let appended = fs::read(&path).unwrap();
    assert_eq!(&appended[..good.len()], &good[..]);
    for cut in [1, 20, appended.len() - good.len() - 1] {
        fs::write(&path, &appended[..appended.len() - cut]).unwrap();
        assert_eq!(cache.entries().unwrap().len(), all, "{cut}");
        assert!(cache.get(&extra.server).unwrap().is_none());
    }
    // The next append writes over the torn record.
    cache.store(extra.clone()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), appended);
    if have("klist") {
        assert!(klist(&path).contains("host/extra.ktix.test@KTIX.TEST"));
    }
}

/// A lock taken as MIT takes it (`fcntl`, whole file, in another process) holds us off, for
/// reading and for writing.
#[test]
fn an_fcntl_lock_of_another_process_excludes_us() {
    if !have("python3") {
        eprintln!("SKIPPED an_fcntl_lock_of_another_process_excludes_us: python3 is not installed");
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path());
    for lock in ["LOCK_EX", "LOCK_SH"] {
        let script = format!(
            "import fcntl, sys\nf = open(sys.argv[1], 'r+b')\nfcntl.lockf(f, fcntl.{lock})\nprint('locked', flush=True)\nsys.stdin.read()\n"
        );
        let mut child = Command::new("python3")
            .args(["-c", &script])
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        let stdin = child.stdin.take().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            drop(stdin);
            child.wait().unwrap();
        });
        let start = Instant::now();
        let cache = CCache::file(&path);
        // A read lock lets us read at once; a write lock holds off the read too.
        cache.credentials().unwrap();
        let read_waited = start.elapsed();
        cache.store(cred("alice", &format!("host/{lock}.ktix.test"), 1)).unwrap();
        let write_waited = start.elapsed();
        release.join().unwrap();
        if lock == "LOCK_EX" {
            assert!(read_waited >= Duration::from_millis(400), "{lock}: read after {read_waited:?}");
        } else {
            assert!(read_waited < Duration::from_millis(400), "{lock}: read after {read_waited:?}");
        }
        assert!(write_waited >= Duration::from_millis(400), "{lock}: written after {write_waited:?}");
    }
}

#[test]
fn names_resolve_like_mit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cc");
    let f = CCache::resolve(&format!("FILE:{}", path.display())).unwrap();
    assert_eq!(f.name(), format!("FILE:{}", path.display()));
    let plain = CCache::resolve(path.to_str().unwrap()).unwrap();
    assert_eq!(plain.name(), f.name());
    f.initialize(&p("alice")).unwrap();
    assert_eq!(plain.principal().unwrap(), Some(p("alice")));
    assert_eq!(CCache::resolve("rel/dir:x").unwrap().name(), "FILE:rel/dir:x");

    // MEMORY:name is one cache per name in the process, and outlives its handles.
    let name = format!("MEMORY:ccache-file-test-{}", std::process::id());
    let m1 = CCache::resolve(&name).unwrap();
    assert_eq!(m1.name(), name);
    assert_eq!(m1.path(), None);
    m1.initialize(&p("alice")).unwrap();
    m1.store(cred("alice", "krbtgt/KTIX.TEST", 1)).unwrap();
    drop(m1);
    let m2 = CCache::resolve(&name).unwrap();
    assert_eq!(m2.credentials().unwrap().len(), 1);
    assert!(CCache::resolve("MEMORY:another").unwrap().credentials().unwrap().is_empty());
    m2.destroy().unwrap();
    assert!(CCache::resolve(&name).unwrap().principal().unwrap().is_none());
    // A private memory cache is found by its name while a handle holds it.
    let private = CCache::memory();
    private.initialize(&p("carol")).unwrap();
    assert_eq!(CCache::resolve(private.name()).unwrap().principal().unwrap(), Some(p("carol")));
    assert_ne!(CCache::memory().name(), private.name());

    for bad in ["", "FILE:", "MEMORY:", "KEYRING:persistent:0", "DIR:/tmp/x", "KCM:1000"] {
        let e = CCache::resolve(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_INVALID_ARGUMENT, "{bad}: {e}");
    }

    let default = CCache::default_name();
    match std::env::var("KRB5CCNAME") {
        Ok(v) if !v.is_empty() => assert_eq!(default, v),
        _ => assert_eq!(default, format!("FILE:/tmp/krb5cc_{}", fs::metadata("/proc/self").unwrap().uid())),
    }
    assert_eq!(CCache::default().unwrap().name(), default);
}

#[test]
fn memory_caches_hold_config_entries_too() {
    let m = CCache::memory();
    assert!(m.set_config("k", None, b"v").is_err());
    m.initialize(&p("alice")).unwrap();
    m.set_config("k", None, b"v").unwrap();
    m.store(cred("alice", "krbtgt/KTIX.TEST", 1)).unwrap();
    assert_eq!(m.credentials().unwrap().len(), 1);
    assert_eq!(m.config("k", None).unwrap(), Some(b"v".to_vec()));
    assert_eq!(m.entries().unwrap().len(), 2);
    // A memory cache keeps times exactly (sub-second too); only files hold whole seconds.
    let mut c = cred("alice", "host/a", 2);
    c.end_time = Time::from_unix_parts(1_790_028_800, 500_000);
    m.store(c.clone()).unwrap();
    assert_eq!(m.get(&c.server).unwrap().unwrap().end_time, c.end_time);
    m.destroy().unwrap();
    assert!(m.entries().unwrap().is_empty());
    assert!(!m.exists().unwrap());
}

#[test]
fn send_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<CCache>();
    check::<CacheEntry>();
}

// ---------------------------------------------------------------------------------------------
// Against MIT krb5: a throwaway realm on a loopback port
// ---------------------------------------------------------------------------------------------

/// Whether `program` is on PATH (or in /usr/sbin, where Debian puts the KDC).
fn have(program: &str) -> bool {
    find(program).is_some()
}

fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn klist(cache: &Path) -> String {
    let out = Command::new("klist")
        .arg("-e")
        .arg("-c")
        .arg(format!("FILE:{}", cache.display()))
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success(), "klist: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A running MIT KDC for KTIX.TEST (alice / alice-pw, host/server.ktix.test, host/other.ktix.test)
/// with all its state in a temporary directory; stopped when dropped, also when a test fails.
struct MitRealm {
    dir: tempfile::TempDir,
    port: u16,
    pid: Option<u32>,
}

impl MitRealm {
    fn start() -> MitRealm {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut realm = MitRealm { dir, port, pid: None };
        let d = realm.dir.path().to_path_buf();
        fs::write(
            d.join("krb5.conf"),
            format!(
                "[libdefaults]\n  default_realm = KTIX.TEST\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n  \
                 rdns = false\n  forwardable = true\n[realms]\n  KTIX.TEST = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
            ),
        )
        .unwrap();
        fs::write(
            d.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n[realms]\n  KTIX.TEST = {{\n    \
                 database_name = {db}\n    key_stash_file = {stash}\n    acl_file = {acl}\n    max_life = 8h 0m 0s\n    \
                 max_renewable_life = 7d 0h 0m 0s\n    supported_enctypes = aes256-cts-hmac-sha1-96:normal \
                 aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal\n    \
                 default_principal_flags = +preauth\n  }}\n[logging]\n  kdc = FILE:{log}\n",
                db = d.join("principal").display(),
                stash = d.join("stash").display(),
                acl = d.join("kadm5.acl").display(),
                log = d.join("kdc.log").display(),
            ),
        )
        .unwrap();
        fs::write(d.join("kadm5.acl"), "").unwrap();
        realm.run(
            &[program("kdb5_util").as_os_str().to_str().unwrap(), "create", "-s", "-r", "KTIX.TEST", "-P", "master-pw"],
            None,
        );
        for q in [
            "addprinc -pw alice-pw +requires_preauth alice",
            "addprinc -randkey host/server.ktix.test",
            "addprinc -randkey host/other.ktix.test",
        ] {
            realm.run(&[program("kadmin.local").to_str().unwrap(), "-r", "KTIX.TEST", "-q", q], None);
        }
        let pid_file = d.join("kdc.pid");
        realm.run(&[program("krb5kdc").to_str().unwrap(), "-r", "KTIX.TEST", "-P", pid_file.to_str().unwrap()], None);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(pid) = fs::read_to_string(&pid_file) {
                if let Ok(pid) = pid.trim().parse() {
                    realm.pid = Some(pid);
                }
            }
            if realm.pid.is_some() && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "the MIT KDC did not start; see {}", d.join("kdc.log").display());
            std::thread::sleep(Duration::from_millis(50));
        }
        realm
    }

    /// Runs an MIT program with this realm's configuration; panics (with its output) on failure.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let out = self.try_run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn try_run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let d = self.dir.path();
        let mut cmd = Command::new(args[0]);
        cmd.args(&args[1..])
            .env("KRB5_CONFIG", d.join("krb5.conf"))
            .env("KRB5_KDC_PROFILE", d.join("kdc.conf"))
            .env("KRB5CCNAME", "FILE:/nonexistent/ktix-test-default-cache")
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{args:?}: {e}"));
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    fn kdc(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for MitRealm {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn program(name: &str) -> PathBuf {
    find(name).unwrap_or_else(|| panic!("MIT's {name} is not installed (apt-get install krb5-kdc krb5-admin-server)"))
}

/// The Etype lines and names of MIT's `klist -e`, without the header (which names the file).
fn tickets(listing: &str) -> Vec<String> {
    listing.lines().skip_while(|l| !l.starts_with("Valid starting")).skip(1).map(str::to_string).collect()
}

#[test]
fn mit_interop_both_ways() {
    if !have("kinit") {
        eprintln!("SKIPPED mit_interop_both_ways: MIT kinit is not installed (apt-get install krb5-user krb5-kdc)");
        return;
    }
    let realm = MitRealm::start();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("cc");
    let cc = format!("FILE:{}", path.display());

    // MIT writes: kinit + kvno.
    realm.run(&["kinit", "-c", &cc, "alice"], Some("alice-pw\n"));
    realm.run(&["kvno", "-c", &cc, "host/server.ktix.test"], None);
    let mit_bytes = fs::read(&path).unwrap();
    let mit_listing = klist(&path);

    // We read it: principal, TGT + service ticket, config entries.
    let cache = CCache::file(&path);
    assert_eq!(cache.principal().unwrap(), Some(p("alice")));
    let creds = cache.credentials().unwrap();
    let servers: Vec<String> = creds.iter().map(|c| c.server.to_string()).collect();
    assert_eq!(servers, ["krbtgt/KTIX.TEST@KTIX.TEST", "host/server.ktix.test@KTIX.TEST"]);
    let config = cache.config_entries().unwrap();
    assert!(config.iter().any(|c| c.key == "pa_type" && c.value == b"2"), "{config:?}");

    // Rewriting with nothing changed gives MIT's bytes back.
    cache.store(creds[0].clone()).unwrap();
    let ours = fs::read(&path).unwrap();
    assert_eq!(ours, mit_bytes, "our re-serialization differs from MIT's");

    // Our client uses MIT's TGT for a TGS exchange with MIT's KDC and stores the ticket.
    let client = Client::new(ClientConfig::new("KTIX.TEST"), Arc::new(Network::new(vec![realm.kdc()])), cache.clone());
    let st = client.service_ticket("host/other.ktix.test").unwrap();
    assert_eq!(client.stats().as_requests, 0);
    assert_eq!(st.client, p("alice"));
    // MIT's klist reads our rewrite: the old lines unchanged, the new ticket after them.
    let listing = klist(&path);
    let (before, after) = (tickets(&mit_listing), tickets(&listing));
    assert_eq!(&after[..before.len()], &before[..], "{listing}");
    assert!(after[before.len()..].iter().any(|l| l.contains("host/other.ktix.test@KTIX.TEST")), "{listing}");
    assert!(cache.config_entries().unwrap() == config, "config entries kept");
    // MIT's kvno finds that ticket in our file (no new TGS request to the KDC).
    let log_before = fs::read_to_string(realm.dir.path().join("kdc.log")).unwrap().lines().count();
    realm.run(&["kvno", "-c", &cc, "host/other.ktix.test"], None);
    let log_after = fs::read_to_string(realm.dir.path().join("kdc.log")).unwrap().lines().count();
    assert_eq!(log_before, log_after, "MIT's kvno used the ticket we cached");
    assert_eq!(cache.credentials().unwrap().len(), 3);

    // The other way: our login writes the cache, MIT's kvno uses our TGT and appends to our file.
    let path2 = work.path().join("cc2");
    let cc2 = format!("FILE:{}", path2.display());
    let ours = CCache::file(&path2);
    let client = Client::new(ClientConfig::new("KTIX.TEST"), Arc::new(Network::new(vec![realm.kdc()])), ours.clone());
    client.login("alice", "alice-pw").unwrap();
    assert_eq!(mode(&path2), 0o600);
    realm.run(&["kvno", "-c", &cc2, "host/server.ktix.test"], None);
    let listing = klist(&path2);
    assert!(listing.contains("Default principal: alice@KTIX.TEST"), "{listing}");
    assert_eq!(tickets(&listing).iter().filter(|l| l.contains("@KTIX.TEST")).count(), 2, "{listing}");
    let creds = ours.credentials().unwrap();
    assert_eq!(creds.len(), 2, "we read MIT's append to our file");
    assert_eq!(creds[1].server, p("host/server.ktix.test"));
    // And our client now uses the ticket MIT fetched (no TGS of its own).
    let st = client.service_ticket("host/server.ktix.test").unwrap();
    assert_eq!(client.stats().tgs_requests, 0);
    assert_eq!(st.key, creds[1].key);

    // MIT's kdestroy removes our file; our destroy removes MIT's.
    realm.run(&["kdestroy", "-c", &cc2], None);
    assert!(!path2.exists());
    assert_eq!(ours.principal().unwrap(), None);
    cache.destroy().unwrap();
    assert!(!path.exists());
    let out = realm.try_run(&["klist", "-c", &cc], None);
    assert!(!out.status.success());
}
