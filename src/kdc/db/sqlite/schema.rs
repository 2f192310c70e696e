//! The SQLite schema of a realm database, opening connections, the checks that a file is a ktix
//! realm database of a schema this code reads (without writing to a foreign file), and how SQLite
//! errors become [`Error`]s.

use std::fs::OpenOptions;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{DatabaseInfo, APPLICATION_ID, BUSY_TIMEOUT, SCHEMA_VERSION};
use crate::error::{Error, ErrorCode, Result};

/// The `policies` table, the same in a new schema and in the upgrade from schema 1.
macro_rules! policies_table {
    () => {
        "CREATE TABLE policies (
    name TEXT PRIMARY KEY NOT NULL,
    max_failures INTEGER NOT NULL,
    failure_interval INTEGER NOT NULL,
    lockout_duration INTEGER NOT NULL,
    min_length INTEGER NOT NULL,
    min_classes INTEGER NOT NULL
) WITHOUT ROWID;
"
    };
}

pub(super) const FORMAT_NAME: &str = "ktix realm database";

pub(super) const SCHEMA_SQL: &str = concat!(
    "
",
    policies_table!(),
    "CREATE TABLE ktix_meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE ktix_schema (version INTEGER NOT NULL);
CREATE TABLE ktix_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_type INTEGER NOT NULL,
    requires_preauth INTEGER NOT NULL,
    max_life INTEGER,
    max_renewable_life INTEGER,
    expiration INTEGER,
    disabled INTEGER NOT NULL,
    allow_forwardable INTEGER NOT NULL,
    allow_renewable INTEGER NOT NULL,
    policy TEXT REFERENCES policies(name),
    fail_count INTEGER NOT NULL DEFAULT 0,
    last_failed INTEGER
);
CREATE TABLE keys (
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    kvno INTEGER NOT NULL,
    enctype INTEGER NOT NULL,
    key_data BLOB NOT NULL,
    salt BLOB NOT NULL,
    s2kparams BLOB,
    PRIMARY KEY (principal_id, kvno, enctype)
) WITHOUT ROWID;
INSERT INTO ktix_generation (id, value) VALUES (1, 0);
"
);

/// Upgrades a schema-1 database (before policies and lockout) to schema 2, in one transaction:
/// the `policies` table and the principals' `policy`, `fail_count` and `last_failed` columns.
pub(super) const UPGRADE_1_TO_2_SQL: &str = concat!(
    "
",
    policies_table!(),
    "ALTER TABLE principals ADD COLUMN policy TEXT REFERENCES policies(name);
ALTER TABLE principals ADD COLUMN fail_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN last_failed INTEGER;
UPDATE ktix_schema SET version = 2;
UPDATE ktix_generation SET value = value + 1 WHERE id = 1;
"
);

/// Brings an opened database of an older schema (already [`validate`]d) up to
/// [`SCHEMA_VERSION`], in one immediate transaction.
pub(super) fn upgrade(conn: &mut Connection, path: &Path, from: i64) -> Result<()> {
    if from >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| sql_err(path, e))?;
    // Another process may have upgraded it meanwhile.
    let now: i64 =
        tx.query_row("SELECT max(version) FROM ktix_schema", [], |r| r.get(0)).map_err(|e| sql_err(path, e))?;
    if now == 1 {
        tx.execute_batch(UPGRADE_1_TO_2_SQL).map_err(|e| sql_err(path, e).context("upgrading schema 1 to 2"))?;
    }
    tx.commit().map_err(|e| sql_err(path, e))
}

/// Opens a connection (read-write, never creating the file, no URI names) with the busy timeout.
pub(super) fn connect(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql_err(path, e))?;
    Ok(conn)
}

/// Like [`connect`], after checking with the file system that `path` is a readable and writable
/// regular file (for errors that say what is wrong).
pub(super) fn connect_existing(path: &Path) -> Result<Connection> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display(), e))?;
    if !meta.is_file() {
        return Err(Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: not a regular file", path.display())));
    }
    OpenOptions::new().read(true).write(true).open(path).map_err(|e| Error::io(path.display(), e))?;
    connect(path)
}

