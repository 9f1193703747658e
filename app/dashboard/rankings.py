"""赛马: courts ranked by how they deliver, month by month; and the monthly trends.

A month's figures are the items due in that month (items assigned from above; a
court's own splits are not counted twice), with their status as of today:
on-time rate = closed on time ÷ (closed + still open past the deadline); the
rectification closure rate = closed ÷ all rectifications due in the month; checklist
compliance is the current weighted compliance of the court's subtree."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from app import authz
from app.dashboard import tallies
from app.dashboard.queries import compliance_of, own_compliance
from app.deadlines import add_months, month_end, overdue_clause
from app.errors import ServiceError
from app.extensions import db
from app.org.models import Unit, UnitClosure
from app.sqlutil import local_date
from app.tasks.models import Assignment, Task
from app.tasks.queries import on_time_clause

PERIOD_RE = re.compile(r"\d{4}-\d{2}")
LEVELS = {"intermediate": "中级人民法院", "base": "基层人民法院"}
METRICS = {
    "rate": "按期完成率",
    "overdue": "逾期事项",
    "rect": "整改销号率",
    "compliance": "清单达标率",
}


def period_bounds(period: str) -> tuple[date, date]:
    """'2026-10' → (2026-10-01, 2026-10-31); a malformed period is a 400."""
    try:
        if not PERIOD_RE.fullmatch(period or ""):
            raise ValueError
        year, month = (int(p) for p in period.split("-"))
        if not 2000 <= year <= 2100:
            raise ValueError
        last = calendar.monthrange(year, month)[1]
    except (ValueError, TypeError, calendar.IllegalMonthError):
        raise ServiceError(f"无法识别的月份“{period}”，请按“年-月”填写，例如 2026-10。") from None
    return date(year, month, 1), date(year, month, last)


def period_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def previous_period(period: str) -> str:
    first, _ = period_bounds(period)
    return period_of(add_months(first, -1))


@dataclass
class RankRow:
    unit_id: int
    unit: str
    parent: str
    total: int = 0
    closed: int = 0
    on_time: int = 0
    overdue: int = 0
    rect_total: int = 0
    rect_closed: int = 0
    compliance: float | None = None
    rank: int | None = None  # None: nothing to measure this month (not ranked)
    previous_rank: int | None = None

    @property
    def rate(self) -> float | None:
        due = self.closed + self.overdue
        return round(self.on_time / due, 4) if due else None

    @property
    def rect_rate(self) -> float | None:
        return round(self.rect_closed / self.rect_total, 4) if self.rect_total else None

    @property
    def change(self) -> int | None:
        """Places gained since last month (positive = up), None when unranked then."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "unit_id": self.unit_id,
            "unit": self.unit,
            "total": self.total,
            "closed": self.closed,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "on_time_rate": self.rate,
            "rectifications": self.rect_total,
            "rectifications_closed": self.rect_closed,
            "rectification_closure_rate": self.rect_rate,
            "checklist_compliance": self.compliance,
            "previous_rank": self.previous_rank,
            "change": self.change,
        }


def metric_value(metric: str, r: RankRow) -> float | int | None:
    """The figure a court is ranked on; None: nothing to measure (not ranked)."""
    if metric == "overdue":
        return r.overdue if r.total else None
    return {"rate": r.rate, "rect": r.rect_rate, "compliance": r.compliance}[metric]


def _place_key(metric: str, r: RankRow) -> tuple:
    """Courts with equal keys share a place: the metric, then the overdue count (or,
    ranked by overdue, the on-time rate)."""
    if metric == "overdue":
        return (r.overdue, -(r.rate or 0))
    return (-(metric_value(metric, r) or 0), r.overdue)


def assign_places(rows: list[RankRow], metric: str) -> list[RankRow]:
    """Ranked courts first, in place order (1, 1, 3 … for ties; tree order within a
    tie), then the courts with nothing to measure, unranked (rank None)."""
    ranked = sorted(
        (r for r in rows if metric_value(metric, r) is not None), key=lambda r: _place_key(metric, r)
    )
    previous: tuple | None = None
    for i, r in enumerate(ranked, 1):
        key = _place_key(metric, r)
        r.rank = ranked[i - 2].rank if key == previous else i
        previous = key
    unranked = [r for r in rows if metric_value(metric, r) is None]
    for r in unranked:
        r.rank = None
    return ranked + unranked


