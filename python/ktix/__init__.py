"""libktix: a Kerberos V5 library (KDC, client with ticket cache, acceptor) in Rust.

The objects are thin wrappers over the Rust core (the extension module ``ktix._ktix``)::

    kdc = ktix.Kdc("KTIX.TEST")                       # db="realm.db" for an SQLite realm
    kdc.add_principal("alice", password="secret")
    kdc.add_principal("host/server.ktix.test")
    keytab = kdc.keytab("host/server.ktix.test")
    with kdc.serve("127.0.0.1:0") as server:
        client = ktix.Client("KTIX.TEST", kdc=server.address, ccache=ktix.CCache.memory())
        client.login("alice", "secret")
        ap_req, ctx = client.ap_req("host/server.ktix.test", mutual=True)
        accepted = ktix.Acceptor(keytab).accept(ap_req)
        ctx.verify(accepted.ap_rep)
        client.logout()

Every failure raises :class:`KtixError` (or a family subclass such as :class:`PreauthError` or
:class:`ReplayError`), whose ``code`` and ``name`` are the stable codes of the core library:
Kerberos error codes (RFC 4120 §7.5.9) below 1000, ktix's own codes from 1000 on. Arguments of
the wrong type raise ``TypeError``. Every object may be shared between threads; network I/O and
crypto run without the GIL. :mod:`ktix.testing` has an in-process realm for test suites; :mod:`ktix.gss` the GSS-API security contexts
(Kerberos V5 and SPNEGO), whose failures raise :class:`GssError`.
"""

from ._errors import (
    ApError,
    ConfigError,
    CryptoError,
    BadBindingsError,
    BadMicError,
    ContextExpiredError,
    DefectiveTokenError,
    ExistsError,
    FileError,
    GssError,
    IntegrityError,
    InvalidArgumentError,
    KdcError,
    KtixError,
    MutualAuthError,
    NetworkError,
    NoContextError,
    NoCredError,
    NotFoundError,
    NotLoggedInError,
    PreauthError,
    PrincipalUnknownError,
    ProtocolError,
    ReplayError,
    SkewError,
    TicketError,
    TokenSequenceError,
    error_class,
)
from ._ktix import (
    Accepted,
    Acceptor,
    ApContext,
    CCache,
    Client,
    Kdc,
    KdcServer,
    Keytab,
    __version__,
    enctype_name,
    enctype_number,
    error_name,
    version,
)
from ._types import ClientStats, Credential, KeytabEntry, TicketFlags
from . import gss  # noqa: E402  (ktix.gss: the GSS-API contexts)

__all__ = [
    "Accepted",
    "Acceptor",
    "ApContext",
    "ApError",
    "BadBindingsError",
    "BadMicError",
    "CCache",
    "Client",
    "ClientStats",
    "ConfigError",
    "ContextExpiredError",
    "Credential",
    "CryptoError",
    "DefectiveTokenError",
    "ExistsError",
    "FileError",
    "GssError",
    "IntegrityError",
    "InvalidArgumentError",
    "Kdc",
    "KdcError",
    "KdcServer",
    "Keytab",
    "KeytabEntry",
    "KtixError",
    "MutualAuthError",
    "NetworkError",
    "NoContextError",
    "NoCredError",
    "NotFoundError",
    "NotLoggedInError",
    "PreauthError",
    "PrincipalUnknownError",
    "ProtocolError",
    "ReplayError",
    "SkewError",
    "TicketError",
    "TicketFlags",
    "TokenSequenceError",
    "__version__",
    "enctype_name",
    "enctype_number",
    "error_class",
    "error_name",
    "gss",
    "version",
]
