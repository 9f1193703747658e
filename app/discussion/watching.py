"""Watchers (关注) hear of every change of what they watch, from one place: the journal.

Every write in the product is journaled (app/journal.py), so the journal's listener sees
every change of an item or a visit — a progress report, a review, an extension, a step, a
split, a finding, a comment — whatever service, page, API call or job made it. The
listener only notes the change in the session; when the transaction commits, one
statement per kind of subject finds the watchers to tell and one INSERT tells them:

- never the person who made the change;
- only while they still may see the object (the policy's SQL twin: their unit is one of
  the object's units or above one) and their account is active;
- not twice: one notification per change (subject, actor, moment) — the changes a
  service journals in several rows (a report and the item's new progress) are one — and
  none to a watcher who was told of this change already by the hand-off itself (a
  notification about the same subject at the same moment: 退回, 延期, a mention …).

A rolled-back transaction tells nobody. Read receipts (*.read) are not changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, exists, literal, select
from sqlalchemy.orm import Session, aliased

from app.discussion.models import Watch
from app.discussion.policy import assignment_viewer_clause, opens_pages, visit_viewer_clause
from app.journal import JournalEntry, on_record
from app.notifications import Notification, add_new_only
from app.org.models import User
from app.tasks.models import Assignment, Task
from app.visits.models import Visit

PENDING = "discussion.watch_changes"

# What a change is called in the watcher's notification (first match: exact, then prefix).
LABELS = {
    "comment.create": "发表了评论",
    "comment.edit": "修改了评论",
    "comment.withdraw": "撤回了评论",
    "report.create": "反馈了进度",
    "assignment.acknowledge": "签收",
    "assignment.submit": "提交审核",
    "assignment.return": "退回",
    "assignment.close": "办结",
    "review.approve": "",  # with assignment.close
    "review.return": "",  # with assignment.return
    "assignment.extend": "调整了完成时限",
    "assignment.deadline_changed": "变更完成时限",
    "assignment.remind": "催办",
    "assignment.split": "分解到下级单位",
    "task.update": "修改了事项",
    "visit.record": "登记了走访情况",
    "finding.create": "登记了发现的问题",
    "extension.request": "申请延期",
    "extension.granted": "同意延期",
    "extension.refused": "不同意延期",
    "extension.direct": "直接延期",
    "step.": "更新了里程碑/检查项",
    "link.add": "添加了关联",
    "link.remove": "移除了关联",
}

# The subject a journaled object belongs to, as (subject type, id) — without a query.
SUBJECT_OF = {
    "Assignment": lambda o: ("Assignment", o.id),
    "ProgressReport": lambda o: ("Assignment", o.assignment_id),
    "AssignmentStep": lambda o: ("Assignment", o.assignment_id),
    "ExtensionRequest": lambda o: ("Assignment", o.assignment_id),
    "Task": lambda o: ("Task", o.id),  # an item's edit reaches every assignment of it
    "Visit": lambda o: ("Visit", o.id),
    "Finding": lambda o: ("Visit", o.visit_id),
    "Comment": lambda o: (o.subject_type, o.subject_id),
}


def label(action: str) -> str:
    if action in LABELS:
        return LABELS[action]
    for prefix, text in LABELS.items():
        if prefix.endswith(".") and action.startswith(prefix):
            return text
    return ""


def _said(what: str, kind: str) -> str:
    """A rectification is closed by 销号, not 办结."""
    return what.replace("办结", "销号") if kind == "rectification" else what


def note_change(entry: JournalEntry, obj: Any) -> None:
    """Journal listener: remember (in the session) that this subject changed."""
    subject = SUBJECT_OF.get(entry.object_type)
    if subject is None or entry.action.endswith(".read") or entry.actor_id is None:
        return
    stype, sid = subject(obj)
    pending = _session().info.setdefault(PENDING, {})
    change = pending.setdefault((stype, sid, entry.actor_id, entry.at), [])
    if entry.action not in change:
        change.append(entry.action)


def _session() -> Session:
    from app.extensions import db

    return db.session()


def _tell_watchers(session: Session) -> None:
    """before_commit: notify the watchers of what this transaction changed."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    rows: list[dict] = []
    for (stype, sid, actor_id, at), actions in pending.items():
        rows.extend(_rows(stype, sid, actor_id, at, actions))
    if rows:
        add_new_only(rows, now=max(r["created_at"] for r in rows))


def _already_told(stype: str, subject_id: Any, at: datetime):
    """The hand-off (or a mention) told this person of this very change already."""
    return exists().where(
        Notification.recipient_id == User.id,
        Notification.subject_type == stype,
        Notification.subject_id == subject_id,
        Notification.created_at == at,
    )


def _rows(stype: str, sid: int, actor_id: int, at: datetime, actions: list[str]) -> list[dict]:
    from app.extensions import db

    what = "、".join(dict.fromkeys(filter(None, map(label, actions)))) or "作了修改"
    actor = aliased(User)
    actor_name = select(actor.display_name).where(actor.id == actor_id).scalar_subquery()
    if stype == "Visit":
        stmt = (
            select(Watch.user_id, Visit.id, Visit.title, actor_name, literal("visit"))
            .join(User, User.id == Watch.user_id)
            .join(Visit, Visit.id == Watch.subject_id)
            .where(Watch.subject_type == "Visit", Watch.subject_id == sid)
            .where(visit_viewer_clause(), ~_already_told("Visit", Visit.id, at))
        )
    else:
        which = Assignment.task_id == sid if stype == "Task" else Assignment.id == sid
        stmt = (
            select(Watch.user_id, Assignment.id, Task.title, actor_name, Task.kind)
            .join(User, User.id == Watch.user_id)
            .join(Assignment, Assignment.id == Watch.subject_id)
            .join(Task, Task.id == Assignment.task_id)
            .where(Watch.subject_type == "Assignment", which)
            .where(assignment_viewer_clause(), ~_already_told("Assignment", Assignment.id, at))
        )
    stmt = stmt.where(User.active.is_(True), opens_pages(), Watch.user_id != actor_id)
    subject_type = "Visit" if stype == "Visit" else "Assignment"
    return [
        {
            "recipient_id": user_id,
            "kind": "watch",
            "subject_type": subject_type,
            "subject_id": subject_id,
            "message": f"您关注的「{title}」：{name or '有人'}{_said(what, kind)}。",
            "dedupe_key": f"watch:{subject_type}:{subject_id}:{actor_id}:{at.isoformat()}",
            "created_by_id": actor_id,
            "created_at": at,
        }
        for user_id, subject_id, title, name, kind in db.session.execute(stmt)
    ]


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(PENDING, None)


def register() -> None:
    """The journal's listener, and the session's hooks (once per process)."""
    on_record(note_change)
    if not event.contains(Session, "before_commit", _tell_watchers):
        event.listen(Session, "before_commit", _tell_watchers)
        event.listen(Session, "after_rollback", _forget)
