"""完成清单: counts per child unit on a hand-built fixture whose answer is known, the
high court's 审核确认, the XLSX export (openpyxl and LibreOffice) and the print view."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.exports.xlsx import FIRST_DATA_ROW, HEADER_ROW
from app.tasks import services
from app.tasks.export import SUMMARY_HEADER, rate_text
from app.tasks.models import CompletionReview
from app.tasks.queries import completion_rows
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0)
TODAY = date(2026, 6, 15)


def _utc(y, m, d, hour=10, minute=0) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services take."""
    return datetime(y, m, d, hour, minute, tzinfo=SH).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _close(u, a, receiver, when: datetime) -> None:
    services.add_report(
        receiver, a, expected_version=a.version, text="已完成", percent=None, files=[], submit=True, now=when
    )
    services.review(u.assigner, a, expected_version=a.version, decision="approve", comment=None, now=when)


@pytest.fixture
def frozen():
    """Today is 2026-06-15 in Shanghai."""
    with time_machine.travel(datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False):
        yield


@pytest.fixture
def comp(db, tree, frozen):
    """Known answer on 2026-06-15, root inter1:

    inter1 (own, from high): 1 open, overdue            → total 1, closed 0, overdue 1, rate 0 %
    base1: T1 closed on time, T2 closed late, T3 overdue, T3 to trib1 overdue (rolls up to base1),
           T4 open not due (split to trib1/trib2: not counted again)
                                                        → total 5, closed 2 (1 on time), open 3, overdue 2, 25 %
    base2: T1 closed 23:00 on its deadline day, T4 open, T5 to trib3 due today (not overdue)
                                                        → total 3, closed 1 (1 on time), open 2, overdue 0, 100 %
    inter2: base3 overdue (another intermediate court's own item).
    """
    t = tree
    u = factories.task_users(t)
    p = factories.project(u.assigner, now=NOW)
    t1 = factories.task(u.assigner, p, title="选配人民法庭庭长", deadline=date(2026, 5, 31), now=NOW)
    t2 = factories.task(u.assigner, p, title="法庭制度建设", deadline=date(2026, 4, 30), now=NOW)
    t3 = factories.task(u.assigner, p, title="调整人民法庭布局", deadline=date(2026, 6, 1), now=NOW)
    t4 = factories.task(u.assigner, p, title="开展千人解万纷活动", deadline=date(2026, 7, 31), now=NOW)
    t5 = factories.task(u.assigner, p, title="推广老哥调解六步法", deadline=date(2026, 6, 15), now=NOW)
    t1_b1, t1_b2 = factories.assign(u.assigner, t1, t.base1, t.base2, now=NOW)
    (t2_b1,) = factories.assign(u.assigner, t2, t.base1, now=NOW)
    t3_b1, t3_t1 = factories.assign(u.assigner, t3, t.base1, t.trib1, now=NOW)
    t4_b1, t4_b2 = factories.assign(u.assigner, t4, t.base1, t.base2, now=NOW)
    (t5_t3,) = factories.assign(u.assigner, t5, t.trib3, now=NOW)
    _close(u, t1_b1, u.base1_staff, _utc(2026, 5, 20))
    _close(u, t1_b2, u.base2_coord, _utc(2026, 5, 31, 23, 0))
    _close(u, t2_b1, u.base1_staff, _utc(2026, 5, 10))
    services.acknowledge(u.base1_staff, t3_b1, expected_version=t3_b1.version, now=NOW)
    services.split_assignment(
        u.base1_coord, t4_b1, [t.trib1, t.trib2], expected_version=t4_b1.version, now=NOW
    )
    # From above: the high court's item for inter1 itself; inter2's own item for base3.
    hp = factories.project(u.high_assigner, name="全省强基工程", now=NOW)
    ht = factories.task(u.high_assigner, hp, title="制定全市法庭建设规划", deadline=date(2026, 5, 1), now=NOW)
    (h_i1,) = factories.assign(u.high_assigner, ht, t.inter1, now=NOW)
    p3 = factories.project(u.inter2_assigner, name="乙市专项", now=NOW)
    t6 = factories.task(u.inter2_assigner, p3, title="乙市事项", deadline=date(2026, 5, 1), now=NOW)
    factories.assign(u.inter2_assigner, t6, t.base3, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=t, u=u, p=p, hp=hp)


