"""The one XLSX writer: a workbook of sheets, each a header row over data rows.

    book = Book("甲市中院完成清单")
    book.sheet("完成清单", [Column("单位", 34), Column("达标率", 10, number_format="0.0%")], rows)
    data = book.to_bytes()

The header is row 1 (tools reading our exports expect it there), bold on a tinted
fill and frozen; the title goes into the document properties and the printed page
header. Printing: A4, as wide as the page, header repeated on every page, page
numbers in the footer. A `Note(text)` among the rows is one line of text across all
the columns (merged, wrapped, as tall as its text), so it prints whole.

Written with XlsxWriter (openpyxl stays for reading imports): its `constant_memory`
mode writes each row to a temporary file as it comes, with one Format per distinct
look made once: 150,000 rows × 10 columns take ~10 s of CPU (openpyxl: ~37 s, most of
it on per-cell styles) and the same memory as 100 rows.
"""

from __future__ import annotations

import functools
import io
import math
import re
import shutil
import tempfile
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import IO, Any

from openpyxl.styles.numbers import is_date_format
from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

from app.textclean import for_file, looks_like_formula

HEADER_FILL = "F2DCDB"
BORDER_COLOR = "BFBFBF"
CELL_MAX = 32767  # Excel refuses longer cell text
A4 = 9  # Excel's paper code
ROW_HEIGHT_MAX = 409  # points: Excel's tallest row
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# What openpyxl gave a date or time written into a cell with no date format of its own.
DATE_FORMATS: dict[type, str] = {
    datetime: "yyyy-mm-dd h:mm:ss",
    date: "yyyy-mm-dd",
    time: "h:mm:ss",
    timedelta: "[hh]:mm:ss",
}
_NUMBERS = (int, float, Decimal, Fraction)
_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}


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


@dataclass(frozen=True)
class Note:
    """A row of text across all the sheet's columns (e.g. "注：明细仅列出前 …"): merged,
    wrapped and as tall as its text, so it prints whole."""

    text: str


def safe_text(value: str) -> str:
    """What the file may hold of a text (the stored text is untouched)."""
    return for_file(value)[:CELL_MAX]


def put(cell: Any, value: Any) -> None:
    """Write one value into an openpyxl cell (the audit log's writer); text is always
    text, whatever it starts with."""
    if isinstance(value, str):
        text = safe_text(value)
        cell.value = text
        if looks_like_formula(text):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = True  # Excel, WPS and LibreOffice keep it text when edited
    else:
        cell.value = value


def sheet_name(name: str) -> str:
    """A sheet name Excel accepts: no []:*?/\\, at most 31 characters, never empty,
    neither starting nor ending with an apostrophe."""
    return _SHEET_NAME_BAD.sub("_", for_file(name)).strip("'")[:31].rstrip("'") or "Sheet"


def page_header(title: str) -> str:
    """The title as the centred page header: `&` doubled (a lone `&` starts a code)."""
    text = title[:100].replace("&", "&&")
    if "&G" in text or "&[Picture]" in text:  # XlsxWriter would take "&&G" for a picture
        text = title[:100].replace("&", "＆")
    return "&C" + text


def column_width(width: float) -> float:
    """The width XlsxWriter must be given so the file says `width` (as openpyxl wrote it):
    XlsxWriter adds Excel's 5-pixel cell padding to what it is given."""
    if width <= 0:
        return 0
    given = width - 5 / 7
    return given if given >= 1 else width * 7 / 12


def text_lines(text: str, width: float) -> int:
    """How many lines `text` wraps to in `width` characters (a CJK character is two)."""
    lines = 0
    for paragraph in text.split("\n"):
        units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in paragraph)
        lines += max(1, math.ceil(units / max(width, 1)))
    return lines


# The characters that make XlsxWriter escape a string: controls, non-characters, and
# text that reads like its own _xHHHH_ escape.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_XML_SPECIAL = re.compile(r"[&<>]")


