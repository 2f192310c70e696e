"""The exceptions raised by ktix calls.

Every failure of the core library raises :class:`KtixError` or one of its subclasses. The class is
chosen from the error's stable code by :func:`error_class` (the native module calls it through
``_from_core``; that is the one place where core errors become Python exceptions)::

    KtixError                      any ktix failure; .code, .name, .message
    ├── KdcError                   the KDC refused the request (KDC_ERR_*, codes 1-30, 68, 69-999)
    │   ├── PrincipalUnknownError  no such client (6) or server (7)
    │   └── PreauthError           pre-authentication failed (24, e.g. a wrong password) or required (25)
    ├── ApError                    the AP exchange failed (KRB_AP_ERR_*, codes 31-51)
    │   ├── IntegrityError         a checksum did not verify (31): wrong key or password, tampering
    │   ├── TicketError            ticket expired (32) or not yet valid (33), not for this service (35),
    │   │                          ticket and authenticator disagree (36), no key for it (44, 45)
    │   ├── ReplayError            the authenticator was seen before (34)
    │   ├── SkewError              clock skew too great (37)
    │   └── MutualAuthError        the server's AP-REP did not prove it holds the session key (46)
    ├── ProtocolError              malformed or unexpected messages (1003, 1011; 52, 60, 61)
    ├── NetworkError               no KDC reachable or none answered in time (1010)
    ├── FileError                  I/O failure (1006) or a corrupt/foreign file (1007): keytab, ccache, db
    ├── ConfigError                bad krb5.conf / kdc.conf or configuration value (1008)
    ├── CryptoError                unsupported enctype/checksum (1004, 1005) or an OpenSSL failure (1014)
    ├── InvalidArgumentError       an argument of the right type but a wrong value (1000, 1001);
    │                              also a ValueError
    ├── NotFoundError              no such principal, entry or credential (1009); also a LookupError
    ├── ExistsError                the object already exists (1013)
    ├── NotLoggedInError           the client has no ticket-granting ticket (1012)
    └── GssError                   any failure of a ktix.gss call; .major, .minor (RFC 2744 status)
        ├── BadMicError            a MIC or Wrap token does not verify (GSS_S_BAD_SIG)
        ├── DefectiveTokenError    a malformed token, or not the one expected (GSS_S_DEFECTIVE_TOKEN)
        ├── BadBindingsError       the channel bindings do not match (GSS_S_BAD_BINDINGS)
        ├── TokenSequenceError     a replayed, old, out-of-order token or one after a gap (the
        │                          supplementary GSS_S_DUPLICATE/OLD/UNSEQ/GAP_TOKEN)
        ├── NoContextError         the context is not established (GSS_S_NO_CONTEXT)
        ├── ContextExpiredError    the context has expired (GSS_S_CONTEXT_EXPIRED)
        └── NoCredError            no credentials: no TGT in the cache, no keytab (GSS_S_NO_CRED)

A failure of a ``ktix.gss`` call is always a :class:`GssError`, whatever its cause (a KDC refusal
during ``step`` too): its ``code``/``name`` are the core error's, ``major``/``minor`` the GSS status
(``minor`` numbers Kerberos codes as MIT does, ``ERROR_TABLE_BASE_krb5 + code``).

Arguments of the wrong Python type raise the built-in ``TypeError``, not a ``KtixError``.
"""

from __future__ import annotations


class KtixError(Exception):
    """A libktix failure.

    Attributes:
        code: the stable numeric code (a Kerberos error code below 1000, e.g. 37 for
            ``KRB_AP_ERR_SKEW``; a ktix code from 1000 on).
        name: the code's symbolic name, e.g. ``"KRB_AP_ERR_SKEW"``.
        message: what went wrong, in words.

    Subclasses group the codes into families (see the module documentation); catching
    ``KtixError`` catches them all.
    """

    code: int
    name: str
    message: str

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(code, name, message)
        self.code = code
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.message}"


class KdcError(KtixError):
    """The KDC refused the request (a KRB-ERROR with a ``KDC_ERR_*`` code)."""


