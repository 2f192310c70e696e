"""Arguments of the wrong type raise TypeError (never a crash); wrong values raise
InvalidArgumentError (a ValueError)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import ktix

from conftest import SERVICE, Served


def _bad_type_calls(served: Served, tmp_path: Path) -> list[tuple[str, Callable[[], object]]]:
    kdc, keytab = served.kdc, served.keytab
    client = served.logged_in()
    _, ctx = client.ap_req(SERVICE)
    acceptor = ktix.Acceptor(keytab)
    return [
        ("Kdc(realm=int)", lambda: ktix.Kdc(123)),  # type: ignore[arg-type]
        ("Kdc(db=int)", lambda: ktix.Kdc("R", db=5)),  # type: ignore[arg-type]
        ("Kdc(max_life=str)", lambda: ktix.Kdc("R", max_life="1h")),  # type: ignore[arg-type]
        ("add_principal(None)", lambda: kdc.add_principal(None)),  # type: ignore[arg-type]
        ("add_principal(password=bytes)", lambda: kdc.add_principal("x", b"pw")),  # type: ignore[arg-type]
        ("keytab(int)", lambda: kdc.keytab(1)),  # type: ignore[arg-type]
        ("handle(str)", lambda: kdc.handle("AS-REQ")),  # type: ignore[arg-type]
        ("serve(int)", lambda: kdc.serve(88)),  # type: ignore[arg-type]
        ("serve([int])", lambda: kdc.serve([88])),  # type: ignore[list-item]
        ("Keytab.load(None)", lambda: ktix.Keytab.load(None)),  # type: ignore[arg-type]
        ("Keytab.from_bytes(str)", lambda: ktix.Keytab.from_bytes("x")),  # type: ignore[arg-type]
        ("Keytab.save(bytes-list)", lambda: keytab.save([tmp_path])),  # type: ignore[arg-type]
        ("CCache.file(int)", lambda: ktix.CCache.file(3)),  # type: ignore[arg-type]
        ("CCache.resolve(None)", lambda: ktix.CCache.resolve(None)),  # type: ignore[arg-type]
        ("Client(realm=int)", lambda: ktix.Client(1, kdc="127.0.0.1:88")),  # type: ignore[arg-type]
        ("Client(kdc=int)", lambda: ktix.Client("R", kdc=88)),  # type: ignore[arg-type]
        ("Client(ccache=str)", lambda: ktix.Client("R", kdc="h:88", ccache="MEMORY:x")),  # type: ignore[arg-type]
        ("Client(ccache=Keytab)", lambda: ktix.Client("R", kdc="h:88", ccache=keytab)),  # type: ignore[arg-type]
        ("login(bytes)", lambda: client.login(b"alice", "pw")),  # type: ignore[arg-type]
        ("login(password=None)", lambda: client.login("alice", None)),  # type: ignore[arg-type]
        ("login_with_keytab(str)", lambda: client.login_with_keytab("alice", "kt")),  # type: ignore[arg-type]
        ("ap_req(None)", lambda: client.ap_req(None)),  # type: ignore[arg-type]
        ("ap_req(mutual=str)", lambda: client.ap_req(SERVICE, mutual="yes")),  # type: ignore[arg-type]
        ("service_ticket(bytes)", lambda: client.service_ticket(b"x")),  # type: ignore[arg-type]
        ("verify(str)", lambda: ctx.verify("AP-REP")),  # type: ignore[arg-type]
        ("verify(int)", lambda: ctx.verify(5)),  # type: ignore[arg-type]
        ("Acceptor(str)", lambda: ktix.Acceptor("keytab")),  # type: ignore[arg-type]
        ("Acceptor(None)", lambda: ktix.Acceptor(None)),  # type: ignore[arg-type]
        ("Acceptor(service=int)", lambda: ktix.Acceptor(keytab, service=5)),  # type: ignore[arg-type]
        ("Acceptor(clock_skew=float)", lambda: ktix.Acceptor(keytab, clock_skew=1.5)),  # type: ignore[arg-type]
        ("accept(str)", lambda: acceptor.accept("AP-REQ")),  # type: ignore[arg-type]
        ("accept(None)", lambda: acceptor.accept(None)),  # type: ignore[arg-type]
        ("accept(list)", lambda: acceptor.accept([1, 2, 3])),  # type: ignore[arg-type]
        ("error_name(str)", lambda: ktix.error_name("37")),  # type: ignore[arg-type]
        ("enctype_name(None)", lambda: ktix.enctype_name(None)),  # type: ignore[arg-type]
        ("enctype_number(int)", lambda: ktix.enctype_number(18)),  # type: ignore[arg-type]
        ("too many arguments", lambda: ktix.CCache.memory(1)),  # type: ignore[call-arg]
        ("unknown keyword", lambda: ktix.Kdc("R", nonsense=1)),  # type: ignore[call-arg]
    ]


def test_wrong_argument_types_raise_type_error(served: Served, tmp_path: Path) -> None:
    for what, call in _bad_type_calls(served, tmp_path):
        with pytest.raises(TypeError):
            call()
            pytest.fail(f"{what} did not raise")


def test_objects_cannot_be_made_or_changed_the_wrong_way(served: Served) -> None:
    with pytest.raises(TypeError):
        ktix.KdcServer()
    with pytest.raises(TypeError):
        ktix.Accepted()
    with pytest.raises(TypeError):
        ktix.ApContext()
    with pytest.raises(AttributeError):
        served.kdc.realm = "OTHER"  # type: ignore[misc]
    with pytest.raises(TypeError):
        type("Sub", (ktix.Kdc,), {})


def test_wrong_values_raise_invalid_argument_errors(served: Served) -> None:
    keytab = served.keytab
    calls: list[Callable[[], object]] = [
        lambda: ktix.Acceptor(keytab, replay_capacity=0),
        lambda: ktix.Acceptor(keytab, replay_capacity=-1),
        lambda: ktix.Acceptor(keytab, clock_skew=-1),
        lambda: ktix.Acceptor(keytab, service="a@b@c"),
        lambda: ktix.Client("R", kdc=[]),
        lambda: ktix.Client("", kdc="127.0.0.1:88"),
        lambda: ktix.Client("R", kdc="127.0.0.1:88", ticket_lifetime=0),
        lambda: served.kdc.serve("not an address"),
        lambda: served.kdc.serve("127.0.0.1:0", workers=-2),
        lambda: served.kdc.serve("127.0.0.1:0", workers=0),
        lambda: ktix.Kdc("R", max_life=0),
        lambda: ktix.Kdc("R", clock_skew=-300),
        lambda: ktix.Client("R", kdc="127.0.0.1:88", renew_lifetime=-5),
    ]
    for call in calls:
        with pytest.raises(ktix.InvalidArgumentError):
            call()


def test_bytes_like_inputs(served: Served) -> None:
    client = served.logged_in()
    ap_req, ctx = client.ap_req(SERVICE)
    accepted = ktix.Acceptor(served.keytab).accept(bytearray(ap_req))
    assert accepted.ap_rep is not None
    ctx.verify(bytearray(accepted.ap_rep))
    assert ktix.Keytab.from_bytes(bytearray(served.keytab.to_bytes())).entries() == served.keytab.entries()
