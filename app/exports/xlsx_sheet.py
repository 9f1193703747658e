"""Our XlsxWriter worksheet (app.exports.xlsx's Book writes every sheet with it): kept
apart so that importing app.exports.xlsx does not import XlsxWriter — a web worker that
never writes a workbook does not carry it."""

from __future__ import annotations

import functools
import io
import re

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

# The characters that make XlsxWriter escape a string: controls, non-characters, and
# text that reads like its own _xHHHH_ escape.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_XML_SPECIAL = re.compile(r"[&<>]")


class Sheet(Worksheet):
    """XlsxWriter's worksheet, with two changes.

    Streaming, a row of plain cells (text, number, blank, each with its Format — all a
    sheet of ours holds but for a note), with at most a height of its own, is written as
    one string, as XlsxWriter itself writes it: its cell-by-cell writer spends more than
    half of a 150,000-row export on calls and file writes per cell. Any other row goes
    through XlsxWriter's own writer. (XlsxWriter is pinned; tests/test_xlsx_writer.py
    checks the two write the same bytes.)

    And `fitToWidth="1"` is written out: XlsxWriter leaves it to the schema's default,
    which Excel and LibreOffice apply but openpyxl (and tools built on it) read as
    "no width to fit"."""

    _PLAIN = (CellStringTuple, CellNumberTuple, CellBlankTuple)

    def _write_single_row(self, current_row_num: int = 0) -> None:
        row_num = self.previous_row
        cells = self.table.get(row_num)
        plain = self._PLAIN
        props = self.set_rows.get(row_num)
        if (
            not cells
            or (props is not None and (props[1] is not None or props[2] or props[3] or props[4]))
            or row_num in self.comments
            or self.excel_version != 2007
            or self.default_row_height != self.original_row_height
            or not all(type(cell) in plain and cell.format is not None for cell in cells.values())
        ):
            super()._write_single_row(current_row_num)
            return
        self.previous_row = current_row_num
        number = row_num + 1
        if props is None or props[0] == self.original_row_height:
            parts = [f'<row r="{number}">']
        else:
            parts = [f'<row r="{number}" ht="{props[0]:g}" customHeight="1">']
            del self.set_rows[row_num]  # written: streaming keeps nothing of a row behind
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

    def tall(self, row: int, height: float) -> None:
        """`set_row(row, height)` for a row being written, without its checks (a long
        export sets thousands): what set_row stores, but the sizes kept for placing
        pictures (a sheet of ours has none)."""
        self.set_rows[row] = [height, None, False, 0, False]
        self.row_size_changed = True

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
