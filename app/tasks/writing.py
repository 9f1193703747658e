"""How the rows the task services build reach the database: one item at a time (the
pages, the API: `ONE_BY_ONE`), or many new items at once (an import: `NewItems`).

`create_task` and `assign_task` check an item and build its rows the same way either
way; they hand the rows, the journal entries and the notices to one of these, which
either writes them at once — add, flush, journal, notify, as the services always did —
or gathers them and writes them all later with one multi-row INSERT per table. So an
import writes exactly what the services would have written item by item, in a number
of statements that does not grow with the rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, inspect, select

from app import authz
from app.errors import check_version, hold_version
from app.extensions import db
from app.journal import JournalEntry, record, snapshot
from app.notifications import add_new_only, notify_users
from app.org.models import User, UserRole
from app.tasks.models import Assignment, Task
from app.timeutil import utcnow
from app.validation import Forbidden

Notice = Callable[[], dict]  # the keyword arguments of notify_users, asked once the subject has its id


def workers() -> tuple[str, ...]:
    """Who in a unit hears of an item handed to it and works on it: the policy's
    receivers (an account holding only an administrator's role is nobody an item can
    wait for). Asked at call time: app.authz imports the domains that import this."""
    return authz.RECEIVER_ROLES


def unit_people(unit_ids: Iterable[int], roles: tuple[str, ...] | None = None) -> list[tuple[int, int]]:
    """(unit id, user id) of the active people of these units (holding one of `roles`)."""
    stmt = select(User.unit_id, User.id).where(User.unit_id.in_(list(unit_ids)), User.active.is_(True))
    if roles:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
    return [(unit_id, user_id) for unit_id, user_id in db.session.execute(stmt.order_by(User.id))]


def _staffed(unit_ids: Iterable[int] | None) -> Select:
    """SELECT of the units (among `unit_ids`; None: all) with an active person holding a
    receiving role."""
    stmt = (
        select(User.unit_id)
        .where(User.active.is_(True))
        .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(workers()))))
        .distinct()
    )
    return stmt if unit_ids is None else stmt.where(User.unit_id.in_(list(unit_ids)))


def units_without_people(unit_ids: Iterable[int]) -> set[int]:
    """The units among these with nobody to work on an item handed to them (no active
    account holding a receiving role): an assignment there would wait unheard. One query."""
    ids = set(unit_ids)
    if not ids:
        return set()
    return ids - set(db.session.scalars(_staffed(ids)))


def unstaffed_message(names: list[str]) -> str:
    """The refusal of an assignment to units with nobody there (pages, API, import)."""
    listed = "、".join(f"“{n}”" for n in names)
    return f"{listed}没有在岗的承办人员（启用且有承办角色的账号），交办后无人接收，不能交办。请先为该单位开设账号，或交办给其他单位。"


class OneByOne:
    """Write as the services go: each new row added and flushed at once and journaled,
    the policy asked every time, the people told at once."""

    def can(self, actor: Any, action: str, obj: Any) -> bool:
        return authz.can(actor, action, obj)

    def allow(self, actor: Any, action: str, obj: Any, message: str) -> None:
        """The policy decides; `actor=None` is the system itself (app.validation.allow)."""
        if actor is not None and not self.can(actor, action, obj):
            raise Forbidden(message)

    def hold_version(self, obj: Any, expected: Any, now: datetime) -> None:
        hold_version(obj, expected, now)

    def add(
        self, actor: Any, action: str, objs: list, fields: tuple[str, ...], *, unit_id: int, now: datetime
    ) -> None:
        """New rows, each journaled as created (who, when, its fields after)."""
        db.session.add_all(objs)
        db.session.flush()
        for obj in objs:
            record(actor, action, obj, None, snapshot(obj, fields), unit_id=unit_id, now=now)

    def assigned_units(self, task: Task) -> set[int]:
        """The units a task is already assigned to (top-level assignments)."""
        return set(
            db.session.scalars(
                select(Assignment.unit_id).where(
                    Assignment.task_id == task.id, Assignment.parent_id.is_(None)
                )
            )
        )

    def unstaffed(self, unit_ids: list[int]) -> set[int]:
        """The units among these with nobody to work on an item (units_without_people)."""
        return units_without_people(unit_ids)

    def notify(self, unit_ids: list[int], notice: Notice) -> None:
        """Tell the units' people, in the notification centre and by e-mail as each prefers."""
        notify_users([user_id for _, user_id in unit_people(unit_ids, workers())], **notice(), email=True)


ONE_BY_ONE = OneByOne()


