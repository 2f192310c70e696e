"""libktix: a Kerberos V5 library (KDC, client with ticket cache, acceptor) in Rust.

The objects are thin wrappers over the Rust core (the extension module ``ktix._ktix``).
Every failure raises :class:`KtixError`, whose ``code`` and ``name`` are the stable codes of the
core library: Kerberos error codes (RFC 4120 §7.5.9) below 1000, ktix's own codes from 1000 on.
"""

from ._errors import KtixError
from ._ktix import __version__, error_name, version

__all__ = ["KtixError", "__version__", "error_name", "version"]
