//! The file replay cache: one file that every process of a service shares.
//!
//! **Layout.** A 512-byte header (`KTIXRC01`, then the number of buckets as a big-endian u64, then
//! zeros), then that many buckets of 512 bytes: 16 records of 32 bytes each. A record is
//!
//! ```text
//! [u8; 20]  tag       the first 160 bits of the authenticator's SHA-256 fingerprint
//! u64       expires   seconds since the epoch (big-endian): the authenticator's time plus the skew
//! u32       check     a 32-bit mix of tag and expires; a record whose check does not match is empty
//! ```
//!
//! The file is created at its full size and never grows or shrinks, so it is bounded on disk
//! (default [`DEFAULT_REPLAY_FILE_SIZE`], 128 MiB: 4,194,288 records).
//!
//! **Lookup and insert.** A fingerprint has two candidate buckets (from its first and second 64
//! bits). Both are read (two 512-byte `pread`s); a valid record with the same tag that has not
//! expired is a replay (`KRB_AP_ERR_REPEAT`). Otherwise the record goes into the first free slot
//! of the bucket with more free slots — free meaning empty, expired, or failing its check — with
//! one 32-byte `pwrite`. Expired records are simply overwritten: there is no sweep, each request
//! touches two buckets. With two choices of 16 slots the table fills to well over 90 % before a
//! fingerprint finds both its buckets full of live records; then the request is refused with
//! [`ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL`] (logged at most once a minute) — never accepted
//! unremembered. Sustained AP-REQs/s the default file holds ≈ 4.19 M × 0.9 / (skew + ~75 s).
//!
//! **Concurrency.** Each check-and-insert holds an exclusive `flock` on the file (and, inside the
//! process, a mutex, since `flock` does not exclude threads sharing a descriptor). The lock dies
//! with its process, so `kill -9` never leaves the cache locked. A record is written by a single
//! `pwrite` inside one bucket (one page): it is never seen half-written by another process; a
//! record torn by a machine crash fails its check and counts as empty (that one authenticator is
//! forgotten). The file is not fsynced per request, as MIT's is not: a machine crash may forget
//! the last entries, a process crash forgets nothing.
//!
//! **Creation and trust.** The file is created mode 0600 under the lock; a process that finds a
//! file of size 0 or with an empty header (its creator died mid-way) initialises it. A file that is
//! not a regular file, is reached through a symbolic link, belongs to another user (unless we are
//! root) or has another header is refused (`KTIX_ERR_BAD_FILE` / `KTIX_ERR_IO`), never overwritten
//! — in particular MIT's own `file2` caches are left alone. The size of an existing file wins over
//! the configured one, so all processes agree.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;
use crate::proto::ReplayGuard;
use crate::time::Time;

/// The default size of a replay-cache file: 128 MiB.
pub const DEFAULT_REPLAY_FILE_SIZE: u64 = 128 << 20;

const MAGIC: &[u8; 8] = b"KTIXRC01";
const HEADER: u64 = 512;
const RECORD: usize = 32;
const SLOTS: usize = 16;
const BUCKET: usize = RECORD * SLOTS;
const TAG: usize = 20;
/// The smallest file: the header and two buckets.
const MIN_BUCKETS: u64 = 2;
/// How often the "full" condition is logged at most.
const FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// A replay cache in a file shared by every process (and thread) that opens it. See the module
/// documentation of the layout, locking and crash behaviour.
pub struct FileReplayCache {
    path: PathBuf,
    file: Mutex<File>,
    buckets: u64,
    last_full_log: Mutex<Option<Instant>>,
}

/// The check of a record: a mix of its tag and expiry that is never 0 for a zeroed record.
fn check(tag: &[u8], expires: u64) -> u32 {
    let mut h: u64 = 0x6b74_6978_7263_0001;
    let mut word = |w: u64| {
        h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
    };
    word(u64::from_be_bytes(tag[0..8].try_into().unwrap_or_default()));
    word(u64::from_be_bytes(tag[8..16].try_into().unwrap_or_default()));
    word(u64::from(u32::from_be_bytes(tag[16..20].try_into().unwrap_or_default())));
    word(expires);
    (h >> 32) as u32 ^ h as u32
}

fn encode(tag: &[u8], expires: u64) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..TAG].copy_from_slice(tag);
    r[TAG..TAG + 8].copy_from_slice(&expires.to_be_bytes());
    r[TAG + 8..].copy_from_slice(&check(tag, expires).to_be_bytes());
    r
}

/// A record's tag and expiry, when its check holds.
fn decode(r: &[u8]) -> Option<(&[u8], u64)> {
    let tag = &r[..TAG];
    let expires = u64::from_be_bytes(r[TAG..TAG + 8].try_into().ok()?);
    let stored = u32::from_be_bytes(r[TAG + 8..RECORD].try_into().ok()?);
    (stored == check(tag, expires)).then_some((tag, expires))
}

