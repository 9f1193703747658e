"""Writes on projects, items and assignments. Each takes `actor` and `now`, checks
the policy for the transition it makes, journals, flushes, never commits.

`create_task` and `assign_task` also build an import's many new items: given
`batch=NewItems()`, they check and build each item exactly as they do one, and the
batch writes them all at once (app/tasks/writing.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from app import attachments, authz
from app.deadlines import next_report_due, periods
from app.errors import ServiceError, hold_version
from app.extensions import db
from app.journal import record, snapshot
from app.notifications import notify_users
from app.org.models import Unit, UnitClosure, User, UserRole
from app.tasks.models import (
    DEADLINE_KINDS,
    PRIORITIES,
    RECURRENCES,
    STATUSES,
    Assignment,
    AssignmentStep,
    Category,
    CompletionReview,
    ExtensionRequest,
    ProgressReport,
    Project,
    Task,
    TaskCooperator,
)
from app.tasks.writing import (
    ONE_BY_ONE,
    NewItems,
    OneByOne,
    unit_people,
    unstaffed_message,
    workers,
)
from app.tasks.writing import units_without_people as units_without_people  # for the import preview
from app.timeutil import to_local
from app.validation import allow as _allow
from app.validation import clean_text as _text

PROJECT_FIELDS = ("name", "owner_unit_id", "start", "end", "description", "is_active")
TASK_FIELDS = (
    "title",
    "requirements",
    "category_id",
    "lead_leader",
    "priority",
    "deadline_kind",
    "deadline",
    "recurrence",
    "report_every",
    "notes",
)
ASSIGNMENT_FIELDS = (
    "status",
    "deadline",
    "original_deadline",
    "progress",
    "progress_override",
    "responsible_user_id",
)


def _local_date(now: datetime) -> date:
    return to_local(now).date()


# ---------------------------------------------------------------- projects


def create_project(
    actor: User,
    *,
    name: str,
    owner_unit: Unit,
    start: date,
    end: date,
    description: str | None = None,
    now: datetime,
) -> Project:
    """A workstream owned by a unit in the actor's subtree."""
    _allow(actor, "project.create", None, "您无权新建项目。")
    if not authz.sees(actor, owner_unit):
        raise ServiceError("项目所属单位不在您的管辖范围内。")
    if start is None or end is None:
        raise ServiceError("请填写项目的起止日期。")
    if end < start:
        raise ServiceError("项目结束日期不能早于开始日期。")
    project = Project(
        name=_text(name, "项目名称", 100),
        owner_unit_id=owner_unit.id,
        start=start,
        end=end,
        description=_text(description, "项目说明", 5000, required=False),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(project)
    db.session.flush()
    record(
        actor,
        "project.create",
        project,
        None,
        snapshot(project, PROJECT_FIELDS),
        unit_id=owner_unit.id,
        now=now,
    )
    return project


def update_project(
    actor: User,
    project: Project,
    *,
    name: str,
    start: date,
    end: date,
    description: str | None,
    expected_version: Any,
    now: datetime,
) -> Project:
    hold_version(project, expected_version, now)
    _allow(actor, "project.edit", project, "您无权修改该项目。")
    if end < start:
        raise ServiceError("项目结束日期不能早于开始日期。")
    first = db.session.scalar(select(func.min(Task.deadline)).where(Task.project_id == project.id))
    if first and first < start:
        raise ServiceError(f"已有事项的完成时限（{first}）早于新的开始日期。")
    before = snapshot(project, PROJECT_FIELDS)
    project.name = _text(name, "项目名称", 100)
    project.start, project.end = start, end
    project.description = _text(description, "项目说明", 5000, required=False)
    project.updated_at = now
    db.session.flush()
    record(
        actor,
        "project.update",
        project,
        before,
        snapshot(project, PROJECT_FIELDS),
        unit_id=project.owner_unit_id,
        now=now,
    )
    return project


# ---------------------------------------------------------------- items


def _check_deadline(
    project: Project, kind: str, deadline: date | None, recurrence: str | None, report_every: str | None
) -> None:
    if kind not in DEADLINE_KINDS:
        raise ServiceError("请选择完成时限的类型。")
    if kind == "date":
        if deadline is None:
            raise ServiceError("请填写完成时限。", "deadline")
        if deadline < project.start:
            raise ServiceError(f"完成时限 {deadline} 早于项目开始日期 {project.start}。", "deadline")
    if kind == "recurring" and recurrence not in RECURRENCES:
        raise ServiceError("请选择周期：每月、每季度或每半年。", "recurrence")
    if kind == "ongoing" and report_every and report_every not in RECURRENCES:
        raise ServiceError("请选择长期坚持事项的报送周期。", "report_every")


def _cooperators(actor: User, units: list[Unit]) -> list[TaskCooperator]:
    return [TaskCooperator(unit_id=u.id) for u in dict.fromkeys(units)]


def create_task(
    actor: User,
    project: Project,
    *,
    title: str,
    requirements: str | None = None,
    category: Category | None = None,
    lead_leader: str | None = None,
    cooperators: list[Unit] | None = None,
    priority: str = "normal",
    deadline_kind: str = "date",
    deadline: date | None = None,
    recurrence: str | None = None,
    report_every: str | None = None,
    notes: str | None = None,
    source_key: str | None = None,
    now: datetime,
    batch: NewItems | None = None,
) -> Task:
    """A list item owned by the actor's unit, in a project the actor can see. With
    `batch`, checked and built the same, and written later with the batch's others."""
    writes = batch or ONE_BY_ONE
    writes.allow(actor, "project.add_task", project, "您无权在该项目中添加事项。")
    if priority not in PRIORITIES:
        raise ServiceError("请选择优先级。")
    _check_deadline(project, deadline_kind, deadline, recurrence, report_every)
    # Every journaled field and default set here, so that an item not yet saved (in a
    # batch) is already the row that will be saved.
    task = Task(
        kind="task",
        project=project,
        project_id=project.id,
        owner_unit_id=actor.unit_id,
        title=_text(title, "任务名称", 200),
        requirements=_text(requirements, "工作要求", 5000, required=False),
        category_id=category.id if category else None,
        lead_leader=_text(lead_leader, "牵头领导", 50, required=False),
        priority=priority,
        deadline_kind=deadline_kind,
        deadline=deadline if deadline_kind == "date" else None,
        recurrence=recurrence if deadline_kind == "recurring" else None,
        report_every=(report_every or "quarterly") if deadline_kind == "ongoing" else None,
        notes=_text(notes, "备注", 2000, required=False),
        source_key=source_key,
        created_by_id=actor.id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    task.cooperators = _cooperators(actor, cooperators or [])
    writes.add(actor, "task.create", [task], TASK_FIELDS, unit_id=task.owner_unit_id, now=now)
    return task


def update_task(
    actor: User,
    task: Task,
    *,
    title: str,
    requirements: str | None,
    category: Category | None,
    lead_leader: str | None,
    cooperators: list[Unit],
    priority: str,
    deadline_kind: str,
    deadline: date | None,
    recurrence: str | None,
    report_every: str | None,
    notes: str | None,
    expected_version: Any,
    now: datetime,
) -> Task:
    """Edit an item. A new date deadline moves the open assignments that had the old one."""
    hold_version(task, expected_version, now)
    _allow(actor, "task.edit", task, "您无权修改该事项。")
    if priority not in PRIORITIES:
        raise ServiceError("请选择优先级。")
    if deadline_kind != task.deadline_kind and _assignment_count(task):
        raise ServiceError("事项已交办，不能再更改完成时限的类型。")
    _check_deadline(task.project, deadline_kind, deadline, recurrence, report_every)
    before = snapshot(task, TASK_FIELDS)
    old_deadline = task.deadline
    task.title = _text(title, "任务名称", 200)
    task.requirements = _text(requirements, "工作要求", 5000, required=False)
    task.category_id = category.id if category else None
    task.lead_leader = _text(lead_leader, "牵头领导", 50, required=False)
    task.priority = priority
    task.deadline_kind = deadline_kind
    task.deadline = deadline if deadline_kind == "date" else None
    task.recurrence = recurrence if deadline_kind == "recurring" else None
    task.report_every = (report_every or "quarterly") if deadline_kind == "ongoing" else None
    task.notes = _text(notes, "备注", 2000, required=False)
    task.cooperators = _cooperators(actor, cooperators)
    task.updated_at = now
    if deadline_kind == "date" and deadline != old_deadline:
        for a in db.session.scalars(
            select(Assignment).where(
                Assignment.task_id == task.id,
                Assignment.status != "closed",
                Assignment.deadline == old_deadline,
            )
        ):
            _set_assignment(actor, a, "assignment.deadline_changed", now, deadline=deadline)
    db.session.flush()
    record(
        actor, "task.update", task, before, snapshot(task, TASK_FIELDS), unit_id=task.owner_unit_id, now=now
    )
    return task


def _assignment_count(task: Task) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.task_id == task.id)
    )


