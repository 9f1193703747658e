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

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.audit.services import event
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import ADMIN_ROLES, ROLES, User, UserRole

DEFAULT_TIMEOUT = 3.0
MAX_TIMEOUT = 60.0
NO_PASSWORD_HASH = "!directory"  # werkzeug never accepts it: a directory account has no local password
DIRECTORY_PASSWORD = (
    "您的账号由法院目录服务（LDAP）认证，本系统不保存您的密码：请在目录服务（统一身份认证）中修改密码。"
)
_ROLE_SEPARATORS = re.compile(r"[;\n]+")
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,50}$")  # app.org.services.USERNAME_RE
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DirectoryConfigError(ValueError):
    """LDAP_* settings that cannot work; the message names each problem in Chinese."""


class DirectoryUnavailable(ServiceError):
    """The directory did not answer (or refused the service account): try later."""

    status = 503

    def __init__(self, reason: str, cause: str = ""):
        super().__init__(f"目录服务暂时无法连接（{reason}），请稍后再试；本地账号仍可登录。")
        self.reason, self.cause = reason, cause


class DirectoryRefused(ServiceError):
    """The password was right but the directory entry cannot become an account here."""

    status = 403


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    starttls: bool
    ca_file: str
    bind_dn: str
    bind_password: str = field(repr=False)
    user_base: str
    user_filter: str
    unit_attribute: str
    name_attribute: str
    group_roles: dict[str, str]  # normalized group DN -> role
    timeout: float


@dataclass(frozen=True)
class DirectoryEntry:
    dn: str
    display_name: str
    unit_name: str | None
    roles: list[str]


def normalize_dn(dn: str) -> str:
    """`CN=QJ-Leaders, ou=Groups,…` and `cn=qj-leaders,ou=groups,…` are the same group."""
    from ldap3.utils.dn import parse_dn

    compact = re.sub(r"\s*(?<!\\),\s*", ",", (dn or "").strip())
    parts = parse_dn(compact)  # raises LDAPInvalidDnError
    if not parts:
        raise ValueError("empty DN")
    return ",".join(f"{kind.strip().lower()}={value.strip().lower()}" for kind, value, _ in parts)


def parse_group_roles(text: str) -> dict[str, str]:
    """`组DN=角色` pairs separated by `;` or new lines; the role is after the last `=`."""
    problems, mapping = [], {}
    for item in _ROLE_SEPARATORS.split(text or ""):
        item = item.strip()
        if not item:
            continue
        dn, eq, role = item.rpartition("=")
        role = role.strip()
        if not eq or not dn.strip():
            problems.append(f"“{item[:80]}”不是“组DN=角色”的形式")
            continue
        if role in ADMIN_ROLES:
            problems.append(f"“{role}”是三员角色，只能由本地账号担任，不能由目录组授予")
            continue
        if role not in ROLES:
            known = "、".join(r for r in ROLES if r not in ADMIN_ROLES)
            problems.append(f"“{role[:20]}”不是已知角色（可用：{known}）")
            continue
        try:
            key = normalize_dn(dn)
        except Exception:  # noqa: BLE001 — ldap3 raises its own error for each malformed part
            problems.append(f"“{dn.strip()[:80]}”不是有效的组 DN")
            continue
        mapping[key] = role
    if problems:
        raise DirectoryConfigError("LDAP_GROUP_ROLES 有误：" + "；".join(problems) + "。")
    if not mapping:
        raise DirectoryConfigError(
            "LDAP_GROUP_ROLES 为空：至少写一个“组DN=角色”，例如 cn=qj-staff,ou=groups,dc=court,dc=cn=staff。"
        )
    return mapping


