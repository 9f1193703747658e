"""The one XLSX writer (app/exports/xlsx.py, on XlsxWriter), read back by openpyxl: the
title row, print setup, header and body styles, coloured cells, notes across the columns,
text that stays text, the cell-length cut, dates, and streaming in constant memory.
Row 1 is the title, row 2 the header, the data start at row 3."""

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

from app.exports.xlsx import CELL_MAX, FIRST_DATA_ROW, HEADER_ROW, Book, Column, Note, Styled, period_text
from app.tasks.export import ITEM_COLUMNS, _listed_with_note

MODES = pytest.mark.parametrize("write_only", [False, True], ids=["in-memory", "streamed"])
FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "=cmd|' /C calc'!A0"]


AS_OF = date(2026, 11, 30)


def _book(write_only: bool, columns, rows, title: str = "甲市中院 & 完成清单", **kw):
    book = Book(title, as_of=AS_OF, write_only=write_only)
    count = book.sheet("明细", columns, rows, **kw)
    data = book.to_bytes()
    return count, data, load_workbook(io.BytesIO(data)).worksheets[0]


def _columns(n: int) -> list[Column]:
    return [Column(f"列{i}", 10 + i) for i in range(n)]


@MODES
@pytest.mark.parametrize(
    "width, landscape, orientation",
    [
        (3, {}, "landscape"),
        (16, {}, "landscape"),
        (10, {"landscape": False}, "portrait"),
    ],
)
def test_print_setup(write_only, width, landscape, orientation):
    """Landscape A4 (portrait only when asked), narrow margins, one page wide and any
    length, the header row (row 2) on every page, the title in the page header and page
    numbers below."""
    _, _, ws = _book(write_only, _columns(width), [["x"] * width], **landscape)
    setup = ws.page_setup
    assert setup.orientation == orientation and int(setup.paperSize) == 9  # 9 = A4
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$2:$2"
    assert (ws.page_margins.left, ws.page_margins.right) == (0.4, 0.4)
    assert ws.print_options.horizontalCentered
    assert ws.oddHeader.center.text == "甲市中院 && 完成清单"  # & doubled: a lone & starts a code
    assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"


@MODES
def test_title_row_says_what_which_unit_period_and_date(write_only):
    """Row 1 holds the title — what and which unit, the period, 截至 the day — merged across
    every column, bold and large, centred; the header below it is frozen with it."""
    book = Book(
        "甲市中院完成清单",
        period=period_text(date(2026, 1, 1), date(2026, 3, 31)),
        as_of=AS_OF,
        write_only=write_only,
    )
    book.sheet("完成清单", _columns(5), [["x"] * 5])
    book.sheet("明细", _columns(2), [], title="甲市中院完成清单明细")
    book.sheet("红榜", _columns(1), [], title="甲市中院逾期事项红榜", period="")
    wb = load_workbook(io.BytesIO(book.to_bytes()))
    first, second, third = wb.worksheets
    title = first["A1"].value
    assert title == "甲市中院完成清单（2026年1月1日至2026年3月31日）　截至2026年11月30日"
    assert [str(r) for r in first.merged_cells.ranges] == ["A1:E1"]
    assert (
        first["A1"].font.bold and first["A1"].font.sz == 14 and first["A1"].alignment.horizontal == "center"
    )
    assert first.row_dimensions[1].height >= 20
    assert [c.value for c in first[HEADER_ROW]] == [f"列{i}" for i in range(5)]
    assert first.freeze_panes == f"A{FIRST_DATA_ROW}"
    assert second["A1"].value == "甲市中院完成清单明细（2026年1月1日至2026年3月31日）　截至2026年11月30日"
    assert third["A1"].value == "甲市中院逾期事项红榜　截至2026年11月30日" and not third.merged_cells.ranges


def test_period_text():
    """A period reads as Chinese dates; an open end says 起 or 至; no bound, no period."""
    assert period_text(date(2026, 1, 1), date(2026, 3, 31)) == "2026年1月1日至2026年3月31日"
    assert period_text(date(2026, 1, 1), None) == "2026年1月1日起"
    assert period_text(None, date(2026, 3, 31)) == "至2026年3月31日"
    assert period_text(None, None) is None


def test_page_header_never_mistaken_for_a_picture():
    """ "&G" is the picture code: a title holding it still goes into the page header (with a
    full-width ＆) instead of XlsxWriter dropping the header with a warning."""
    _, _, ws = _book(True, _columns(2), [], title="R&G 联络组")
    assert ws.oddHeader.center.text == "R＆G 联络组"


