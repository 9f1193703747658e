"""The 对标对表 matrix as XLSX: the same cells as the wall page (symbol + word + colour),
Chinese intact, written by the one XLSX writer (title row, header and unit column
frozen, print setup; compliance as a number formatted 0.0%)."""

from __future__ import annotations

from datetime import date

from app.checklists.models import ENTRY_STATUSES
from app.exports.xlsx import PERCENT, Book, Column, Styled

# Okabe–Ito hues (safe for colour-blind readers); the symbol carries the meaning anyway.
SYMBOLS = {"verified": "✓", "claimed": "●", "rejected": "✗", "missing": "○"}
FILLS = {"verified": "CCEBE1", "claimed": "D3E6F4", "rejected": "F8DCC8", "missing": "F2F2F2"}
INKS = {"verified": "00664A", "claimed": "005A8C", "rejected": "A34700", "missing": "666666"}


def cell_text(status: str) -> str:
    return f"{SYMBOLS.get(status, '')} {ENTRY_STATUSES.get(status, status)}"


def _status_cell(entry) -> Styled | str:
    if entry is None:
        return "—"
    return Styled(
        cell_text(entry.status),
        fill=FILLS[entry.status],
        ink=INKS[entry.status],
        bold=entry.status != "missing",
    )


def _matrix_sheet(book: Book, m, rows) -> None:
    """rows: (group, unit, checklist, entries, compliance) in wall order."""
    codes = [code for code, _title, _section in m.columns]
    columns = [
        Column("单位", 26),
        Column("所属", 22),
        Column("版本", 7),
        Column("达标率", 9, number_format=PERCENT),
        *(Column(code, 11, align="center") for code in codes),
    ]
    book.sheet(
        "对标对表",
        columns,
        (
            [
                unit.name,
                group or "",
                f"第{checklist.version}版",
                compliance,
                *(_status_cell(entries.get(code)) for code in codes),
            ]
            for group, unit, checklist, entries, compliance in rows
        ),
        header_height=30,
        freeze_columns=1,  # the unit column stays in view as well as the header: the matrix is wide
    )


def _rollup_sheet(book: Book, rollup, root) -> None:
    book.sheet(
        "汇总",
        [Column("单位", 34), Column("清单数", 10), Column("达标率（含下级）", 18, number_format=PERCENT)],
        (
            [
                f"{row.unit.name}（本级）" if row.unit.id == root.id else row.unit.name,
                row.checklists,
                row.compliance,
            ]
            for row in rollup
        ),
        title=f"{book.title}汇总",
    )


def _legend_sheet(book: Book, m) -> None:
    legend = ["图例", "  ".join(cell_text(s) for s in SYMBOLS), "达标率 = 已核验检查项权重 ÷ 全部检查项权重"]
    book.sheet(
        "检查项",
        [Column("编号", 12), Column("分组", 22), Column("检查项", 70)],
        [*([code, section, title] for code, title, section in m.columns), [], legend],
        title=f"{book.title}检查项",
    )


def matrix_xlsx(title: str, m, rows, rollup, root, *, today: date | None = None) -> bytes:
    """The matrix, its roll-up and its legend, each sheet titled "… 截至 `today`"."""
    book = Book(title, as_of=today)
    _matrix_sheet(book, m, rows)
    _rollup_sheet(book, rollup, root)
    _legend_sheet(book, m)
    return book.to_bytes()