def _ranked_units(root_id: int, level: str):
    return (
        select(Unit.id)
        .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
        .where(UnitClosure.ancestor_id == root_id, Unit.level == level, Unit.is_active.is_(True))
    )


def courts_of(root_id: int, level: str) -> tuple[list[tuple[int, str, str | None]], dict[int, int]]:
    """The courts of `level` below the root as (id, name, parent's name) in tree order,
    and {every unit below them (themselves included): its court}. One query."""
    parent = db.aliased(Unit)
    holder_of: dict[int, int] = {}
    units = []
    for uid, name, parent_name, unit_id in db.session.execute(
        select(Unit.id, Unit.name, parent.name, UnitClosure.descendant_id)
        .join(UnitClosure, UnitClosure.ancestor_id == Unit.id)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .where(Unit.id.in_(_ranked_units(root_id, level)))
        .order_by(Unit.sort_order, Unit.id, UnitClosure.depth)
    ):
        if uid == unit_id:
            units.append((uid, name, parent_name))
        holder_of[unit_id] = uid
    return units, holder_of


def court_compliance(root_id: int, holder_of: dict[int, int]) -> dict[int, float | None]:
    """{court: checklist compliance of its current checklists, its units' added up}."""
    sums: dict[int, list[float]] = {}
    for uid, figures in own_compliance(None, root_id).items():
        court = holder_of.get(uid)
        if court is not None:
            acc = sums.setdefault(court, [0, 0, 0])
            for i, value in enumerate(figures):
                acc[i] += value
    return {court: compliance_of(tuple(acc))[1] for court, acc in sums.items()}


def month_counts(
    root_id: int, holder_of: dict[int, int], months: list[date], today: date
) -> dict[date, dict[int, tuple]]:
    """{month: {court id: (total, closed, on time, overdue, rectifications, rectifications
    closed)}} for the items due in each month anywhere below each court: the tallies of
    each unit added up to its court (`holder_of`: unit id → court id). One query, and one
    more for this month's open items."""
    out: dict[date, dict[int, tuple]] = {}
    for month, units in tallies.months_counts(root_id, today, months).items():
        courts: dict[int, list[int]] = {}
        for uid, (total, closed, on_time, red, _y, _g, _grey, rect, rect_open) in units.items():
            court = holder_of.get(uid)
            if court is None:
                continue
            sums = courts.setdefault(court, [0] * 6)
            for i, value in enumerate((total, closed, on_time, red, rect, rect - rect_open)):
                sums[i] += value
        out[month] = {court: tuple(v) for court, v in courts.items()}
    return out


def ranking(
    root: Unit,
    level: str,
    period: str,
    today: date,
    metric: str = "rate",
    compliance: dict[int, float | None] | None = None,
) -> list[RankRow]:
    """The courts of `level` below `root`, ranked by `metric` for `period` (equal figures
    share a place; courts with nothing to measure come last, unranked), with last month's
    place under the same metric. Four queries (five when one of the months is this one),
    whatever the number of courts and items."""
    if level not in LEVELS:
        raise ServiceError("排名层级只能是 intermediate（中级法院）或 base（基层法院）。")
    metric = metric if metric in METRICS else "rate"
    first, last = period_bounds(period)
    units, holder_of = courts_of(root.id, level)
    if compliance is None:  # the caller may have them already (the dashboard's tree)
        compliance = court_compliance(root.id, holder_of)

    prev_first = add_months(first, -1)
    by_month = month_counts(root.id, holder_of, [first, prev_first], today)

    def rows_for(month: date) -> list[RankRow]:
        counts = by_month[month]
        out = []
        for uid, name, parent_name in units:
            row = RankRow(uid, name, parent_name or "", compliance=compliance.get(uid))
            (row.total, row.closed, row.on_time, row.overdue, row.rect_total, row.rect_closed) = counts.get(
                uid, (0,) * 6
            )
            out.append(row)
        return assign_places(out, metric)

    current = rows_for(first)
    before = {r.unit_id: r for r in rows_for(prev_first)}
    for r in current:
        b = before.get(r.unit_id)
        # A place is compared only with a place: not when either month had nothing to rank.
        if b is not None and b.rank is not None and r.rank is not None:
            r.previous_rank = b.rank
    return current


