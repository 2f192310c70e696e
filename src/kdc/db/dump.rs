//! Moving a realm between databases: [`dump`] writes every policy and principal of a
//! [`RealmDatabase`] to a text file, [`load`] fills a new database from one — SQLite to
//! PostgreSQL or back (`ktix db dump FILE`, `ktix db load FILE`).
//!
//! # The dump format, version 1
//!
//! UTF-8 text, one record per line, fields separated by one tab; `-` is an absent value,
//! booleans are `0`/`1`, byte strings lower-case hexadecimal, times Unix microseconds:
//!
//! ```text
//! ktix-dump       1
//! realm           REALM
//! master_source   random | password
//! master_check    HEX        the master key's check value (a load refuses another master key)
//! enctypes        NAME,NAME  the realm's enctypes
//! policy          NAME max_failures failure_interval lockout_duration min_length min_classes
//! principal       NAME name_type requires_preauth max_life max_renewable_life expiration
//!                 disabled allow_forwardable allow_renewable policy fail_count last_failed
//! key             kvno enctype key_data salt s2kparams    (of the principal line above it)
//! end             N          the number of principal lines: a truncated file is refused
//! ```
//!
//! `NAME` of a principal is its display form (`a/b@REALM`, escaped as [`Principal`] prints it);
//! lines starting with `#` are comments. `key_data` is the key wrapped under the realm's master
//! key exactly as in the databases ([`super::master_key`]): a dump holds no key in the clear,
//! and loading it needs the same master key (its stash). Unknown record types are refused, so a
//! later version cannot be half-read.

use std::io::{BufRead, Write};

use super::database::RealmDatabase;
use super::master_key::MasterKey;
use super::store::{KeyEntry, Policy, PrincipalEntry, PrincipalStore};
use crate::crypto::Enctype;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// The format version [`dump`] writes and [`load`] reads.
pub const DUMP_VERSION: u32 = 1;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn write_err(e: std::io::Error) -> Error {
    Error::new(ErrorCode::KTIX_ERR_IO, format!("writing the dump: {e}"))
}

/// Writes every policy and principal of `db` to `out` in the dump format; returns how many
/// principals were written. Keys stay wrapped under the master key.
pub fn dump(db: &RealmDatabase, out: &mut impl Write) -> Result<usize> {
    let info = db.info()?;
    let master = db.master();
    let enctypes: Vec<&str> = db.enctypes()?.iter().map(|e| e.name()).collect();
    let mut text = String::new();
    text.push_str(&format!("# ktix realm dump: keys are encrypted under the master key of {}\n", info.realm));
    text.push_str(&format!("ktix-dump\t{DUMP_VERSION}\nrealm\t{}\n", info.realm));
    text.push_str(&format!("master_source\t{}\n", if info.master_from_password { "password" } else { "random" }));
    text.push_str(&format!("master_check\t{}\nenctypes\t{}\n", hex(&master.check_value()?), enctypes.join(",")));
    out.write_all(text.as_bytes()).map_err(write_err)?;
    for p in db.list_policies()? {
        writeln!(
            out,
            "policy\t{}\t{}\t{}\t{}\t{}\t{}",
            p.name, p.max_failures, p.failure_interval, p.lockout_duration, p.min_length, p.min_classes
        )
        .map_err(write_err)?;
    }
    let mut n = 0;
    for name in db.list()? {
        // A principal deleted since the listing is skipped.
        let Some(e) = db.get(&name)? else { continue };
        let b = |v: bool| if v { "1" } else { "0" };
        writeln!(
            out,
            "principal\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.principal,
            e.principal.name_type(),
            b(e.requires_preauth),
            opt(e.max_life),
            opt(e.max_renewable_life),
            opt(e.expiration.map(Time::unix_micros)),
            b(e.disabled),
            b(e.allow_forwardable),
            b(e.allow_renewable),
            opt(e.policy.as_deref()),
            e.fail_count,
            opt(e.last_failed.map(Time::unix_micros)),
        )
        .map_err(write_err)?;
        let name = e.principal.to_string();
        for k in &e.keys {
            writeln!(
                out,
                "key\t{}\t{}\t{}\t{}\t{}",
                k.kvno,
                k.key.enctype().id(),
                hex(&master.wrap_key(&name, k.kvno, &k.key)?),
                hex(&k.salt),
                opt(k.s2kparams.as_deref().map(hex)),
            )
            .map_err(write_err)?;
        }
        n += 1;
    }
    writeln!(out, "end\t{n}").map_err(write_err)?;
    out.flush().map_err(write_err)?;
    Ok(n)
}

/// The header of a dump: what [`load`] needs to create the target database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpHeader {
    /// The realm.
    pub realm: String,
    /// Whether the master key was derived from a password.
    pub master_from_password: bool,
    /// The realm's enctypes.
    pub enctypes: Vec<Enctype>,
    master_check: Vec<u8>,
}

