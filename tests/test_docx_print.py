"""Word files fit to print (issue 12, item 6): the one DOCX writer gives a table column
widths that keep court names on one line (the circular's annex tables), repeats a
table's header row on every page, and puts a visit's photos in its report — as wide as
the text, captioned, the non-images left out, a damaged or missing photo a note instead
of an error. LibreOffice prints the circular's tables with every court name whole."""

from __future__ import annotations

import io
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import docx as python_docx
import pytest
import time_machine
from docx.oxml.ns import qn
from PIL import Image

from app import attachments
from app.exports.docx import CELL_MARGIN_MM, CELL_SLACK_MM, TABLE_PT, Report, fit_widths, text_mm
from tests import factories
from tests.office import printed_pages

NOW = datetime(2026, 3, 2, 2, 0)
TEXT_WIDTH = 210 - 28 - 26  # A4 less the GB/T 9704 margins, mm
PAD = 2 * CELL_MARGIN_MM + CELL_SLACK_MM
COURTS = [
    "桓仁满族自治县人民法院",
    "喀喇沁左翼蒙古族自治县人民法院",  # the longest court name in the province: 15 characters
    "本溪市中级人民法院",
    "华来人民法庭",
]
RANK_HEADER = ["名次", "单位", "到期事项", "已办结", "按期办结", "逾期", "按期完成率"]
RED_HEADER = ["序号", "事项", "承办单位", "完成时限", "逾期天数"]
LONG_TITLE = "开展人民法庭“枫桥式”创建活动并报送典型案例材料和工作总结"


def _rank_rows() -> list[list[str]]:
    return [[str(i), name, "12", "9", "8", "1", "88.9%"] for i, name in enumerate(COURTS, 1)]


def _red_rows() -> list[list[str]]:
    return [[str(i), LONG_TITLE, name, "2026-10-31", "30"] for i, name in enumerate(COURTS, 1)]


# ---------------------------------------------------------------- column widths


@pytest.mark.parametrize("header, rows", [(RANK_HEADER, _rank_rows()), (RED_HEADER, _red_rows())])
def test_court_names_fit_on_one_line(header, rows):
    """Every column takes the text width between them; the court names' column is as wide
    as the longest name; a long item title is what wraps."""
    widths = fit_widths(header, rows, TEXT_WIDTH)
    assert sum(widths) == pytest.approx(TEXT_WIDTH, abs=0.5)
    title = header.index("事项") if "事项" in header else None
    for col in range(len(header)):  # the court names, the numbers and the dates on one line
        if col != title:
            assert widths[col] >= max(text_mm(r[col], TABLE_PT) for r in rows) + PAD - 0.01, header[col]
    if title is not None:
        assert widths[title] < text_mm(LONG_TITLE, TABLE_PT)  # the item's title is what wraps


def test_a_narrow_table_is_spread_over_the_text_width():
    widths = fit_widths(["项目", "内容"], [["走访类型", "调研走访"]], TEXT_WIDTH)
    assert sum(widths) == pytest.approx(TEXT_WIDTH) and widths[0] < widths[1] * 1.01


def test_too_many_long_columns_share_the_width():
    """Nothing fits: the widest columns are cut to a common width, the narrow kept."""
    header = ["序号", "甲", "乙", "丙"]
    rows = [["1", LONG_TITLE * 2, LONG_TITLE * 2, LONG_TITLE]]
    widths = fit_widths(header, rows, TEXT_WIDTH)
    assert sum(widths) == pytest.approx(TEXT_WIDTH, abs=0.5)
    assert widths[1] == pytest.approx(widths[2]) and widths[0] < widths[1]


def _circular() -> SimpleNamespace:
    ranking = {
        level: [
            dict(rank=i, unit=n, total=12, closed=9, on_time=8, overdue=1, rate=0.8889)
            for i, n in enumerate(COURTS, 1)
        ]
        for level in ("intermediate", "base")
    }
    red = [dict(title=LONG_TITLE, unit=n, deadline="2026-10-31", days=30) for n in COURTS]
    return SimpleNamespace(
        title="辽宁省高级人民法院关于2026年10月人民法庭工作推进情况的通报",
        body="各中级人民法院：\n现将有关情况通报如下。",
        data={"ranking": ranking, "red_list": red},
    )


def test_an_empty_red_list_is_said_not_printed_as_an_empty_table():
    from app.reminders.circular import circular_docx

    circular = _circular()
    circular.data["red_list"] = []
    doc = python_docx.Document(io.BytesIO(circular_docx(circular)))
    assert len(doc.tables) == 2  # the two rankings
    text = [p.text for p in doc.paragraphs]
    assert text[text.index("附表：逾期事项红榜") + 1] == "截至通报之日，没有逾期未办结的事项。"


