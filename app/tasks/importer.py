"""Import a task list from the XLSX a court already keeps: preview with row errors,
then create and assign every item (all or nothing, unless the user leaves rows out).

Re-importing the same sheet adds nothing: each row's key (title + units) is kept on
the item, and a row whose key is already in the project is skipped.

A large sheet is checked and committed by a background job (app/tasks/jobs.py), which
passes `progress`: the check then runs in batches, each in a transaction of its own
that is rolled back (it only tries the rows), so other users' writes go through
between batches; the commit stays one transaction, saved whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app import authz
from app.background.batches import Progress, counting, dry_run_in_batches
from app.errors import ServiceError
from app.extensions import db
from app.importing import ImportBatch, ImportFormatError, read_table, row_errors, run_rows
from app.org.models import Unit, User
from app.org.services import find_unit_by_name
from app.tasks import services
from app.tasks.models import Project, Task
from app.tasks.parsing import ParsedRow, parse_task_rows

CHECK_BATCH = 200  # rows tried per transaction when a job checks a sheet


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
        "skip": False,
    }


def _unit_lookup(actor: User) -> Callable[[str], Unit | None]:
    """find_unit_by_name plus the scope check, once per name for one run of the sheet
    (a list names the same few courts on every row)."""
    found: dict[str, Unit | None] = {}

    def lookup(name: str) -> Unit | None:
        if name not in found:
            unit = find_unit_by_name(name)
            found[name] = unit if unit is not None and authz.sees(actor, unit) else None
        return found[name]

    return lookup


def _resolve_units(
    actor: User, names: list[str], lookup: Callable[[str], Unit | None], assignable: dict[int, bool]
) -> list:
    units = []
    for name in names:
        unit = lookup(name)
        if unit is None:
            raise ServiceError(f"责任单位“{name}”不存在，或不在您的管辖范围内。")
        if unit.id not in assignable:
            assignable[unit.id] = authz.can(actor, "unit.assign_to", unit)
        if not assignable[unit.id]:
            raise ServiceError(f"“{name}”不是您的下级单位（或已停用），不能交办。")
        units.append(unit)
    return units


def _handler(actor: User, project: Project, now: datetime):
    lookup = _unit_lookup(actor)
    assignable: dict[int, bool] = {}

    def handle(row: dict) -> Any:
        data = row["data"]
        units = _resolve_units(actor, data["unit_names"], lookup, assignable)
        row["unit_ids"] = [u.id for u in units]
        cooperators, unknown = [], []
        for name in data["cooperator_names"]:
            unit = lookup(name)
            if unit is not None:
                cooperators.append(unit)
            else:
                unknown.append(name)
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
        )
        services.assign_task(actor, task, units, expected_version=task.version, now=now)
        return task

    return handle


def preview(
    actor: User,
    project: Project,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportBatch:
    """Read, check by dry-running the real services, keep the result as a batch.
    With `progress` (a background job, which owns the session), in batches."""
    if not authz.can(actor, "project.add_task", project):
        raise ServiceError("您无权向该项目导入事项。")
    table = read_table(filename, data, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    parsed = parse_task_rows(table, default_year=project.start.year)
    if not parsed:
        raise ImportFormatError("文件中没有找到任务行（请检查表头是否包含“任务名称”“责任单位”“完成时限”）。")
    rows = [_row_dict(p) for p in parsed]
    project_id = project.id
    existing = set(
        db.session.scalars(
            select(Task.source_key).where(
                Task.project_id == project_id, Task.source_key.in_([r["key"] for r in rows])
            )
        )
    )
    for r in rows:
        r["skip"] = r["key"] in existing
    if progress is None:
        run_rows(rows, _handler(actor, project, now), dry_run=True, key=lambda r: r["key"])
    else:
        handler = _handler(actor, project, now)
        dry_run_in_batches(rows, handler, key=lambda r: r["key"], progress=progress, size=CHECK_BATCH)
    batch = ImportBatch(
        kind="tasks",
        filename=(filename or "")[:255],
        created_by_id=actor.id,
        unit_id=actor.unit_id,
        created_at=now,
        rows=rows,
        result={"project_id": project_id},
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def bad_rows(batch: ImportBatch, exclude: set[int] | None = None) -> list[int]:
    exclude = exclude or set()
    return [r["row"] for r in batch.rows if row_errors(r) and not r.get("skip") and r["row"] not in exclude]


def check_commit(batch: ImportBatch, exclude_rows: list[int]) -> set[int]:
    """What can be refused before any work (at once, even when a job will do the work):
    a batch already imported, unknown row numbers, bad rows not excluded."""
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
) -> dict:
    """Create and assign every previewed row except the excluded ones — or nothing.
    `progress` is told every few rows (a job's page shows it; it may stop the job)."""
    exclude = check_commit(batch, exclude_rows)
    project = db.session.get(Project, batch.result["project_id"])
    # Another preview of the same sheet may have been committed since this one was made.
    existing = set(
        db.session.scalars(
            select(Task.source_key).where(
                Task.project_id == project.id, Task.source_key.in_([r["key"] for r in batch.rows])
            )
        )
    )
    rows = [{**r, "skip": r.get("skip") or r["row"] in exclude or r["key"] in existing} for r in batch.rows]
    handler = _handler(actor, project, now)
    if progress is not None:
        handler = counting(handler, progress, total=sum(1 for r in rows if not r["skip"]))
    bad = run_rows(rows, handler, dry_run=False, key=lambda r: r["key"])
    if bad:
        raise ServiceError("预览之后数据已有变动，本次导入已全部取消，请重新上传文件查看错误。")
    created = sum(1 for r in rows if not r["skip"])
    skipped = sum(1 for r in rows if r["skip"] and r["row"] not in exclude)
    batch.status = "committed"
    batch.committed_at = now
    batch.result = {**batch.result, "created": created, "excluded": sorted(exclude), "already": skipped}
    return batch.result
