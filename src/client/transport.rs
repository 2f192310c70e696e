//! How a client reaches its KDC.

use std::sync::Arc;

use crate::error::Result;
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
        Ok(self.kdc.handle(request, self.clock.now()))
    }
}
