//! Turning a `postgresql://USER@HOST:PORT/DBNAME` URI into a client configuration the way libpq
//! does for the parts ktix supports: the password from the URI, else `PGPASSWORD`, else the
//! password file (`PGPASSFILE` or `~/.pgpass`, ignored unless mode 0600, as libpq does); the
//! user from the URI, else `PGUSER`, else the login name; the timeouts of the store.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use postgres::config::Host;
use postgres::Config;

use crate::error::{Error, ErrorCode, Result};

/// Whether `location` (a `--db` value) names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres_uri(location: &str) -> bool {
    location.starts_with("postgresql://") || location.starts_with("postgres://")
}

/// The URI with any password replaced by `***`, for messages.
pub fn redact(uri: &str) -> String {
    let Some(rest) = uri.split_once("://").map(|(_, r)| r) else { return uri.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => {
                let scheme = &uri[..uri.len() - rest.len()];
                format!("{scheme}{}:***{}", &rest[..colon], &rest[at..])
            }
            None => uri.to_string(),
        },
        None => uri.to_string(),
    }
}

/// The client configuration of `uri` with the store's timeouts: connecting gives up after
/// `connect_timeout`, a statement after `statement_timeout` (server side), and a connection
/// whose peer stops answering is dropped after `statement_timeout` too (TCP user timeout).
pub fn config(uri: &str, connect_timeout: Duration, statement_timeout: Duration) -> Result<Config> {
    let shown = redact(uri);
    let mut cfg: Config = uri.parse().map_err(|e| Error::invalid(format!("{shown}: not a PostgreSQL URI: {e}")))?;
    if cfg.get_dbname().is_none() {
        return Err(Error::invalid(format!("{shown}: the URI names no database (postgresql://USER@HOST:PORT/DBNAME)")));
    }
    if cfg.get_user().is_none() {
        let user = std::env::var("PGUSER").ok().or_else(|| std::env::var("USER").ok()).ok_or_else(|| {
            Error::invalid(format!("{shown}: the URI names no user, and neither PGUSER nor USER is set"))
        })?;
        cfg.user(&user);
    }
    if cfg.get_password().is_none() {
        if let Some(pw) = std::env::var_os("PGPASSWORD") {
            cfg.password(pw.as_encoded_bytes());
        } else if let Some(pw) = pgpass_password(&cfg)? {
            cfg.password(pw.as_bytes());
        }
    }
    let ms = statement_timeout.as_millis();
    cfg.connect_timeout(connect_timeout)
        .tcp_user_timeout(statement_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("ktix")
        .options(&format!("-c statement_timeout={ms} -c lock_timeout={ms}"));
    Ok(cfg)
}

fn pgpass_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass"))
}

/// The password of the first matching line of the password file, as libpq reads it:
/// `hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`.
fn pgpass_password(cfg: &Config) -> Result<Option<zeroize::Zeroizing<String>>> {
    let Some(path) = pgpass_path() else { return Ok(None) };
    let Ok(meta) = std::fs::metadata(&path) else { return Ok(None) };
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        log::warn!("{}: ignored (not a regular file of mode 0600, as libpq requires)", path.display());
        return Ok(None);
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?);
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432).to_string();
    let want = [host.as_str(), port.as_str(), cfg.get_dbname().unwrap_or(""), cfg.get_user().unwrap_or("")];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4].iter().zip(want).all(|(f, w)| f.as_str() == "*" || f.as_str() == w) {
            return Ok(Some(zeroize::Zeroizing::new(fields[4].to_string())));
        }
    }
    Ok(None)
}

fn split_pgpass(line: &str) -> Vec<zeroize::Zeroizing<String>> {
    let mut fields = vec![zeroize::Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(zeroize::Zeroizing::new(String::new())),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// A client error as an [`Error`] naming the database: `KTIX_ERR_IO` (an outage, a refused
/// login, a timeout), `KTIX_ERR_BAD_FILE` for a database that is not a ktix realm.
pub fn pg_err(shown: &str, e: postgres::Error) -> Error {
    let code = match e.code() {
        Some(c) if *c == postgres::error::SqlState::UNDEFINED_TABLE => ErrorCode::KTIX_ERR_BAD_FILE,
        _ => ErrorCode::KTIX_ERR_IO,
    };
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    };
    Error::new(code, format!("{shown}: PostgreSQL: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_recognised_and_passwords_redacted() {
        assert!(is_postgres_uri("postgresql://u@h:5432/db") && is_postgres_uri("postgres://h/db"));
        assert!(!is_postgres_uri("./realm.db") && !is_postgres_uri("/var/lib/postgresql/x"));
        assert_eq!(redact("postgresql://u:secret@h:1/d"), "postgresql://u:***@h:1/d");
        assert_eq!(redact("postgresql://u@h:1/d"), "postgresql://u@h:1/d");
        let e = config("postgresql://u@h:1", Duration::from_secs(1), Duration::from_secs(1)).unwrap_err();
        assert!(e.message().contains("names no database"), "{e}");
        assert!(config("postgresql://u@h:notaport/d", Duration::from_secs(1), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn pgpass_lines_split_with_escapes() {
        let f = split_pgpass(r"h\:x:*:db:u:pa:ss\\w");
        let f: Vec<&str> = f.iter().map(|s| s.as_str()).collect();
        assert_eq!(f, ["h:x", "*", "db", "u", r"pa:ss\w"]);
    }
}
