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
    DOMAIN,
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


# ----- MIT initiator → ktix acceptor ------------------------------------------------------------

CB = b"tls-server-end-point:\x01\x02\x03"


def _mit_exchanges_with(gssapi: ModuleType, mit: Any, ours: Any) -> None:
    """Per-message tokens both ways between an established MIT context and a ktix one: Wrap with
    and without confidentiality and MICs; then a tampered and a replayed token, each side."""
    for conf in (True, False):
        wrapped = mit.wrap(b"from MIT %d" % conf, conf)
        assert wrapped.encrypted is conf
        assert ours.unwrap(wrapped.message) == b"from MIT %d" % conf
        unwrapped = mit.unwrap(ours.wrap(b"from ktix %d" % conf, confidential=conf))
        assert unwrapped.message == b"from ktix %d" % conf and unwrapped.encrypted is conf
    ours.verify_mic(b"mit signed", mit.get_signature(b"mit signed"))
    mit.verify_signature(b"ktix signed", ours.get_mic(b"ktix signed"))
    # MIT's token, tampered, then replayed, at ktix.
    token = mit.wrap(b"once", True).message
    tampered = bytearray(token)
    tampered[-2] ^= 0x40
    with pytest.raises(ktix.gss.BadMicError):
        ours.unwrap(tampered)
    assert ours.unwrap(token) == b"once"
    with pytest.raises(ktix.gss.TokenSequenceError) as dup:
        ours.unwrap(token)
    assert dup.value.major == ktix.gss.GSS_S_DUPLICATE_TOKEN
    mic = mit.get_signature(b"m")
    with pytest.raises(ktix.gss.BadMicError):
        ours.verify_mic(b"M", mic)
    # ktix's token, tampered, then replayed, at MIT.
    token = ours.wrap(b"twice")
    tampered = bytearray(token)
    tampered[-2] ^= 0x40
    with pytest.raises(gssapi.exceptions.BadMICError):
        mit.unwrap(bytes(tampered))
    assert mit.unwrap(token).message == b"twice"
    with pytest.raises(gssapi.exceptions.DuplicateTokenError):
        mit.unwrap(token)
    with pytest.raises(gssapi.exceptions.BadMICError):
        mit.verify_signature(b"X", ours.get_mic(b"x"))


@pytest.mark.parametrize("spnego", MECHS)
@pytest.mark.parametrize("enctype", ALL)
def test_mit_initiator_ktix_acceptor(gss_realm: GssRealm, gssapi: ModuleType, enctype: int, spnego: bool) -> None:
    """MIT's initiator (mutual, delegation, channel bindings) → ktix's acceptor, for each
    enctype, raw krb5 and SPNEGO."""
    ini = mit_initiator(gssapi, hostbased(enctype), spnego=spnego, delegate=True, channel_bindings=CB)
    acc = ktix.gss.AcceptorContext(channel_bindings=CB)
    tokens = establish(ini, acc)
    assert first_mech(tokens) == (SPNEGO_OID_DER if spnego else KRB5_OID_DER)
    assert gss_realm.session_enctype(gss_realm.ccache_path, service(enctype)) == enctype
    # Mutual authentication: MIT's initiator completed on our AP-REP.
    assert int(ini.actual_flags) & MUTUAL
    assert acc.initiator_name == ALICE and acc.target_name == f"{service(enctype)}@{REALM}"
    assert acc.mech == (ktix.gss.SPNEGO_MECH if spnego else ktix.gss.KRB5_MECH)
    assert acc.flags & (MUTUAL | CONF | INTEG | DELEG) == MUTUAL | CONF | INTEG | DELEG
    assert acc.flags & CHANNEL_BOUND
    # Delegation: the forwarded TGT gets a service ticket from our KDC.
    delegated = acc.delegated
    assert delegated is not None and delegated.principal == ALICE
    ticket = gss_realm.client(delegated).service_ticket(OTHER)
    assert ticket.server == f"{OTHER}@{REALM}"
    _mit_exchanges_with(gssapi, ini, acc)


