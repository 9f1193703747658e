"""The one XLSX writer: a workbook of sheets, each a title row and a header row over
data rows — print-ready, whoever writes it.

    book = Book("甲市中院完成清单", period="2026年1月1日至2026年3月31日", as_of=today)
    book.sheet("完成清单", [Column("单位", 34), Column("按期办结率", 10, number_format=PERCENT)], rows)
    data = book.to_bytes()

Row 1 is the title: what, which unit, which period and "截至2026年11月30日", merged
across the columns. Row 2 is the header (bold on a tinted fill), frozen with the title
above it; the data start at row 3 (HEADER_ROW, FIRST_DATA_ROW: our own importers find
the header wherever it is). Printing: landscape A4 with narrow margins, fit to one page
wide and as many pages long as it takes (fitToHeight 0), the header row repeated on
every page (print titles), the title in the page header and page numbers in the
footer. Numbers and rates are written as numbers with the column's number format
(`PERCENT` for a fraction 0..1), never as text. A `Note(text)` among the rows is one
line of text across all the columns (merged, wrapped, as tall as its text), so it
prints whole.

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
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import IO, TYPE_CHECKING, Any

from app.textclean import for_file, looks_like_formula
from app.timeutil import fmt_date_cn, local_today

if TYPE_CHECKING:
    from xlsxwriter import Workbook
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

    from app.exports.xlsx_sheet import Sheet

HEADER_FILL = "F2DCDB"
BORDER_COLOR = "BFBFBF"
CELL_MAX = 32767  # Excel refuses longer cell text
A4 = 9  # Excel's paper code
HEADER_ROW = 2  # 1-based, as Excel numbers rows: the title is row 1
FIRST_DATA_ROW = HEADER_ROW + 1
PERCENT = "0.0%"  # a rate stored as the fraction 0..1
INTEGER = "0"
TITLE_PT = 14
# Inches: narrow left/right margins give a wide sheet ~9 % more width on the page.
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.75, "bottom": 0.6}
HEADER_MARGIN = 0.3
ROW_HEIGHT_MAX = 409  # points: Excel's tallest row
LINE_PT = 15  # points a line of 11-point text takes
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


def period_text(start: date | None, end: date | None) -> str | None:
    """A period for a title: 2026年1月1日至2026年3月31日, 2026年1月1日起, 至2026年3月31日,
    or None when there is no bound."""
    if start and end:
        return f"{fmt_date_cn(start)}至{fmt_date_cn(end)}"
    if start:
        return f"{fmt_date_cn(start)}起"
    if end:
        return f"至{fmt_date_cn(end)}"
    return None


def month_text(period: str) -> str:
    """ "2026-03" → "2026年3月" (anything else unchanged)."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", period or "")
    return f"{match[1]}年{int(match[2])}月" if match else period


def title_text(what: str, period: str | None, as_of: date) -> str:
    """The title row: 甲市中院完成清单（2026年1月1日至2026年3月31日）　截至2026年11月30日."""
    return f"{what}{f'（{period}）' if period else ''}　截至{fmt_date_cn(as_of)}"


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


@functools.lru_cache(maxsize=8192)  # an item's title comes back once per unit it went to
def text_lines(text: str, width: float) -> int:
    """How many lines `text` wraps to in `width` characters: a character of one UTF-8
    byte (ASCII: digits, letters) takes one, one of three (CJK) 2.1, as Excel's fonts set
    them at 11 points — counted from the encoded length, with no loop over characters."""
    lines = 0
    for paragraph in text.split("\n"):
        chars = len(paragraph)
        units = chars + 0.55 * (len(paragraph.encode("utf-8", "surrogatepass")) - chars)
        lines += max(1, math.ceil(units / max(width, 1)))
    return lines


def row_height(lines: int) -> float:
    """Points for a row of `lines` lines of 11-point text: Excel and LibreOffice do not
    grow a row to its wrapped text when they open a file, so the writer sets it."""
    return min(ROW_HEIGHT_MAX, LINE_PT * lines + 2)


def sheet_class() -> type[Sheet]:
    """Our worksheet class (app.exports.xlsx_sheet), imported when a book is first
    written: XlsxWriter and openpyxl stay out of a web worker that never writes one."""
    from app.exports.xlsx_sheet import Sheet

    return Sheet


