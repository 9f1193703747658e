"""Projects, list items (tasks) and the plan of every assignment: which unit, from whom,
which deadline, and where it stands today — the first pass. `lifecycle.py` then writes
each assignment with its reports and journal as the services would have left them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.benchgen.context import HEAD_ROLES, RECEIVER_ROLES, REVIEWER_ROLES, Clock, Province, journal
from app.benchgen.names import PROJECT_NAMES, REQUIREMENTS, TASK_OBJECTS, TASK_VERBS
from app.benchgen.shapes import Shape
from app.benchgen.writer import BulkWriter
from app.deadlines import next_report_due, periods
from app.extensions import db
from app.tasks.models import Category

OPEN = ["pending", "in_progress", "submitted", "returned"]
OPEN_NOT_DUE = [35, 45, 15, 5]
OPEN_OVERDUE = [20, 55, 10, 15]
PATTERNS = ["high_int", "high_base", "int_base", "int_trib", "base_trib", "recurring"]
PATTERN_WEIGHTS = [4, 1, 45, 30, 18, 2]


class Item:
    """The plan of one assignment (its row is written in the second pass)."""

    __slots__ = (
        "id", "task_id", "title", "unit", "by_unit", "parent", "kids", "label", "deadline", "original",
        "status", "created", "ack", "last", "submitted", "returned", "closed", "responsible", "reviewer",
        "creator", "rect", "every", "reports", "progress", "ext", "long",
    )  # fmt: skip

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))
        self.kids = self.kids or []
        self.reports = 0


def decide_status(rng: random.Random, deadline: date, today: date) -> str:
    """Not due yet: mostly open. Past due: mostly closed — the more recent, the more
    often still open (about 15 % of all items end up open and overdue)."""
    if deadline >= today:
        return "closed" if rng.random() < 0.12 else rng.choices(OPEN, OPEN_NOT_DUE)[0]
    age = (today - deadline).days
    p_open = 0.55 if age < 90 else 0.25 if age < 365 else 0.11
    return rng.choices(OPEN, OPEN_OVERDUE)[0] if rng.random() < p_open else "closed"


def plan_times(it: Item, rng: random.Random, clock: Clock, close_before: datetime | None = None) -> None:
    """签收, submission, return and closing moments consistent with the status."""
    if it.status == "pending":
        return
    c, now = it.created, clock.now
    if it.status == "closed":
        if close_before is not None:  # a sub-assignment closes before its parent is submitted
            closed = clock.between(c + (close_before - c) * 0.5, close_before - timedelta(minutes=5), rng)
        else:
            low = c.date() + timedelta(days=1)
            if it.deadline is not None and it.deadline < clock.today:
                late = rng.random() < 0.15
                day = it.deadline + timedelta(days=rng.randint(1, 40) if late else -rng.randint(0, 20))
            else:
                day = low + timedelta(days=rng.randint(0, max(0, (clock.today - low).days)))
            day = min(max(day, low), clock.today - timedelta(days=1))
            closed = clock.at(day, rng)
            if closed <= c + timedelta(hours=2):
                closed = min(c + timedelta(hours=rng.uniform(2, 5)), now)
        it.closed = closed
        it.ack = c + (closed - c) * rng.uniform(0.02, 0.2)
        it.submitted = closed - (closed - it.ack) * rng.uniform(0.02, 0.2)
        it.last = it.submitted
        return
    span = (now - c).total_seconds()
    end = now - timedelta(seconds=rng.uniform(0, min(20 * 86400, span * 0.5)))
    it.ack = c + (end - c) * rng.uniform(0.02, 0.3)
    it.last = end
    if it.status == "submitted":
        it.submitted = end
    elif it.status == "returned":
        it.submitted = it.ack + (end - it.ack) * rng.uniform(0.5, 0.9)
        it.returned = end


class Planner:
    """Pass one for one province: projects and tasks written, assignments planned."""

    def __init__(self, w: BulkWriter, p: Province, shape: Shape, clock: Clock, rng: random.Random):
        self.w, self.p, self.shape, self.clock, self.rng = w, p, shape, clock, rng
        self.items: list[Item] = []
        self.categories = list(db.session.scalars(select(Category.id).order_by(Category.id)))
        self.projects: dict[tuple[int, int], list[tuple[int, date, date]]] = {}  # (owner, year) → …
        self.span_project: tuple[int, date, date] | None = None
        self.splitting_bases = [b for b in p.bases if p.children[b]]  # base courts with tribunals

    # ---------------------------------------------------------------- projects

    def creator(self, unit: int) -> int:
        level = self.p.units[unit].level
        roles = {"high": ("reviewer", "assigner"), "intermediate": ("assigner", "reviewer")}.get(
            level, ("assigner", "coordinator")
        )
        return self.p.anyone(unit, roles)

    def _project(self, owner: int, name: str, start: date, end: date) -> tuple[int, date, date]:
        pid = self.w.new_id("projects")
        at = self.clock.at(start - timedelta(days=10), self.rng)
        by = self.creator(owner)
        description = "对标对表、清单化推进，按期报送进展。"
        self.w.add(
            "projects",
            {
                "id": pid,
                "name": name,
                "owner_unit_id": owner,
                "start": start,
                "end": end,
                "description": description,
                "created_by_id": by,
                "is_active": True,
                "version": 1,
                "created_at": at,
                "updated_at": at,
            },
        )
        snap = {"name": name, "owner_unit_id": owner, "start": start, "end": end}
        snap |= {"description": description, "is_active": True}
        journal(self.w, at, by, "project.create", "Project", pid, owner, None, snap)
        return pid, start, end

    def make_projects(self) -> None:
        p, shape, clock = self.p, self.shape, self.clock
        for year in range(shape.years):
            start, end = clock.window(year)
            label = f"{start.year}—{end.year}年度" if start.year != end.year else f"{start.year}年度"
            for i in range(shape.projects_high):
                name = f"{label}{PROJECT_NAMES[i % len(PROJECT_NAMES)]}"
                self.projects.setdefault((p.high, year), []).append(self._project(p.high, name, start, end))
            for unit in p.intermediates:
                short = p.units[unit].name.replace("中级人民法院", "中院")
                for i in range(shape.projects_intermediate):
                    name = f"{short}{label}{PROJECT_NAMES[(i + 3 + year) % len(PROJECT_NAMES)]}"
                    self.projects.setdefault((unit, year), []).append(self._project(unit, name, start, end))
        self.span_project = self._project(p.high, "强基工程三年行动", clock.span_start, clock.span_end)

    def project_for(self, owner: int, year: int) -> tuple[int, date, date]:
        """A project the owner can add items to: its own, or one set above it."""
        choices = []
        for unit in [owner, *self.p.ancestors(owner)]:
            choices += self.projects.get((unit, year), [])
        return self.rng.choice(choices)

    # ---------------------------------------------------------------- tasks

    def _task(
        self, project, owner: int, *, title: str, created: datetime, kind: str = "date", **extra
    ) -> int:
        tid = self.w.new_id("tasks")
        by = self.creator(owner)
        rng = self.rng
        row = {
            "id": tid,
            "kind": "task",
            "project_id": project[0],
            "owner_unit_id": owner,
            "verifier_id": None,
            "title": title,
            "requirements": rng.choice(REQUIREMENTS),
            "category_id": rng.choice(self.categories) if self.categories else None,
            "lead_leader": "分管院领导",
            "priority": rng.choices(["normal", "high", "low"], [80, 15, 5])[0],
            "deadline_kind": kind,
            "deadline": extra.get("deadline"),
            "recurrence": extra.get("recurrence"),
            "report_every": extra.get("report_every"),
            "notes": None,
            "source_key": None,
            "created_by_id": by,
            "version": 2,  # assigning holds the item's version (app/tasks/services.assign_task)
            "created_at": created,
            "updated_at": created,
        }
        self.w.add("tasks", row)
        snap = {k: row[k] for k in ("title", "requirements", "category_id", "lead_leader", "priority")}
        snap |= {k: row[k] for k in ("deadline_kind", "deadline", "recurrence", "report_every", "notes")}
        journal(self.w, created, by, "task.create", "Task", tid, owner, None, snap)
        return tid

    def _assignment(self, tid: int, title: str, unit: int, by_unit: int, created: datetime, **kw) -> Item:
        it = Item(
            id=self.w.new_id("assignments"),
            task_id=tid,
            title=title,
            unit=unit,
            by_unit=by_unit,
            created=created,
            label=kw.get("label", ""),
            parent=kw.get("parent"),
            deadline=kw["deadline"],
            original=kw["deadline"],
            every=kw.get("every"),
            rect=kw.get("rect", False),
            creator=kw.get("creator") or self.creator(by_unit),
            reviewer=kw.get("reviewer") or self.p.anyone(by_unit, REVIEWER_ROLES),
        )
        status = kw.get("status")
        if status is None:
            status = (
                self.ongoing_status(kw["window_end"])
                if it.every
                else decide_status(self.rng, it.deadline, self.clock.today)
            )
        it.status = status
        plan_times(it, self.rng, self.clock, kw.get("close_before"))
        self._responsible(it)
        self.items.append(it)
        return it

    def _responsible(self, it: Item) -> None:
        """Whoever 签收 it: mostly the unit's head, sometimes a colleague."""
        if it.status == "pending":
            return
        heads = self.p.users(it.unit, RECEIVER_ROLES)
        first = self.p.first(it.unit, HEAD_ROLES)
        it.responsible = first if self.rng.random() < 0.8 or not heads else self.rng.choice(heads)

    def ongoing_status(self, window_end: date) -> str:
        if window_end < self.clock.today and self.rng.random() < 0.8:
            return "closed"
        return "pending" if self.rng.random() < 0.05 else "in_progress"

    def _split(self, parent: Item, tribunals: list[int], budget: int) -> None:
        """A base court hands its assignment on to some of its tribunals."""
        if parent.status == "pending":
            parent.status = "in_progress"
            plan_times(parent, self.rng, self.clock)
            self._responsible(parent)
        room = (parent.submitted if parent.status == "closed" else parent.last) - parent.ack
        for t in tribunals[:budget]:
            kid = self._assignment(
                parent.task_id,
                parent.title,
                t,
                parent.unit,
                parent.ack + room * self.rng.uniform(0.01, 0.3),
                parent=parent,
                deadline=parent.deadline,
                label=parent.label,
                creator=parent.responsible,
                status="closed" if parent.status == "closed" else None,
                close_before=parent.submitted if parent.status == "closed" else None,
            )
            parent.kids.append(kid)

    def _extension(self, it: Item) -> None:
        """Some assignments were given more time (延期), a few are still asking for it."""
        rng, clock = self.rng, self.clock
        if it.kids or it.every or it.rect or it.status == "pending" or it.deadline is None:
            return
        r = rng.random()
        if r < 0.03 and it.ack.date() < it.deadline - timedelta(days=2):
            latest = datetime.combine(it.deadline - timedelta(days=1), it.ack.time())
            asked = clock.between(it.ack, min(latest, it.submitted or it.last), rng)
            decided = min(asked + timedelta(hours=rng.uniform(3, 72)), it.closed or it.last or clock.now)
            new = it.deadline + timedelta(days=rng.randint(10, 45))
            it.ext = ("granted", asked, decided, it.deadline, new)
            it.deadline = new
        elif r < 0.06 and it.deadline >= clock.today and it.status != "closed":
            asked = clock.between(it.ack, clock.now, rng)
            it.ext = ("pending", asked, None, it.deadline, it.deadline + timedelta(days=30))

    def add_task(self, pattern: str, budget: int) -> None:
        """One item of `pattern` with its assignments (at most `budget` of them)."""
        p, rng, clock = self.p, self.rng, self.clock
        year = rng.randrange(self.shape.years)
        if pattern in ("high_int", "high_base"):
            owner = p.high
        elif pattern == "base_trib":
            owner = rng.choice(self.splitting_bases or p.bases)
        else:
            owner = rng.choice(p.intermediates)
        below = p.below(owner)
        if pattern == "high_int":
            units = list(p.intermediates)
        elif pattern == "high_base":
            units = list(p.bases)
        elif pattern in ("int_base", "recurring"):
            mine = [u for u in below if p.units[u].level == "base"]
            units = rng.sample(mine, rng.randint(max(1, len(mine) // 2), len(mine))) if mine else []
            if pattern == "recurring":
                units = units[: rng.randint(2, 4)]
        else:
            mine = [u for u in below if p.units[u].level == "tribunal"]
            units = rng.sample(mine, min(len(mine), rng.randint(1, 6)))
        if not units:
            return
        project = self.project_for(owner, year)
        start, end = project[1], project[2]
        title = f"{rng.choice(TASK_VERBS)}{rng.choice(TASK_OBJECTS)}"
        if pattern == "recurring":
            c_day = start + timedelta(days=rng.randint(0, 20))
            created = clock.at(min(c_day, clock.today - timedelta(days=1)), rng)
            slots = periods(max(start, c_day.replace(day=1)), end, "monthly")
            title = f"按月报送{rng.choice(TASK_OBJECTS)}工作台账"
            tid = self._task(
                project, owner, title=title, created=created, kind="recurring", recurrence="monthly"
            )
            plan = [(u, label, due) for u in units for label, due in slots]
            for u, label, due in plan[:budget]:
                it = self._assignment(tid, title, u, owner, created, deadline=due, label=label)
                self._extension(it)
            return
        ongoing = pattern in ("int_base", "int_trib") and rng.random() < 0.03
        deadline = start + timedelta(days=rng.randint(15, (end - start).days))
        c_day = max(start, deadline - timedelta(days=rng.randint(20, 120)))
        created = clock.at(min(c_day, clock.today - timedelta(days=1)), rng)
        if ongoing:
            tid = self._task(
                project, owner, title=title, created=created, kind="ongoing", report_every="quarterly"
            )
            first_due = next_report_due(max(created.date(), start), "quarterly")
            for u in units[:budget]:
                self._assignment(
                    tid, title, u, owner, created, deadline=first_due, every="quarterly", window_end=end
                )
            return
        tid = self._task(project, owner, title=title, created=created, deadline=deadline)
        used = 0
        for u in units:
            if used >= budget:
                break
            it = self._assignment(tid, title, u, owner, created, deadline=deadline)
            used += 1
            tribunals = p.children[u] if p.units[u].level == "base" else []
            if pattern == "int_base" and tribunals and rng.random() < 0.35 and used < budget:
                chosen = rng.sample(tribunals, rng.randint(1, len(tribunals)))
                self._split(it, chosen, budget - used)
                used += len(it.kids)
            self._extension(it)

    # ---------------------------------------------------------------- fixed items

    def add_long_item(self) -> Item:
        """One assignment followed for three years: `long_history` reports."""
        p, clock = self.p, self.clock
        unit = p.demo_units.get("华来人民法庭") or p.tribunals[0]
        owner = p.intermediate_of(unit)
        created = clock.at(clock.span_start + timedelta(days=5), self.rng)
        name = p.units[unit].name.replace("人民法庭", "法庭")
        title = f"推进{name}特色品牌建设（长期跟踪）"
        deadline = clock.today + timedelta(days=45)
        tid = self._task(self.span_project, owner, title=title, created=created, deadline=deadline)
        it = self._assignment(tid, title, unit, owner, created, deadline=deadline, status="pending")
        it.status, it.long = "in_progress", True
        it.ack = created + timedelta(hours=20)
        it.last = clock.now - timedelta(hours=30)
        it.responsible = p.first(unit, HEAD_ROLES)
        return it

    def add_demo_work(self) -> None:
        """The demo tribunal heads' own queue: waiting for 签收, overdue, and both."""
        p, clock = self.p, self.clock
        heads = [name for name in ("华来人民法庭", "田师付人民法庭", "冯家人民法庭") if name in p.demo_units]
        work = [
            ("规范人民法庭卷宗归档管理", 10, "pending"),
            ("完善人民法庭安全保卫设施", -12, "in_progress"),
            ("报送诉源治理工作台账", -5, "pending"),
        ]
        by_owner: dict[int, list[int]] = {}
        for name in heads:
            unit = p.demo_units[name]
            by_owner.setdefault(p.intermediate_of(unit), []).append(unit)
        for owner, units in by_owner.items():
            for title, days, status in work:
                deadline = clock.today + timedelta(days=days)
                created = clock.at(clock.today - timedelta(days=30 - days // 2), self.rng)
                project = self.project_for(owner, self.shape.years - 1)
                tid = self._task(project, owner, title=title, created=created, deadline=deadline)
                for unit in units:
                    self._assignment(tid, title, unit, owner, created, deadline=deadline, status=status)

    def plan(self, budget: int) -> list[Item]:
        self.make_projects()
        self.add_long_item()
        self.add_demo_work()
        while len(self.items) < budget:
            pattern = self.rng.choices(PATTERNS, PATTERN_WEIGHTS)[0]
            self.add_task(pattern, budget - len(self.items))
        return self.items
