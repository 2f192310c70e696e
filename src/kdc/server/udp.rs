//! UDP: worker threads that each receive on the socket, answer and reply themselves (a reply too
//! long for UDP becomes `KRB_ERR_RESPONSE_TOO_BIG`, so the client retries over TCP).
//!
//! There is no receiver thread and no queue between receiving and answering: every worker of a
//! socket blocks in `recv_from` on it and the kernel hands each datagram to one of them, so a
//! request costs no thread hand-off (two context switches each, before). The requests waiting
//! are the socket's receive queue, which the kernel bounds (a datagram arriving at a full queue
//! is dropped, and the client retries).

use std::io::{self};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::log::{answered, log_entry, Protocol};
use super::{bump, error_reply, process, Service, Shared};
use crate::error::ErrorCode;
use crate::time::Clock;

/// Receives, answers and replies on `socket` until the server stops.
pub(super) fn udp_worker(shared: &Shared, socket: &UdpSocket, service: Service) {
    // The bound address (a wildcard binding names no address of its own: see `Kdc::kpasswd`).
    let Ok(local) = socket.local_addr() else { return };
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
        serve_datagram(shared, socket, service, local, peer, &buf[..n], Instant::now());
    }
}

fn serve_datagram(
    shared: &Shared,
    socket: &UdpSocket,
    service: Service,
    local: SocketAddr,
    peer: SocketAddr,
    data: &[u8],
    arrived: Instant,
) {
    let kdc = &shared.kdc;
    let limit = shared.config.kdc_max_dgram_reply_size;
    let now = shared.config.clock.now();
    let Some(mut outcome) = process(shared, data, service, Protocol::Udp, peer, local, now) else {
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
    let _ = socket.send_to(&outcome.reply, peer);
    bump(&shared.counters.udp_requests);
    let mut entry = log_entry(outcome, Protocol::Udp, peer, now, data.len());
    entry.elapsed = arrived.elapsed();
    answered(shared, &entry);
}
