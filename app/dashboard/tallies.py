"""Roll-up figures from the tallies (app.dashboard.models.AssignmentTally) instead of
every item: a province's three years are ~57,000 tally rows for ~139,000 items, read
per unit in key order, and the open items due from this month on (the only ones whose
红黄绿灯 still change with the day) counted live from the index of open items.

Every month at once (no period): each unit's sums over all its tallies, kept per unit and
kind (AssignmentUnitTally, ~2 rows a unit) by triggers on the tallies themselves.

Exact by construction: the tallies are written by database triggers in the same
transaction as the items (migration 0008_tallies), the unit sums by triggers on the
tallies (0021_unit_tallies), and `recount()` / `unit_sums_of()` rebuild both from the
items for the tests that check them.

What the tallies cannot answer — a project or category filter, a period that does not
start and end on month boundaries — the callers count from the items as before.

Kept between requests, exactly: what the tallies and the open items give is kept in the
web process under `tally_version.n` (TallyVersion), read first thing by a GET request.
Database triggers raise that number in the same transaction as every change to an item
or the unit tree the figures depend on (migration 0010_tally_version), so a kept result
is used only while nothing it was made from has changed. Writing requests and the
scheduler never use or fill it (a transaction that wrote could still roll back). The
results belong to the app object, so a database put back under a running app (a restore,
a test's fresh copy) needs a new app (a restart), as every process cache does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from flask import current_app, g, has_request_context, request
from sqlalchemy import and_, case, func, literal, or_, select

from app import authz
from app.dashboard.models import AssignmentTally as T
from app.dashboard.models import AssignmentUnitTally as U
from app.dashboard.models import TallyVersion
from app.deadlines import month_end, not_closed
from app.extensions import db
from app.sqlutil import month_key as sql_month_key
from app.tasks.models import Assignment, Task
from app.tasks.queries import light_clauses

# The figures of one unit, in this order (app.dashboard.queries.COUNTS):
# total, closed, on_time, red, yellow, green, grey, rect_total, rect_open
RECT = "rectification"
ALL_TIME = (0, 999999)  # every month, and the items with no deadline (month 0)

_KEPT_MAX = 64  # results kept per app (see the module's docstring)
R = TypeVar("R")


def _version() -> int | None:
    """This request's `tally_version`, read once (first, before any figure), or None
    where results must not be kept: outside a request, or in one that may write."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    if "_tally_version" not in g:
        g._tally_version = db.session.execute(select(TallyVersion.n).where(TallyVersion.id == 1)).scalar()
    return g._tally_version


def _kept(key: tuple, compute: Callable[[], R]) -> R:
    """`compute()`, or what it gave before under the same tally version. Callers treat
    the result as read-only."""
    version = _version()
    if version is None:
        return compute()
    kept: dict[tuple, Any] = current_app.extensions.setdefault("qj_tally_kept", {})
    full = (version, *key)
    try:
        return kept[full]
    except KeyError:
        pass
    value = compute()
    if len(kept) >= _KEPT_MAX:
        kept.clear()  # every kept result is cheap to make again
    kept[full] = value
    return value


def month_key(d: date) -> int:
    return d.year * 100 + d.month


def month_window(date_from: date | None, date_to: date | None) -> tuple[int, int] | None:
    """The months [first, last] that a period of deadlines covers exactly, or None when
    it starts or ends inside a month (the tallies count whole months only). No period:
    every month, and the items with no deadline (month 0)."""
    if date_from is not None and date_from.day != 1:
        return None
    if date_to is not None and date_to != month_end(date_to.year, date_to.month):
        return None
    if date_from is None and date_to is None:
        return ALL_TIME
    return (month_key(date_from) if date_from else 1), (month_key(date_to) if date_to else 999999)


def usable(user: Any, root_id: int, date_from: date | None, date_to: date | None, **filters: Any) -> bool:
    """The tallies answer this roll-up: no filter they do not hold, whole months, and a
    root inside the user's own subtree (so the policy's item filter would keep every
    item below it; `user=None` is the system itself)."""
    if any(filters.values()) or month_window(date_from, date_to) is None:
        return False
    return user is None or root_id in authz.visible_unit_ids(user)


def _live_by_month(root_id: int, today: date) -> dict[int, dict[int, tuple[int, int, int]]]:
    """{unit id: {month due: (red, yellow, green)}} of the open top-level items below
    `root_id` due from the first day of this month on: one query over the open items'
    index, made once per request (the tree, the ranking panel and the trend of one page
    share it; a request's reads come before its writes)."""
    memo = g.setdefault("_tally_live", {}) if has_request_context() else {}
    key = (root_id, today)
    if key not in memo:
        memo[key] = _kept(("live", root_id, today), lambda: _count_live(root_id, today))
    return memo[key]


