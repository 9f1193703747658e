"""The one XLSX writer: a workbook of sheets, each a header row over data rows.

    book = Book("甲市中院完成清单")
    book.sheet("完成清单", [Column("单位", 34), Column("达标率", 10, number_format="0.0%")], rows)
    data = book.to_bytes()

The header is row 1 (tools reading our exports expect it there), bold on a tinted
fill and frozen; the title goes into the document properties and the printed page
header. Printing: A4, as wide as the page, header repeated on every page, page
numbers in the footer.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.textclean import for_file, looks_like_formula

HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CELL_MAX = 32767  # Excel refuses longer cell text
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    """One column: its header, width (characters), number format and alignment."""

    header: str
    width: float = 12
    number_format: str | None = None
    align: str | None = None  # horizontal alignment of the data cells ("center", "right")


@dataclass(frozen=True)
class Styled:
    """A cell value with its own colours (e.g. a status in the 对标对表 matrix)."""

    value: Any
    fill: str | None = None
    ink: str | None = None
    bold: bool = False


def safe_text(value: str) -> str:
    """What the file may hold of a text (the stored text is untouched)."""
    return for_file(value)[:CELL_MAX]


def put(cell: Any, value: Any) -> None:
    """Write one value; text is always text, whatever it starts with."""
    if isinstance(value, str):
        text = safe_text(value)
        cell.value = text
        if looks_like_formula(text):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = True  # Excel, WPS and LibreOffice keep it text when edited
    else:
        cell.value = value


def sheet_name(name: str) -> str:
    """A sheet name Excel accepts: no []:*?/\\, at most 31 characters, never empty."""
    return _SHEET_NAME_BAD.sub("_", for_file(name)).strip("'")[:31] or "Sheet"


class Book:
    """A workbook being written; `sheet()` adds one sheet, `to_bytes()` or `save()` finishes it.

    `write_only=True` streams: each row goes to a temporary file as it is written, so an
    export of any length (the audit log) holds one row in memory at a time."""

    def __init__(self, title: str | None = None, *, write_only: bool = False) -> None:
        self.workbook = Workbook(write_only=write_only)
        self._default_sheet = None if write_only else self.workbook.active  # used by the first sheet()
        self.title = for_file(title or "")
        if self.title:
            self.workbook.properties.title = self.title

    def sheet(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any]],
        *,
        freeze: str = "A2",
        header_height: float | None = None,
        landscape: bool | None = None,
    ) -> int:
        """Header row, then one row per item of `rows` (an empty row stays empty); returns
        the number of rows written under the header."""
        ws = self._new_sheet(sheet_name(name))
        for col, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(col)].width = column.width
        if header_height:
            ws.row_dimensions[1].height = header_height
        ws.freeze_panes = freeze
        self._print_setup(ws, len(columns), landscape)
        ws.append([self._header_cell(ws, column.header) for column in columns])
        # One style per column, made once and copied to each cell (as openpyxl copies
        # styles itself): styling cell by cell costs more than writing the value.
        styles = [self._body_style(ws, column) for column in columns]
        plain = self._body_style(ws, Column(""))
        count = 0
        for values in rows:
            ws.append(
                [
                    self._cell(ws, value, styles[i] if i < len(styles) else plain)
                    for i, value in enumerate(values)
                ]
            )
            count += 1
        return count

    def _new_sheet(self, name: str) -> Any:
        ws, self._default_sheet = self._default_sheet, None
        if ws is None:
            return self.workbook.create_sheet(name)
        ws.title = name
        return ws

    @staticmethod
    def _header_cell(ws: Any, header: str) -> Cell:
        cell = WriteOnlyCell(ws)
        put(cell, header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        return cell

    @staticmethod
    def _body_style(ws: Any, column: Column) -> Any:
        proto = WriteOnlyCell(ws)
        proto.border = BOX
        proto.alignment = Alignment(horizontal=column.align, vertical="top", wrap_text=True)
        if column.number_format:
            proto.number_format = column.number_format
        return proto._style

    @staticmethod
    def _cell(ws: Any, value: Any, style: Any) -> Cell:
        styled = value if isinstance(value, Styled) else None
        cell = WriteOnlyCell(ws)
        cell._style = copy(style)
        put(cell, styled.value if styled else value)
        if styled:
            if styled.fill:
                cell.fill = PatternFill("solid", fgColor=styled.fill)
            if styled.ink or styled.bold:
                cell.font = Font(color=styled.ink, bold=styled.bold)
        return cell

    def _print_setup(self, ws: Any, width: int, landscape: bool | None) -> None:
        ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        wide = width > 7 if landscape is None else landscape
        ws.page_setup.orientation = "landscape" if wide else "portrait"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # as wide as the page, any length
        ws.print_title_rows = "1:1"
        if self.title:
            ws.oddHeader.center.text = self.title[:100].replace("&", "&&")
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"

    def save(self, out: IO[bytes]) -> None:
        self.workbook.save(out)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.save(out)
        return out.getvalue()
