"""What each kind of document says, read from its objects: `build(conn, kind, ids)` →
the rows to store for those ids (an object that is gone, or no longer of that kind,
yields none). Set-based: one or two statements per kind, whatever the number of ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.org.models import Unit, UnitName
from app.reminders.models import Circular
from app.search.tokens import index_tokens
from app.tasks.models import Assignment, ProgressReport, Task
from app.visits.models import Finding, Visit

KINDS = {
    "task": "事项",
    "report": "进度反馈",
    "visit": "督导走访",
    "finding": "发现问题",
    "rectification": "整改事项",
    "circular": "月末通报",
    "unit": "单位",
}
TITLE_MAX = 300


def _doc(
    kind: str, object_id: int, unit_id: int | None, title: str, body: list, indexed: list, parent_id=None
) -> dict:
    return {
        "kind": kind,
        "object_id": object_id,
        "unit_id": unit_id,
        "parent_id": parent_id,
        "title": (title or "")[:TITLE_MAX],
        "body": "\n".join(p for p in body if p),
        "tokens": index_tokens(indexed),
    }


def _tasks(conn: Any, ids: list[int]) -> list[dict]:
    rows = conn.execute(
        select(Task.id, Task.owner_unit_id, Task.title, Task.requirements, Task.notes).where(
            Task.id.in_(ids), Task.kind == "task"
        )
    )
    return [
        _doc(
            "task",
            r.id,
            r.owner_unit_id,
            r.title,
            [r.requirements, r.notes],
            [r.title, r.requirements, r.notes],
        )
        for r in rows
    ]


def _reports_of(conn: Any, ids: list[int]) -> dict[int, list[str]]:
    texts: dict[int, list[str]] = defaultdict(list)
    rows = conn.execute(
        select(ProgressReport.assignment_id, ProgressReport.text)
        .where(ProgressReport.assignment_id.in_(ids))
        .order_by(ProgressReport.id)
    )
    for assignment_id, text in rows:
        texts[assignment_id].append(text)
    return texts


def _assignments(conn: Any, ids: list[int]) -> list[dict]:
    """An item's reports (one document per assignment that has any: the receiving unit's
    progress), and each rectification (its problem, requirements and reports)."""
    rows = conn.execute(
        select(Assignment.id, Assignment.unit_id, Task.kind, Task.title, Task.requirements)
        .join(Task, Task.id == Assignment.task_id)
        .where(Assignment.id.in_(ids))
    ).all()
    reports = _reports_of(conn, [r.id for r in rows])
    docs = []
    for r in rows:
        texts = reports.get(r.id, [])
        if r.kind == "rectification":
            docs.append(
                _doc(
                    "rectification",
                    r.id,
                    r.unit_id,
                    r.title,
                    [r.requirements, *texts],
                    [r.title, r.requirements, *texts],
                )
            )
        elif texts:
            docs.append(_doc("report", r.id, r.unit_id, r.title, texts, texts))
    return docs


def _visits(conn: Any, ids: list[int]) -> list[dict]:
    rows = conn.execute(
        select(
            Visit.id,
            Visit.organizer_unit_id,
            Visit.title,
            Visit.team,
            Visit.topics,
            Visit.summary,
            Visit.suggestions,
            Visit.solved_on_spot,
        ).where(Visit.id.in_(ids))
    )
    docs = []
    for r in rows:
        body = [r.topics, r.summary, r.suggestions, r.solved_on_spot, r.team]
        docs.append(_doc("visit", r.id, r.organizer_unit_id, r.title, body, [r.title, *body]))
    return docs


def _findings(conn: Any, ids: list[int]) -> list[dict]:
    rows = conn.execute(
        select(Finding.id, Finding.unit_id, Finding.visit_id, Finding.description, Visit.title)
        .join(Visit, Visit.id == Finding.visit_id)
        .where(Finding.id.in_(ids))
    )
    return [
        _doc("finding", r.id, r.unit_id, r.title, [r.description], [r.description], parent_id=r.visit_id)
        for r in rows
    ]


def _circulars(conn: Any, ids: list[int]) -> list[dict]:
    rows = conn.execute(
        select(Circular.id, Circular.unit_id, Circular.title, Circular.body).where(Circular.id.in_(ids))
    )
    return [_doc("circular", r.id, r.unit_id, r.title, [r.body], [r.title, r.body]) for r in rows]


def _units(conn: Any, ids: list[int]) -> list[dict]:
    aliases: dict[int, list[str]] = defaultdict(list)
    for unit_id, name in conn.execute(
        select(UnitName.unit_id, UnitName.name)
        .where(UnitName.unit_id.in_(ids), UnitName.kind != "official")
        .order_by(UnitName.id)
    ):
        aliases[unit_id].append(name)
    rows = conn.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))
    return [_doc("unit", r.id, r.id, r.name, aliases[r.id], [r.name, *aliases[r.id]]) for r in rows]


# Source → (the document kinds it writes, its builder, the table its ids are taken from)
SOURCES: dict[str, tuple[tuple[str, ...], Callable[[Any, list[int]], list[dict]], Any]] = {
    "task": (("task",), _tasks, Task),
    "assignment": (("report", "rectification"), _assignments, Assignment),
    "visit": (("visit",), _visits, Visit),
    "finding": (("finding",), _findings, Finding),
    "circular": (("circular",), _circulars, Circular),
    "unit": (("unit",), _units, Unit),
}
