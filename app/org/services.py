"""Writes on the court tree and on accounts. Each takes `actor` and `now`, flushes,
journals, and leaves the commit to its caller."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from flask import current_app, has_app_context
from sqlalchemy import delete, func, insert, literal, select, true
from werkzeug.security import check_password_hash, generate_password_hash

from app import authz
from app.audit.services import event
from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record, snapshot
from app.org.models import (
    ADMIN_ROLES,
    LEVEL_RANK,
    LEVELS,
    ROLES,
    TRIBUNAL_KINDS,
    Unit,
    UnitClosure,
    UnitName,
    User,
    UserRole,
)

UNIT_FIELDS = ("name", "level", "tribunal_kind", "feature_label", "parent_id", "is_active")
USER_FIELDS = ("username", "display_name", "unit_id", "email", "phone", "active")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,50}$")
ALIAS_SPLIT = re.compile(r"[、，,；;/\n\r]+")


def _unit_snapshot(unit: Unit) -> dict:
    data = snapshot(unit, UNIT_FIELDS)
    data["aliases"] = unit.aliases
    return data


def _user_snapshot(user: User) -> dict:
    data = snapshot(user, USER_FIELDS)
    data["roles"] = sorted(user.roles)
    return data


def clean_name(value: str | None, label: str = "名称", max_len: int = 100) -> str:
    """Trim and collapse whitespace; refuse empty or over-long names."""
    text = re.sub(r"\s+", " ", (value or "").strip())
    if not text:
        raise ServiceError(f"{label}不能为空。", "name")
    if len(text) > max_len:
        raise ServiceError(f"{label}不能超过 {max_len} 个字。", "name")
    return text


def split_aliases(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    parts = ALIAS_SPLIT.split(value) if isinstance(value, str) else list(value)
    out: list[str] = []
    for p in parts:
        p = re.sub(r"\s+", " ", p.strip())
        if p and p not in out:
            out.append(p)
    return out


def find_unit_by_name(name: str) -> Unit | None:
    """A unit by its official name, short name or alias."""
    stmt = select(Unit).join(UnitName, UnitName.unit_id == Unit.id).where(UnitName.name == name)
    return db.session.scalars(stmt).first()


def _check_names_free(names: list[str], unit_id: int | None) -> None:
    if not names:
        return
    rows = db.session.execute(
        select(UnitName.name, Unit.id, Unit.name)
        .join(Unit, Unit.id == UnitName.unit_id)
        .where(UnitName.name.in_(names))
    ).all()
    for taken, owner_id, owner in rows:
        if owner_id != unit_id:
            raise ServiceError(f"名称“{taken}”已被“{owner}”使用，单位名称和别名在全树中必须唯一。")


def _validate_level(level: str, tribunal_kind: str | None, parent: Unit | None) -> None:
    if level not in LEVELS:
        raise ServiceError("请选择正确的单位层级。", "level")
    if tribunal_kind and level != "tribunal":
        raise ServiceError("只有人民法庭可以设置法庭类型。", "tribunal_kind")
    if tribunal_kind and tribunal_kind not in TRIBUNAL_KINDS:
        raise ServiceError("请选择正确的法庭类型。", "tribunal_kind")
    if parent is not None and LEVEL_RANK[level] <= LEVEL_RANK[parent.level]:
        raise ServiceError(f"{LEVELS[level]}不能设在{parent.level_label}“{parent.name}”之下。", "parent_id")
    if parent is not None and not parent.is_active:
        raise ServiceError(f"上级单位“{parent.name}”已停用。", "parent_id")


def _set_names(unit: Unit, official: str, aliases: list[str]) -> None:
    aliases = [a for a in aliases if a != official]
    for a in aliases:
        clean_name(a, "别名")
    wanted = {official: "official", **{a: "alias" for a in aliases}}
    _check_names_free(list(wanted), unit.id)
    for row in list(unit.names):
        if row.name not in wanted:
            unit.names.remove(row)
    # Flush removals first so a renamed official name can become an alias at once.
    db.session.flush()
    have = {row.name: row for row in unit.names}
    for name, kind in wanted.items():
        if name in have:
            have[name].kind = kind
        else:
            unit.names.append(UnitName(name=name, kind=kind))


def create_unit(
    actor: User | None,
    *,
    name: str,
    level: str,
    parent: Unit | None,
    tribunal_kind: str | None = None,
    feature_label: str | None = None,
    aliases: str | Iterable[str] | None = None,
    now: datetime,
) -> Unit:
    """Add a unit under `parent` (or a root) with its names and closure rows."""
    name = clean_name(name, "单位全称")
    tribunal_kind = tribunal_kind or None
    if level == "tribunal" and not tribunal_kind:
        tribunal_kind = "regular"
    _validate_level(level, tribunal_kind, parent)
    feature_label = clean_name(feature_label, "特色标签", 50) if feature_label else None
    unit = Unit(
        name=name,
        level=level,
        tribunal_kind=tribunal_kind,
        feature_label=feature_label,
        parent_id=parent.id if parent else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(unit)
    _set_names(unit, name, split_aliases(aliases))
    db.session.flush()
    # Closure rows: self at depth 0, then every ancestor of the parent one deeper.
    db.session.execute(insert(UnitClosure).values(ancestor_id=unit.id, descendant_id=unit.id, depth=0))
    if parent is not None:
        db.session.execute(
            insert(UnitClosure).from_select(
                ["ancestor_id", "descendant_id", "depth"],
                select(UnitClosure.ancestor_id, literal(unit.id), UnitClosure.depth + 1).where(
                    UnitClosure.descendant_id == parent.id
                ),
            )
        )
    authz.forget_cached_scope()
    record(actor, "unit.create", unit, None, _unit_snapshot(unit), unit_id=unit.id, now=now)
    return unit


def update_unit(
    actor: User,
    unit: Unit,
    *,
    name: str,
    tribunal_kind: str | None,
    feature_label: str | None,
    aliases: str | Iterable[str] | None,
    expected_version: int | str | None,
    now: datetime,
) -> Unit:
    """Edit a unit's names and labels (level and place in the tree are fixed here)."""
    check_version(unit, expected_version)
    before = _unit_snapshot(unit)
    name = clean_name(name, "单位全称")
    tribunal_kind = tribunal_kind or None
    if unit.level == "tribunal" and not tribunal_kind:
        tribunal_kind = "regular"
    _validate_level(unit.level, tribunal_kind, None)
    unit.name = name
    unit.tribunal_kind = tribunal_kind
    unit.feature_label = clean_name(feature_label, "特色标签", 50) if feature_label else None
    unit.updated_at = now
    _set_names(unit, name, split_aliases(aliases))
    db.session.flush()
    record(actor, "unit.update", unit, before, _unit_snapshot(unit), unit_id=unit.id, now=now)
    return unit


