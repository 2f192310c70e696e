//! The principal store interface: the [`PrincipalStore`] trait every store implements, and the
//! records it holds ([`PrincipalEntry`] with its [`KeyEntry`]s, and the named [`Policy`]s
//! principals refer to, as kadmin's policies).

use std::sync::Arc;

use crate::crypto::{Enctype, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;

/// One long-term key of a principal.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    /// Key version number.
    pub kvno: u32,
    /// The key.
    pub key: Key,
    /// The salt it was derived with (announced in ETYPE-INFO2).
    pub salt: Vec<u8>,
    /// string-to-key parameters (the iteration count) when not the enctype's default.
    pub s2kparams: Option<Vec<u8>>,
}

/// A principal's record: keys and policy.
#[derive(Clone, Debug)]
pub struct PrincipalEntry {
    /// The principal.
    pub principal: Principal,
    /// Its keys, any kvno, any enctype.
    pub keys: Vec<KeyEntry>,
    /// Whether the AS exchange requires PA-ENC-TIMESTAMP (the default).
    pub requires_preauth: bool,
    /// Longest ticket life for tickets to or from this principal, seconds (`None`: the realm's).
    pub max_life: Option<i64>,
    /// Longest renewable life, seconds (`None`: the realm's).
    pub max_renewable_life: Option<i64>,
    /// When the principal's entry expires.
    pub expiration: Option<Time>,
    /// A disabled principal gets no tickets.
    pub disabled: bool,
    /// Tickets for this principal may be forwardable.
    pub allow_forwardable: bool,
    /// Tickets for this principal may be renewable.
    pub allow_renewable: bool,
    /// The name of the [`Policy`] that governs its password and lockout (`None`: none).
    pub policy: Option<String>,
    /// Failed pre-authentications counted towards a lockout (see [`Policy::max_failures`]).
    pub fail_count: u32,
    /// When pre-authentication last failed.
    pub last_failed: Option<Time>,
}

/// New long-term keys for [`PrincipalEntry::change_keys`].
pub enum NewKeys<'a> {
    /// Derived from a password with the principal's default salt.
    Password(&'a [u8]),
    /// Random.
    Random,
}

/// Which old keys [`PrincipalEntry::purge_keys`] keeps (kadmin's `purgekeys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepKeys {
    /// Keeps the keys of kvno `N` and above (`-keepkvno N`).
    FromKvno(u32),
    /// Keeps only the current kvno's keys (`-all`).
    CurrentOnly,
}

impl PrincipalEntry {
    /// A new entry with default policy and no keys.
    pub fn new(principal: Principal) -> PrincipalEntry {
        PrincipalEntry {
            principal,
            keys: Vec::new(),
            requires_preauth: true,
            max_life: None,
            max_renewable_life: None,
            expiration: None,
            disabled: false,
            allow_forwardable: true,
            allow_renewable: true,
            policy: None,
            fail_count: 0,
            last_failed: None,
        }
    }

    /// The enctypes of the current kvno's keys, in the order stored.
    pub fn current_enctypes(&self) -> Vec<Enctype> {
        let kvno = self.current_kvno();
        self.keys.iter().filter(|k| k.kvno == kvno).map(|k| k.key.enctype()).collect()
    }

    /// Gives the principal new keys of `enctypes` at the next kvno, as kadmin's `cpw`: with
    /// `keep_old` the keys it has stay (they still open tickets issued before; nothing new is
    /// sealed in them), otherwise they are replaced. Returns the new kvno.
    pub fn change_keys(&mut self, new: NewKeys<'_>, enctypes: &[Enctype], keep_old: bool) -> Result<u32> {
        if enctypes.is_empty() {
            return Err(Error::invalid(format!("no enctype to give {} keys of", self.principal)));
        }
        let next = self
            .current_kvno()
            .checked_add(1)
            .ok_or_else(|| Error::invalid(format!("{} is at the highest key version", self.principal)))?;
        let old = if keep_old { std::mem::take(&mut self.keys) } else { Vec::new() };
        let set = match new {
            NewKeys::Password(pw) => self.set_password(pw, enctypes, next),
            NewKeys::Random => self.set_random_keys(enctypes, next),
        };
        if let Err(e) = set {
            if keep_old {
                self.keys = old;
            }
            return Err(e);
        }
        self.keys.extend(old);
        Ok(next)
    }

    /// Removes old keys as kadmin's `purgekeys`: [`KeepKeys::FromKvno`]`(n)` removes the keys
    /// below kvno `n`, [`KeepKeys::CurrentOnly`] all but the current kvno's. Removing the
    /// current keys too is refused (a principal always has keys). Returns how many were removed.
    pub fn purge_keys(&mut self, keep: KeepKeys) -> Result<usize> {
        let current = self.current_kvno();
        let from = match keep {
            KeepKeys::FromKvno(n) => n,
            KeepKeys::CurrentOnly => current,
        };
        if from > current {
            return Err(Error::invalid(format!(
                "keeping kvno {from} and above would remove every key of {} (its current kvno is {current})",
                self.principal
            )));
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.kvno >= from);
        Ok(before - self.keys.len())
    }

