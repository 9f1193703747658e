"""Import a task list from the XLSX a court already keeps: preview with row errors,
then create and assign every item (all or nothing, unless the user leaves rows out).

Re-importing the same sheet adds nothing: each row's key (title + units) is kept on
the item, and a row whose key is already in the project is skipped.

Nor is an item done twice by accident: a row whose title (normalised: see
`parsing.normalise_title`) is already an item of the project that the user sees, or is
the title of an earlier row of the sheet, is marked a duplicate in the preview and left
out unless the user ticks "仍要导入" for it (per row, or all of them); the choice is kept
on the batch, so that a background commit honours it. A row whose responsible unit has
nobody to work on it is refused by `assign_task` itself (its batch reads the staffed
units once), so the preview shows it as a row error.

Preview and commit run every row through the real services, `create_task` and
`assign_task`, with a batch (app.tasks.writing.NewItems): each row is checked and built
in memory exactly as one item is, the sheet's units found in one query, the policy
asked once per unit. The preview writes nothing but the batch it keeps, so it reports
exactly what the commit will do; the commit inserts all the rows — items, assignments,
journal, notifications — with a few multi-row INSERTs in the caller's transaction,
saved whole or not at all. The number of statements does not grow with the rows.

A large sheet is checked and committed by a background job (app/tasks/jobs.py), which
passes `progress`; its check only reads, in a transaction that takes no write lock
(SQLite), so other users' writes go through while it runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app import authz
from app.errors import ServiceError
from app.extensions import db, reading
from app.importing import ImportBatch, ImportFormatError, Progress, check_rows, read_table, row_errors
from app.org.models import Unit, UnitName, User
from app.tasks import services
from app.tasks.models import Project, Task
from app.tasks.parsing import ParsedRow, normalise_title, parse_task_rows
from app.tasks.writing import NewItems

CHECK_BATCH = 200  # rows between two progress reports of a job


def _row_dict(p: ParsedRow) -> dict:
    d = p.deadline
    return {
        "row": p.row,
        "key": p.key,
        "section": p.section,
        "data": {
            "title": p.title,
            "requirements": p.requirements,
            "unit_names": p.unit_names,
            "cooperator_names": p.cooperator_names,
            "leader": p.leader,
            "deadline_text": p.deadline_text,
            "notes": p.notes,
            "deadline": None
            if d is None
            else {
                "kind": d.kind,
                "due": d.due.isoformat() if d.due else None,
                "recurrence": d.recurrence,
                "report_every": d.report_every,
            },
        },
        "unit_ids": [],
        "parse_errors": list(p.errors),
        "errors": [],
        "skip": False,  # already imported (the same key): never imported again
        "duplicate": None,  # {"task_id", "title"}: the project's item of that title; {"row"}: an earlier row's
        "keep": False,  # a duplicate the user keeps ("仍要导入")
    }


def _units_named(actor: User, rows: list[dict]) -> dict[str, Unit | None]:
    """Every unit the rows name (responsible or cooperating) as find_unit_by_name finds
    it — official name, short name or alias — in one query; None for a name that is
    unknown or outside the actor's scope (asked once per unit)."""
    names = {n for r in rows for n in (*r["data"]["unit_names"], *r["data"]["cooperator_names"])}
    if not names:
        return {}
    stmt = select(UnitName.name, Unit).join(Unit, Unit.id == UnitName.unit_id).where(UnitName.name.in_(names))
    found = {name: unit for name, unit in db.session.execute(stmt)}
    in_scope = {u.id: authz.sees(actor, u) for u in set(found.values())}
    return {name: unit if unit is not None and in_scope[unit.id] else None for name, unit in found.items()}


def _resolve_units(
    actor: User, names: list[str], units: dict[str, Unit | None], batch: NewItems
) -> list[Unit]:
    resolved = []
    for name in names:
        unit = units.get(name)
        if unit is None:
            raise ServiceError(f"责任单位“{name}”不存在，或不在您的管辖范围内。")
        if not batch.can(actor, "unit.assign_to", unit):
            raise ServiceError(f"“{name}”不是您的下级单位（或已停用），不能交办。")
        resolved.append(unit)
    return resolved