@pytest.mark.parametrize("spnego", MECHS)
def test_mit_initiator_mismatched_bindings_refused_by_ktix(gss_realm: GssRealm, gssapi: ModuleType, spnego: bool) -> None:
    ini = mit_initiator(gssapi, hostbased(20), spnego=spnego, channel_bindings=CB)
    acc = ktix.gss.AcceptorContext(channel_bindings=CB + b"!")
    with pytest.raises(ktix.gss.BadBindingsError) as info:
        acc.step(ini.step())
    assert info.value.major == GSS_S_BAD_BINDINGS
    if not spnego:
        # The KRB-ERROR token for the initiator (it asked for mutual authentication): MIT's
        # initiator turns it into its error.
        assert info.value.token is not None and info.value.token.split(KRB5_OID_DER, 1)[1][:2] == b"\x03\x00"
        with pytest.raises(gssapi.exceptions.GSSError):
            ini.step(info.value.token)
    # No bindings from MIT: accepted, not channel-bound (as MIT's acceptor does).
    ini = mit_initiator(gssapi, hostbased(20), spnego=spnego)
    acc = ktix.gss.AcceptorContext(channel_bindings=CB)
    establish(ini, acc)
    assert not acc.flags & CHANNEL_BOUND and not acc.flags & DELEG and acc.delegated is None


def test_mit_initiator_without_mutual_ktix_acceptor(gss_realm: GssRealm, gssapi: ModuleType) -> None:
    ini = mit_initiator(gssapi, hostbased(18), mutual=False)
    acc = ktix.gss.AcceptorContext()
    tokens = establish(ini, acc)
    assert len(tokens) == 1 and not acc.flags & MUTUAL
    assert acc.unwrap(ini.wrap(b"one way", True).message) == b"one way"


# ----- ktix initiator → MIT acceptor ------------------------------------------------------------


@pytest.mark.parametrize("spnego", MECHS)
@pytest.mark.parametrize("enctype", ALL)
def test_ktix_initiator_mit_acceptor(gss_realm: GssRealm, gssapi: ModuleType, enctype: int, spnego: bool) -> None:
    """ktix's initiator (mutual, delegation, channel bindings) → MIT's acceptor, for each
    enctype, raw krb5 and SPNEGO."""
    ini = ktix.gss.InitiatorContext(hostbased(enctype), spnego=spnego, delegate=True, channel_bindings=CB)
    acc = mit_acceptor(gssapi, channel_bindings=CB)
    tokens = establish(ini, acc)
    assert first_mech(tokens) == (SPNEGO_OID_DER if spnego else KRB5_OID_DER)
    assert gss_realm.session_enctype(gss_realm.ccache_path, service(enctype)) == enctype
    assert str(acc.initiator_name) == ALICE
    # Mutual authentication: our initiator completed on MIT's AP-REP (with MIT's acceptor subkey,
    # which the per-message tokens below then use).
    assert ini.flags & MUTUAL and int(acc.actual_flags) & MUTUAL
    flags = int(acc.actual_flags)
    assert flags & (CONF | INTEG | DELEG) == CONF | INTEG | DELEG
    assert flags & CHANNEL_BOUND, "MIT's acceptor sets the flag on matching bindings"
    assert ini.target_name == f"{service(enctype)}@{REALM}"
    # Delegation: MIT's acceptor uses the forwarded TGT for a ticket to another service.
    delegated = acc.delegated_creds
    assert delegated is not None and str(delegated.name) == ALICE
    onward = mit_initiator(gssapi, OTHER.replace("/", "@"), creds=delegated)
    assert onward.step() is not None
    _mit_exchanges_with(gssapi, acc, ini)


@pytest.mark.parametrize("spnego", MECHS)
def test_ktix_initiator_mismatched_bindings_refused_by_mit(gss_realm: GssRealm, gssapi: ModuleType, spnego: bool) -> None:
    ini = ktix.gss.InitiatorContext(hostbased(20), spnego=spnego, channel_bindings=CB)
    acc = mit_acceptor(gssapi, channel_bindings=CB + b"!")
    with pytest.raises(gssapi.exceptions.GSSError) as info:
        acc.step(ini.step(None))
    assert info.value.maj_code == GSS_S_BAD_BINDINGS
    if not spnego:
        # MIT's KRB-ERROR token for our initiator: a GssError there too.
        assert info.value.token
        with pytest.raises(ktix.gss.GssError):
            ini.step(info.value.token)
    # Bindings from ktix that MIT's acceptor was not given: accepted, not channel-bound.
    ini = ktix.gss.InitiatorContext(hostbased(20), spnego=spnego, channel_bindings=CB)
    acc = mit_acceptor(gssapi)
    establish(ini, acc)
    assert not int(acc.actual_flags) & CHANNEL_BOUND and not int(acc.actual_flags) & DELEG


