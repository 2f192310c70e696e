//! Files that hold secrets: the one place they are read and written.
//!
//! [`write_atomic`] replaces a file so that a reader sees either the old content or the new, never
//! a mix, and never a moment where the secret is readable by anyone but the owner: the new content
//! goes to a fresh temporary file (mode 0600, created exclusively) in the same directory, is
//! flushed to disk, and is renamed over the target; then the directory is flushed so the rename
//! itself survives a crash. [`read_limited`] reads a whole file but refuses one larger than the
//! caller expects, so a wrong path cannot make us allocate gigabytes.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// The mode of every file written by [`write_atomic`]: read and write for the owner only.
pub const SECRET_FILE_MODE: u32 = 0o600;

/// How many temporary names are tried before giving up (each collision is astronomically unlikely).
const TEMP_NAME_TRIES: usize = 16;

/// Replaces the file at `path` with `bytes`, atomically, readable by the owner only (0600).
///
/// The content goes to a new temporary file in the same directory (created with `O_EXCL`, mode
/// 0600, a unique name starting with `.` and ending in `.tmp`), which is written, fsynced and
/// renamed over `path`; then the directory is fsynced. When anything before the rename fails,
/// the temporary file is removed and the file at `path` is untouched. A symbolic link at `path` is
/// replaced by a regular file, not followed. Errors name the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| Error::invalid(format!("{}: not a file name", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp_path, mut file) = create_temp(&dir, file_name).map_err(|e| Error::io(path.display(), e))?;
    let written = (|| -> io::Result<()> {
        // The mode given at creation is filtered by the umask; make it exactly 0600.
        file.set_permissions(fs::Permissions::from_mode(SECRET_FILE_MODE))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp_path);
        return Err(Error::io(path.display(), e));
    }
    sync_dir(&dir).map_err(|e| Error::io(dir.display(), e).context("the file was replaced, but not flushed"))
}

/// Reads the whole file at `path`, refusing one longer than `max_len` bytes with
/// [`ErrorCode::KTIX_ERR_BAD_FILE`]. Errors name the file.
///
/// The files read here hold keys (keytabs, credential caches, stashes), so the content is
/// returned in zeroizing storage, and a buffer outgrown by a file that grew since its size was
/// taken is zeroized before it is freed.
pub fn read_limited(path: &Path, max_len: usize) -> Result<Zeroizing<Vec<u8>>> {
    read_limited_with_stamp(path, max_len).map(|(bytes, _)| bytes)
}

/// What a file was when it was read: device, inode, size and modification and change times. Two
/// equal stamps mean the file was not replaced or rewritten in between (as far as the file system
/// tells: `stat`, nanosecond times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    /// The stamp of `meta`.
    pub fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stamp of the file at `path` now (following symbolic links, as opening it does).
    pub fn current(path: &Path) -> Result<FileStamp> {
        fs::metadata(path).map(|m| FileStamp::of(&m)).map_err(|e| Error::io(path.display(), e))
    }
}

/// [`read_limited`], and the stamp of the file read, taken from the open file before reading it
/// (so a change during or after the read makes a later stamp differ).
pub fn read_limited_with_stamp(path: &Path, max_len: usize) -> Result<(Zeroizing<Vec<u8>>, FileStamp)> {
    let io_err = |e| Error::io(path.display(), e);
    let mut file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    let bytes = read_open_limited(&mut file, &meta, path, max_len)?;
    Ok((bytes, FileStamp::of(&meta)))
}