def _handler(
    actor: User, project: Project, now: datetime, units: dict[str, Unit | None], batch: NewItems
) -> Callable[[dict], Any]:
    def handle(row: dict) -> Any:
        data = row["data"]
        responsible = _resolve_units(actor, data["unit_names"], units, batch)
        row["unit_ids"] = [u.id for u in responsible]
        cooperators = [units[n] for n in data["cooperator_names"] if units.get(n) is not None]
        unknown = [n for n in data["cooperator_names"] if units.get(n) is None]
        notes = "；".join(
            filter(None, [data["notes"], ("配合单位：" + "、".join(unknown)) if unknown else ""])
        )
        d = data["deadline"] or {}
        task = services.create_task(
            actor,
            project,
            title=data["title"],
            requirements=data["requirements"],
            lead_leader=data["leader"],
            cooperators=cooperators,
            deadline_kind=d.get("kind", "date"),
            deadline=date.fromisoformat(d["due"]) if d.get("due") else None,
            recurrence=d.get("recurrence"),
            report_every=d.get("report_every"),
            notes=notes or None,
            source_key=row["key"],
            now=now,
            batch=batch,
        )
        services.assign_task(actor, task, responsible, expected_version=task.version, now=now, batch=batch)
        return task

    return handle


def _imported_keys(project_id: int, rows: list[dict]) -> set[str]:
    """The rows' keys already imported into the project (one query)."""
    keys = [r["key"] for r in rows]
    return set(
        db.session.scalars(
            select(Task.source_key).where(Task.project_id == project_id, Task.source_key.in_(keys))
        )
    )


def _project_titles(actor: User, project_id: int) -> dict[str, dict]:
    """{normalised title: {"task_id", "title"}} of the project's items this user sees
    (the first of each title). One query; the titles are normalised here, not in SQL."""
    stmt = authz.scope(select(Task.id, Task.title).where(Task.project_id == project_id), Task, actor)
    out: dict[str, dict] = {}
    for task_id, title in db.session.execute(stmt.order_by(Task.id)):
        out.setdefault(normalise_title(title), {"task_id": task_id, "title": title})
    return out


def _mark_duplicates(actor: User, project: Project, rows: list[dict]) -> None:
    """Mark each row (not already imported) whose normalised title is an item of the
    project, or the title of an earlier row: one query for the whole sheet."""
    existing = _project_titles(actor, project.id)
    first_row: dict[str, int] = {}
    for r in rows:
        r["duplicate"], r["keep"] = None, False
        title = normalise_title(r["data"]["title"])
        if r.get("skip") or not title:
            continue
        if title in existing:
            r["duplicate"] = dict(existing[title])
        elif title in first_row:
            r["duplicate"] = {"row": first_row[title]}
        else:
            first_row[title] = r["row"]


def left_out(r: dict) -> bool:
    """A duplicate the user has not chosen to keep: not imported, its errors don't count."""
    return bool(r.get("duplicate")) and not r.get("keep")


def _build(
    actor: User, project: Project, rows: list[dict], now: datetime, progress: Progress | None
) -> tuple[NewItems, int]:
    """Every row not skipped through the services into one batch, nothing written:
    (the batch, the number of bad rows); each row's errors are on it."""
    batch = NewItems()
    units = _units_named(actor, [r for r in rows if not r.get("skip") and not r.get("parse_errors")])
    handler = _handler(actor, project, now, units, batch)
    bad = check_rows(rows, handler, key=lambda r: r["key"], progress=progress, every=CHECK_BATCH)
    return batch, bad


def _check(actor: User, project: Project, rows: list[dict], now: datetime, progress: Progress | None) -> None:
    """Every row's verdict: already imported (skipped), duplicate (left out unless kept),
    its errors — duplicates checked too, so that a kept one is known to be good."""
    existing = _imported_keys(project.id, rows)
    for r in rows:
        r["skip"] = r["key"] in existing
    _mark_duplicates(actor, project, rows)
    _build(actor, project, rows, now, progress)


