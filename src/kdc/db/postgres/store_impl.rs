//! [`PrincipalStore`] for [`PostgresStore`]: each trait call as statements over the store's
//! connections, through its read cache (the store itself, its connections and cache are in
//! `mod.rs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::*;

impl PrincipalStore for PostgresStore {
    fn cache_hits(&self) -> Option<u64> {
        Some(PostgresStore::cache_hits(self))
    }

    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>> {
        if !self.caching.load(Ordering::Relaxed) {
            return Ok(self.load(principal)?.1.map(Arc::new));
        }
        if let Some(hit) = self.cached(principal)? {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let (read_at, entry) = self.load(principal)?;
        let entry = entry.map(Arc::new);
        let mut v = self.validity.lock();
        if v.cache.generation == read_at {
            v.cache.insert(principal, entry.clone());
        }
        Ok(entry)
    }

    fn put(&self, entry: PrincipalEntry) -> Result<()> {
        self.check_entry(&entry)?;
        self.write(|tx, _| self.write_entry(tx, &entry, Upsert::Replace))
    }

    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        PostgresStore::add(self, entry)
    }

    fn delete(&self, principal: &Principal) -> Result<bool> {
        self.write(|tx, shown| {
            Ok(tx
                .execute("DELETE FROM principals WHERE name = $1", &[&principal.to_string()])
                .map_err(|e| pg_err(shown, e))?
                > 0)
        })
    }

    fn list(&self) -> Result<Vec<Principal>> {
        let mut c = self.conn()?;
        let rows = c
            .client()
            .query("SELECT name, name_type FROM principals ORDER BY name", &[])
            .map_err(|e| pg_err(&self.shown, e))?;
        rows.iter()
            .map(|r| {
                let name: &str = r.get(0);
                Principal::parse(name, None).map(|p| p.with_name_type(r.get(1))).map_err(|e| {
                    Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: bad principal name: {e}", self.shown))
                })
            })
            .collect()
    }

    fn get_policy(&self, name: &str) -> Result<Option<Policy>> {
        let mut c = self.conn()?;
        let row = c
            .client()
            .query_opt(
                "SELECT name, max_failures, failure_interval, lockout_duration, min_length, min_classes
                 FROM policies WHERE name = $1",
                &[&name],
            )
            .map_err(|e| pg_err(&self.shown, e))?;
        row.map(|r| policy_from_row(&self.shown, &r)).transpose()
    }

    fn put_policy(&self, p: Policy) -> Result<()> {
        p.validate()?;
        self.write(|tx, shown| {
            tx.execute(
                "INSERT INTO policies (name, max_failures, failure_interval, lockout_duration, min_length, min_classes)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name) DO UPDATE SET max_failures = excluded.max_failures,
                     failure_interval = excluded.failure_interval, lockout_duration = excluded.lockout_duration,
                     min_length = excluded.min_length, min_classes = excluded.min_classes",
                &[
                    &p.name,
                    &i64::from(p.max_failures),
                    &p.failure_interval,
                    &p.lockout_duration,
                    &i64::from(p.min_length),
                    &i64::from(p.min_classes),
                ],
            )
            .map_err(|e| pg_err(shown, e))?;
            Ok(())
        })
    }

    fn delete_policy(&self, name: &str) -> Result<bool> {
        self.write(|tx, shown| {
            let user = tx
                .query_opt("SELECT name FROM principals WHERE policy = $1 LIMIT 1", &[&name])
                .map_err(|e| pg_err(shown, e))?;
            if let Some(user) = user {
                let user: String = user.get(0);
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_EXISTS,
                    format!("policy {name} is in use (by {user} and maybe others)"),
                ));
            }
            Ok(tx.execute("DELETE FROM policies WHERE name = $1", &[&name]).map_err(|e| pg_err(shown, e))? > 0)
        })
    }

    fn list_policies(&self) -> Result<Vec<Policy>> {
        self.policies()
    }

    fn record_failure(&self, principal: &Principal, p: &Policy, now: Time) -> Result<()> {
        self.write(|tx, shown| {
            let name = principal.to_string();
            let row = tx
                .query_opt("SELECT fail_count, last_failed FROM principals WHERE name = $1 FOR UPDATE", &[&name])
                .map_err(|e| pg_err(shown, e))?;
            let Some(row) = row else { return Ok(()) };
            let count = u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX);
            let last: Option<i64> = row.get(1);
            let next = p.count_after_failure(count, last.map(Time::from_unix_micros), now);
            tx.execute(
                "UPDATE principals SET fail_count = $1, last_failed = $2 WHERE name = $3",
                &[&i64::from(next), &now.unix_micros(), &name],
            )
            .map_err(|e| pg_err(shown, e))?;
            Ok(())
        })
    }

    fn clear_failures(&self, principal: &Principal) -> Result<()> {
        self.write(|tx, shown| {
            tx.execute("UPDATE principals SET fail_count = 0 WHERE name = $1", &[&principal.to_string()])
                .map_err(|e| pg_err(shown, e))?;
            Ok(())
        })
    }
}