def _is_date_format(fmt: str | None) -> bool:
    from openpyxl.styles.numbers import is_date_format

    return is_date_format(fmt)


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

    def __init__(
        self,
        title: str | None = None,
        *,
        period: str | None = None,
        as_of: date | None = None,
        write_only: bool = False,
    ) -> None:
        options: dict[str, Any] = {**_OPTIONS, "nan_inf_to_errors": True}
        if write_only:
            # Its own directory for the rows on their way to the file: removed at save(),
            # or when writing fails or the book is dropped half-written.
            tmpdir = tempfile.mkdtemp(prefix="xlsx-")
            options.update(constant_memory=True, tmpdir=tmpdir)
        else:
            options.update(in_memory=True)
        from xlsxwriter import Workbook

        self.workbook = Workbook(None, options)
        self._discard = weakref.finalize(self, _discard_rows, self.workbook, tmpdir if write_only else None)
        self._formats: dict[tuple, Format] = {}
        self.title = for_file(title or "")
        self.period = for_file(period) if period else None
        self.as_of = as_of or local_today()
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
        elif isinstance(value, (date, time, timedelta)) and not _is_date_format(
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
        title: str | None = None,
        period: str | None = None,
        freeze_columns: int = 0,
        header_height: float | None = None,
        landscape: bool = True,
    ) -> int:
        """Title row, header row, then one row per item of `rows` (an empty row stays
        empty, a `Note` spans the columns); returns the number of rows written under the
        header. `title` and `period` are what this sheet shows and for when (the book's
        if not given; `period=""`: none, e.g. a list as of today); `freeze_columns` keeps
        that many columns in view as well as the header."""
        try:
            heading = title_text(
                for_file(title) if title else self.title or sheet_name(name),
                self.period if period is None else for_file(period),
                self.as_of,
            )
            return self._sheet(name, columns, rows, heading, freeze_columns, header_height, landscape)
        except BaseException:
            self._discard()
            raise

    def _sheet(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any] | Note],
        heading: str,
        freeze_columns: int,
        header_height: float | None,
        landscape: bool,
    ) -> int:
        ws = self.workbook.add_worksheet(self._unique_name(sheet_name(name)), worksheet_class=sheet_class())
        for col, column in enumerate(columns):
            ws.set_column(col, col, column_width(column.width))
        span = sum(column.width for column in columns)
        self._title_row(ws, heading, columns, span)
        header_row = HEADER_ROW - 1
        widths = [column.width for column in columns]
        headers = [safe_text(column.header) for column in columns]
        if header_height is None:
            lines = max((text_lines(h, w) for h, w in zip(headers, widths, strict=True)), default=1)
            header_height = row_height(lines) if lines > 1 else None
        if header_height:
            ws.set_row(header_row, header_height)
        ws.freeze_panes(header_row + 1, freeze_columns)
        self._print_setup(ws, landscape, header_row)
        for col, header in enumerate(headers):
            ws.write_string(header_row, col, header, self._header_format(header))

        # Per column: its props, its Format and the same quote-prefixed (for "=…" text).
        props = [self._body_props(column) for column in columns]
        plain_props = self._body_props(Column(""))
        looks = [(p, self._format(**p), self._format(**p, quote_prefix=True)) for p in props]
        plain = (plain_props, self._format(**plain_props), self._format(**plain_props, quote_prefix=True))
        # XlsxWriter's own undecorated writers (the public ones first try to parse "A1"
        # notation: 15 % of a long export's time); a cell is always (row, col) here.
        write_string, write_number, write_blank = ws._write_string, ws._write_number, ws._write_blank
        ncols = len(columns)
        one_line = [w / 2.1 for w in widths]  # characters that fit on one line, whatever they are
        row = header_row
        for values in rows:
            row += 1
            if isinstance(values, Note):
                self._note(ws, row, values.text, ncols, span)
                continue
            lines = 1  # the row's tallest cell, in lines of text
            for col, value in enumerate(values):
                base, fmt, quoted = looks[col] if col < ncols else plain
                kind = type(value)
                if kind is str:
                    text = safe_text(value)
                    write_string(row, col, text, quoted if looks_like_formula(text) else fmt)
                    # Cheap tests first: short enough to fit on one line whatever it holds,
                    # or ASCII (a date, a number) within the width? (isascii() is O(1).)
                    if (
                        col < ncols
                        and (len(text) > one_line[col] or "\n" in text)
                        and ("\n" in text or not text.isascii() or len(text) > widths[col])
                    ):
                        lines = max(lines, text_lines(text, widths[col]))
                elif value is None:
                    write_blank(row, col, None, fmt)
                elif kind is int or kind is float:
                    write_number(row, col, value, fmt)
                else:
                    self._write_other(ws, row, col, value, base)
            if lines > 1:
                ws.tall(row, row_height(lines))
        return row - header_row

    def _title_row(self, ws: Worksheet, text: str, columns: Sequence[Column], span: float) -> None:
        """Row 1: the title across every column, large and bold, as tall as its text."""
        text = safe_text(text)
        fmt = self._format(
            bold=True, font_size=TITLE_PT, align="center", valign="vcenter", text_wrap=True, **_quoted(text)
        )
        # A 14-point character takes 14/11 of a column's width unit.
        lines = text_lines(text, span * 11 / TITLE_PT)
        ws.set_row(0, min(ROW_HEIGHT_MAX, (TITLE_PT + 8) * lines + 6))
        if len(columns) > 1:
            ws.merge_range(0, 0, 0, len(columns) - 1, None, fmt)
        ws.write_string(0, 0, text, fmt)

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

    def _print_setup(self, ws: Worksheet, landscape: bool, header_row: int) -> None:
        ws.set_paper(A4)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.set_margins(**MARGINS)
        ws.center_horizontally()
        ws.fit_to_pages(1, 0)  # one page wide, as many pages long as it takes
        ws.repeat_rows(header_row)  # the header on every printed page
        if self.title:
            ws.set_header(page_header(self.title), {"margin": HEADER_MARGIN})
        ws.set_footer("&C第 &P 页，共 &N 页", {"margin": HEADER_MARGIN})

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
