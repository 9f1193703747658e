"""Rankings (赛马) as XLSX: one sheet for the ranking, one for the red list."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from app.dashboard.rankings import RankRow
from app.tasks.export import _sheet, rate_text

RANK_HEADER = [
    "名次",
    "较上月",
    "单位",
    "上级法院",
    "当月到期事项",
    "已办结",
    "按期办结",
    "逾期",
    "按期完成率",
    "整改事项",
    "已销号",
    "整改销号率",
    "清单达标率",
]
SHEET_NAMES = {"intermediate": "中级法院排名", "base": "基层法院排名"}
RED_HEADER = ["序号", "事项", "承办单位", "完成时限", "逾期天数"]


def change_text(change: int | None) -> str:
    """↑2 / ↓1 / ＝ (no change) / — (nothing to compare): arrows and signs, not colour."""
    if change is None:
        return "—"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "＝"


def rankings_xlsx(rows: list[RankRow], red: list[dict[str, Any]], *, level: str, period: str) -> bytes:
    wb = Workbook()
    _sheet(
        wb.active,
        f"{SHEET_NAMES[level]} {period}",
        RANK_HEADER,
        [
            [
                "—" if r.rank is None else r.rank,
                change_text(r.change),
                r.unit,
                r.parent,
                r.total,
                r.closed,
                r.on_time,
                r.overdue,
                rate_text(r.rate),
                r.rect_total,
                r.rect_closed,
                rate_text(r.rect_rate),
                rate_text(r.compliance),
            ]
            for r in rows
        ],
        [6, 8, 26, 22, 10, 8, 8, 8, 10, 8, 8, 10, 10],
    )
    _sheet(
        wb.create_sheet(),
        "逾期红榜",
        RED_HEADER,
        [[i, r["title"], r["unit"], r["deadline"], r["days"]] for i, r in enumerate(red, 1)],
        [6, 50, 26, 12, 10],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
