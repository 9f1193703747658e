"""The 对标对表 matrix as XLSX: the same cells as the wall page (symbol + word + colour),
Chinese intact, header frozen, widths set."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from app.checklists.models import ENTRY_STATUSES

# Okabe–Ito hues (safe for colour-blind readers); the symbol carries the meaning anyway.
SYMBOLS = {"verified": "✓", "claimed": "●", "rejected": "✗", "missing": "○"}
FILLS = {"verified": "CCEBE1", "claimed": "D3E6F4", "rejected": "F8DCC8", "missing": "F2F2F2"}
INKS = {"verified": "00664A", "claimed": "005A8C", "rejected": "A34700", "missing": "666666"}
HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def cell_text(status: str) -> str:
    return f"{SYMBOLS.get(status, '')} {ENTRY_STATUSES.get(status, status)}"


def _header(ws, values: list[str], widths: list[float]) -> None:
    ws.append(values)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def _matrix_sheet(ws, m, rows) -> None:
    """rows: (group, unit, checklist, entries, compliance) in wall order."""
    ws.title = "对标对表"
    codes = [code for code, _title, _section in m.columns]
    _header(ws, ["单位", "所属", "版本", "达标率", *codes], [26, 22, 7, 9] + [11] * len(codes))
    ws.row_dimensions[1].height = 30
    for group, unit, checklist, entries, compliance in rows:
        ws.append([unit.name, group or "", f"第{checklist.template.version}版", compliance])
        r = ws.max_row
        ws.cell(r, 4).number_format = "0.0%"
        for col, code in enumerate(codes, start=5):
            entry = entries.get(code)
            cell = ws.cell(r, col, cell_text(entry.status) if entry else "—")
            cell.alignment = Alignment(horizontal="center", vertical="center")
            cell.border = BOX
            if entry is not None:
                cell.fill = PatternFill("solid", fgColor=FILLS[entry.status])
                cell.font = Font(color=INKS[entry.status], bold=entry.status != "missing")
    # The unit column stays in view as well as the header: the matrix is wide.
    ws.freeze_panes = "B2"


def _rollup_sheet(ws, rollup, root) -> None:
    ws.title = "汇总"
    _header(ws, ["单位", "清单数", "达标率（含下级）"], [34, 10, 18])
    for row in rollup:
        name = f"{row.unit.name}（本级）" if row.unit.id == root.id else row.unit.name
        ws.append([name, row.checklists, row.compliance])
        ws.cell(ws.max_row, 3).number_format = "0.0%"
    ws.freeze_panes = "A2"


def _legend_sheet(ws, m) -> None:
    ws.title = "检查项"
    _header(ws, ["编号", "分组", "检查项"], [12, 22, 70])
    for code, title, section in m.columns:
        ws.append([code, section, title])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.append([])
    ws.append(
        ["图例", "  ".join(cell_text(s) for s in SYMBOLS), "达标率 = 已核验检查项权重 ÷ 全部检查项权重"]
    )
    ws.freeze_panes = "A2"


def matrix_xlsx(title: str, m, rows, rollup, root) -> bytes:
    wb = Workbook()
    _matrix_sheet(wb.active, m, rows)
    _rollup_sheet(wb.create_sheet(), rollup, root)
    _legend_sheet(wb.create_sheet(), m)
    wb.properties.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