def _summary(rows):
    return [
        (r.unit.name, r.total, r.closed, r.closed_on_time, r.open, r.overdue, r.on_time_rate) for r in rows
    ]


class _Table(HTMLParser):
    """Cell texts of the rows of one <table data-testid=...>."""

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.depth, self.rows, self.cell = testid, 0, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("data-testid") == self.testid:
            self.depth = 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.depth = 0

    def handle_data(self, data):
        if self.depth and self.cell is not None:
            self.cell.append(data)


def _page_rows(html: str) -> list[list[str]]:
    parser = _Table("completion-table")
    parser.feed(html)
    return [r for r in parser.rows[1:] if len(r) == 7]


def _comparable_page(rows):
    """(unit, total, closed, open, overdue, rate) as the page shows them."""
    return [[r[0].removesuffix("（本级）"), *r[1:6]] for r in rows]


def _comparable_sheet(values):
    """The same columns from the first sheet (which also has 按期办结 and the review columns);
    the rate is a number there, shown as the page shows it."""
    rate = lambda v: v if isinstance(v, str) else rate_text(v)  # noqa: E731
    return [[str(v[0]), str(v[1]), str(v[2]), str(v[4]), str(v[5]), rate(v[6])] for v in values]


# ---------------------------------------------------------------- the counts


def test_completion_rows_known_answer(db, comp):
    """completion_rows for inter1: own row, base1 and base2 with the hand-counted numbers."""
    rows = completion_rows(comp.u.assigner, comp.t.inter1, TODAY)
    assert _summary(rows) == [
        ("甲市中级人民法院", 1, 0, 0, 1, 1, 0.0),
        ("甲一区人民法院", 5, 2, 1, 3, 2, 0.25),
        ("甲二区人民法院", 3, 1, 1, 2, 0, 1.0),
    ]
    assert [r.review for r in rows] == [None, None, None]


def test_completion_rows_from_the_high_court(db, comp):
    """For the reviewer at the high court, inter1 rolls up its whole subtree and inter2 is its own row."""
    rows = completion_rows(comp.u.reviewer, comp.t.high, TODAY)
    assert _summary(rows) == [
        ("甲市中级人民法院", 9, 3, 2, 6, 3, round(2 / 6, 4)),
        ("乙市中级人民法院", 1, 0, 0, 1, 1, 0.0),
    ]


def test_completion_rows_period_and_project_filters(db, comp):
    """Deadline period June–July leaves T3/T4/T5 only; the high court's project leaves inter1's own item."""
    rows = completion_rows(
        comp.u.assigner, comp.t.inter1, TODAY, date_from=date(2026, 6, 1), date_to=date(2026, 7, 31)
    )
    assert _summary(rows) == [
        ("甲一区人民法院", 3, 0, 0, 3, 2, 0.0),
        ("甲二区人民法院", 2, 0, 0, 2, 0, None),
    ]
    rows = completion_rows(comp.u.assigner, comp.t.inter1, TODAY, project_id=comp.hp.id)
    assert _summary(rows) == [
        ("甲市中级人民法院", 1, 0, 0, 1, 1, 0.0),
        ("甲一区人民法院", 0, 0, 0, 0, 0, None),
        ("甲二区人民法院", 0, 0, 0, 0, 0, None),
    ]


def test_completion_rows_a_day_later(db, comp):
    """On 2026-06-16 base2's item due 06-15 becomes overdue: base2 rate 1 / (1 + 1) = 50 %."""
    rows = completion_rows(comp.u.assigner, comp.t.inter1, date(2026, 6, 16))
    assert _summary(rows)[2] == ("甲二区人民法院", 3, 1, 1, 2, 1, 0.5)


