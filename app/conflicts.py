"""The conflict page (409) every versioned form ends on when somebody else saved the
object first: field by field what the user submitted beside what is saved now, who
saved it and when (from the journal), and the user's input kept — to copy, or to send
again on top of the current version. Built from the form and the object alone, so one
template serves every versioned form (app/templates/conflict.html)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from app.errors import Conflict, MissingVersion
from app.extensions import db
from app.journal import JournalEntry, actors_of, field_label, field_value
from app.timeutil import utcnow

HIDDEN_FIELDS = {"csrf_token", "version", "loaded_at"}
FILE_TYPES = {"FileField", "MultipleFileField"}
TEXT_TYPES = {"StringField", "TextAreaField", "DateField", "IntegerField", "FloatField", "DecimalField"}
# Where the latest copy of each kind of object is shown (when the form's own URL has no page).
PAGES = {
    "Assignment": lambda o: url_for("tasks.assignment_detail", assignment_id=o.id),
    "Task": lambda o: url_for("tasks.task_detail", task_id=o.id),
    "Project": lambda o: url_for("tasks.project_detail", project_id=o.id),
    "Visit": lambda o: url_for("visits.visit_detail", visit_id=o.id),
    "ChecklistEntry": lambda o: url_for(
        "checklists.checklist_detail", checklist_id=o.checklist_id, _anchor=f"e{o.id}"
    ),
    "Unit": lambda o: url_for("org.unit_detail", unit_id=o.id),
    "User": lambda o: url_for("org.user_edit", user_id=o.id),
    "Circular": lambda o: url_for("reminders.circular_detail", circular_id=o.id),
    "ReminderRule": lambda o: url_for("reminders.rules_list"),
    "DisplayToken": lambda o: url_for("dashboard.displays"),
    "SavedView": lambda o: url_for("savedviews.open_view", view_id=o.id),  # 我的查询 (issue 15)
    "Comment": lambda o: url_for("discussion.comment_edit", comment_id=o.id),  # issue 15
}
KIND_LABELS = {
    "Assignment": "承办事项",
    "Task": "事项",
    "Project": "项目",
    "Visit": "督导走访",
    "ChecklistEntry": "检查项",
    "Unit": "单位",
    "User": "用户",
    "Circular": "通报",
    "ReminderRule": "提醒规则",
    "DisplayToken": "上墙显示屏",
    "SavedView": "我的查询",  # issue 15
    "Comment": "评论",  # issue 15, discussion
}
# What the object looks like now, for forms whose fields are actions (审核结论, 签收 …)
# rather than the object's own fields.
STATE = {
    "Assignment": (("status", "状态"), ("deadline", "完成时限"), ("progress", "进度")),
    "ChecklistEntry": (("status_label", "状态"), ("comment", "意见")),
    "Visit": (("status_label", "状态"),),
}
# Current values of form fields the object keeps under another shape.
DERIVED = {
    "Task": {"cooperator_ids": lambda t: [c.unit_id for c in t.cooperators]},
    "Visit": {
        "leader_ids": lambda v: [x.user_id for x in v.leaders],
        "target_ids": lambda v: [x.unit_id for x in v.targets],
    },
}


@dataclass
class ConflictRow:
    name: str
    label: str
    yours: str  # as a person reads it
    current: str | None  # None: the object has no such field (an action's input)
    raw: list[str] = field(default_factory=list)  # as submitted, to post again
    editable: bool = True
    others_changed: bool = False

    @property
    def differs(self) -> bool:
        return self.current is not None and self.current != self.yours


def _describe(obj: Any) -> str:
    task = getattr(obj, "task", None)
    if task is not None and getattr(task, "title", None):
        unit = getattr(getattr(obj, "unit", None), "name", None)
        return task.title + (f"（{unit}）" if unit else "")
    if type(obj).__name__ == "ChecklistEntry":
        return f"{obj.code} {obj.title}"
    if type(obj).__name__ == "Comment":  # its first words (issue 15, discussion)
        return obj.body if len(obj.body) <= 20 else obj.body[:20] + "…"
    for name in ("title", "name", "display_name", "label"):
        value = getattr(obj, name, None)
        if value:
            return str(value)
    return f"#{obj.id}"


def _show(value: Any, key: str, choices: dict | None = None) -> str:
    """A value (submitted text or stored attribute) as a person reads it."""
    if isinstance(value, list | tuple | set):
        parts = [_show(v, key, choices) for v in value]
        return "、".join(sorted(p for p in parts if p != "—")) or "—"
    if choices:
        # a stored None is the form's "none" choice (0 or "") where it has one
        wanted = [value] if value not in (None, "") else [v for v in (0, "") if v in choices]
        for k, label in choices.items():
            if wanted and str(k) == str(wanted[0]):
                return str(label).strip()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return field_value(value, key)


def _choices(f: Any) -> dict | None:
    choices = getattr(f, "choices", None)
    if not choices:
        return None
    if isinstance(choices, dict):
        out = {}
        for k, v in choices.items():  # WTForms allows {group: [(value, label), ...]} too
            if isinstance(v, list | tuple):
                out.update(dict(v))
            else:
                out[k] = v
        return out
    return {c[0]: c[1] for c in choices}


def _rows(obj: Any, form: Any, since: set[str]) -> list[ConflictRow]:
    """Each submitted field: the user's value beside the saved one, where the object has it."""
    kind = type(obj).__name__
    derived = DERIVED.get(kind, {})
    fields = (
        [(f.name, f) for f in form if f.name not in HIDDEN_FIELDS and f.type not in FILE_TYPES]
        if form is not None
        else [(name, None) for name in request.form if name not in HIDDEN_FIELDS]
    )
    rows = []
    for name, f in fields:
        raw = request.form.getlist(name)
        if f is not None and f.type == "BooleanField":
            yours = "是" if raw and raw[0] not in ("", "n", "false", "0") else "否"
        else:
            choices = _choices(f) if f is not None else None
            yours = _show(
                raw
                if len(raw) > 1 or (f is not None and "Multiple" in f.type)
                else (raw[0] if raw else None),
                name,
                choices,
            )
        current = None
        if name in derived:
            current = _show(derived[name](obj), name, _choices(f) if f is not None else None)
        elif name in obj.__class__.__mapper__.attrs:
            value = getattr(obj, name)
            if f is not None and f.type == "BooleanField":
                current = "是" if value else "否"
            else:
                current = _show(value, name, _choices(f) if f is not None else None)
        label = f.label.text if f is not None else field_label(name)
        editable = f is None or (f.type in TEXT_TYPES)
        rows.append(ConflictRow(name, label, yours, current, raw, editable and len(raw) <= 1, name in since))
    return rows