class _Sheet(Worksheet):
    """XlsxWriter's worksheet, with two changes.

    Streaming, a row of plain cells (text, number, blank, each with its Format — all a
    sheet of ours holds but for a note) is written as one string, as XlsxWriter itself
    writes it: its cell-by-cell writer spends more than half of a 150,000-row export
    on calls and file writes per cell. Any other row goes through XlsxWriter's own
    writer. (XlsxWriter is pinned; tests/test_xlsx_writer.py reads the result back.)

    And `fitToWidth="1"` is written out: XlsxWriter leaves it to the schema's default,
    which Excel and LibreOffice apply but openpyxl (and tools built on it) read as
    "no width to fit"."""

    _PLAIN = (CellStringTuple, CellNumberTuple, CellBlankTuple)

    def _write_single_row(self, current_row_num: int = 0) -> None:
        row_num = self.previous_row
        cells = self.table.get(row_num)
        plain = self._PLAIN
        if (
            not cells
            or row_num in self.set_rows
            or row_num in self.comments
            or self.excel_version != 2007
            or self.default_row_height != self.original_row_height
            or not all(type(cell) in plain and cell.format is not None for cell in cells.values())
        ):
            super()._write_single_row(current_row_num)
            return
        self.previous_row = current_row_num
        number = row_num + 1
        parts = [f'<row r="{number}">']
        for col in sorted(cells):
            cell = cells[col]
            ref = f'<c r="{_column_name(col)}{number}" s="{cell.format._get_xf_index()}"'
            kind = type(cell)
            if kind is CellStringTuple:
                text = cell.string
                if _NEEDS_ESCAPE.search(text):
                    text = self._escape_control_characters(text)
                if _XML_SPECIAL.search(text):
                    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                parts.append(f'{ref} t="inlineStr"><is><t{space}>{text}</t></is></c>')
            elif kind is CellNumberTuple:
                parts.append(f"{ref}><v>{cell.number:.16G}</v></c>")
            else:
                parts.append(f"{ref}/>")
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.table.clear()

    def _write_page_setup(self) -> None:
        if not (self.fit_page and self.fit_width == 1):
            super()._write_page_setup()
            return
        out, self.fh = self.fh, io.StringIO()
        try:
            super()._write_page_setup()
        finally:
            xml, self.fh = self.fh.getvalue(), out
        self.fh.write(xml.replace("<pageSetup ", '<pageSetup fitToWidth="1" ', 1))


@functools.cache
def _column_name(col: int) -> str:
    return xl_col_to_name(col)


def _quoted(text: str) -> dict[str, bool]:
    """A formula-like text keeps its look plus Excel's quote prefix: Excel, WPS and
    LibreOffice then keep it text when the cell is edited."""
    return {"quote_prefix": True} if looks_like_formula(text) else {}


def _color(value: str) -> str:
    return "#" + value.lstrip("#")[-6:]  # "F2DCDB", "#F2DCDB" or aRGB "FFF2DCDB"