/// Reads the rest of an open `file` (whose metadata is `meta`; `path` names it in errors) into a
/// zeroizing buffer: a [`ErrorCode::KTIX_ERR_BAD_FILE`] error when it is (or grows) larger than
/// `max_len` bytes.
pub fn read_open_limited(
    file: &mut File,
    meta: &fs::Metadata,
    path: &Path,
    max_len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let io_err = |e| Error::io(path.display(), e);
    let too_big = || {
        Error::new(
            ErrorCode::KTIX_ERR_BAD_FILE,
            format!("{}: larger than {max_len} bytes, refusing to read it", path.display()),
        )
    };
    if meta.len() > max_len as u64 {
        return Err(too_big());
    }
    // Room for one byte more than the size, to see the end (or growth) without reallocating.
    let mut buf = Zeroizing::new(vec![0u8; meta.len() as usize + 1]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // The file grew since the stat: a bigger buffer, never more than one byte over the limit.
            if buf.len() > max_len {
                return Err(too_big());
            }
            let mut bigger = Zeroizing::new(vec![0u8; buf.len().saturating_mul(2).min(max_len + 1)]);
            bigger[..filled].copy_from_slice(&buf[..filled]);
            buf = bigger;
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Creates a new, empty temporary file next to the target with `O_EXCL` and mode 0600.
fn create_temp(dir: &Path, target: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_err = None;
    for _ in 0..TEMP_NAME_TRIES {
        let mut rnd = [0u8; 8];
        openssl::rand::rand_bytes(&mut rnd).map_err(io::Error::other)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(target);
        name.push(format!(".{}.{n}.{:016x}.tmp", std::process::id(), u64::from_le_bytes(rnd)));
        let tmp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).mode(SECRET_FILE_MODE).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no unique temporary file name found")))
}

/// Flushes a directory's entries (so a rename inside it is durable). File systems that cannot
/// fsync a directory (`EINVAL`) are accepted as they are.
fn sync_dir(dir: &Path) -> io::Result<()> {
    let d = File::open(dir)?;
    match d.sync_all() {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::Unsupported => Ok(()),
        other => other,
    }
}

/// The uid this process runs as: the owner of `/proc/self` (Linux), else the owner of a file we
/// create. `None` when neither works.
pub(crate) fn current_uid() -> Option<u32> {
    if let Ok(m) = fs::metadata("/proc/self") {
        return Some(m.uid());
    }
    let probe = std::env::temp_dir().join(format!(".ktix-uid-probe.{}", std::process::id()));
    let f = OpenOptions::new().write(true).create_new(true).mode(SECRET_FILE_MODE).open(&probe).ok()?;
    let uid = f.metadata().ok().map(|m| m.uid());
    let _ = fs::remove_file(&probe);
    uid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_0600_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        write_atomic(&p, b"first").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o600);
        // An existing file with a wider mode is replaced by a 0600 one.
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o600);
        write_atomic(&p, b"").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"");
        assert!(temp_files_in(dir.path()).is_empty());
    }

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        write_atomic(&p, b"old").unwrap();
        // A parent that is a file: creating the temp file fails (even as root).
        let bad = p.join("child");
        let e = write_atomic(&bad, b"new").unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
        assert!(e.message().contains(&*bad.to_string_lossy()), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"old");
        // The rename fails (target is a non-empty directory): the temp file is removed.
        let sub = dir.path().join("subdir");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("x"), b"keep").unwrap();
        let e = write_atomic(&sub, b"new").unwrap_err();
        assert!(e.message().contains("subdir"), "{e}");
        assert_eq!(fs::read(sub.join("x")).unwrap(), b"keep");
        assert!(temp_files_in(dir.path()).is_empty(), "{:?}", temp_files_in(dir.path()));
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn paths_without_a_file_name_are_refused() {
        assert!(write_atomic(Path::new(""), b"x").is_err());
        assert!(write_atomic(Path::new("/"), b"x").is_err());
    }

    #[test]
    fn read_limited_follows_a_file_that_grows_past_its_stat() {
        // A FIFO stats as 0 bytes and then delivers more: the buffer grows, up to the limit.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&p).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here
        }
        for (len, limit, ok) in [(5000usize, 10_000usize, true), (5000, 4999, false), (5000, 5000, true)] {
            let writer = {
                let p = p.clone();
                std::thread::spawn(move || {
                    // The reader may give up early (over the limit): ignore a broken pipe.
                    let _ = fs::OpenOptions::new().write(true).open(&p).and_then(|mut f| f.write_all(&vec![9u8; len]));
                })
            };
            match read_limited(&p, limit) {
                Ok(b) => {
                    assert!(ok, "len {len} limit {limit}");
                    assert_eq!(*b, vec![9u8; len]);
                }
                Err(e) => {
                    assert!(!ok, "len {len} limit {limit}: {e}");
                    assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
                }
            }
            // A reader that stopped early closed its end: the writer sees a broken pipe and ends.
            writer.join().unwrap();
        }
    }

    #[test]
    fn read_limited_refuses_big_files_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, [7u8; 100]).unwrap();
        assert_eq!(read_limited(&p, 100).unwrap().len(), 100);
        assert_eq!(*read_limited(&p, 1000).unwrap(), [7u8; 100]);
        fs::write(&p, b"").unwrap();
        assert!(read_limited(&p, 0).unwrap().is_empty());
        fs::write(&p, [7u8; 100]).unwrap();
        let e = read_limited(&p, 99).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_BAD_FILE);
        assert!(e.message().contains(&*p.to_string_lossy()), "{e}");
        let missing = dir.path().join("missing");
        let e = read_limited(&missing, 10).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KTIX_ERR_IO);
        assert!(e.message().contains(&*missing.to_string_lossy()), "{e}");
    }
}
