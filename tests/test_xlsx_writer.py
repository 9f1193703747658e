"""The one XLSX writer (app/exports/xlsx.py, on XlsxWriter), read back by openpyxl: print
setup, header and body styles, coloured cells, notes across the columns, text that stays
text, the cell-length cut, dates, and streaming in constant memory."""

from __future__ import annotations

import gc
import io
import os
import tempfile
import tracemalloc
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app.exports.xlsx import CELL_MAX, Book, Column, Note, Styled
from app.tasks.export import ITEM_COLUMNS, _listed_with_note

MODES = pytest.mark.parametrize("write_only", [False, True], ids=["in-memory", "streamed"])
FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "=cmd|' /C calc'!A0"]


def _book(write_only: bool, columns, rows, title: str = "甲市中院 & 完成清单", **kw):
    book = Book(title, write_only=write_only)
    count = book.sheet("明细", columns, rows, **kw)
    data = book.to_bytes()
    return count, data, load_workbook(io.BytesIO(data)).worksheets[0]


def _columns(n: int) -> list[Column]:
    return [Column(f"列{i}", 10 + i) for i in range(n)]


@MODES
@pytest.mark.parametrize(
    "width, landscape, orientation",
    [
        (3, None, "portrait"),
        (7, None, "portrait"),
        (8, None, "landscape"),
        (3, True, "landscape"),
        (10, False, "portrait"),
    ],
)
def test_print_setup(write_only, width, landscape, orientation):
    """A4, portrait unless more than 7 columns (or asked), as wide as one page and any
    length, header row on every page, title in the page header, page numbers below."""
    _, _, ws = _book(write_only, _columns(width), [["x"] * width], landscape=landscape)
    setup = ws.page_setup
    assert setup.orientation == orientation and int(setup.paperSize) == 9  # 9 = A4
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"
    assert ws.oddHeader.center.text == "甲市中院 && 完成清单"  # & doubled: a lone & starts a code
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"


def test_page_header_never_mistaken_for_a_picture():
    """ "&G" is the picture code: a title holding it still goes into the page header (with a
    full-width ＆) instead of XlsxWriter dropping the header with a warning."""
    _, _, ws = _book(True, _columns(2), [], title="R&G 联络组")
    assert ws.oddHeader.center.text == "R＆G 联络组"


@MODES
def test_header_and_body_styles(write_only):
    """Header: bold on F2DCDB with thin BFBFBF borders, centred, wrapped, frozen at A2;
    body: bordered, top-aligned, wrapped, the column's number format and alignment; an
    empty value is an empty bordered cell; widths as given; the document title set."""
    columns = [
        Column("单位", 34),
        Column("达标率", 10, number_format="0.0%"),
        Column("状态", 8, align="center"),
    ]
    count, data, ws = _book(
        write_only, columns, [["甲一区法院", 0.875, None], [], [None, 1, "✓"]], header_height=30
    )
    assert count == 3
    assert load_workbook(io.BytesIO(data)).properties.title == "甲市中院 & 完成清单"
    assert ws.freeze_panes == "A2" and ws.row_dimensions[1].height == 30
    assert [ws.column_dimensions[c].width for c in "ABC"] == [34, 10, 8]
    for cell in ws[1]:
        assert cell.font.bold and cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("F2DCDB")
        assert cell.border.left.style == "thin" and cell.border.bottom.color.rgb.endswith("BFBFBF")
        assert (cell.alignment.horizontal, cell.alignment.vertical, cell.alignment.wrap_text) == (
            "center",
            "center",
            True,
        )
    a2, b2, c2 = ws[2]
    assert (a2.value, a2.data_type, a2.quotePrefix) == ("甲一区法院", "s", False)
    assert (b2.value, b2.number_format) == (0.875, "0.0%")
    assert c2.value is None and c2.border.top.style == "thin" and c2.alignment.horizontal == "center"
    for cell in (a2, b2, c2):
        assert (
            cell.alignment.vertical == "top"
            and cell.alignment.wrap_text
            and cell.border.right.style == "thin"
        )
        assert not cell.font.bold and cell.fill.fill_type is None
    assert [c.value for c in ws[3]] == [None, None, None]  # the empty row stays empty
    assert (ws["B4"].value, ws["C4"].value) == (1, "✓")


