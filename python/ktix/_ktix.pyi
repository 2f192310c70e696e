"""Type stubs for the native extension module ``ktix._ktix`` (checked against it by
tests/test_stubs.py with ``mypy.stubtest``)."""

import os
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, final

from ._types import ClientStats, Credential, KeytabEntry, TicketFlags

__all__ = [
    "enctype_name",
    "enctype_number",
    "error_name",
    "version",
    "Kdc",
    "KdcServer",
    "Keytab",
    "CCache",
    "ApContext",
    "Client",
    "Accepted",
    "Acceptor",
    "InitiatorContext",
    "AcceptorContext",
    "__version__",
]

__version__: str

def version() -> str:
    """The version of libktix, e.g. ``"0.1.0"``."""

def error_name(code: int) -> str:
    """The symbolic name of an error code, e.g. ``"KRB_AP_ERR_SKEW"`` for 37."""

def enctype_name(enctype: int) -> str:
    """The name of an encryption type number, e.g. ``"aes256-cts-hmac-sha1-96"`` for 18."""

def enctype_number(name: str) -> int:
    """The number of an encryption type name, e.g. 20 for ``"aes256-sha2"``."""

@final
class Kdc:
    """A Kerberos realm: principal database (in memory, SQLite with ``db=path``, or PostgreSQL
    with ``db="postgresql://USER@HOST:PORT/DBNAME"`` and ``stash=FILE``), policy, and the AS and
    TGS exchanges."""

    def __new__(
        cls,
        realm: str,
        db: str | os.PathLike[str] | None = None,
        *,
        stash: str | os.PathLike[str] | None = None,
        max_life: int | None = None,
        max_renewable_life: int | None = None,
        clock_skew: int | None = None,
        enctypes: Sequence[int | str] | None = None,
    ) -> Kdc: ...
    @property
    def realm(self) -> str:
        """The realm name."""
    @property
    def db(self) -> str | None:
        """The path of the SQLite realm database, or ``None`` for an in-memory realm."""
    def add_principal(
        self,
        name: str,
        password: str | None = None,
        *,
        requires_preauth: bool = True,
        enctypes: Sequence[int | str] | None = None,
    ) -> str:
        """Add a principal (keys from ``password``, or random; of ``enctypes`` only when given);
        returns its full name."""
    def delete_principal(self, name: str) -> bool:
        """Delete a principal; ``False`` when there was none."""
    def principals(self) -> list[str]:
        """Every principal of the realm, sorted by name."""
    def keytab(self, name: str) -> Keytab:
        """A keytab with the current keys of ``name``."""
    def handle(self, request: bytes | bytearray) -> bytes:
        """Turn an AS-REQ or TGS-REQ into the reply bytes (no network); ``b""`` (send nothing) for
        input not shaped like a request (first byte other than 0x6a/0x6c)."""
    def serve(
        self, listen: str | Sequence[str] = "127.0.0.1:0", *, workers: int | None = None, log: bool = False
    ) -> KdcServer:
        """Serve the realm over UDP and TCP on ``listen`` until ``stop()``."""

@final
class KdcServer:
    """A running KDC network server; a context manager that stops it on exit."""

    @property
    def address(self) -> str:
        """The first bound address as ``"host:port"``."""
    @property
    def addresses(self) -> list[str]:
        """Every bound address as ``"host:port"``."""
    @property
    def running(self) -> bool:
        """``True`` until ``stop()``."""
    def stop(self) -> None:
        """Stop serving (idempotent)."""
    def __enter__(self) -> KdcServer: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool: ...

@final
class Keytab:
    """Long-term service keys (MIT keytab format 0x0502). Immutable."""

    def __new__(cls) -> Keytab: ...
    @staticmethod
    def load(path: str | os.PathLike[str]) -> Keytab:
        """Read the keytab file at ``path``."""
    @staticmethod
    def from_bytes(data: bytes | bytearray) -> Keytab:
        """Parse keytab file bytes."""
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the keytab to ``path`` atomically, mode 0600."""
    def to_bytes(self) -> bytes:
        """The keytab file bytes (they contain the keys)."""
    def entries(self) -> list[KeytabEntry]:
        """The entries, without key bytes."""
    def principals(self) -> list[str]:
        """The distinct principals."""
    def __len__(self) -> int: ...

@final
class CCache:
    """A credential (ticket) cache: memory, or MIT FILE format v4."""

    @staticmethod
    def memory() -> CCache:
        """A new, empty in-memory cache."""
    @staticmethod
    def file(path: str | os.PathLike[str]) -> CCache:
        """The FILE cache at ``path``."""
    @staticmethod
    def default() -> CCache:
        """The cache ``$KRB5CCNAME`` names, else MIT's default."""
    @staticmethod
    def resolve(name: str) -> CCache:
        """The cache called ``name`` (``"FILE:/path"``, ``"MEMORY:id"``)."""
    @property
    def name(self) -> str:
        """The cache's full name."""
    @property
    def path(self) -> str | None:
        """The file of a FILE cache, ``None`` for a memory cache."""
    def exists(self) -> bool:
        """Whether the cache exists."""
    @property
    def principal(self) -> str | None:
        """The cache's owner, or ``None``."""
    def credentials(self) -> list[Credential]:
        """The tickets as ``Credential(server, start, end, enctype, flags)``."""
    def destroy(self) -> None:
        """Empty the cache, zeroizing every session key."""

