//! One principal's rows: its `principals` row and its `keys` rows, written and read inside the
//! caller's transaction, keys wrapped under the master key (see [`super::super::master_key`]);
//! and the generation counter the cache is validated with.

use rusqlite::{params, Connection, OptionalExtension};

use super::super::master_key::MasterKey;
use super::super::store::{KeyEntry, PrincipalEntry};
use super::schema::sql_bare;

use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

pub(super) fn generation(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM ktix_generation WHERE id = 1")?.query_row([], |r| r.get(0))
}

pub(super) fn principal_id(conn: &Connection, principal: &Principal) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM principals WHERE name = ?1")
        .and_then(|mut s| s.query_row([principal.to_string()], |r| r.get(0)).optional())
        .map_err(sql_bare)
}

/// Writes `entry` inside the caller's transaction, replacing the row and its keys when the
/// principal already has one (`id_known`).
pub(super) fn write_entry(
    conn: &Connection,
    master: &MasterKey,
    entry: &PrincipalEntry,
    id_known: Option<i64>,
) -> Result<()> {
    let name = entry.principal.to_string();
    let mut encrypted = Vec::with_capacity(entry.keys.len());
    for k in &entry.keys {
        encrypted.push((k, k.key.enctype().id(), master.wrap_key(&name, k.kvno, &k.key)?));
    }
    let e = entry;
    let sql = sql_bare;
    super::policy::check_exists(conn, e.policy.as_deref())?;
    // One statement for both cases: the row is keyed by the principal's name.
    let id: i64 = conn
        .query_row(
            "INSERT INTO principals (name, name_type, requires_preauth, max_life, max_renewable_life,
             expiration, disabled, allow_forwardable, allow_renewable, policy, fail_count, last_failed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(name) DO UPDATE SET name_type = excluded.name_type,
                 requires_preauth = excluded.requires_preauth, max_life = excluded.max_life,
                 max_renewable_life = excluded.max_renewable_life, expiration = excluded.expiration,
                 disabled = excluded.disabled, allow_forwardable = excluded.allow_forwardable,
                 allow_renewable = excluded.allow_renewable, policy = excluded.policy,
                 fail_count = excluded.fail_count, last_failed = excluded.last_failed
             RETURNING id",
            params![
                name,
                e.principal.name_type(),
                e.requires_preauth,
                e.max_life,
                e.max_renewable_life,
                e.expiration.map(Time::unix_micros),
                e.disabled,
                e.allow_forwardable,
                e.allow_renewable,
                e.policy,
                e.fail_count,
                e.last_failed.map(Time::unix_micros)
            ],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if id_known.is_some() {
        conn.execute("DELETE FROM keys WHERE principal_id = ?1", [id]).map_err(sql)?;
    }
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO keys (principal_id, kvno, enctype, key_data, salt, s2kparams) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sql)?;
    for (k, enctype, data) in encrypted {
        ins.execute(params![id, k.kvno, enctype, data, k.salt, k.s2kparams]).map_err(|err| match err {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Error::invalid(format!("{name} has two keys of enctype {enctype} at kvno {}", k.kvno))
            }
            err => sql(err),
        })?;
    }
    Ok(())
}

/// Reads and decrypts the entry of `principal` (inside the caller's transaction, if any).
pub(super) fn read_entry(
    conn: &Connection,
    master: &MasterKey,
    principal: &Principal,
) -> Result<Option<PrincipalEntry>> {
    let name = principal.to_string();
    let sql = sql_bare;
    type Row = (i64, i32, bool, Option<i64>, Option<i64>, Option<i64>, bool, bool, bool);
    type Lockout = (Option<String>, i64, Option<i64>);
    let row: Option<(Row, Lockout)> = conn
        .prepare_cached(
            "SELECT id, name_type, requires_preauth, max_life, max_renewable_life, expiration, disabled,
             allow_forwardable, allow_renewable, policy, fail_count, last_failed FROM principals WHERE name = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&name], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?),
                    (r.get(9)?, r.get(10)?, r.get(11)?),
                ))
            })
            .optional()
        })
        .map_err(sql)?;
    let Some((row, (policy, fail_count, last_failed))) = row else {
        return Ok(None);
    };
    let (id, nt, requires_preauth, max_life, max_renewable_life, expiration, disabled, fwd, renew) = row;
    let bad = |what: String| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("principal {name}: {what}"));
    let mut stmt = conn
        .prepare_cached(
            "SELECT kvno, enctype, key_data, salt, s2kparams FROM keys WHERE principal_id = ?1
             ORDER BY kvno DESC, enctype DESC",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Option<Vec<u8>>>(4)?,
            ))
        })
        .map_err(sql)?;
    let mut keys = Vec::new();
    for row in rows {
        let (kvno, enctype, data, salt, s2kparams) = row.map_err(sql)?;
        let kvno = u32::try_from(kvno).map_err(|_| bad(format!("key version {kvno} out of range")))?;
        let enctype = i32::try_from(enctype).map_err(|_| bad(format!("enctype {enctype} out of range")))?;
        let key = master.unwrap_key(&name, kvno, enctype, &data)?;
        keys.push(KeyEntry { kvno, key, salt, s2kparams });
    }
    Ok(Some(PrincipalEntry {
        principal: principal.clone().with_name_type(nt),
        keys,
        requires_preauth,
        max_life,
        max_renewable_life,
        expiration: expiration.map(Time::from_unix_micros),
        disabled,
        allow_forwardable: fwd,
        allow_renewable: renew,
        policy,
        fail_count: u32::try_from(fail_count).map_err(|_| bad(format!("failure count {fail_count} out of range")))?,
        last_failed: last_failed.map(Time::from_unix_micros),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use super::*;
    use crate::crypto::Enctype;
    use crate::kdc::PrincipalStore;

    #[test]
    fn key_rows_are_bound_to_their_principal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let mk = MasterKey::generate().unwrap();
        let store = SqliteStore::create(&path, "R.TEST", &mk).unwrap();
        for n in ["a", "b"] {
            let mut e = PrincipalEntry::new(Principal::parse(n, Some("R.TEST")).unwrap());
            e.set_random_keys(&[Enctype::Aes256CtsHmacSha196], 1).unwrap();
            store.put(e).unwrap();
        }
        // Copy a's key blob over b's: b no longer decrypts.
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE keys SET key_data = (SELECT key_data FROM keys k JOIN principals p ON p.id = k.principal_id
             WHERE p.name = 'a@R.TEST') WHERE principal_id = (SELECT id FROM principals WHERE name = 'b@R.TEST')",
            [],
        )
        .unwrap();
        conn.execute("UPDATE ktix_generation SET value = value + 1", []).unwrap();
        let b = Principal::parse("b", Some("R.TEST")).unwrap();
        let e = store.get(&b).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KRB_AP_ERR_BAD_INTEGRITY, "{e}");
        assert!(e.message().contains("another row"), "{e}");
    }
}
