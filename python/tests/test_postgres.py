"""``ktix.Kdc(db="postgresql://…", stash=…)``: one realm in PostgreSQL, opened by two Kdc objects
(as two KDC processes would), each serving it.

The PostgreSQL cluster is a throwaway one started here (Debian's server programs: ``initdb`` into
a temporary directory, ``trust`` on 127.0.0.1, its own free port; as the ``postgres`` user when
run as root), as ``tests/pg/mod.rs`` does for the Rust tests. The test command installs
PostgreSQL and sets KTIX_REQUIRE_INTEROP=1, so there it fails rather than skips when missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import ktix

REQUIRE = os.environ.get("KTIX_REQUIRE_INTEROP") == "1"
REALM = "KTIX.TEST"
SERVICE = "host/server.ktix.test"


def _bin_dir() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (int(v.name), v / "bin")
        for v in (root.iterdir() if root.is_dir() else [])
        if v.name.isdigit() and (v / "bin" / "initdb").is_file()
    )
    if not versions:
        message = "PostgreSQL's server programs are not installed (scripts/setup.sh installs postgresql)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    return versions[-1][1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A database in a throwaway cluster; the cluster is stopped and removed at the end."""
    bin_dir = _bin_dir()
    as_postgres = os.geteuid() == 0
    # Not under tmp_path: pytest makes its parents 0700, closed to the postgres user.
    with tempfile.TemporaryDirectory() as top:
        yield from _cluster(bin_dir, Path(top), as_postgres)


def _cluster(bin_dir: Path, cluster: Path, as_postgres: bool) -> Iterator[str]:
    prefix: list[str] = []
    if as_postgres:
        subprocess.run(["chown", "-R", "postgres:postgres", str(cluster)], check=True)
        prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    def run(program: str, *args: str) -> None:
        out = subprocess.run(
            [*prefix, str(bin_dir / program), *args], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
        )
        assert out.returncode == 0, f"{program} {args}: {out.stdout}{out.stderr}"

    data, port = str(cluster / "data"), _free_port()
    run("initdb", "-D", data, "-U", "ktix", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
    opts = f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", data, "-o", opts, "-l", str(cluster / "log"), "-w", "-t", "30", "start")
    try:
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "ktix", "realm")
        yield f"postgresql://ktix@127.0.0.1:{port}/realm"
    finally:
        run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")


def test_two_kdcs_on_one_postgres_realm(pg_uri: str, tmp_path: Path) -> None:
    stash = tmp_path / "realm.stash"
    first = ktix.Kdc(REALM, db=pg_uri, stash=stash)
    assert first.add_principal("alice", password="alice-pw") == f"alice@{REALM}"
    first.add_principal(SERVICE)
    keytab = first.keytab(SERVICE)

    # A second Kdc on the same database and stash: the same realm, every principal there.
    second = ktix.Kdc(REALM, db=pg_uri, stash=stash)
    assert second.principals() == first.principals()
    assert f"alice@{REALM}" in second.principals()

    # Each serves it: a login and a service ticket through each, accepted with the keytab
    # exported from the first.
    acceptor = ktix.Acceptor(keytab)
    for kdc in (first, second):
        with kdc.serve("127.0.0.1:0") as server:
            client = ktix.Client(REALM, kdc=server.address, ccache=ktix.CCache.memory())
            client.login("alice", "alice-pw")
            ap_req, _ = client.ap_req(SERVICE)
            assert acceptor.accept(ap_req).client == f"alice@{REALM}"
            client.logout()

    # A wrong password is refused through PostgreSQL as through SQLite.
    with second.serve("127.0.0.1:0") as server:
        client = ktix.Client(REALM, kdc=server.address, ccache=ktix.CCache.memory())
        with pytest.raises(ktix.PreauthError):
            client.login("alice", "wrong")


def test_postgres_without_a_stash_is_a_specific_error(pg_uri: str) -> None:
    with pytest.raises(ktix.InvalidArgumentError) as info:
        ktix.Kdc(REALM, db=pg_uri)
    assert "a PostgreSQL realm database needs its master-key stash" in info.value.message, info.value.message


def test_an_unreachable_postgres_server_is_a_specific_error(tmp_path: Path) -> None:
    # A free port on loopback: nothing listens there, the connection is refused at once.
    uri = f"postgresql://ktix@127.0.0.1:{_free_port()}/realm"
    with pytest.raises(ktix.FileError) as info:
        ktix.Kdc(REALM, db=uri, stash=tmp_path / "realm.stash")
    assert info.value.name == "KTIX_ERR_IO"
    assert "127.0.0.1" in info.value.message, info.value.message