class NewItems(OneByOne):
    """New items of an import and their assignments, checked and built by
    `create_task(..., batch=items)` and `assign_task(..., batch=items)` exactly as one
    item is, but kept in memory: nothing is written until `write()` inserts them all —
    items, 配合单位, assignments, journal entries, notifications — one multi-row INSERT
    per table, in the caller's transaction. Only a batch whose every item passed is to
    be written (an import refuses the whole sheet otherwise).

    The policy is asked once per question rather than once per row: once per unit, once
    for the project, and once for the new items, which are alike to every rule (the same
    kind, owner unit and project: create_task builds them so)."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.assignments: list[Assignment] = []
        self._new: set[int] = set()  # id() of the items built here (kept alive in self.tasks)
        self._journal: list[tuple[Any, str, Any, dict, int, datetime]] = []
        self._notices: list[tuple[list[int], Notice]] = []
        self._verdicts: dict[tuple, bool] = {}
        self._staffed: set[int] | None = None  # every unit with somebody to work on items

    # ------------------------------------------------ what the services call

    def can(self, actor: Any, action: str, obj: Any) -> bool:
        key = (getattr(actor, "id", None), action, *self._policy_key(obj))
        if key not in self._verdicts:
            self._verdicts[key] = authz.can(actor, action, obj)
        return self._verdicts[key]

    def _policy_key(self, obj: Any) -> tuple:
        if obj is None:
            return ()
        if id(obj) in self._new:
            return ("new", type(obj).__name__, obj.kind, obj.owner_unit_id, obj.project_id)
        return (type(obj).__name__, obj.id)

    def hold_version(self, obj: Any, expected: Any, now: datetime) -> None:
        """An unsaved item's version moves on as assign_task's UPDATE moves a saved one's."""
        self._require_new(obj)
        check_version(obj, expected)
        obj.version += 1
        obj.updated_at = now

    def add(
        self, actor: Any, action: str, objs: list, fields: tuple[str, ...], *, unit_id: int, now: datetime
    ) -> None:
        for obj in objs:
            if isinstance(obj, Task):
                self.tasks.append(obj)
                self._new.add(id(obj))
            elif isinstance(obj, Assignment):
                self.assignments.append(obj)
            else:
                raise TypeError(f"NewItems keeps items and assignments, not {type(obj).__name__}")
            self._journal.append((actor, action, obj, snapshot(obj, fields), unit_id, now))

    def assigned_units(self, task: Task) -> set[int]:
        self._require_new(task)
        return set()  # a new item is assigned nowhere yet

    def unstaffed(self, unit_ids: list[int]) -> set[int]:
        """Asked of every row: the staffed units are read once for the whole batch."""
        if self._staffed is None:
            self._staffed = set(db.session.scalars(_staffed(None)))
        return set(unit_ids) - self._staffed

    def notify(self, unit_ids: list[int], notice: Notice) -> None:
        self._notices.append((unit_ids, notice))

    def _require_new(self, obj: Any) -> None:
        if id(obj) not in self._new:
            raise ValueError("NewItems only assigns the items it has built")

    # ------------------------------------------------ writing

    def write(self) -> None:
        """Insert everything: items, their 配合单位, assignments, journal entries and
        notifications, each table's rows in the order the single path writes them; the
        new ids are set on the objects. (SQLAlchemy sends an INSERT that returns ids in
        pages of a thousand rows.)"""
        _insert(self.tasks, match=("project_id", "source_key"))
        cooperators = []
        for task in self.tasks:
            for c in task.cooperators:
                c.task_id = task.id
                cooperators.append(c)
        _insert(cooperators)
        for a in self.assignments:
            a.task_id = a.task.id
        _insert(self.assignments, match=("task_id", "unit_id", "period_label"))
        # these inserts bypass the ORM's flush, so the search index is told here (issue 15)
        # (new items only: their assignments have no reports yet, so no documents)
        from app.search.index import refresh as refresh_search  # app.search imports the domains

        refresh_search(db.session.connection(), {"task": {t.id for t in self.tasks}}, now=utcnow())
        if self._journal:
            db.session.execute(
                JournalEntry.__table__.insert(),
                [
                    {
                        "at": now,
                        "actor_id": getattr(actor, "id", None),
                        "action": action,
                        "object_type": type(obj).__name__,
                        "object_id": obj.id,
                        "unit_id": unit_id,
                        "before": None,
                        "after": after,
                    }
                    for actor, action, obj, after, unit_id, now in self._journal
                ],
            )
        self._write_notifications()

    def _write_notifications(self) -> None:
        """notify_users for every notice: one row per active person of its units, unless
        (recipient, dedupe key) exists already — here the unique key itself says so — and
        the e-mail of the new ones as their recipients prefer."""
        if not self._notices:
            return
        people: dict[int, list[int]] = {}
        for unit_id, user_id in unit_people(
            {u for unit_ids, _ in self._notices for u in unit_ids}, workers()
        ):
            people.setdefault(unit_id, []).append(user_id)
        rows = []
        for unit_ids, notice in self._notices:
            n = notice()
            for user_id in dict.fromkeys(u for unit_id in unit_ids for u in people.get(unit_id, [])):
                rows.append(
                    {
                        "recipient_id": user_id,
                        "kind": n["kind"],
                        "subject_type": n["subject_type"],
                        "subject_id": n["subject_id"],
                        "message": n["message"],
                        "dedupe_key": n["dedupe_key"],
                        "created_by_id": n["actor_id"],
                        "created_at": n["now"],
                    }
                )
        if rows:
            add_new_only(rows, now=rows[0]["created_at"])


def _values(obj: Any) -> dict:
    """The column values set on an unsaved object (its constructor's arguments)."""
    state = inspect(obj)
    return {a.key: state.dict[a.key] for a in state.mapper.column_attrs if a.key in state.dict}


def _insert(objs: list, *, match: tuple[str, ...] = ()) -> None:
    """One INSERT of unsaved objects built alike (the same columns set). With `match`,
    columns unique among them: the ids come back with them (RETURNING, in no promised
    order) and are set on the objects they belong to."""
    if not objs:
        return
    table = type(objs[0]).__table__
    rows = [_values(o) for o in objs]
    if any(r.keys() != rows[0].keys() for r in rows):
        raise ValueError(f"{table.name}: rows built differently cannot share one INSERT")
    if not match:
        db.session.execute(table.insert(), rows)
        return
    owner = {tuple(r[c] for c in match): o for r, o in zip(rows, objs, strict=True)}
    if len(owner) != len(objs):
        raise ValueError(f"{table.name}: {match} does not tell the new rows apart")
    stmt = table.insert().returning(table.c.id, *(table.c[c] for c in match))
    for new_id, *key in db.session.execute(stmt, rows):
        owner[tuple(key)].id = new_id
