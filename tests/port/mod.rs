//! Loopback ports for servers the tests start (ktix's and MIT's KDCs, PostgreSQL), shared by the
//! core's and the CLI's tests through `#[path]`.

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A port free for both TCP and UDP on 127.0.0.1, for a server that binds it a while later.
///
/// Chosen below the kernel's ephemeral range, where the system picks ports for clients and for
/// port 0: nobody else is handed it meanwhile by accident, and once the server is gone no client
/// socket can be given it either (a socket connected to its own port reads its own request back,
/// which a client takes for a reply: MIT's kinit says "Invalid message type"). Each call starts
/// elsewhere in the range (time, process and a counter), so tests running at once seldom meet;
/// when they do, the server's bind fails and the caller may try again.
pub fn free_port() -> u16 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let low_ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse::<u16>().ok()))
        .unwrap_or(32768);
    let (lo, hi) = if low_ephemeral > 12000 { (10000u32, u32::from(low_ephemeral)) } else { (40000, 65000) };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut x = nanos ^ std::process::id().wrapping_mul(2_654_435_761) ^ call.wrapping_mul(40_503);
    for _ in 0..1000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let port = (lo + (x >> 8) % (hi - lo)) as u16;
        if port == 18888 || port == 8888 {
            continue; // the defaults of mit-realm.sh and ktix: someone may start one there
        }
        let tcp = TcpListener::bind(("127.0.0.1", port));
        let udp = UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found");
}
