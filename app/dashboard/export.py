"""Rankings (赛马) as XLSX: one sheet for the ranking, one for the red list, written by the
one XLSX writer (title row, print setup; rates as numbers formatted 0.0%)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.dashboard.rankings import RankRow
from app.exports.xlsx import INTEGER, PERCENT, Book, Column, month_text
from app.tasks.export import rate_cell


def _rate(header: str) -> Column:
    return Column(header, 10, number_format=PERCENT, align="right")


RANK_COLUMNS = [
    Column("名次", 6, align="center"),
    Column("较上月", 8, align="center"),
    Column("单位", 26),
    Column("上级法院", 22),
    Column("当月到期事项", 10, number_format=INTEGER),
    Column("已办结", 8, number_format=INTEGER),
    Column("按期办结", 8, number_format=INTEGER),
    Column("逾期", 8, number_format=INTEGER),
    _rate("按期完成率"),
    Column("整改事项", 8, number_format=INTEGER),
    Column("已销号", 8, number_format=INTEGER),
    _rate("整改销号率"),
    _rate("清单达标率"),
]
SHEET_NAMES = {"intermediate": "中级法院排名", "base": "基层法院排名"}
RED_COLUMNS = [
    Column("序号", 6, align="center"),
    Column("事项", 50),
    Column("承办单位", 26),
    Column("完成时限", 12),
    Column("逾期天数", 10, number_format=INTEGER),
]


def change_text(change: int | None) -> str:
    """↑2 / ↓1 / ＝ (no change) / — (nothing to compare): arrows and signs, not colour."""
    if change is None:
        return "—"
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "＝"


def rankings_xlsx(
    rows: list[RankRow],
    red: list[dict[str, Any]],
    *,
    level: str,
    period: str,
    unit: str = "",
    today: date | None = None,
) -> bytes:
    """The ranking of `level` for the month `period` ("2026-03") below `unit` (its name),
    then the red list as of `today`."""
    month = month_text(period)
    book = Book(f"{unit}{SHEET_NAMES[level]}", period=month, as_of=today)
    book.sheet(
        f"{SHEET_NAMES[level]} {month}",
        RANK_COLUMNS,
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
                rate_cell(r.rate),
                r.rect_total,
                r.rect_closed,
                rate_cell(r.rect_rate),
                rate_cell(r.compliance),
            ]
            for r in rows
        ],
    )
    book.sheet(
        "逾期红榜",
        RED_COLUMNS,
        [[i, r["title"], r["unit"], r["deadline"], r["days"]] for i, r in enumerate(red, 1)],
        title=f"{unit}逾期事项红榜",
        period="",  # every item overdue today, whatever its month
    )
    return book.to_bytes()