@final
class Client:
    """A principal's side: login, service tickets, AP-REQs, logout."""

    def __new__(
        cls,
        realm: str | None = None,
        kdc: str | Sequence[str] | None = None,
        ccache: CCache | None = None,
        *,
        ticket_lifetime: int | None = None,
        renew_lifetime: int | None = None,
        forwardable: bool | None = None,
    ) -> Client: ...
    @property
    def realm(self) -> str:
        """The client's realm."""
    @property
    def ccache(self) -> CCache:
        """The ticket cache."""
    @property
    def principal(self) -> str | None:
        """The logged-in principal, or ``None``."""
    @property
    def stats(self) -> ClientStats:
        """AS and TGS requests sent."""
    def login(self, user: str, password: str) -> Credential:
        """Log in with a password (AS exchange); returns the TGT."""
    def login_with_keytab(self, user: str, keytab: Keytab) -> Credential:
        """Log in with a key from ``keytab``; returns the TGT."""
    def service_ticket(self, service: str) -> Credential:
        """The service ticket for ``service``, cached or from the KDC."""
    def renew(self) -> Credential:
        """Renew the TGT."""
    def ap_req(self, service: str, mutual: bool = True) -> tuple[bytes, ApContext]:
        """An AP-REQ for ``service`` and the context to verify the AP-REP."""
    def logout(self) -> None:
        """Flush the cache, zeroizing every session key."""

@final
class ApContext:
    """What a client keeps of an AP-REQ, to verify the server's AP-REP."""

    def verify(self, ap_rep: bytes | bytearray | None) -> None:
        """Check the server's AP-REP (mutual authentication)."""
    @property
    def server(self) -> str:
        """The service the AP-REQ is for."""
    @property
    def mutual(self) -> bool:
        """Whether mutual authentication was requested."""
    @property
    def verified(self) -> bool:
        """Whether ``verify`` succeeded."""
    @property
    def seq_number(self) -> int:
        """The client's initial sequence number."""
    @property
    def server_seq_number(self) -> int | None:
        """The server's initial sequence number, once verified."""

@final
class Acceptor:
    """A service's side: verifies AP-REQs with a keytab and builds AP-REPs."""

    def __new__(
        cls,
        keytab: Keytab,
        *,
        service: str | None = None,
        clock_skew: int = 300,
        replay_capacity: int | None = None,
        rcache: str | None = None,
    ) -> Acceptor: ...
    def accept(self, ap_req: bytes | bytearray) -> Accepted:
        """Verify an AP-REQ; raises an ApError subclass when it does not verify."""
    @property
    def keytab(self) -> Keytab:
        """The keytab."""
    @property
    def replay_cache_size(self) -> int:
        """Authenticators remembered for replay detection."""

@final
class Accepted:
    """An accepted AP-REQ: client, ticket facts and the AP-REP. Holds no keys."""

    @property
    def client(self) -> str:
        """The authenticated client."""
    @property
    def server(self) -> str:
        """The service the ticket was for."""
    @property
    def ap_rep(self) -> bytes | None:
        """The AP-REP for mutual authentication, or ``None``."""
    @property
    def auth_time(self) -> datetime:
        """When the client authenticated to the KDC."""
    @property
    def start_time(self) -> datetime:
        """When the ticket became valid."""
    @property
    def end_time(self) -> datetime:
        """When the ticket expires."""
    @property
    def renew_till(self) -> datetime | None:
        """Until when the ticket is renewable."""
    @property
    def flags(self) -> TicketFlags:
        """The ticket flags."""
    @property
    def authorization_data(self) -> list[tuple[int, bytes]]:
        """Authorization data as ``(ad_type, bytes)`` pairs."""
    @property
    def seq_number(self) -> int | None:
        """The client's initial sequence number."""
    @property
    def checksum(self) -> tuple[int, bytes] | None:
        """The authenticator checksum ``(type, bytes)``."""
    @property
    def kvno(self) -> int:
        """The version of the service key that opened the ticket."""
    @property
    def enctype(self) -> int:
        """The enctype of the service key that opened the ticket."""
    @property
    def session_enctype(self) -> int:
        """The enctype of the session key."""