def _set_assignment(actor: User | None, a: Assignment, action: str, now: datetime, **changes: Any) -> None:
    """Apply changes to an assignment and journal them (before → after)."""
    before = snapshot(a, ASSIGNMENT_FIELDS)
    for key, value in changes.items():
        setattr(a, key, value)
    a.updated_at = now
    db.session.flush()
    record(actor, action, a, before, snapshot(a, ASSIGNMENT_FIELDS), unit_id=a.unit_id, now=now)


def _unit_user_ids(unit_ids: list[int]) -> list[int]:
    """The active people of these units who work on items handed to them."""
    return [user_id for _, user_id in unit_people(unit_ids, workers())]


def _nearest(unit_id: int, roles: tuple[str, ...], *, self_roles: tuple[str, ...] = ()) -> list[int]:
    """The active people holding `roles` (in the unit itself also `self_roles`) of the
    unit — or, where it has none, of the first unit above it that has some. One query."""
    rows = db.session.execute(
        select(UnitClosure.depth, User.id, UserRole.role)
        .join(User, User.unit_id == UnitClosure.ancestor_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UnitClosure.descendant_id == unit_id, User.active.is_(True))
        .where(UserRole.role.in_(roles + self_roles))
        .order_by(UnitClosure.depth, User.id)
    ).all()
    found: dict[int, list[int]] = {}
    for depth, user_id, role in rows:
        if role in roles or (depth == 0 and role in self_roles):
            found.setdefault(depth, []).append(user_id)
    if not found:
        return []
    return list(dict.fromkeys(found[min(found)]))


