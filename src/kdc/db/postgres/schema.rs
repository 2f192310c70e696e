//! The PostgreSQL schema of a realm database (the same tables and columns as the SQLite one,
//! in PostgreSQL types), and the checks that a database is a ktix realm of a schema this code reads.

/// The name in `ktix_meta` `format`, as in SQLite.
pub(super) const FORMAT_NAME: &str = "ktix realm database";

/// The tables, in the database's default schema (`public` unless the URI's user has another
/// `search_path`). `expiration` and `last_failed` are Unix microseconds, as in SQLite;
/// `master_check` in `ktix_meta` is hexadecimal.
pub(super) const SCHEMA_SQL: &str = "
CREATE TABLE ktix_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ktix_schema (version BIGINT NOT NULL);
CREATE TABLE ktix_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
CREATE TABLE policies (
    name TEXT PRIMARY KEY,
    max_failures BIGINT NOT NULL,
    failure_interval BIGINT NOT NULL,
    lockout_duration BIGINT NOT NULL,
    min_length BIGINT NOT NULL,
    min_classes BIGINT NOT NULL
);
CREATE TABLE principals (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_type INTEGER NOT NULL,
    requires_preauth BOOLEAN NOT NULL,
    max_life BIGINT,
    max_renewable_life BIGINT,
    expiration BIGINT,
    disabled BOOLEAN NOT NULL,
    allow_forwardable BOOLEAN NOT NULL,
    allow_renewable BOOLEAN NOT NULL,
    policy TEXT REFERENCES policies(name),
    fail_count BIGINT NOT NULL DEFAULT 0,
    last_failed BIGINT
);
CREATE TABLE keys (
    principal_id BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    kvno BIGINT NOT NULL,
    enctype INTEGER NOT NULL,
    key_data BYTEA NOT NULL,
    salt BYTEA NOT NULL,
    s2kparams BYTEA,
    PRIMARY KEY (principal_id, kvno, enctype)
);
INSERT INTO ktix_generation (id, value) VALUES (1, 0);
";

pub(super) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trip() {
        assert_eq!(super::to_hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(super::from_hex("00ab10").unwrap(), [0, 0xab, 0x10]);
        assert!(super::from_hex("0").is_none() && super::from_hex("zz").is_none());
    }
}