@MODES
def test_styled_cells_and_one_format_per_look(write_only):
    """A Styled cell has its own fill, ink and weight on top of its column's look; 2,000
    such cells in two looks make a handful of Formats, not one per cell."""
    columns = [Column("单位", 20), Column("状态", 10, align="center")]
    rows = [
        ["甲", Styled("✓ 已核验", fill="CCEBE1", ink="00664A", bold=True)]
        if i % 2
        else ["乙", Styled("○ 未报送", fill="F2F2F2", ink="666666")]
        for i in range(2000)
    ]
    book = Book("对标对表", write_only=write_only)
    book.sheet("对标对表", columns, rows)
    formats = len(book.workbook.formats)
    ws = load_workbook(io.BytesIO(book.to_bytes())).worksheets[0]
    assert formats <= 10, formats
    verified, missing = ws["B3"], ws["B2"]
    assert verified.value == "✓ 已核验" and verified.fill.fgColor.rgb.endswith("CCEBE1")
    assert verified.font.color.rgb.endswith("00664A") and verified.font.bold
    assert missing.fill.fgColor.rgb.endswith("F2F2F2") and missing.font.color.rgb.endswith("666666")
    assert not missing.font.bold
    for cell in (verified, missing):
        assert cell.alignment.horizontal == "center" and cell.border.left.style == "thin"


@MODES
def test_note_spans_every_column_and_prints_whole(write_only):
    """A Note is one merged cell across all the sheet's columns, wrapped, top-aligned and
    as tall as its text (the longer the text, the taller the row)."""
    short, long_ = (
        "注：仅列出前 5 项。",
        "注：" + "明细仅列出部分事项，请按单位、项目或期限筛选后分别导出。" * 12,
    )
    count, _, ws = _book(write_only, _columns(10), [["a"] * 10, Note(short), ["b"] * 10, Note(long_)])
    assert count == 4
    assert {str(r) for r in ws.merged_cells.ranges} == {"A3:J3", "A5:J5"}
    assert ws["A3"].value == short and ws["A5"].value == long_
    assert ws["A5"].alignment.wrap_text and ws["A5"].alignment.vertical == "top"
    assert ws["J5"].border.right.style == "thin"  # the whole merged range is boxed
    short_height, long_height = ws.row_dimensions[3].height, ws.row_dimensions[5].height
    assert short_height >= 15 and long_height > 3 * short_height
    assert ws["A4"].value == "b" and ws.row_dimensions[4].height is None  # rows after it as before


def test_note_in_a_one_column_sheet_is_one_cell():
    """With one column there is nothing to merge: the note is a plain wrapped cell."""
    _, _, ws = _book(True, [Column("事项", 30)], [Note("注：其余 4 项未列出。")])
    assert ws["A2"].value == "注：其余 4 项未列出。" and not ws.merged_cells.ranges


def test_completion_note_spans_the_item_columns():
    """The completion export's last row, when the sheet lists fewer items than counted, is
    a note merged across all ten item columns."""
    book = Book("完成清单", write_only=True)
    count = book.sheet("事项明细", ITEM_COLUMNS, _listed_with_note([], date(2026, 6, 15), 4))
    ws = load_workbook(io.BytesIO(book.to_bytes()))["事项明细"]
    assert count == 1 and len(ITEM_COLUMNS) == 10
    assert [str(r) for r in ws.merged_cells.ranges] == ["A2:J2"]
    assert ws["A2"].value.startswith("注：明细仅列出前 0 项，汇总共 4 项")


@MODES
def test_formula_like_text_stays_text(write_only):
    """Text starting with = + - @ or a tab is a string cell with the quote prefix (plain,
    coloured, in a header or in a note); no formula element anywhere in the file."""
    columns = [Column(text, 20) for text in FORMULA_LIKE]
    rows = [FORMULA_LIKE, [Styled(text, fill="CCEBE1") for text in FORMULA_LIKE], Note("-注意"), ["普通", 3]]
    _, data, ws = _book(write_only, columns, rows)
    for row in (1, 2, 3):
        cells = ws[row]
        assert [c.value for c in cells] == FORMULA_LIKE
        for cell in cells:
            assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
    assert ws["A4"].value == "-注意" and ws["A4"].quotePrefix
    assert not ws["A5"].quotePrefix and ws["B5"].value == 3 and ws["B5"].data_type == "n"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


@MODES
def test_long_text_cut_and_illegal_characters_dropped(write_only):
    """A cell holds at most 32,767 characters; characters XML cannot hold become U+FFFD."""
    _, _, ws = _book(write_only, [Column("长文本"), Column("控制符")], [["长" * 40_000, "竖\x0b表\x01符"]])
    assert ws["A2"].value == "长" * CELL_MAX and len(ws["A2"].value) == 32_767
    assert ws["B2"].value == "竖\ufffd表\ufffd符"


