"""The audit log as XLSX: every row of the filter, however many, through the one XLSX
writer in streaming mode (each row goes to a temporary file as it is written: one row in
memory at a time), and the finished workbook is sent from a temporary file in chunks."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from datetime import date
from typing import IO, Any

from app.audit.models import RESULTS, AuditEntry
from app.audit.queries import action_label
from app.exports.xlsx import INTEGER, Book, Column
from app.timeutil import to_local

# Widths for the printed page (fit to one landscape A4 page wide): the detail and the
# 64-character hash wrap in their cells rather than widen the sheet.
COLUMNS = [
    Column("编号", 9, number_format=INTEGER),
    Column("时间", 19),
    Column("用户名", 14),
    Column("单位", 26),
    Column("客户端地址", 15),
    Column("操作", 16),
    Column("操作代码", 18),
    Column("对象", 18),
    Column("结果", 8),
    Column("详情", 44),
    Column("本条哈希（SM3）", 34),
]


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


def write_xlsx(
    rows: Iterable[AuditEntry],
    out: IO[bytes],
    *,
    title: str,
    period: str | None = None,
    as_of: date | None = None,
) -> int:
    """Write the rows to `out`; return how many. Text stays text (no formula, no
    character a file cannot hold): the writer sees to it."""
    book = Book(title, period=period, as_of=as_of, write_only=True)
    count = book.sheet("审计日志", COLUMNS, (row_values(row) for row in rows))
    book.save(out)
    return count


def spooled(
    rows: Iterable[AuditEntry], *, title: str, period: str | None = None, as_of: date | None = None
) -> tuple[IO[bytes], int]:
    """The workbook in a temporary file, rewound, and the number of rows in it."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    try:
        count = write_xlsx(rows, tmp, title=title, period=period, as_of=as_of)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return tmp, count
