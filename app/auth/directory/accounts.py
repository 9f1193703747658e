"""The local account of a directory entry: created at the first login, refreshed at each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.services import event
from app.auth.directory.client import DirectoryEntry
from app.auth.directory.settings import DirectorySettings, current_settings
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import User, UserRole

NO_PASSWORD_HASH = "!directory"  # werkzeug never accepts it: a directory account has no local password
DIRECTORY_PASSWORD = (
    "您的账号由法院目录服务（LDAP）认证，本系统不保存您的密码：请在目录服务（统一身份认证）中修改密码。"
)


class DirectoryRefused(ServiceError):
    """The password was right but the directory entry cannot become an account here."""

    status = 403


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
            directory_dn=entry.dn[:255],
            now=now,
        )
        set_committed_value(user, "unit", unit)  # the audit rows name the unit: no second SELECT
        event(
            "user.directory_create", user=user, obj=user, detail={"roles": roles, "unit_id": unit.id}, now=now
        )
        return user
    before = _snapshot(user)
    after = {
        "display_name": entry.display_name,
        "unit_id": unit.id,
        "roles": roles,
        "directory_dn": entry.dn[:255],
    }
    if before == after:  # the usual case: no write, no journal line
        return user
    current = {row.role: row for row in user.role_rows}
    user.role_rows = [current.get(r) or UserRole(role=r) for r in roles]
    user.display_name, user.unit_id, user.directory_dn = entry.display_name, unit.id, after["directory_dn"]
    user.updated_at = now
    db.session.flush()
    db.session.expire(user, ["unit"])
    authz.forget_cached_scope()
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
