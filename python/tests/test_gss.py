"""ktix.gss from Python, ktix on both sides: establishment with the raw krb5 mechanism and SPNEGO
for each enctype, names, flags, delegation, channel bindings, per-message tokens, the GssError
family for tampered, replayed, reordered, truncated and foreign tokens, calls before completion,
and arguments of the wrong type. (MIT on the other side: test_gss_mit.py.)"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ktix
import ktix.gss as gss
from gss_realm import (
    ENCTYPES,
    OTHER,
    REALM,
    USER,
    GssRealm,
    establish,
    first_mech,
    gss_realm_running,
    hostbased,
    service,
    KRB5_OID_DER,
    SPNEGO_OID_DER,
)

ALICE = f"{USER}@{REALM}"
ALL = sorted(ENCTYPES)
MECHS = [pytest.param(False, id="krb5"), pytest.param(True, id="spnego")]


@pytest.fixture(scope="module")
def realm() -> Iterator[GssRealm]:
    with gss_realm_running(mit_kinit=False) as r:
        yield r


@pytest.fixture
def env(realm: GssRealm) -> Iterator[GssRealm]:
    """The realm with its environment (KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME) set."""
    with realm.environ():
        yield realm


def _pair(
    enctype: int = 20, *, spnego: bool = False, delegate: bool = False, cb: object = None, acc_cb: object = None
) -> tuple[gss.InitiatorContext, gss.AcceptorContext]:
    ini = gss.InitiatorContext(hostbased(enctype), spnego=spnego, delegate=delegate, channel_bindings=cb)
    acc = gss.AcceptorContext(channel_bindings=acc_cb)
    return ini, acc


def _established(enctype: int = 20, **kw: object) -> tuple[gss.InitiatorContext, gss.AcceptorContext]:
    ini, acc = _pair(enctype, **kw)  # type: ignore[arg-type]
    establish(ini, acc)
    return ini, acc


@pytest.mark.parametrize("spnego", MECHS)
@pytest.mark.parametrize("enctype", ALL)
def test_ktix_to_ktix(env: GssRealm, enctype: int, spnego: bool) -> None:
    ini, acc = _pair(enctype, spnego=spnego)
    assert not ini.complete and not acc.complete and ini.is_initiator and not acc.is_initiator
    tokens = establish(ini, acc)
    assert first_mech(tokens) == (SPNEGO_OID_DER if spnego else KRB5_OID_DER)
    assert acc.initiator_name == ini.initiator_name == ALICE
    assert ini.target_name == acc.target_name == f"{service(enctype)}@{REALM}"
    assert ini.mech == acc.mech == (gss.SPNEGO_MECH if spnego else gss.KRB5_MECH)
    for ctx in (ini, acc):
        assert ctx.flags & (gss.MUTUAL | gss.CONF | gss.INTEG) == gss.MUTUAL | gss.CONF | gss.INTEG
        assert not ctx.flags & gss.DELEG
        expires = ctx.expires
        assert isinstance(expires, datetime) and expires > datetime.now(timezone.utc)
    assert env.session_enctype(env.ccache_path, service(enctype)) == enctype
    # Per-message tokens both ways, sealed and integrity-only.
    for sender, receiver in ((ini, acc), (acc, ini)):
        for conf in (True, False):
            message = b"x" * 1000 + bytes([conf])
            token = sender.wrap(message, confidential=conf)
            assert (message in token) is not conf, "sealed data must not appear in the token"
            assert receiver.unwrap(token) == message
        assert receiver.verify_mic(b"signed", sender.get_mic(b"signed")) is None
    assert acc.delegated is None


def test_wrap_size_limit_is_exact(env: GssRealm) -> None:
    for enctype in ALL:
        ini, acc = _established(enctype)
        for conf in (True, False):
            limit = ini.wrap_size_limit(1000, confidential=conf)
            assert 0 < limit < 1000
            assert len(ini.wrap(b"a" * limit, confidential=conf)) <= 1000
            assert len(ini.wrap(b"a" * (limit + 1), confidential=conf)) > 1000


@pytest.mark.parametrize("spnego", MECHS)
def test_delegation_gives_the_acceptor_a_usable_tgt(env: GssRealm, spnego: bool) -> None:
    ini, acc = _established(20, spnego=spnego, delegate=True)
    assert acc.flags & gss.DELEG and ini.flags & gss.DELEG
    delegated = acc.delegated
    assert isinstance(delegated, ktix.CCache)
    assert delegated.principal == ALICE
    assert f"krbtgt/{REALM}@{REALM}" in [c.server for c in delegated.credentials()]
    # The acceptor, as alice, gets a ticket for another service with it (a TGS exchange).
    client = env.client(delegated)
    ticket = client.service_ticket(OTHER)
    assert ticket.server == f"{OTHER}@{REALM}"
    # And it can start a context of its own as alice.
    onward = gss.InitiatorContext(OTHER.replace("/", "@"), delegated)
    back = gss.AcceptorContext(env.keytab)
    establish(onward, back)
    assert back.initiator_name == ALICE


@pytest.mark.parametrize("spnego", MECHS)
def test_channel_bindings(env: GssRealm, spnego: bool) -> None:
    ini, acc = _established(spnego=spnego, cb=b"tls-server-end-point:abc", acc_cb=bytearray(b"tls-server-end-point:abc"))
    assert acc.flags & gss.CHANNEL_BOUND
    # The same bindings given as a ChannelBindings, addresses included.
    full = gss.ChannelBindings(b"app", initiator_address_type=2, initiator_address=b"\x7f\x00\x00\x01")
    _established(spnego=spnego, cb=full, acc_cb=full)
    # Mismatched: refused by the acceptor with GSS_S_BAD_BINDINGS.
    ini, acc = _pair(spnego=spnego, cb=b"tls-server-end-point:abc", acc_cb=b"tls-server-end-point:xyz")
    with pytest.raises(gss.BadBindingsError) as info:
        acc.step(ini.step(None))
    assert info.value.major == gss.GSS_S_BAD_BINDINGS and isinstance(info.value, ktix.KtixError)
    ini, acc = _pair(spnego=spnego, cb=full, acc_cb=gss.ChannelBindings(b"app"))
    with pytest.raises(gss.BadBindingsError):
        acc.step(ini.step(None))
    # Bindings on the acceptor only (an initiator that sent none): accepted, not channel-bound,
    # as MIT's acceptor does.
    ini, acc = _established(spnego=spnego, acc_cb=b"tls-server-end-point:abc")
    assert not acc.flags & gss.CHANNEL_BOUND


def test_tampered_replayed_reordered_and_gapped_tokens(env: GssRealm) -> None:
    """With replay and sequence detection (always asked for): a modified token is GSS_S_BAD_SIG;
    a replay GSS_S_DUPLICATE_TOKEN; a token after a missing one GSS_S_GAP_TOKEN; the missing one
    arriving late GSS_S_UNSEQ_TOKEN (MIT's answers)."""
    ini, acc = _established(19)
    t1, t2, t3 = (ini.wrap(b"message %d" % i) for i in range(3))
    tampered = bytearray(t1)
    tampered[-1] ^= 1
    with pytest.raises(gss.BadMicError) as bad:
        acc.unwrap(tampered)
    assert bad.value.major == gss.GSS_S_BAD_SIG
    assert acc.unwrap(t1) == b"message 0"
    with pytest.raises(gss.TokenSequenceError) as dup:
        acc.unwrap(t1)
    assert dup.value.major == gss.GSS_S_DUPLICATE_TOKEN
    with pytest.raises(gss.TokenSequenceError) as gap:
        acc.unwrap(t3)
    assert gap.value.major == gss.GSS_S_GAP_TOKEN
    with pytest.raises(gss.TokenSequenceError) as unseq:
        acc.unwrap(t2)
    assert unseq.value.major == gss.GSS_S_UNSEQ_TOKEN
    with pytest.raises(gss.TokenSequenceError) as dup:
        acc.unwrap(t2)
    assert dup.value.major == gss.GSS_S_DUPLICATE_TOKEN


def test_out_of_window_token_is_old(env: GssRealm) -> None:
    """A token older than the receive window (64 tokens) cannot be checked for replay:
    GSS_S_OLD_TOKEN."""
    ini, acc = _established(20)
    tokens = [ini.wrap(b"%d" % i) for i in range(80)]
    assert acc.unwrap(tokens[0]) == b"0"
    with pytest.raises(gss.TokenSequenceError) as gap:
        acc.unwrap(tokens[70])
    assert gap.value.major == gss.GSS_S_GAP_TOKEN
    for i in range(71, 80):
        assert acc.unwrap(tokens[i]) == b"%d" % i
    with pytest.raises(gss.TokenSequenceError) as old:
        acc.unwrap(tokens[1])
    assert old.value.major == gss.GSS_S_OLD_TOKEN


def test_contexts_are_shared_between_threads(env: GssRealm) -> None:
    """Per-message calls from several threads at once on one context: every token gets its own
    sequence number (delivered in that order they all verify)."""
    ini, acc = _established(18)

    def work(k: int) -> list[bytes]:
        return [ini.wrap(b"thread %d message %d" % (k, i)) for i in range(50)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = [t for batch in pool.map(work, range(4)) for t in batch]
    # RFC 4121 §4.2.6.2: the Wrap token header's SND_SEQ, bytes 8..16.
    tokens.sort(key=lambda t: int.from_bytes(t[8:16], "big"))
    assert len({t[8:16] for t in tokens}) == 200
    received = {acc.unwrap(t) for t in tokens}
    assert received == {b"thread %d message %d" % (k, i) for k in range(4) for i in range(50)}


def test_context_expires_with_its_ticket() -> None:
    """Per-message calls after the ticket's end time: GSS_S_CONTEXT_EXPIRED."""
    with gss_realm_running(mit_kinit=False, max_life=4) as short, short.environ():
        ini, acc = _established(20)
        expires = acc.expires
        assert expires is not None and expires <= datetime.now(timezone.utc) + timedelta(seconds=5)
        acc.unwrap(ini.wrap(b"still valid"))
        time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 1.1)
        with pytest.raises(gss.ContextExpiredError) as info:
            ini.wrap(b"too late")
        assert info.value.major == gss.GSS_S_CONTEXT_EXPIRED
        with pytest.raises(gss.ContextExpiredError):
            acc.get_mic(b"too late")


def test_mic_tampered_and_replayed(env: GssRealm) -> None:
    ini, acc = _established(17)
    mic = acc.get_mic(b"data")
    with pytest.raises(gss.BadMicError):
        ini.verify_mic(b"datA", mic)
    ini.verify_mic(b"data", mic)
    with pytest.raises(gss.TokenSequenceError) as dup:
        ini.verify_mic(b"data", mic)
    assert dup.value.major == gss.GSS_S_DUPLICATE_TOKEN
    # A token the initiator sent itself is not the acceptor's (direction flag): refused.
    own = ini.get_mic(b"data")
    with pytest.raises(gss.GssError):
        ini.verify_mic(b"data", own)


def test_truncated_and_foreign_tokens_raise_never_crash(env: GssRealm) -> None:
    ini, acc = _established(20)
    token = ini.wrap(b"some data to protect")
    for cut in range(len(token)):
        with pytest.raises(gss.GssError):
            acc.unwrap(token[:cut])
    for junk in (b"", b"\x00", b"\x60\x80", b"\x05\x04" + b"\xff" * 14, bytes(range(256))):
        with pytest.raises(gss.GssError):
            acc.unwrap(junk)
        with pytest.raises(gss.GssError):
            acc.verify_mic(b"x", junk)
    # Context tokens: garbage, truncation, another mechanism.
    fresh_ini, fresh_acc = _pair(20)
    first = fresh_ini.step(None)
    assert first is not None
    for bad in (b"", b"garbage", first[: len(first) // 2], b"\x60\x0b\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x03"):
        with pytest.raises(gss.GssError):
            gss.AcceptorContext().step(bad)
    with pytest.raises(gss.DefectiveTokenError):
        fresh_acc.step(None)


def test_spnego_token_refused_by_a_krb5_only_acceptor(env: GssRealm) -> None:
    ini = gss.InitiatorContext(hostbased(20), spnego=True)
    acc = gss.AcceptorContext(spnego=False)
    with pytest.raises(gss.GssError) as info:
        acc.step(ini.step(None))
    assert info.value.major in (gss.GSS_S_BAD_MECH, gss.GSS_S_DEFECTIVE_TOKEN)


def test_calls_before_completion_raise_no_context(env: GssRealm) -> None:
    ini, acc = _pair(20)
    for call in (lambda: ini.wrap(b"x"), lambda: acc.unwrap(b"x"), lambda: ini.get_mic(b"x"), lambda: acc.verify_mic(b"x", b"y")):
        with pytest.raises(gss.NoContextError) as info:
            call()
        assert info.value.major == gss.GSS_S_NO_CONTEXT
    assert acc.initiator_name is None and acc.delegated is None


def test_replayed_context_token_is_refused(env: GssRealm) -> None:
    ini, acc = _pair(20)
    token = ini.step(None)
    acc.step(token)
    with pytest.raises(gss.GssError) as info:
        gss.AcceptorContext().step(token)
    assert info.value.name == "KRB_AP_ERR_REPEAT"


def test_bad_names(env: GssRealm) -> None:
    for bad in ("", "HTTP@", "@host", "a/b@c@d"):
        with pytest.raises(gss.GssError) as info:
            gss.InitiatorContext(bad)
        assert info.value.major == gss.GSS_S_BAD_NAME, bad


def test_no_credentials(env: GssRealm, tmp_path: Path) -> None:
    with pytest.raises(gss.NoCredError) as info:
        gss.InitiatorContext(hostbased(20), ktix.CCache.file(tmp_path / "empty"))
    assert info.value.major == gss.GSS_S_NO_CRED
    with pytest.raises(gss.GssError):
        gss.InitiatorContext(hostbased(20), f"FILE:{tmp_path / 'missing'}")
    with pytest.raises(gss.GssError):
        gss.AcceptorContext(str(tmp_path / "no.keytab")).step(gss.InitiatorContext(hostbased(20)).step(None))


def test_acceptor_without_the_service_key(env: GssRealm) -> None:
    ini = gss.InitiatorContext(hostbased(20))
    only_other = env.kdc.keytab(OTHER)
    with pytest.raises(gss.GssError) as info:
        gss.AcceptorContext(only_other).step(ini.step(None))
    assert info.value.major == gss.GSS_S_FAILURE or info.value.major == gss.GSS_S_NO_CRED


def test_explicit_ccache_and_keytab_arguments(env: GssRealm) -> None:
    for ccache in (ktix.CCache.file(env.ccache_path), f"FILE:{env.ccache_path}", env.ccache_path):
        for keytab in (env.keytab, str(env.keytab_path), env.keytab_path):
            ini = gss.InitiatorContext(f"HTTP/e20.ktix.test@{REALM}", ccache)
            acc = gss.AcceptorContext(keytab)
            establish(ini, acc)
            assert acc.initiator_name == ALICE


def test_bytes_like_arguments_and_wrong_types(env: GssRealm) -> None:
    ini, acc = _pair(20)
    token = ini.step(None)
    assert token is not None
    answer = acc.step(memoryview(bytearray(token)))
    assert answer is not None
    assert ini.step(bytearray(answer)) is None and ini.complete and acc.complete
    assert acc.unwrap(memoryview(ini.wrap(bytearray(b"abc")))) == b"abc"
    acc.verify_mic(memoryview(b"m"), bytearray(ini.get_mic(memoryview(b"m"))))
    for bad in ("text", 1, 1.5, [1, 2], object()):
        with pytest.raises(TypeError):
            ini.wrap(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            acc.unwrap(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            acc.verify_mic(b"x", bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            gss.AcceptorContext().step(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gss.InitiatorContext(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gss.InitiatorContext(hostbased(20), 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gss.InitiatorContext(hostbased(20), channel_bindings=42)
    with pytest.raises(TypeError):
        gss.AcceptorContext(3.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ini.wrap(b"x", confidential="yes")  # type: ignore[arg-type]


def test_gss_error_family_and_pickling() -> None:
    from ktix._errors import _from_gss

    err = _from_gss(1101, "KTIX_ERR_GSS_BAD_MIC", "bad", gss.GSS_S_BAD_SIG, 1101)
    assert type(err) is gss.BadMicError and isinstance(err, ktix.GssError) and isinstance(err, ktix.KtixError)
    assert "GSS major 0x00060000" in str(err)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is gss.BadMicError and (copy.major, copy.minor, copy.code) == (gss.GSS_S_BAD_SIG, 1101, 1101)
    assert type(_from_gss(1102, "KTIX_ERR_GSS_DUPLICATE_TOKEN", "dup", gss.GSS_S_DUPLICATE_TOKEN, 1102)) is (
        gss.TokenSequenceError
    )
    assert type(_from_gss(37, "KRB_AP_ERR_SKEW", "skew", gss.GSS_S_FAILURE, 0)) is gss.GssError
    assert ktix.gss.GssError is ktix.GssError


def test_the_readme_example_runs(env: GssRealm, capsys: pytest.CaptureFixture[str]) -> None:
    """README.md's ``ktix.gss`` example, exactly as written there, against the realm."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### GSS-API from Python (`ktix.gss`)", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == f"{ALICE} 2\n"


def test_without_mutual_and_steps_after_completion(env: GssRealm) -> None:
    ini = gss.InitiatorContext(hostbased(20), mutual=False)
    acc = gss.AcceptorContext()
    assert len(establish(ini, acc)) == 1  # one token: the AP-REQ, no AP-REP
    assert not ini.flags & gss.MUTUAL and not acc.flags & gss.MUTUAL
    assert acc.unwrap(ini.wrap(b"one way")) == b"one way"
    assert "complete" in repr(ini) and ALICE in repr(acc)
    for late in (lambda: ini.step(None), lambda: ini.step(b"x"), lambda: acc.step(b"x")):
        with pytest.raises(gss.GssError) as info:
            late()
        assert info.value.major == gss.GSS_S_DEFECTIVE_TOKEN


def test_many_contexts_in_parallel_threads(env: GssRealm) -> None:
    """Contexts established and used from several threads at once (the GIL released in step and
    the per-message calls): every one completes with the right peer."""

    def work(k: int) -> int:
        for i in range(5):
            ini = gss.InitiatorContext(hostbased(ALL[(k + i) % 4]), spnego=bool(i % 2))
            acc = gss.AcceptorContext(env.keytab)
            establish(ini, acc)
            assert acc.initiator_name == ALICE
            assert acc.unwrap(ini.wrap(b"%d/%d" % (k, i))) == b"%d/%d" % (k, i)
        return 5

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(work, range(8))) == 40
