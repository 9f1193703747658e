"""ldap3, imported once: version 2.9.1 reads pyasn1's old names, which pyasn1 0.6 still
serves with a DeprecationWarning at import time (warnings fail the tests)."""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
    from ldap3.core.exceptions import LDAPException, LDAPSocketOpenError, LDAPSocketReceiveError
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import parse_dn

__all__ = [
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
]
