"""日历 (/calendar, /calendar/<day>) and a project's 甘特图 (/projects/<id>/gantt)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from flask import render_template, request, url_for
from flask_login import current_user, login_required

from app import authz
from app.main.errors import render_error
from app.schedule import bp
from app.schedule.gantt import PHONE, axis_range, gantt_chart, groups_of
from app.schedule.queries import day_counts, day_items, gantt_rows
from app.tasks.helpers import filter_units
from app.tasks.models import Project
from app.timeutil import local_today
from app.views_util import page_args

FIRST_YEAR, LAST_YEAR = 2000, 2100
MONTH_ERROR = f"月份格式应为“年-月”，例如 2026-03；年份在 {FIRST_YEAR}–{LAST_YEAR} 之间，月份为 1–12。"
DAY_ERROR = (
    f"日期格式应为“年-月-日”，例如 2026-03-15，且须是真实存在的日期（年份在 {FIRST_YEAR}–{LAST_YEAR} 之间）。"
)
WEEKDAYS = "一二三四五六日"


def parse_month(raw: str) -> date | None:
    """'2026-03' → 2026-03-01; anything else (2026-13, 9999-99, text) → None."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", raw.strip())
    if not m or not FIRST_YEAR <= int(m[1]) <= LAST_YEAR or not 1 <= int(m[2]) <= 12:
        return None
    return date(int(m[1]), int(m[2]), 1)


def parse_day(raw: str) -> date | None:
    """'2026-03-15' → that date; 2026-02-30, text … → None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _shift(first: date, months: int) -> str | None:
    m = first.month - 1 + months
    year, month = first.year + m // 12, m % 12 + 1
    return f"{year:04d}-{month:02d}" if FIRST_YEAR <= year <= LAST_YEAR else None


@bp.route("/calendar")
@login_required
def month():
    """The month's grid, Monday first, each day with its counts (one grouped query)."""
    today = local_today()
    raw = request.args.get("month", "")
    first = parse_month(raw) if raw else today.replace(day=1)
    if first is None:
        return render_error(400, MONTH_ERROR)
    weeks = calendar.Calendar().monthdatescalendar(first.year, first.month)
    counts = day_counts(current_user, weeks[0][0], weeks[-1][-1], today)
    return render_template(
        "schedule/month.html",
        first=first,
        weeks=weeks,
        counts=counts,
        today=today,
        weekdays=WEEKDAYS,
        prev_month=_shift(first, -1),
        next_month=_shift(first, 1),
        month_days=[d for d in sorted(counts) if (d.year, d.month) == (first.year, first.month)],
    )


@bp.route("/calendar/<day>")
@login_required
def day(day: str):
    """One day's items and milestones, a page at a time, each linking to its item."""
    when = parse_day(day)
    if when is None:
        return render_error(400, DAY_ERROR)
    today = local_today()
    page, size = page_args()
    pagination, lines = day_items(current_user, when, today, page=page, per_page=size)
    return render_template(
        "schedule/day.html",
        day=when,
        lines=lines,
        pagination=pagination,
        today=today,
        prev_day=parse_day((when - timedelta(days=1)).isoformat()),
        next_day=parse_day((when + timedelta(days=1)).isoformat()),
    )


@bp.route("/projects/<int:project_id>/gantt")
@login_required
def gantt(project_id: int):
    """The project's items the user may see, grouped by unit, 50 rows a page, optionally
    one unit's subtree; printable on A3 landscape (css/schedule.css)."""
    project = authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    today = local_today()
    unit_id = request.args.get("unit", type=int) or None
    page, size = page_args()
    pagination, milestones = gantt_rows(current_user, project, unit_id, today, page=page, per_page=size)
    groups = groups_of(
        pagination.items,
        milestones,
        today,
        lambda a: url_for("tasks.assignment_detail", assignment_id=a.id),
    )
    first, last = axis_range(groups, project.start, project.end)
    title = f"{project.name} 甘特图"
    return render_template(
        "schedule/gantt.html",
        project=project,
        chart=gantt_chart(groups, first, last, today, title=title),
        phone_chart=gantt_chart(groups, first, last, today, title=title, layout=PHONE),
        pagination=pagination,
        rows=sum(len(g.bars) for g in groups),
        units=filter_units(current_user, unit_id),
        unit_id=unit_id,
        today=today,
    )
