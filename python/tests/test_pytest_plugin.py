"""The pytest plugin (entry point ``pytest11``): the session-scoped ``kerberos_realm`` fixture,
used here as another project would, with nothing else: MIT's ``kvno`` finds the realm, the TGT and
the keytab through the environment the fixture applied; a session of its own finds the fixture
through the entry point and gives the environment back."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ktix.testing import Realm


def test_mit_kvno_runs_in_the_kerberos_realm(kerberos_realm: Realm) -> None:
    kvno = shutil.which("kvno")
    assert kvno is not None, "MIT's kvno is not installed (scripts/setup.sh installs krb5-user)"
    assert os.environ["KRB5_CONFIG"] == str(kerberos_realm.krb5_conf)
    assert os.environ["KRB5CCNAME"] == f"FILE:{kerberos_realm.ccache_path}"
    assert os.environ["KRB5_KTNAME"] == f"FILE:{kerberos_realm.keytab_path}"
    # kvno -k: the service ticket decrypts with the key in $KRB5_KTNAME.
    result = subprocess.run(
        [kvno, "-k", os.environ["KRB5_KTNAME"], kerberos_realm.service_principal],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{kerberos_realm.service_principal}: kvno = 1, keytab entry valid" in result.stdout, result.stdout


def test_the_plugin_is_found_by_entry_point_and_restores_the_environment(pytester: pytest.Pytester) -> None:
    """A session of its own (a directory with no conftest, so the fixture can come only from the
    installed entry point) sees the realm's variables; after it they are as before."""
    names = ("KRB5_CONFIG", "KRB5CCNAME", "KRB5_KTNAME", "KRB5RCACHEDIR")
    before = {name: os.environ.get(name) for name in names}
    seen = pytester.path / "seen.txt"
    pytester.makepyfile(
        test_inner=f"""
import os

def test_inner(kerberos_realm):
    assert kerberos_realm.env["KRB5CCNAME"] == os.environ["KRB5CCNAME"]
    with open({str(seen)!r}, "w") as f:
        f.write(os.environ["KRB5_CONFIG"])
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    inner_config = seen.read_text()
    assert inner_config != before["KRB5_CONFIG"]
    assert {name: os.environ.get(name) for name in names} == before
