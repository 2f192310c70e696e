"""The exception raised by every ktix call."""

from __future__ import annotations


class KtixError(Exception):
    """A libktix failure.

    Attributes:
        code: the stable numeric code (a Kerberos error code below 1000, e.g. 37 for
            ``KRB_AP_ERR_SKEW``; a ktix code from 1000 on).
        name: the code's symbolic name, e.g. ``"KRB_AP_ERR_SKEW"``.
        message: what went wrong, in words.

    Subclasses for particular codes may be added; catching ``KtixError`` catches them all.
    """

    # Shown and pickled as ktix.KtixError, where users find it.
    __module__ = "ktix"

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