@final
class InitiatorContext:
    """The initiator (client) side of a GSS-API security context."""

    def __new__(
        cls,
        service: str,
        ccache: CCache | str | os.PathLike[str] | None = None,
        *,
        mutual: bool = True,
        delegate: bool = False,
        spnego: bool = False,
        channel_bindings: bytes | bytearray | memoryview | Any | None = None,
        lifetime: int | None = None,
    ) -> InitiatorContext: ...
    def step(self, token: bytes | bytearray | memoryview | None = None) -> bytes | None:
        """One step: ``None`` first, then each acceptor token; the token to send, or ``None``."""
    @property
    def complete(self) -> bool:
        """Whether the context is established."""
    @property
    def flags(self) -> int:
        """The context flags (RFC 2744 bits: ``ktix.gss.MUTUAL`` …)."""
    @property
    def mech(self) -> str:
        """The mechanism as a dotted OID."""
    @property
    def initiator_name(self) -> str | None:
        """The initiator's principal, once known."""
    @property
    def target_name(self) -> str | None:
        """The acceptor's principal, once known."""
    @property
    def expires(self) -> datetime | None:
        """When the context expires, once known."""
    @property
    def is_initiator(self) -> bool:
        """``True`` for an initiator."""
    def wrap(self, data: bytes | bytearray | memoryview, confidential: bool = True) -> bytes:
        """A Wrap token carrying ``data`` (encrypted when ``confidential``)."""
    def unwrap(self, token: bytes | bytearray | memoryview) -> bytes:
        """The data of the peer's Wrap token."""
    def get_mic(self, data: bytes | bytearray | memoryview) -> bytes:
        """A MIC token over ``data``."""
    def verify_mic(self, data: bytes | bytearray | memoryview, mic: bytes | bytearray | memoryview) -> None:
        """Check the peer's MIC token over ``data``."""
    def wrap_size_limit(self, max_output: int, confidential: bool = True) -> int:
        """The largest message whose Wrap token fits in ``max_output`` bytes."""

@final
class AcceptorContext:
    """The acceptor (service) side of a GSS-API security context."""

    def __new__(
        cls,
        keytab: Keytab | str | os.PathLike[str] | None = None,
        *,
        spnego: bool = True,
        channel_bindings: bytes | bytearray | memoryview | Any | None = None,
    ) -> AcceptorContext: ...
    def step(self, token: bytes | bytearray | memoryview | None) -> bytes | None:
        """One step with the initiator's token; the token to send back, or ``None``."""
    @property
    def delegated(self) -> CCache | None:
        """The TGT the initiator delegated, as a memory ``CCache``."""
    @property
    def complete(self) -> bool:
        """Whether the context is established."""
    @property
    def flags(self) -> int:
        """The context flags (RFC 2744 bits: ``ktix.gss.MUTUAL`` …)."""
    @property
    def mech(self) -> str:
        """The mechanism as a dotted OID."""
    @property
    def initiator_name(self) -> str | None:
        """The initiator's principal, once known."""
    @property
    def target_name(self) -> str | None:
        """The acceptor's principal, once known."""
    @property
    def expires(self) -> datetime | None:
        """When the context expires, once known."""
    @property
    def is_initiator(self) -> bool:
        """``True`` for an initiator."""
    def wrap(self, data: bytes | bytearray | memoryview, confidential: bool = True) -> bytes:
        """A Wrap token carrying ``data`` (encrypted when ``confidential``)."""
    def unwrap(self, token: bytes | bytearray | memoryview) -> bytes:
        """The data of the peer's Wrap token."""
    def get_mic(self, data: bytes | bytearray | memoryview) -> bytes:
        """A MIC token over ``data``."""
    def verify_mic(self, data: bytes | bytearray | memoryview, mic: bytes | bytearray | memoryview) -> None:
        """Check the peer's MIC token over ``data``."""
    def wrap_size_limit(self, max_output: int, confidential: bool = True) -> int:
        """The largest message whose Wrap token fits in ``max_output`` bytes."""