@MODES
def test_numbers_booleans_and_dates(write_only):
    """Numbers stay numbers; a date or date-time gets the format openpyxl gave it
    (yyyy-mm-dd, yyyy-mm-dd h:mm:ss) unless its column has a date format of its own."""
    columns = [
        Column("整数"),
        Column("小数"),
        Column("是否"),
        Column("日期"),
        Column("时间"),
        Column("月", number_format="yyyy年m月"),
    ]
    rows = [[42, 0.5, True, date(2026, 3, 2), datetime(2026, 3, 2, 10, 30), date(2026, 3, 1)]]
    _, _, ws = _book(write_only, columns, rows)
    a, b, c, d, e, f = ws[2]
    assert (a.value, a.data_type, b.value, c.value) == (42, "n", 0.5, True)
    assert (d.value, d.number_format) == (datetime(2026, 3, 2), "yyyy-mm-dd")
    assert (e.value, e.number_format) == (datetime(2026, 3, 2, 10, 30), "yyyy-mm-dd h:mm:ss")
    assert (f.value, f.number_format) == (datetime(2026, 3, 1), "yyyy年m月")


def test_sheet_names_excel_accepts():
    """Bad characters replaced, 31 characters at most, no apostrophe at either end, and a
    second sheet of the same name numbered (Excel refuses duplicates)."""
    book = Book("名称")
    book.sheet("排名 2026/05: [基层]*?", [Column("a")], [])
    book.sheet("排名 2026/05: [基层]*?", [Column("a")], [])
    book.sheet("x" * 30 + "'尾", [Column("a")], [])
    names = load_workbook(io.BytesIO(book.to_bytes())).sheetnames
    assert names == ["排名 2026_05_ _基层___", "排名 2026_05_ _基层___1", "x" * 30]


def _xlsx_tmp_dirs() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("xlsx-")}


def test_streamed_rows_leave_no_temporary_files(tmp_path, monkeypatch):
    """The streamed rows' files are gone after saving, after a failure mid-sheet and when
    a half-written book is dropped."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = _xlsx_tmp_dirs()
    book = Book("t", write_only=True)
    book.sheet("s", [Column("a")], (["x"] for _ in range(100)))
    assert len(_xlsx_tmp_dirs() - before) == 1
    book.to_bytes()
    assert _xlsx_tmp_dirs() == before

    def failing():
        yield ["x"]
        raise RuntimeError("数据库连接中断")

    book = Book("t", write_only=True)
    with pytest.raises(RuntimeError):
        book.sheet("s", [Column("a")], failing())
    assert _xlsx_tmp_dirs() == before
    dropped = Book("t", write_only=True)
    del dropped
    gc.collect()
    assert _xlsx_tmp_dirs() == before


def _peak_bytes(rows: int, *, write_only: bool) -> int:
    columns = [Column("任务", 40), Column("进度", 8)]
    values = ([f"{'=' if i % 7 == 0 else ''}任务第{i}项：完善诉源治理机制", i % 101] for i in range(rows))
    tracemalloc.start()
    try:
        book = Book("内存", write_only=write_only)
        book.sheet("明细", columns, values)
        with tempfile.TemporaryFile() as out:
            book.save(out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_rows():
    """Streamed, 30,000 rows peak at what 10,000 do. Measured (tracemalloc, Python 3.11,
    XlsxWriter 3.2.9): ~0.76 MiB for 10,000 rows and for 30,000 — one row, the Formats and
    the zip writer's buffers — while the same sheet in memory peaks at ~12 MiB and ~36 MiB
    (about 1.2 KiB a row). The bounds leave room for other versions of the standard
    library yet fail if rows are kept: 20,000 more rows kept would add ~24 MiB."""
    small, large = _peak_bytes(10_000, write_only=True), _peak_bytes(30_000, write_only=True)
    assert large < 4 * 2**20, large
    assert large - small < 512 * 2**10, (small, large)


def test_fast_row_writer_writes_what_xlsxwriter_writes(monkeypatch):
    """Streamed rows are written by our one-string-per-row writer: byte for byte what
    XlsxWriter's own cell-by-cell writer makes of the same rows (escapes, whitespace,
    numbers, blanks, a note, a Styled cell) — checked again on any XlsxWriter upgrade."""
    from xlsxwriter.worksheet import Worksheet

    from app.exports import xlsx

    rows = [
        ["_x0041_ 字面", "\r=1+1", " 前后空格 ", 'a<b>&c"d', "x\ny", "\t=1"],
        [3, 0.1 + 0.2, -1e-20, 10**15, None, ""],
        [Styled("✓", fill="CCEBE1"), True, date(2026, 1, 2), "竖\x0b表", "\ufffe", "尾"],
        Note("注：其余未列出。"),
        [],
        ["末行"],
    ]

    def sheet_xml() -> bytes:
        book = Book("对照", write_only=True)
        book.sheet("s", _columns(6), rows)
        with zipfile.ZipFile(io.BytesIO(book.to_bytes())) as z:
            return z.read("xl/worksheets/sheet1.xml")

    ours = sheet_xml()
    monkeypatch.setattr(xlsx._Sheet, "_write_single_row", Worksheet._write_single_row)
    assert ours == sheet_xml()
