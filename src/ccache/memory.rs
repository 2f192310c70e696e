//! The process-wide registry of `MEMORY:` caches: a named cache lives as long as the process (as
//! in MIT krb5), a private one ([`CCache::memory`](super::CCache::memory)) while a handle holds
//! it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use super::Inner;

/// How a memory cache is known to the process-wide registry.
pub(super) enum Registered {
    /// Named by the user (`MEMORY:name`): kept for the life of the process, like MIT's.
    Pinned(Arc<Inner>),
    /// Made by [`CCache::memory`]: found by name while some handle holds it.
    Private(Weak<Inner>),
}

#[derive(Default)]
pub(super) struct Registry {
    pub(super) caches: HashMap<String, Registered>,
    /// Dead private entries are swept when the map reaches this size.
    pub(super) sweep_at: usize,
}

pub(super) fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}
