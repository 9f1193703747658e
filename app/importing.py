"""Shared machinery for spreadsheet imports: read CSV/XLSX safely, keep a previewed
batch server-side, commit it later all-or-nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import ServiceError
from app.extensions import db


class ImportBatch(db.Model):
    """An uploaded file, parsed and checked, waiting for the user to commit it."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="preview")  # preview/committed
    committed_at: Mapped[datetime | None]
    rows: Mapped[list] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)


class ImportFormatError(ServiceError):
    """The file itself can't be read (wrong type, corrupt, empty, too large)."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        # Not read-only: merged cells (a unit or a deadline merged down several rows, as
        # courts write them) must be filled into every row they cover.
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # noqa: BLE001 — openpyxl raises many kinds on corrupt files
        raise ImportFormatError("无法读取该 Excel 文件：文件已损坏或不是 .xlsx 格式。") from exc
    try:
        ws = wb.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            top = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(rows) else ""
            if rng.max_col > rng.min_col and rng.max_row == rng.min_row:
                continue  # a title merged across columns stays in its first cell
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                        rows[r - 1][c - 1] = top
        return rows
    except Exception as exc:  # noqa: BLE001
        raise ImportFormatError("无法读取该 Excel 文件的内容，文件可能已损坏。") from exc
    finally:
        wb.close()


def _read_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFormatError("无法识别 CSV 文件的编码，请另存为 UTF-8 编码后再上传。")
    if "\x00" in text:
        raise ImportFormatError("该文件不是文本格式的 CSV 文件。")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def read_table(filename: str, data: bytes, *, max_rows: int) -> list[list[str]]:
    """Rows of cells (strings) from an .xlsx or .csv upload, checked by content.
    Empty rows are kept, so that row i is spreadsheet row i + 1 in messages."""
    if not data:
        raise ImportFormatError("上传的文件是空的。")
    name = (filename or "").lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith(".xlsx") or (is_zip and not name.endswith(".csv")):
        if not is_zip:
            raise ImportFormatError("文件扩展名是 .xlsx，但内容不是 Excel 文件。")
        rows = _read_xlsx(data)
    elif name.endswith(".csv") or name.endswith(".txt"):
        if is_zip:
            raise ImportFormatError("文件扩展名是 .csv，但内容不是文本文件。")
        rows = _read_csv(data)
    elif name.endswith(".xls"):
        raise ImportFormatError("暂不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后再上传。")
    else:
        raise ImportFormatError("只支持 .xlsx 或 .csv 文件。")
    filled = sum(1 for r in rows if any(c for c in r))
    if not filled:
        raise ImportFormatError("文件中没有数据。")
    if filled > max_rows + 1:
        raise ImportFormatError(f"文件行数过多（{filled - 1} 行），一次最多导入 {max_rows} 行。")
    while rows and not any(c for c in rows[-1]):
        rows.pop()
    return rows


Progress = Callable[[int, int], None]  # (rows done, rows in all); may raise to stop the work
DUPLICATE = "与文件中前面的行重复。"


def _each_row(
    rows: list[dict],
    attempt: Callable[[dict], Any],
    key: Callable[[dict], str] | None,
    progress: Progress | None = None,
    every: int = 200,
) -> int:
    """The verdict on every row (`_verdict`); returns the number of bad rows.
    `progress` hears (rows done, rows in all) at the start, every `every` rows and at
    the end."""
    bad = 0
    seen: set[str] = set()
    if progress is not None:
        progress(0, len(rows))
    for done, row in enumerate(rows, start=1):
        bad += _verdict(row, attempt, key, seen)
        if progress is not None and (done % every == 0 or done == len(rows)):
            progress(done, len(rows))
    return bad


def _verdict(
    row: dict, attempt: Callable[[dict], Any], key: Callable[[dict], str] | None, seen: set[str]
) -> bool:
    """Whether a row is bad, its `errors` set: a row marked "skip" is left out, one with
    `parse_errors` is bad as it is, a key repeated from an earlier row is refused; else
    `attempt(row)` decides, a ServiceError's message becoming the row's error."""
    row["errors"] = []
    if row.get("skip"):
        return False
    if row.get("parse_errors"):
        return True
    k = key(row) if key else ""
    if k and k in seen:
        row["errors"].append(DUPLICATE)
        return True
    if k:
        seen.add(k)
    try:
        attempt(row)
    except ServiceError as exc:
        row["errors"].append(exc.message)
        return True
    return False


def run_rows(
    rows: list[dict],
    handler: Callable[[dict], Any],
    *,
    dry_run: bool,
    key: Callable[[dict], str] | None = None,
) -> int:
    """Run every row through `handler` (the real services), each in its own savepoint,
    collecting a ServiceError's message on the row (`errors`; `parse_errors` found
    while reading the file stay as they are). Rows marked "skip" are left out.
    Returns the number of bad rows; with any bad row, or in a dry run, everything is
    rolled back — so a preview reports exactly what the commit will do."""

    def attempt(row: dict) -> None:
        savepoint = db.session.begin_nested()
        try:
            handler(row)
        except ServiceError:
            savepoint.rollback()
            raise
        savepoint.commit()

    outer = db.session.begin_nested()
    bad = _each_row(rows, attempt, key)
    if dry_run or bad:
        outer.rollback()
    else:
        outer.commit()
    return bad


def check_rows(
    rows: list[dict],
    check: Callable[[dict], Any],
    *,
    key: Callable[[dict], str] | None = None,
    progress: Progress | None = None,
    every: int = 200,
) -> int:
    """`run_rows`'s verdicts where `check` writes nothing (it checks and builds a row in
    memory, raising ServiceError as the services do): no savepoints, no rollback.
    Returns the number of bad rows; `progress` is told as `_each_row` says."""
    return _each_row(rows, check, key, progress, every)


def row_errors(row: dict) -> list[str]:
    """Everything wrong with a row: what reading found, then what the services said."""
    return [*row.get("parse_errors", []), *row.get("errors", [])]
