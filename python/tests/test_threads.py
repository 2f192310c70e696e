"""Objects shared between Python threads, and the GIL released around network I/O and crypto.

No test here measures speed (python/bench/accept_bench.py does). The GIL tests are
deterministic instead: with the interpreter's switch interval made huge, a spinning thread gets
the GIL only when the main thread gives it up, which the main thread's plain Python code never
does; so the spinner's progress during a call proves the call released the GIL.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import ktix

from conftest import PASSWORD, REALM, SERVICE, USER, Served


def test_thread_pool_of_acceptors_and_a_shared_client(served: Served) -> None:
    client = served.logged_in()
    acceptor = ktix.Acceptor(served.keytab)
    before = acceptor.replay_cache_size  # the service's cache is shared by every acceptor of it
    n = 200

    def one(_: int) -> str:
        ap_req, ctx = client.ap_req(SERVICE)  # one shared client: a single TGS for all threads
        accepted = acceptor.accept(ap_req)  # one shared acceptor and replay cache
        ctx.verify(accepted.ap_rep)
        return accepted.client

    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = list(pool.map(one, range(n)))
    assert clients == [f"{USER}@{REALM}"] * n
    assert client.stats.tgs_requests == 1
    assert acceptor.replay_cache_size == before + n


def test_a_replay_across_threads_is_accepted_once(served: Served) -> None:
    client = served.logged_in()
    acceptor = ktix.Acceptor(served.keytab)
    requests = [client.ap_req(SERVICE)[0] for _ in range(20)]

    def accept(req: bytes) -> str:
        try:
            acceptor.accept(req)
            return "ok"
        except ktix.ReplayError:
            return "replay"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(accept, [r for r in requests for _ in range(4)]))
    assert results.count("ok") == 20
    assert results.count("replay") == 60


def test_many_threads_log_in_and_share_one_kdc(served: Served) -> None:
    def login(_: int) -> str | None:
        client = served.client()
        client.login(USER, PASSWORD)
        return client.principal

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(login, range(12))) == {f"{USER}@{REALM}"}


@pytest.fixture
def spinner() -> Iterator[Callable[[Callable[[], object]], int]]:
    """Runs a call while another thread spins; returns how often the spinner ran meanwhile."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)  # no forced switches: the GIL changes hands only when given up
    ticks = 0
    stop = False
    started = threading.Event()

    def spin() -> None:
        nonlocal ticks
        started.set()
        while not stop:
            ticks += 1
            time.sleep(0)  # hands the GIL straight back

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    started.wait()

    def measure(call: Callable[[], object]) -> int:
        before = ticks
        call()
        return ticks - before

    try:
        yield measure
    finally:
        stop = True
        thread.join()
        sys.setswitchinterval(old)


def test_accept_releases_the_gil(served: Served, spinner: Callable[[Callable[[], object]], int]) -> None:
    client = served.logged_in()
    acceptor = ktix.Acceptor(served.keytab)
    requests = [client.ap_req(SERVICE)[0] for _ in range(200)]

    def accept_all() -> None:
        for req in requests:
            acceptor.accept(req)

    assert spinner(accept_all) > 0


def test_network_io_and_string_to_key_release_the_gil(
    served: Served, spinner: Callable[[Callable[[], object]], int]
) -> None:
    assert spinner(lambda: served.client().login(USER, PASSWORD)) > 0
    kdc = ktix.Kdc(REALM)
    # Several string-to-key runs in one window: on a loaded machine the spinner thread may not be
    # scheduled during a single one (seen once with the load average at 10).
    assert spinner(lambda: [kdc.add_principal(f"carol{i}", "a password") for i in range(8)]) > 0


def test_a_python_kdc_proxy_can_answer_while_the_client_waits(served: Served) -> None:
    """The client's network wait must not hold the GIL: the KDC it talks to here is a Python
    thread (a TCP proxy in front of the real server), which could not run otherwise."""
    import socket

    host, port = served.server.address.rsplit(":", 1)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    proxied = 0
    done = threading.Event()

    def read_frame(sock: socket.socket) -> bytes:
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def proxy() -> None:
        nonlocal proxied
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(30)
            with conn, socket.create_connection((host, int(port))) as upstream:
                request = read_frame(conn)
                if not request:
                    continue
                upstream.sendall(request)
                conn.sendall(read_frame(upstream))
                proxied += 1

    thread = threading.Thread(target=proxy, daemon=True)
    thread.start()
    try:
        # Nothing listens on the UDP port of that number, so the client falls back to TCP.
        client = ktix.Client(REALM, kdc=f"127.0.0.1:{listener.getsockname()[1]}")
        client.login(USER, PASSWORD)
        client.ap_req(SERVICE)
    finally:
        done.set()
        thread.join(timeout=30)
        listener.close()
    assert proxied >= 3  # two AS requests and one TGS request
