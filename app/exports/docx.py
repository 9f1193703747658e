"""The one DOCX writer: a Word document in the shape a court files it — A4,
official-document margins (GB/T 9704), 仿宋 body, page numbers — built from titles,
headings, paragraphs and tables. Every piece of text goes through `text()` (characters
XML cannot hold replaced; the stored text is untouched).

    doc = Report()
    doc.title("…督导走访情况报告")
    doc.table(("项目", "内容"), rows)  # column widths fitted to the text
    doc.picture(data, caption="图1　现场照片.jpg")
    data = doc.to_bytes()

Tables take the text width of the page; without widths given, each column gets what its
longest cell needs on one line (a court name stays on one line), headers may wrap onto
two lines, and only when that is still too wide do the widest columns (an item's title)
wrap. The header row repeats on every page a table runs over.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt

from app.textclean import for_file

TITLE_FONT, HEADING_FONT, BODY_FONT = "宋体", "黑体", "仿宋"
BODY_PT, TABLE_PT = 16, 12  # 三号 body, 小四 tables
CELL_MARGIN_MM = 1.0  # left and right, inside each table cell (Word's default is 1.9)
CELL_SLACK_MM = 1.0  # room for a font a little wider than the estimate
MIN_COLUMN_MM = 10.0
LONG_SHARE = 0.45  # a column wider than this share of the page holds long text that may wrap
FLEX_MIN_EM = 7  # ... as long as it keeps at least this many characters a line
PT_MM = 25.4 / 72
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


def text_mm(value: str, size: float) -> float:
    """About how wide `value` sets in `size` points, in mm: a CJK character is one em,
    anything else 0.6 of one (仿宋 sets digits at half an em; the fonts that stand in for
    it where it is not installed, e.g. LibreOffice on Linux, a little wider)."""
    widest = 0.0
    for line in lines(value) or [""]:
        ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in line)
        widest = max(widest, ems)
    return widest * size * PT_MM


def fit_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], available: float, size: float = TABLE_PT
) -> list[float]:
    """Column widths (mm) adding up to `available`, so that short texts (court names,
    numbers, dates) stay on one line and long ones (an item's title) wrap:

    1. each column as wide as its longest cell on one line (room left over is shared in
       proportion);
    2. if that is too wide, headers wrap onto two lines;
    3. if still too wide, the long-text columns (wider than `LONG_SHARE` of the page)
       wrap to what the others leave them, as long as that is `FLEX_MIN_EM` characters;
    4. failing that, the widest columns are cut to a common width (water-filling)."""
    em = size * PT_MM
    pad = 2 * CELL_MARGIN_MM + CELL_SLACK_MM
    body = [max((text_mm(r[i], size) for r in rows), default=0.0) + pad for i in range(len(header))]
    head = [text_mm(h, size) + pad for h in header]
    natural = [max(MIN_COLUMN_MM, b, h) for b, h in zip(body, head, strict=True)]
    if sum(natural) <= available:
        return [w * available / sum(natural) for w in natural]
    wrapped = [
        max(MIN_COLUMN_MM, b, min(h, (h - pad) / 2 + pad + em)) for b, h in zip(body, head, strict=True)
    ]
    excess, give = sum(natural) - available, [n - w for n, w in zip(natural, wrapped, strict=True)]
    if sum(give) >= excess:
        return [n - g * excess / sum(give) for n, g in zip(natural, give, strict=True)]
    long_ = [w > LONG_SHARE * available for w in wrapped]
    rest = available - sum(w for w, is_long in zip(wrapped, long_, strict=True) if not is_long)
    if any(long_) and rest >= sum(long_) * (FLEX_MIN_EM * em + pad):
        shares = iter(_water_fill([w for w, is_long in zip(wrapped, long_, strict=True) if is_long], rest))
        return [next(shares) if is_long else w for w, is_long in zip(wrapped, long_, strict=True)]
    return _water_fill(wrapped, available)


def _water_fill(widths: Sequence[float], total: float) -> list[float]:
    """`widths` cut to a common cap so that they add up to `total` (the narrow ones kept)."""
    rest, cap = total, max(widths)
    for i, w in enumerate(sorted(widths)):
        share = rest / (len(widths) - i)
        if w > share:
            cap = share
            break
        rest -= w
    return [min(w, max(cap, MIN_COLUMN_MM)) for w in widths]


def _set(parent, tag: str, **attrs: str):
    """The child `tag` of an oxml element (made if missing) with `attrs` set."""
    child = parent.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        parent.append(child)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), value)
    return child


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

    @property
    def text_width_mm(self) -> float:
        section = self.doc.sections[-1]
        return Emu(section.page_width - section.left_margin - section.right_margin).mm

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
        """A gridded table: a bold header row (repeated on every page), then one row per
        item; widths in mm, fitted to the text (`fit_widths`) when not given."""
        header = [text(h) for h in header]
        rows = [[text(v) for v in values] for values in rows]
        if widths is None:
            widths = fit_widths(header, rows, self.text_width_mm, size)
        table = self.doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        table.autofit = False
        if center:
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
        props = table._tbl.tblPr
        _set(props, "w:tblLayout", type="fixed")  # the widths as given, not re-fitted by Word
        margins = _set(props, "w:tblCellMar")
        for side in ("left", "right"):
            _set(margins, f"w:{side}", w=str(round(CELL_MARGIN_MM / 25.4 * 1440)), type="dxa")
        _set(table.rows[0]._tr.get_or_add_trPr(), "w:tblHeader", val="true")
        for cell, value in zip(table.rows[0].cells, header, strict=True):
            run(cell.paragraphs[0], value, header_font, size, bold=True)
        for values in rows:
            for cell, value in zip(table.add_row().cells, values, strict=True):
                run(cell.paragraphs[0], value, BODY_FONT, size)
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Mm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = Mm(width)

    def picture(
        self, data: bytes, *, caption: str, max_width_mm: float | None = None, max_height_mm: float = 120
    ) -> bool:
        """A picture centred, as wide as the text (at most `max_height_mm` tall, its
        proportions kept), with its caption below. Any image Pillow reads is embedded (as
        PNG or JPEG, turned upright per its EXIF); one it cannot read gives a note in its
        place instead of an error: returns whether the picture went in."""
        picture = _embeddable(data)
        if picture is None:
            self.paragraph(f"（{text(caption)}：图片无法读取，未能插入。）", size=TABLE_PT, align="center")
            return False
        stream, (px_w, px_h) = picture
        width = min(max_width_mm or self.text_width_mm, self.text_width_mm)
        if px_h * width / px_w > max_height_mm:
            width = max_height_mm * px_w / px_h
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True  # the caption stays with its picture
        p.add_run().add_picture(stream, width=Mm(width))
        self.paragraph(caption, size=TABLE_PT, align="center")
        return True

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


MAX_PICTURE_PX = 2000  # longest side kept: plenty for print at the page's width


def _embeddable(data: bytes) -> tuple[io.BytesIO, tuple[int, int]] | None:
    """The image as PNG or JPEG bytes Word can show (upright, at most MAX_PICTURE_PX on
    its longest side) and its size in pixels, or None if it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_PICTURE_PX, MAX_PICTURE_PX))
            out = io.BytesIO()
            if img.mode in ("RGBA", "LA", "P"):
                img.convert("RGBA").save(out, "PNG")
            else:
                img.convert("RGB").save(out, "JPEG", quality=85)
            size = img.size
    except Exception:  # noqa: BLE001 — whatever Pillow cannot read is "not readable"
        return None
    if not (size[0] and size[1]):
        return None
    out.seek(0)
    return out, size
