"""The pytest plugin of ktix (entry point ``pytest11``, loaded by pytest when ktix is installed):
the session-scoped fixture ``kerberos_realm``, what projects using MIT's ``k5test`` want, with
nothing but ``pip install ktix``.

``kerberos_realm`` is a started :class:`ktix.testing.Realm` (a ktix KDC on a free loopback port
with the user ``alice``, holding a TGT, and the service ``host/server.ktix.test`` with a keytab)
whose environment is applied to ``os.environ`` for the whole session, as k5test's ``K5Realm``
does: ``KRB5_CONFIG``, ``KRB5CCNAME``, ``KRB5_KTNAME`` and ``KRB5RCACHEDIR`` point MIT's libraries
and tools (``kinit``, ``kvno``, GSS-API) and ktix at it. The previous values come back and the KDC
stops at the end of the session::

    import subprocess

    def test_my_service(kerberos_realm):
        subprocess.run(["kvno", kerberos_realm.service_principal], check=True)

A suite that does not ask for ``kerberos_realm`` starts no KDC. ``pytest -p no:ktix`` disables
the plugin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import Realm

__all__ = ["kerberos_realm"]


@pytest.fixture(scope="session")
def kerberos_realm() -> Iterator[Realm]:
    """A started :class:`ktix.testing.Realm` with its :attr:`~ktix.testing.Realm.env` set on
    ``os.environ`` for the session (restored, and the KDC stopped, afterwards)."""
    with Realm() as realm, realm.environ():
        yield realm