def test_base_court_sees_only_its_subtree(db, comp):
    """base1's coordinator asking about inter1's list: only base1's rows are in scope."""
    rows = completion_rows(comp.u.base1_coord, comp.t.base1, TODAY)
    # base1's own (from inter1): T1, T2, T3, T4; its tribunals: trib1 has T3 (direct), trib2 nothing counted.
    assert _summary(rows) == [
        ("甲一区人民法院", 4, 2, 1, 2, 1, 0.3333),
        ("东山人民法庭", 1, 0, 0, 1, 1, 0.0),
        ("西山人民法庭", 0, 0, 0, 0, 0, None),
    ]


# ---------------------------------------------------------------- the page and 审核确认


def test_completion_page_shows_the_numbers(db, comp, login):
    """/completion for inter1's assigner shows the same rows as completion_rows, rate as a percentage."""
    c = login(comp.u.assigner)
    resp = c.get("/completion")
    assert resp.status_code == 200
    assert _comparable_page(_page_rows(resp.get_data(as_text=True))) == [
        ["甲市中级人民法院", "1", "0", "1", "1", "0.0%"],
        ["甲一区人民法院", "5", "2", "3", "2", "25.0%"],
        ["甲二区人民法院", "3", "1", "2", "0", "100.0%"],
    ]
    assert c.get(f"/completion?unit={comp.t.inter2.id}").status_code == 404


def test_reviewer_confirms_a_courts_list(db, comp, login):
    """The high court's reviewer confirms base1's list; the page shows 已审核确认 on base1's row only."""
    c = login(comp.u.reviewer)
    resp = c.post(
        f"/completion/review?unit={comp.t.inter1.id}",
        data={"unit_id": str(comp.t.base1.id), "decision": "confirmed", "comment": "数据核实无误"},
    )
    assert resp.status_code == 302
    review = db.session.scalars(select(CompletionReview)).one()
    assert (review.unit_id, review.decision, review.reviewer_id) == (
        comp.t.base1.id,
        "confirmed",
        comp.u.reviewer.id,
    )
    assert (review.project_id, review.period_from, review.period_to) == (None, None, None)
    rows = _page_rows(c.get(f"/completion?unit={comp.t.inter1.id}").get_data(as_text=True))
    by_unit = {r[0].removesuffix("（本级）"): r[6] for r in rows}
    assert "已审核确认" in by_unit["甲一区人民法院"] and "数据核实无误" in by_unit["甲一区人民法院"]
    assert "已审核确认" not in by_unit["甲二区人民法院"]
    # The review is for the unfiltered list; a period's list is still unreviewed.
    period = _page_rows(
        c.get(f"/completion?unit={comp.t.inter1.id}&from=2026-06-01&to=2026-07-31").get_data(as_text=True)
    )
    assert all("已审核确认" not in r[6] for r in period)


def test_returning_a_list_needs_a_comment(db, comp, login):
    """退回 without an opinion saves nothing; with one it is shown as 已退回."""
    c = login(comp.u.reviewer)
    url = f"/completion/review?unit={comp.t.inter1.id}"
    resp = c.post(url, data={"unit_id": str(comp.t.base2.id), "decision": "returned", "comment": ""})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CompletionReview)) == 0
    resp = c.post(
        url, data={"unit_id": str(comp.t.base2.id), "decision": "returned", "comment": "逾期数据有误"}
    )
    assert resp.status_code == 302
    rows = _page_rows(c.get(f"/completion?unit={comp.t.inter1.id}").get_data(as_text=True))
    assert "已退回" in rows[-1][6] and "逾期数据有误" in rows[-1][6]


@pytest.mark.parametrize("who", ["assigner", "high_assigner", "base1_coord"])
def test_non_reviewer_cannot_confirm(db, comp, login, who):
    """Anyone but a reviewer gets 403 and no review is saved."""
    user = getattr(comp.u, who)
    target = comp.t.trib1 if who == "base1_coord" else comp.t.base1
    c = login(user)
    resp = c.post(
        f"/completion/review?unit={user.unit_id}",
        data={"unit_id": str(target.id), "decision": "confirmed", "comment": ""},
    )
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CompletionReview)) == 0