def load_settings(config: Mapping[str, Any]) -> DirectorySettings | None:
    """The LDAP_* settings, checked; None when LDAP_URL is empty (directory login off)."""
    url = (config.get("LDAP_URL") or "").strip()
    if not url:
        return None
    problems = []
    if not re.match(r"^ldaps?://[^/\s]+/?$", url, re.IGNORECASE):
        problems.append(f"LDAP_URL “{url[:80]}”应形如 ldap://目录服务器:389 或 ldaps://目录服务器:636")
    starttls = str(config.get("LDAP_STARTTLS") or "0").strip().lower() in ("1", "true", "yes", "on")
    if starttls and url.lower().startswith("ldaps://"):
        problems.append("LDAP_STARTTLS 只用于 ldap://（ldaps:// 本身已加密）")
    ca_file = (config.get("LDAP_CA_FILE") or "").strip()
    if ca_file:
        try:
            with open(ca_file, "rb"):
                pass
        except OSError as exc:
            problems.append(f"LDAP_CA_FILE “{ca_file}”无法读取（{exc.strerror or exc}）")
    user_base = (config.get("LDAP_USER_BASE") or "").strip()
    try:
        normalize_dn(user_base)
    except Exception:  # noqa: BLE001
        problems.append("LDAP_USER_BASE 须为查找用户的起点 DN，例如 ou=people,dc=court,dc=cn")
    bind_dn = (config.get("LDAP_BIND_DN") or "").strip()
    if bind_dn:
        try:
            normalize_dn(bind_dn)
        except Exception:  # noqa: BLE001
            problems.append(f"LDAP_BIND_DN “{bind_dn[:80]}”不是有效的 DN")
    user_filter = (config.get("LDAP_USER_FILTER") or "").strip()
    if "{username}" not in user_filter or not (user_filter.startswith("(") and user_filter.endswith(")")):
        problems.append("LDAP_USER_FILTER 须是含 {username} 的 LDAP 过滤式，例如 (uid={username})")
    try:
        timeout = float(str(config.get("LDAP_TIMEOUT") or DEFAULT_TIMEOUT).strip())
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError
    except ValueError:
        problems.append(f"LDAP_TIMEOUT 须为 0 到 {MAX_TIMEOUT:g} 之间的秒数")
        timeout = DEFAULT_TIMEOUT
    unit_attribute = (config.get("LDAP_UNIT_ATTRIBUTE") or "").strip()
    name_attribute = (config.get("LDAP_DISPLAY_NAME_ATTRIBUTE") or "").strip() or "cn"
    for var, value in (
        ("LDAP_UNIT_ATTRIBUTE", unit_attribute),
        ("LDAP_DISPLAY_NAME_ATTRIBUTE", name_attribute),
    ):
        if not re.match(r"^[A-Za-z][A-Za-z0-9-]*$", value):
            problems.append(f"{var} 须为一个属性名，例如 departmentNumber")
    try:
        group_roles = parse_group_roles(config.get("LDAP_GROUP_ROLES") or "")
    except DirectoryConfigError as exc:
        problems.append(str(exc).rstrip("。"))
        group_roles = {}
    if problems:
        raise DirectoryConfigError("目录登录（LDAP）配置有误：" + "；".join(problems) + "。")
    return DirectorySettings(
        url=url,
        starttls=starttls,
        ca_file=ca_file,
        bind_dn=bind_dn,
        bind_password=config.get("LDAP_BIND_PASSWORD") or "",
        user_base=user_base,
        user_filter=user_filter,
        unit_attribute=unit_attribute,
        name_attribute=name_attribute,
        group_roles=group_roles,
        timeout=timeout,
    )


def current_settings() -> DirectorySettings | None:
    from flask import current_app

    return load_settings(current_app.config)


# ------------------------------------------------------------------ talking to the directory


def _connection(cfg: DirectorySettings, user: str | None, password: str | None):
    """An open (and, with LDAP_STARTTLS, encrypted) connection, not yet bound."""
    from ldap3 import NONE, SIMPLE, Connection, Server, Tls

    tls = None
    if cfg.url.lower().startswith("ldaps://") or cfg.starttls:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=cfg.ca_file or None)
    server = Server(cfg.url, get_info=NONE, connect_timeout=cfg.timeout, tls=tls)
    conn = Connection(
        server,
        user=user,
        password=password,
        authentication=SIMPLE if user else None,
        receive_timeout=cfg.timeout,
        read_only=True,
        auto_referrals=False,
        raise_exceptions=False,
    )
    conn.open()
    if cfg.starttls and not conn.start_tls():
        raise DirectoryUnavailable("加密连接（StartTLS）失败", "start_tls")
    return conn


def _reason(exc: Exception) -> str:
    from ldap3.core.exceptions import LDAPSocketOpenError, LDAPSocketReceiveError

    text = str(exc).lower()
    if isinstance(exc, LDAPSocketReceiveError) or "timed out" in text or "timeout" in text:
        return "超时未应答"
    if isinstance(exc, LDAPSocketOpenError) and "refused" in text:
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
    from ldap3 import BASE
    from ldap3.utils.conv import escape_filter_chars

    groups = set()
    for value in listed:
        try:
            groups.add(normalize_dn(value))
        except Exception:  # noqa: BLE001 — a memberOf we cannot read names no mapped group
            continue
    who = escape_filter_chars(dn)
    for group in cfg.group_roles:
        if group in groups:
            continue
        conn.search(group, f"(|(member={who})(uniqueMember={who}))", BASE, attributes=["1.1"])
        if any(item.get("type") == "searchResEntry" for item in conn.response or ()):
            groups.add(group)
    return sorted({role for group, role in cfg.group_roles.items() if group in groups}, key=list(ROLES).index)