def assigning_side_people(a: Assignment) -> list[int]:
    """Who reviews what the unit hands back, and decides its extension requests (the
    policy's assigning side, nearest first): a rectification's verifier (else the
    leaders above the unit that made the visit); otherwise the assigning unit's
    专班 and 联络员 (and its 强基办 reviewers) — or, where it has none, those of the
    first unit above it that has some."""
    if a.task.kind == "rectification":
        verifier = db.session.get(User, a.task.verifier_id) if a.task.verifier_id else None
        if verifier is not None and verifier.active:
            return [verifier.id]
        parent = db.session.get(Unit, a.assigned_by_unit_id).parent_id
        return _nearest(parent, ("leader",)) if parent else []
    return _nearest(a.assigned_by_unit_id, authz.REVIEWER_ROLES, self_roles=("reviewer",))


def _refuse_unstaffed(writes: OneByOne, units: list[Unit]) -> None:
    """An item handed to a unit with nobody there would wait unheard: refused, naming them."""
    empty = writes.unstaffed([u.id for u in units])
    if empty:
        raise ServiceError(unstaffed_message([u.name for u in units if u.id in empty]), "unit_ids")


def _due_text(a: Assignment) -> str:
    return f"（完成时限 {a.deadline.isoformat()}）" if a.deadline else ""


def _new_assignments(
    actor: User,
    task: Task,
    unit: Unit,
    assigned_by_unit_id: int,
    parent: Assignment | None,
    now: datetime,
    writes: OneByOne = ONE_BY_ONE,
) -> list[Assignment]:
    today = _local_date(now)
    if task.deadline_kind == "recurring":
        start = max(task.project.start, today.replace(day=1))
        slots = periods(start, task.project.end, task.recurrence or "monthly")
        if not slots:
            raise ServiceError("项目已经结束，不能再交办周期性事项。")
    elif task.deadline_kind == "ongoing":
        first = next_report_due(max(today, task.project.start), task.report_every)
        slots = [("", first)]
    else:
        slots = [("", parent.deadline if parent else task.deadline)]
    created = []
    for label, due in slots:
        if parent is not None and parent.period_label:
            label, due = parent.period_label, parent.deadline
        a = Assignment(
            task=task,
            task_id=task.id,
            unit_id=unit.id,
            assigned_by_unit_id=assigned_by_unit_id,
            parent_id=parent.id if parent else None,
            period_label=label,
            status="pending",
            deadline=due,
            original_deadline=due,
            progress=0,
            created_at=now,
            updated_at=now,
        )
        created.append(a)
        if parent is not None:
            break
    writes.add(actor, "assignment.create", created, ASSIGNMENT_FIELDS, unit_id=unit.id, now=now)
    return created