def subtree_ids(unit_id: int) -> list[int]:
    return list(
        db.session.scalars(select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit_id))
    )


def move_unit(
    actor: User,
    unit: Unit,
    new_parent: Unit,
    *,
    expected_version: int | str | None,
    now: datetime,
) -> Unit:
    """Re-hang a unit (and its subtree) under another parent; two set-based statements."""
    check_version(unit, expected_version)
    if new_parent.id == unit.parent_id:
        raise ServiceError("新的上级单位与原上级单位相同。", "parent_id")
    inside = select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit.id)
    if new_parent.id in set(db.session.scalars(inside)):
        raise ServiceError("不能把单位移动到它自己或它的下级单位之下。", "parent_id")
    _validate_level(unit.level, unit.tribunal_kind, new_parent)
    before = _unit_snapshot(unit)
    # Cut every link from an outside ancestor into the subtree…
    db.session.execute(
        delete(UnitClosure)
        .where(UnitClosure.descendant_id.in_(inside))
        .where(UnitClosure.ancestor_id.not_in(inside))
        .execution_options(synchronize_session=False)
    )
    # …then link every ancestor of the new parent to every node of the subtree.
    sup = UnitClosure.__table__.alias("sup")
    sub = UnitClosure.__table__.alias("sub")
    db.session.execute(
        insert(UnitClosure).from_select(
            ["ancestor_id", "descendant_id", "depth"],
            select(sup.c.ancestor_id, sub.c.descendant_id, sup.c.depth + sub.c.depth + 1)
            .select_from(sup.join(sub, true()))  # deliberate cross product
            .where(sup.c.descendant_id == new_parent.id)
            .where(sub.c.ancestor_id == unit.id),
        )
    )
    unit.parent_id = new_parent.id
    unit.updated_at = now
    db.session.flush()
    db.session.expire(unit, ["parent"])
    authz.forget_cached_scope()
    record(actor, "unit.move", unit, before, _unit_snapshot(unit), unit_id=unit.id, now=now)
    return unit


