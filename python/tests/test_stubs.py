"""The type stubs ship with the package and match the native module (mypy.stubtest), and every
class and method has a docstring."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import ktix
from ktix import _ktix


def test_stubs_and_py_typed_ship_with_the_package() -> None:
    package = Path(ktix.__file__).parent
    assert (package / "_ktix.pyi").is_file()
    assert (package / "py.typed").is_file()


def test_stubtest_finds_no_difference(tmp_path: Path) -> None:
    # The installed package is checked (not the source tree), so run from a neutral directory.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ktix", "--concise"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_type_checks_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", "ktix"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_public_api_type_checks(tmp_path: Path) -> None:
    """A program using the stubs as API.md does passes mypy --strict."""
    program = '''
from __future__ import annotations
import ktix
from datetime import datetime

kdc = ktix.Kdc("KTIX.TEST", db=None)
name: str = kdc.add_principal("alice", password="secret")
keytab: ktix.Keytab = kdc.keytab("host/server.ktix.test")
with kdc.serve("127.0.0.1:0") as server:
    address: str = server.address
    client = ktix.Client("KTIX.TEST", kdc=server.address, ccache=ktix.CCache.memory())
    client.login("alice", "secret")
    ap_req, ctx = client.ap_req("host/server.ktix.test", mutual=True)
    data: bytes = ap_req
    accepted = ktix.Acceptor(keytab).accept(ap_req)
    who: str = accepted.client
    rep: bytes | None = accepted.ap_rep
    end: datetime = accepted.end_time
    ctx.verify(accepted.ap_rep)
    for server_name, start, stop, enctype, flags in client.ccache.credentials():
        assert ktix.TicketFlags.INITIAL in flags or enctype > 0
    client.logout()
try:
    ktix.Kdc("")
except ktix.InvalidArgumentError as e:
    code: int = e.code

# ktix.gss, as API.md shows it.
ini = ktix.gss.InitiatorContext("HTTP@web.ktix.test", ccache=None, mutual=True, delegate=False,
                                spnego=False, channel_bindings=None)
acc = ktix.gss.AcceptorContext(keytab=None, spnego=True, channel_bindings=b"tls")
tok: bytes | None = ini.step(None)
while tok is not None and not (ini.complete and acc.complete):
    tok = acc.step(tok)
    tok = ini.step(tok) if tok is not None else None
who2: str | None = acc.initiator_name
ctx_flags: int = acc.flags & ktix.gss.MUTUAL
deleg: ktix.CCache | None = acc.delegated
plain: bytes = acc.unwrap(ini.wrap(b"hi", confidential=True))
mic: bytes = ini.get_mic(memoryview(b"x"))
acc.verify_mic(bytearray(b"x"), mic)
try:
    acc.unwrap(b"")
except ktix.GssError as e:
    major: int = e.major + e.minor
    tokn: bytes | None = e.token
'''
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-c", program],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _public_members(cls: type) -> list[tuple[str, object]]:
    return [(n, m) for n, m in vars(cls).items() if not n.startswith("_") or n in ("__enter__", "__exit__")]


def test_every_class_and_method_has_a_docstring() -> None:
    classes = [obj for name, obj in vars(_ktix).items() if inspect.isclass(obj) and not name.startswith("_")]
    assert {c.__name__ for c in classes} == {
        "Kdc",
        "KdcServer",
        "Keytab",
        "CCache",
        "Client",
        "ApContext",
        "Acceptor",
        "Accepted",
        "InitiatorContext",
        "AcceptorContext",
    }
    missing = []
    for cls in classes:
        if not (cls.__doc__ or "").strip():
            missing.append(cls.__name__)
        for name, member in _public_members(cls):
            if not (getattr(member, "__doc__", None) or "").strip():
                missing.append(f"{cls.__name__}.{name}")
    for name in ("version", "error_name", "enctype_name", "enctype_number"):
        if not (getattr(_ktix, name).__doc__ or "").strip():
            missing.append(name)
    import ktix.testing

    for cls in (
        ktix.testing.Realm,
        ktix.Credential,
        ktix.KeytabEntry,
        ktix.TicketFlags,
        ktix.ClientStats,
        ktix.gss.ChannelBindings,
        ktix.GssError,
    ):
        if not (cls.__doc__ or "").strip():
            missing.append(cls.__name__)
    for name, member in _public_members(ktix.testing.Realm):
        if callable(member) and not (member.__doc__ or "").strip():
            missing.append(f"Realm.{name}")
    assert not missing, f"no docstring: {missing}"