def assign_task(
    actor: User,
    task: Task,
    units: list[Unit],
    *,
    expected_version: Any,
    now: datetime,
    batch: NewItems | None = None,
) -> list[Assignment]:
    """交办: one assignment per responsible unit (per period for recurring items). The
    item's version moves on, so two assigners working from one page cannot both pass.
    With `batch`, a new item of that batch, assigned in it (written with it)."""
    writes = batch or ONE_BY_ONE
    writes.hold_version(task, expected_version, now)
    writes.allow(actor, "task.assign", task, "您无权交办该事项。")
    units = list(dict.fromkeys(units))
    if not units:
        raise ServiceError("请选择至少一个责任单位。", "unit_ids")
    already = writes.assigned_units(task)
    for unit in units:
        if not writes.can(actor, "unit.assign_to", unit):
            raise ServiceError(f"“{unit.name}”不在您的下级单位范围内（或已停用），不能交办。", "unit_ids")
        if unit.id in already:
            raise ServiceError(f"该事项已经交办给“{unit.name}”。", "unit_ids")
    _refuse_unstaffed(writes, units)
    created: list[Assignment] = []
    for unit in units:
        created += _new_assignments(actor, task, unit, task.owner_unit_id, None, now, writes)
    writes.notify([u.id for u in units], lambda: _assigned_notice(actor, task, now))
    return created


def _assigned_notice(actor: User, task: Task, now: datetime) -> dict:
    """What the responsible units' people are told of a new assignment (once a day per item)."""
    return {
        "kind": "assigned",
        "subject_type": "Task",
        "subject_id": task.id,
        "message": f"新交办事项：{task.title}",
        "dedupe_key": f"assigned:task:{task.id}:{now.date()}",
        "actor_id": actor.id,
        "now": now,
    }


class AlreadyHeld(ServiceError):
    """A split to units that already hold the same item (say, a tribunal that got it
    straight from the intermediate court): nothing is written until the splitter
    confirms. `existing`: what they hold, as the confirmation shows it."""

    status = 409

    def __init__(self, message: str, existing: list[dict]):
        super().__init__(message, "unit_ids")
        self.existing = existing


def held_elsewhere(parent: Assignment, unit_ids: list[int]) -> list[dict]:
    """The assignments of the same item (and period) these units already hold other than
    as this assignment's splits: {id, unit_id, unit, by, status}, one query."""
    if not unit_ids:
        return []
    by = Unit.__table__.alias("by_unit")
    rows = db.session.execute(
        select(Assignment.id, Assignment.unit_id, Unit.name, by.c.name, Assignment.status)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(by, by.c.id == Assignment.assigned_by_unit_id)
        .where(
            Assignment.task_id == parent.task_id,
            Assignment.period_label == parent.period_label,
            Assignment.unit_id.in_(unit_ids),
            (Assignment.parent_id != parent.id) | Assignment.parent_id.is_(None),
            Assignment.id != parent.id,
        )
        .order_by(Assignment.id)
    ).all()
    return [
        {"id": aid, "unit_id": uid, "unit": name, "by": by_name, "status": STATUSES.get(status, status)}
        for aid, uid, name, by_name, status in rows
    ]


def split_assignment(
    actor: User,
    parent: Assignment,
    units: list[Unit],
    *,
    expected_version: Any,
    now: datetime,
    confirmed: bool = False,
) -> list[Assignment]:
    """A base court hands its assignment on to its tribunals; its progress then rolls up.
    A unit that already holds the same item is split to only once the splitter has
    seen what it holds and `confirmed`. The split is on the assignment's 办理记录 and
    each tribunal's people are told."""
    hold_version(parent, expected_version, now)
    _allow(actor, "assignment.split", parent, "您无权分解该事项。")
    units = list(dict.fromkeys(units))
    if not units:
        raise ServiceError("请选择至少一个下级单位。", "unit_ids")
    below = set(db.session.scalars(authz.scope_unit_ids(actor))) - {actor.unit_id}
    existing = set(db.session.scalars(select(Assignment.unit_id).where(Assignment.parent_id == parent.id)))
    for unit in units:
        if unit.id not in below or not unit.is_active:
            raise ServiceError(f"“{unit.name}”不是本单位的下级单位，不能分解给它。", "unit_ids")
        if unit.id in existing:
            raise ServiceError(f"已经分解给“{unit.name}”。", "unit_ids")
    _refuse_unstaffed(ONE_BY_ONE, units)
    held = held_elsewhere(parent, [u.id for u in units])
    if held and not confirmed:
        listed = "、".join(f"“{h['unit']}”（{h['by']}交办，{h['status']}）" for h in held)
        raise AlreadyHeld(f"{listed}已经承办该事项，再分解将重复办理。确需分解，请确认“仍要分解”。", held)
    created: list[Assignment] = []
    for unit in units:
        created += _new_assignments(actor, parent.task, unit, parent.unit_id, parent, now)
    if parent.status == "pending":
        _set_assignment(actor, parent, "assignment.acknowledge", now, status="in_progress")
        parent.acknowledged_at = now
    names = "、".join(u.name for u in units)
    note = "；".join(f"{h['unit']}已由{h['by']}交办，经确认仍分解" for h in held)
    record(
        actor,
        "assignment.split",
        parent,
        None,
        {
            "message": f"分解给：{names}" + (f"（{note}）" if note else ""),
            "units": [u.id for u in units],
            "assignments": [c.id for c in created],
        },
        unit_id=parent.unit_id,
        now=now,
    )
    recompute_progress(parent, now)
    people: dict[int, list[int]] = {}
    for unit_id, user_id in unit_people([u.id for u in units], workers()):
        people.setdefault(unit_id, []).append(user_id)
    for child in created:
        notify_users(
            people.get(child.unit_id, []),
            kind="assigned",
            subject_type="Assignment",
            subject_id=child.id,
            message=f"{parent.unit.name}分解交办：{parent.task.title}{_due_text(child)}，请签收。",
            dedupe_key=f"split:{child.id}",
            actor_id=actor.id,
            now=now,
            email=True,
        )
    return created