def set_unit_active(
    actor: User,
    unit: Unit,
    active: bool,
    *,
    expected_version: int | str | None,
    now: datetime,
) -> Unit:
    """Deactivate (never delete) or re-activate a unit."""
    check_version(unit, expected_version)
    if unit.is_active == active:
        raise ServiceError("该单位已经是" + ("启用" if active else "停用") + "状态。")
    if not active:
        children = db.session.scalar(
            select(func.count()).select_from(Unit).where(Unit.parent_id == unit.id, Unit.is_active.is_(True))
        )
        if children:
            raise ServiceError(f"该单位还有 {children} 个启用的下级单位，请先停用或移走下级单位。")
        users = db.session.scalar(
            select(func.count()).select_from(User).where(User.unit_id == unit.id, User.active.is_(True))
        )
        if users:
            raise ServiceError(f"该单位还有 {users} 个启用的用户，请先停用或调走这些用户。")
    elif unit.parent is not None and not unit.parent.is_active:
        raise ServiceError("上级单位已停用，请先启用上级单位。")
    before = _unit_snapshot(unit)
    unit.is_active = active
    unit.updated_at = now
    db.session.flush()
    action = "unit.activate" if active else "unit.deactivate"
    record(actor, action, unit, before, _unit_snapshot(unit), unit_id=unit.id, now=now)
    return unit


# ---------------------------------------------------------------- accounts


def validate_password(password: str, username: str) -> None:
    """The password policy (app/auth/passwords.py): ≥ 8 characters, three of upper /
    lower / digit / symbol, not containing the username, not a common password."""
    from app.auth.passwords import check  # app.auth imports this module

    check(password, username)


def _hash_method() -> str:
    # Werkzeug's default is scrypt, a memory-hard KDF: no extra dependency needed.
    # (Only the test config lowers the cost, to keep the suite fast.)
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(8), method=method)


