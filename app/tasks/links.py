"""Links between items of one project (issue 15): 依赖 (an item waits for its 前置事项)
and 相关 (two items belong together). One link per pair, never an item to itself, and
no cycle of dependencies — checked in SQL (a recursive query over the links) in the
transaction that adds the link, after locking the project's row, so two people linking
A → B and B → A at once cannot both succeed.

An item is done (已完成) when it has been assigned and every unit it went to has
closed its assignment (办结; a split closes only after its parts): the status the
assignments carry, never a flag of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, exists, func, literal_column, or_, select, true
from sqlalchemy.orm import aliased

from app import authz
from app.errors import ServiceError
from app.extensions import db
from app.journal import record
from app.org.models import User
from app.tasks.models import LINK_KINDS, Assignment, Project, Task, TaskLink
from app.validation import allow

MAX_CHAIN = 200  # a dependency chain longer than any project has (the query's guard)
CHOICES_LIMIT = 500  # the items offered in the task page's link form


class NotVisible(ServiceError):
    """The other item does not exist for this user (another court's item): 404."""

    status = 404


# ---------------------------------------------------------------- what an item's links look like


def _open_units(t: Any):
    """The number of units that have not closed their assignment of item `t`."""
    return (
        select(func.count(func.distinct(Assignment.unit_id)))
        .where(Assignment.task_id == t.id, Assignment.parent_id.is_(None), Assignment.status != "closed")
        .correlate(t)
        .scalar_subquery()
    )


def _assigned(t: Any):
    return exists().where(Assignment.task_id == t.id).correlate(t)


def _visible(t: Any, user: Any):
    """Whether `user` may see item `t` (the policy's SQL clause, on the tasks table
    under its own name, tied to the alias by id)."""
    return exists().where(Task.id == t.id, authz.CLAUSES[Task](user)).correlate(t)


@dataclass(frozen=True)
class Other:
    """The item at the other end of a link, as this user may know it."""

    id: int
    title: str | None  # None: the user may not see it (its title is not shown)
    open_units: int
    assigned: bool

    @property
    def done(self) -> bool:
        return self.assigned and self.open_units == 0

    @property
    def warning(self) -> str:
        name = f"前置事项「{self.title}」" if self.title is not None else "一项前置事项（您无权查看）"
        if not self.assigned:
            return f"{name}尚未交办"
        return f"{name}尚未完成（{self.open_units} 个单位未办结）"


@dataclass(frozen=True)
class LinkRow:
    link: TaskLink
    role: str  # predecessor (this item depends on it) / successor / related
    other: Other

    @property
    def label(self) -> str:
        return {"predecessor": "前置事项", "successor": "后续事项", "related": "相关事项"}[self.role]


def _other_columns(other: Any, user: Any) -> tuple:
    return (
        other.id,
        case((_visible(other, user), other.title), else_=None),
        _open_units(other),
        _assigned(other),
    )


def links_of(task: Task, user: Any) -> list[LinkRow]:
    """Every link of the item, predecessors first, each with the other item's title (when
    the user may see it) and how far it is — one statement."""
    other = aliased(Task)
    other_id = case((TaskLink.from_task_id == task.id, TaskLink.to_task_id), else_=TaskLink.from_task_id)
    rows = db.session.execute(
        select(TaskLink, *_other_columns(other, user))
        .join(other, other.id == other_id)
        .where(or_(TaskLink.from_task_id == task.id, TaskLink.to_task_id == task.id))
        .order_by(TaskLink.kind, TaskLink.id)
    ).all()
    out = []
    for link, oid, title, open_units, assigned in rows:
        if link.kind == "related":
            role = "related"
        else:
            role = "predecessor" if link.from_task_id == task.id else "successor"
        out.append(LinkRow(link, role, Other(oid, title, open_units or 0, bool(assigned))))
    order = {"predecessor": 0, "successor": 1, "related": 2}
    return sorted(out, key=lambda r: order[r.role])


def waiting(rows: list[LinkRow]) -> list[Other]:
    """The predecessors not done yet (the dependent item's warning)."""
    return [r.other for r in rows if r.role == "predecessor" and not r.other.done]


def open_predecessors(task_id: Any, user: Any):
    """Subquery of the item's predecessors that are not done: (id, title or NULL,
    open_units, assigned) — joined into the assignment page's one statement."""
    pred = aliased(Task)
    open_units = _open_units(pred)
    return (
        select(
            *[
                c.label(n)
                for c, n in zip(
                    _other_columns(pred, user), ("id", "title", "open_units", "assigned"), strict=True
                )
            ]
        )
        .join(TaskLink, and_(TaskLink.to_task_id == pred.id, TaskLink.kind == "depends"))
        .where(TaskLink.from_task_id == task_id)
        .where(or_(open_units > 0, ~_assigned(pred)))
        .subquery("waiting")
    )


def waits(task_id: Any):
    """SQL: whether the item `task_id` (a column) has a predecessor not done — the
    project page's marker, a column of its per-item count."""
    pred = aliased(Task)
    not_done = or_(_open_units(pred) > 0, ~_assigned(pred))
    return exists(
        select(TaskLink.id)
        .join(pred, pred.id == TaskLink.to_task_id)
        .where(TaskLink.from_task_id == task_id, TaskLink.kind == "depends", not_done)
    )


def join_waiting(stmt: Any, task_id: Any, user: Any) -> tuple[Any, Any]:
    """`stmt` with the item's open predecessors joined beside each row (ON true: each
    row repeats once per predecessor, none when there is none)."""
    w = open_predecessors(task_id, user)
    return stmt.add_columns(w.c.id, w.c.title, w.c.open_units, w.c.assigned).outerjoin(w, true()), w


def link_choices(task: Task, user: Any) -> list[tuple[int, str]]:
    """The items of the same project the user may see and link to, by id (at most
    CHOICES_LIMIT)."""
    stmt = (
        authz.scope(select(Task.id, Task.title), Task, user)
        .where(Task.project_id == task.project_id, Task.id != task.id, Task.kind == "task")
        .order_by(Task.id)
        .limit(CHOICES_LIMIT)
    )
    return [(tid, title) for tid, title in db.session.execute(stmt)]


# ---------------------------------------------------------------- writes


def _chain(from_id: int, to_id: int) -> list[int] | None:
    """The dependency path from `to_id` back to `from_id` through the existing links
    (to_id → … → from_id), when there is one: adding from → to would close it."""
    step = literal_column("','", String)
    start = select(
        TaskLink.to_task_id.label("task_id"),
        (step + cast(TaskLink.to_task_id, String) + step).label("path"),
        literal_column("1", Integer).label("depth"),
    ).where(TaskLink.from_task_id == to_id, TaskLink.kind == "depends")
    chain = start.cte("chain", recursive=True)
    nxt = (
        select(
            TaskLink.to_task_id,
            chain.c.path + cast(TaskLink.to_task_id, String) + step,
            chain.c.depth + 1,
        )
        .join(chain, TaskLink.from_task_id == chain.c.task_id)
        .where(TaskLink.kind == "depends", chain.c.depth < MAX_CHAIN)
    )
    chain = chain.union_all(nxt)
    path = db.session.scalar(
        select(chain.c.path).where(chain.c.task_id == from_id).order_by(chain.c.depth).limit(1)
    )
    if path is None:
        return None
    return [to_id, *(int(x) for x in path.strip(",").split(","))]


def _titles(ids: list[int], user: Any) -> dict[int, str]:
    stmt = authz.scope(select(Task.id, Task.title), Task, user).where(Task.id.in_(ids))
    return dict(db.session.execute(stmt).all())


def _journal_text(kind: str, here: int, link: TaskLink) -> str:
    if kind == "related":
        other = link.to_task_id if link.from_task_id == here else link.from_task_id
        return f"与事项 #{other} 相关"
    if link.from_task_id == here:
        return f"依赖于事项 #{link.to_task_id}（前置事项）"
    return f"事项 #{link.from_task_id} 依赖于本事项"


def _journal_both(actor: User | None, action: str, link: TaskLink, now: datetime) -> None:
    for task_id in (link.from_task_id, link.to_task_id):
        task = db.session.get(Task, task_id)
        after = {"kind": link.kind, "task_id": task_id, "link": _journal_text(link.kind, task_id, link)}
        record(actor, action, task, None, after, unit_id=task.owner_unit_id, now=now)


def add_link(actor: User | None, task: Task, other: Task, *, kind: str, now: datetime) -> TaskLink:
    """Link `task` to `other`: `task` depends on `other` ("depends") or the two are
    related ("related"). Refused, nothing saved: another project, the item itself, a
    pair already linked, a cycle of dependencies (the chain is named)."""
    allow(actor, "task.link", task, "您无权为该事项添加关联。")
    if actor is not None and not authz.sees(actor, other):
        raise NotVisible("找不到要关联的事项（可能不存在或您无权查看）。", "other_id")
    if kind not in LINK_KINDS:
        raise ServiceError("请选择关联类型（依赖或相关）。", "kind")
    if other.id == task.id:
        raise ServiceError("事项不能与自身关联。", "other_id")
    if task.kind != "task" or other.kind != "task" or task.project_id != other.project_id:
        raise ServiceError("只能关联同一项目中的清单事项。", "other_id")
    # One linker per project at a time: the cycle check below reads what the other wrote.
    db.session.execute(select(Project.id).where(Project.id == task.project_id).with_for_update())
    if kind == "depends":  # first: B → A when A → B exists is a cycle, said as one
        path = _chain(task.id, other.id)
        if path is not None:
            names = _titles([task.id, *path], actor) if actor is not None else {}
            chain = " → ".join(f"「{names.get(i, f'事项 #{i}')}」" for i in [task.id, *path])
            raise ServiceError(f"会形成循环依赖：{chain}。", "other_id")
    pair = or_(
        and_(TaskLink.from_task_id == task.id, TaskLink.to_task_id == other.id),
        and_(TaskLink.from_task_id == other.id, TaskLink.to_task_id == task.id),
    )
    if db.session.scalar(select(exists().where(pair))):
        raise ServiceError("这两项事项之间已有关联，请先移除原有关联。", "other_id")
    # "related" is stored once, lower id first.
    ends = (task.id, other.id) if kind == "depends" else sorted((task.id, other.id))
    link = TaskLink(
        from_task_id=ends[0],
        to_task_id=ends[1],
        kind=kind,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(link)
    db.session.flush()
    _journal_both(actor, "link.add", link, now)
    return link


def remove_link(actor: User | None, task: Task, link: TaskLink, *, now: datetime) -> None:
    """Remove a link of `task` (either end may remove it); journaled on both items."""
    allow(actor, "task.link", task, "您无权移除该事项的关联。")
    if task.id not in (link.from_task_id, link.to_task_id):
        raise NotVisible("该关联不属于本事项。")
    _journal_both(actor, "link.remove", link, now)
    db.session.delete(link)
    db.session.flush()
