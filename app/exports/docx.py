"""The one DOCX writer: a Word document in the shape a court files it — A4,
official-document margins (GB/T 9704), 仿宋 body, page numbers — built from titles,
headings, paragraphs and tables. Every piece of text goes through `text()` (characters
XML cannot hold replaced; the stored text is untouched).

    doc = Report()
    doc.title("…督导走访情况报告")
    doc.table(("项目", "内容"), rows, widths=(40, 116))
    data = doc.to_bytes()
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from app.textclean import for_file

TITLE_FONT, HEADING_FONT, BODY_FONT = "宋体", "黑体", "仿宋"
BODY_PT, TABLE_PT = 16, 12  # 三号 body, 小四 tables
_NEWLINE = re.compile(r"\r\n|\r|\n")
ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}


def lines(value: str | None) -> list[str]:
    """The lines of a text, split at newlines only (str.splitlines would also split at the
    vertical tab, form feed and other separators a user may have pasted)."""
    return _NEWLINE.split(value) if value else []


def text(value: object) -> str:
    """What a DOCX may hold of a value (python-docx refuses control characters)."""
    return for_file("" if value is None else str(value))


def run(paragraph, value: object, font: str = BODY_FONT, size: float = BODY_PT, bold: bool = False):
    """A run of text in `font` (also for East Asian characters) and `size` points."""
    r = paragraph.add_run(text(value))
    r.font.name = font
    r.font.size = Pt(size)
    r.font.bold = bold
    r._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    return r


class Report:
    """A Word document being written; each method adds one piece, in reading order."""

    def __init__(self, *, page_numbers: bool = True) -> None:
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = BODY_FONT, Pt(BODY_PT)
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
        if page_numbers:
            self._page_number_footer(section)

    @staticmethod
    def _page_number_footer(section) -> None:
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        placeholder = OxmlElement("w:r")  # shown until Word updates the field
        number = OxmlElement("w:t")
        number.text = "1"
        placeholder.append(number)
        field.append(placeholder)
        footer._p.append(field)

    def paragraph(
        self,
        value: object,
        *,
        font: str = BODY_FONT,
        size: float = BODY_PT,
        bold: bool = False,
        align: str | None = None,
        indent: bool = False,
        space_before: float | None = None,
    ):
        p = self.doc.add_paragraph()
        if align:
            p.alignment = ALIGN[align]
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        if space_before is not None:
            p.paragraph_format.space_before = Pt(space_before)
        run(p, value, font, size, bold)
        return p

    def title(self, value: object, size: float = 22) -> None:
        self.paragraph(value, font=TITLE_FONT, size=size, bold=True, align="center")

    def heading(self, value: object, size: float = BODY_PT) -> None:
        self.paragraph(value, font=HEADING_FONT, size=size, space_before=6)

    def body(self, value: str | None, empty: str = "无。", *, indent: bool = True) -> None:
        """One indented paragraph per non-empty line of `value` (or `empty`)."""
        for line in [line.strip() for line in lines(value) if line.strip()] or [empty]:
            self.paragraph(line, indent=indent)

    def table(
        self,
        header: Sequence[object],
        rows: Iterable[Sequence[object]],
        widths: Sequence[float] | None = None,
        *,
        size: float = TABLE_PT,
        header_font: str = BODY_FONT,
        center: bool = True,
    ) -> None:
        """A gridded table: a bold header row, then one row per item (widths in mm)."""
        table = self.doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        if center:
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, value in zip(table.rows[0].cells, header, strict=True):
            run(cell.paragraphs[0], value, header_font, size, bold=True)
        for values in rows:
            for cell, value in zip(table.add_row().cells, values, strict=True):
                run(cell.paragraphs[0], value, BODY_FONT, size)
        if widths:
            for row in table.rows:
                for cell, width in zip(row.cells, widths, strict=True):
                    cell.width = Mm(width)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()
