"""Assignments as the API answers them: one of a list (`assignment_out`, the
AssignmentSchema) and one in full with a page of its history (`detail_out`, the
AssignmentDetailOut of GET /assignments/{id})."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, url_for

from app.org.models import Unit
from app.tasks.detail import REPORT, HistoryEntry, HistoryPage
from app.tasks.links import LinkRow
from app.tasks.models import Assignment, AssignmentStep, ExtensionRequest, Task
from app.tasks.queries import light, traffic_light_of
from app.timeutil import local_today, to_local


def assignment_out(a: Assignment, today: date | None = None) -> dict[str, Any]:
    """An assignment as AssignmentSchema dumps it (the lights derived for `today`)."""
    state = light(a, today or local_today())
    return {
        "id": a.id,
        "task_id": a.task_id,
        "title": a.task.title,
        "unit_id": a.unit_id,
        "status": a.status,
        "deadline": a.deadline,
        "original_deadline": a.original_deadline,
        "period": a.period_label or None,
        "progress": a.progress,
        "overdue": state == "overdue",
        "due_soon": state == "due_soon",
        "version": a.version,
    }


def _local(value):
    """Stored naive UTC → aware Asia/Shanghai (RFC 3339 with its offset)."""
    return to_local(value) if value else None


def _ref(unit: Unit) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name}


def _split_out(a: Assignment, today: date) -> dict[str, Any]:
    return {**assignment_out(a, today), "unit_name": a.unit.name}


def link_out(r: LinkRow) -> dict[str, Any]:
    o = r.other
    return dict(
        id=r.link.id,
        kind=r.link.kind,
        role=r.role,
        task_id=o.id,
        title=o.title,
        done=o.done,
        open_units=o.open_units,
    )


def _task_out(t: Task, links: list[LinkRow]) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "project_id": t.project_id,
        "project": t.context_label,
        "title": t.title,
        "requirements": t.requirements,
        "category_id": t.category_id,
        "category": t.category.name if t.category else None,
        "lead_leader": t.lead_leader,
        "priority": t.priority,
        "deadline_kind": t.deadline_kind,
        "deadline": t.deadline,
        "deadline_label": t.deadline_label,
        "recurrence": t.recurrence,
        "report_every": t.report_every,
        "notes": t.notes,
        "owner_unit": _ref(t.owner_unit),
        "links": [link_out(r) for r in links],
    }


def _action_labels() -> dict[str, str]:
    """What the item page's timeline calls each action (one list, kept in its template)."""
    return current_app.jinja_env.get_template("_timeline.html").module.ACTIONS


def _history_entry_out(e: HistoryEntry, page: HistoryPage, labels: dict[str, str]) -> dict[str, Any]:
    common = {"at": _local(e.at), "actor_id": e.actor_id, "actor": e.actor}
    if e.kind == REPORT:
        r = e.report
        return {
            "kind": e.kind,
            "id": r.id,
            **common,
            "action": "report.create",
            "action_label": labels.get("report.create", "进度反馈"),
            "object_type": "ProgressReport",
            "before": None,
            "after": None,
            "text": r.text,
            "percent": r.percent,
            "submitted": r.submitted,
            "attachments": [
                {
                    "id": f.id,
                    "name": f.original_name,
                    "content_type": f.content_type,
                    "size": f.size,
                    "url": url_for("tasks.attachment", attachment_id=f.id),
                }
                for f in page.files.get(r.id, [])
            ],
        }
    j = e.journal
    return {
        "kind": e.kind,
        "id": j.id,
        **common,
        "action": j.action,
        "action_label": labels.get(j.action, j.action),
        "object_type": j.object_type,
        "before": j.before,
        "after": j.after,
        "text": None,
        "percent": None,
        "submitted": None,
        "attachments": [],
    }


def _history_out(a: Assignment, page: HistoryPage) -> dict[str, Any]:
    labels = _action_labels()
    following = (
        url_for(
            "api.assignment_detail",
            assignment_id=a.id,
            history_page=page.page + 1,
            history_per_page=page.per_page,
        )
        if page.has_next
        else None
    )
    return {
        "items": [_history_entry_out(e, page, labels) for e in page.entries],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "next": following,
    }


def _progress_basis(a: Assignment, children: list, steps: list) -> str:
    """Where the progress comes from (as recompute_progress derives it)."""
    if children:
        return "children"
    if a.progress_override is not None:
        return "report"
    return "steps" if steps else "none"


def detail_out(
    a: Assignment,
    *,
    parent: Assignment | None,
    children: list[Assignment],
    steps: list[AssignmentStep],
    extensions: list[ExtensionRequest],
    history: HistoryPage,
    today: date,
    links: list[LinkRow],
) -> dict[str, Any]:
    """The assignment in full, as AssignmentDetailOut dumps it (`parent` only when the
    caller may see it)."""
    person = a.responsible_user
    return {
        **assignment_out(a, today),
        "status_label": a.status_label,
        "due_state": light(a, today),
        "light": traffic_light_of(a, today),
        "progress_basis": _progress_basis(a, children, steps),
        "unit": _ref(a.unit),
        "assigned_by_unit": _ref(a.assigned_by_unit),
        "responsible_user": {"id": person.id, "display_name": person.display_name} if person else None,
        "created_at": _local(a.created_at),
        "updated_at": _local(a.updated_at),
        "acknowledged_at": _local(a.acknowledged_at),
        "submitted_at": _local(a.submitted_at),
        "closed_at": _local(a.closed_at),
        "closed_on": a.closed_on,
        "last_report_at": _local(a.last_report_at),
        "task": _task_out(a.task, links),
        "parent_id": a.parent_id,
        "parent": _split_out(parent, today) if parent else None,
        "children": [_split_out(c, today) for c in children],
        "steps": [
            {
                "id": s.id,
                "kind": s.kind,
                "title": s.title,
                "due": s.due,
                "done": s.done_at is not None,
                "done_at": _local(s.done_at),
            }
            for s in steps
        ],
        "extensions": [
            {
                "id": e.id,
                "status": e.status,
                "current_deadline": e.current_deadline,
                "requested_deadline": e.requested_deadline,
                "reason": e.reason,
                "comment": e.comment,
                "created_at": _local(e.created_at),
                "decided_at": _local(e.decided_at),
            }
            for e in extensions
        ],
        "history": _history_out(a, history),
    }
