"""An in-process Kerberos realm for test suites: :class:`Realm`.

``Realm`` starts a ktix KDC on a free loopback port with a user and a service, and writes into a
temporary directory everything a Kerberos client or service (MIT's libkrb5 and GSS-API, or
ktix itself) needs to find it: a ``krb5.conf``, the service's keytab, and a FILE credential cache
holding the user's ticket-granting ticket. Other projects can then test their Kerberos code in
CI without installing or running MIT's KDC::

    from ktix.testing import Realm

    def test_my_service(monkeypatch):
        with Realm() as realm:
            for name, value in realm.env.items():
                monkeypatch.setenv(name, value)
            ...  # code under test: kinit/gssapi/requests-gssapi find the realm via the env

``realm.env`` holds ``KRB5_CONFIG``, ``KRB5CCNAME`` and ``KRB5_KTNAME`` (and ``KRB5RCACHEDIR``,
so replay caches stay in the temporary directory). ``realm.environ()`` sets them on
``os.environ`` for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from ._ktix import Acceptor, CCache, Client, Kdc, KdcServer, Keytab

__all__ = ["Realm"]


class Realm:
    """A KDC on a loopback port with one user and one service, and the files to reach it.

    Args:
        realm: the realm name.
        user: the user's name (without the realm).
        password: the user's password; a random one when ``None``.
        service: the service principal's name (without the realm); it gets random keys, written
            to the keytab.
        directory: where to write the files; a new temporary directory (removed on exit) when
            ``None``. A given directory is left in place.
        log: write the KDC's request log to standard error.

    Attributes (set on entering the ``with`` block, or by :meth:`start`):
        realm: the realm name.
        user: the user's name as given (``"alice"``); ``user_principal`` is the full name.
        password: the user's password.
        service: the service's name as given; ``service_principal`` is the full name.
        kdc: the :class:`ktix.Kdc` (add more principals with ``realm.kdc.add_principal``).
        server: the running :class:`ktix.KdcServer`; ``address`` is its ``"127.0.0.1:PORT"``.
        keytab: the service's :class:`ktix.Keytab`, also written to ``keytab_path``.
        directory, krb5_conf, keytab_path, ccache_path: the files written.
        env: the environment variables that point MIT's libraries and tools at them.
    """

    realm: str
    user: str
    password: str
    service: str
    user_principal: str
    service_principal: str
    kdc: Kdc
    server: KdcServer
    address: str
    keytab: Keytab
    directory: Path
    krb5_conf: Path
    keytab_path: Path
    ccache_path: Path
    env: dict[str, str]

    def __init__(
        self,
        realm: str = "KTIX.TEST",
        *,
        user: str = "alice",
        password: str | None = None,
        service: str = "host/server.ktix.test",
        directory: str | os.PathLike[str] | None = None,
        log: bool = False,
    ) -> None:
        self.realm = realm
        self.user = user
        self.password = password if password is not None else secrets.token_urlsafe(18)
        self.service = service
        self._given_directory = Path(directory) if directory is not None else None
        self._log = log
        self._started = False
        self._own_directory = False

    def start(self) -> Realm:
        """Starts the KDC and writes the files (what entering the ``with`` block does)."""
        if self._started:
            raise RuntimeError("the realm is already started")
        if self._given_directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="ktix-realm-"))
            self._own_directory = True
        else:
            self.directory = self._given_directory
            self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self._cleanup()
            raise
        self._started = True
        return self

    def _start(self) -> None:
        self.kdc = Kdc(self.realm)
        self.user_principal = self.kdc.add_principal(self.user, self.password)
        self.service_principal = self.kdc.add_principal(self.service)
        self.keytab = self.kdc.keytab(self.service)
        self.server = self.kdc.serve("127.0.0.1:0", log=self._log)
        self.address = self.server.address

        self.krb5_conf = self.directory / "krb5.conf"
        self.keytab_path = self.directory / "krb5.keytab"
        self.ccache_path = self.directory / "krb5cc"
        self.krb5_conf.write_text(self._krb5_conf_text(), encoding="utf-8")
        self.keytab.save(self.keytab_path)
        client = Client(self.realm, kdc=self.address, ccache=CCache.file(self.ccache_path))
        client.login(self.user, self.password)

        rcache_dir = self.directory / "rcache"
        rcache_dir.mkdir(mode=0o700, exist_ok=True)
        self.env = {
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5CCNAME": f"FILE:{self.ccache_path}",
            "KRB5_KTNAME": f"FILE:{self.keytab_path}",
            "KRB5RCACHEDIR": str(rcache_dir),
        }

    def _krb5_conf_text(self) -> str:
        domain = self.service.split("/", 1)[1].split(".", 1)[-1] if "/" in self.service else None
        lines = [
            "[libdefaults]",
            f"    default_realm = {self.realm}",
            "    dns_lookup_kdc = false",
            "    dns_lookup_realm = false",
            "    dns_canonicalize_hostname = false",
            "    rdns = false",
            "    forwardable = true",
            f"    default_ccache_name = FILE:{self.directory / 'krb5cc'}",
            f"    default_keytab_name = FILE:{self.directory / 'krb5.keytab'}",
            "",
            "[realms]",
            f"    {self.realm} = {{",
            f"        kdc = {self.address}",
            "    }",
            "",
            "[domain_realm]",
        ]
        if domain:
            lines += [f"    .{domain} = {self.realm}", f"    {domain} = {self.realm}"]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        """Stops the KDC and removes the temporary directory (what leaving the block does)."""
        if not self._started:
            return
        self._started = False
        self._cleanup()

    def _cleanup(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self._own_directory = False

    def client(self, ccache: CCache | None = None) -> Client:
        """A :class:`ktix.Client` of this realm talking to its KDC (a new memory cache unless
        ``ccache`` is given); not logged in."""
        return Client(self.realm, kdc=self.address, ccache=ccache)

    def acceptor(self) -> Acceptor:
        """A :class:`ktix.Acceptor` with the service's keytab."""
        return Acceptor(self.keytab)

    @contextlib.contextmanager
    def environ(self) -> Iterator[dict[str, str]]:
        """Sets :attr:`env` on ``os.environ`` inside a ``with`` block, restoring the previous
        values afterwards."""
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield self.env
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def __enter__(self) -> Realm:
        """Starts the realm (see :meth:`start`)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stops the realm (see :meth:`stop`); exceptions propagate."""
        self.stop()

    def __repr__(self) -> str:
        state = f"at {self.address}" if self._started else "stopped"
        return f"<ktix.testing.Realm {self.realm} {state}>"
