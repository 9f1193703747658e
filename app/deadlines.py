"""Derived deadline status — 逾期 / 临期 — in one place, in Python and in SQL.

Nothing here is stored: "overdue" is "not closed and today (Asia/Shanghai) is past
the deadline"; "due soon" is "not closed and the deadline is within N days"."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import and_, literal_column, not_, or_, true

from app.sqlutil import date_value, days_between

DUE_SOON_DAYS = 7
DUE_LABELS = {"overdue": "逾期", "due_soon": "临期", "closed": "已办结", "normal": "正常", "none": "无时限"}


def due_state(deadline: date | None, closed: bool, today: date, soon_days: int = DUE_SOON_DAYS) -> str:
    """'closed', 'overdue', 'due_soon', 'normal' or 'none' (no deadline)."""
    if closed:
        return "closed"
    if deadline is None:
        return "none"
    if deadline < today:
        return "overdue"
    if deadline <= today + timedelta(days=soon_days):
        return "due_soon"
    return "normal"


def days_overdue(deadline: date | None, today: date) -> int:
    return (today - deadline).days if deadline and deadline < today else 0


def not_closed(status_col, closed_value: str = "closed"):
    """SQL: `status != 'closed'` with the value written into the statement, not bound:
    only then may SQLite (and PostgreSQL's generic plans) use a partial index on open
    items (ix_assignments_open). The value is a code constant, never user input."""
    if not closed_value.isidentifier():
        raise ValueError(closed_value)
    return status_col != literal_column(f"'{closed_value}'")


def overdue_clause(deadline_col, status_col, today: date, closed_value: str = "closed"):
    """SQL: not closed and past the deadline."""
    return and_(not_closed(status_col, closed_value), deadline_col.is_not(None), deadline_col < today)


def due_soon_clause(
    deadline_col, status_col, today: date, soon_days: int = DUE_SOON_DAYS, closed_value: str = "closed"
):
    """SQL: not closed and the deadline is today or within `soon_days`."""
    return and_(
        not_closed(status_col, closed_value),
        deadline_col.is_not(None),
        deadline_col >= today,
        deadline_col <= today + timedelta(days=soon_days),
    )


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3, "halfyear": 6}


def periods(start: date, end: date, recurrence: str) -> list[tuple[str, date]]:
    """(label, due date) for each period of a recurring item between start and end:
    every month / quarter / half-year, each due on its last day."""
    step = INTERVAL_MONTHS[recurrence]
    out: list[tuple[str, date]] = []
    if start > end:
        return out
    # Align to calendar periods: months 1..12, quarters ending 3/6/9/12, halves 6/12.
    month = ((start.month - 1) // step) * step + step
    year = start.year
    while True:
        if month > 12:
            year, month = year + 1, month - 12
        due = month_end(year, month)
        if due < start:
            month += step
            continue
        if recurrence == "monthly":
            label = f"{year}年{month}月"
        elif recurrence == "quarterly":
            label = f"{year}年第{month // 3}季度"
        else:
            label = f"{year}年{'上' if month == 6 else '下'}半年"
        out.append((label, min(due, end)))  # the last period ends with the project
        if due >= end or len(out) >= 120:
            return out
        month += step


def next_report_due(last: date, report_every: str | None) -> date:
    """For 长期坚持 items: the next periodic report is due one interval after the last."""
    return add_months(last, INTERVAL_MONTHS.get(report_every or "quarterly", 3))


# ---------------------------------------------------------------- traffic light (红黄绿灯)

LIGHT_DAYS = 7  # yellow when due within this many days
LIGHT_BEHIND = 20  # or when progress is this many points behind the expected pace
LIGHTS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "grey": "灰灯"}


def expected_progress(start: date, deadline: date, today: date) -> int:
    """The share of the period already elapsed, as a percent: the pace to keep."""
    total = (deadline - start).days
    if total <= 0:
        return 100
    return max(0, min(100, round(100 * (today - start).days / total)))


def traffic_light(
    deadline: date | None,
    closed: bool,
    today: date,
    *,
    progress: int = 0,
    start: date | None = None,
    days: int = LIGHT_DAYS,
    behind: int = LIGHT_BEHIND,
) -> str:
    """red = overdue; yellow = due within `days`, or progress behind the expected pace
    by ≥ `behind` points; green otherwise; grey once closed. Always derived."""
    if closed:
        return "grey"
    if deadline is None:
        return "green"
    if deadline < today:
        return "red"
    if deadline <= today + timedelta(days=days):
        return "yellow"
    if start is not None and behind_pace(start, deadline, today, progress, behind):
        return "yellow"
    return "green"


def behind_pace(start: date, deadline: date, today: date, progress: int, behind: int = LIGHT_BEHIND) -> bool:
    """Progress is `behind` points or more below the elapsed share of the period —
    compared in whole numbers (100 × elapsed ≥ (progress + behind) × length), exactly as
    `light_clauses` does in SQL."""
    total = (deadline - start).days
    if total <= 0:
        return 100 - progress >= behind
    elapsed = max(0, min(total, (today - start).days))
    return 100 * elapsed >= (progress + behind) * total


def light_clauses(
    deadline_col,
    status_col,
    progress_col,
    start_col,
    today: date,
    closed_value: str = "closed",
    *,
    open_with_deadline: bool = False,
):
    """SQL twins of `traffic_light`, one clause per light, for counting and filtering:
    {"red": …, "yellow": …, "green": …, "grey": …}. `start_col` is the local date the
    item was assigned on (see app.sqlutil.local_date). `open_with_deadline`: the query's
    WHERE already keeps only open items with a deadline, so red and yellow need not say
    it again (SQLite evaluates the repeated status test per row: an open-items count of
    8,000 items, 17 → 11 ms)."""
    today_v = date_value(today)
    open_ = true() if open_with_deadline else not_closed(status_col, closed_value)
    has_deadline = true() if open_with_deadline else deadline_col.is_not(None)
    red = and_(open_, has_deadline, deadline_col < today)
    pace = 100 * days_between(start_col, today_v) >= (progress_col + LIGHT_BEHIND) * days_between(
        start_col, deadline_col
    )
    yellow = and_(
        open_,
        has_deadline,
        deadline_col >= today,
        or_(deadline_col <= today + timedelta(days=LIGHT_DAYS), pace),
    )
    return {
        "red": red,
        "yellow": yellow,
        "green": and_(open_, not_(red), not_(yellow)),
        "grey": status_col == closed_value,
    }