class PrincipalUnknownError(KdcError):
    """The KDC does not know the client (``KDC_ERR_C_PRINCIPAL_UNKNOWN``) or the server
    (``KDC_ERR_S_PRINCIPAL_UNKNOWN``)."""


class PreauthError(KdcError):
    """Pre-authentication failed (``KDC_ERR_PREAUTH_FAILED``, e.g. a wrong password) or is
    required (``KDC_ERR_PREAUTH_REQUIRED``)."""


class ApError(KtixError):
    """The AP exchange failed (a ``KRB_AP_ERR_*`` code): the acceptor refused an AP-REQ, or the
    client refused an AP-REP."""


class IntegrityError(ApError):
    """A checksum did not verify (``KRB_AP_ERR_BAD_INTEGRITY``): the wrong key or password, or
    a modified message."""


class TicketError(ApError):
    """The ticket cannot be used: expired, not yet valid, for another service, not matching the
    authenticator, or sealed in a key the keytab does not have."""


class ReplayError(ApError):
    """The authenticator was seen before (``KRB_AP_ERR_REPEAT``)."""


class SkewError(ApError):
    """The peer's clock is too far from ours (``KRB_AP_ERR_SKEW``)."""


class MutualAuthError(ApError):
    """Mutual authentication failed (``KRB_AP_ERR_MUT_FAIL``): the AP-REP is missing, does not
    open with the session key, or does not echo the authenticator."""


class ProtocolError(KtixError):
    """A message is malformed (``KTIX_ERR_MALFORMED``), does not answer the request
    (``KTIX_ERR_REPLY_MISMATCH``), or the peer reported a generic protocol failure."""


class NetworkError(KtixError):
    """No KDC could be reached, or none answered in time (``KTIX_ERR_NETWORK``)."""


class FileError(KtixError):
    """A file could not be read or written (``KTIX_ERR_IO``), or is truncated, corrupt or of a
    foreign format (``KTIX_ERR_BAD_FILE``)."""


class ConfigError(KtixError):
    """A configuration file or value is invalid (``KTIX_ERR_CONFIG``)."""


class CryptoError(KtixError):
    """An encryption or checksum type is not supported, or OpenSSL failed."""


class InvalidArgumentError(KtixError, ValueError):
    """An argument has the right type but a value the library refuses (``KTIX_ERR_INVALID_ARGUMENT``,
    ``KTIX_ERR_NULL_ARGUMENT``). Also a ``ValueError``."""


class NotFoundError(KtixError, LookupError):
    """The principal, key, entry or credential does not exist (``KTIX_ERR_NOT_FOUND``). Also a
    ``LookupError``."""


class ExistsError(KtixError):
    """The object already exists (``KTIX_ERR_EXISTS``), e.g. adding a principal twice."""


class NotLoggedInError(KtixError):
    """The client has no ticket-granting ticket: log in first (``KTIX_ERR_NOT_LOGGED_IN``)."""


class GssError(KtixError):
    """A GSS-API failure (any failure of a ``ktix.gss`` call).

    Attributes (besides ``code``, ``name`` and ``message`` of the core error):
        major: the GSS major status (RFC 2744): a routine error such as ``GSS_S_BAD_SIG``
            (``6 << 16``), or a supplementary bit such as ``GSS_S_DUPLICATE_TOKEN`` (2).
        minor: the mechanism (minor) status, as MIT's library numbers it.
        token: the error token to send to the peer, when there is one (an acceptor's KRB-ERROR
            token for an initiator that asked for mutual authentication), else ``None``.
    """

    major: int
    minor: int
    token: bytes | None = None

    def __init__(self, code: int, name: str, message: str, major: int = 13 << 16, minor: int = 0) -> None:
        super().__init__(code, name, message)
        self.args = (code, name, message, major, minor)
        self.major = major
        self.minor = minor

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.message} [GSS major 0x{self.major:08x}, minor {self.minor}]"


class BadMicError(GssError):
    """A MIC or Wrap token does not verify (``GSS_S_BAD_SIG``): tampered, or another key."""


