"""Completion lists as XLSX (the page's summary, then every counted item), written by
the one XLSX writer (app.exports.xlsx): title row, print setup, rates as numbers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import Select

from app.deadlines import DUE_LABELS, due_state
from app.exports.xlsx import PERCENT, Book, Column, Note, period_text
from app.org.models import Unit
from app.tasks.models import STATUSES, Assignment, Project, Task
from app.tasks.queries import CompletionRow


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def rate_cell(rate: float | None) -> float | str:
    """A rate for a sheet: the number itself (the column's format shows it as 87.5%), or
    "—" when there is nothing to measure it on."""
    return "—" if rate is None else rate


SUMMARY_COLUMNS = [
    Column("单位", 34),
    Column("事项总数", 10),
    Column("已办结", 10),
    Column("其中按期办结", 14),
    Column("未办结", 10),
    Column("逾期", 8),
    Column("按期办结率", 12, number_format=PERCENT, align="right"),
    Column("审核状态", 12),
    Column("审核意见", 30),
]
ITEM_COLUMNS = [
    Column("单位", 30),
    Column("项目", 24),
    Column("任务名称", 40),
    Column("周期", 14),
    Column("完成时限", 12),
    Column("原定时限", 12),
    Column("状态", 10),
    Column("时限状态", 10),
    Column("进度%", 8),
    Column("办结日期", 12),
]
SUMMARY_HEADER = [c.header for c in SUMMARY_COLUMNS]
ITEM_HEADER = [c.header for c in ITEM_COLUMNS]


def summary_rows(rows: list[CompletionRow]) -> list[list]:
    out = []
    for r in rows:
        review = r.review
        state = (
            {"confirmed": "已审核确认", "returned": "已退回"}.get(review.decision, "") if review else "未审核"
        )
        out.append(
            [
                r.unit.name,
                r.total,
                r.closed,
                r.closed_on_time,
                r.open,
                r.overdue,
                rate_cell(r.on_time_rate),
                state,
                (review.comment or "") if review else "",
            ]
        )
    return out


def item_values(stmt: Select) -> Select:
    """The items' query (joins, filters and order kept: completion_items_query) reading
    only the columns the detail sheet shows, as plain rows: at 140,000 items, building
    ORM objects took a third of the export."""
    return stmt.with_only_columns(
        Unit.name,
        Project.name,
        Task.title,
        Assignment.period_label,
        Assignment.deadline,
        Assignment.original_deadline,
        Assignment.status,
        Assignment.progress,
        Assignment.closed_on,
    )


def item_rows(items: Iterable[Any], today: date) -> Iterator[list]:
    """One sheet row per row of `item_values` (unpacked: faster than by name)."""
    for unit, project, title, period_label, deadline, original_deadline, status, progress, closed_on in items:
        yield [
            unit,
            project or "督导整改",  # as Task.context_label: a rectification has no project
            title,
            period_label or "",
            deadline.isoformat() if deadline else "",
            original_deadline.isoformat() if original_deadline else "",
            STATUSES.get(status, status),
            DUE_LABELS[due_state(deadline, status == "closed", today)],
            progress,
            closed_on.isoformat() if closed_on else "",
        ]


def _listed_with_note(items: Iterable[Any], today: date, total: int) -> Iterator[list | Note]:
    """The item rows, then — if the sheet holds fewer than the summary counts — a last
    row (a note across all the columns) saying how many are missing and how to get them."""
    written = 0
    for row in item_rows(items, today):
        written += 1
        yield row
    if written < total:
        yield Note(
            f"注：明细仅列出前 {written:,} 项，汇总共 {total:,} 项，其余 {total - written:,} 项未列出；"
            "请按单位、项目或期限筛选后分别导出。"
        )


def completion_period(project: str | None, date_from: date | None, date_to: date | None) -> str | None:
    """What the completion list covers, for its title row: the project and the span of
    deadlines (项目“人民法庭建设攻坚”，完成时限2026年1月1日至2026年6月30日), or None."""
    parts = [f"项目“{project}”"] if project else []
    span = period_text(date_from, date_to)
    if span:
        parts.append(f"完成时限{span}")
    return "，".join(parts) or None


def completion_xlsx(
    title: str, rows: list[CompletionRow], items: Iterable[Any], today: date, *, period: str | None = None
) -> bytes:
    """The summary sheet, then every item behind it, written in streaming mode from a
    query fetched in batches (a large scope is written by a background job: see
    app/tasks/jobs.py); should items change between the two, a last note says so.
    `period` (app.exports.xlsx.period_text) goes into each sheet's title row."""
    book = Book(title, period=period, as_of=today, write_only=True)
    book.sheet("完成清单", SUMMARY_COLUMNS, summary_rows(rows))
    total = sum(r.total for r in rows)
    book.sheet("事项明细", ITEM_COLUMNS, _listed_with_note(items, today, total), title=f"{title}明细")
    return book.to_bytes()