def preview(
    actor: User,
    project: Project,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportBatch:
    """Read, check every row as the commit will build it (writing nothing), keep the
    result as a batch. With `progress` (a background job, which owns the session), the
    check runs in a read-only transaction of its own."""
    if not authz.can(actor, "project.add_task", project):
        raise ServiceError("您无权向该项目导入事项。")
    table = read_table(filename, data, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    parsed = parse_task_rows(table, default_year=project.start.year)
    if not parsed:
        raise ImportFormatError("文件中没有找到任务行（请检查表头是否包含“任务名称”“责任单位”“完成时限”）。")
    rows = [_row_dict(p) for p in parsed]
    if progress is None:
        _check(actor, project, rows, now, None)
    else:
        db.session.rollback()  # no write lock held (SQLite) while the sheet is checked …
        with reading():
            _check(actor, project, rows, now, progress)
        db.session.rollback()  # … only for the batch written below
    batch = ImportBatch(
        kind="tasks",
        filename=(filename or "")[:255],
        created_by_id=actor.id,
        unit_id=actor.unit_id,
        created_at=now,
        rows=rows,
        result={"project_id": project.id},
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def bad_rows(batch: ImportBatch, exclude: set[int] | None = None) -> list[int]:
    """The rows with errors that would be imported: not skipped, excluded or left out."""
    exclude = exclude or set()
    return [
        r["row"]
        for r in batch.rows
        if row_errors(r) and not r.get("skip") and not left_out(r) and r["row"] not in exclude
    ]


def duplicate_rows(batch: ImportBatch) -> list[int]:
    return [r["row"] for r in batch.rows if r.get("duplicate") and not r.get("skip")]


def rows_to_write(batch: ImportBatch, exclude: set[int]) -> int:
    """How many rows a commit would import (as the batch stands)."""
    return sum(1 for r in batch.rows if not r.get("skip") and not left_out(r) and r["row"] not in exclude)


def keep_duplicates(batch: ImportBatch, rows: list[int], *, every: bool = False) -> None:
    """The user's "仍要导入": these duplicate rows (or `every` one) are imported after all,
    the others left out. Kept on the batch (a background commit reads it there)."""
    if batch.status != "preview":
        raise ServiceError("该批次已经导入，不能重复导入。")
    keep = {int(x) for x in rows}
    unknown = keep - {r["row"] for r in batch.rows}
    if unknown:
        raise ServiceError(f"要保留的行号不存在：{sorted(unknown)}。")
    # a new list: the JSON column is saved when it is assigned, not when a row changes
    batch.rows = [{**r, "keep": bool(r.get("duplicate")) and (every or r["row"] in keep)} for r in batch.rows]


def check_commit(batch: ImportBatch, exclude_rows: list[int]) -> set[int]:
    """What can be refused before any work (at once, even when a job will do the work):
    a batch already imported, unknown row numbers, bad rows not excluded (a kept
    duplicate counts; one left out does not)."""
    if batch.kind != "tasks":
        raise ServiceError("该批次不是任务清单导入。")
    if batch.status != "preview":
        raise ServiceError("该批次已经导入，不能重复导入。")
    exclude = {int(x) for x in exclude_rows}
    known = {r["row"] for r in batch.rows}
    if exclude - known:
        raise ServiceError(f"要排除的行号不存在：{sorted(exclude - known)}。")
    still_bad = bad_rows(batch, exclude)
    if still_bad:
        raise ServiceError(
            f"第 {'、'.join(map(str, still_bad))} 行有错误：请修改文件后重新上传，或明确排除这些行。"
        )
    return exclude


def commit(
    actor: User,
    batch: ImportBatch,
    *,
    exclude_rows: list[int],
    now: datetime,
    progress: Progress | None = None,
    keep_rows: list[int] | None = None,
    keep_all: bool = False,
) -> dict:
    """Create and assign every previewed row except the excluded ones and the duplicates
    not kept (`keep_rows` / `keep_all`: the user's choice now; None: the one kept on the
    batch) — or nothing. `progress` is told every few rows built (a job's page shows it;
    it may stop the job)."""
    if keep_rows is not None or keep_all:
        keep_duplicates(batch, keep_rows or [], every=keep_all)
    exclude = check_commit(batch, exclude_rows)
    project = db.session.get(Project, batch.result["project_id"])
    # Another preview of the same sheet may have been committed since this one was made …
    existing = _imported_keys(project.id, batch.rows)
    already = {
        r["row"] for r in batch.rows if r["row"] not in exclude and (r.get("skip") or r["key"] in existing)
    }
    duplicates = {r["row"] for r in batch.rows if left_out(r)} - exclude - already
    rows = [r for r in batch.rows if r["row"] not in exclude | already | duplicates]
    # … or an item of the same title added: the user decides again on what the preview shows.
    titles = _project_titles(actor, project.id)
    late = [
        r["row"] for r in rows if not r.get("duplicate") and normalise_title(r["data"]["title"]) in titles
    ]
    if late:
        raise ServiceError(
            f"预览之后项目中新增了与第 {'、'.join(map(str, late))} 行同名的事项，本次导入已全部取消，"
            "请重新上传文件查看。"
        )
    items, bad = _build(actor, project, [{**r, "skip": False} for r in rows], now, progress)
    if bad:
        raise ServiceError("预览之后数据已有变动，本次导入已全部取消，请重新上传文件查看错误。")
    items.write()
    batch.status = "committed"
    batch.committed_at = now
    batch.result = {
        **batch.result,
        "created": len(rows),
        "excluded": sorted(exclude),
        "already": len(already),
        "duplicates": len(duplicates),
    }
    return batch.result
