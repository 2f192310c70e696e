"""Each error family: a real failure of each kind raises its KtixError subclass with the core's
code and name."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path

import pytest

import ktix
from ktix._errors import _from_core

from conftest import PASSWORD, REALM, SERVICE, USER, Served


def _check(info: pytest.ExceptionInfo[ktix.KtixError], cls: type[ktix.KtixError], code: int, name: str) -> None:
    err = info.value
    assert type(err) is cls, f"{type(err).__name__} raised for {err}"
    assert isinstance(err, ktix.KtixError)
    assert (err.code, err.name) == (code, name), str(err)
    assert err.message and str(err).startswith(f"{name} ({code}): ")


def test_preauth_error_for_a_wrong_password(served: Served) -> None:
    with pytest.raises(ktix.PreauthError) as info:
        served.client().login(USER, "wrong password")
    _check(info, ktix.PreauthError, 24, "KDC_ERR_PREAUTH_FAILED")
    assert isinstance(info.value, ktix.KdcError)


def test_principal_unknown_errors(served: Served) -> None:
    with pytest.raises(ktix.PrincipalUnknownError) as info:
        served.client().login("nobody", "pw")
    _check(info, ktix.PrincipalUnknownError, 6, "KDC_ERR_C_PRINCIPAL_UNKNOWN")
    with pytest.raises(ktix.PrincipalUnknownError) as info:
        served.logged_in().ap_req("host/unknown.ktix.test")
    _check(info, ktix.PrincipalUnknownError, 7, "KDC_ERR_S_PRINCIPAL_UNKNOWN")


def test_integrity_error_for_a_modified_authenticator(served: Served) -> None:
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    tampered = bytearray(ap_req)
    tampered[-3] ^= 0x01  # inside the authenticator's ciphertext
    with pytest.raises(ktix.IntegrityError) as info:
        ktix.Acceptor(served.keytab).accept(bytes(tampered))
    _check(info, ktix.IntegrityError, 31, "KRB_AP_ERR_BAD_INTEGRITY")
    assert isinstance(info.value, ktix.ApError)


def test_ticket_error_for_another_services_keytab(served: Served) -> None:
    served.kdc.add_principal("HTTP/web.ktix.test")
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    with pytest.raises(ktix.TicketError) as info:
        ktix.Acceptor(served.kdc.keytab("HTTP/web.ktix.test")).accept(ap_req)
    _check(info, ktix.TicketError, 35, "KRB_AP_ERR_NOT_US")
    with pytest.raises(ktix.TicketError):
        ktix.Acceptor(served.keytab, service="HTTP/web.ktix.test").accept(ap_req)
    # ...while the right service name (realm from the keytab) is accepted.
    ktix.Acceptor(served.keytab, service=SERVICE).accept(ap_req)


def test_replay_error_for_a_repeated_ap_req(served: Served) -> None:
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    acceptor = ktix.Acceptor(served.keytab)
    before = acceptor.replay_cache_size  # the service's cache is shared by every acceptor of it
    acceptor.accept(ap_req)
    assert acceptor.replay_cache_size == before + 1
    with pytest.raises(ktix.ReplayError) as info:
        acceptor.accept(ap_req)
    _check(info, ktix.ReplayError, 34, "KRB_AP_ERR_REPEAT")


def test_a_replay_across_two_acceptor_objects_is_caught(served: Served) -> None:
    # One replay cache per service, not per object: a new Acceptor per request is still protected.
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    ktix.Acceptor(served.keytab).accept(ap_req)
    with pytest.raises(ktix.ReplayError):
        ktix.Acceptor(served.keytab).accept(ap_req)
    # rcache="none:" turns replay detection off for that acceptor; a bad name is a ConfigError.
    ktix.Acceptor(served.keytab, rcache="none:").accept(ap_req)
    with pytest.raises(ktix.ConfigError):
        ktix.Acceptor(served.keytab, rcache="bogus:x")


def test_skew_error(served: Served) -> None:
    # With no tolerance at all, the microseconds between building and checking are too many.
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    with pytest.raises(ktix.SkewError) as info:
        ktix.Acceptor(served.keytab, clock_skew=0).accept(ap_req)
    _check(info, ktix.SkewError, 37, "KRB_AP_ERR_SKEW")


def test_mutual_auth_errors(served: Served) -> None:
    client = served.logged_in()
    acceptor = ktix.Acceptor(served.keytab)
    _, ctx = client.ap_req(SERVICE)
    with pytest.raises(ktix.MutualAuthError) as info:
        ctx.verify(None)
    _check(info, ktix.MutualAuthError, 46, "KRB_AP_ERR_MUT_FAIL")
    # The AP-REP of another exchange does not echo this authenticator.
    other_req, _ = client.ap_req(SERVICE)
    with pytest.raises(ktix.MutualAuthError):
        ctx.verify(acceptor.accept(other_req).ap_rep)
    assert not ctx.verified


def test_protocol_error_for_garbage(served: Served) -> None:
    with pytest.raises(ktix.ProtocolError) as info:
        ktix.Acceptor(served.keytab).accept(b"not an AP-REQ")
    _check(info, ktix.ProtocolError, 1003, "KTIX_ERR_MALFORMED")
    _, ctx = served.logged_in().ap_req(SERVICE)
    with pytest.raises(ktix.ProtocolError):
        ctx.verify(b"\x6f\x03\x02\x01\x05")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_network_error_when_no_kdc_answers() -> None:
    client = ktix.Client(REALM, kdc=f"127.0.0.1:{_closed_port()}")
    with pytest.raises(ktix.NetworkError) as info:
        client.login(USER, PASSWORD)
    _check(info, ktix.NetworkError, 1010, "KTIX_ERR_NETWORK")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ktix.FileError) as info:
        ktix.Keytab.load(tmp_path / "missing.keytab")
    _check(info, ktix.FileError, 1006, "KTIX_ERR_IO")
    with pytest.raises(ktix.FileError) as info:
        ktix.Keytab.from_bytes(b"\x05\x02\x00\x00\x00\x10junk")
    _check(info, ktix.FileError, 1007, "KTIX_ERR_BAD_FILE")
    (tmp_path / "bad_cc").write_bytes(b"\x05\x04garbage")
    with pytest.raises(ktix.FileError):
        ktix.CCache.file(tmp_path / "bad_cc").credentials()


def test_config_error_without_a_realm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "empty.conf"
    conf.write_text("[libdefaults]\n")
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    with pytest.raises(ktix.ConfigError) as info:
        ktix.Client()
    _check(info, ktix.ConfigError, 1008, "KTIX_ERR_CONFIG")
    with pytest.raises(ktix.ConfigError):
        ktix.Client("NOWHERE.TEST")  # no KDC for the realm


def test_crypto_error_for_an_unsupported_enctype() -> None:
    with pytest.raises(ktix.CryptoError) as info:
        ktix.enctype_number("rc4-hmac")  # not implemented
    _check(info, ktix.CryptoError, 1004, "KTIX_ERR_UNSUPPORTED_ENCTYPE")
    assert ktix.enctype_number("aes256-sha2") == 20
    assert ktix.enctype_name(18) == "aes256-cts-hmac-sha1-96"
    assert ktix.enctype_name(23) == "enctype 23"


def test_invalid_argument_error_is_a_value_error() -> None:
    with pytest.raises(ktix.InvalidArgumentError) as info:
        ktix.Kdc("")
    _check(info, ktix.InvalidArgumentError, 1001, "KTIX_ERR_INVALID_ARGUMENT")
    with pytest.raises(ValueError):
        ktix.Kdc(REALM, max_life=0)
    kdc = ktix.Kdc(REALM)
    with pytest.raises(ValueError):
        kdc.add_principal("alice@OTHER.REALM")
    with pytest.raises(ValueError):
        kdc.serve("127.0.0.1:0", workers=0)


def test_not_found_error_is_a_lookup_error(served: Served) -> None:
    with pytest.raises(ktix.NotFoundError) as info:
        served.kdc.keytab("nobody")
    _check(info, ktix.NotFoundError, 1009, "KTIX_ERR_NOT_FOUND")
    assert isinstance(info.value, LookupError)


def test_exists_error(served: Served) -> None:
    with pytest.raises(ktix.ExistsError) as info:
        served.kdc.add_principal(USER, "again")
    _check(info, ktix.ExistsError, 1013, "KTIX_ERR_EXISTS")


def test_not_logged_in_error(served: Served) -> None:
    with pytest.raises(ktix.NotLoggedInError) as info:
        served.client().ap_req(SERVICE)
    _check(info, ktix.NotLoggedInError, 1012, "KTIX_ERR_NOT_LOGGED_IN")


def test_every_code_maps_to_its_family() -> None:
    expected = {
        1: ktix.KdcError,
        6: ktix.PrincipalUnknownError,
        7: ktix.PrincipalUnknownError,
        12: ktix.KdcError,
        24: ktix.PreauthError,
        25: ktix.PreauthError,
        31: ktix.IntegrityError,
        32: ktix.TicketError,
        33: ktix.TicketError,
        34: ktix.ReplayError,
        35: ktix.TicketError,
        37: ktix.SkewError,
        41: ktix.ApError,
        46: ktix.MutualAuthError,
        60: ktix.ProtocolError,
        68: ktix.KdcError,
        90: ktix.KdcError,
        1000: ktix.InvalidArgumentError,
        1003: ktix.ProtocolError,
        1006: ktix.FileError,
        1007: ktix.FileError,
        1008: ktix.ConfigError,
        1009: ktix.NotFoundError,
        1010: ktix.NetworkError,
        1011: ktix.ProtocolError,
        1012: ktix.NotLoggedInError,
        1013: ktix.ExistsError,
        1014: ktix.CryptoError,
        1999: ktix.KtixError,
    }
    for code, cls in expected.items():
        assert ktix.error_class(code) is cls, code
        # The exception the native module raises for a core error with this code (most codes
        # have no public call that fails with them; the real failures of each family are above).
        with pytest.raises(ktix.KtixError) as info:
            raise _from_core(code, ktix.error_name(code), "test")
        assert type(info.value) is cls, code
        assert info.value.name == ktix.error_name(code)


def test_family_exceptions_pickle_and_show_as_ktix(served: Served) -> None:
    ap_req, _ = served.logged_in().ap_req(SERVICE)
    acceptor = ktix.Acceptor(served.keytab)
    acceptor.accept(ap_req)
    with pytest.raises(ktix.ReplayError) as info:
        acceptor.accept(ap_req)  # a real replay
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is ktix.ReplayError
    assert (copy.code, copy.name) == (34, "KRB_AP_ERR_REPEAT")
    assert copy.message == info.value.message and copy.message
    assert ktix.ReplayError.__module__ == "ktix"
    assert ktix.ReplayError.__qualname__ == "ReplayError"