impl DumpHeader {
    /// Whether the dump was made under `master` (its keys open with it).
    pub fn made_with(&self, master: &MasterKey) -> bool {
        master.matches_check(MasterKey::ENCTYPE.id(), &self.master_check)
    }
}

/// A parsed dump: its header, policies and principals (keys unwrapped with the master key).
pub struct Dump {
    /// The header.
    pub header: DumpHeader,
    /// The policies.
    pub policies: Vec<Policy>,
    /// The principals, with their keys.
    pub principals: Vec<PrincipalEntry>,
}

/// The header lines read so far.
#[derive(Default)]
struct Header {
    version: Option<u32>,
    realm: Option<String>,
    from_password: Option<bool>,
    check: Option<Vec<u8>>,
    enctypes: Option<Vec<Enctype>>,
}

/// Reads a dump from `input` (named `source` in errors), unwrapping its keys with `master`.
/// A dump of another version, a malformed or truncated one is `KTIX_ERR_BAD_FILE` naming the
/// line; another master key is `KRB_AP_ERR_BAD_INTEGRITY`.
pub fn read(input: impl BufRead, source: &str, master: &MasterKey) -> Result<Dump> {
    let mut header = Header::default();
    let mut policies = Vec::new();
    let mut principals: Vec<PrincipalEntry> = Vec::new();
    let mut ended = None;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| Error::io(source, e))?;
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{source}: line {}: {why}", i + 1));
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if ended.is_some() {
            return Err(bad("data after the end line"));
        }
        let f: Vec<&str> = line.split('\t').collect();
        let want = |n: usize| if f.len() == n { Ok(()) } else { Err(bad(&format!("{} takes {} fields", f[0], n - 1))) };
        let num = |s: &str| s.parse::<i64>().map_err(|_| bad(&format!("{s:?} is not a number")));
        let small = |s: &str| s.parse::<u32>().map_err(|_| bad(&format!("{s:?} is not a small number")));
        let optnum = |s: &str| if s == "-" { Ok(None) } else { num(s).map(Some) };
        let flag = |s: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad(&format!("{s:?} is not 0 or 1"))),
        };
        let bytes = |s: &str| unhex(s).ok_or_else(|| bad("bad hexadecimal"));
        if header.version.is_none() && f[0] != "ktix-dump" {
            return Err(bad("not a ktix dump (no ktix-dump line first)"));
        }
        match f[0] {
            "ktix-dump" => {
                want(2)?;
                let v = small(f[1])?;
                if v != DUMP_VERSION {
                    return Err(bad(&format!("dump version {v}; this ktix reads version {DUMP_VERSION}")));
                }
                header.version = Some(v);
            }
            "realm" => {
                want(2)?;
                header.realm = Some(f[1].to_string());
            }
            "master_source" => {
                want(2)?;
                header.from_password = Some(match f[1] {
                    "password" => true,
                    "random" => false,
                    _ => return Err(bad("master_source is random or password")),
                });
            }
            "master_check" => {
                want(2)?;
                let check = bytes(f[1])?;
                if !master.matches_check(MasterKey::ENCTYPE.id(), &check) {
                    return Err(Error::new(
                        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
                        format!("{source}: the dump was made under another master key than the stash given"),
                    ));
                }
                header.check = Some(check);
            }
            "enctypes" => {
                want(2)?;
                let list = f[1].split(',').map(Enctype::from_name).collect::<Result<Vec<_>>>();
                header.enctypes = Some(list.map_err(|e| bad(e.message()))?);
            }
            "policy" => {
                want(7)?;
                policies.push(Policy {
                    name: f[1].to_string(),
                    max_failures: small(f[2])?,
                    failure_interval: num(f[3])?,
                    lockout_duration: num(f[4])?,
                    min_length: small(f[5])?,
                    min_classes: small(f[6])?,
                });
            }
            "principal" => {
                want(13)?;
                let realm = header.realm.as_deref().ok_or_else(|| bad("principal before the realm line"))?;
                let nt = i32::try_from(num(f[2])?).map_err(|_| bad("name type out of range"))?;
                let p = Principal::parse(f[1], Some(realm)).map_err(|e| bad(e.message()))?.with_name_type(nt);
                let mut e = PrincipalEntry::new(p);
                e.requires_preauth = flag(f[3])?;
                e.max_life = optnum(f[4])?;
                e.max_renewable_life = optnum(f[5])?;
                e.expiration = optnum(f[6])?.map(Time::from_unix_micros);
                e.disabled = flag(f[7])?;
                e.allow_forwardable = flag(f[8])?;
                e.allow_renewable = flag(f[9])?;
                e.policy = (f[10] != "-").then(|| f[10].to_string());
                e.fail_count = small(f[11])?;
                e.last_failed = optnum(f[12])?.map(Time::from_unix_micros);
                principals.push(e);
            }
            "key" => {
                want(6)?;
                let e = principals.last_mut().ok_or_else(|| bad("key before any principal"))?;
                let kvno = small(f[1])?;
                let enctype = i32::try_from(num(f[2])?).map_err(|_| bad("enctype out of range"))?;
                let key = master.unwrap_key(&e.principal.to_string(), kvno, enctype, &bytes(f[3])?)?;
                let s2kparams = if f[5] == "-" { None } else { Some(bytes(f[5])?) };
                e.keys.push(KeyEntry { kvno, key, salt: bytes(f[4])?, s2kparams });
            }
            "end" => {
                want(2)?;
                let n = num(f[1])?;
                if usize::try_from(n).ok() != Some(principals.len()) {
                    return Err(bad(&format!("the end line counts {n} principals, the dump has {}", principals.len())));
                }
                ended = Some(n);
            }
            other => return Err(bad(&format!("unknown record {other:?}"))),
        }
    }
    let missing = |what: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{source}: no {what} line"));
    if ended.is_none() {
        return Err(Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{source}: truncated (no end line)")));
    }
    Ok(Dump {
        header: DumpHeader {
            realm: header.realm.ok_or_else(|| missing("realm"))?,
            master_from_password: header.from_password.ok_or_else(|| missing("master_source"))?,
            master_check: header.check.ok_or_else(|| missing("master_check"))?,
            enctypes: header.enctypes.ok_or_else(|| missing("enctypes"))?,
        },
        policies,
        principals,
    })
}

