"""The audit log as XLSX: every row of the filter, however many — openpyxl's
write-only mode keeps one row in memory at a time (the sheet goes to a temporary
file), and the finished workbook is sent from a temporary file in chunks."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from app.audit.models import RESULTS, AuditEntry
from app.audit.queries import action_label
from app.exports.xlsx import put
from app.timeutil import to_local

COLUMNS = (
    ("编号", 9),
    ("时间", 20),
    ("用户名", 14),
    ("单位", 30),
    ("客户端地址", 16),
    ("操作", 16),
    ("操作代码", 18),
    ("对象", 20),
    ("结果", 8),
    ("详情", 60),
    ("本条哈希（SM3）", 66),
)
HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")


def row_values(row: AuditEntry) -> list[Any]:
    local = to_local(row.at)
    return [
        row.id,
        local.strftime("%Y-%m-%d %H:%M:%S") if local else "",
        row.username or "",
        row.unit_name or "",
        row.ip or "",
        action_label(row.action),
        row.action,
        f"{row.object_type}#{row.object_id}" if row.object_type else "",
        RESULTS.get(row.result, row.result),
        json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else "",
        row.hash,
    ]


def write_xlsx(rows: Iterable[AuditEntry], out: IO[bytes], *, title: str) -> int:
    """Write the rows to `out`; return how many."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    ws = wb.create_sheet("审计日志")
    for col, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, header, bold=True) for header, _ in COLUMNS])
    count = 0
    for row in rows:
        ws.append([_cell(ws, value) for value in row_values(row)])
        count += 1
    wb.save(out)
    return count


def _cell(ws: Any, value: Any, *, bold: bool = False) -> Any:
    cell = WriteOnlyCell(ws)
    put(cell, value)  # text stays text: no formula, no character a file cannot hold
    if bold:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    return cell


def spooled(rows: Iterable[AuditEntry], *, title: str) -> tuple[IO[bytes], int]:
    """The workbook in a temporary file, rewound, and the number of rows in it."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    try:
        count = write_xlsx(rows, tmp, title=title)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return tmp, count
