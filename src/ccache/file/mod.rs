//! MIT's FILE credential cache: the file handling (reads, atomic rewrites under an advisory lock,
//! destruction). The byte format is in `format.rs`.

mod format;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::ccache::State;
use crate::error::{Error, ErrorCode, Result};
use crate::fsutil;

pub(crate) use self::format::round_trip;
pub use self::format::MAX_CCACHE_SIZE;
pub(super) use self::format::TAG_KDC_OFFSET;
use self::format::{parse, serialize};

/// How long a writer waits for another process's read–modify–write of the same cache.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times the lock file is reopened when it is replaced or removed under us.
const LOCK_TRIES: usize = 100;

pub(super) use crate::fsutil::current_uid;

/// A FILE cache: the path, and the lock file beside it.
pub(super) struct FileCache {
    path: PathBuf,
    lock_path: PathBuf,
}

/// The advisory lock of one read–modify–write; released when dropped (the descriptor closes).
pub(super) struct LockGuard {
    _file: File,
}

impl FileCache {
    pub(super) fn new(path: PathBuf) -> FileCache {
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        FileCache { path, lock_path: PathBuf::from(lock) }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Whether the cache file exists.
    pub(super) fn exists(&self) -> Result<bool> {
        match fs::metadata(&self.path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(self.display(), e)),
        }
    }

    /// Reads and parses the file; `None` when it does not exist. A file that does not parse is a
    /// [`ErrorCode::KTIX_ERR_BAD_FILE`] error naming it.
    pub(super) fn load(&self) -> Result<Option<State>> {
        if !self.exists()? {
            return Ok(None);
        }
        let bytes = match fsutil::read_limited(&self.path, MAX_CCACHE_SIZE) {
            Ok(b) => b,
            // Destroyed between the check and the read.
            Err(_) if !self.exists()? => return Ok(None),
            Err(e) => return Err(e),
        };
        parse(&bytes).map(Some).map_err(|e| e.context(self.display()))
    }

    /// Replaces the file with `state` (atomically, mode 0600). Call with the lock held.
    pub(super) fn save(&self, state: &State) -> Result<()> {
        let bytes = serialize(state).map_err(|e| e.context(self.display()))?;
        fsutil::write_atomic(&self.path, &bytes)
    }

    /// Overwrites the file's content with zeros and removes it, and the lock file with it. Call
    /// with the lock held. A missing file is [`ErrorCode::KTIX_ERR_NOT_FOUND`].
    pub(super) fn destroy(&self, guard: LockGuard) -> Result<()> {
        let io_err = |e| Error::io(self.display(), e);
        let mut f = match OpenOptions::new().write(true).open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorCode::KTIX_ERR_NOT_FOUND,
                    format!("no credentials cache found (FILE:{})", self.display()),
                ))
            }
            Err(e) => return Err(io_err(e)),
        };
        let meta = f.metadata().map_err(io_err)?;
        // Unlink first, then wipe through the open descriptor: a reader sees the whole old file
        // or none, never the zeros.
        fs::remove_file(&self.path).map_err(io_err)?;
        if meta.is_file() {
            let zeros = [0u8; 4096];
            let mut left = meta.len();
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                f.write_all(&zeros[..n]).map_err(io_err)?;
                left -= n as u64;
            }
            f.sync_all().map_err(io_err)?;
        }
        // Holding the lock, the lock file can go: a writer waiting on it notices (see `lock`).
        let _ = fs::remove_file(&self.lock_path);
        drop(guard);
        Ok(())
    }

    /// Takes the exclusive advisory lock (`flock` on `<path>.lock`) that serializes every
    /// read–modify–write of this cache, across threads and processes. Waits at most
    /// [`LOCK_TIMEOUT`].
    ///
    /// The lock file is created 0600 if missing (never through a symbolic link) and must be a
    /// regular file owned by us (or we are root). As `destroy` removes it while holding the lock,
    /// a locker checks after locking that the file it locked is still the one at the path, and
    /// starts over otherwise.
    pub(super) fn lock(&self) -> Result<LockGuard> {
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let lock_name = self.lock_path.display().to_string();
        let io_err = |e| Error::io(&lock_name, e);
        for _ in 0..LOCK_TRIES {
            let file = self.open_lock_file()?;
            let mut pause = Duration::from_micros(100);
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(fs::TryLockError::WouldBlock) => {
                        if Instant::now() >= deadline {
                            return Err(Error::new(
                                ErrorCode::KTIX_ERR_IO,
                                format!(
                                    "{lock_name}: another process holds the cache lock for more than {LOCK_TIMEOUT:?}"
                                ),
                            ));
                        }
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(10));
                    }
                    Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
                }
            }
            let locked = file.metadata().map_err(io_err)?;
            match fs::symlink_metadata(&self.lock_path) {
                Ok(m) if m.dev() == locked.dev() && m.ino() == locked.ino() => return Ok(LockGuard { _file: file }),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(Error::new(ErrorCode::KTIX_ERR_IO, format!("{lock_name}: the lock file keeps changing")))
    }

    fn open_lock_file(&self) -> Result<File> {
        let lock_name = self.lock_path.display().to_string();
        let io_err = |e| Error::io(&lock_name, e);
        let not_regular =
            || Error::new(ErrorCode::KTIX_ERR_IO, format!("{lock_name}: the cache's lock file is not a regular file"));
        for _ in 0..LOCK_TRIES {
            // Never open (or create) through a symbolic link or anything but a regular file.
            match fs::symlink_metadata(&self.lock_path) {
                Ok(m) if !m.file_type().is_file() => return Err(not_regular()),
                _ => {}
            }
            match OpenOptions::new().read(true).open(&self.lock_path) {
                Ok(f) => {
                    let link = fs::symlink_metadata(&self.lock_path).map_err(io_err)?;
                    let meta = f.metadata().map_err(io_err)?;
                    if !link.file_type().is_file() || link.ino() != meta.ino() || link.dev() != meta.dev() {
                        return Err(not_regular());
                    }
                    match current_uid() {
                        Some(uid) if uid != 0 && uid != meta.uid() => {
                            return Err(Error::new(
                                ErrorCode::KTIX_ERR_IO,
                                format!("{lock_name}: the cache's lock file belongs to uid {}, not to us", meta.uid()),
                            ))
                        }
                        _ => return Ok(f),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // O_CREAT|O_EXCL does not follow a symbolic link.
                    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&self.lock_path) {
                        Ok(f) => return Ok(f),
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(io_err(e)),
                    }
                }
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(Error::new(ErrorCode::KTIX_ERR_IO, format!("{lock_name}: the lock file keeps changing")))
    }
}