def _count_live(root_id: int, today: date) -> dict[int, dict[int, tuple[int, int, int]]]:
    lights = light_clauses(today, open_with_deadline=True)  # the WHERE below keeps only those
    due_month = sql_month_key(Assignment.deadline)
    stmt = (
        select(
            Assignment.unit_id,
            due_month,
            func.count(),
            func.count(case((lights["red"], 1))),
            func.count(case((lights["yellow"], 1))),
        )
        # `unit_id + 0`: SQLite would otherwise walk every unit's items through the unit
        # index; the open items due from this month on (ix_assignments_open_due) are few.
        .where((Assignment.unit_id + 0).in_(authz.scope_unit_ids_of(root_id)))
        .where(not_closed(Assignment.status), Assignment.deadline >= date(today.year, today.month, 1))
        .where(Assignment.parent_id.is_(None))
        .group_by(Assignment.unit_id, due_month)
    )
    out: dict[int, dict[int, tuple[int, int, int]]] = {}
    for uid, month, n, red, yellow in db.session.execute(stmt):
        out.setdefault(uid, {})[int(month)] = (red, yellow, n - red - yellow)
    return out


def _live(root_id: int, today: date, first: int, last: int) -> dict[int, tuple[int, int, int]]:
    """{unit id: (red, yellow, green)} of the open items due in months [first, last]
    (only those from this month on are kept live: earlier ones are all red, in the
    tallies)."""
    out: dict[int, tuple[int, int, int]] = {}
    for uid, months in _live_by_month(root_id, today).items():
        sums = [0, 0, 0]
        for month, figures in months.items():
            if first <= month <= last:
                for i, value in enumerate(figures):
                    sums[i] += value
        if any(sums):
            out[uid] = (sums[0], sums[1], sums[2])
    return out


def own_counts(
    root_id: int, today: date, date_from: date | None = None, date_to: date | None = None
) -> dict[int, tuple[int, ...]]:
    """{unit id: (total, closed, on_time, red, yellow, green, grey, rect_total, rect_open)}
    of the top-level items each unit of `root_id`'s subtree holds itself (not rolled up),
    deadlines in [date_from, date_to] — whole months (see `month_window`). Two queries
    (one if this request has already counted the open items)."""
    window = month_window(date_from, date_to)
    if window is None:
        raise ValueError("the tallies count whole months only")
    return _counts(root_id, today, [window])[window]


def _all_time(root_id: int, today: date) -> dict[int, tuple[int, ...]]:
    """The tallies' part of every month, from each unit's sums (AssignmentUnitTally: ~2
    rows a unit; summing a province's 57,000 tally rows took 15–18 ms on SQLite, 27 ms on
    PostgreSQL). Of the open items with a deadline, those due before this month are red;
    the rest are this request's open items due from this month on (`_live_by_month`),
    whose lights `_counts` adds."""
    live = _live_by_month(root_id, today)
    stmt = select(U.unit_id, U.kind, U.n, U.closed, U.on_time, U.open_no_deadline).where(
        U.unit_id.in_(authz.scope_unit_ids_of(root_id))
    )
    out: dict[int, tuple[int, ...]] = {}
    for uid, kind, total, closed, on_time, no_deadline in db.session.execute(stmt):
        # open with a deadline, for now: those due from this month on are taken off below
        _add(out, uid, kind, total, closed, on_time, total - closed - no_deadline, no_deadline)
    for uid, figures in out.items():
        due_from_now = sum(sum(lights) for lights in live.get(uid, {}).values())
        out[uid] = (*figures[:3], figures[3] - due_from_now, *figures[4:])
    return out


def months_counts(root_id: int, today: date, months: list[date]) -> dict[date, dict[int, tuple[int, ...]]]:
    """`own_counts` for each whole month beginning in `months`, in one query (and the
    open items of this request)."""
    keys = {(month_key(m), month_key(m)): m for m in months}
    counts = _counts(root_id, today, list(keys))
    return {m: counts[k] for k, m in keys.items()}


