"""The rows of an assignment table, and the badges in them, written out in Python.

The list, 我的工作 / 今日工作, an item's units and the dashboard show assignments as
table rows with a light, a deadline, a due badge, a status and a progress bar. Through
Jinja macros (six calls a row) 50 rows took ~3 ms of a 16 ms list page; here under 1 ms.
`tasks/_macros.html` keeps its macros (same names, same arguments) and calls these, so
the markup has one source. Every text is escaped; addresses are built from integers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from app.deadlines import LIGHTS
from app.tasks.queries import traffic_light_of

STATUS_CLASSES = {
    "pending": "text-bg-secondary",
    "in_progress": "text-bg-primary",
    "submitted": "text-bg-info",
    "closed": "text-bg-success",
    "returned": "text-bg-warning",
}
# 红黄绿灯: shape + word (app.deadlines.LIGHTS) + colour, so it reads without colour too.
_SHAPES = {
    "red": ("●", "text-bg-danger"),
    "yellow": ("▲", "text-bg-warning"),
    "green": ("■", "text-bg-success"),
    "grey": ("○", "text-bg-secondary"),
}
LIGHT_BADGES = {state: (shape, LIGHTS[state], cls) for state, (shape, cls) in _SHAPES.items()}
_MARK = 2147483647  # an id no row has: the detail address is built once and split here


def _status(a: Any) -> str:
    return f'<span class="badge {STATUS_CLASSES.get(a.status, "")}">{escape(a.status_label)}</span>'


def _due(state: str, deadline: date | None, today: date | None) -> str:
    if state == "overdue":
        days = f" {(today - deadline).days} 天" if deadline and today else ""
        return f'<span class="badge text-bg-danger" title="逾期">▲ 逾期{days}</span>'
    if state == "due_soon":
        return '<span class="badge text-bg-warning" title="临期">● 临期</span>'
    return ""


def _light(state: str) -> str:
    shape, word, cls = LIGHT_BADGES[state]
    state = escape(state)
    return (
        f'<span class="badge {cls} light-{state}" data-light="{state}" title="{word}">'
        f'<span aria-hidden="true">{shape}</span> {word}</span>'
    )


def _deadline(a: Any) -> str:
    text = a.deadline.isoformat() if a.deadline else "—"
    if a.original_deadline and a.deadline != a.original_deadline:
        text += f' <span class="small text-secondary">（原 {a.original_deadline.isoformat()}）</span>'
    return text


def _as_int(value: Any) -> int:
    """Jinja's `int` filter: the number, else 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _progress(value: Any) -> str:
    shown = escape(value)
    width = min(max(_as_int(value), 0), 100)
    return (
        f'<div class="progress progress-item" role="progressbar" aria-label="进度" aria-valuenow="{shown}"'
        f' aria-valuemin="0" aria-valuemax="100"><div class="progress-bar pct-{width}">{shown}%</div></div>'
    )


def status_badge(a: Any) -> Markup:
    return Markup(_status(a))


def due_badge(state: str, deadline: date | None = None, today: date | None = None) -> Markup:
    return Markup(_due(state, deadline, today))


def traffic_light(state: str) -> Markup:
    return Markup(_light(state))


def deadline_text(a: Any) -> Markup:
    return Markup(_deadline(a))


def progress_bar(value: Any) -> Markup:
    return Markup(_progress(value))


def detail_href() -> Callable[[int], str]:
    """id → the address of that assignment's page, built once (a page of rows calls it
    ~100 times; url_for each time cost ~1 ms)."""
    before, after = url_for("tasks.assignment_detail", assignment_id=_MARK).split(str(_MARK))
    return lambda assignment_id: f"{before}{int(assignment_id)}{after}"


def assignment_rows(
    items: Iterable[Any], today: date, light: Callable[[Any, date], str], select: bool = False
) -> Markup:
    """One <tr> per assignment (with a check box for the bulk form when `select`)."""
    href = detail_href()
    out: list[str] = []
    for a in items:
        task = a.task
        cells = ["<tr>"]
        if select:
            cells.append(
                f'<td><input class="form-check-input" type="checkbox" name="ids" value="{a.id}" form="bulk"'
                f' aria-label="选择"><input type="hidden" name="version-{a.id}" value="{a.version}"'
                ' form="bulk"></td>'
            )
        period = a.period_label
        cells.append(
            f'<td><a href="{escape(href(a.id))}">{escape(task.title)}</a>'
            + (f'<span class="small text-secondary">（{escape(period)}）</span>' if period else "")
            + '<div class="small text-secondary">'
            + ('<span class="badge text-bg-light border">整改</span> ' if task.is_rectification else "")
            + f"{escape(task.context_label)}</div></td>"
        )
        cells.append(f'<td class="small">{escape(a.unit.name)}</td>')
        cells.append(
            f'<td class="text-nowrap small">{_light(traffic_light_of(a, today))} {_deadline(a)}'
            f" {_due(light(a, today), a.deadline, today)}</td>"
        )
        cells.append(f"<td>{_status(a)}</td><td>{_progress(a.progress)}</td></tr>")
        out.append("".join(cells))
    return Markup("\n".join(out))