# ---------------------------------------------------------------- progress


def recompute_progress(a: Assignment, now: datetime) -> None:
    """Progress is derived: from the children (average) when split; else from an
    explicit percent in the last report; else from ticked steps; and rolls upward."""
    children = list(db.session.scalars(select(Assignment.progress).where(Assignment.parent_id == a.id)))
    if children:
        value = round(sum(children) / len(children))
    elif a.progress_override is not None:
        value = a.progress_override
    else:
        total, done = db.session.execute(
            select(func.count(), func.count(AssignmentStep.done_at)).where(
                AssignmentStep.assignment_id == a.id
            )
        ).one()
        value = round(100 * done / total) if total else 0
    if a.status == "closed":
        value = 100
    a.progress = value
    db.session.flush()
    if a.parent_id:
        recompute_progress(db.session.get(Assignment, a.parent_id), now)


def acknowledge(actor: User, a: Assignment, *, expected_version: Any, now: datetime) -> Assignment:
    """签收."""
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.acknowledge", a, "该事项不能签收（已签收，或不是交办给本单位的）。")
    _set_assignment(actor, a, "assignment.acknowledge", now, status="in_progress")
    a.acknowledged_at = now
    if a.responsible_user_id is None:
        a.responsible_user_id = actor.id
    return a


def add_report(
    actor: User,
    a: Assignment,
    *,
    text: str,
    percent: int | None,
    files: list,
    submit: bool = False,
    expected_version: Any,
    now: datetime,
) -> ProgressReport:
    """进度反馈 with evidence; `submit` sends the item for review (待审核)."""
    hold_version(a, expected_version, now)
    action = "assignment.submit" if submit else "assignment.report"
    _allow(actor, action, a, "该事项当前不能反馈进度（已提交审核或已办结，或不是交办给本单位的）。")
    text = _text(text, "进展情况", 5000)
    if percent is not None and not 0 <= percent <= 100:
        raise ServiceError("完成百分比须在 0 到 100 之间。", "percent")
    checked = attachments.check_uploads(files)  # every file checked before anything is saved
    report = ProgressReport(
        assignment_id=a.id,
        author_id=actor.id,
        text=text,
        percent=percent,
        submitted=submit,
        created_at=now,
    )
    db.session.add(report)
    db.session.flush()
    attachments.store(
        checked,
        owner_type="ProgressReport",
        owner_id=report.id,
        unit_id=a.unit_id,
        actor_id=actor.id,
        now=now,
    )
    changes: dict[str, Any] = {"status": "submitted" if submit else "in_progress"}
    if percent is not None:
        changes["progress_override"] = percent
    if a.task.deadline_kind == "ongoing":
        changes["deadline"] = next_report_due(_local_date(now), a.task.report_every)
    if a.status == "pending":
        a.acknowledged_at = now
    a.last_report_at = now
    if submit:
        a.submitted_at = now
    _set_assignment(actor, a, "assignment.submit" if submit else "assignment.report", now, **changes)
    record(
        actor,
        "report.create",
        report,
        None,
        {"text": text, "percent": percent, "submitted": submit},
        unit_id=a.unit_id,
        now=now,
    )
    recompute_progress(a, now)
    if submit:
        _tell_reviewers(actor, a, report, now)
    return report


