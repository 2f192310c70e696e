//! The `policies` rows, and the failure counts of the `principals` rows, read and written inside
//! the caller's transaction (or on a read connection).

use rusqlite::{params, Connection, OptionalExtension};

use super::super::store::Policy;
use super::schema::sql_bare;
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

const COLUMNS: &str = "name, max_failures, failure_interval, lockout_duration, min_length, min_classes";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Policy> {
    Ok(Policy {
        name: r.get(0)?,
        max_failures: r.get(1)?,
        failure_interval: r.get(2)?,
        lockout_duration: r.get(3)?,
        min_length: r.get(4)?,
        min_classes: r.get(5)?,
    })
}

pub(super) fn get(conn: &Connection, name: &str) -> Result<Option<Policy>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM policies WHERE name = ?1"))
        .and_then(|mut s| s.query_row([name], from_row).optional())
        .map_err(sql_bare)
}

pub(super) fn list(conn: &Connection) -> Result<Vec<Policy>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM policies ORDER BY name")).map_err(sql_bare)?;
    let rows = stmt.query_map([], from_row).map_err(sql_bare)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_bare)
}

pub(super) fn put(conn: &Connection, p: &Policy) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO policies ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET max_failures = excluded.max_failures,
                 failure_interval = excluded.failure_interval, lockout_duration = excluded.lockout_duration,
                 min_length = excluded.min_length, min_classes = excluded.min_classes"
        ),
        params![p.name, p.max_failures, p.failure_interval, p.lockout_duration, p.min_length, p.min_classes],
    )
    .map_err(sql_bare)?;
    Ok(())
}

pub(super) fn delete(conn: &Connection, name: &str) -> Result<bool> {
    let user: Option<String> = conn
        .query_row("SELECT name FROM principals WHERE policy = ?1 LIMIT 1", [name], |r| r.get(0))
        .optional()
        .map_err(sql_bare)?;
    if let Some(user) = user {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_EXISTS,
            format!("policy {name} is in use (by {user} and maybe others)"),
        ));
    }
    Ok(conn.execute("DELETE FROM policies WHERE name = ?1", [name]).map_err(sql_bare)? > 0)
}

/// Checks that the policy a principal names exists (before its row is written).
pub(super) fn check_exists(conn: &Connection, name: Option<&str>) -> Result<()> {
    let Some(name) = name else { return Ok(()) };
    if get(conn, name)?.is_none() {
        return Err(Error::new(ErrorCode::KTIX_ERR_NOT_FOUND, format!("no policy {name}")));
    }
    Ok(())
}

pub(super) fn record_failure(conn: &Connection, principal: &Principal, p: &Policy, now: Time) -> Result<()> {
    let name = principal.to_string();
    let row: Option<(i64, Option<i64>)> = conn
        .query_row("SELECT fail_count, last_failed FROM principals WHERE name = ?1", [&name], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(sql_bare)?;
    let Some((count, last)) = row else { return Ok(()) };
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let next = p.count_after_failure(count, last.map(Time::from_unix_micros), now);
    conn.execute(
        "UPDATE principals SET fail_count = ?1, last_failed = ?2 WHERE name = ?3",
        params![next, now.unix_micros(), name],
    )
    .map_err(sql_bare)?;
    Ok(())
}

pub(super) fn clear_failures(conn: &Connection, principal: &Principal) -> Result<()> {
    conn.execute("UPDATE principals SET fail_count = 0 WHERE name = ?1", [principal.to_string()]).map_err(sql_bare)?;
    Ok(())
}