def red_list(user: Any, root: Unit, today: date, limit: int = 20) -> list[dict[str, Any]]:
    """The open items overdue the longest below `root` that `user` may see (one query);
    `user=None` is the system itself (the month-end circular's draft)."""
    stmt = (
        select(Assignment.id, Task.title, Assignment.period_label, Unit.name, Assignment.deadline)
        .join(Task, Task.id == Assignment.task_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.unit_id.in_(authz.scope_unit_ids_of(root.id)))
        .where(overdue_clause(Assignment.deadline, Assignment.status, today))  # reads ix_assignments_open
        .where(Assignment.parent_id.is_(None))  # counted as everywhere else: a split is not listed again
        .order_by(Assignment.deadline.is_(None), Assignment.deadline, Assignment.id)
        .limit(limit)
    )
    rows = db.session.execute(stmt if user is None else authz.scope(stmt, Assignment, user)).all()
    return [
        {
            "assignment_id": aid,
            "title": title + (f"（{label}）" if label else ""),
            "unit": unit,
            "deadline": deadline.isoformat(),
            "days": (today - deadline).days,
        }
        for aid, title, label, unit, deadline in rows
    ]


# ---------------------------------------------------------------- trends


@dataclass
class Trend:
    months: list[str]  # "2026-06" …
    closed: list[int]  # items closed in the month
    overdue: list[int]  # items overdue at the month's end (or today, for this month)
    on_time_rate: list[float | None]  # of the items due in the month


def trend(user: Any, root: Unit, today: date, months: int = 12) -> Trend:
    """Monthly series for `root`'s subtree, oldest first, ending with this month. One
    query: conditional counts per month, over the subtree index."""
    months = max(1, min(months, 36))
    starts = [add_months(date(today.year, today.month, 1), -i) for i in range(months - 1, -1, -1)]
    if tallies.usable(user, root.id, None, None):
        out = Trend([period_of(s) for s in starts], [], [], [])
        for n_closed, n_overdue, n_on_time, n_due in tallies.month_series(root.id, today, starts):
            out.closed.append(n_closed)
            out.overdue.append(n_overdue)
            out.on_time_rate.append(round(n_on_time / n_due, 4) if n_due else None)
        return out
    closed = Assignment.status == "closed"
    created = local_date(Assignment.created_at)
    columns = []
    for first in starts:
        last = month_end(first.year, first.month)
        as_of = min(last, today)
        due_in = Assignment.deadline.between(first, last)
        columns += [
            func.count(case((and_(closed, Assignment.closed_on.between(first, last)), 1))),
            func.count(
                case(
                    (
                        and_(
                            Assignment.deadline < as_of,
                            created <= as_of,
                            or_(~closed, Assignment.closed_on > as_of),
                        ),
                        1,
                    )
                )
            ),
            func.count(case((and_(due_in, on_time_clause()), 1))),
            func.count(case((and_(due_in, or_(closed, Assignment.deadline < today)), 1))),
        ]
    # Only the items the window can count: an item closed before it and due before it
    # counts in none of the series (most of three years of closed items).
    window = starts[0]
    stmt = (
        select(*columns)
        .select_from(Assignment)
        .where(Assignment.unit_id.in_(authz.scope_unit_ids_of(root.id)), Assignment.parent_id.is_(None))
        .where(or_(~closed, Assignment.closed_on >= window, Assignment.deadline >= window))
    )
    values = db.session.execute(authz.scope(stmt, Assignment, user)).one()
    out = Trend([period_of(s) for s in starts], [], [], [])
    for i in range(months):
        n_closed, n_overdue, n_on_time, n_due = values[4 * i : 4 * i + 4]
        out.closed.append(n_closed)
        out.overdue.append(n_overdue)
        out.on_time_rate.append(round(n_on_time / n_due, 4) if n_due else None)
    return out