def test_ktix_initiator_stores_mit_delegated_cache(gss_realm: GssRealm, gssapi: ModuleType, tmp_path: Path) -> None:
    """MIT's acceptor stores the TGT ktix delegated into a FILE cache; ktix reads it and uses it."""
    ini = ktix.gss.InitiatorContext(hostbased(19), delegate=True)
    acc = mit_acceptor(gssapi)
    establish(ini, acc)
    cache = tmp_path / "delegated.cc"
    acc.delegated_creds.store(store={"ccache": f"FILE:{cache}"}, overwrite=True)
    stored = ktix.CCache.file(cache)
    assert stored.principal == ALICE
    assert gss_realm.client(stored).service_ticket(OTHER).server == f"{OTHER}@{REALM}"


def test_mit_rejects_ktix_context_token_replay(gss_realm: GssRealm, gssapi: ModuleType) -> None:
    ini = ktix.gss.InitiatorContext(hostbased(17))
    token = ini.step(None)
    mit_acceptor(gssapi).step(token)
    with pytest.raises(gssapi.exceptions.GSSError):
        mit_acceptor(gssapi).step(token)


def test_unknown_service_gives_mits_major_and_minor(gss_realm: GssRealm, gssapi: ModuleType) -> None:
    """The KDC's KDC_ERR_S_PRINCIPAL_UNKNOWN during the first step: the same major (GSS_S_FAILURE)
    and minor (ERROR_TABLE_BASE_krb5 + 7) from ktix as from MIT's library."""
    with pytest.raises(gssapi.exceptions.GSSError) as theirs:
        mit_initiator(gssapi, "HTTP@nohost.ktix.test").step()
    with pytest.raises(ktix.gss.GssError) as ours:
        ktix.gss.InitiatorContext("HTTP@nohost.ktix.test").step(None)
    assert (ours.value.major, ours.value.minor) == (theirs.value.maj_code, theirs.value.min_code)
    assert ours.value.name == "KDC_ERR_S_PRINCIPAL_UNKNOWN"


# ----- one service with keys of all four enctypes, the enctype pinned in krb5.conf ---------------


@pytest.mark.parametrize("enctype", ALL)
def test_pinned_enctype_both_ways_with_a_multi_key_service(gss_realm: GssRealm, enctype: int) -> None:
    """``HTTP/web.ktix.test`` has keys of all four enctypes; a krb5.conf with
    default_tkt/tgs_enctypes and permitted_enctypes set to one enctype (a file per enctype, and a
    TGT got with it) makes the session key that enctype, for MIT's initiator and for ktix's (so
    ktix reads the enctype lists of krb5.conf as MIT does), and the acceptor on the other side
    picks the right key from the keytab."""
    gssapi = need_gssapi()
    target = f"HTTP@web.{DOMAIN}"
    with gss_realm.environ(**gss_realm.pinned(enctype)) as env:
        cache = Path(env["KRB5CCNAME"].removeprefix("FILE:"))
        # ktix's initiator first, so its own TGS request (not a ticket MIT cached) is checked.
        assert gss_realm.session_enctype(cache, f"HTTP/web.{DOMAIN}") is None
        ours = ktix.gss.InitiatorContext(target, spnego=True)
        first = ours.step(None)
        assert first is not None
        assert gss_realm.session_enctype(cache, f"HTTP/web.{DOMAIN}") == enctype
        ini = mit_initiator(gssapi, target, spnego=True)
        acc = ktix.gss.AcceptorContext()
        establish(ini, acc)
        assert acc.initiator_name == ALICE and acc.target_name == f"HTTP/web.{DOMAIN}@{REALM}"
        assert acc.unwrap(ini.wrap(b"pinned", True).message) == b"pinned"
        assert ini.unwrap(acc.wrap(b"back")).message == b"back"
    # MIT's acceptor under the realm's unpinned krb5.conf: its permitted_enctypes must allow the
    # ticket's enctype (the service key the KDC chose, aes256-sha2), as with MIT's own KDC.
    with gss_realm.environ():
        theirs = mit_acceptor(gssapi)
        reply = theirs.step(first)
        assert reply is not None and ours.step(reply) is None
        assert ours.complete and theirs.complete
        assert str(theirs.initiator_name) == ALICE
        assert theirs.unwrap(ours.wrap(b"pinned")).message == b"pinned"
        assert ours.unwrap(theirs.wrap(b"back", True).message) == b"back"
