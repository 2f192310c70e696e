//! How a client reaches its KDC.

use std::sync::Arc;

use crate::error::{Error, ErrorCode, Result};
use crate::kdc::Kdc;
use crate::time::Clock;

/// Sends one KDC request and returns the reply.
pub trait Transport: Send + Sync {
    /// One request/reply round trip.
    fn send(&self, request: &[u8]) -> Result<Vec<u8>>;
}

/// A KDC in the same process: no network, the KDC answers at the clock's time.
pub struct InProcess {
    kdc: Arc<Kdc>,
    clock: Arc<dyn Clock>,
}

impl InProcess {
    /// A transport to `kdc`, which reads the time from `clock`.
    pub fn new(kdc: Arc<Kdc>, clock: Arc<dyn Clock>) -> InProcess {
        InProcess { kdc, clock }
    }
}

impl Transport for InProcess {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>> {
        let reply = self.kdc.handle(request, self.clock.now());
        if reply.is_empty() {
            // What a network client sees as a timeout: the KDC does not answer non-requests.
            return Err(Error::new(ErrorCode::KTIX_ERR_NETWORK, "the KDC did not answer: not an AS-REQ or TGS-REQ"));
        }
        Ok(reply)
    }
}

/// A transport that passes requests to another and keeps every (request, reply) pair: for
/// showing what went over the wire (the demo), tests and benchmarks.
pub struct Recording<T: Transport> {
    inner: T,
    log: parking_lot::Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl<T: Transport> Recording<T> {
    /// Records what passes through `inner`.
    pub fn new(inner: T) -> Recording<T> {
        Recording { inner, log: parking_lot::Mutex::new(Vec::new()) }
    }

    /// How many exchanges so far.
    pub fn count(&self) -> usize {
        self.log.lock().len()
    }

    /// The exchanges from the `n`-th on.
    pub fn since(&self, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let log = self.log.lock();
        log[n.min(log.len())..].to_vec()
    }
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&self, request: &[u8]) -> Result<Vec<u8>> {
        let reply = self.inner.send(request)?;
        self.log.lock().push((request.to_vec(), reply.clone()));
        Ok(reply)
    }
}
