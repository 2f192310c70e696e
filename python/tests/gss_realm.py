"""The GSS-API interop harness: a ktix KDC on loopback whose realm has keys of all four AES
enctypes, with the files MIT's GSS-API library (the PyPI ``gssapi`` package over Debian's
libgssapi-krb5) needs to find it.

The realm ``KTIX.TEST`` (enctypes 20, 18, 19, 17) holds:

- ``alice`` (a password) — her forwardable TGT is put in a FILE cache by MIT's own ``kinit``
  (or ktix's client, for the tests that need no MIT);
- ``HTTP/web.ktix.test`` with keys of all four enctypes, and for each enctype N one service
  ``HTTP/eN.ktix.test`` with a key of that enctype only: the KDC gives a ticket to it a session
  key of enctype N (the first of the client's list the service has a key of, as MIT's KDC
  chooses), so a context with ``HTTP@eN.ktix.test`` runs on enctype N end to end (authenticator
  and acceptor subkeys, per-message tokens), whatever the initiator's krb5.conf asks for;
- ``host/other.ktix.test`` (all four), the service a delegated TGT gets a ticket for.

All services' keys are in one keytab (``KRB5_KTNAME``). The krb5.conf maps ``.ktix.test`` to the
realm and keeps DNS out (``dns_canonicalize_hostname = false``, ``rdns = false``), so the
host-based name ``HTTP@eN.ktix.test`` is ``HTTP/eN.ktix.test@KTIX.TEST`` for MIT and ktix alike.

MIT's library reads ``KRB5_CONFIG``, ``KRB5CCNAME``, ``KRB5_KTNAME`` and ``KRB5RCACHEDIR`` from the
process environment when it makes a krb5 context (each GSS call that needs one), so
:meth:`GssRealm.environ` sets them before any ``gssapi`` object is made. The realm's krb5.conf
pins no enctype (the per-enctype services choose it); :meth:`GssRealm.pinned` gives, for the tests
that pin one in krb5.conf instead, a separate file per enctype (and a cache kinit'd with it), so
MIT's profile cache, keyed by file, never serves one enctype's settings for another.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Optional, Protocol

import pytest

import ktix

REQUIRE_INTEROP = os.environ.get("KTIX_REQUIRE_INTEROP") == "1"

REALM = "KTIX.TEST"
USER = "alice"
PASSWORD = "gss-alice-pw"
DOMAIN = "ktix.test"
OTHER = "host/other.ktix.test"

# The four enctypes, by number: MIT's names.
ENCTYPES: dict[int, str] = {
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    19: "aes128-cts-hmac-sha256-128",
    20: "aes256-cts-hmac-sha384-192",
}

# RFC 2744 context flags.
DELEG, MUTUAL, REPLAY, SEQUENCE, CONF, INTEG = 1, 2, 4, 8, 16, 32
CHANNEL_BOUND = 0x800
# RFC 2744 major status routine errors (and supplementary bits) the tests check.
GSS_S_DUPLICATE_TOKEN = 1 << 1
GSS_S_OLD_TOKEN = 1 << 2
GSS_S_UNSEQ_TOKEN = 1 << 3
GSS_S_GAP_TOKEN = 1 << 4
GSS_S_BAD_MECH = 1 << 16
GSS_S_BAD_BINDINGS = 4 << 16
GSS_S_BAD_SIG = 6 << 16
GSS_S_NO_CRED = 7 << 16
GSS_S_NO_CONTEXT = 8 << 16
GSS_S_DEFECTIVE_TOKEN = 9 << 16
GSS_S_FAILURE = 13 << 16

SPNEGO_OID = "1.3.6.1.5.5.2"
KRB5_OID = "1.2.840.113554.1.2.2"


def service(enctype: int) -> str:
    """The principal name (no realm) of the service with keys of `enctype` only."""
    return f"HTTP/e{enctype}.{DOMAIN}"


def hostbased(enctype: int) -> str:
    """Its GSS host-based service name, ``HTTP@eN.ktix.test``."""
    return f"HTTP@e{enctype}.{DOMAIN}"


def need_gssapi() -> ModuleType:
    """The ``gssapi`` package, or a skip (a failure under KTIX_REQUIRE_INTEROP=1)."""
    try:
        import gssapi
    except ImportError:
        if REQUIRE_INTEROP:
            raise
        pytest.skip("the gssapi package is not installed")
    return gssapi


def need_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if REQUIRE_INTEROP:
            pytest.fail(f"MIT's {tool} is not installed (scripts/setup.sh installs krb5-user)")
        pytest.skip(f"MIT's {tool} is not installed")
    return path


class GssRealm:
    """The served realm and its files (see the module documentation)."""

    def __init__(self, directory: Path, *, mit_kinit: bool = True, max_life: Optional[int] = None) -> None:
        self.directory = directory
        self.kdc = ktix.Kdc(REALM, enctypes=[20, 18, 19, 17], max_life=max_life)
        self.kdc.add_principal(USER, PASSWORD)
        self.kdc.add_principal(f"HTTP/web.{DOMAIN}")
        self.kdc.add_principal(OTHER)
        for e in ENCTYPES:
            self.kdc.add_principal(service(e), enctypes=[e])
        self.server = self.kdc.serve("127.0.0.1:0")
        self.address = self.server.address
        self.krb5_conf = directory / "krb5.conf"
        self.keytab_path = directory / "service.keytab"
        self.ccache_path = directory / "alice.cc"
        self.rcache_dir = directory / "rcache"
        self.rcache_dir.mkdir(mode=0o700)
        self.krb5_conf.write_text(self.krb5_conf_text(), encoding="utf-8")
        # One keytab with every service's keys: MIT's and ktix's acceptors (no name) take any.
        entries = b""
        for name in (f"HTTP/web.{DOMAIN}", OTHER, *(service(e) for e in ENCTYPES)):
            data = self.kdc.keytab(name).to_bytes()
            entries += data[2:]  # each keytab: 05 02, then its entries
        self.keytab = ktix.Keytab.from_bytes(b"\x05\x02" + entries)
        self.keytab.save(self.keytab_path)
        self.env = {
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5CCNAME": f"FILE:{self.ccache_path}",
            "KRB5_KTNAME": f"FILE:{self.keytab_path}",
            "KRB5RCACHEDIR": str(self.rcache_dir),
        }
        if mit_kinit:
            self.kinit(self.ccache_path)
        else:
            self.client(ktix.CCache.file(self.ccache_path)).login(USER, PASSWORD)

    def krb5_conf_text(self, enctypes: Optional[list[int]] = None) -> str:
        """The krb5.conf; with `enctypes`, the three enctype lists pinned to them."""
        lines = [
            "[libdefaults]",
            f"    default_realm = {REALM}",
            "    dns_lookup_kdc = false",
            "    dns_lookup_realm = false",
            "    dns_canonicalize_hostname = false",
            "    rdns = false",
            "    forwardable = true",
            "    udp_preference_limit = 1",
        ]
        if enctypes:
            names = " ".join(ENCTYPES[e] for e in enctypes)
            lines += [f"    {key} = {names}" for key in ("default_tkt_enctypes", "default_tgs_enctypes", "permitted_enctypes")]
        lines += [
            "[realms]",
            f"    {REALM} = {{",
            f"        kdc = {self.address}",
            "    }",
            "[domain_realm]",
            f"    .{DOMAIN} = {REALM}",
            f"    {DOMAIN} = {REALM}",
        ]
        return "\n".join(lines) + "\n"

    def pinned(self, enctype: int) -> dict[str, str]:
        """The environment of a krb5.conf that pins `enctype` (``default_tkt_enctypes``,
        ``default_tgs_enctypes``, ``permitted_enctypes``) and of a FILE cache with alice's TGT got
        with it (by MIT's kinit): overrides for :meth:`environ`. Each enctype has its own file, so
        MIT's profile cache (keyed by file) never serves another enctype's settings."""
        conf = self.directory / f"krb5-e{enctype}.conf"
        cache = self.directory / f"alice-e{enctype}.cc"
        if not conf.exists():
            conf.write_text(self.krb5_conf_text([enctype]), encoding="utf-8")
            self.kinit(cache, conf)
        return {"KRB5_CONFIG": str(conf), "KRB5CCNAME": f"FILE:{cache}"}

    def kinit(self, ccache: Path, conf: Optional[Path] = None) -> None:
        """Alice's forwardable TGT into the FILE cache `ccache`, by MIT's kinit."""
        kinit = need_tool("kinit")
        env = {**os.environ, **self.env}
        if conf is not None:
            env["KRB5_CONFIG"] = str(conf)
        subprocess.run(
            [kinit, "-f", "-c", f"FILE:{ccache}", f"{USER}@{REALM}"],
            input=PASSWORD + "\n",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )

    def session_enctype(self, ccache: Path, principal: str) -> Optional[int]:
        """The session-key enctype of the ticket for `principal` in `ccache`, if there is one."""
        for c in ktix.CCache.file(ccache).credentials():
            if c.server == f"{principal}@{REALM}":
                return c.enctype
        return None

    def client(self, ccache: ktix.CCache) -> ktix.Client:
        return ktix.Client(REALM, kdc=self.address, ccache=ccache)

    @contextlib.contextmanager
    def environ(self, **overrides: str) -> Iterator[dict[str, str]]:
        """The realm's environment (and `overrides`) on ``os.environ`` inside the block."""
        env = {**self.env, **overrides}
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def stop(self) -> None:
        self.server.stop()


@contextlib.contextmanager
def gss_realm_running(*, mit_kinit: bool = True, max_life: Optional[int] = None) -> Iterator[GssRealm]:
    """A started :class:`GssRealm` in a new temporary directory (alice's TGT from MIT's kinit, or
    from ktix's client with ``mit_kinit=False``); stopped and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="ktix-gss-"))
    realm = None
    try:
        realm = GssRealm(directory, mit_kinit=mit_kinit, max_life=max_life)
        yield realm
    finally:
        if realm is not None:
            realm.stop()
        shutil.rmtree(directory, ignore_errors=True)


class Context(Protocol):
    """What MIT's (python-gssapi) and ktix's contexts have in common for establishment."""

    @property
    def complete(self) -> bool: ...

    def step(self, token: Optional[bytes]) -> Optional[bytes]: ...


SPNEGO_OID_DER = bytes.fromhex("06062b0601050502")
KRB5_OID_DER = bytes.fromhex("06092a864886f712010202")


def establish(initiator: Context, acceptor: Context, *, rounds: int = 4) -> list[bytes]:
    """Runs the context-establishment exchange; returns the tokens exchanged, in order."""
    token = initiator.step(None)
    sent: list[bytes] = []
    for _ in range(rounds):
        if token is None:
            break
        sent.append(token)
        token = acceptor.step(token)
        if token is None:
            break
        sent.append(token)
        token = initiator.step(token)
    assert token is None, "tokens left over after the exchange"
    assert initiator.complete, "initiator not complete"
    assert acceptor.complete, "acceptor not complete"
    return sent


def first_mech(tokens: list[bytes]) -> bytes:
    """The mechanism OID (DER) framing the initial context token (RFC 2743 §3.1)."""
    first = tokens[0]
    assert first[0] == 0x60, first[:8].hex()
    start = 2 if first[1] < 0x80 else 2 + (first[1] & 0x7F)
    return first[start : start + 2 + first[start + 1]]


def mit_initiator(
    gssapi: ModuleType,
    target: str,
    *,
    spnego: bool = False,
    delegate: bool = False,
    mutual: bool = True,
    channel_bindings: Optional[bytes] = None,
    creds: Any = None,
) -> Any:
    """An MIT initiator context for the host-based name `target` (``HTTP@host``)."""
    flags = REPLAY | SEQUENCE | CONF | INTEG | (MUTUAL if mutual else 0) | (DELEG if delegate else 0)
    mech = gssapi.OID.from_int_seq(SPNEGO_OID) if spnego else gssapi.MechType.kerberos
    cb = gssapi.raw.ChannelBindings(application_data=channel_bindings) if channel_bindings is not None else None
    return gssapi.SecurityContext(
        name=gssapi.Name(target, gssapi.NameType.hostbased_service),
        usage="initiate",
        flags=flags,
        mech=mech,
        channel_bindings=cb,
        creds=creds,
    )


def mit_acceptor(gssapi: ModuleType, *, channel_bindings: Optional[bytes] = None) -> Any:
    """An MIT acceptor context with the default acceptor credentials (``KRB5_KTNAME``).

    python-gssapi defers a failed step's error when MIT hands back an error token (the KRB-ERROR
    for the initiator) and raises it on the next call; here it raises at once, so a test sees the
    acceptor's own major status."""
    cb = gssapi.raw.ChannelBindings(application_data=channel_bindings) if channel_bindings is not None else None
    ctx = gssapi.SecurityContext(usage="accept", channel_bindings=cb)
    ctx.__DEFER_STEP_ERRORS__ = False
    return ctx
