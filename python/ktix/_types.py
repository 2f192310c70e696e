"""Small record types returned by ktix calls: tuples with named fields, and the ticket flags."""

from __future__ import annotations

import enum
import typing
from datetime import datetime, timedelta, timezone

__all__ = ["ClientStats", "Credential", "KeytabEntry", "TicketFlags"]


class TicketFlags(enum.IntFlag):
    """Ticket flags (RFC 4120 §5.3) as a bit set.

    The integer value is the 32-bit KerberosFlags field with bit 0 as the most significant bit,
    the same number MIT's ``krb5_creds.ticket_flags`` holds (``FORWARDABLE`` is ``0x40000000``).
    """

    FORWARDABLE = 0x8000_0000 >> 1
    FORWARDED = 0x8000_0000 >> 2
    PROXIABLE = 0x8000_0000 >> 3
    PROXY = 0x8000_0000 >> 4
    MAY_POSTDATE = 0x8000_0000 >> 5
    POSTDATED = 0x8000_0000 >> 6
    INVALID = 0x8000_0000 >> 7
    RENEWABLE = 0x8000_0000 >> 8
    INITIAL = 0x8000_0000 >> 9
    PRE_AUTHENT = 0x8000_0000 >> 10
    HW_AUTHENT = 0x8000_0000 >> 11
    TRANSITED_POLICY_CHECKED = 0x8000_0000 >> 12
    OK_AS_DELEGATE = 0x8000_0000 >> 13
    ENC_PA_REP = 0x8000_0000 >> 15
    ANONYMOUS = 0x8000_0000 >> 16


class Credential(typing.NamedTuple):
    """One ticket in a credential cache (no key material): ``(server, start, end, enctype, flags)``.

    ``start`` and ``end`` are timezone-aware UTC datetimes; ``enctype`` is the session key's
    encryption type number (e.g. 18 for aes256-cts-hmac-sha1-96).
    """

    server: str
    start: datetime
    end: datetime
    enctype: int
    flags: TicketFlags


class KeytabEntry(typing.NamedTuple):
    """One key in a keytab (without the key bytes): ``(principal, kvno, enctype, timestamp)``."""

    principal: str
    kvno: int
    enctype: int
    timestamp: datetime


class ClientStats(typing.NamedTuple):
    """How many exchanges a :class:`ktix.Client` has made."""

    as_requests: int
    tgs_requests: int


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _utc(micros: int) -> datetime:
    """The timezone-aware UTC datetime ``micros`` microseconds after the Unix epoch (used by the
    native module)."""
    return _EPOCH + timedelta(microseconds=micros)
