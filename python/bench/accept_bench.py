"""Acceptor.accept calls per second from Python, with 1 and 2 threads.

    pip install ./python          # a release build of the extension
    python python/bench/accept_bench.py [--count 20000] [--rounds 3]

Builds `count` distinct mutual-authentication AP-REQs (aes256-cts-hmac-sha384-192, the realm's
default enctype) for one service up front, then times one shared Acceptor (a fresh one per run,
so the replay cache starts empty) verifying all of them: from one thread, then split between two
threads of a ThreadPoolExecutor. `accept` releases the GIL, so two threads can verify in
parallel; the Python-side work per call (argument conversion, building the result object) still
runs under the GIL. Compare with the Rust figure from
`cargo bench --bench exchanges -- acceptor` ("acceptor_accept/mutual 20").
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import ktix

REALM = "KTIX.TEST"
SERVICE = "host/server.ktix.test"


def run(requests: list[bytes], keytab: ktix.Keytab, threads: int) -> float:
    """Seconds for a fresh acceptor to accept every request using `threads` threads."""
    acceptor = ktix.Acceptor(keytab, replay_capacity=len(requests) + 1)
    chunks = [requests[i::threads] for i in range(threads)]

    def work(chunk: list[bytes]) -> int:
        for req in chunk:
            acceptor.accept(req)
        return len(chunk)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        start = time.perf_counter()
        done = sum(pool.map(work, chunks))
        elapsed = time.perf_counter() - start
    assert done == len(requests)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000, help="AP-REQs per run (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per thread count; the best is reported")
    args = parser.parse_args()

    kdc = ktix.Kdc(REALM)
    kdc.add_principal("alice", password="secret")
    kdc.add_principal(SERVICE)
    keytab = kdc.keytab(SERVICE)
    with kdc.serve("127.0.0.1:0") as server:
        client = ktix.Client(REALM, kdc=server.address)
        client.login("alice", "secret")
        requests = [client.ap_req(SERVICE, mutual=True)[0] for _ in range(args.count)]

    print(f"ktix {ktix.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"Acceptor.accept, mutual, enctype 20, {args.count} AP-REQs per run, best of {args.rounds}")
    base = None
    for threads in (1, 2):
        best = min(run(requests, keytab, threads) for _ in range(args.rounds))
        rate = args.count / best
        base = base or rate
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: {rate:9.0f} calls/s  ({best / args.count * 1e6:5.1f} us/call, x{rate / base:.2f})")


if __name__ == "__main__":
    main()