def test_the_circulars_tables_have_fixed_widths_and_repeat_their_header():
    """The annex tables, as Word reads them: fixed layout, the grid and every cell at the
    fitted widths, the header row marked to repeat on each page."""
    from app.reminders.circular import circular_docx

    doc = python_docx.Document(io.BytesIO(circular_docx(_circular())))
    assert len(doc.tables) == 3
    for table in doc.tables:
        props = table._tbl.tblPr
        assert props.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [col.width.mm for col in table.columns]
        assert sum(grid) == pytest.approx(TEXT_WIDTH, abs=1)
        assert all(
            c.width.mm == pytest.approx(w, abs=0.1)
            for row in table.rows
            for c, w in zip(row.cells, grid, strict=True)
        )
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        header = [c.text for c in table.rows[0].cells]
        unit = header.index("单位") if "单位" in header else header.index("承办单位")
        need = max(text_mm(name, TABLE_PT) for name in COURTS) + PAD
        assert grid[unit] >= need - 0.1


def _printed_lines(data: bytes, tmp_path) -> list[str]:
    return [line for page in printed_pages(data, ".docx", tmp_path) for line in page.splitlines()]


def test_libreoffice_prints_every_court_name_on_one_line(tmp_path):
    """Converted to PDF: each court name stands whole on a line of every table that has
    it (2 rankings + the red list), and the red list's header is printed again where the
    table runs onto a second page."""
    from app.reminders.circular import circular_docx

    circular = _circular()
    circular.data["red_list"] *= 3  # long enough for a second page
    lines = _printed_lines(circular_docx(circular), tmp_path)
    for name in COURTS:
        assert sum(name in line for line in lines) == 2 + 3, name  # two rankings, the red list thrice
    assert sum(line.split()[:2] == ["序号", "事项"] for line in lines if line.split()) >= 2


# ---------------------------------------------------------------- the visit report's photos


@pytest.fixture
def visit(db, tree):
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=False):
        u = factories.visit_users(tree)
        v = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1], now=NOW)
        db.session.commit()
        yield SimpleNamespace(visit=v, u=u, t=tree)


def _image(size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 60)).save(out, fmt)
    return out.getvalue()


def _attach(app, v, u, files: list[tuple[str, bytes, str]]):
    return attachments.store(
        files, owner_type="Visit", owner_id=v.visit.id, unit_id=v.t.inter1.id, actor_id=u.id, now=NOW
    )


def test_the_visit_report_holds_its_photos(app, db, visit, login):
    """Images in upload order, each scaled to the text width (a tall one to 120 mm high),
    captioned 图n　file name; the PDF is left out; a damaged photo and one whose file is
    gone from the disk each leave a note, and the report is still written."""
    _attach(
        app,
        visit,
        visit.u.leader,
        [
            ("现场座谈.jpg", _image((1600, 1200), "JPEG"), "image/jpeg"),
            (
                "汇报材料.pdf",
                b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
                "application/pdf",
            ),
            ("竖拍.png", _image((600, 1000), "PNG"), "image/png"),
            ("损坏.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg"),
            ("已删除.png", _image((100, 100), "PNG"), "image/png"),
        ],
    )
    gone = [
        a
        for a in attachments.for_owner("Visit", [visit.visit.id])[visit.visit.id]
        if a.original_name == "已删除.png"
    ]
    attachments.path_of(gone[0]).unlink()
    db.session.commit()
    resp = login(visit.u.leader).get(f"/visits/{visit.visit.id}.docx")
    assert resp.status_code == 200
    doc = python_docx.Document(io.BytesIO(resp.data))
    text = [p.text for p in doc.paragraphs]
    assert "六、走访照片" in text
    assert "图1　现场座谈.jpg" in text and "图2　竖拍.png" in text
    assert "（图3　损坏.jpg：图片无法读取，未能插入。）" in text
    assert "（图4　已删除.png：照片文件缺失，未能插入。）" in text
    assert not any("汇报材料" in t for t in text)
    wide, tall = doc.inline_shapes
    assert wide.width.mm == pytest.approx(TEXT_WIDTH, abs=0.5) and wide.height.mm == pytest.approx(
        117, abs=0.5
    )
    assert tall.height.mm == pytest.approx(120, abs=0.5) and tall.width.mm == pytest.approx(72, abs=0.5)


def test_a_visit_without_photos_has_no_photo_section(app, db, visit, login):
    resp = login(visit.u.leader).get(f"/visits/{visit.visit.id}.docx")
    doc = python_docx.Document(io.BytesIO(resp.data))
    assert "六、走访照片" not in [p.text for p in doc.paragraphs] and not doc.inline_shapes


def test_a_picture_that_cannot_be_read_is_a_note():
    """The writer itself: bytes Pillow cannot read give the note, not an exception."""
    doc = Report()
    assert doc.picture(b"GIF89a broken", caption="图1　坏图.gif") is False
    assert doc.picture(_image((10, 10), "GIF"), caption="图2　好图.gif") is True
    read = python_docx.Document(io.BytesIO(doc.to_bytes()))
    assert [p.text for p in read.paragraphs if p.text] == [
        "（图1　坏图.gif：图片无法读取，未能插入。）",
        "图2　好图.gif",
    ]
    assert len(read.inline_shapes) == 1