    /// The highest key version number (0 with no keys).
    pub fn current_kvno(&self) -> u32 {
        self.keys.iter().map(|k| k.kvno).max().unwrap_or(0)
    }

    /// The key of `enctype` at `kvno` (`None`: the highest kvno that has that enctype).
    pub fn key(&self, enctype: Enctype, kvno: Option<u32>) -> Option<&KeyEntry> {
        self.keys
            .iter()
            .filter(|k| k.key.enctype() == enctype && kvno.is_none_or(|v| v == k.kvno))
            .max_by_key(|k| k.kvno)
    }

    /// The key of `enctype` at the current (highest) kvno. Older versions are kept only to open
    /// tickets issued before a key change; nothing new is sealed in them, as MIT does.
    pub fn current_key(&self, enctype: Enctype) -> Option<&KeyEntry> {
        self.key(enctype, Some(self.current_kvno()))
    }

    /// The current key of the strongest enctype among `permitted` (in that preference order).
    pub fn strongest_key(&self, permitted: &[Enctype]) -> Option<&KeyEntry> {
        permitted.iter().find_map(|&e| self.current_key(e))
    }

    /// Sets keys of every enctype in `enctypes` derived from `password` with the default salt, at `kvno`.
    pub fn set_password(&mut self, password: &[u8], enctypes: &[Enctype], kvno: u32) -> Result<()> {
        let salt = self.principal.default_salt();
        let mut keys = Vec::with_capacity(enctypes.len());
        for &e in enctypes {
            keys.push(KeyEntry {
                kvno,
                key: Key::from_password(e, password, &salt, None)?,
                salt: salt.clone(),
                s2kparams: None,
            });
        }
        self.keys = keys;
        Ok(())
    }

    /// Sets random keys of every enctype in `enctypes` at `kvno`.
    pub fn set_random_keys(&mut self, enctypes: &[Enctype], kvno: u32) -> Result<()> {
        let salt = self.principal.default_salt();
        let mut keys = Vec::with_capacity(enctypes.len());
        for &e in enctypes {
            keys.push(KeyEntry { kvno, key: Key::random(e)?, salt: salt.clone(), s2kparams: None });
        }
        self.keys = keys;
        Ok(())
    }
}

/// The error for adding a principal that is already there.
pub(crate) fn exists(principal: &Principal) -> Error {
    Error::new(ErrorCode::KTIX_ERR_EXISTS, format!("principal {principal} already exists"))
}

/// A named policy principals refer to ([`PrincipalEntry::policy`]), as kadmin's policies: the
/// account lockout after failed pre-authentications, and the quality of new passwords. Zero
/// means "no limit" in every field, as in MIT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name.
    pub name: String,
    /// Failed pre-authentications that lock the principal out (0: never locked out).
    pub max_failures: u32,
    /// Failures further apart than this (seconds) start the count again (0: they never do).
    pub failure_interval: i64,
    /// How long a lockout lasts (seconds; 0: until `ktix db mod --unlock`).
    pub lockout_duration: i64,
    /// Shortest password, in characters.
    pub min_length: u32,
    /// Fewest character classes in a password (lower case, upper case, digits, punctuation,
    /// anything else — MIT's five), 1 to 5.
    pub min_classes: u32,
}

impl Policy {
    /// A policy named `name` with no limits.
    pub fn new(name: &str) -> Policy {
        Policy { name: name.to_string(), ..Policy::default() }
    }

