//! The client tools: `ktix kinit`, `klist`, `kvno`, `kdestroy` — MIT's commands, read the same
//! files (`KRB5_CONFIG`, `KRB5CCNAME`, `KRB5_KTNAME`) and print the same layout.

use chrono::{Local, TimeZone};

use ktix::client::Network;
use ktix::config::{parse_duration, Krb5Conf};
use ktix::flags::ticket_flags;
use ktix::{CCache, Client, ClientConfig, ClientSetup, Enctype, Error, ErrorCode, Keytab, Principal, Result, Time};

use crate::prompt::read_password;
use crate::{KdestroyArgs, KinitArgs, KlistArgs, KpasswdArgs, KvnoArgs};

/// The cache named by `-c`, else the default (`KRB5CCNAME`, else `FILE:/tmp/krb5cc_<uid>`).
fn ccache(name: Option<&str>) -> Result<CCache> {
    match name {
        Some(n) => CCache::resolve(n),
        None => CCache::resolve(&CCache::default_name()),
    }
}

/// A client for `realm` that reaches the realm's KDCs as krb5.conf lists them; `adjust` may
/// change the settings krb5.conf gave (command-line options).
fn client_with(conf: &Krb5Conf, realm: &str, cache: CCache, adjust: impl FnOnce(&mut ClientConfig)) -> Result<Client> {
    let mut setup = ClientSetup::from_krb5_conf(conf, Some(realm), None)?;
    adjust(&mut setup.config);
    setup.build(cache)
}

fn client(conf: &Krb5Conf, realm: &str, cache: CCache) -> Result<Client> {
    Client::from_krb5_conf(conf, Some(realm), cache)
}

fn default_realm(conf: &Krb5Conf) -> Result<String> {
    conf.default_realm.clone().ok_or_else(|| {
        Error::new(ErrorCode::KTIX_ERR_CONFIG, "no default realm set ([libdefaults] default_realm in krb5.conf)")
    })
}

/// A principal named on the command line: in the realm it names, else in the default realm (which
/// is needed only then).
fn principal_arg(conf: &Krb5Conf, name: &str) -> Result<Principal> {
    match Principal::parse(name, None) {
        Ok(p) => Ok(p),
        Err(_) => Principal::parse(name, Some(&default_realm(conf)?)),
    }
}

/// MIT's error for a cache that does not exist (naming the file of a file cache, as MIT does).
fn no_cache(cache: &CCache) -> Error {
    let name = cache.path().map(|p| p.display().to_string()).unwrap_or_else(|| cache.name().to_string());
    Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("No credentials cache found (filename: {name})"))
}

