//! The acceptor's keys: a keytab snapshot, or a keytab file followed as it is rewritten.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::fsutil::FileStamp;
use crate::keytab::Keytab;

/// How often the keytab file's stamp is checked at most, when no key is missing.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub(super) struct Keys {
    current: RwLock<Arc<Keytab>>,
    file: Option<Reload>,
}

struct Reload {
    path: PathBuf,
    /// The stamp of the file last read (or last found unreadable), and when it was last compared.
    seen: Mutex<(FileStamp, Instant)>,
}

impl Keys {
    /// Keys from `keytab`; followed on disk when it was loaded from a file and not changed since.
    pub(super) fn new(keytab: Keytab) -> Keys {
        let file =
            keytab.source().map(|s| Reload { path: s.path.clone(), seen: Mutex::new((s.stamp, Instant::now())) });
        Keys { current: RwLock::new(Arc::new(keytab)), file }
    }

    /// Whether the keys follow a file.
    pub(super) fn reloads(&self) -> bool {
        self.file.is_some()
    }

    /// The keytab to use now. When it follows a file, the file's stamp is compared when `force`d
    /// or when [`CHECK_INTERVAL`] has passed since the last comparison, and the file re-read when
    /// the stamp differs. A file that cannot be read or parsed leaves the current keytab in place
    /// (logged); it is tried again once its stamp changes again.
    pub(super) fn current(&self, force: bool) -> Arc<Keytab> {
        if let Some(reload) = &self.file {
            // One thread checks; the others carry on with the current keytab meanwhile (a forced
            // check waits for the one under way, so it sees its result).
            let seen = if force { Some(reload.seen.lock()) } else { reload.seen.try_lock() };
            if let Some(mut seen) = seen {
                if force || seen.1.elapsed() >= CHECK_INTERVAL {
                    seen.1 = Instant::now();
                    self.check(reload, &mut seen.0);
                }
            }
        }
        self.current.read().clone()
    }

    fn check(&self, reload: &Reload, seen: &mut FileStamp) {
        let name = reload.path.display();
        let stamp = match FileStamp::current(&reload.path) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("ktix acceptor: keytab {name}: {e}; keeping the keys read before");
                return;
            }
        };
        if stamp == *seen {
            return;
        }
        match Keytab::load_path(&reload.path) {
            Ok(keytab) => {
                *seen = keytab.source().map_or(stamp, |s| s.stamp);
                log::info!("ktix acceptor: keytab {name} changed; {} entries now", keytab.len());
                *self.current.write() = Arc::new(keytab);
            }
            Err(e) => {
                *seen = stamp;
                log::warn!(
                    "ktix acceptor: keytab {name} changed but cannot be used ({e}); keeping the keys read before"
                );
            }
        }
    }
}
