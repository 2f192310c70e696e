"""Shared fixtures: an in-memory realm with a user and a service, served on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import ktix

# `pytester`: test_pytest_plugin.py runs a pytest session of its own.
pytest_plugins = ["pytester"]

REALM = "KTIX.TEST"
USER = "alice"
PASSWORD = "secret"
SERVICE = "host/server.ktix.test"


@dataclass
class Served:
    """A realm being served: the KDC, its server, and the service's keytab."""

    kdc: ktix.Kdc
    server: ktix.KdcServer
    keytab: ktix.Keytab

    def client(self, ccache: ktix.CCache | None = None) -> ktix.Client:
        return ktix.Client(REALM, kdc=self.server.address, ccache=ccache or ktix.CCache.memory())

    def logged_in(self) -> ktix.Client:
        client = self.client()
        client.login(USER, PASSWORD)
        return client


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    kdc = ktix.Kdc(REALM)
    kdc.add_principal(USER, password=PASSWORD)
    kdc.add_principal(SERVICE)
    keytab = kdc.keytab(SERVICE)
    with kdc.serve("127.0.0.1:0") as server:
        yield Served(kdc, server, keytab)
