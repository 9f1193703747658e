"""The LDAP_* settings (config.py), checked at start-up, by `flask check` and at each login."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.auth.directory import _ldap as ldap
from app.org.models import ADMIN_ROLES, ROLES

DEFAULT_TIMEOUT = 3  # whole seconds: ldap3 sets the socket's receive timeout from an integer
MAX_TIMEOUT = 60
_ROLE_SEPARATORS = re.compile(r"[;\n]+")


class DirectoryConfigError(ValueError):
    """LDAP_* settings that cannot work; the message names each problem in Chinese."""


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
    timeout: int


def normalize_dn(dn: str) -> str:
    """`CN=QJ-Leaders, ou=Groups,…` and `cn=qj-leaders,ou=groups,…` are the same group."""
    compact = re.sub(r"\s*(?<!\\),\s*", ",", (dn or "").strip())
    parts = ldap.parse_dn(compact)  # raises LDAPInvalidDnError
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
        timeout = int(str(config.get("LDAP_TIMEOUT") or DEFAULT_TIMEOUT).strip())
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError
    except ValueError:
        problems.append(f"LDAP_TIMEOUT 须为 1 到 {MAX_TIMEOUT} 之间的整秒数")
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
