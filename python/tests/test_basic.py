"""Basic tests of the ktix Python package: version and the error mapping."""

from __future__ import annotations

import pickle
import re

import pytest

import ktix
from ktix._errors import _from_core


def test_version_is_a_semver_string() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([-+].*)?", ktix.__version__)
    assert ktix.version() == ktix.__version__


def test_error_names_come_from_the_core() -> None:
    assert ktix.error_name(37) == "KRB_AP_ERR_SKEW"
    assert ktix.error_name(1000) == "KTIX_ERR_NULL_ARGUMENT"
    assert ktix.error_name(77) == "KRB_ERR_77"


def test_core_errors_raise_ktix_error_with_code_and_name() -> None:
    # A real core error (the realm policy refuses a non-positive lifetime), through the native
    # module's one error mapping.
    with pytest.raises(ktix.KtixError) as info:
        ktix.Kdc("KTIX.TEST", max_life=0)
    err = info.value
    assert isinstance(err, Exception)
    assert type(err) is ktix.InvalidArgumentError
    assert err.code == 1001
    assert err.name == "KTIX_ERR_INVALID_ARGUMENT"
    assert err.message == "max_life must be positive, not 0"
    assert str(err) == "KTIX_ERR_INVALID_ARGUMENT (1001): max_life must be positive, not 0"


def test_ktix_error_unknown_code_and_pickling() -> None:
    # No public call fails with a code the core does not know: the Python half of the mapping
    # (what the native module calls with the core's code, name and message) is driven directly.
    with pytest.raises(ktix.KtixError) as info:
        raise _from_core(1999, ktix.error_name(1999), "odd")
    assert type(info.value) is ktix.KtixError
    assert info.value.name == "KTIX_ERR_1999"
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.code, copy.name, copy.message) == (1999, "KTIX_ERR_1999", "odd")


def test_ktix_error_can_be_raised_from_python() -> None:
    err = ktix.KtixError(6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "no such client")
    assert err.args == (6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "no such client")


def test_realm_and_principal_enctypes() -> None:
    """``Kdc(enctypes=...)`` opts a realm in to the RFC 8009 enctypes; ``add_principal(enctypes=...)``
    gives a principal keys of some of them only (numbers or names)."""
    kdc = ktix.Kdc("ENC.TEST", enctypes=[20, "aes256-cts-hmac-sha1-96", 19, 17])
    kdc.add_principal("alice", password="pw")
    assert sorted(e.enctype for e in kdc.keytab("alice").entries()) == [17, 18, 19, 20]
    kdc.add_principal("HTTP/e19.enc.test", enctypes=["aes128-sha2"])
    assert [e.enctype for e in kdc.keytab("HTTP/e19.enc.test").entries()] == [19]
    default = ktix.Kdc("DEF.TEST")
    default.add_principal("bob")
    assert sorted(e.enctype for e in default.keytab("bob").entries()) == [17, 18]
    with pytest.raises(ktix.InvalidArgumentError):
        default.add_principal("carol", enctypes=[20])  # not one of the realm's
    with pytest.raises(ktix.InvalidArgumentError):
        ktix.Kdc("E.TEST", enctypes=[])
    with pytest.raises(ktix.KtixError) as info:
        ktix.Kdc("E.TEST", enctypes=[23])  # rc4-hmac: not implemented
    assert info.value.name == "KDC_ERR_ETYPE_NOSUPP"
    with pytest.raises(TypeError):
        ktix.Kdc("E.TEST", enctypes=[1.5])  # type: ignore[list-item]
