//! MIT's FILE credential cache: the file handling (locking, reads, in-place changes, rewrites,
//! destruction). The byte format is in `format.rs`.
//!
//! # Locking and writing as MIT does
//!
//! MIT krb5 (`cc_file.c`, `krb5_lock_file`) locks the cache file itself with `fcntl`, the whole
//! file: a read lock to read it, a write lock to change it; it appends a new credential at the end
//! of the file in place, marks a removed one in place (end time 0, auth time -1), and
//! initializes a cache by unlinking the file and creating a new one. We do the same, on the same
//! file with the same lock types, so MIT's tools and libktix exclude each other:
//!
//! - **Locks**: `fcntl(F_SETLK)` whole-file locks on the cache file (read for reads, write for
//!   changes), polled for at most [`LOCK_TIMEOUT`]. MIT takes open-file-description locks where
//!   the system has them; those and our process-associated ones conflict with each other. As a
//!   process-associated lock does not exclude other threads of the process and is dropped when the
//!   process closes *any* descriptor of the file, every use of a cache file in this process also
//!   holds a process-wide mutex for its path ([`process_lock`]) from before the open until after
//!   the close. (Another part of the process opening and closing the cache file itself would still
//!   drop our lock; nothing in libktix does.)
//! - **Appends**: a change that only adds credentials (storing a ticket for a new service, what
//!   `kvno` does) writes the new records at the end of the file in one write, under the write
//!   lock, then syncs. A crash can at worst leave the last record cut short: readers drop such a
//!   torn last record (as MIT's reader stops at it) and the next append writes over it.
//! - **Removals and replacements**: a credential replaced (a new ticket for the same service) or
//!   removed is marked removed in place, MIT's way: the new record is appended first, then the old
//!   one's ticket times are overwritten (16 bytes in one write), so a crash leaves the old ticket,
//!   the new one or both, never neither and never a torn file. Marked records stay in the file
//!   (as with MIT, until the cache is initialized again).
//! - **Rewrites**: initializing the cache, or a change of its header or principal, or the first
//!   change of a version 0x0503 file, replaces the whole file: written to a temporary file, synced
//!   and renamed over the cache (mode 0600) while we hold the write lock of the old one. A reader
//!   sees the old file or the new one, never a mix, and a crash leaves one of the two. This is
//!   what MIT's `kinit` does too (a new file); as there, a writer that opened the old file
//!   before the rename and adds to it after loses that addition. Our writers check, once locked,
//!   that the file they locked is still the one at the path, and start over otherwise.
//! - **Destruction** takes the write lock, unlinks the file and overwrites its content with zeros
//!   through the open descriptor.

mod format;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;
use zeroize::Zeroizing;

use crate::ccache::State;
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;

pub(crate) use self::format::round_trip;
pub use self::format::MAX_CCACHE_SIZE;
pub(super) use self::format::TAG_KDC_OFFSET;
use self::format::{parse_layout, record, removed_times, serialize, Layout, VERSION_4};

/// How long we wait for another process's (or thread's) lock on the cache file.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times the file is reopened when it is replaced or removed while we wait for its lock.
const LOCK_TRIES: usize = 100;

pub(super) use crate::fsutil::current_uid;

/// A FILE cache: its path.
pub(super) struct FileCache {
    path: PathBuf,
}

/// The cache file, open and locked (read or write); the `fcntl` lock goes with the descriptor,
/// which is closed before the process-wide mutex is released (field order).
pub(super) struct Locked {
    file: File,
    _process: MutexGuard<'static, ()>,
}

/// The process-wide mutex of the cache file at `path` (one of a fixed set, chosen by a hash of
/// the path: two caches may share one, which only serializes them).
fn process_lock(path: &Path) -> MutexGuard<'static, ()> {
    const N: usize = 64;
    static LOCKS: [Mutex<()>; N] = [const { Mutex::new(()) }; N];
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).hash(&mut h);
    // A panic while holding it leaves nothing half-done in memory: the state is the file.
    LOCKS[h.finish() as usize % N].lock().unwrap_or_else(|e| e.into_inner())
}

