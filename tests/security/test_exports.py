"""Exports with hostile stored text: every XLSX and DOCX answers 200, a formula-looking
title is a text cell (never a formula, in openpyxl and in LibreOffice), characters XML
cannot hold are replaced in the file while the stored text stays as it was."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import zipfile

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.checklists.models import ChecklistEntry, TemplateItem
from app.reminders.models import Circular
from app.tasks.models import Task
from app.visits.models import Visit

FORMULA = '=HYPERLINK("http://x","y")'
CONTROL = "竖\x0b表\x01符\x1f号\x7f尾"
IN_FILE = "竖\ufffd表\ufffd符\ufffd号\x7f尾"  # DEL is legal in XML and kept
HOSTILE_TITLES = [
    FORMULA,
    CONTROL,
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script>",
]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def hostile(db, demo):
    """Every demo item carries one of the hostile titles (as stored before any cleaning
    rule existed, or by an import): titles in every export's item and red-list sheets."""
    tasks = db.session.scalars(select(Task).order_by(Task.id)).all()
    assert len(tasks) >= 5  # the first five titles at least: formula, control, +, -, @
    for i, t in enumerate(tasks):
        t.title = HOSTILE_TITLES[i % len(HOSTILE_TITLES)]
    db.session.commit()
    return demo


def _cells(data: bytes):
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws.title, cell


def _assert_safe_workbook(data: bytes, expect: set[str]) -> None:
    """No formula cell anywhere; each expected text is present as a text cell."""
    seen = set()
    for sheet, cell in _cells(data):
        assert cell.data_type != "f", (sheet, cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            seen.add(cell.value)
            if cell.value.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert cell.data_type == "s" and cell.quotePrefix, (sheet, cell.coordinate, cell.value)
    missing = expect - seen
    assert not missing, missing
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name), name  # no formula element in any sheet


def test_item_exports_write_hostile_titles_as_text(db, hostile, as_user):
    """/completion.xlsx, /api/v1/completion-list.xlsx and /rankings.xlsx: 200, titles as text."""
    c = as_user("lnfy")
    for url in ("/completion.xlsx", "/api/v1/completion-list.xlsx"):
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[:300])
        assert resp.mimetype == XLSX_MIME
        _assert_safe_workbook(resp.data, {FORMULA, IN_FILE, "-2+3", "@SUM(1,1)"})
    for level in ("intermediate", "base"):
        resp = c.get(f"/rankings.xlsx?level={level}")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        _assert_safe_workbook(resp.data, set())
    # The stored text is untouched: only the file replaced what it cannot hold.
    assert CONTROL in db.session.scalars(select(Task.title)).all()


def test_red_list_in_rankings_holds_the_hostile_titles(db, hostile, as_user):
    """The rankings workbook's red list names overdue items: their hostile titles are text."""
    c = as_user("lnfy")
    found = set()
    for level in ("intermediate", "base"):
        data = c.get(f"/rankings.xlsx?level={level}").data
        found |= {cell.value for _sheet, cell in _cells(data) if cell.value in HOSTILE_TITLES + [IN_FILE]}
    assert found, "the demo's overdue items should appear in a red list"


@pytest.mark.parametrize("title, in_file", [(FORMULA, FORMULA), (CONTROL, IN_FILE)])
def test_checklist_matrix_with_hostile_item_titles(db, hostile, as_user, title, in_file):
    """The 对标对表 workbook's legend lists the items' titles: formula and control characters safe."""
    db.session.execute(update(TemplateItem).values(title=title))
    db.session.execute(update(ChecklistEntry).values(title=title))
    db.session.commit()
    c = as_user("lnfy")
    resp = c.get("/checklists/matrix.xlsx?family=wuhua")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    _assert_safe_workbook(resp.data, {in_file})