/// Fills `db` — a database just created for the dump's realm under the same master key — with
/// the policies and principals of `dump`; returns how many principals were loaded.
pub fn load(db: &RealmDatabase, dump: &Dump) -> Result<usize> {
    if db.realm() != dump.header.realm {
        return Err(Error::invalid(format!(
            "{}: the database is for realm {}, the dump for {}",
            db.location(),
            db.realm(),
            dump.header.realm
        )));
    }
    if !dump.header.made_with(db.master()) {
        return Err(Error::new(
            ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
            format!("{}: the database and the dump have different master keys", db.location()),
        ));
    }
    db.set_enctypes(&dump.header.enctypes)?;
    for p in &dump.policies {
        db.put_policy(p.clone())?;
    }
    for e in &dump.principals {
        db.put(e.clone())?;
    }
    Ok(dump.principals.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdc::SqliteStore;

    #[test]
    fn dump_and_read_round_trip_and_refuse_bad_dumps() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::generate().unwrap();
        let src = RealmDatabase::Sqlite(SqliteStore::create(&dir.path().join("a.db"), "D.TEST", &master).unwrap());
        src.put_policy(Policy { max_failures: 3, ..Policy::new("p") }).unwrap();
        let mut e = PrincipalEntry::new(Principal::parse("a/b", Some("D.TEST")).unwrap());
        e.set_password(b"pw", &[Enctype::Aes256CtsHmacSha196], 1).unwrap();
        e.policy = Some("p".into());
        e.expiration = Some(Time::from_unix(2_000_000_000));
        src.put(e.clone()).unwrap();
        let mut out = Vec::new();
        assert_eq!(dump(&src, &mut out).unwrap(), 1);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(&hex(e.keys[0].key.bytes())), "no key in the clear");

        let d = read(text.as_bytes(), "d", &master).unwrap();
        assert_eq!(d.header.realm, "D.TEST");
        assert_eq!(d.policies, vec![Policy { max_failures: 3, ..Policy::new("p") }]);
        let got = &d.principals[0];
        assert_eq!(got.principal, e.principal);
        assert_eq!(got.keys[0].key.bytes(), e.keys[0].key.bytes());
        assert_eq!((got.expiration, got.policy.as_deref()), (e.expiration, Some("p")));
        let dst = RealmDatabase::Sqlite(SqliteStore::create(&dir.path().join("b.db"), "D.TEST", &master).unwrap());
        assert_eq!(load(&dst, &d).unwrap(), 1);
        assert_eq!(dst.get(&e.principal).unwrap().unwrap().keys[0].key.bytes(), e.keys[0].key.bytes());

        let code = |t: &str, m: &MasterKey| read(t.as_bytes(), "d", m).err().map(|e| e.code());
        let other = MasterKey::generate().unwrap();
        assert_eq!(code(&text, &other), Some(ErrorCode::KRB_AP_ERR_BAD_INTEGRITY));
        let truncated = &text[..text.find("end\t").unwrap()];
        assert_eq!(code(truncated, &master), Some(ErrorCode::KTIX_ERR_BAD_FILE));
        assert_eq!(code(&text.replace("ktix-dump\t1", "ktix-dump\t2"), &master), Some(ErrorCode::KTIX_ERR_BAD_FILE));
        assert_eq!(code(&text.replace("end\t1", "end\t2"), &master), Some(ErrorCode::KTIX_ERR_BAD_FILE));
        assert_eq!(code(&format!("{text}extra\t1\n"), &master), Some(ErrorCode::KTIX_ERR_BAD_FILE));
        assert_eq!(code("hello\n", &master), Some(ErrorCode::KTIX_ERR_BAD_FILE));
    }
}
