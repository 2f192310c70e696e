"""The whole flow of API.md's Python example, and the objects it uses: cache reuse and logout,
keytabs on disk, FILE caches, the SQLite realm database, krb5.conf."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ktix

from conftest import PASSWORD, REALM, SERVICE, USER, Served


def test_api_md_python_example() -> None:
    # Verbatim from ../shared/API.md (Python section).
    kdc = ktix.Kdc("KTIX.TEST", db=None)
    kdc.add_principal("alice", password="secret")
    kdc.add_principal("host/server.ktix.test")
    keytab = kdc.keytab("host/server.ktix.test")
    with kdc.serve("127.0.0.1:0") as server:
        assert server.address.startswith("127.0.0.1:")
        client = ktix.Client("KTIX.TEST", kdc=server.address, ccache=ktix.CCache.memory())
        client.login("alice", "secret")
        ap_req, ctx = client.ap_req("host/server.ktix.test", mutual=True)
        accepted = ktix.Acceptor(keytab).accept(ap_req)
        assert accepted.client == "alice@KTIX.TEST"
        assert isinstance(accepted.ap_rep, bytes)
        ctx.verify(accepted.ap_rep)
        assert ctx.verified
        client.logout()
        assert client.ccache.credentials() == []
    assert not server.running


def test_objects_describe_themselves(served: Served) -> None:
    assert served.kdc.realm == REALM
    assert served.kdc.db is None
    assert f"{USER}@{REALM}" in served.kdc.principals()
    assert f"krbtgt/{REALM}@{REALM}" in served.kdc.principals()
    assert served.server.running
    assert served.server.address in served.server.addresses
    assert "KTIX.TEST" in repr(served.kdc)
    assert served.server.address in repr(served.server)
    client = served.client()
    assert client.realm == REALM
    assert client.principal is None
    assert client.ccache.name.startswith("MEMORY:")


def test_accepted_carries_ticket_facts_as_aware_datetimes(served: Served) -> None:
    client = served.logged_in()
    ap_req, ctx = client.ap_req(SERVICE)
    accepted = ktix.Acceptor(served.keytab).accept(ap_req)
    now = datetime.now(timezone.utc)
    assert accepted.server == f"{SERVICE}@{REALM}"
    for t in (accepted.auth_time, accepted.start_time, accepted.end_time):
        assert isinstance(t, datetime)
        assert t.tzinfo is not None and t.utcoffset() == timedelta(0)
    assert accepted.start_time <= now + timedelta(seconds=5)
    assert timedelta(hours=7) < accepted.end_time - now <= timedelta(hours=8, seconds=5)
    assert isinstance(accepted.flags, ktix.TicketFlags)
    assert ktix.TicketFlags.PRE_AUTHENT in accepted.flags
    assert accepted.kvno == 1
    # A realm's default enctypes (MIT 1.20's): aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96.
    assert accepted.enctype == 18 and accepted.session_enctype == 18
    assert ktix.enctype_name(accepted.enctype) == "aes256-cts-hmac-sha1-96"
    assert accepted.seq_number == ctx.seq_number
    assert accepted.checksum is None
    assert accepted.authorization_data == []
    assert "alice@KTIX.TEST" in repr(accepted)
    ctx.verify(accepted.ap_rep)
    assert ctx.server == f"{SERVICE}@{REALM}" and ctx.mutual


def test_without_mutual_authentication_there_is_no_ap_rep(served: Served) -> None:
    client = served.logged_in()
    ap_req, ctx = client.ap_req(SERVICE, mutual=False)
    accepted = ktix.Acceptor(served.keytab).accept(ap_req)
    assert accepted.ap_rep is None
    ctx.verify(None)
    assert not ctx.mutual and not ctx.verified


def test_cache_reuse_and_logout(served: Served) -> None:
    client = served.client()
    tgt = client.login(USER, PASSWORD)
    assert tgt.server == f"krbtgt/{REALM}@{REALM}"
    assert ktix.TicketFlags.INITIAL in tgt.flags
    assert client.principal == f"{USER}@{REALM}"
    assert client.stats == ktix.ClientStats(as_requests=2, tgs_requests=0)  # preauth: two AS-REQs

    acceptor = ktix.Acceptor(served.keytab)
    for _ in range(3):
        ap_req, ctx = client.ap_req(SERVICE)
        ctx.verify(acceptor.accept(ap_req).ap_rep)
    assert client.stats.tgs_requests == 1, "the service ticket is fetched once and then reused"

    creds = client.ccache.credentials()
    assert [c.server for c in creds] == [f"krbtgt/{REALM}@{REALM}", f"{SERVICE}@{REALM}"]
    server, start, end, enctype, flags = creds[1]  # a tuple, as API.md lists it
    assert (server, enctype) == (f"{SERVICE}@{REALM}", 18)
    assert start < end and isinstance(flags, ktix.TicketFlags)
    assert client.service_ticket(SERVICE) == creds[1]

    client.logout()
    assert client.ccache.credentials() == []
    assert client.principal is None
    with pytest.raises(ktix.NotLoggedInError):
        client.ap_req(SERVICE)
    client.login(USER, PASSWORD)
    client.ap_req(SERVICE)
    assert client.stats.tgs_requests == 2, "after logout the service ticket is fetched again"


def test_clients_sharing_a_cache_share_tickets(served: Served) -> None:
    cache = ktix.CCache.memory()
    first = served.client(cache)
    first.login(USER, PASSWORD)
    first.service_ticket(SERVICE)
    second = served.client(cache)
    assert second.ccache is cache
    second.ap_req(SERVICE)
    assert second.stats.tgs_requests == 0


def test_login_with_keytab(served: Served) -> None:
    served.kdc.add_principal("batch")
    client = served.client()
    tgt = client.login_with_keytab("batch", served.kdc.keytab("batch"))
    assert client.principal == f"batch@{REALM}"
    assert tgt.server == f"krbtgt/{REALM}@{REALM}"


def test_kdc_handle_is_the_pure_exchange(served: Served) -> None:
    reply = served.kdc.handle(b"\x6a\x03\x02\x01\x05")
    assert reply[:1] == b"\x7e", "a malformed AS-REQ gets a KRB-ERROR (APPLICATION 30)"
    # Anything not shaped like a request gets no reply at all (never a reflector).
    assert served.kdc.handle(b"\x30\x00") == b""
    assert served.kdc.handle(bytearray(b"garbage")) == b""
    # The first byte alone decides: "junk" starts with 0x6a ("j"), the AS-REQ tag, so it is
    # request-shaped, malformed, and gets a KRB-ERROR.
    assert served.kdc.handle(b"junk")[:1] == b"\x7e"


def test_principals_can_be_deleted() -> None:
    kdc = ktix.Kdc(REALM)
    kdc.add_principal("bob", "pw", requires_preauth=False)
    assert kdc.delete_principal("bob") is True
    assert kdc.delete_principal("bob") is False


def test_keytab_save_load_and_bytes(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "service.keytab"
    served.keytab.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = ktix.Keytab.load(path)
    assert loaded.entries() == served.keytab.entries()
    assert ktix.Keytab.load(f"FILE:{path}").entries() == loaded.entries()
    assert len(loaded) == 2
    assert {e.enctype for e in loaded.entries()} == {17, 18}
    entry = loaded.entries()[0]
    principal, kvno, enctype, timestamp = entry
    assert (principal, kvno) == (f"{SERVICE}@{REALM}", 1)
    assert timestamp.tzinfo is not None
    assert loaded.principals() == [f"{SERVICE}@{REALM}"]
    assert ktix.Keytab.from_bytes(path.read_bytes()).entries() == loaded.entries()
    assert served.keytab.to_bytes() == path.read_bytes()
    assert len(ktix.Keytab()) == 0
    # A keytab read back from disk accepts tickets as the original does.
    client = served.logged_in()
    ap_req, ctx = client.ap_req(SERVICE)
    ctx.verify(ktix.Acceptor(loaded).accept(ap_req).ap_rep)


@pytest.mark.skipif(shutil.which("klist") is None, reason="MIT klist is not installed")
def test_mit_klist_reads_our_keytab(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "kt"
    served.keytab.save(path)
    out = subprocess.run(["klist", "-k", "-e", str(path)], capture_output=True, text=True, check=True).stdout
    assert f"{SERVICE}@{REALM}" in out
    assert "aes256-cts-hmac-sha1-96" in out


def test_file_ccache(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "krb5cc_test"
    client = served.client(ktix.CCache.file(path))
    client.login(USER, PASSWORD)
    client.ap_req(SERVICE)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ktix.CCache.file(path)
    assert again.principal == f"{USER}@{REALM}"
    assert [c.server for c in again.credentials()] == [f"krbtgt/{REALM}@{REALM}", f"{SERVICE}@{REALM}"]
    assert again.name == f"FILE:{path}"
    assert ktix.CCache.resolve(f"FILE:{path}").principal == f"{USER}@{REALM}"
    # A second client on the same file reuses the service ticket.
    reader = served.client(ktix.CCache.file(path))
    reader.ap_req(SERVICE)
    assert reader.stats.tgs_requests == 0
    client.logout()
    assert ktix.CCache.file(path).credentials() == []


@pytest.mark.skipif(shutil.which("klist") is None, reason="MIT klist is not installed")
def test_mit_klist_reads_our_file_ccache(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "cc"
    client = served.client(ktix.CCache.file(path))
    client.login(USER, PASSWORD)
    client.ap_req(SERVICE)
    out = subprocess.run(["klist", "-c", f"FILE:{path}"], capture_output=True, text=True, check=True).stdout
    assert f"Default principal: {USER}@{REALM}" in out
    assert f"krbtgt/{REALM}@{REALM}" in out and f"{SERVICE}@{REALM}" in out


def test_default_ccache_honours_krb5ccname(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "default_cc"
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{path}")
    cache = ktix.CCache.default()
    assert cache.name == f"FILE:{path}"
    served.client(cache).login(USER, PASSWORD)
    assert ktix.CCache.default().principal == f"{USER}@{REALM}"


def test_client_from_krb5_conf(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        f"[libdefaults]\n default_realm = {REALM}\n[realms]\n {REALM} = {{\n  kdc = {served.server.address}\n }}\n"
    )
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    client = ktix.Client()
    assert client.realm == REALM
    client.login(USER, PASSWORD)
    ktix.Acceptor(served.keytab).accept(client.ap_req(SERVICE)[0])
    assert ktix.Client(REALM).realm == REALM


def test_sqlite_realm_database(tmp_path: Path) -> None:
    db = tmp_path / "realm.db"
    kdc = ktix.Kdc(REALM, db=str(db))
    assert db.is_file() and Path(f"{db}.stash").is_file()
    assert kdc.db == str(db)
    kdc.add_principal(USER, password=PASSWORD)
    kdc.add_principal(SERVICE)
    keytab = kdc.keytab(SERVICE)
    del kdc

    reopened = ktix.Kdc(REALM, db=db)  # a PathLike works too
    assert f"{USER}@{REALM}" in reopened.principals()
    with reopened.serve() as server:
        client = ktix.Client(REALM, kdc=server.address)
        client.login(USER, PASSWORD)
        ap_req, ctx = client.ap_req(SERVICE)
        ctx.verify(ktix.Acceptor(keytab).accept(ap_req).ap_rep)

    with pytest.raises(ktix.InvalidArgumentError, match="OTHER.TEST"):
        ktix.Kdc("OTHER.TEST", db=db)
    os.remove(f"{db}.stash")
    with pytest.raises(ktix.FileError, match="stash"):
        ktix.Kdc(REALM, db=db)


KTIX_TOOL = Path(__file__).resolve().parents[2] / "target" / "debug" / "ktix"


@pytest.mark.skipif(not KTIX_TOOL.is_file(), reason="the ktix tool is not built (cargo build -p ktix-cli)")
def test_sqlite_realm_keeps_the_database_enctypes(tmp_path: Path) -> None:
    db = tmp_path / "realm.db"
    init = [str(KTIX_TOOL), "db", "init", "--db", str(db), "--realm", REALM, "--enctypes", "aes128-cts-hmac-sha1-96"]
    subprocess.run(init, check=True, stdout=subprocess.DEVNULL)
    kdc = ktix.Kdc(REALM, db=db)
    kdc.add_principal(USER, password=PASSWORD)
    assert [e.enctype for e in kdc.keytab(USER).entries()] == [17]


def test_kdc_policy_arguments(tmp_path: Path) -> None:
    kdc = ktix.Kdc(REALM, max_life=3600)
    kdc.add_principal(USER, PASSWORD)
    with kdc.serve() as server:
        tgt = ktix.Client(REALM, kdc=server.address).login(USER, PASSWORD)
    assert tgt.end - tgt.start <= timedelta(hours=1)