def test_visit_report_with_control_characters_opens_in_word(db, hostile, as_user):
    """A visit's team and topics with control characters: the Word report is a valid file."""
    visit = db.session.scalar(select(Visit).order_by(Visit.id))
    visit.team = "张三\x0b李四\x08王五"
    visit.topics = "调研\x01内容\x0c第二段\n第三行 " + FORMULA
    visit.title = "走访\x1b主题"
    db.session.commit()
    c = as_user("lnfy")
    resp = c.get(f"/visits/{visit.id}.docx")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    doc = Document(io.BytesIO(resp.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [cell.text for t in doc.tables for row in t.rows for cell in row.cells]
    assert "张三\ufffd李四\ufffd王五" in cells
    assert "调研\ufffd内容\ufffd第二段" in text and "第三行 " + FORMULA in text
    assert "走访\ufffd主题" in text
    db.session.refresh(visit)
    assert visit.team == "张三\x0b李四\x08王五"  # stored as it was


def test_circular_with_control_characters_opens_in_word(db, hostile, as_user):
    """A draft circular whose body and red list hold control characters: a valid Word file."""
    circular = db.session.get(Circular, hostile.circular_id)
    circular.body = "通报\x0b正文\n第二段\x01"
    circular.data = {
        **(circular.data or {}),
        "red_list": [{"title": CONTROL, "unit": "单位", "deadline": "2026-01-01", "days": 3}],
    }
    db.session.commit()
    c = as_user("lnfy")
    resp = c.get(f"/circulars/{circular.id}.docx")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    doc = Document(io.BytesIO(resp.data))
    assert "通报\ufffd正文" in [p.text for p in doc.paragraphs]
    assert IN_FILE in [cell.text for t in doc.tables for row in t.rows for cell in row.cells]


def _soffice() -> str | None:
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_libreoffice_reads_the_formula_as_text(db, hostile, as_user, tmp_path):
    """LibreOffice converts completion.xlsx to CSV without evaluating the formula: the cell
    reads `=HYPERLINK(...)`, never the link text `y`."""
    office = _soffice()
    if office is None:
        if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("LibreOffice 不可用（REQUIRE_LIBREOFFICE=1）")
        pytest.skip("LibreOffice (libreoffice/soffice) is not installed")
    c = as_user("lnfy")
    src = tmp_path / "completion.xlsx"
    src.write_bytes(c.get("/completion.xlsx").data)
    out = tmp_path / "out"
    # Tokens: comma, quote, UTF-8, from row 1, …, sheet -1 = every sheet to its own file.
    proc = subprocess.run(
        [
            office,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    files = sorted(out.glob("*.csv"))
    assert proc.returncode == 0 and files, proc.stdout + proc.stderr
    cells = []
    for f in files:
        with f.open(encoding="utf-8-sig", newline="") as fh:
            cells += [cell for row in csv.reader(fh) for cell in row]
    assert FORMULA in cells and "-2+3" in cells and "@SUM(1,1)" in cells
    assert "y" not in cells  # the formula was not evaluated into its link text


@pytest.mark.parametrize("write_only", [False, True])
def test_the_writer_itself(write_only):
    """One writer for every workbook (streaming too): a title row, header frozen and printed
    on each page, A4 as wide as the page, number formats, safe text, sheet names Excel accepts."""
    from app.exports.xlsx import Book, Column, Styled

    book = Book("甲市中院 & 完成清单", write_only=write_only)
    count = book.sheet(
        "排名 2026/05: [基层]*?",
        [Column("事项", 40), Column("达标率", 10, number_format="0.0%"), Column("状态", 8, align="center")],
        [
            [FORMULA, 0.875, Styled("✓ 已核验", fill="CCEBE1", ink="00664A", bold=True)],
            [],
            [CONTROL, None, "-"],
        ],
    )
    assert count == 3
    wb = load_workbook(io.BytesIO(book.to_bytes()))
    ws = wb.worksheets[0]
    assert ws.title == "排名 2026_05_ _基层___" and wb.properties.title == "甲市中院 & 完成清单"
    assert ws["A1"].value.startswith("甲市中院 & 完成清单　截至")
    assert [c.value for c in ws[2]] == ["事项", "达标率", "状态"] and all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "A3" and ws.print_title_rows == "$2:$2"
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.fitToWidth == 1  # 9 = A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and "甲市中院 && 完成清单" in ws.oddHeader.center.text
    assert ws.column_dimensions["A"].width == 40
    a3, b3, c3 = ws[3]
    assert (a3.value, a3.data_type, a3.quotePrefix) == (FORMULA, "s", True)
    assert (b3.value, b3.number_format) == (0.875, "0.0%")
    assert c3.fill.fgColor.rgb.endswith("CCEBE1") and c3.font.bold and c3.alignment.horizontal == "center"
    assert [c.value for c in ws[4]] in ([None, None, None], [])
    assert ws["A5"].value == IN_FILE and ws["C5"].quotePrefix and ws["C5"].value == "-"
