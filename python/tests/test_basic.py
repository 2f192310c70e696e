"""Basic tests of the ktix Python package: version and the error mapping."""

from __future__ import annotations

import pickle
import re

import pytest

import ktix
from ktix import _ktix


def test_version_is_a_semver_string() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([-+].*)?", ktix.__version__)
    assert ktix.version() == ktix.__version__


def test_error_names_come_from_the_core() -> None:
    assert ktix.error_name(37) == "KRB_AP_ERR_SKEW"
    assert ktix.error_name(1000) == "KTIX_ERR_NULL_ARGUMENT"
    assert ktix.error_name(77) == "KRB_ERR_77"


def test_core_errors_raise_ktix_error_with_code_and_name() -> None:
    with pytest.raises(ktix.KtixError) as info:
        _ktix._raise_error(37, "clock skew too great")
    err = info.value
    assert isinstance(err, Exception)
    assert err.code == 37
    assert err.name == "KRB_AP_ERR_SKEW"
    assert err.message == "clock skew too great"
    assert str(err) == "KRB_AP_ERR_SKEW (37): clock skew too great"


def test_ktix_error_unknown_code_and_pickling() -> None:
    with pytest.raises(ktix.KtixError) as info:
        _ktix._raise_error(1999, "odd")
    assert info.value.name == "KTIX_ERR_1999"
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.code, copy.name, copy.message) == (1999, "KTIX_ERR_1999", "odd")


def test_ktix_error_can_be_raised_from_python() -> None:
    err = ktix.KtixError(6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "no such client")
    assert err.args == (6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "no such client")
