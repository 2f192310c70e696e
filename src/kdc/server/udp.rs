//! UDP: a receiver thread per socket feeding a bounded queue, and the worker pool that answers
//! (a reply too long for UDP becomes `KRB_ERR_RESPONSE_TOO_BIG`, so the client retries over TCP).

use std::io::{self};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::log::{answered, log_entry, Protocol};
use super::{bump, error_reply, process, Service, Shared};
use crate::error::ErrorCode;
use crate::time::Clock;

/// One UDP request waiting for a worker.
pub(super) struct UdpJob {
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    data: Vec<u8>,
    arrived: Instant,
    service: Service,
}

pub(super) fn udp_receiver(shared: &Shared, socket: Arc<UdpSocket>, service: Service, queue: SyncSender<UdpJob>) {
    // One byte more than the largest request accepted, so a longer datagram shows as such.
    let mut buf = vec![0u8; shared.config.max_request_size.min(u16::MAX as usize) + 1];
    loop {
        let received = socket.recv_from(&mut buf);
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(_) => continue, // e.g. an ICMP error reported on some systems; keep serving
        };
        if n == 0 {
            continue;
        }
        if n > shared.config.max_request_size {
            bump(&shared.counters.udp_dropped);
            continue;
        }
        let job = UdpJob { socket: socket.clone(), peer, data: buf[..n].to_vec(), arrived: Instant::now(), service };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&shared.counters.udp_dropped),
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

pub(super) fn udp_worker(shared: &Shared, queue: &Mutex<Receiver<UdpJob>>) {
    loop {
        // The lock is released at the end of this statement, before the request is handled.
        let next = queue.lock().recv();
        match next {
            Ok(job) => serve_datagram(shared, job),
            Err(_) => return, // every receiver has stopped
        }
    }
}

fn serve_datagram(shared: &Shared, job: UdpJob) {
    let kdc = &shared.kdc;
    let limit = shared.config.kdc_max_dgram_reply_size;
    let now = shared.config.clock.now();
    // The bound address (a wildcard binding names no address of its own: see `Kdc::kpasswd`).
    let Ok(local) = job.socket.local_addr() else { return };
    let Some(mut outcome) = process(shared, &job.data, job.service, Protocol::Udp, job.peer, local, now) else {
        return; // not a KDC request: never answered
    };
    if outcome.reply.len() > limit {
        let detail = format!("reply of {} bytes is over the UDP limit of {limit}", outcome.reply.len());
        let code = ErrorCode::KRB_ERR_RESPONSE_TOO_BIG;
        let facts = &mut outcome.facts;
        outcome.reply = error_reply(kdc, code, &detail, now, facts.client.as_ref(), facts.service.as_ref());
        facts.code = code;
        facts.detail = Some(detail);
        facts.session_enctype = None;
    }
    let _ = job.socket.send_to(&outcome.reply, job.peer);
    bump(&shared.counters.udp_requests);
    let mut entry = log_entry(outcome, Protocol::Udp, job.peer, now, job.data.len());
    entry.elapsed = job.arrived.elapsed();
    answered(shared, &entry);
}
