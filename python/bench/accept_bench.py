"""Acceptor.accept calls per second from Python, with 1 and 2 threads.

    pip install ./python          # a release build of the extension
    python python/bench/accept_bench.py [--count 20000] [--rounds 3] [--compare]

Builds `count` distinct mutual-authentication AP-REQs (aes256-cts-hmac-sha1-96, enctype 18, the
realm's default) for one service for each run, all before the first run (and the KDC stopped),
then times one Acceptor (a fresh one per run; the requests are fresh too, since every acceptor of
the service in the process shares one replay cache) verifying all of them: from one thread, then
split between two threads of a ThreadPoolExecutor. `accept` releases the GIL, so two threads can verify in parallel; the
Python-side work per call (argument conversion, building the result object) still runs under the
GIL.

`--compare` then runs the same one-thread work in Rust (`kdc_profile accept-time 18 memory COUNT`,
built with `cargo build --release --example kdc_profile`: an in-process realm, fresh AP-REQs, one
fresh acceptor, best of 3) and prints how much longer a call from Python takes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import ktix

REALM = "KTIX.TEST"
SERVICE = "host/server.ktix.test"


def run(requests: list[bytes], keytab: ktix.Keytab, threads: int) -> float:
    """Seconds for a fresh acceptor to accept every request using `threads` threads."""
    acceptor = ktix.Acceptor(keytab)
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
    parser.add_argument("--compare", action="store_true", help="also time the same work in Rust (kdc_profile)")
    parser.add_argument(
        "--fixed",
        choices=["build", "accept"],
        help="no timing: build COUNT AP-REQs (and accept them), for instruction counts under callgrind",
    )
    args = parser.parse_args()

    kdc = ktix.Kdc(REALM)
    kdc.add_principal("alice", password="secret")
    kdc.add_principal(SERVICE)
    keytab = kdc.keytab(SERVICE)
    if args.fixed:
        with kdc.serve("127.0.0.1:0") as server:
            client = ktix.Client(REALM, kdc=server.address)
            client.login("alice", "secret")
            requests = [client.ap_req(SERVICE, mutual=True)[0] for _ in range(args.count)]
        if args.fixed == "accept":
            acceptor = ktix.Acceptor(keytab)
            for req in requests:
                acceptor.accept(req)
        return
    print(f"ktix {ktix.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"Acceptor.accept, mutual, enctype 18, {args.count} AP-REQs per run, best of {args.rounds}")
    base = None
    one_thread = 0.0
    # Fresh requests for every run, all made before the first is timed (and the KDC stopped).
    with kdc.serve("127.0.0.1:0") as server:
        client = ktix.Client(REALM, kdc=server.address)
        client.login("alice", "secret")
        probe = ktix.Acceptor(keytab).accept(client.ap_req(SERVICE, mutual=True)[0])
        assert (probe.enctype, probe.session_enctype) == (18, 18), "the Rust side of --compare uses enctype 18"
        runs = [[client.ap_req(SERVICE, mutual=True)[0] for _ in range(args.count)] for _ in range(2 * args.rounds)]
    for threads in (1, 2):
        best = min(run(runs.pop(), keytab, threads) for _ in range(args.rounds))
        rate = args.count / best
        base = base or rate
        one_thread = one_thread or best / args.count * 1e6
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: {rate:9.0f} calls/s  ({best / args.count * 1e6:5.1f} us/call, x{rate / base:.2f})")
    if args.compare:
        rust = rust_us_per_call(args.count)
        print(f"  Rust, 1 thread: {rust:5.1f} us/call (kdc_profile accept-time); Python/Rust {one_thread / rust:.3f} (+{(one_thread / rust - 1) * 100:.1f} %)")


def rust_us_per_call(count: int) -> float:
    """The Rust figure of the same one-thread work, from the kdc_profile example (built here)."""
    root = Path(__file__).resolve().parents[2]
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "kdc_profile"], cwd=root, check=True)
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    binary = Path(json.loads(meta)["target_directory"]) / "release" / "examples" / "kdc_profile"
    out = subprocess.run([str(binary), "accept-time", "18", "memory", str(count)], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


if __name__ == "__main__":
    main()