    /// Checks the fields: a name, non-negative durations, at most 5 classes
    /// (`KTIX_ERR_INVALID_ARGUMENT`).
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(Error::invalid(format!("{:?} is not a policy name", self.name)));
        }
        if self.failure_interval < 0 || self.lockout_duration < 0 {
            return Err(Error::invalid("policy durations cannot be negative"));
        }
        if self.min_classes > 5 {
            return Err(Error::invalid("there are only 5 character classes"));
        }
        Ok(())
    }

    /// Whether `entry` is locked out at `now`: at least [`Policy::max_failures`] failures,
    /// the last within [`Policy::lockout_duration`] (or any time, for a duration of 0).
    pub fn is_locked(&self, entry: &PrincipalEntry, now: Time) -> bool {
        self.locked(entry.fail_count, entry.last_failed, now)
    }

    fn locked(&self, fail_count: u32, last_failed: Option<Time>, now: Time) -> bool {
        if self.max_failures == 0 || fail_count < self.max_failures {
            return false;
        }
        match last_failed {
            _ if self.lockout_duration == 0 => true,
            Some(t) => now < t.plus_secs(self.lockout_duration),
            None => false,
        }
    }

    /// The failure count after one more failure at `now`, from the count and time of the last
    /// failure: the count starts again when that failure is older than
    /// [`Policy::failure_interval`], or when an earlier lockout has ended.
    pub fn count_after_failure(&self, fail_count: u32, last_failed: Option<Time>, now: Time) -> u32 {
        let stale = last_failed.is_none_or(|t| {
            (self.failure_interval > 0 && now > t.plus_secs(self.failure_interval))
                || (self.max_failures > 0
                    && fail_count >= self.max_failures
                    && !self.locked(fail_count, last_failed, now))
        });
        if stale {
            1
        } else {
            fail_count.saturating_add(1)
        }
    }

    /// Checks a new password against [`Policy::min_length`] and [`Policy::min_classes`]
    /// (`KTIX_ERR_INVALID_ARGUMENT` saying which rule it breaks).
    pub fn check_password(&self, password: &str) -> Result<()> {
        let len = password.chars().count();
        if len < self.min_length as usize {
            return Err(Error::invalid(format!(
                "the password is too short: policy {} requires at least {} characters",
                self.name, self.min_length
            )));
        }
        let classes = password_classes(password);
        if classes < self.min_classes {
            return Err(Error::invalid(format!(
                "the password has {classes} character classes; policy {} requires {} of lower case, upper case, \
                 digits, punctuation and other characters",
                self.name, self.min_classes
            )));
        }
        Ok(())
    }
}

/// How many of MIT's five character classes `password` uses: lower case, upper case, digits,
/// punctuation, and anything else (space, non-ASCII, …).
pub fn password_classes(password: &str) -> u32 {
    let mut seen = [false; 5];
    for c in password.chars() {
        let class = if c.is_ascii_lowercase() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else if c.is_ascii_punctuation() {
            3
        } else {
            4
        };
        seen[class] = true;
    }
    seen.iter().filter(|&&s| s).count() as u32
}

/// Where the KDC finds principals and policies. Implementations are shared by all KDC threads.
pub trait PrincipalStore: Send + Sync {
    /// The entry of `principal`, or `None`.
    fn get(&self, principal: &Principal) -> Result<Option<Arc<PrincipalEntry>>>;
    /// Creates or replaces an entry.
    fn put(&self, entry: PrincipalEntry) -> Result<()>;
    /// Creates an entry that must not exist yet: `KTIX_ERR_EXISTS` when it does. The built-in
    /// stores check and write in one step (one lock, one transaction), so two writers adding
    /// the same name cannot both succeed; this default (look up, then [`PrincipalStore::put`])
    /// is for stores that cannot.
    fn add(&self, entry: PrincipalEntry) -> Result<()> {
        if self.get(&entry.principal)?.is_some() {
            return Err(exists(&entry.principal));
        }
        self.put(entry)
    }
    /// Deletes an entry; false when there was none.
    fn delete(&self, principal: &Principal) -> Result<bool>;
    /// Every principal, sorted by name.
    fn list(&self) -> Result<Vec<Principal>>;

    /// The policy named `name`, or `None`.
    fn get_policy(&self, name: &str) -> Result<Option<Policy>>;
    /// Creates or replaces a policy.
    fn put_policy(&self, policy: Policy) -> Result<()>;
    /// Deletes a policy; false when there was none. A policy a principal refers to is not
    /// deleted (`KTIX_ERR_EXISTS`, as kadmin's "policy is in use").
    fn delete_policy(&self, name: &str) -> Result<bool>;
    /// Every policy, sorted by name.
    fn list_policies(&self) -> Result<Vec<Policy>>;
    /// Records a failed pre-authentication of `principal` at `now` under `policy` (one atomic
    /// update of [`PrincipalEntry::fail_count`] and [`PrincipalEntry::last_failed`], by
    /// [`Policy::count_after_failure`]). A principal that is gone is not an error.
    fn record_failure(&self, principal: &Principal, policy: &Policy, now: Time) -> Result<()>;
    /// How many [`PrincipalStore::get`] calls a read cache answered so far; `None` for a store
    /// without one (the default). The KDC server's metrics show it.
    fn cache_hits(&self) -> Option<u64> {
        None
    }
    /// Marks the start of one KDC request on the calling thread. A store with a read cache may
    /// check here, once, that its cache is current, and answer the request's lookups from it
    /// without checking again: a write committed meanwhile is seen from the next request on, and
    /// the request sees one state of the database. The default does nothing. The KDC pairs it
    /// with [`PrincipalStore::end_request`] on the same thread.
    fn begin_request(&self) {}
    /// Ends what [`PrincipalStore::begin_request`] began on the calling thread (the default does
    /// nothing).
    fn end_request(&self) {}
    /// Sets the failure count of `principal` to zero (a successful pre-authentication, or an
    /// administrator's unlock).
    fn clear_failures(&self, principal: &Principal) -> Result<()>;