pub(super) struct Meta {
    pub(super) info: DatabaseInfo,
    pub(super) master_enctype: i32,
    pub(super) master_check: Vec<u8>,
}

/// Checks that `conn` is a ktix realm database of a schema we read, and reads its metadata.
/// Reads only: a foreign file is left as it is.
pub(super) fn validate(conn: &Connection, path: &Path) -> Result<Meta> {
    let foreign = |why: String| {
        Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: not a ktix realm database ({why})", path.display()))
    };
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            foreign("not an SQLite database file".into())
        }
        e => sql_err(path, e),
    })?;
    if app_id != APPLICATION_ID {
        return Err(foreign(if app_id == 0 {
            "an empty file or an SQLite database of another application".into()
        } else {
            format!("an SQLite database with application_id {app_id:#x}")
        }));
    }
    let has_table = |name: &str| -> Result<bool> {
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
        .map_err(|e| sql_err(path, e))
    };
    for t in ["ktix_meta", "ktix_schema", "ktix_generation", "principals", "keys"] {
        if !has_table(t)? {
            return Err(foreign(format!("no {t} table")));
        }
    }
    let version: i64 = conn
        .query_row("SELECT max(version) FROM ktix_schema", [], |r| r.get::<_, Option<i64>>(0))
        .map_err(|e| sql_err(path, e))?
        .ok_or_else(|| foreign("no schema version".into()))?;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorCode::KTIX_ERR_BAD_FILE,
            format!(
                "{}: schema version {version} is newer than this ktix reads ({SCHEMA_VERSION}); upgrade ktix",
                path.display()
            ),
        ));
    }
    if version < 1 {
        return Err(foreign(format!("schema version {version}")));
    }
    if version >= 2 && !has_table("policies")? {
        return Err(foreign("no policies table".into()));
    }
    let meta = |name: &str| -> Result<rusqlite::types::Value> {
        conn.query_row("SELECT value FROM ktix_meta WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(|e| sql_err(path, e))?
            .ok_or_else(|| {
                Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: no {name} in ktix_meta", path.display()))
            })
    };
    use rusqlite::types::Value;
    let bad_meta = |name: &str| {
        Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: ktix_meta {name} has the wrong type", path.display()))
    };
    match meta("format")? {
        Value::Text(t) if t == FORMAT_NAME => {}
        _ => return Err(foreign("wrong format name in ktix_meta".into())),
    }
    let realm = match meta("realm")? {
        Value::Text(t) if !t.is_empty() => t,
        _ => return Err(bad_meta("realm")),
    };
    let master_enctype = match meta("master_enctype")? {
        Value::Integer(n) => i32::try_from(n).map_err(|_| bad_meta("master_enctype"))?,
        _ => return Err(bad_meta("master_enctype")),
    };
    let master_check = match meta("master_check")? {
        Value::Blob(b) => b,
        _ => return Err(bad_meta("master_check")),
    };
    let master_from_password = match meta("master_source")? {
        Value::Text(t) if t == "password" => true,
        Value::Text(t) if t == "random" => false,
        _ => return Err(bad_meta("master_source")),
    };
    Ok(Meta {
        info: DatabaseInfo { realm, schema_version: version, master_from_password },
        master_enctype,
        master_check,
    })
}

pub(super) fn wrong_master(path: &Path) -> Error {
    Error::new(
        ErrorCode::KRB_AP_ERR_BAD_INTEGRITY,
        format!("{}: wrong master key (the stash or master password does not belong to this database)", path.display()),
    )
}

/// An SQLite error as an [`Error`] naming the file: `KTIX_ERR_BAD_FILE` for a corrupt or foreign
/// file, `KTIX_ERR_IO` otherwise.
pub(super) fn sql_err(path: &Path, e: rusqlite::Error) -> Error {
    sql_bare(e).context(path.display())
}

/// An SQLite error as an [`Error`], for callers that add the file name.
pub(super) fn sql_bare(e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) =>
        {
            ErrorCode::KTIX_ERR_BAD_FILE
        }
        _ => ErrorCode::KTIX_ERR_IO,
    };
    Error::new(code, format!("SQLite: {e}"))
}
