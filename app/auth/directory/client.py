"""Talking to the directory: the service account's search, the user's bind, the groups."""

from __future__ import annotations

import contextlib
import re
import ssl
from dataclasses import dataclass
from typing import Any

from app.auth.directory import _ldap as ldap
from app.auth.directory.settings import DirectorySettings, normalize_dn
from app.errors import ServiceError
from app.org.models import ROLES

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,50}$")  # app.org.services.USERNAME_RE
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DirectoryUnavailable(ServiceError):
    """The directory did not answer (or refused the service account): try later."""

    status = 503

    def __init__(self, reason: str, cause: str = ""):
        super().__init__(f"目录服务暂时无法连接（{reason}），请稍后再试；本地账号仍可登录。")
        self.reason, self.cause = reason, cause


@dataclass(frozen=True)
class DirectoryEntry:
    dn: str
    display_name: str
    unit_name: str | None
    roles: list[str]


def _connection(cfg: DirectorySettings, user: str | None, password: str | None):
    """An open (and, with LDAP_STARTTLS, encrypted) connection, not yet bound."""
    tls = None
    if cfg.url.lower().startswith("ldaps://") or cfg.starttls:
        tls = ldap.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=cfg.ca_file or None)
    server = ldap.Server(cfg.url, get_info=ldap.NONE, connect_timeout=cfg.timeout, tls=tls)
    conn = ldap.Connection(
        server,
        user=user,
        password=password,
        authentication=ldap.SIMPLE if user else None,
        receive_timeout=cfg.timeout,
        read_only=True,
        auto_referrals=False,
        raise_exceptions=False,
    )
    try:
        conn.open()
        if cfg.starttls and not conn.start_tls():
            raise DirectoryUnavailable("加密连接（StartTLS）失败", "start_tls")
    except BaseException:
        _close(conn)
        raise
    return conn


def _close(conn) -> None:
    with contextlib.suppress(Exception):  # closing a dead socket
        conn.unbind()
    # ldap3 keeps the socket of a failed connect open (a ResourceWarning per refused login)
    if getattr(conn, "socket", None) is not None:
        with contextlib.suppress(OSError):
            conn.socket.close()


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    if isinstance(exc, ldap.LDAPSocketReceiveError) or "timed out" in text or "timeout" in text:
        return "超时未应答"
    if isinstance(exc, ldap.LDAPSocketOpenError) and "refused" in text:
        return "连接被拒绝"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "加密连接失败"
    return "无法建立连接"


def _first(values: Any) -> str | None:
    if isinstance(values, list | tuple):
        values = values[0] if values else None
    if values is None:
        return None
    text = _CONTROL.sub("", str(values)).strip()
    return text or None


def _member_of(conn, cfg: DirectorySettings, dn: str, listed: list[str]) -> list[str]:
    """The mapped roles of the groups that name `dn` as a member (or that the entry's own
    memberOf lists: Active Directory, OpenLDAP's memberof overlay)."""

    groups = set()
    for value in listed:
        try:
            groups.add(normalize_dn(value))
        except Exception:  # noqa: BLE001 — a memberOf we cannot read names no mapped group
            continue
    who = ldap.escape_filter_chars(dn)
    for group in cfg.group_roles:
        if group in groups:
            continue
        conn.search(group, f"(|(member={who})(uniqueMember={who}))", ldap.BASE, attributes=["1.1"])
        if any(item.get("type") == "searchResEntry" for item in conn.response or ()):
            groups.add(group)
    return sorted({role for group, role in cfg.group_roles.items() if group in groups}, key=list(ROLES).index)


def _service(cfg: DirectorySettings):
    """A connection bound as the service account (anonymous without LDAP_BIND_DN)."""
    conn = _connection(cfg, cfg.bind_dn or None, cfg.bind_password or None)
    if cfg.bind_dn and not conn.bind():
        conn.unbind()
        raise DirectoryUnavailable("目录拒绝了本系统的服务账号", "service bind")
    return conn


def probe(cfg: DirectorySettings) -> None:
    """`flask check`: connect and bind the service account once (DirectoryUnavailable if not)."""

    try:
        _service(cfg).unbind()
    except (ldap.LDAPException, OSError) as exc:
        raise DirectoryUnavailable(_reason(exc), type(exc).__name__) from None


def verify(cfg: DirectorySettings, username: str, password: str) -> tuple[DirectoryEntry | None, str]:
    """(the entry, "ok") when the password binds; (None, why) when the name is not in
    the directory, is ambiguous or the password is wrong. Raises DirectoryUnavailable."""

    if not _USERNAME.match(username or ""):
        return None, "not a username"  # `*`, `)(uid=*` … never reach the directory
    if not password:
        return None, "empty password"  # an empty password is an anonymous bind: it "succeeds"
    service = person = None
    try:
        service = _service(cfg)
        attributes = [cfg.unit_attribute, cfg.name_attribute, "memberOf"]
        query = cfg.user_filter.replace("{username}", ldap.escape_filter_chars(username))
        service.search(cfg.user_base, query, ldap.SUBTREE, attributes=attributes, size_limit=2)
        if service.result.get("result") not in (0, 4):  # success, sizeLimitExceeded
            raise DirectoryUnavailable("目录查询出错", f"search {service.result.get('description')}")
        found = [item for item in service.response or () if item.get("type") == "searchResEntry"]
        if len(found) != 1:
            return None, "not in directory" if not found else "ambiguous in directory"
        dn, attrs = found[0]["dn"], found[0].get("attributes") or {}
        person = _connection(cfg, dn, password)
        if not person.bind():
            if person.result.get("result") == 49:  # invalidCredentials
                return None, "wrong password"
            raise DirectoryUnavailable("目录未能核对密码", f"bind {person.result.get('description')}")
        roles = _member_of(service, cfg, dn, list(attrs.get("memberOf") or []))
        entry = DirectoryEntry(
            dn=dn,
            display_name=(_first(attrs.get(cfg.name_attribute)) or username)[:50],
            unit_name=_first(attrs.get(cfg.unit_attribute)),
            roles=roles,
        )
        return entry, "ok"
    except ldap.LDAPException as exc:
        raise DirectoryUnavailable(_reason(exc), type(exc).__name__) from None
    except OSError as exc:
        raise DirectoryUnavailable(_reason(exc), type(exc).__name__) from None
    finally:
        for conn in (person, service):
            if conn is not None:
                _close(conn)