    /// The policy `entry` refers to; a name with no policy behind it is
    /// `KTIX_ERR_NOT_FOUND`.
    fn policy_of(&self, entry: &PrincipalEntry) -> Result<Option<Policy>> {
        let Some(name) = &entry.policy else { return Ok(None) };
        self.get_policy(name)?.map(Some).ok_or_else(|| {
            Error::new(
                ErrorCode::KTIX_ERR_NOT_FOUND,
                format!("{} refers to policy {name}, which does not exist", entry.principal),
            )
        })
    }

    /// Checks `password` as a new password of `entry` against its policy (see
    /// [`Policy::check_password`]); any password passes without a policy.
    fn check_new_password(&self, entry: &PrincipalEntry, password: &str) -> Result<()> {
        match self.policy_of(entry)? {
            Some(p) => p.check_password(password),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> PrincipalEntry {
        let mut e = PrincipalEntry::new(Principal::parse("p", Some("R.TEST")).unwrap());
        e.set_random_keys(&[Enctype::Aes128CtsHmacSha196], 1).unwrap();
        e
    }

    #[test]
    fn character_classes_as_mit_counts_them() {
        assert_eq!(password_classes(""), 0);
        assert_eq!(password_classes("abc"), 1);
        assert_eq!(password_classes("abcABC"), 2);
        assert_eq!(password_classes("aB3"), 3);
        assert_eq!(password_classes("aB3."), 4);
        assert_eq!(password_classes("aB3. "), 5);
        assert_eq!(password_classes("\u{e9}"), 1, "non-ASCII is 'other'");
        let p = Policy { min_length: 4, min_classes: 3, ..Policy::new("p") };
        assert!(p.check_password("aB3x").is_ok());
        assert!(p.check_password("aB3").unwrap_err().message().contains("too short"));
        assert!(p.check_password("abcd3").unwrap_err().message().contains("2 character classes"));
        assert!(Policy::new("none").check_password("").is_ok());
    }

    #[test]
    fn keepold_keeps_and_purge_removes_old_kvnos() {
        let mut e = entry();
        assert_eq!(e.change_keys(NewKeys::Random, &[Enctype::Aes256CtsHmacSha196], true).unwrap(), 2);
        assert_eq!(e.change_keys(NewKeys::Password(b"pw"), &[Enctype::Aes128CtsHmacSha196], true).unwrap(), 3);
        assert_eq!(e.current_enctypes(), [Enctype::Aes128CtsHmacSha196]);
        assert!(
            e.key(Enctype::Aes256CtsHmacSha196, Some(2)).is_some()
                && e.key(Enctype::Aes128CtsHmacSha196, Some(1)).is_some()
        );
        assert!(e.current_key(Enctype::Aes256CtsHmacSha196).is_none(), "nothing new is sealed in an old key");
        assert!(e.purge_keys(KeepKeys::FromKvno(4)).is_err());
        assert_eq!(e.purge_keys(KeepKeys::FromKvno(2)).unwrap(), 1);
        assert_eq!(e.purge_keys(KeepKeys::CurrentOnly).unwrap(), 1);
        assert_eq!(e.keys.len(), 1);
        // Without keep_old the keys are replaced.
        assert_eq!(e.change_keys(NewKeys::Random, &[Enctype::Aes128CtsHmacSha196], false).unwrap(), 4);
        assert_eq!(e.keys.len(), 1);
        assert!(e.change_keys(NewKeys::Random, &[], true).is_err());
    }

    #[test]
    fn lockout_by_count_time_and_duration() {
        let t = Time::from_unix(1_000_000);
        let p = Policy { max_failures: 2, lockout_duration: 60, ..Policy::new("p") };
        let mut e = entry();
        e.fail_count = 1;
        e.last_failed = Some(t);
        assert!(!p.is_locked(&e, t));
        e.fail_count = 2;
        assert!(p.is_locked(&e, t.plus_secs(59)) && !p.is_locked(&e, t.plus_secs(60)));
        let forever = Policy { lockout_duration: 0, ..p.clone() };
        assert!(forever.is_locked(&e, t.plus_secs(1_000_000)));
        assert!(!Policy { max_failures: 0, ..p.clone() }.is_locked(&e, t), "0: never locked");
        assert_eq!(p.count_after_failure(1, Some(t), t.plus_secs(10)), 2);
        assert_eq!(p.count_after_failure(2, Some(t), t.plus_secs(61)), 1, "the lockout ended");
        let interval = Policy { failure_interval: 30, ..p };
        assert_eq!(interval.count_after_failure(1, Some(t), t.plus_secs(31)), 1);
        assert_eq!(interval.count_after_failure(0, None, t), 1);
    }
}