def _loaded_at() -> datetime | None:
    try:
        value = datetime.fromisoformat(request.form.get("loaded_at", ""))
    except ValueError:
        return None
    return value.replace(tzinfo=None) if value.tzinfo is None else None


def _journal_subjects(obj: Any) -> Any:
    """The journal rows that tell an object's story: its own, and for an assignment
    those of its reports, steps and extension requests (each changes it)."""
    from sqlalchemy import and_, or_

    own = and_(JournalEntry.object_type == type(obj).__name__, JournalEntry.object_id == obj.id)
    if type(obj).__name__ != "Assignment":
        return own
    from app.tasks.models import AssignmentStep, ExtensionRequest, ProgressReport

    parts = [own]
    for model in (ProgressReport, AssignmentStep, ExtensionRequest):
        ids = select(model.id).where(model.assignment_id == obj.id)
        parts.append(and_(JournalEntry.object_type == model.__name__, JournalEntry.object_id.in_(ids)))
    return or_(*parts)


def _changes(obj: Any) -> tuple[list[JournalEntry], bool]:
    """The object's journal since the user loaded the page (exact when the form said
    when; else its latest saves)."""
    stmt = select(JournalEntry).where(_journal_subjects(obj))
    loaded = _loaded_at()
    if loaded is not None:
        since = stmt.where(JournalEntry.at > loaded)
        entries = list(db.session.scalars(since.order_by(JournalEntry.at, JournalEntry.id)))
        if entries:
            return entries, True
    latest = stmt.order_by(JournalEntry.at.desc(), JournalEntry.id.desc()).limit(3)
    return list(reversed(list(db.session.scalars(latest)))), False


def _back_url(obj: Any) -> str:
    """Where to see the latest copy: the form's own page when it has one."""
    try:
        current_app.url_map.bind("").match(request.path, method="GET")
        return request.path
    except HTTPException:
        pass
    page = PAGES.get(type(obj).__name__)
    if page is not None:
        try:
            return page(obj)
        except BuildError:
            pass
    return url_for("main.index")


def conflict_page(exc: Conflict, form: Any = None, *, reapply: bool = True) -> Any:
    """The 409 page: what changed since the user loaded the form (field by field, who
    saved it and when, from the journal), with everything they typed kept — to copy,
    or to submit again on top of the current version."""
    obj = exc.obj
    entries, exact = _changes(obj)
    since = set()  # fields somebody else changed since the page was loaded
    for e in entries if exact else []:
        if e.actor_id == getattr(current_user, "id", None):
            continue
        for key, value in (e.after or {}).items():
            if (e.before or {}).get(key) != value:
                since.add(key)
    rows = _rows(obj, form, since)
    state = [
        (label, _show(getattr(obj, attr), attr))
        for attr, label in STATE.get(type(obj).__name__, ())
        if attr not in {r.name for r in rows}
    ]
    html = render_template(
        "conflict.html",
        exc=exc,
        missing=isinstance(exc, MissingVersion),
        obj=obj,
        kind=KIND_LABELS.get(type(obj).__name__, "记录"),
        what=_describe(obj),
        rows=rows,
        state=state,
        entries=entries,
        exact=exact,
        users=actors_of(entries),
        back=_back_url(obj),
        action=request.path,
        multipart=request.mimetype == "multipart/form-data",
        had_files=any(f.filename for f in request.files.getlist("files")) if request.files else False,
        reapply=reapply and not isinstance(exc.current_version, type(None)),
        current_version=exc.current_version,
        now=utcnow().isoformat(),
    )
    return current_app.response_class(html, status=409, mimetype="text/html")
