"""Directory login (issue 15): the court's LDAP directory beside the local accounts.

An account is "local" (its password_hash) or "ldap" (`users.auth_source`). A directory
account is found by the service account's search (LDAP_USER_BASE, LDAP_USER_FILTER) and
its password checked by a bind as the entry's DN; the directory never sees a local
account's password, and a local account never falls back to the directory. The unit
comes from LDAP_UNIT_ATTRIBUTE (a unit's official name, short name or alias), the roles
from the groups named in LDAP_GROUP_ROLES, both at the first login (the account is
created then) and at every later one (the directory is the source for these accounts:
a change by hand is undone at the next login, journaled each time).

Every connection waits at most LDAP_TIMEOUT seconds to connect and for each answer, so a
directory that is down or hangs costs the login page seconds, never the site; the local
administrator accounts do not touch it at all.
"""

from app.auth.directory.accounts import (
    DIRECTORY_PASSWORD,
    NO_PASSWORD_HASH,
    DirectoryRefused,
    find_account,
    sync_user,
)
from app.auth.directory.client import DirectoryEntry, DirectoryUnavailable, probe, verify
from app.auth.directory.settings import (
    DirectoryConfigError,
    DirectorySettings,
    current_settings,
    load_settings,
    normalize_dn,
    parse_group_roles,
)

__all__ = [
    "DIRECTORY_PASSWORD",
    "NO_PASSWORD_HASH",
    "DirectoryConfigError",
    "DirectoryEntry",
    "DirectoryRefused",
    "DirectorySettings",
    "DirectoryUnavailable",
    "current_settings",
    "find_account",
    "load_settings",
    "normalize_dn",
    "parse_group_roles",
    "probe",
    "sync_user",
    "verify",
]