def _counts(
    root_id: int, today: date, windows: list[tuple[int, int]]
) -> dict[tuple[int, int], dict[int, tuple[int, ...]]]:
    """The figures per window of months (not overlapping) and unit: the tallies summed
    per unit and window in one query, the live lights added."""
    memo = g.setdefault("_tally_windows", {}) if has_request_context() else {}
    if all((root_id, today, w) in memo for w in windows):
        return {w: memo[(root_id, today, w)] for w in windows}
    this_month = month_key(today)
    if windows == [ALL_TIME]:
        kept = _kept(("all-time", root_id, today), lambda: {ALL_TIME: _all_time(root_id, today)})
    else:
        kept = _kept(
            ("counts", root_id, this_month, tuple(windows)), lambda: _sum(root_id, this_month, windows)
        )
    out = {w: dict(units) for w, units in kept.items()}
    for (first, last), units in out.items():
        if (
            max(first, this_month) <= last
        ):  # else a window in the past: its open items are all red, in the tallies
            for uid, (red, yellow, green) in _live(root_id, today, max(first, this_month), last).items():
                f = units.get(uid)
                if f is not None:
                    units[uid] = (*f[:3], f[3] + red, f[4] + yellow, f[5] + green, *f[6:])
        memo[(root_id, today, (first, last))] = units
    return out


def _sum(
    root_id: int, this_month: int, windows: list[tuple[int, int]]
) -> dict[tuple[int, int], dict[int, tuple[int, ...]]]:
    """The tallies of `root_id`'s subtree summed per unit and window, in one query.
    Grouped by unit and kind — the tallies' key order, so one window needs no sort — with
    few sums each (a CASE per sum and row is what such a query spends its time on)."""
    open_ = T.closed_month == 0
    # which window a row falls in (grouping by a constant for one window would cost a sort)
    which = (
        literal(0)
        if len(windows) == 1
        else case(*((T.due_month.between(first, last), i) for i, (first, last) in enumerate(windows)))
    )
    stmt = select(
        T.unit_id,
        T.kind,
        which,
        func.sum(T.n),
        func.sum(case((T.closed_month > 0, T.n))),
        func.sum(T.on_time),
        # open and due in an earlier month: red; open with no deadline: green; open
        # and due from this month on: counted live (`_counts`)
        func.sum(case((and_(open_, T.due_month > 0, T.due_month < this_month), T.n))),
        func.sum(case((and_(open_, T.due_month == 0), T.n))),
    ).where(
        T.unit_id.in_(authz.scope_unit_ids_of(root_id)),
        or_(*(T.due_month.between(first, last) for first, last in windows)),
    )
    stmt = stmt.group_by(T.unit_id, T.kind, *([] if len(windows) == 1 else [which]))
    out: dict[tuple[int, int], dict[int, tuple[int, ...]]] = {w: {} for w in windows}
    for uid, kind, i, total, closed, on_time, past_due, no_deadline in db.session.execute(stmt):
        _add(out[windows[i]], uid, kind, total, closed or 0, on_time, past_due or 0, no_deadline or 0)
    return out


def _add(
    units: dict[int, tuple[int, ...]],
    uid: int,
    kind: str,
    total: int,
    closed: int,
    on_time: int,
    red: int,
    no_deadline: int,
) -> None:
    """Add one kind's sums to a unit's figures (the order of COUNTS; a unit with no items
    of the kind gets nothing)."""
    if not total:
        return
    rect_total, rect_open = (total, total - closed) if kind == RECT else (0, 0)
    figures = (total, closed, on_time, red, 0, no_deadline, closed, rect_total, rect_open)
    before = units.get(uid)
    units[uid] = figures if before is None else tuple(a + b for a, b in zip(before, figures, strict=True))


def month_series(root_id: int, today: date, starts: list[date]) -> list[tuple[int, int, int, int]]:
    """Per month beginning in `starts` (oldest first, the last one this month): items
    closed in it, items overdue at its end (today, for this month), items due in it
    closed on time, and items due in it that were due by today (closed, or open and past
    the deadline). Two queries, whatever the number of months and items: the tallies of
    the window grouped by their months (a few thousand rows at most), then the open items
    of this month."""
    this_month = month_key(today)
    months = [month_key(s) for s in starts]
    closed, overdue, on_time, due, open_past_due = _kept(
        ("series", root_id, this_month, tuple(months)), lambda: _series(root_id, this_month, months)
    )
    overdue, due = dict(overdue), dict(due)
    # This month ends later: what counts today is the open items past the deadline now,
    # counted live (those due in an earlier month are all past it).
    red_this_month = sum(r for r, _y, _g in _live(root_id, today, this_month, this_month).values())
    if this_month in overdue:
        overdue[this_month] = open_past_due + red_this_month
        due[this_month] += red_this_month
    return [(closed[m], overdue[m], on_time[m], due[m]) for m in months]