def test_reviewer_cannot_confirm_own_court(db, comp, login):
    """The high court doesn't confirm its own list: 403."""
    c = login(comp.u.reviewer)
    resp = c.post("/completion/review", data={"unit_id": str(comp.t.high.id), "decision": "confirmed"})
    assert resp.status_code == 403


# ---------------------------------------------------------------- export and print


def _export(c, unit_id: int) -> bytes:
    resp = c.get(f"/completion.xlsx?unit={unit_id}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert quote("甲市中级人民法院完成清单") in resp.headers["Content-Disposition"]
    return resp.data


def test_export_matches_the_page(db, comp, login):
    """The XLSX's first sheet: a title row, frozen header, Chinese intact, widths set, rows
    equal to the page's rows, the rate a number formatted as a percentage."""
    c = login(comp.u.reviewer)
    c.post(
        f"/completion/review?unit={comp.t.inter1.id}",
        data={"unit_id": str(comp.t.base1.id), "decision": "confirmed", "comment": "数据核实无误"},
    )
    page = _page_rows(c.get(f"/completion?unit={comp.t.inter1.id}").get_data(as_text=True))
    wb = load_workbook(io.BytesIO(_export(c, comp.t.inter1.id)))
    ws = wb.worksheets[0]
    assert ws.title == "完成清单" and wb.sheetnames == ["完成清单", "事项明细"]
    assert ws.freeze_panes == wb["事项明细"].freeze_panes == f"A{FIRST_DATA_ROW}"
    assert ws["A1"].value.startswith("甲市中级人民法院完成清单") and "截至" in ws["A1"].value
    assert wb["事项明细"]["A1"].value.startswith("甲市中级人民法院完成清单明细")
    values = [list(r) for r in ws.iter_rows(min_row=HEADER_ROW, values_only=True)]
    assert (
        values[0]
        == SUMMARY_HEADER
        == [
            "单位",
            "事项总数",
            "已办结",
            "其中按期办结",
            "未办结",
            "逾期",
            "按期办结率",
            "审核状态",
            "审核意见",
        ]
    )
    for col in "ABCDEFGHI":
        assert ws.column_dimensions[col].width and ws.column_dimensions[col].width >= 8, col
    assert ws.column_dimensions["A"].width >= 20  # unit names are long
    assert _comparable_sheet(values[1:]) == _comparable_page(page)
    assert len(values) - 1 == len(page) == 3
    assert values[2][3] == 1  # 其中按期办结 for base1
    assert values[2][7:] == ["已审核确认", "数据核实无误"]
    assert values[3][7] == "未审核" and not values[3][8]
    assert all(cell.font.bold for cell in ws[HEADER_ROW])
    rates = [ws.cell(r, 7) for r in range(FIRST_DATA_ROW, ws.max_row + 1)]
    assert [c.value for c in rates] == [0.0, 0.25, 1.0] and {c.number_format for c in rates} == {"0.0%"}


def _soffice() -> str | None:
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_export_converts_with_libreoffice(db, comp, login, tmp_path):
    """LibreOffice reads the export: its CSV of the first sheet equals the sheet's rows."""
    office = _soffice()
    if office is None:
        if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("LibreOffice 不可用（REQUIRE_LIBREOFFICE=1）")
        pytest.skip("LibreOffice (libreoffice/soffice) is not installed")
    c = login(comp.u.assigner)
    data = _export(c, comp.t.inter1.id)
    src = tmp_path / "completion.xlsx"
    src.write_bytes(data)
    out = tmp_path / "out"
    profile = (tmp_path / "lo-profile").as_uri()
    # 44,34,76,1 = comma, double quote, UTF-8, start at row 1: Chinese survives whatever the locale.
    proc = subprocess.run(
        [
            office,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    target = out / "completion.csv"
    assert proc.returncode == 0 and target.exists(), proc.stdout + proc.stderr
    with target.open(encoding="utf-8-sig", newline="") as fh:
        converted = list(csv.reader(fh))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    # LibreOffice writes a cell as it shows it: the rate (a number) with its percent format.
    expected = [
        [
            "" if v is None else rate_text(v) if c == 6 and r >= FIRST_DATA_ROW else str(v)
            for c, v in enumerate(row)
        ]
        for r, row in enumerate(ws.iter_rows(values_only=True), 1)
    ]
    assert converted == expected
    assert converted[0][0].startswith("甲市中级人民法院完成清单")  # the title row
    assert converted[FIRST_DATA_ROW - 1][0] == "甲市中级人民法院"


def test_print_view_has_one_section_per_unit(db, comp, login):
    """The print view has one page-break section per row, in row order, with the unit's name."""
    c = login(comp.u.assigner)
    html = c.get(f"/completion/print?unit={comp.t.inter1.id}").get_data(as_text=True)
    # The page-break rule lives in the linked style sheet (the CSP allows no inline style).
    assert re.search(r"css/print-completion\.[0-9a-f]{12}\.css", html) and "<style" not in html  # hashed
    sheet = Path(c.application.static_folder, "css", "print-completion.css").read_text(encoding="utf-8")
    assert ".unit { page-break-before: always" in sheet
    sections = html.split('<section class="unit">')[1:]
    assert len(sections) == 3
    assert [s.split("<h2>")[1].split("</h2>")[0] for s in sections] == [
        "甲市中级人民法院",
        "甲一区人民法院",
        "甲二区人民法院",
    ]
    # inter1's own section lists only its own item, not its courts' items.
    assert "制定全市法庭建设规划" in sections[0] and "法庭制度建设" not in sections[0]
    assert "法庭制度建设" in sections[1] and "法庭制度建设" not in sections[2]


def test_print_and_export_list_the_counted_items_only(db, comp, login):
    """Each unit's printed item list (and the export's detail sheet) has exactly the row's total of items."""
    c = login(comp.u.assigner)
    html = c.get(f"/completion/print?unit={comp.t.inter1.id}").get_data(as_text=True)
    sections = html.split('<section class="unit">')[1:]
    assert [s.count('<td class="num">') // 2 for s in sections] == [1, 5, 3]
    detail = load_workbook(io.BytesIO(_export(c, comp.t.inter1.id)))["事项明细"]
    assert detail.max_row - HEADER_ROW == 1 + 5 + 3


def test_export_lists_every_item_fetched_in_batches(db, comp, login, monkeypatch):
    """The detail sheet holds every item the summary counts, fetched in batches (here
    of 2, so the 9 items take five fetches)."""
    from app.tasks import queries

    real = queries.stream
    batches = []

    def small_batches(stmt, batch=2000):
        batches.append(2)
        return real(stmt, batch=2)

    monkeypatch.setattr("app.tasks.completion_views.stream", small_batches)
    c = login(comp.u.reviewer)
    wb = load_workbook(io.BytesIO(_export(c, comp.t.inter1.id)))
    summary = [list(r) for r in wb["完成清单"].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)]
    details = [list(r) for r in wb["事项明细"].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)]
    assert batches == [2]
    assert len(details) == sum(row[1] for row in summary) == 9
    assert not any(str(row[0]).startswith("注") for row in details)


def test_an_export_that_lists_fewer_than_it_counts_says_so_in_its_last_row(db, comp, login, monkeypatch):
    """No cap: the detail lists every item (a large scope is a background job). Should
    the items change between the summary and the detail (fewer listed than counted),
    the sheet's last row says how many are missing — never silently."""
    from app.tasks import queries

    real = queries.stream
    monkeypatch.setattr(
        "app.tasks.completion_views.stream",
        lambda stmt, batch=2000: (a for i, a in enumerate(real(stmt)) if i < 5),
    )
    c = login(comp.u.reviewer)
    wb = load_workbook(io.BytesIO(_export(c, comp.t.inter1.id)))
    details = [list(r) for r in wb["事项明细"].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)]
    assert len(details) == 6
    assert (
        details[-1][0]
        == "注：明细仅列出前 5 项，汇总共 9 项，其余 4 项未列出；请按单位、项目或期限筛选后分别导出。"
    )
    # The note is one cell merged across all ten item columns, so it prints whole.
    assert [str(r) for r in wb["事项明细"].merged_cells.ranges] == ["A1:J1", "A8:J8"]  # A1: the title
