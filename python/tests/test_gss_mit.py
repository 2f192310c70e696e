"""GSS-API interop with MIT's library (the PyPI ``gssapi`` package over Debian's libgssapi-krb5),
on a ktix KDC whose realm has all four AES enctypes (the harness: gss_realm.py).

First MIT on both sides (proves the harness: MIT's initiator and acceptor work against our KDC,
for each enctype); then MIT initiator → ktix acceptor and ktix initiator → MIT acceptor, each with
the raw krb5 mechanism and with SPNEGO, for each enctype: mutual authentication, delegation (the
acceptor's TGT gets a service ticket), channel bindings, wrap/unwrap with and without
confidentiality and MICs in both directions, tampered and replayed tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import ktix
from gss_realm import (
    CHANNEL_BOUND,
    CONF,
    DELEG,
    ENCTYPES,
    GSS_S_BAD_BINDINGS,
    INTEG,
    KRB5_OID,
    KRB5_OID_DER,
    MUTUAL,
    OTHER,
    REALM,
    SPNEGO_OID_DER,
    USER,
    GssRealm,
    establish,
    first_mech,
    gss_realm_running,
    hostbased,
    mit_acceptor,
    mit_initiator,
    need_gssapi,
    service,
)

ALICE = f"{USER}@{REALM}"
ALL = sorted(ENCTYPES)
MECHS = [pytest.param(False, id="krb5"), pytest.param(True, id="spnego")]


@pytest.fixture(scope="module")
def gss_realm() -> Iterator[GssRealm]:
    need_gssapi()
    with gss_realm_running() as realm:
        yield realm


@pytest.fixture
def gssapi(gss_realm: GssRealm) -> Iterator[ModuleType]:
    """The gssapi module, with the realm's environment set for the test."""
    module = need_gssapi()
    with gss_realm.environ():
        yield module


def _mech_of(ctx: Any) -> str:
    return ctx.mech.dotted_form  # type: ignore[no-any-return]


# ----- MIT ↔ MIT: the harness itself ------------------------------------------------------------


@pytest.mark.parametrize("spnego", MECHS)
@pytest.mark.parametrize("enctype", ALL)
def test_mit_to_mit_through_the_ktix_kdc(gss_realm: GssRealm, gssapi: ModuleType, enctype: int, spnego: bool) -> None:
    """MIT initiator ↔ MIT acceptor, the tickets from our KDC: mutual authentication, the
    session key of the enctype asked for, per-message tokens both ways."""
    ini = mit_initiator(gssapi, hostbased(enctype), spnego=spnego)
    acc = mit_acceptor(gssapi)
    tokens = establish(ini, acc)
    assert first_mech(tokens) == (SPNEGO_OID_DER if spnego else KRB5_OID_DER)
    assert str(acc.initiator_name) == ALICE
    assert int(ini.actual_flags) & MUTUAL and int(acc.actual_flags) & (CONF | INTEG) == CONF | INTEG
    assert _mech_of(ini) == _mech_of(acc) == KRB5_OID  # SPNEGO reports the negotiated mechanism
    assert gss_realm.session_enctype(gss_realm.ccache_path, service(enctype)) == enctype
    sealed = ini.wrap(b"to the acceptor", True)
    assert sealed.encrypted and acc.unwrap(sealed.message).message == b"to the acceptor"
    assert ini.unwrap(acc.wrap(b"back", False).message).message == b"back"
    acc.verify_signature(b"mic", ini.get_signature(b"mic"))
    ini.verify_signature(b"mic2", acc.get_signature(b"mic2"))


@pytest.mark.parametrize("enctype", ALL)
def test_mit_to_mit_delegation(gss_realm: GssRealm, gssapi: ModuleType, tmp_path: Path, enctype: int) -> None:
    """MIT's acceptor receives alice's TGT from our KDC's tickets and gets a service ticket with
    it; the stored cache is readable by ktix."""
    ini = mit_initiator(gssapi, hostbased(enctype), delegate=True)
    acc = mit_acceptor(gssapi)
    establish(ini, acc)
    assert int(acc.actual_flags) & DELEG
    delegated = acc.delegated_creds
    assert delegated is not None and str(delegated.name) == ALICE
    # The delegated TGT gets a ticket for another service (a TGS exchange with our KDC).
    onward = mit_initiator(gssapi, OTHER.replace("/", "@"), creds=delegated)
    assert onward.step() is not None
    cache = tmp_path / "delegated.cc"
    delegated.store(store={"ccache": f"FILE:{cache}"}, overwrite=True)
    servers = [c.server for c in ktix.CCache.file(cache).credentials()]
    assert f"krbtgt/{REALM}@{REALM}" in servers


def test_mit_acceptor_channel_bindings_behaviour(gss_realm: GssRealm, gssapi: ModuleType) -> None:
    """What MIT 1.20's acceptor does with channel bindings: a match sets GSS_C_CHANNEL_BOUND_FLAG;
    a mismatch is refused with GSS_S_BAD_BINDINGS (python-gssapi by default hands back MIT's
    KRB-ERROR token and raises the acceptor's error on its next call, which can look like an
    acceptance: see mit_acceptor); bindings on one side only are accepted without the flag."""
    ini = mit_initiator(gssapi, hostbased(20), channel_bindings=b"tls-unique:abc")
    acc = mit_acceptor(gssapi, channel_bindings=b"tls-unique:abc")
    establish(ini, acc)
    assert int(acc.actual_flags) & CHANNEL_BOUND
    ini = mit_initiator(gssapi, hostbased(20), channel_bindings=b"tls-unique:abc")
    acc = mit_acceptor(gssapi, channel_bindings=b"tls-unique:xyz")
    with pytest.raises(gssapi.exceptions.GSSError) as info:
        establish(ini, acc)
    assert info.value.maj_code == GSS_S_BAD_BINDINGS, info.value
    for ini_cb, acc_cb in ((None, b"tls-unique:xyz"), (b"tls-unique:abc", None)):
        ini = mit_initiator(gssapi, hostbased(20), channel_bindings=ini_cb)
        acc = mit_acceptor(gssapi, channel_bindings=acc_cb)
        establish(ini, acc)
        assert not int(acc.actual_flags) & CHANNEL_BOUND