/// `ktix kinit`.
pub fn kinit(a: KinitArgs) -> Result<()> {
    let conf = Krb5Conf::load_default()?;
    let cache = ccache(a.ccache.as_deref())?;
    if a.renew {
        let me = match &a.principal {
            Some(p) => principal_arg(&conf, p)?,
            None => cache.principal()?.ok_or_else(|| {
                Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no credentials in {}", cache.name()))
            })?,
        };
        let c = client(&conf, me.realm(), cache)?;
        c.renew().map_err(|e| e.context("while renewing credentials"))?;
        return Ok(());
    }
    // As MIT's kinit: naming a keytab means logging in with it.
    let use_keytab = a.use_keytab || a.keytab.is_some();
    if use_keytab && !a.use_keytab {
        eprintln!("keytab specified, forcing -k");
    }
    let name = match &a.principal {
        Some(p) => p.clone(),
        None if use_keytab => format!("host/{}", hostname()),
        None => return Err(Error::invalid("kinit: name a principal")),
    };
    let me = principal_arg(&conf, &name)?;
    let realm = me.realm().to_string();
    let lifetime = a.lifetime.as_deref().map(parse_duration).transpose()?;
    let renewable = a.renewable.as_deref().map(parse_duration).transpose()?;
    let c = client_with(&conf, &realm, cache, |config| {
        if let Some(l) = lifetime {
            config.ticket_lifetime = l;
        }
        if let Some(r) = renewable {
            config.renew_lifetime = Some(r);
        }
    })?;
    let result = if use_keytab {
        let kt_name = a.keytab.clone().unwrap_or_else(Keytab::default_name);
        let kt = Keytab::load(&kt_name)?;
        c.login_with_keytab(&me.to_string(), &kt)
    } else {
        let pw = read_password(&format!("Password for {me}: "))?;
        c.login(&me.to_string(), &pw)
    };
    result.map(|_| ()).map_err(|e| match e.code() {
        ErrorCode::KDC_ERR_PREAUTH_FAILED | ErrorCode::KRB_AP_ERR_BAD_INTEGRITY => {
            Error::new(e.code(), "Password incorrect while getting initial credentials")
        }
        ErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN => Error::new(
            e.code(),
            format!("Client '{me}' not found in Kerberos database while getting initial credentials"),
        ),
        _ => e.context("while getting initial credentials"),
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

/// MIT's `klist` time layout (`%m/%d/%y %H:%M:%S` in local time).
fn when(t: Time) -> String {
    match Local.timestamp_opt(t.unix(), 0).single() {
        Some(dt) => dt.format("%m/%d/%y %H:%M:%S").to_string(),
        None => t.to_utc_string(),
    }
}

fn etype_name(n: i32) -> String {
    Enctype::from_i32(n).map(|e| e.name().to_string()).unwrap_or_else(|_| format!("etype {n}"))
}

/// `ktix klist`.
pub fn klist(a: KlistArgs) -> Result<()> {
    if a.keytab_mode {
        return klist_keytab(&a);
    }
    let name = a.name.as_deref().or(a.ccache.as_deref());
    let cache = ccache(name)?;
    let me = cache.principal()?.ok_or_else(|| no_cache(&cache))?;
    println!("Ticket cache: {}", cache.name());
    println!("Default principal: {me}\n");
    println!("Valid starting     Expires            Service principal");
    for c in cache.credentials()? {
        println!("{}  {}  {}", when(c.start()), when(c.end_time), c.server);
        // MIT's layout: the extra fields on tab-indented lines, separated by ", "; renew-until
        // counts as two fields, flags and enctypes as one, and the line breaks after more than two
        // (so "renew until …, Flags: …" then "Etype …" on the next line, but "Flags: …, Etype …").
        let mut extra = String::new();
        let mut fields = 0;
        let add = |extra: &mut String, fields: &mut u32, text: &str, weight: u32| {
            extra.push_str(if *fields == 0 { "\t" } else { ", " });
            extra.push_str(text);
            *fields += weight;
        };
        if let Some(r) = c.renew_till {
            add(&mut extra, &mut fields, &format!("renew until {}", when(r)), 2);
        }
        if a.flags {
            let letters = c.flags.names(ticket_flags::KLIST_LETTERS).join("");
            if !letters.is_empty() {
                add(&mut extra, &mut fields, &format!("Flags: {letters}"), 1);
            }
        }
        if fields > 2 {
            extra.push('\n');
            fields = 0;
        }
        if a.enctypes {
            let tkt = c.ticket_encryption().map(|(etype, _)| etype_name(etype)).unwrap_or_default();
            // MIT ends the line with a space after the ticket's enctype.
            add(&mut extra, &mut fields, &format!("Etype (skey, tkt): {}, {tkt} ", c.key.enctype().name()), 1);
        }
        if fields > 0 {
            extra.push('\n');
        }
        print!("{extra}");
    }
    Ok(())
}

fn klist_keytab(a: &KlistArgs) -> Result<()> {
    let name = a.name.clone().unwrap_or_else(Keytab::default_name);
    let kt = Keytab::load(&name)?;
    let shown = if name.contains(':') { name.clone() } else { format!("FILE:{name}") };
    println!("Keytab name: {shown}");
    if a.timestamps {
        println!("KVNO Timestamp         Principal");
        println!("---- ----------------- --------------------------------------------------------");
    } else {
        println!("KVNO Principal");
        println!("---- --------------------------------------------------------------------------");
    }
    for e in kt.entries() {
        let mut line = format!("{:>4} ", e.kvno);
        if a.timestamps {
            line += &format!("{} ", when(e.timestamp));
        }
        line += &e.principal.to_string();
        if a.enctypes {
            // MIT's spacing: " (enctype) ", so " (enctype)  (0xkey)" with -K.
            line += &format!(" ({}) ", e.key.enctype_name());
        }
        if a.keys {
            let hex: String = e.key.bytes().iter().map(|b| format!("{b:02x}")).collect();
            line += &format!(" (0x{hex})");
        }
        println!("{line}");
    }
    Ok(())
}

/// `ktix kvno`.
pub fn kvno(a: KvnoArgs) -> Result<()> {
    let conf = Krb5Conf::load_default()?;
    let cache = ccache(a.ccache.as_deref())?;
    let me = cache.principal()?.ok_or_else(|| no_cache(&cache))?;
    let c = client(&conf, me.realm(), cache)?;
    let mut failed = false;
    for spn in &a.services {
        let target = Principal::parse(spn, Some(me.realm()))?;
        match c.service_ticket(&target.to_string()) {
            Ok(cred) => {
                let kvno = cred.ticket_encryption().and_then(|(_, kvno)| kvno).unwrap_or(0);
                println!("{}: kvno = {kvno}", cred.server);
            }
            Err(e) => {
                eprintln!("ktix kvno: {e} while getting credentials for {target}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, "some service tickets could not be obtained"));
    }
    Ok(())
}

/// `ktix kdestroy`.
pub fn kdestroy(a: KdestroyArgs) -> Result<()> {
    let cache = ccache(a.ccache.as_deref())?;
    match cache.destroy() {
        // As MIT's kdestroy: no cache to destroy is said, not a failure (exit status 0).
        Err(e) if e.code() == ErrorCode::KTIX_ERR_NOT_FOUND => {
            eprintln!("ktix kdestroy: No credentials cache found while destroying cache");
            Ok(())
        }
        other => other.map_err(|e| e.context("while destroying cache")),
    }
}

/// `ktix kpasswd [PRINC]`: the old password, the new one twice, then the change-password
/// exchange with the realm's `kpasswd_server` (else its `admin_server` hosts, else its KDCs'
/// hosts, on port 464, as MIT's kpasswd).
pub fn kpasswd(a: KpasswdArgs) -> Result<()> {
    let conf = Krb5Conf::load_default()?;
    let name = match &a.principal {
        Some(p) => p.clone(),
        None => match ccache(None).ok().and_then(|c| c.principal().ok().flatten()) {
            Some(p) => p.to_string(),
            None => std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| Error::invalid("kpasswd: name a principal"))?,
        },
    };
    let me = principal_arg(&conf, &name)?;
    let servers = kpasswd_servers(&conf, me.realm());
    if servers.is_empty() {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_CONFIG,
            format!("no kpasswd_server, admin_server or kdc for realm {} in krb5.conf", me.realm()),
        ));
    }
    let c = client(&conf, me.realm(), CCache::memory())?;
    let old = read_password(&format!("Password for {me}: "))?;
    let new = read_password("Enter new password: ")?;
    let again = read_password("Enter it again: ")?;
    if *new != *again {
        return Err(Error::invalid("the new passwords do not match"));
    }
    c.change_password(&me.to_string(), &old, &new, &Network::kpasswd(servers)).map_err(|e| match e.code() {
        ErrorCode::KDC_ERR_PREAUTH_FAILED | ErrorCode::KRB_AP_ERR_BAD_INTEGRITY => {
            Error::new(e.code(), "Password incorrect while getting initial ticket")
        }
        _ => e,
    })?;
    println!("Password changed.");
    Ok(())
}

/// Where `realm`'s change-password service is: `kpasswd_server`, else the `admin_server` hosts,
/// else the KDC hosts, on port 464.
fn kpasswd_servers(conf: &Krb5Conf, realm: &str) -> Vec<String> {
    let Some(r) = conf.realms.get(realm) else { return Vec::new() };
    if !r.kpasswd_server.is_empty() {
        return r.kpasswd_server.clone();
    }
    let hosts = if r.admin_server.is_empty() { &r.kdc } else { &r.admin_server };
    hosts
        .iter()
        .map(|h| match h.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() && !host.is_empty() => format!("{host}:464"),
            _ => format!("{h}:464"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_arguments_need_the_default_realm_only_without_their_own() {
        let none = Krb5Conf::parse("[libdefaults]\n  forwardable = true\n", "test").expect("conf");
        assert_eq!(principal_arg(&none, "alice@R.TEST").map(|p| p.to_string()), Ok("alice@R.TEST".to_string()));
        assert_eq!(principal_arg(&none, "alice").err().map(|e| e.code()), Some(ErrorCode::KTIX_ERR_CONFIG));
        let some = Krb5Conf::parse("[libdefaults]\n  default_realm = D.TEST\n", "test").expect("conf");
        assert_eq!(principal_arg(&some, "host/h").map(|p| p.to_string()), Ok("host/h@D.TEST".to_string()));
        assert_eq!(principal_arg(&some, "alice@R.TEST").map(|p| p.to_string()), Ok("alice@R.TEST".to_string()));
    }
}
