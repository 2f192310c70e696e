"""ktix.testing.Realm, and MIT's libkrb5 (through the `gssapi` PyPI package and MIT's kinit/klist)
authenticating against it.

The test command installs `gssapi` (built against the system libkrb5) and sets
KTIX_REQUIRE_INTEROP=1, so there the interop tests fail rather than skip when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import ktix
from ktix.testing import Realm

REQUIRE_INTEROP = os.environ.get("KTIX_REQUIRE_INTEROP") == "1"


def _gssapi() -> ModuleType:
    try:
        import gssapi
    except ImportError:
        if REQUIRE_INTEROP:
            raise
        pytest.skip("the gssapi package is not installed")
    return gssapi


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if REQUIRE_INTEROP:
            pytest.fail(f"MIT's {tool} is not installed (scripts/setup.sh installs krb5-user)")
        pytest.skip(f"MIT's {tool} is not installed")
    return path


# The GSS-API krb5 mechanism frames its first tokens (RFC 1964 §1.1, RFC 4121 §4.1):
# [APPLICATION 0] { OID 1.2.840.113554.1.2.2, TOK_ID (01 00 AP-REQ / 02 00 AP-REP), message }.
KRB5_OID = bytes.fromhex("06092a864886f712010202")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def gss_unwrap(token: bytes, tok_id: bytes) -> bytes:
    assert token[0] == 0x60, "an InitialContextToken"
    first = token[1]
    start = 2 if first < 0x80 else 2 + (first & 0x7F)
    inner = token[start:]
    assert inner.startswith(KRB5_OID + tok_id), inner[:16].hex()
    return inner[len(KRB5_OID) + 2 :]


def gss_wrap(message: bytes, tok_id: bytes) -> bytes:
    inner = KRB5_OID + tok_id + message
    return b"\x60" + _der_length(len(inner)) + inner


@pytest.fixture(scope="module")
def realm() -> Iterator[Realm]:
    with Realm() as r:
        yield r


def test_realm_writes_its_files_and_env(realm: Realm) -> None:
    assert realm.user == "alice" and realm.user_principal == "alice@KTIX.TEST"
    assert realm.service == "host/server.ktix.test"
    assert realm.service_principal == "host/server.ktix.test@KTIX.TEST"
    assert realm.password
    assert set(realm.env) >= {"KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME"}
    assert realm.env["KRB5_CONFIG"] == str(realm.krb5_conf)
    assert realm.env["KRB5CCNAME"] == f"FILE:{realm.ccache_path}"
    assert realm.env["KRB5_KTNAME"] == f"FILE:{realm.keytab_path}"
    conf = realm.krb5_conf.read_text()
    assert "default_realm = KTIX.TEST" in conf and f"kdc = {realm.address}" in conf
    assert ktix.Keytab.load(realm.keytab_path).principals() == [realm.service_principal]
    cache = ktix.CCache.file(realm.ccache_path)
    assert cache.principal == realm.user_principal
    assert "krbtgt/KTIX.TEST@KTIX.TEST" in [c.server for c in cache.credentials()]
    assert realm.address.startswith("127.0.0.1:")


def test_ktix_finds_the_realm_through_the_env(realm: Realm) -> None:
    before = {name: os.environ.get(name) for name in realm.env}
    with realm.environ():
        assert os.environ["KRB5CCNAME"] == realm.env["KRB5CCNAME"]
        client = ktix.Client(ccache=ktix.CCache.default())  # realm and KDC from krb5.conf
        assert client.principal == realm.user_principal  # logged in already: the Realm's TGT
        ap_req, ctx = client.ap_req(realm.service)
        ctx.verify(realm.acceptor().accept(ap_req).ap_rep)
    assert {name: os.environ.get(name) for name in realm.env} == before


def test_realm_cleans_up_after_itself() -> None:
    with Realm("CLEAN.TEST", user="bob", password="pw", service="HTTP/web.clean.test") as r:
        directory = r.directory
        client = r.client()
        client.login("bob", "pw")
        client.ap_req("HTTP/web.clean.test")
        assert "<ktix.testing.Realm CLEAN.TEST at 127.0.0.1:" in repr(r)
    assert not directory.exists()
    assert not r.server.running


def test_realm_in_a_given_directory(tmp_path: Path) -> None:
    with Realm(directory=tmp_path / "realm") as r:
        assert r.krb5_conf.parent == tmp_path / "realm"
    assert (tmp_path / "realm" / "krb5.conf").is_file()


def test_mit_klist_reads_the_realm_files(realm: Realm) -> None:
    klist = _need("klist")
    env = {**os.environ, **realm.env}
    out = subprocess.run([klist], env=env, capture_output=True, text=True, check=True).stdout
    assert "Default principal: alice@KTIX.TEST" in out and "krbtgt/KTIX.TEST@KTIX.TEST" in out
    out = subprocess.run([klist, "-k"], env=env, capture_output=True, text=True, check=True).stdout
    assert realm.service_principal in out


def test_mit_kinit_and_kvno_against_the_realm(realm: Realm, tmp_path: Path) -> None:
    kinit, kvno = _need("kinit"), _need("kvno")
    env = {**os.environ, **realm.env, "KRB5CCNAME": f"FILE:{tmp_path / 'mit_cc'}"}
    subprocess.run(
        [kinit, realm.user_principal], input=realm.password + "\n", env=env, capture_output=True, text=True, check=True
    )
    out = subprocess.run([kvno, realm.service_principal], env=env, capture_output=True, text=True, check=True).stdout
    assert "kvno = 1" in out
    # MIT's cache, read back by ktix.
    cache = ktix.CCache.file(tmp_path / "mit_cc")
    assert cache.principal == realm.user_principal
    assert realm.service_principal in [c.server for c in cache.credentials()]


def test_gssapi_initiator_with_the_realm_ccache_and_ktix_acceptor(realm: Realm) -> None:
    """MIT's GSS-API initiator takes the user's TGT from the Realm's FILE cache, gets a service
    ticket from the ktix KDC, and authenticates to a ktix Acceptor, mutually."""
    gssapi = _gssapi()
    with realm.environ():
        target = gssapi.Name(realm.service_principal, gssapi.NameType.kerberos_principal)
        ctx = gssapi.SecurityContext(
            name=target,
            usage="initiate",
            flags=gssapi.RequirementFlag.mutual_authentication,
        )
        token = ctx.step()
        ap_req = gss_unwrap(token, b"\x01\x00")
        accepted = realm.acceptor().accept(ap_req)
        assert accepted.client == realm.user_principal
        assert accepted.checksum is not None and accepted.checksum[0] == 0x8003, "the GSS-API checksum"
        assert accepted.ap_rep is not None
        ctx.step(gss_wrap(accepted.ap_rep, b"\x02\x00"))
        assert ctx.complete
        assert str(ctx.initiator_name) == realm.user_principal


def test_gssapi_password_login_then_mit_acceptor_with_the_realm_keytab(realm: Realm) -> None:
    """MIT's libkrb5 does the AS exchange (with pre-authentication) against the ktix KDC, and an
    MIT GSS-API acceptor using the Realm's keytab accepts the resulting context."""
    gssapi = _gssapi()
    from gssapi.raw import acquire_cred_with_password

    with realm.environ():
        user = gssapi.Name(realm.user_principal, gssapi.NameType.kerberos_principal)
        creds = acquire_cred_with_password(user, realm.password.encode(), usage="initiate").creds
        target = gssapi.Name(realm.service_principal, gssapi.NameType.kerberos_principal)
        initiator = gssapi.SecurityContext(name=target, creds=creds, usage="initiate")
        acceptor = gssapi.SecurityContext(usage="accept")  # keytab from KRB5_KTNAME
        token = initiator.step()
        while not (initiator.complete and acceptor.complete):
            reply = acceptor.step(token)
            if reply:
                token = initiator.step(reply)
        assert str(acceptor.initiator_name) == realm.user_principal
        assert acceptor.unwrap(initiator.wrap(b"hello", True).message).message == b"hello"


def test_gssapi_password_login_fails_with_the_wrong_password(realm: Realm) -> None:
    gssapi = _gssapi()
    from gssapi.raw import acquire_cred_with_password

    with realm.environ():
        user = gssapi.Name(realm.user_principal, gssapi.NameType.kerberos_principal)
        with pytest.raises(gssapi.exceptions.GSSError):
            acquire_cred_with_password(user, b"wrong", usage="initiate")


def test_realm_env_works_in_a_subprocess(realm: Realm) -> None:
    """What another project's test suite does: run its code with the Realm's environment."""
    code = (
        "import ktix; c = ktix.Client(ccache=ktix.CCache.default()); "
        "print(c.principal, len(c.ap_req('host/server.ktix.test')[0]) > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **realm.env}, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["alice@KTIX.TEST", "True"]
