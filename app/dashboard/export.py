"""Rankings (赛马) as XLSX: one sheet for the ranking, one for the red list."""

from __future__ import annotations

from typing import Any

from app.dashboard.rankings import RankRow
from app.exports.xlsx import Book, Column
from app.tasks.export import rate_text

RANK_COLUMNS = [
    Column("名次", 6),
    Column("较上月", 8),
    Column("单位", 26),
    Column("上级法院", 22),
    Column("当月到期事项", 10),
    Column("已办结", 8),
    Column("按期办结", 8),
    Column("逾期", 8),
    Column("按期完成率", 10),
    Column("整改事项", 8),
    Column("已销号", 8),
    Column("整改销号率", 10),
    Column("清单达标率", 10),
]
SHEET_NAMES = {"intermediate": "中级法院排名", "base": "基层法院排名"}
RED_COLUMNS = [
    Column("序号", 6),
    Column("事项", 50),
    Column("承办单位", 26),
    Column("完成时限", 12),
    Column("逾期天数", 10),
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


def rankings_xlsx(rows: list[RankRow], red: list[dict[str, Any]], *, level: str, period: str) -> bytes:
    book = Book(f"{SHEET_NAMES[level]} {period}")
    book.sheet(
        f"{SHEET_NAMES[level]} {period}",
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
                rate_text(r.rate),
                r.rect_total,
                r.rect_closed,
                rate_text(r.rect_rate),
                rate_text(r.compliance),
            ]
            for r in rows
        ],
    )
    book.sheet(
        "逾期红榜",
        RED_COLUMNS,
        [[i, r["title"], r["unit"], r["deadline"], r["days"]] for i, r in enumerate(red, 1)],
    )
    return book.to_bytes()