class DefectiveTokenError(GssError):
    """A token is malformed, truncated, or not the kind expected here (``GSS_S_DEFECTIVE_TOKEN``)."""


class BadBindingsError(GssError):
    """The initiator's channel bindings do not match the acceptor's (``GSS_S_BAD_BINDINGS``)."""


class TokenSequenceError(GssError):
    """A per-message token verified but breaks the sequence: a replay (``GSS_S_DUPLICATE_TOKEN``),
    too old to check (``GSS_S_OLD_TOKEN``), after a later one (``GSS_S_UNSEQ_TOKEN``) or after a
    gap (``GSS_S_GAP_TOKEN``); ``major`` says which."""


class NoContextError(GssError):
    """The security context is not (yet) established (``GSS_S_NO_CONTEXT``)."""


class ContextExpiredError(GssError):
    """The security context has expired (``GSS_S_CONTEXT_EXPIRED``)."""


class NoCredError(GssError):
    """No credentials: no TGT in the cache, no usable keytab (``GSS_S_NO_CRED``)."""


_GSS_BY_ROUTINE: dict[int, type[GssError]] = {
    6: BadMicError,
    9: DefectiveTokenError,
    4: BadBindingsError,
    8: NoContextError,
    12: ContextExpiredError,
    7: NoCredError,
}


def gss_error_class(major: int) -> type[GssError]:
    """The exception class a GSS failure with major status ``major`` is raised as."""
    routine = (major >> 16) & 0xFF
    if routine:
        return _GSS_BY_ROUTINE.get(routine, GssError)
    if major & 0x1E:  # DUPLICATE, OLD, UNSEQ, GAP
        return TokenSequenceError
    return GssError


def _from_gss(code: int, name: str, message: str, major: int, minor: int) -> GssError:
    """The exception for a failed GSS call (called by the native module's GSS error mapping)."""
    return gss_error_class(major)(code, name, message, major, minor)


_BY_CODE: dict[int, type[KtixError]] = {
    6: PrincipalUnknownError,
    7: PrincipalUnknownError,
    24: PreauthError,
    25: PreauthError,
    31: IntegrityError,
    32: TicketError,
    33: TicketError,
    34: ReplayError,
    35: TicketError,
    36: TicketError,
    37: SkewError,
    44: TicketError,
    45: TicketError,
    46: MutualAuthError,
    52: ProtocolError,
    60: ProtocolError,
    61: ProtocolError,
    1000: InvalidArgumentError,
    1001: InvalidArgumentError,
    1003: ProtocolError,
    1004: CryptoError,
    1005: CryptoError,
    1006: FileError,
    1007: FileError,
    1008: ConfigError,
    1009: NotFoundError,
    1010: NetworkError,
    1011: ProtocolError,
    1012: NotLoggedInError,
    1013: ExistsError,
    1014: CryptoError,
}


def error_class(code: int) -> type[KtixError]:
    """The exception class a core error with ``code`` is raised as (see the module documentation)."""
    found = _BY_CODE.get(code)
    if found is not None:
        return found
    if 31 <= code <= 51:
        return ApError
    if 1 <= code < 1000:
        return KdcError
    return KtixError


def _from_core(code: int, name: str, message: str) -> KtixError:
    """The exception for a core error (called by the native module's one error mapping)."""
    return error_class(code)(code, name, message)


ALL_ERRORS: tuple[type[KtixError], ...] = (
    KtixError,
    KdcError,
    PrincipalUnknownError,
    PreauthError,
    ApError,
    IntegrityError,
    TicketError,
    ReplayError,
    SkewError,
    MutualAuthError,
    ProtocolError,
    NetworkError,
    FileError,
    ConfigError,
    CryptoError,
    InvalidArgumentError,
    NotFoundError,
    ExistsError,
    NotLoggedInError,
    GssError,
    BadMicError,
    DefectiveTokenError,
    BadBindingsError,
    TokenSequenceError,
    NoContextError,
    ContextExpiredError,
    NoCredError,
)

# Shown and pickled as ktix.<Name>, where users find them.
for _cls in ALL_ERRORS:
    _cls.__module__ = "ktix"
del _cls