def verify(cfg: DirectorySettings, username: str, password: str) -> tuple[DirectoryEntry | None, str]:
    """(the entry, "ok") when the password binds; (None, why) when the name is not in
    the directory, is ambiguous or the password is wrong. Raises DirectoryUnavailable."""
    from ldap3 import SUBTREE
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars

    if not _USERNAME.match(username or ""):
        return None, "not a username"  # `*`, `)(uid=*` … never reach the directory
    if not password:
        return None, "empty password"  # an empty password is an anonymous bind: it "succeeds"
    service = person = None
    try:
        service = _connection(cfg, cfg.bind_dn or None, cfg.bind_password or None)
        if cfg.bind_dn and not service.bind():
            raise DirectoryUnavailable(
                "目录拒绝了本系统的服务账号", f"service bind {service.result.get('result')}"
            )
        attributes = [cfg.unit_attribute, cfg.name_attribute, "memberOf"]
        query = cfg.user_filter.replace("{username}", escape_filter_chars(username))
        service.search(cfg.user_base, query, SUBTREE, attributes=attributes, size_limit=2)
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
    except LDAPException as exc:
        raise DirectoryUnavailable(_reason(exc), type(exc).__name__) from None
    except OSError as exc:
        raise DirectoryUnavailable(_reason(exc), type(exc).__name__) from None
    finally:
        for conn in (person, service):
            if conn is not None:
                with contextlib.suppress(Exception):  # closing a dead socket
                    conn.unbind()


# ------------------------------------------------------------------ the local account


def _unit_and_roles(cfg: DirectorySettings, entry: DirectoryEntry):
    """The entry's unit and roles, or a DirectoryRefused naming what is missing."""
    from app.org.services import find_unit_by_name

    missing = []
    unit = None
    if entry.unit_name is None:
        missing.append(f"目录中该账号没有单位属性 {cfg.unit_attribute}")
    else:
        unit = find_unit_by_name(entry.unit_name[:100])
        if unit is None:
            missing.append(
                f"目录中的单位“{entry.unit_name[:100]}”在本系统中找不到（请核对单位全称、简称或别名）"
            )
        elif not unit.is_active:
            missing.append(f"单位“{unit.name}”已停用")
    if not entry.roles:
        missing.append("该账号不在任何已映射角色的目录组中（LDAP_GROUP_ROLES）")
    if missing:
        raise DirectoryRefused(
            "目录账号密码正确，但无法登录本系统：" + "；".join(missing) + "。请联系本院信息中心或系统管理员。"
        )
    return unit, entry.roles


def _snapshot(user: User) -> dict:
    return {
        "display_name": user.display_name,
        "unit_id": user.unit_id,
        "roles": sorted(user.roles),
        "directory_dn": user.directory_dn,
    }


def sync_user(user: User | None, username: str, entry: DirectoryEntry, *, now: datetime) -> User:
    """Create the directory account at its first login, or bring its name, unit and roles
    in line with the directory at a later one (journaled when something changed).
    Everything is checked before anything is written."""
    from app import authz
    from app.org.services import create_user

    cfg = current_settings()
    unit, roles = _unit_and_roles(cfg, entry)
    if user is None:
        user = create_user(
            None,
            username=username,
            display_name=entry.display_name,
            unit=unit,
            roles=roles,
            password_hash=NO_PASSWORD_HASH,
            now=now,
        )
        user.auth_source, user.directory_dn = "ldap", entry.dn[:255]
        db.session.flush()
        event(
            "user.directory_create", user=user, obj=user, detail={"roles": roles, "unit_id": unit.id}, now=now
        )
        return user
    before = _snapshot(user)
    if before == {
        **before,
        "display_name": entry.display_name,
        "unit_id": unit.id,
        "roles": roles,
        "directory_dn": entry.dn[:255],
    }:
        return user
    current = {row.role: row for row in user.role_rows}
    user.role_rows = [current.get(r) or UserRole(role=r) for r in roles]
    user.display_name, user.unit_id, user.directory_dn = entry.display_name, unit.id, entry.dn[:255]
    user.updated_at = now
    db.session.flush()
    db.session.expire(user, ["unit"])
    authz.forget_cached_scope()
    after = _snapshot(user)
    record(None, "user.directory_sync", user, before, after, unit_id=unit.id, now=now)
    if before["roles"] != after["roles"]:
        event(
            "user.roles",
            user=user,
            obj=user,
            detail={"before": before["roles"], "after": after["roles"], "by": "directory"},
            now=now,
        )
    return user


def find_account(username: str) -> User | None:
    """The account of a typed username (case-insensitive), with its unit and roles."""
    found = db.session.scalars(
        select(User)
        .options(joinedload(User.unit), joinedload(User.role_rows))
        .where(func.lower(User.username) == (username or "").strip().lower()[:50])
        .order_by(User.id)
    )
    return next(iter(found.unique().all()), None)
