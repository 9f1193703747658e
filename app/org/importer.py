"""Bulk import of units and users from a spreadsheet.

The preview runs the very same services as the commit, inside a savepoint that is
rolled back: what the preview calls valid is exactly what the commit will accept.
The commit saves every row or none."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app

from app import authz
from app.background.batches import Progress, counting, dry_run_in_batches
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch, ImportFormatError, read_table, row_errors, run_rows
from app.org import services
from app.org.models import LEVELS, TRIBUNAL_KINDS, Unit, User

UNIT_COLUMNS = {
    "name": ("单位全称", "单位名称", "全称", "名称"),
    "aliases": ("简称/别名", "简称、别名", "简称", "别名"),
    "parent": ("上级单位", "上级", "所属上级"),
    "level": ("层级", "单位层级", "级别"),
    "tribunal_kind": ("法庭类型",),
    "feature_label": ("特色标签", "特色"),
}
USER_COLUMNS = {
    "username": ("用户名", "登录名", "账号"),
    "display_name": ("姓名",),
    "unit": ("所属单位", "单位"),
    "roles": ("角色",),
    "email": ("邮箱", "电子邮箱", "email", "e-mail"),
    "phone": ("手机", "手机号", "电话"),
    "password": ("初始密码", "密码"),
}
REQUIRED = {
    "units": ("name", "parent", "level"),
    # No 角色 column needed: a new account starts with no role (三员分立, see _user_row).
    "users": ("username", "display_name", "unit", "password"),
}
LABELS = {
    "units": {k: v[0] for k, v in UNIT_COLUMNS.items()},
    "users": {k: v[0] for k, v in USER_COLUMNS.items()},
}

CHECK_BATCH = 200  # accounts tried per transaction when a job checks a user list

LEVEL_WORDS = {
    **{v: k for k, v in LEVELS.items()},
    **{k: k for k in LEVELS},
    "高院": "high",
    "中院": "intermediate",
    "基层法院": "base",
    "基层院": "base",
    "法庭": "tribunal",
}
KIND_WORDS = {**{v: k for k, v in TRIBUNAL_KINDS.items()}, **{k: k for k in TRIBUNAL_KINDS}}


def _norm(header: str) -> str:
    return re.sub(r"[\s*＊:：]", "", header or "").lower()


def map_headers(header_row: list[str], kind: str) -> dict[str, int]:
    """Column index per field, matched by name; missing required columns raise."""
    columns = UNIT_COLUMNS if kind == "units" else USER_COLUMNS
    found: dict[str, int] = {}
    for idx, cell in enumerate(header_row):
        h = _norm(cell)
        for field, names in columns.items():
            if field not in found and h in {_norm(n) for n in names}:
                found[field] = idx
    missing = [LABELS[kind][f] for f in REQUIRED[kind] if f not in found]
    if missing:
        raise ImportFormatError(f"表头缺少必需的列：{'、'.join(missing)}。请使用导入模板（第一行为表头）。")
    return found


def parse_rows(rows: list[list[str]], kind: str) -> list[dict]:
    """Header row + data rows → [{"row": n, "data": {...}}] (n = spreadsheet row)."""
    header_idx = next((i for i, r in enumerate(rows[:10]) if _try_headers(r, kind)), None)
    if header_idx is None:
        map_headers(rows[0], kind)  # raises with the list of missing columns
    cols = map_headers(rows[header_idx], kind)
    out = []
    for offset, r in enumerate(rows[header_idx + 1 :], start=header_idx + 2):
        if not any(c.strip() for c in r):
            continue
        data = {f: (r[i].strip() if i < len(r) else "") for f, i in cols.items()}
        out.append({"row": offset, "data": data, "errors": []})
    return out


def _try_headers(row: list[str], kind: str) -> bool:
    try:
        map_headers(row, kind)
        return True
    except ImportFormatError:
        return False


def _unit_row(actor: User, data: dict, now: datetime) -> Any:
    level = LEVEL_WORDS.get(data.get("level", "").strip())
    if not level:
        raise ServiceError(f"层级“{data.get('level', '')}”无法识别，应为：{'、'.join(LEVELS.values())}。")
    kind_text = data.get("tribunal_kind", "").strip()
    kind = KIND_WORDS.get(kind_text) if kind_text else None
    if kind_text and not kind:
        raise ServiceError(f"法庭类型“{kind_text}”无法识别，应为：{'、'.join(TRIBUNAL_KINDS.values())}。")
    parent = _scoped_unit(actor, data.get("parent", ""), "上级单位")
    if not authz.can(actor, "unit.add_child", parent):
        raise ServiceError(f"您无权在“{parent.name}”下添加单位。")
    return services.create_unit(
        actor,
        name=data.get("name", ""),
        level=level,
        parent=parent,
        tribunal_kind=kind,
        feature_label=data.get("feature_label") or None,
        aliases=data.get("aliases"),
        now=now,
    )


def _user_row(actor: User, data: dict, now: datetime) -> Any:
    unit = _scoped_unit(actor, data.get("unit", ""), "所属单位")
    # 三员分立: the 系统管理员 opens accounts; roles are the 安全管理员's to grant, one
    # account at a time on its page. A file that asks for roles is refused row by row
    # rather than imported without them, so nobody believes a role was given.
    words = [w for w in re.split(r"[、，,；;/\s]+", data.get("roles", "")) if w]
    if words:
        raise ServiceError(
            f"“角色”列须留空：导入的账号不带角色，由安全管理员在用户页面授予（三员分立）。"
            f"本行填写了：{'、'.join(words)[:60]}。"
        )
    if data.get("password_hash"):
        secret = {"password_hash": data["password_hash"]}
    else:
        services.validate_password(data.get("password", ""), data.get("username", ""))
        # The preview must not spend a slow KDF per row; the hash is made once, below.
        secret = {"password_hash": "!preview"}
    return services.create_user(
        actor,
        username=data.get("username", ""),
        display_name=data.get("display_name", ""),
        unit=unit,
        email=data.get("email"),
        phone=data.get("phone"),
        must_change_password=True,
        now=now,
        **secret,
    )


def _scoped_unit(actor: User, name: str, label: str) -> Unit:
    name = (name or "").strip()
    if not name:
        raise ServiceError(f"{label}不能为空。")
    unit = services.find_unit_by_name(name)
    if unit is None or not authz.sees(actor, unit):
        raise ServiceError(f"{label}“{name}”不存在，或不在您的管辖范围内。")
    if not unit.is_active:
        raise ServiceError(f"{label}“{name}”已停用。")
    return unit


ROW_HANDLERS: dict[str, Callable[..., Any]] = {"units": _unit_row, "users": _user_row}


def _row_handler(actor: User, kind: str, now: datetime) -> Callable[[dict], Any]:
    handler = ROW_HANDLERS[kind]
    return lambda row: handler(actor, row["data"], now)


def _key(kind: str) -> Callable[[dict], str]:
    key_field = "name" if kind == "units" else "username"
    return lambda row: row["data"].get(key_field, "").strip().lower()


def _apply(
    actor: User,
    kind: str,
    rows: list[dict],
    now: datetime,
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> int:
    handler = _row_handler(actor, kind, now)
    if progress is not None:
        handler = counting(handler, progress, total=len(rows))
    return run_rows(rows, handler, dry_run=dry_run, key=_key(kind))


def preview(
    actor: User,
    kind: str,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportBatch:
    """Parse and check a file; store the checked rows as a batch waiting for commit.
    With `progress` (a background job, which owns the session): accounts are checked in
    batches (units in one pass: a unit's parent may be a row above it), then each
    password is hashed outside any transaction — the slow part of a large user list."""
    if kind not in ROW_HANDLERS:
        raise ServiceError("请选择导入内容：单位或用户。")
    rows = parse_rows(read_table(filename, data, max_rows=current_app.config["IMPORT_MAX_ROWS"]), kind)
    if not rows:
        raise ImportFormatError("文件只有表头，没有数据行。")
    actor_id, actor_unit_id = actor.id, actor.unit_id
    steps = len(rows) * (2 if kind == "users" else 1)
    if progress is None:
        _apply(actor, kind, rows, now, dry_run=True)
    elif kind == "users":
        dry_run_in_batches(
            rows,
            _row_handler(actor, kind, now),
            key=_key(kind),
            progress=progress,
            size=CHECK_BATCH,
            total=steps,
        )
    else:
        _apply(actor, kind, rows, now, dry_run=True, progress=lambda done, _total: progress(done, steps))
        db.session.rollback()  # nothing was kept
    for n, row in enumerate(rows, 1):  # never keep a plain password in the database
        password = row["data"].pop("password", None)
        if password and not row_errors(row):
            row["data"]["password_hash"] = services.hash_password(password)
        if progress is not None and kind == "users":
            progress(len(rows) + n, steps)
    batch = ImportBatch(
        kind=kind,
        filename=(filename or "")[:255],
        created_by_id=actor_id,
        unit_id=actor_unit_id,
        created_at=now,
        rows=rows,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def bad_rows(batch: ImportBatch) -> int:
    return sum(1 for r in batch.rows if row_errors(r))


def check_commit(batch: ImportBatch) -> None:
    """What is refused at once, before any work (even when a job will do the work)."""
    if batch.kind not in ROW_HANDLERS:
        raise ServiceError("该批次不是单位或用户导入。")
    if batch.status != "preview":
        raise ServiceError("该批次已经导入，不能重复导入。")
    if bad_rows(batch):
        raise ServiceError("还有出错的行，请修改文件后重新上传。出错时不会保存任何数据。")


def commit(actor: User, batch: ImportBatch, *, now: datetime, progress: Progress | None = None) -> int:
    """Save every row of a previewed batch, or nothing (one transaction; `progress`
    hears how many rows are done)."""
    check_commit(batch)
    rows = [{**r, "errors": []} for r in batch.rows]
    bad = _apply(actor, batch.kind, rows, now, dry_run=False, progress=progress)
    if bad:
        raise ServiceError(
            f"预览之后数据已有变动，有 {bad} 行不能导入，本次导入已全部取消，请重新上传文件查看错误。"
        )
    batch.status = "committed"
    batch.committed_at = now
    batch.result = {"created": len(rows)}
    return len(rows)
