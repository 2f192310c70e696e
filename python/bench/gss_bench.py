"""GSS-API from Python: ktix.gss against MIT's library (the PyPI ``gssapi`` package over the
system libgssapi_krb5), on the same machine in one run.

    pip install ./python gssapi      # a release build of the extension for real figures
    python python/bench/gss_bench.py [--seconds 2] [--enctypes 20,18]

A ktix KDC on loopback (realm with all four AES enctypes, one service per enctype holding a key
of that enctype only, so its tickets and session keys are of that enctype) and alice's TGT in a
FILE cache; KRB5_CONFIG/KRB5CCNAME/KRB5_KTNAME point both libraries at them. The service ticket
is fetched once before timing (both libraries then take it from the cache), so the figures are
the GSS work itself:

- context establishments per second: a whole exchange (initiator token, acceptor answer with
  the AP-REP, initiator completing: mutual authentication), the raw krb5 mechanism, both sides
  in this process; ktix↔ktix, MIT↔MIT, and the two mixed pairs. MIT's acceptor keeps its replay
  cache in a file (its default, under KRB5RCACHEDIR); ktix's in memory (its default);
- wrap+unwrap throughput in MB/s: the initiator seals (confidentiality on) a message, the
  acceptor opens it; message sizes 16 KiB (PostgreSQL's GSS packet size) and 1 MiB.

Each figure is the best of ``--rounds`` runs of ``--seconds`` each.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gssapi

import ktix
import ktix.gss

REALM = "BENCH.TEST"
USER = "alice"
PASSWORD = "bench-pw"
NAMES = {17: "aes128-cts-hmac-sha1-96", 18: "aes256-cts-hmac-sha1-96", 19: "aes128-cts-hmac-sha256-128", 20: "aes256-cts-hmac-sha384-192"}


def setup(directory: Path) -> tuple[ktix.KdcServer, dict[str, str]]:
    kdc = ktix.Kdc(REALM, enctypes=[20, 18, 19, 17])
    kdc.add_principal(USER, PASSWORD)
    keytab = b"\x05\x02"
    for e in NAMES:
        kdc.add_principal(f"HTTP/e{e}.bench.test", enctypes=[e])
        keytab += kdc.keytab(f"HTTP/e{e}.bench.test").to_bytes()[2:]
    server = kdc.serve("127.0.0.1:0")
    conf = directory / "krb5.conf"
    conf.write_text(
        f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
        " dns_canonicalize_hostname = false\n rdns = false\n forwardable = true\n"
        f"[realms]\n {REALM} = {{\n  kdc = {server.address}\n }}\n"
        f"[domain_realm]\n .bench.test = {REALM}\n"
    )
    ktix.Keytab.from_bytes(keytab).save(directory / "service.keytab")
    rcache = directory / "rcache"
    rcache.mkdir()
    ktix.Client(REALM, kdc=server.address, ccache=ktix.CCache.file(directory / "cc")).login(USER, PASSWORD)
    env = {
        "KRB5_CONFIG": str(conf),
        "KRB5CCNAME": f"FILE:{directory / 'cc'}",
        "KRB5_KTNAME": f"FILE:{directory / 'service.keytab'}",
        "KRB5RCACHEDIR": str(rcache),
    }
    return server, env


def rate(work: Callable[[], int], seconds: float, rounds: int) -> float:
    """The best rate (units of `work`'s return per second) over `rounds` runs of `seconds`."""
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = time.perf_counter()
        while True:
            done += work()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, done / elapsed)
    return best


def ktix_initiator(target: str) -> Any:
    return ktix.gss.InitiatorContext(target)


def ktix_acceptor(keytab: ktix.Keytab) -> Any:
    return ktix.gss.AcceptorContext(keytab)


MIT_FLAGS = 2 | 4 | 8 | 16 | 32  # mutual, replay, sequence, conf, integ


def mit_initiator(target: str) -> Any:
    name = gssapi.Name(target, gssapi.NameType.hostbased_service)
    return gssapi.SecurityContext(name=name, usage="initiate", flags=MIT_FLAGS, mech=gssapi.MechType.kerberos)


def mit_acceptor(creds: Any) -> Any:
    return gssapi.SecurityContext(usage="accept", creds=creds)


def establish(ini: Any, acc: Any) -> None:
    token = ini.step(None)
    while token is not None:
        token = acc.step(token)
        if token is None:
            break
        token = ini.step(token)
    assert ini.complete and acc.complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed run (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--enctypes", default="20,18", help="enctypes to measure (default 20,18)")
    args = parser.parse_args()
    enctypes = [int(e) for e in args.enctypes.split(",")]

    directory = Path(tempfile.mkdtemp(prefix="ktix-gss-bench-"))
    server, env = setup(directory)
    os.environ.update(env)
    try:
        keytab = ktix.Keytab.load(directory / "service.keytab")
        mit_creds = gssapi.Credentials(usage="accept")
        print(f"ktix {ktix.__version__}, python-gssapi {importlib.metadata.version('gssapi')} (MIT libgssapi_krb5), "
              f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(f"best of {args.rounds} runs of {args.seconds:g} s; raw krb5 mechanism, mutual authentication")
        for e in enctypes:
            target = f"HTTP@e{e}.bench.test"
            # Warm the cache with the service ticket (both libraries read it from there).
            establish(ktix_initiator(target), ktix_acceptor(keytab))
            establish(mit_initiator(target), mit_acceptor(mit_creds))
            print(f"\nenctype {e} ({NAMES[e]})")
            pairs: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
                ("ktix -> ktix", lambda: ktix_initiator(target), lambda: ktix_acceptor(keytab)),
                ("MIT  -> MIT ", lambda: mit_initiator(target), lambda: mit_acceptor(mit_creds)),
                ("MIT  -> ktix", lambda: mit_initiator(target), lambda: ktix_acceptor(keytab)),
                ("ktix -> MIT ", lambda: ktix_initiator(target), lambda: mit_acceptor(mit_creds)),
            ]
            for label, make_ini, make_acc in pairs:

                def one() -> int:
                    establish(make_ini(), make_acc())
                    return 1

                print(f"  establish {label}: {rate(one, args.seconds, args.rounds):8.0f} contexts/s")
            ours = (ktix_initiator(target), ktix_acceptor(keytab))
            establish(*ours)
            theirs = (mit_initiator(target), mit_acceptor(mit_creds))
            establish(*theirs)
            for size in (16 * 1024, 1024 * 1024):
                message = os.urandom(size)
                ktix_ini, ktix_acc = ours
                mit_ini, mit_acc = theirs

                def ktix_round() -> int:
                    assert len(ktix_acc.unwrap(ktix_ini.wrap(message, confidential=True))) == size
                    return size

                def mit_round() -> int:
                    assert len(mit_acc.unwrap(mit_ini.wrap(message, True).message).message) == size
                    return size

                k = rate(ktix_round, args.seconds, args.rounds) / 1e6
                m = rate(mit_round, args.seconds, args.rounds) / 1e6
                print(f"  wrap+unwrap {size // 1024:5d} KiB sealed: ktix {k:8.1f} MB/s   MIT {m:8.1f} MB/s   (x{k / m:.2f})")
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