class Book:
    """A workbook being written; `sheet()` adds one sheet, `to_bytes()` or `save()` finishes it.

    `write_only=True` streams: each row goes to a temporary file as it is written, so an
    export of any length (the audit log) holds one row in memory at a time. The rows of a
    sheet must then be written before the next sheet starts (as `sheet()` does)."""

    def __init__(self, title: str | None = None, *, write_only: bool = False) -> None:
        options: dict[str, Any] = {**_OPTIONS, "nan_inf_to_errors": True}
        if write_only:
            # Its own directory for the rows on their way to the file: removed at save(),
            # or when writing fails or the book is dropped half-written.
            tmpdir = tempfile.mkdtemp(prefix="xlsx-")
            options.update(constant_memory=True, tmpdir=tmpdir)
        else:
            options.update(in_memory=True)
        self.workbook = Workbook(None, options)
        self._discard = weakref.finalize(self, _discard_rows, self.workbook, tmpdir if write_only else None)
        self._formats: dict[tuple, Format] = {}
        self.title = for_file(title or "")
        if self.title:
            self.workbook.set_properties({"title": self.title})

    # ------------------------------------------------------------------ formats

    def _format(self, **props: Any) -> Format:
        """One Format per distinct look, made once for the whole workbook."""
        key = tuple(sorted(props.items()))
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.workbook.add_format(props)
        return found

    @staticmethod
    def _box() -> dict[str, Any]:
        return {"border": 1, "border_color": _color(BORDER_COLOR), "text_wrap": True}

    def _header_format(self, text: str) -> Format:
        return self._format(
            **self._box(),
            bold=True,
            pattern=1,
            bg_color=_color(HEADER_FILL),
            align="center",
            valign="vcenter",
            **_quoted(text),
        )

    @classmethod
    def _body_props(cls, column: Column) -> dict[str, Any]:
        props = {**cls._box(), "valign": "top"}
        if column.align:
            props["align"] = column.align
        if column.number_format:
            props["num_format"] = column.number_format
        return props

    def _value_format(self, base: dict[str, Any], value: Any) -> tuple[Any, Format]:
        """The value as written and its Format, for the cells off the fast path: Styled,
        dates and times, anything unusual."""
        props = dict(base)
        if isinstance(value, Styled):
            if value.fill:
                props.update(pattern=1, bg_color=_color(value.fill))
            if value.ink:
                props["font_color"] = _color(value.ink)
            if value.bold:
                props["bold"] = True
            value = value.value
        if isinstance(value, str):
            value = safe_text(value)
            props.update(_quoted(value))
        elif isinstance(value, (date, time, timedelta)) and not is_date_format(
            props.get("num_format") or "General"
        ):
            props["num_format"] = next(f for kind, f in DATE_FORMATS.items() if isinstance(value, kind))
        return value, self._format(**props)

    # ------------------------------------------------------------------ sheets

    def sheet(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any] | Note],
        *,
        freeze: str = "A2",
        header_height: float | None = None,
        landscape: bool | None = None,
    ) -> int:
        """Header row, then one row per item of `rows` (an empty row stays empty, a `Note`
        spans the columns); returns the number of rows written under the header."""
        try:
            return self._sheet(name, columns, rows, freeze, header_height, landscape)
        except BaseException:
            self._discard()
            raise

    def _sheet(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any] | Note],
        freeze: str | None,
        header_height: float | None,
        landscape: bool | None,
    ) -> int:
        ws = self.workbook.add_worksheet(self._unique_name(sheet_name(name)), worksheet_class=_Sheet)
        for col, column in enumerate(columns):
            ws.set_column(col, col, column_width(column.width))
        if header_height:
            ws.set_row(0, header_height)
        if freeze:
            ws.freeze_panes(freeze)
        self._print_setup(ws, len(columns), landscape)
        for col, column in enumerate(columns):
            header = safe_text(column.header)
            ws.write_string(0, col, header, self._header_format(header))

        # Per column: its props, its Format and the same quote-prefixed (for "=…" text).
        props = [self._body_props(column) for column in columns]
        plain_props = self._body_props(Column(""))
        looks = [(p, self._format(**p), self._format(**p, quote_prefix=True)) for p in props]
        plain = (plain_props, self._format(**plain_props), self._format(**plain_props, quote_prefix=True))
        span = sum(column.width for column in columns)
        # XlsxWriter's own undecorated writers (the public ones first try to parse "A1"
        # notation: 15 % of a long export's time); a cell is always (row, col) here.
        write_string, write_number, write_blank = ws._write_string, ws._write_number, ws._write_blank
        row = 0
        for values in rows:
            row += 1
            if isinstance(values, Note):
                self._note(ws, row, values.text, len(columns), span)
                continue
            for col, value in enumerate(values):
                base, fmt, quoted = looks[col] if col < len(looks) else plain
                kind = type(value)
                if kind is str:
                    text = safe_text(value)
                    write_string(row, col, text, quoted if looks_like_formula(text) else fmt)
                elif value is None:
                    write_blank(row, col, None, fmt)
                elif kind is int or kind is float:
                    write_number(row, col, value, fmt)
                else:
                    self._write_other(ws, row, col, value, base)
        return row

    def _write_other(self, ws: Worksheet, row: int, col: int, value: Any, base: dict[str, Any]) -> None:
        value, fmt = self._value_format(base, value)
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, _NUMBERS):
            ws.write_number(row, col, value, fmt)
        elif isinstance(value, (date, time, timedelta)):
            ws.write_datetime(row, col, value, fmt)
        else:
            raise TypeError(f"无法写入 XLSX 单元格的值类型：{type(value).__name__}")

    def _note(self, ws: Worksheet, row: int, text: str, width: int, span: float) -> None:
        text = safe_text(text)
        fmt = self._format(**self._box(), valign="top", align="left", **_quoted(text))
        # Excel does not fit a merged row to its text: the height is set from the text.
        ws.set_row(row, min(ROW_HEIGHT_MAX, 16 * text_lines(text, span) + 4))
        if width > 1:
            ws.merge_range(row, 0, row, width - 1, None, fmt)
        ws.write_string(row, 0, text, fmt)

    def _unique_name(self, name: str) -> str:
        """Excel refuses two sheets of the same name (case aside): the later one gets a
        number, as openpyxl did."""
        taken = {ws.name.lower() for ws in self.workbook.worksheets()}
        candidate, n = name, 0
        while candidate.lower() in taken:
            n += 1
            candidate = name[: 31 - len(str(n))] + str(n)
        return candidate

    def _print_setup(self, ws: Worksheet, width: int, landscape: bool | None) -> None:
        ws.set_paper(A4)
        wide = width > 7 if landscape is None else landscape
        if wide:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)  # as wide as the page, any length
        ws.repeat_rows(0)
        if self.title:
            ws.set_header(page_header(self.title))
        ws.set_footer("&C第 &P 页，共 &N 页")

    # ------------------------------------------------------------------ output

    def save(self, out: IO[bytes]) -> None:
        """Finish the workbook into `out` (once: the rows were streamed away)."""
        if self.workbook.fileclosed:
            raise RuntimeError("XLSX 工作簿已保存，不能再次保存。")
        self.workbook.filename = out
        try:
            self.workbook.close()
        finally:
            self._discard()

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.save(out)
        return out.getvalue()


def _discard_rows(workbook: Workbook, tmpdir: str | None) -> None:
    """Close and remove the files a streamed workbook's rows went to (XlsxWriter does
    it only when the workbook is finished)."""
    if tmpdir is None:
        return
    for ws in workbook.worksheets():
        ws._opt_close()
    shutil.rmtree(tmpdir, ignore_errors=True)