@MODES
def test_header_and_body_styles(write_only):
    """Header (row 2): bold on F2DCDB with thin BFBFBF borders, centred, wrapped, frozen;
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
    assert ws.freeze_panes == "A3" and ws.row_dimensions[2].height == 30
    assert [ws.column_dimensions[c].width for c in "ABC"] == [34, 10, 8]
    for cell in ws[2]:
        assert cell.font.bold and cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("F2DCDB")
        assert cell.border.left.style == "thin" and cell.border.bottom.color.rgb.endswith("BFBFBF")
        assert (cell.alignment.horizontal, cell.alignment.vertical, cell.alignment.wrap_text) == (
            "center",
            "center",
            True,
        )
    a3, b3, c3 = ws[3]
    assert (a3.value, a3.data_type, a3.quotePrefix) == ("甲一区法院", "s", False)
    assert (b3.value, b3.number_format) == (0.875, "0.0%")
    assert c3.value is None and c3.border.top.style == "thin" and c3.alignment.horizontal == "center"
    for cell in (a3, b3, c3):
        assert (
            cell.alignment.vertical == "top"
            and cell.alignment.wrap_text
            and cell.border.right.style == "thin"
        )
        assert not cell.font.bold and cell.fill.fill_type is None
    assert [c.value for c in ws[4]] == [None, None, None]  # the empty row stays empty
    assert (ws["B5"].value, ws["C5"].value) == (1, "✓")


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
    verified, missing = ws["B4"], ws["B3"]
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
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:J1", "A4:J4", "A6:J6"}  # A1: the title
    assert ws["A4"].value == short and ws["A6"].value == long_
    assert ws["A6"].alignment.wrap_text and ws["A6"].alignment.vertical == "top"
    assert ws["J6"].border.right.style == "thin"  # the whole merged range is boxed
    short_height, long_height = ws.row_dimensions[4].height, ws.row_dimensions[6].height
    assert short_height >= 15 and long_height > 3 * short_height
    assert ws["A5"].value == "b" and ws.row_dimensions[5].height is None  # rows after it as before


@MODES
def test_rows_are_as_tall_as_their_wrapped_text(write_only):
    """Excel and LibreOffice do not grow a row to its wrapped text on opening a file: a
    row whose text wraps gets the height of its tallest cell; a one-line row keeps the
    default; streaming keeps no row heights behind once the rows are written."""
    columns = [Column("事项", 20), Column("单位", 24), Column("进度", 6)]
    long_ = "完善诉源治理机制，推进矛盾纠纷多元化解，" * 3  # 60 CJK characters: 7 lines of 20
    book = Book("行高", write_only=write_only)
    book.sheet(
        "s", columns, [["短", "桓仁满族自治县人民法院", 50], [long_, "短", 1], ["一\n二\n三", "", None]]
    )
    ws = book.workbook.worksheets()[0]
    kept = len(ws.set_rows)
    sheet = load_workbook(io.BytesIO(book.to_bytes())).worksheets[0]
    assert sheet.row_dimensions[3].height is None  # one line each
    assert sheet.row_dimensions[4].height == 15 * 7 + 2
    assert sheet.row_dimensions[5].height == 15 * 3 + 2
    if write_only:
        assert kept == 1  # only the last row's, not yet written; the title's and row 4's are gone


def test_note_in_a_one_column_sheet_is_one_cell():
    """With one column there is nothing to merge: the note is a plain wrapped cell."""
    _, _, ws = _book(True, [Column("事项", 30)], [Note("注：其余 4 项未列出。")])
    assert ws["A3"].value == "注：其余 4 项未列出。" and not ws.merged_cells.ranges


def test_completion_note_spans_the_item_columns():
    """The completion export's last row, when the sheet lists fewer items than counted, is
    a note merged across all ten item columns."""
    book = Book("完成清单", write_only=True)
    count = book.sheet("事项明细", ITEM_COLUMNS, _listed_with_note([], date(2026, 6, 15), 4))
    ws = load_workbook(io.BytesIO(book.to_bytes()))["事项明细"]
    assert count == 1 and len(ITEM_COLUMNS) == 10
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:J1", "A3:J3"]
    assert ws["A3"].value.startswith("注：明细仅列出前 0 项，汇总共 4 项")


@MODES
def test_formula_like_text_stays_text(write_only):
    """Text starting with = + - @ or a tab is a string cell with the quote prefix (plain,
    coloured, in a header or in a note); no formula element anywhere in the file."""
    columns = [Column(text, 20) for text in FORMULA_LIKE]
    rows = [FORMULA_LIKE, [Styled(text, fill="CCEBE1") for text in FORMULA_LIKE], Note("-注意"), ["普通", 3]]
    _, data, ws = _book(write_only, columns, rows)
    for row in (2, 3, 4):
        cells = ws[row]
        assert [c.value for c in cells] == FORMULA_LIKE
        for cell in cells:
            assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)
    assert ws["A5"].value == "-注意" and ws["A5"].quotePrefix
    assert not ws["A6"].quotePrefix and ws["B6"].value == 3 and ws["B6"].data_type == "n"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


@MODES
def test_long_text_cut_and_illegal_characters_dropped(write_only):
    """A cell holds at most 32,767 characters; characters XML cannot hold become U+FFFD."""
    _, _, ws = _book(write_only, [Column("长文本"), Column("控制符")], [["长" * 40_000, "竖\x0b表\x01符"]])
    assert ws["A3"].value == "长" * CELL_MAX and len(ws["A3"].value) == 32_767
    assert ws["B3"].value == "竖\ufffd表\ufffd符"


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
    a, b, c, d, e, f = ws[3]
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

    from app.exports.xlsx_sheet import Sheet

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
    monkeypatch.setattr(Sheet, "_write_single_row", Worksheet._write_single_row)
    assert ours == sheet_xml()
