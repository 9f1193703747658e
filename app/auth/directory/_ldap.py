"""ldap3, imported once and only when a directory is used (a court without LDAP_URL, and
every request that is not a directory login, never loads it: ~6 MB a web worker):
`_ldap.Connection`, `_ldap.parse_dn` … import it at first use. Version 2.9.1 reads
pyasn1's old names, which pyasn1 0.6 still serves with a DeprecationWarning at import
time (warnings fail the tests)."""

from __future__ import annotations

import warnings
from typing import Any

_NAMES = frozenset(
    {
        "BASE",
        "NONE",
        "SIMPLE",
        "SUBTREE",
        "Connection",
        "LDAPException",
        "LDAPSocketOpenError",
        "LDAPSocketReceiveError",
        "Server",
        "Tls",
        "escape_filter_chars",
        "parse_dn",
    }
)


def _load() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ldap3
        from ldap3.core import exceptions
        from ldap3.utils import conv, dn
    found = {
        name: getattr(ldap3, name)
        for name in ("BASE", "NONE", "SIMPLE", "SUBTREE", "Connection", "Server", "Tls")
    }
    found.update((name, getattr(exceptions, name)) for name in _NAMES if name.startswith("LDAP"))
    found.update(escape_filter_chars=conv.escape_filter_chars, parse_dn=dn.parse_dn)
    return found


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(_load())
    return globals()[name]