def _tell_reviewers(actor: User, a: Assignment, report: ProgressReport, now: datetime) -> None:
    """A submission waits for the assigning side: tell its reviewers (a rectification's
    verifier) once per submission."""
    unit = a.unit.name
    if a.task.kind == "rectification":
        message = f"【待销号】{unit}已反馈整改“{a.task.title}”，请核验销号。"
    else:
        message = f"【待审核】{unit}提交了“{a.task.title}”的办结材料，请审核。"
    notify_users(
        assigning_side_people(a),
        kind="submitted",
        subject_type="Assignment",
        subject_id=a.id,
        message=message,
        dedupe_key=f"submitted:{report.id}",
        actor_id=actor.id,
        now=now,
        email=True,
    )


def review(
    actor: User, a: Assignment, *, decision: str, comment: str | None, expected_version: Any, now: datetime
) -> Assignment:
    """审核: 办结 (approve) or 退回 (return, with a reason)."""
    hold_version(a, expected_version, now)
    if decision not in ("approve", "return"):
        raise ServiceError("审核结论只能是办结或退回。")
    _allow(actor, "assignment.review", a, "该事项当前不能审核（未提交审核，或您不是交办单位的审核人）。")
    comment = _text(comment, "退回理由", 2000, required=decision == "return")
    closing = "销号" if a.task.kind == "rectification" else "办结"
    if decision == "approve":
        open_children = db.session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.parent_id == a.id, Assignment.status != "closed")
        )
        if open_children:
            raise ServiceError(f"还有 {open_children} 个分解到下级单位的事项未办结。")
        _set_assignment(actor, a, "assignment.close", now, status="closed")
        a.closed_at = now
        a.closed_on = _local_date(now)
        recompute_progress(a, now)
        kind, message = "closed", f"事项已{closing}：{a.task.title}"
    else:
        # A return is not a loss of the work done: the last reported percent stays (the
        # page shows it beside the reason) until the unit reports a new one.
        _set_assignment(actor, a, "assignment.return", now, status="returned")
        kind, message = "returned", f"事项被退回：{a.task.title}。理由：{comment}"
    record(actor, f"review.{decision}", a, None, {"comment": comment}, unit_id=a.unit_id, now=now)
    notify_users(
        _unit_user_ids([a.unit_id]),
        kind=kind,
        subject_type="Assignment",
        subject_id=a.id,
        message=message,
        dedupe_key=f"{kind}:{a.id}:{a.version}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    return a


def request_extension(
    actor: User,
    a: Assignment,
    *,
    new_deadline: date | None,
    reason: str,
    expected_version: Any,
    now: datetime,
) -> ExtensionRequest:
    """延期申请: only before the deadline, for a later date, one at a time."""
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.request_extension", a, "该事项不能申请延期。")
    today = _local_date(now)
    if a.deadline is None:
        raise ServiceError("该事项没有完成时限，无需延期。")
    if today > a.deadline:
        raise ServiceError("已超过完成时限，不能再申请延期，请尽快办理并反馈。")
    if new_deadline is None or new_deadline <= a.deadline:
        raise ServiceError(f"新的完成时限须晚于当前时限 {a.deadline}。", "new_deadline")
    pending = db.session.scalar(
        select(func.count())
        .select_from(ExtensionRequest)
        .where(ExtensionRequest.assignment_id == a.id, ExtensionRequest.status == "pending")
    )
    if pending:
        raise ServiceError("已有一份延期申请在等待审批。")
    req = ExtensionRequest(
        assignment_id=a.id,
        requested_by_id=actor.id,
        current_deadline=a.deadline,
        requested_deadline=new_deadline,
        reason=_text(reason, "延期理由", 2000),
        created_at=now,
    )
    db.session.add(req)
    db.session.flush()
    record(
        actor,
        "extension.request",
        req,
        None,
        {"from": a.deadline, "to": new_deadline, "reason": req.reason},
        unit_id=a.unit_id,
        now=now,
    )
    notify_users(
        assigning_side_people(a),
        kind="extension",
        subject_type="Assignment",
        subject_id=a.id,
        message=f"【延期申请】{a.unit.name}申请将“{a.task.title}”由 {a.deadline} 延至 {new_deadline}，"
        f"理由：{req.reason}。请审批。",
        dedupe_key=f"extension:{req.id}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    return req


def decide_extension(
    actor: User,
    req: ExtensionRequest,
    *,
    grant: bool,
    comment: str | None,
    expected_version: Any,
    now: datetime,
    new_deadline: date | None = None,
) -> ExtensionRequest:
    """Grant (the new deadline is recorded, the original kept) or refuse.
    `expected_version` is the assignment's, as shown beside the request."""
    a = db.session.get(Assignment, req.assignment_id)
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.decide_extension", a, "您无权审批该延期申请。")
    if req.status != "pending":
        raise ServiceError("该延期申请已经处理过了。")
    req.status = "granted" if grant else "refused"
    req.decided_by_id = actor.id
    req.decided_at = now
    req.comment = _text(comment, "审批意见", 2000, required=not grant)
    if grant:
        target = new_deadline or req.requested_deadline
        if a.deadline and target <= a.deadline:
            raise ServiceError("批准的新时限须晚于当前时限。")
        _set_assignment(actor, a, "assignment.extend", now, deadline=target)
    db.session.flush()
    # The action names the decision; the values are what the 办理记录 shows beside it.
    record(
        actor,
        f"extension.{req.status}",
        req,
        None,
        {"to": a.deadline if grant else None, "comment": req.comment},
        unit_id=a.unit_id,
        now=now,
    )
    if grant:
        message = f"延期申请已同意：“{a.task.title}”的完成时限延至 {a.deadline}。"
    else:
        message = f"延期申请未同意：“{a.task.title}”的完成时限仍为 {a.deadline}。"
    notify_users(
        _unit_user_ids([a.unit_id]),
        kind="extension",
        subject_type="Assignment",
        subject_id=a.id,
        message=message + (f"意见：{req.comment}" if req.comment else ""),
        dedupe_key=f"extension-decided:{req.id}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    return req


def extend_directly(
    actor: User, a: Assignment, *, new_deadline: date, reason: str, expected_version: Any, now: datetime
) -> Assignment:
    """The assigner moves a deadline without a request (bulk 延期)."""
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.decide_extension", a, "您无权调整该事项的完成时限。")
    if a.deadline is not None and new_deadline <= a.deadline:
        raise ServiceError(f"新的完成时限须晚于当前时限 {a.deadline}。")
    _set_assignment(actor, a, "assignment.extend", now, deadline=new_deadline)
    record(
        actor, "extension.direct", a, None, {"to": new_deadline, "reason": reason}, unit_id=a.unit_id, now=now
    )
    notify_users(
        _unit_user_ids([a.unit_id]),
        kind="extension",
        subject_type="Assignment",
        subject_id=a.id,
        message=f"“{a.task.title}”的完成时限已调整为 {new_deadline}。"
        + (f"说明：{reason}" if reason else ""),
        dedupe_key=f"extended:{a.id}:{new_deadline}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    return a


def remind(actor: User, a: Assignment, *, message: str | None, now: datetime) -> int:
    """催办: notify the responsible unit's people (once per item per day)."""
    _allow(actor, "assignment.remind", a, "您无权催办该事项。")
    text = f"催办：{a.task.title}" + (f"。{message.strip()}" if message and message.strip() else "")
    added = notify_users(
        _unit_user_ids([a.unit_id]),
        kind="remind",
        subject_type="Assignment",
        subject_id=a.id,
        message=text,
        dedupe_key=f"remind:{a.id}:{_local_date(now)}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    record(
        actor,
        "assignment.remind",
        a,
        None,
        {"message": text, "recipients": added},
        unit_id=a.unit_id,
        now=now,
    )
    return added


# ---------------------------------------------------------------- steps


def add_step(
    actor: User,
    a: Assignment,
    *,
    kind: str,
    title: str,
    due: date | None,
    expected_version: Any,
    now: datetime,
) -> AssignmentStep:
    """A dated milestone or a checklist item on an assignment."""
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.steps", a, "您无权修改该事项的里程碑和清单。")
    if kind not in ("milestone", "check"):
        raise ServiceError("请选择里程碑或检查项。")
    if kind == "milestone" and due is None:
        raise ServiceError("里程碑须有日期。", "due")
    count = db.session.scalar(
        select(func.count()).select_from(AssignmentStep).where(AssignmentStep.assignment_id == a.id)
    )
    step = AssignmentStep(
        assignment_id=a.id, kind=kind, title=_text(title, "内容", 200), due=due, sort_order=count
    )
    db.session.add(step)
    db.session.flush()
    record(
        actor, "step.create", step, None, snapshot(step, ("kind", "title", "due")), unit_id=a.unit_id, now=now
    )
    recompute_progress(a, now)
    return step


def toggle_step(
    actor: User, step: AssignmentStep, *, done: bool, files: list, expected_version: Any, now: datetime
) -> AssignmentStep:
    """Tick (with optional evidence) or untick a step. `expected_version` is the
    assignment's: the steps are edited on its page."""
    a = db.session.get(Assignment, step.assignment_id)
    hold_version(a, expected_version, now)
    _allow(actor, "assignment.steps", a, "您无权修改该事项的里程碑和清单。")
    checked = attachments.check_uploads(files)
    before = {"done": step.done_at is not None}
    step.done_at = now if done else None
    step.done_by_id = actor.id if done else None
    attachments.store(
        checked, owner_type="AssignmentStep", owner_id=step.id, unit_id=a.unit_id, actor_id=actor.id, now=now
    )
    db.session.flush()
    record(actor, "step.toggle", step, before, {"done": done}, unit_id=a.unit_id, now=now)
    recompute_progress(a, now)
    return step


# ---------------------------------------------------------------- completion lists


def review_completion(
    actor: User,
    unit: Unit,
    *,
    decision: str,
    comment: str | None,
    project: Project | None,
    period_from: date | None,
    period_to: date | None,
    now: datetime,
) -> CompletionReview:
    """The high court confirms (审核确认) or returns a court's completion list."""
    _allow(actor, "completion.review", unit, "您无权审核该单位的完成清单。")
    if decision not in ("confirmed", "returned"):
        raise ServiceError("审核结论只能是确认或退回。")
    comment = _text(comment, "审核意见", 2000, required=decision == "returned")
    review_row = CompletionReview(
        unit_id=unit.id,
        project_id=project.id if project else None,
        period_from=period_from,
        period_to=period_to,
        decision=decision,
        comment=comment,
        reviewer_id=actor.id,
        created_at=now,
    )
    db.session.add(review_row)
    db.session.flush()
    record(actor, f"completion.{decision}", review_row, None, {"comment": comment}, unit_id=unit.id, now=now)
    return review_row


# ---------------------------------------------------------------- categories


def add_category(actor: User, name: str, *, now: datetime) -> Category:
    """Add a category to the editable list."""
    _allow(actor, "category.manage", None, "您无权管理类别。")
    name = _text(name, "类别名称", 30)
    if db.session.scalar(select(Category.id).where(Category.name == name)):
        raise ServiceError(f"类别“{name}”已存在。")
    order = db.session.scalar(select(func.coalesce(func.max(Category.sort_order), 0))) + 1
    category = Category(name=name, sort_order=order)
    db.session.add(category)
    db.session.flush()
    record(actor, "category.create", category, None, {"name": name}, now=now)
    return category


def toggle_category(actor: User, category: Category, *, now: datetime) -> Category:
    """Retire a category (items keep it) or bring it back."""
    _allow(actor, "category.manage", None, "您无权管理类别。")
    category.is_active = not category.is_active
    db.session.flush()
    record(actor, "category.toggle", category, None, {"is_active": category.is_active}, now=now)
    return category


# ---------------------------------------------------------------- rectifications


def create_rectification(
    actor: User,
    *,
    organizer_unit: Unit,
    verifier: User,
    unit: Unit,
    description: str,
    deadline: date | None,
    now: datetime,
) -> Assignment:
    """整改事项: an item (kind rectification) assigned to the unit where the problem was
    found, verified by the visiting leader. It then lives the life of any assignment:
    the same reports, evidence, derived 逾期/临期, lists and completion counts."""
    description = _text(description, "问题描述", 2000)
    if deadline is None:
        raise ServiceError("请填写整改时限。", "deadline")
    if deadline < _local_date(now):
        raise ServiceError("整改时限不能早于今天。", "deadline")
    task = Task(
        kind="rectification",
        project_id=None,
        owner_unit_id=organizer_unit.id,
        verifier_id=verifier.id,
        title="整改：" + (description if len(description) <= 60 else description[:58] + "……"),
        requirements=description,
        deadline_kind="date",
        deadline=deadline,
        priority="high",
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(task)
    db.session.flush()
    record(actor, "task.create", task, None, snapshot(task, TASK_FIELDS), unit_id=organizer_unit.id, now=now)
    (assignment,) = _new_assignments(actor, task, unit, organizer_unit.id, None, now)
    notify_users(
        _unit_user_ids([unit.id]),
        kind="rectification",
        subject_type="Assignment",
        subject_id=assignment.id,
        message=f"督导发现问题，请整改：{description[:80]}",
        dedupe_key=f"rectification:{assignment.id}",
        actor_id=actor.id,
        now=now,
        email=True,
    )
    return assignment
