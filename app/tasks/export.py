"""Completion lists as XLSX: Chinese intact, widths set, header frozen."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.deadlines import DUE_LABELS, due_state
from app.tasks.models import Assignment
from app.tasks.queries import CompletionRow

HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")


def _sheet(ws, title: str, header: list[str], rows: list[list], widths: list[int]) -> None:
    ws.title = title
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r in rows:
        ws.append(r)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A2"


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


SUMMARY_HEADER = [
    "单位",
    "事项总数",
    "已办结",
    "其中按期办结",
    "未办结",
    "逾期",
    "按期办结率",
    "审核状态",
    "审核意见",
]
ITEM_HEADER = [
    "单位",
    "项目",
    "任务名称",
    "周期",
    "完成时限",
    "原定时限",
    "状态",
    "时限状态",
    "进度%",
    "办结日期",
]


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
                rate_text(r.on_time_rate),
                state,
                (review.comment or "") if review else "",
            ]
        )
    return out


def item_rows(items: list[Assignment], today: date) -> list[list]:
    return [
        [
            a.unit.name,
            a.task.context_label,
            a.task.title,
            a.period_label or "",
            a.deadline.isoformat() if a.deadline else "",
            a.original_deadline.isoformat() if a.original_deadline else "",
            a.status_label,
            DUE_LABELS[due_state(a.deadline, a.status == "closed", today)],
            a.progress,
            a.closed_on.isoformat() if a.closed_on else "",
        ]
        for a in items
    ]


def completion_xlsx(title: str, rows: list[CompletionRow], items: list[Assignment], today: date) -> bytes:
    wb = Workbook()
    _sheet(wb.active, "完成清单", SUMMARY_HEADER, summary_rows(rows), [34, 10, 10, 14, 10, 8, 12, 12, 30])
    _sheet(
        wb.create_sheet(),
        "事项明细",
        ITEM_HEADER,
        item_rows(items, today),
        [30, 24, 40, 14, 12, 12, 10, 10, 8, 12],
    )
    wb.properties.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
