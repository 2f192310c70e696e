"""GSS-API (RFC 2743/2744) security contexts: the Kerberos V5 mechanism (RFC 4121) and SPNEGO
(RFC 4178), interoperable with MIT's GSS-API (and so with the programs built on it)::

    ini = ktix.gss.InitiatorContext("HTTP@web.ktix.test", mutual=True)   # ccache: $KRB5CCNAME
    acc = ktix.gss.AcceptorContext()                                      # keytab: $KRB5_KTNAME
    token = ini.step(None)
    while token is not None:
        token = acc.step(token)
        if token is not None:
            token = ini.step(token)
    assert ini.complete and acc.complete
    acc.initiator_name                       # "alice@KTIX.TEST"
    data = acc.unwrap(ini.wrap(b"hi", confidential=True))
    acc.verify_mic(b"x", ini.get_mic(b"x"))

Both context classes take ``bytes``, ``bytearray`` or ``memoryview`` wherever they take data; an
argument of another type raises ``TypeError``. Every failure raises :class:`GssError` (a
:class:`ktix.KtixError`) with the GSS ``major`` and ``minor`` status, or one of its subclasses
for the common conditions (:class:`BadMicError`, :class:`TokenSequenceError`, …). ``flags`` are
``int`` bit sets of the constants below (RFC 2744 values); the ``GSS_S_*`` constants are the
major status values.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import (
    BadBindingsError,
    BadMicError,
    ContextExpiredError,
    DefectiveTokenError,
    GssError,
    NoContextError,
    NoCredError,
    TokenSequenceError,
)
from ._ktix import AcceptorContext, InitiatorContext

__all__ = [
    "AcceptorContext",
    "BadBindingsError",
    "BadMicError",
    "ChannelBindings",
    "ContextExpiredError",
    "DefectiveTokenError",
    "GssError",
    "InitiatorContext",
    "NoContextError",
    "NoCredError",
    "TokenSequenceError",
    "DELEG",
    "MUTUAL",
    "REPLAY",
    "SEQUENCE",
    "CONF",
    "INTEG",
    "ANON",
    "PROT_READY",
    "TRANS",
    "CHANNEL_BOUND",
    "KRB5_MECH",
    "SPNEGO_MECH",
    "GSS_S_COMPLETE",
    "GSS_S_CONTINUE_NEEDED",
    "GSS_S_DUPLICATE_TOKEN",
    "GSS_S_OLD_TOKEN",
    "GSS_S_UNSEQ_TOKEN",
    "GSS_S_GAP_TOKEN",
    "GSS_S_BAD_MECH",
    "GSS_S_BAD_NAME",
    "GSS_S_BAD_NAMETYPE",
    "GSS_S_BAD_BINDINGS",
    "GSS_S_BAD_SIG",
    "GSS_S_BAD_MIC",
    "GSS_S_NO_CRED",
    "GSS_S_NO_CONTEXT",
    "GSS_S_DEFECTIVE_TOKEN",
    "GSS_S_DEFECTIVE_CREDENTIAL",
    "GSS_S_CREDENTIALS_EXPIRED",
    "GSS_S_CONTEXT_EXPIRED",
    "GSS_S_FAILURE",
    "GSS_S_UNAVAILABLE",
]

# Context flags (RFC 2744 §3.9.2 / gssapi.h), as ``flags`` reports them.
DELEG = 1
MUTUAL = 2
REPLAY = 4
SEQUENCE = 8
CONF = 16
INTEG = 32
ANON = 64
PROT_READY = 128
TRANS = 256
CHANNEL_BOUND = 0x800

# The mechanisms, as ``mech`` reports them.
KRB5_MECH = "1.2.840.113554.1.2.2"
SPNEGO_MECH = "1.3.6.1.5.5.2"

# Major status values (RFC 2744 §3.9.1): supplementary bits, then routine errors.
GSS_S_COMPLETE = 0
GSS_S_CONTINUE_NEEDED = 1 << 0
GSS_S_DUPLICATE_TOKEN = 1 << 1
GSS_S_OLD_TOKEN = 1 << 2
GSS_S_UNSEQ_TOKEN = 1 << 3
GSS_S_GAP_TOKEN = 1 << 4
GSS_S_BAD_MECH = 1 << 16
GSS_S_BAD_NAME = 2 << 16
GSS_S_BAD_NAMETYPE = 3 << 16
GSS_S_BAD_BINDINGS = 4 << 16
GSS_S_BAD_SIG = 6 << 16
GSS_S_BAD_MIC = GSS_S_BAD_SIG
GSS_S_NO_CRED = 7 << 16
GSS_S_NO_CONTEXT = 8 << 16
GSS_S_DEFECTIVE_TOKEN = 9 << 16
GSS_S_DEFECTIVE_CREDENTIAL = 10 << 16
GSS_S_CREDENTIALS_EXPIRED = 11 << 16
GSS_S_CONTEXT_EXPIRED = 12 << 16
GSS_S_FAILURE = 13 << 16
GSS_S_UNAVAILABLE = 16 << 16


@dataclass(frozen=True)
class ChannelBindings:
    """Channel bindings (RFC 2744 ``gss_channel_bindings_struct``) for ``channel_bindings=``.

    Plain bytes given as ``channel_bindings`` are the ``application_data`` with unspecified
    addresses (address type 0, ``GSS_C_AF_UNSPEC``), which is what TLS channel bindings
    (``tls-server-end-point:…``, RFC 5929) use; this class also carries the addresses.
    """

    application_data: bytes = b""
    initiator_address_type: int = 0
    initiator_address: bytes = b""
    acceptor_address_type: int = 0
    acceptor_address: bytes = b""