impl FileCache {
    pub(super) fn new(path: PathBuf) -> FileCache {
        FileCache { path }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    fn io_err(&self, e: io::Error) -> Error {
        Error::io(self.display(), e)
    }

    /// Whether the cache file exists.
    pub(super) fn exists(&self) -> Result<bool> {
        match fs::metadata(&self.path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io_err(e)),
        }
    }

    /// Opens the cache file and takes its `fcntl` lock (a write lock when `write`, else a read
    /// lock), waiting at most [`LOCK_TIMEOUT`]; `None` when there is no file. Once locked, the
    /// file must still be the one at the path (not replaced or removed while we waited), else we
    /// start over with the new one.
    fn open_locked(&self, write: bool) -> Result<Option<Locked>> {
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let process = process_lock(&self.path);
        let op = if write { FlockOperation::NonBlockingLockExclusive } else { FlockOperation::NonBlockingLockShared };
        for _ in 0..LOCK_TRIES {
            let not_regular = || {
                Error::new(
                    ErrorCode::KTIX_ERR_BAD_FILE,
                    format!("{}: the credential cache is not a regular file", self.display()),
                )
            };
            let file = match OpenOptions::new().read(true).write(write).open(&self.path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(_) if fs::metadata(&self.path).is_ok_and(|m| !m.is_file()) => return Err(not_regular()),
                Err(e) => return Err(self.io_err(e)),
            };
            let meta = file.metadata().map_err(|e| self.io_err(e))?;
            if !meta.is_file() {
                return Err(not_regular());
            }
            let mut pause = Duration::from_micros(100);
            loop {
                match rustix::fs::fcntl_lock(&file, op) {
                    Ok(()) => break,
                    Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                        if Instant::now() >= deadline {
                            return Err(Error::new(
                                ErrorCode::KTIX_ERR_IO,
                                format!(
                                    "{}: another process holds the cache file's lock for more than {LOCK_TIMEOUT:?}",
                                    self.display()
                                ),
                            ));
                        }
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(10));
                    }
                    Err(e) if e == rustix::io::Errno::INTR => {}
                    Err(e) => return Err(self.io_err(e.into())),
                }
            }
            match fs::metadata(&self.path) {
                Ok(m) if m.dev() == meta.dev() && m.ino() == meta.ino() => {
                    return Ok(Some(Locked { file, _process: process }))
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_err(e)),
            }
        }
        Err(Error::new(ErrorCode::KTIX_ERR_IO, format!("{}: the cache file keeps changing", self.display())))
    }

    /// The bytes of the locked file.
    fn read(&self, locked: &mut Locked) -> Result<Zeroizing<Vec<u8>>> {
        let meta = locked.file.metadata().map_err(|e| self.io_err(e))?;
        fsutil::read_open_limited(&mut locked.file, &meta, &self.path, MAX_CCACHE_SIZE)
    }

    /// Reads and parses the file under its read lock; `None` when it does not exist. A file that
    /// does not parse is a [`ErrorCode::KTIX_ERR_BAD_FILE`] error naming it.
    pub(super) fn load(&self) -> Result<Option<State>> {
        let Some(mut locked) = self.open_locked(false)? else { return Ok(None) };
        let bytes = self.read(&mut locked)?;
        drop(locked);
        parse_layout(&bytes).map(|(state, _)| Some(state)).map_err(|e| e.context(self.display()))
    }

    /// Changes the contents with `f` (which says whether it changed anything) under the file's
    /// write lock, writing the change in place when it can (see the module documentation).
    pub(super) fn update<T>(&self, f: impl FnOnce(&mut State) -> Result<(T, bool)>) -> Result<T> {
        let Some(mut locked) = self.open_locked(true)? else {
            let mut state = State::default();
            let (out, changed) = f(&mut state)?;
            if changed {
                self.save(&state)?;
            }
            return Ok(out);
        };
        let bytes = self.read(&mut locked)?;
        let (mut state, layout) = parse_layout(&bytes).map_err(|e| e.context(self.display()))?;
        let (principal, header) = (state.principal.clone(), state.header.clone());
        let before = state.entries.iter().map(record).collect::<Result<Vec<_>>>()?;
        let (out, changed) = f(&mut state)?;
        if !changed {
            return Ok(out);
        }
        if layout.version != VERSION_4 || state.principal != principal || state.header != header {
            self.save(&state)?;
        } else {
            self.write_in_place(&mut locked, &bytes, &layout, &before, &state)?;
        }
        Ok(out)
    }

    /// Writes the change from the records `before` (the file's entries, at `layout`) to `state`:
    /// appends the records that are new, then marks removed the ones that are gone.
    fn write_in_place(
        &self,
        locked: &mut Locked,
        bytes: &[u8],
        layout: &Layout,
        before: &[Zeroizing<Vec<u8>>],
        state: &State,
    ) -> Result<()> {
        let mut kept = vec![false; before.len()];
        let mut added = Zeroizing::new(Vec::new());
        for entry in &state.entries {
            let rec = record(entry)?;
            match (0..before.len()).find(|&i| !kept[i] && before[i] == rec) {
                Some(i) => kept[i] = true,
                None => added.extend_from_slice(&rec),
            }
        }
        let end = layout.valid_end;
        if end + added.len() > MAX_CCACHE_SIZE {
            return Err(Error::invalid(format!(
                "the credential cache would be more than the {MAX_CCACHE_SIZE} bytes allowed"
            )));
        }
        let file = &locked.file;
        let io_err = |e| self.io_err(e);
        if !added.is_empty() {
            if end < bytes.len() {
                // A torn last record: written over.
                file.set_len(end as u64).map_err(io_err)?;
            }
            file.write_all_at(&added, end as u64).map_err(io_err)?;
            file.sync_data().map_err(io_err)?;
        }
        let mut marked = false;
        for (i, _) in kept.iter().enumerate().filter(|(_, k)| !**k) {
            let at = layout.times_at[i];
            let times: [u8; 16] = bytes.get(at..at + 16).and_then(|t| t.try_into().ok()).ok_or_else(|| {
                Error::new(ErrorCode::KTIX_ERR_BAD_FILE, format!("{}: no ticket times at {at}", self.display()))
            })?;
            file.write_all_at(&removed_times(&times), at as u64).map_err(io_err)?;
            marked = true;
        }
        if marked {
            file.sync_data().map_err(io_err)?;
        }
        Ok(())
    }

    /// Empties the cache and gives it `fresh` contents: the whole file replaced (atomically, mode
    /// 0600) under the old file's write lock, whatever it held, even a corrupt file.
    pub(super) fn initialize(&self, fresh: &State) -> Result<()> {
        let _old = self.open_locked(true)?;
        self.save(fresh)
    }

    /// Replaces the file with `state` (atomically, mode 0600). Call with the lock of the old file
    /// held, if there is one.
    fn save(&self, state: &State) -> Result<()> {
        let bytes = serialize(state).map_err(|e| e.context(self.display()))?;
        fsutil::write_atomic(&self.path, &bytes)
    }

    /// Overwrites the file's content with zeros and removes it, under its write lock. A missing
    /// file is [`ErrorCode::KTIX_ERR_NOT_FOUND`].
    pub(super) fn destroy(&self) -> Result<()> {
        let io_err = |e| self.io_err(e);
        let Some(locked) = self.open_locked(true)? else {
            return Err(Error::new(
                ErrorCode::KTIX_ERR_NOT_FOUND,
                format!("no credentials cache found (FILE:{})", self.display()),
            ));
        };
        let mut f = &locked.file;
        let meta = f.metadata().map_err(io_err)?;
        // Unlink first, then wipe through the open descriptor: a reader sees the whole old file
        // or none, never the zeros.
        fs::remove_file(&self.path).map_err(io_err)?;
        let zeros = [0u8; 4096];
        let mut left = meta.len();
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n]).map_err(io_err)?;
            left -= n as u64;
        }
        f.sync_all().map_err(io_err)?;
        drop(locked);
        Ok(())
    }
}