/// Holds the file's `flock` until dropped.
struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn take(file: &'a File, path: &Path) -> Result<Flock<'a>> {
        file.lock().map_err(|e| Error::io(path.display(), e))?;
        Ok(Flock(file))
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl FileReplayCache {
    /// Opens the cache file at `path`, creating it (mode 0600, `size` bytes, at least the header
    /// and two buckets) when it does not exist or is empty. An existing cache keeps its size.
    pub fn open(path: &Path, size: u64) -> Result<FileReplayCache> {
        let name = path.display().to_string();
        let io_err = |e| Error::io(&name, e);
        let bad = |why: &str| Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{name}: {why}"));
        match fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => return Err(bad("not a regular file (a replay cache must be one)")),
            _ => {}
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(fsutil::SECRET_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let link = fs::symlink_metadata(path).map_err(io_err)?;
        if !link.file_type().is_file() || link.ino() != meta.ino() || link.dev() != meta.dev() {
            return Err(bad("changed while being opened (a symbolic link?)"));
        }
        if let Some(uid) = fsutil::current_uid() {
            if uid != 0 && meta.uid() != uid {
                return Err(bad(&format!("belongs to uid {}, not to us", meta.uid())));
            }
        }
        let buckets = {
            let _lock = Flock::take(&file, path)?;
            let mut header = [0u8; HEADER as usize];
            let len = file.metadata().map_err(io_err)?.len();
            // A file shorter than the header is read as far as it goes: only zeros make it ours.
            file.read_exact_at(&mut header[..len.min(HEADER) as usize], 0).map_err(io_err)?;
            if header.iter().all(|&b| b == 0) {
                let buckets = (size.saturating_sub(HEADER) / BUCKET as u64).max(MIN_BUCKETS);
                file.set_len(HEADER + buckets * BUCKET as u64).map_err(io_err)?;
                header[..8].copy_from_slice(MAGIC);
                header[8..16].copy_from_slice(&buckets.to_be_bytes());
                file.write_all_at(&header, 0).map_err(io_err)?;
                buckets
            } else {
                if &header[..8] != MAGIC {
                    return Err(bad("not a ktix replay cache (unknown header); not touching it"));
                }
                let buckets = u64::from_be_bytes(header[8..16].try_into().unwrap_or_default());
                let want = buckets.checked_mul(BUCKET as u64).and_then(|b| b.checked_add(HEADER));
                match want {
                    Some(want) if (MIN_BUCKETS..=u64::MAX / 1024).contains(&buckets) => {
                        if len < want {
                            // Truncated behind our back: the missing buckets read as empty.
                            file.set_len(want).map_err(io_err)?;
                        }
                    }
                    _ => return Err(bad("corrupt replay cache header")),
                }
                buckets
            }
        };
        Ok(FileReplayCache {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            buckets,
            last_full_log: Mutex::new(None),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many records the file holds at most.
    pub fn slots(&self) -> u64 {
        self.buckets * SLOTS as u64
    }

    /// Records `fingerprint` valid until `expires`; `KRB_AP_ERR_REPEAT` if a live record of it is
    /// there, [`ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL`] when both its buckets are full of live
    /// records.
    pub fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        let name = || self.path.display().to_string();
        let io_err = |e| Error::io(name(), e);
        let tag = &fingerprint[..TAG];
        let now_s = u64::try_from(now.unix()).unwrap_or(0);
        let expires_s = u64::try_from(expires.unix()).unwrap_or(0);
        let b1 = u64::from_be_bytes(fingerprint[0..8].try_into().unwrap_or_default()) % self.buckets;
        let mut b2 = u64::from_be_bytes(fingerprint[8..16].try_into().unwrap_or_default()) % self.buckets;
        if b2 == b1 {
            b2 = (b1 + 1) % self.buckets;
        }
        let file = self.file.lock();
        let _lock = Flock::take(&file, &self.path)?;
        let mut best: Option<(u64, usize, usize)> = None; // (bucket, first free slot, free count)
        for b in [b1, b2] {
            let mut bucket = [0u8; BUCKET];
            let offset = HEADER + b * BUCKET as u64;
            file.read_exact_at(&mut bucket, offset).map_err(io_err)?;
            let (mut first, mut free) = (None, 0);
            for (i, r) in bucket.chunks_exact(RECORD).enumerate() {
                match decode(r) {
                    Some((t, exp)) if exp >= now_s => {
                        if t == tag {
                            return Err(Error::new(ErrorCode::KRB_AP_ERR_REPEAT, "request is a replay"));
                        }
                    }
                    _ => {
                        free += 1;
                        first.get_or_insert(i);
                    }
                }
            }
            if let Some(i) = first {
                if best.is_none_or(|(_, _, f)| free > f) {
                    best = Some((b, i, free));
                }
            }
        }
        if expires_s < now_s {
            return Ok(()); // already out of the window: nothing to remember
        }
        let Some((b, i, _)) = best else {
            let message = format!(
                "replay cache {} is full: both buckets of this authenticator hold live entries ({} slots in all)",
                name(),
                self.slots()
            );
            let mut last = self.last_full_log.lock();
            if last.is_none_or(|t| t.elapsed() >= FULL_LOG_INTERVAL) {
                *last = Some(Instant::now());
                log::error!("ktix acceptor: {message}; AP-REQs are refused until entries expire");
            }
            return Err(Error::new(ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL, message));
        };
        let offset = HEADER + b * BUCKET as u64 + (i * RECORD) as u64;
        file.write_all_at(&encode(tag, expires_s), offset).map_err(io_err)?;
        Ok(())
    }

    /// Live records at the system clock's time (a full scan of the file, under its lock: for
    /// tests and monitoring).
    pub fn live_entries(&self) -> Result<usize> {
        let io_err = |e| Error::io(self.path.display(), e);
        let file = self.file.lock();
        let _lock = Flock::take(&file, &self.path)?;
        let now = u64::try_from(Time::now().unix()).unwrap_or(0);
        let mut n = 0;
        let mut chunk = vec![0u8; BUCKET * 256];
        let mut b = 0;
        while b < self.buckets {
            let count = (self.buckets - b).min(256) as usize;
            file.read_exact_at(&mut chunk[..count * BUCKET], HEADER + b * BUCKET as u64).map_err(io_err)?;
            n += chunk[..count * BUCKET]
                .chunks_exact(RECORD)
                .filter(|r| decode(r).is_some_and(|(_, e)| e >= now))
                .count();
            b += count as u64;
        }
        Ok(n)
    }
}

impl ReplayGuard for FileReplayCache {
    fn check_and_insert(&self, fingerprint: [u8; 32], expires: Time, now: Time) -> Result<()> {
        FileReplayCache::check_and_insert(self, fingerprint, expires, now)
    }
}

impl std::fmt::Debug for FileReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReplayCache").field("path", &self.path).field("slots", &self.slots()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(i: u64) -> [u8; 32] {
        openssl::sha::sha256(&i.to_be_bytes())
    }

    #[test]
    fn an_empty_record_never_checks() {
        assert!(decode(&[0u8; RECORD]).is_none());
        let r = encode(&[7u8; TAG], 123);
        assert_eq!(decode(&r), Some((&[7u8; TAG][..], 123)));
        for byte in 0..RECORD {
            let mut torn = r;
            torn[byte] ^= 0x40;
            assert!(decode(&torn).is_none_or(|(t, e)| t != &[7u8; TAG][..] || e != 123), "byte {byte}");
        }
    }

    #[test]
    fn replays_expiry_and_sharing_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        let a = FileReplayCache::open(&path, 64 * 1024).unwrap();
        let b = FileReplayCache::open(&path, 1 << 30).unwrap();
        assert_eq!(a.slots(), b.slots(), "the existing file's size wins");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let t0 = Time::from_unix(1_790_000_000);
        a.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap();
        assert_eq!(b.check_and_insert(fp(1), t0.plus_secs(300), t0).unwrap_err().code(), ErrorCode::KRB_AP_ERR_REPEAT);
        // Past its expiry the slot is free again and the same fingerprint is not a replay.
        let t = t0.plus_secs(301);
        b.check_and_insert(fp(1), t.plus_secs(300), t).unwrap();
    }

    #[test]
    fn a_full_file_refuses_with_the_ceiling_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        let rc = FileReplayCache::open(&path, 0).unwrap(); // the minimum: 2 buckets, 32 slots
        assert_eq!(rc.slots(), 32);
        let t0 = Time::from_unix(1_790_000_000);
        for i in 0..32 {
            rc.check_and_insert(fp(i), t0.plus_secs(300), t0).unwrap();
        }
        let e = rc.check_and_insert(fp(99), t0.plus_secs(300), t0).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_REPLAY_CACHE_FULL);
        let t = t0.plus_secs(301);
        rc.check_and_insert(fp(99), t.plus_secs(300), t).unwrap();
    }

    #[test]
    fn foreign_files_and_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("krb5_0.rcache2");
        fs::write(&foreign, b"\x00\x02 MIT file2 cache or anything else").unwrap();
        assert_eq!(FileReplayCache::open(&foreign, 0).unwrap_err().code(), ErrorCode::KTIX_ERR_BAD_FILE);
        assert_eq!(&fs::read(&foreign).unwrap()[..2], b"\x00\x02", "untouched");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
        assert!(FileReplayCache::open(&link, 0).is_err());
        assert!(!dir.path().join("target").exists());
    }

    #[test]
    fn a_zeroed_header_is_initialised_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        fs::write(&path, vec![0u8; 4096]).unwrap(); // a creator that died before its header
        let rc = FileReplayCache::open(&path, 8192).unwrap();
        assert_eq!(rc.slots(), 15 * 16);
    }
}