def _series(
    root_id: int, this_month: int, months: list[int]
) -> tuple[dict[int, int], dict[int, int], dict[int, int], dict[int, int], int]:
    """The tallies' part of `month_series`: closed, overdue, on time and due per month,
    and the open items due before this month."""
    window = months[0]
    # An item closed before the window and due before it counts in none of the series.
    stmt = (
        select(T.due_month, T.overdue_from, T.closed_month, func.sum(T.n), func.sum(T.on_time))
        .where(T.unit_id.in_(authz.scope_unit_ids_of(root_id)))
        .where((T.closed_month == 0) | (T.closed_month >= window) | (T.due_month >= window))
        .group_by(T.due_month, T.overdue_from, T.closed_month)
    )
    closed = dict.fromkeys(months, 0)
    overdue = dict.fromkeys(months, 0)
    on_time = dict.fromkeys(months, 0)
    due = dict.fromkeys(months, 0)
    open_past_due = 0
    for due_month, overdue_from, closed_month, n, n_on_time in db.session.execute(stmt):
        if closed_month in closed:
            closed[closed_month] += n
        if due_month in due:
            on_time[due_month] += n_on_time
            if closed_month or due_month < this_month:
                due[due_month] += n
        if overdue_from:
            for m in months:  # overdue at the end of m: from `overdue_from` until closed
                if overdue_from <= m and (closed_month == 0 or closed_month > m):
                    overdue[m] += n
        if closed_month == 0 and 0 < due_month < this_month:
            open_past_due += n
    return closed, overdue, on_time, due, open_past_due


# ---------------------------------------------------------------- the proof


def recount() -> dict[tuple[int, str, int, int, int], tuple[int, int]]:
    """The tallies computed afresh from the items (in Python, from a plain read of every
    top-level item): {key: (n, on_time)}. For the tests and `flask tallies check`."""
    rows = db.session.execute(
        select(
            Assignment.unit_id,
            Task.kind,
            Assignment.deadline,
            Assignment.created_at,
            Assignment.status,
            Assignment.closed_on,
        )
        .join(Task, Task.id == Assignment.task_id)
        .where(Assignment.parent_id.is_(None))
    )
    out: dict[tuple[int, str, int, int, int], list[int]] = {}
    for unit_id, kind, deadline, created_at, status, closed_on in rows:
        closed = status == "closed"
        created = (created_at + timedelta(hours=8)).date()
        key = (
            unit_id,
            kind,
            month_key(deadline) if deadline else 0,
            max(month_key(deadline + timedelta(days=1)), month_key(created)) if deadline else 0,
            (month_key(closed_on) if closed_on else 1) if closed else 0,
        )
        on_time = closed and (deadline is None or (closed_on is not None and closed_on <= deadline))
        figures = out.setdefault(key, [0, 0])
        figures[0] += 1
        figures[1] += int(on_time)
    return {k: (n, t) for k, (n, t) in out.items()}


def unit_sums() -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """Each unit's sums as the triggers keep them (AssignmentUnitTally), without the rows
    that have come down to zero: {(unit, kind): (n, closed, on_time, open_no_deadline)}."""
    return {
        (r.unit_id, r.kind): (r.n, r.closed, r.on_time, r.open_no_deadline)
        for r in db.session.execute(select(U)).scalars()
        if r.n or r.closed or r.on_time or r.open_no_deadline
    }


def unit_sums_of(tallies: dict[tuple[int, str, int, int, int], tuple[int, int]]) -> dict:
    """The same sums added up from tallies ({key: (n, on_time)}, as `recount` gives)."""
    out: dict[tuple[int, str], list[int]] = {}
    for (unit_id, kind, due_month, _overdue_from, closed_month), (n, on_time) in tallies.items():
        sums = out.setdefault((unit_id, kind), [0, 0, 0, 0])
        sums[0] += n
        sums[1] += n if closed_month else 0
        sums[2] += on_time
        sums[3] += n if not closed_month and not due_month else 0
    return {k: (a, b, c, d) for k, (a, b, c, d) in out.items() if a or b or c or d}


def stored() -> dict[tuple[int, str, int, int, int], tuple[int, int]]:
    """The tallies as kept, without the rows that have come down to zero."""
    return {
        (r.unit_id, r.kind, r.due_month, r.overdue_from, r.closed_month): (r.n, r.on_time)
        for r in db.session.execute(select(T)).scalars()
        if r.n or r.on_time
    }
