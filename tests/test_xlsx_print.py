"""Every XLSX the app writes is print-ready (issue 12, item 6), downloaded as people do:
the completion list (page and API), the assignment list (page and API), the rankings,
the 对标对表 matrix, the audit log and the import template. Each sheet has a title row
(what, for which unit and period, 截至 the day), the header frozen under it and repeated
on every printed page, landscape A4 fit to one page wide, and its rates stored as
numbers formatted as percentages, never as text. LibreOffice prints a long list one
page wide with the header on every page."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from app.exports.xlsx import FIRST_DATA_ROW, HEADER_ROW
from tests import factories
from tests.office import printed_pages

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 2, 0)  # when the items were made (UTC)
AS_OF = "截至2026年6月15日"
ITEMS = 40  # tasks, each assigned to two courts: 80 rows, more than one printed page
PERCENT_TEXT = re.compile(r"^-?\d+(\.\d+)?\s*%$")


@pytest.fixture
def frozen():
    """Today is 2026-06-15 in Shanghai."""
    with time_machine.travel(datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False):
        yield


@pytest.fixture
def world(db, tree, frozen):
    """inter1's items for base1 and base2, some closed (a rate to show), a checklist
    standard applied to two tribunals, an auditor and an administrator."""
    from app.tasks import services

    u = factories.task_users(tree)
    u.auditor = factories.user("sjy", tree.high, ["auditor"], display_name="审计员")
    u.admin = factories.user("xtgly", tree.high, ["admin"], display_name="系统管理员")
    project = factories.project(u.assigner, now=NOW)
    for i in range(ITEMS):
        task = factories.task(
            u.assigner,
            project,
            title=f"第{i + 1}项：推进人民法庭“枫桥式”创建",
            deadline=date(2026, 6, 1) + timedelta(i),
            now=NOW,
        )
        b1, _b2 = factories.assign(u.assigner, task, tree.base1, tree.base2, now=NOW)
        if i < 3:  # closed on time in June: the rankings and the completion list have a rate
            services.add_report(
                u.base1_coord,
                b1,
                expected_version=b1.version,
                text="已完成",
                percent=None,
                files=[],
                submit=True,
                now=NOW,
            )
            services.review(
                u.assigner, b1, expected_version=b1.version, decision="approve", comment=None, now=NOW
            )
    template = factories.checklist_template(u.reviewer, now=NOW)
    c1, _c2 = factories.apply_checklist(u.assigner, template, tree.trib1, tree.trib2, now=NOW)
    factories.set_entry(c1, "A-1", "verified", by=u.assigner)
    db.session.commit()
    return u


def _as(app, user):
    client = app.test_client()
    resp = client.post("/login", data={"username": user.username, "password": factories.PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


# export: (who downloads it, URL, what the title row says besides 截至 the day)
EXPORTS = {
    "completion": ("assigner", "/completion.xlsx?unit={inter1}", "甲市中级人民法院完成清单"),
    "completion-api": ("assigner", "/api/v1/completion-list.xlsx?unit={inter1}", "甲市中级人民法院完成清单"),
    "assignments": ("assigner", "/assignments.xlsx", "甲市中级人民法院承办事项"),
    "assignments-api": ("assigner", "/api/v1/assignments.xlsx", "甲市中级人民法院承办事项"),
    "rankings": (
        "reviewer",
        "/rankings.xlsx?level=base&period=2026-06",
        "测试省高级人民法院基层法院排名（2026年6月）",
    ),
    "matrix": ("assigner", "/checklists/matrix.xlsx?family=test", "甲市中级人民法院测试标准对标对表"),
    "audit": ("auditor", "/audit.xlsx", "审计日志"),
    "template": ("admin", "/admin/import/template/units.xlsx", "单位导入模板"),
}


def _download(app, world, tree, name: str) -> bytes:
    who, url, _ = EXPORTS[name]
    client = _as(app, getattr(world, who))
    headers = {}
    if url.startswith("/api/"):
        headers = factories.bearer(client, getattr(world, who))
    resp = client.get(url.format(inter1=tree.inter1.id), headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    data = resp.data
    resp.close()
    return data


def assert_print_ready(ws, title: str) -> None:
    """One sheet: title row, frozen header repeated on every page, landscape A4 one page wide."""
    width = ws.max_column
    heading = ws["A1"].value
    assert heading.startswith(title) and heading.endswith(AS_OF), (ws.title, heading)
    assert ws["A1"].font.bold and ws["A1"].font.sz >= 14
    if width > 1:
        assert f"A1:{get_column_letter(width)}1" in {str(r) for r in ws.merged_cells.ranges}, ws.title
    assert all(c.value and c.font.bold for c in ws[HEADER_ROW]), ws.title  # the header, row 2
    assert ws.freeze_panes in {f"A{FIRST_DATA_ROW}", f"B{FIRST_DATA_ROW}"}, ws.title
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}", ws.title
    setup = ws.page_setup
    assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9), ws.title  # 9 = A4
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0) and ws.sheet_properties.pageSetUpPr.fitToPage


def assert_rates_are_numbers(ws) -> int:
    """No percentage written as text; a rate column (header …率) holds numbers formatted
    as a percentage, or "—" where there is nothing to measure. Returns the rates seen."""
    header = [c.value for c in ws[HEADER_ROW]]
    seen = 0
    for row in ws.iter_rows(min_row=FIRST_DATA_ROW):
        for cell in row:
            if isinstance(cell.value, str):
                assert not PERCENT_TEXT.match(cell.value), (ws.title, cell.coordinate, cell.value)
            column = header[cell.column - 1] if cell.column <= len(header) else None
            if column and "率" in column and cell.value not in (None, "—"):
                assert isinstance(cell.value, (int, float)) and "%" in cell.number_format, (
                    ws.title,
                    cell.coordinate,
                    cell.value,
                )
                seen += 1
    return seen


@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_export_is_print_ready(app, db, tree, world, name):
    """Each sheet of each export, as downloaded."""
    book = load_workbook(io.BytesIO(_download(app, world, tree, name)))
    title = EXPORTS[name][2]
    rates = 0
    for ws in book.worksheets:
        # The later sheets say what they hold after the book's title ("…明细", "…汇总",
        # "…逾期事项红榜").
        assert_print_ready(
            ws, title if ws is book.worksheets[0] else ws["A1"].value.split("（")[0].split("　")[0]
        )
        rates += assert_rates_are_numbers(ws)
    if name in ("completion", "completion-api", "rankings", "matrix"):
        assert rates > 0  # the rates were there to be checked


def test_the_sheets_after_the_first_say_what_they_hold(app, db, tree, world):
    """The completion list's detail, the red list and the matrix's roll-up are titled too."""
    completion = load_workbook(io.BytesIO(_download(app, world, tree, "completion")))
    assert completion["事项明细"]["A1"].value == f"甲市中级人民法院完成清单明细　{AS_OF}"
    rankings = load_workbook(io.BytesIO(_download(app, world, tree, "rankings")))
    assert rankings["逾期红榜"]["A1"].value.startswith(
        "测试省高级人民法院逾期事项红榜　截至"
    )  # today's list: no month
    matrix = load_workbook(io.BytesIO(_download(app, world, tree, "matrix")))
    assert matrix["汇总"]["A1"].value == f"甲市中级人民法院测试标准对标对表汇总　{AS_OF}"


def test_the_import_template_still_imports(app, db, tree, world):
    """The title row above the header does not stop the template from importing: the
    importer finds the header below it."""
    from app.importing import read_table
    from app.org.importer import parse_rows

    data = _download(app, world, tree, "template")
    rows = read_table("units.xlsx", data, max_rows=100)
    assert rows[0][0].startswith("单位导入模板")
    assert parse_rows(rows, "units")  # the example row is read


# ---------------------------------------------------------------- as printed


def test_a_long_list_prints_one_page_wide_with_the_header_on_every_page(app, db, tree, world, tmp_path):
    """The assignment list (~80 rows, 16 columns) as LibreOffice prints it: more than one
    page, every page holding the first and the last column's header (one page wide, the
    header repeated), the title on the first."""
    data = _download(app, world, tree, "assignments")
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    listed = sum(
        "推进人民法庭" in str(r[2]) for r in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)
    )
    assert listed >= 2 * ITEMS - 3  # every row of the list (by default, perhaps the open ones only)
    pages = printed_pages(data, ".xlsx", tmp_path)
    assert len(pages) >= 2
    assert "甲市中级人民法院承办事项" in pages[0] and "截至2026年6月15日" in pages[0]
    for page in pages:
        squeezed = re.sub(r"\s+", "", page)
        assert "编号" in squeezed and "办结日期" in squeezed, page[:300]
    assert sum(page.count("推进人民法庭") for page in pages) == listed  # every row printed
