"""Type stubs for the native extension module ``ktix._ktix`` (kept in step by tests/test_basic.py)."""

__version__: str

def version() -> str:
    """The version of libktix, e.g. ``"0.1.0"``."""

def error_name(code: int) -> str:
    """The symbolic name of an error code, e.g. ``"KRB_AP_ERR_SKEW"`` for 37."""

def _raise_error(code: int, message: str) -> None:
    """Raise the KtixError a core error maps to (for tests of the error mapping)."""