def verify_password(user: User | None, password: str) -> bool:
    if user is None:
        # Spend the same time as a real check so timing doesn't reveal usernames.
        check_password_hash(_dummy_hash(_hash_method()), password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


ONE_ADMIN_ROLE = (
    "三员分立：系统管理员、安全管理员、安全审计员须由不同的账号担任，一个账号只能持有其中一个角色。"
)


def _clean_roles(roles: Iterable[str]) -> list[str]:
    """Known roles, each once; never two of the three administrators (三员分立)."""
    roles = [r for r in dict.fromkeys(roles) if r]
    unknown = [str(r)[:20] for r in roles if r not in ROLES]
    if unknown:
        raise ServiceError(f"未知的角色：{'、'.join(unknown)}。", "roles")
    if len(set(roles) & set(ADMIN_ROLES)) > 1:
        raise ServiceError(ONE_ADMIN_ROLE, "roles")
    return roles


def _clean_user_fields(username: str, display_name: str, email: str | None, phone: str | None):
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ServiceError("用户名须为 2–50 位字母、数字、下划线、点或连字符。", "username")
    display_name = clean_name(display_name, "姓名", 50)
    email = (email or "").strip() or None
    if email and (len(email) > 120 or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email)):
        raise ServiceError("邮箱格式不正确。", "email")
    phone = (phone or "").strip() or None
    if phone and (len(phone) > 30 or not re.match(r"^[0-9+\- ]+$", phone)):
        raise ServiceError("手机号格式不正确。", "phone")
    return username, display_name, email, phone


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    unit: Unit,
    roles: Iterable[str] = (),
    password: str | None = None,
    password_hash: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    must_change_password: bool = False,
    directory_dn: str | None = None,
    now: datetime,
) -> User:
    """Add an account in `unit`. Give `password` (checked and hashed here) or
    `password_hash` (an import batch hashed a checked password at preview).

    三员分立: an account a person opens (the 系统管理员, by form or import) starts with
    no role; the 安全管理员 grants roles later (`set_user_roles`). Only the system
    itself (actor None: the demo, the command line, test set-up, a directory login) creates
    with roles. `directory_dn`: an account of the court's directory (app/auth/directory),
    which checks its password."""
    username, display_name, email, phone = _clean_user_fields(username, display_name, email, phone)
    roles = _clean_roles(roles)
    if roles and actor is not None:
        raise ServiceError("新账号不带角色：角色由安全管理员在用户页面授予（三员分立）。", "roles")
    if password_hash is None:
        validate_password(password or "", username)
        password_hash = hash_password(password or "")
    if not unit.is_active:
        raise ServiceError(f"单位“{unit.name}”已停用，不能添加用户。", "unit_id")
    taken = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken:
        raise ServiceError(f"用户名“{username}”已存在。", "username")
    user = User(
        username=username,
        display_name=display_name,
        unit_id=unit.id,
        email=email,
        phone=phone,
        password_hash=password_hash,
        password_changed_at=now,
        must_change_password=must_change_password,
        auth_source="ldap" if directory_dn else "local",
        directory_dn=directory_dn,
        created_at=now,
        updated_at=now,
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", user, None, _user_snapshot(user), unit_id=unit.id, now=now)
    return user


def update_user(
    actor: User,
    user: User,
    *,
    display_name: str,
    unit: Unit,
    email: str | None,
    phone: str | None,
    expected_version: int | str | None,
    now: datetime,
) -> User:
    """Edit an account's basic data: name, unit and contacts (the 系统管理员's part;
    roles are `set_user_roles`, the 安全管理员's)."""
    check_version(user, expected_version)
    before = _user_snapshot(user)
    _, display_name, email, phone = _clean_user_fields(user.username, display_name, email, phone)
    if unit.id != user.unit_id and not unit.is_active:
        raise ServiceError(f"单位“{unit.name}”已停用。", "unit_id")
    user.display_name = display_name
    user.unit_id = unit.id
    user.email = email
    user.phone = phone
    user.updated_at = now
    db.session.flush()
    db.session.expire(user, ["unit"])
    authz.forget_cached_scope()
    record(actor, "user.update", user, before, _user_snapshot(user), unit_id=unit.id, now=now)
    return user


def set_user_roles(
    actor: User,
    user: User,
    roles: Iterable[str],
    *,
    expected_version: int | str | None,
    now: datetime,
) -> User:
    """The 安全管理员 grants and withdraws roles (none is a valid answer: the account
    then only reads its unit). Never one's own roles; never two of the three
    administrators on one account; no new role for a deactivated account."""
    if actor is not None and user.id == actor.id:
        raise ServiceError("不能修改自己的角色（三员分立：任何人不能给自己授权）。", "roles")
    check_version(user, expected_version)
    roles = _clean_roles(roles)
    before = sorted(user.roles)
    added = sorted(set(roles) - user.roles)
    removed = sorted(user.roles - set(roles))
    if not added and not removed:
        return user
    if added and not user.active:
        raise ServiceError("该账号已停用，不能授予角色；请先由系统管理员启用。", "roles")
    current = {r.role: r for r in user.role_rows}
    user.role_rows = [current.get(r) or UserRole(role=r) for r in roles]
    user.updated_at = now
    db.session.flush()
    after = sorted(user.roles)
    record(actor, "user.roles", user, {"roles": before}, {"roles": after}, unit_id=user.unit_id, now=now)
    event(
        "user.roles",
        user=actor,
        obj=user,
        detail={"before": before, "after": after, "added": added, "removed": removed},
        now=now,
    )
    return user


def set_user_active(
    actor: User,
    user: User,
    active: bool,
    *,
    expected_version: int | str | None = None,
    now: datetime,
) -> User:
    """Deactivate (and end every session of) or re-activate an account."""
    check_version(user, expected_version)
    if user.id == actor.id:
        raise ServiceError("不能停用或启用自己的账号。")
    if user.active == active:
        raise ServiceError("该用户已经是" + ("启用" if active else "停用") + "状态。")
    if active and not user.unit.is_active:
        raise ServiceError("该用户所在单位已停用，请先启用单位或调整其单位。")
    before = _user_snapshot(user)
    user.active = active
    user.updated_at = now
    db.session.flush()
    if not active:
        _end_sessions(user, reason="deactivated", actor=actor, now=now)
    action = "user.activate" if active else "user.deactivate"
    record(actor, action, user, before, _user_snapshot(user), unit_id=user.unit_id, now=now)
    return user


def reset_password(actor: User, user: User, new_password: str, *, now: datetime) -> User:
    """Admin sets a temporary password; the user must change it at next login. Every
    session of the user ends and every API token is revoked."""
    if user.auth_source == "ldap":
        raise ServiceError("该账号由法院目录服务（LDAP）认证，本系统不保存其密码：请在目录服务中重置。")
    validate_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    user.must_change_password = True
    user.updated_at = now
    db.session.flush()
    _end_sessions(user, reason="reset", actor=actor, now=now)
    record(
        actor,
        "user.reset_password",
        user,
        None,
        {"must_change_password": True},
        unit_id=user.unit_id,
        now=now,
    )
    _audit("auth.password_changed", actor, user, {"by": "reset"}, now=now)
    return user


def change_own_password(user: User, old: str, new: str, *, now: datetime) -> User:
    """The user changes their own password; every session (this one too — the caller
    starts a new one) ends and every API token is revoked."""
    if user.auth_source == "ldap":
        from app.auth.directory import DIRECTORY_PASSWORD

        raise ServiceError(DIRECTORY_PASSWORD)
    if not verify_password(user, old):
        raise ServiceError("原密码不正确。", "old_password")
    validate_password(new, user.username)
    if old == new:
        raise ServiceError("新密码不能与原密码相同。", "new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.must_change_password = False
    user.updated_at = now
    db.session.flush()
    _end_sessions(user, reason="password", actor=user, now=now)
    record(user, "user.change_password", user, None, None, unit_id=user.unit_id, now=now)
    _audit("auth.password_changed", user, user, {"by": "self"}, now=now)
    return user


def rotate_session(user: User, *, now: datetime) -> None:
    """Logout: end every session of this user and revoke their API tokens, so an old
    cookie or token copied anywhere stops working."""
    _end_sessions(user, reason="logout", actor=user, now=now)
    record(user, "auth.logout", user, None, None, unit_id=user.unit_id, now=now)
    _audit("auth.logout", user, user, None, now=now)


def _end_sessions(user: User, *, reason: str, actor: User | None, now: datetime) -> None:
    from app.auth.sessions import end_all  # app.auth imports this module

    end_all(user, reason=reason, actor=actor, now=now)


def _audit(action: str, actor: User | None, user: User, detail: dict | None, *, now: datetime) -> None:
    event(action, user=actor, obj=user, detail=detail, now=now)
