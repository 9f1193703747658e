"""督导走访 and 对标对表 in a real browser, CSRF on, each person a fresh context:

1. 本溪中院's leader plans a 蹲点 visit to 华来法庭, records it with a photo and two
   findings → two rectifications (整改) for 华来 → the tribunal reports both fixed
   → the leader closes (销号) one and returns the other; 本溪中院's assigner sees no
   review form, finds 华来 visited and other tribunals unvisited on the coverage
   page, and exports the visit report to Word.
2. 本溪中院 applies the 五化 standard to 桓仁's four tribunals → 华来 claims three items
   (with evidence where required) → 本溪中院 verifies two and rejects one → the
   matrix (page and XLSX) shows it, with the weighted compliance rate.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.checklists.standards import WUHUA
from app.deadlines import add_months
from app.extensions import db
from app.org.models import Unit
from app.seed.demo import DEMO_PASSWORD
from app.timeutil import fmt_date_cn, local_today
from app.visits.models import Visit, VisitTarget

pytestmark = pytest.mark.browser

TODAY = local_today()
BX = "本溪市中级人民法院"
HUANREN = "桓仁满族自治县人民法院"
HUALAI = "华来人民法庭"
HUANREN_TRIBUNALS = ["华来人民法庭", "二棚甸子人民法庭", "普乐堡人民法庭", "沙尖子人民法庭"]
LEADER = "本溪中院院领导"
WHOAMI = {
    "bxzy": "本溪中院工作专班",
    "bxzy_ld": LEADER,
    "hlft": "华来法庭庭长",
}

VISIT_TITLE = "华来法庭蹲点指导（浏览器走访测试）"
PLANNED = (TODAY - timedelta(days=5), TODAY - timedelta(days=3))
ACTUAL = (TODAY - timedelta(days=5), TODAY - timedelta(days=4))
SUMMARY = "听取华来法庭工作汇报，旁听林下参买卖合同纠纷庭审一次，查阅卷宗十二件。"
FINDINGS = [
    ("诉讼服务区导引标识缺失，当事人难以找到立案窗口", TODAY + timedelta(days=30)),
    ("调解室兼作档案室，诉前调解无法单独开展", TODAY + timedelta(days=31)),
]
RECT = [f"整改：{text}" for text, _ in FINDINGS]
RETURN_REASON = "照片未体现调解室与档案室已分开，请补充现场照片。"

WUHUA_NAME = WUHUA["name"]
WEIGHTS = {i["code"]: i["weight"] for s in WUHUA["sections"] for i in s["items"]}
EVIDENCE = {i["code"]: i["evidence_required"] for s in WUHUA["sections"] for i in s["items"]}
CLAIMED = ["WH-1.1", "WH-1.2", "WH-1.3"]
VERIFIED, REJECTED = ["WH-1.1", "WH-1.2"], "WH-1.3"
REJECT_REASON = "照片未体现调解区标识，请补充。"


# ------------------------------------------------------------------ helpers


def _login(new_page, username: str, width: int = 1366, height: int = 768):
    rec = new_page(width, height)
    page = rec.page
    resp = page.goto("/login")
    assert resp is not None and resp.status == 200
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("whoami")).to_contain_text(WHOAMI[username])
    return rec


def _flash(page, text: str) -> None:
    expect(page.locator("main > .alert").filter(has_text=text)).to_be_visible()


def _no_overflow(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at a {width}px viewport"


def _shot(page, artifacts_dir: Path, name: str) -> None:
    path = artifacts_dir / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def _photo(path: Path, colour: str, label: str) -> Path:
    img = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 100, 700, 500), outline="white", width=12)
    draw.text((120, 120), label, fill="white")
    img.save(path, "JPEG", quality=85)
    return path


def _image_loaded(page, img) -> None:
    expect(img).to_be_visible()
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())


def _cells(row) -> list[str]:
    return row.evaluate("tr => Array.from(tr.cells).map(td => td.innerText.trim())")


def _in_app(live_server, fn):
    """Read from the live server's database (in its own app context)."""
    with live_server.app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _unit_id(live_server, name: str) -> int:
    return _in_app(live_server, lambda: db.session.scalar(select(Unit.id).where(Unit.name == name)))


def _done_visits_to(live_server, name: str, months: int) -> int:
    """Done visits to `name` in the coverage window — another test's, if any, are not ours."""
    day = func.coalesce(Visit.actual_start, Visit.planned_start)
    since = add_months(TODAY, -months)
    return _in_app(
        live_server,
        lambda: db.session.scalar(
            select(func.count(func.distinct(Visit.id)))
            .join(VisitTarget, VisitTarget.visit_id == Visit.id)
            .join(Unit, Unit.id == VisitTarget.unit_id)
            .where(Unit.name == name, Visit.status == "done", day >= since, day <= TODAY)
        ),
    )


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append("\t".join(c.text for c in row.cells))
    return "\n".join(parts)


def _rate(verified: list[str]) -> float:
    """What the app stores: verified weight ÷ total weight, to 4 places."""
    return round(sum(WEIGHTS[c] for c in verified) / sum(WEIGHTS.values()), 4)


def _pct(value: float) -> str:
    """As the pages print it: `(value * 100)|round(1) ~ '%'`."""
    return f"{round(value * 100, 1)}%"


# ------------------------------------------------------------------ visits: steps


def _leader_plans_and_records(new_page, tmp_path: Path) -> str:
    rec = _login(new_page, "bxzy_ld")
    page = rec.page
    page.goto("/visits/new")
    form = page.get_by_test_id("visit-form")
    expect(form.get_by_label("组织单位").locator("option:checked")).to_have_text(BX)
    form.get_by_label("走访类型").select_option(label="蹲点指导")
    form.get_by_label("走访主题").fill(VISIT_TITLE)
    form.get_by_label(f"{LEADER}（{BX}）", exact=True).check()
    form.get_by_test_id("targets").get_by_label(HUALAI, exact=True).check()
    form.get_by_label("计划开始日期").fill(PLANNED[0].isoformat())
    form.get_by_label("计划结束日期").fill(PLANNED[1].isoformat())
    form.get_by_label("参加人员").fill("审管办 赵某、政治部 钱某")
    form.get_by_label("调研内容").fill("对标“五化”标准，查看诉讼服务和调解工作。")
    form.get_by_role("button", name="保存计划").click()
    _flash(page, f"已安排走访“{VISIT_TITLE}”。")
    expect(page).to_have_url(re.compile(r"/visits/\d+$"))
    visit_url = page.url
    expect(page.get_by_test_id("visit-title")).to_have_text(VISIT_TITLE)
    # The planned dates are behind us and nothing is recorded yet.
    expect(page.get_by_test_id("unrecorded")).to_be_visible()

    record = page.get_by_test_id("record-form")
    record.get_by_label("实际开始日期").fill(ACTUAL[0].isoformat())
    record.get_by_label("实际结束日期").fill(ACTUAL[1].isoformat())
    record.get_by_label("走访情况", exact=True).fill(SUMMARY)
    record.get_by_label("意见建议").fill("加快诉讼服务区改造，调解室与档案室分设。")
    photo = _photo(tmp_path / "蹲点-现场.jpg", "#2f5d3a", "visit")
    record.locator("input#files").set_input_files(str(photo))
    record.get_by_role("button", name="保存记录").click()
    _flash(page, "已记录走访情况。")
    expect(page).to_have_url(visit_url)
    expect(page.get_by_test_id("unrecorded")).to_have_count(0)
    expect(page.locator("main .badge").filter(has_text="已完成")).to_be_visible()
    done = page.get_by_test_id("visit-record")
    expect(done).to_contain_text(SUMMARY)
    _image_loaded(page, done.locator(f'img[alt="{photo.name}"]'))
    expect(page.locator("main dl")).to_contain_text(f"实际时间{fmt_date_cn(ACTUAL[0])}至")

    for text, deadline in FINDINGS:
        finding = page.get_by_test_id("finding-form")
        expect(finding.get_by_label("问题所在单位").locator("option:checked")).to_have_text(HUALAI)
        finding.get_by_label("发现的问题").fill(text)
        finding.get_by_label("整改时限").fill(deadline.isoformat())
        expect(finding.get_by_label("核验人（销号）").locator("option:checked")).to_have_text(LEADER)
        finding.get_by_role("button", name="登记并交办整改").click()
        _flash(page, "已登记问题，并作为整改事项交办给问题所在单位。")
        expect(page).to_have_url(visit_url)

    table = page.get_by_test_id("findings")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    for row, (text, deadline) in zip([rows.nth(0), rows.nth(1)], FINDINGS, strict=True):
        link = row.get_by_role("link", name=text, exact=True)
        expect(link).to_have_attribute("href", re.compile(r"/assignments/\d+$"))
        assert _cells(row) == [HUALAI, text, deadline.isoformat(), LEADER, "待签收"]
    expect(page.locator("main")).to_contain_text("发现问题及整改（2）")
    rec.assert_clean()
    return visit_url


def _tribunal_reports(new_page, artifacts_dir: Path, tmp_path: Path) -> list[str]:
    rec = _login(new_page, "hlft", 375, 812)
    page = rec.page
    urls = []
    for i, title in enumerate(RECT):
        page.goto("/my")
        to_ack = page.get_by_test_id("to-ack")
        row = to_ack.locator("tr").filter(has=page.get_by_role("link", name=title, exact=True))
        expect(row).to_contain_text("整改")
        expect(row).to_contain_text(FINDINGS[i][1].isoformat())
        if i == 0:
            expect(to_ack.get_by_role("link", name=RECT[1], exact=True)).to_be_visible()
        row.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_test_id("assignment-title")).to_have_text(title)
        assert re.search(r"/assignments/\d+$", page.url), page.url
        urls.append(page.url)
        expect(page.locator("main")).to_contain_text(f"交办单位：{BX}")

        text = f"已按要求整改第 {i + 1} 项问题，附整改后现场照片。"
        photo = _photo(tmp_path / f"整改-{i + 1}.jpg", ["#1a4f8b", "#8b6a1a"][i], f"fix {i + 1}")
        form = page.get_by_test_id("report-form")
        form.get_by_label("进展情况").fill(text)
        form.get_by_label("完成百分比").fill("100")
        form.locator("input#files").set_input_files(str(photo))
        form.get_by_label("已完成，提交审核").check()
        form.get_by_role("button", name="提交", exact=True).click()
        _flash(page, "已提交审核。")
        expect(page.get_by_test_id("report-form")).to_have_count(0)
        expect(page.locator("main .badge").filter(has_text="待审核")).to_be_visible()
        report = page.locator("div.border-bottom").filter(has_text=text)
        expect(report).to_contain_text("提交审核")
        _image_loaded(page, report.locator(f'img[alt="{photo.name}"]'))
        if i == 0:
            page.evaluate("window.scrollTo(0, 0)")
            _shot(page, artifacts_dir, "rectification-hlft-375.png")
            _no_overflow(page, 375)
    page.goto("/my")
    for title in RECT:
        expect(page.get_by_test_id("to-ack").get_by_role("link", name=title, exact=True)).to_have_count(0)
    rec.assert_clean()
    return urls


def _leader_reviews(new_page, artifacts_dir: Path, visit_url: str, urls: list[str]) -> None:
    rec = _login(new_page, "bxzy_ld")
    page = rec.page
    decisions = [
        ("销号", "整改到位，予以销号。", "已销号。", "已办结"),
        ("退回", RETURN_REASON, "已退回。", "已退回"),
    ]
    for (text, _), url, (decision, comment, flash, status) in zip(FINDINGS, urls, decisions, strict=True):
        page.goto(visit_url)
        page.get_by_test_id("findings").get_by_role("link", name=text, exact=True).click()
        expect(page).to_have_url(url)
        form = page.get_by_test_id("review-form")
        expect(form.get_by_label("审核结论").locator("option")).to_have_text(
            ["请选择审核结论", "销号", "退回"]
        )
        form.get_by_label("审核结论").select_option(label=decision)
        form.get_by_label("意见 / 退回理由").fill(comment)
        form.get_by_role("button", name="提交审核结论").click()
        _flash(page, flash)
        expect(page.get_by_test_id("review-form")).to_have_count(0)
        expect(page.locator("main .badge").filter(has_text=status)).to_be_visible()
    expect(page.get_by_test_id("return-reason")).to_contain_text(RETURN_REASON)

    page.goto(visit_url)
    rows = page.get_by_test_id("findings").locator("tbody tr")
    expect(rows.nth(0).locator("td").last).to_have_text("已销号")
    expect(rows.nth(1).locator("td").last).to_have_text("已退回")
    _shot(page, artifacts_dir, "visit-detail-1366.png")
    _no_overflow(page, 1366)
    rec.assert_clean()


def _assigner_checks(new_page, live_server, artifacts_dir: Path, tmp_path: Path, visit_url, urls, before):
    rec = _login(new_page, "bxzy")
    page = rec.page
    # 本溪中院's assigner sees the rectifications but may not 销号 them: only the verifier.
    for (text, _), url, status in zip(FINDINGS, urls, ["已办结", "已退回"], strict=True):
        page.goto(visit_url)
        page.get_by_test_id("findings").get_by_role("link", name=text, exact=True).click()
        expect(page).to_have_url(url)
        expect(page.locator("main .badge").filter(has_text=status)).to_be_visible()
        expect(page.get_by_test_id("review-form")).to_have_count(0)
        expect(page.get_by_test_id("report-form")).to_have_count(0)

    # Coverage of 本溪 over six months: 华来 visited (once, by this test), the others not.
    resp = page.goto(f"/visits/coverage?unit={_unit_id(live_server, BX)}&months=6")
    assert resp is not None and resp.status == 200
    expect(page.locator("h1")).to_have_text("走访覆盖情况")
    unvisited = page.get_by_test_id("unvisited")
    for name in ("小市人民法庭", "下马塘人民法庭", "二棚甸子人民法庭"):
        expect(unvisited.locator("li").filter(has_text=name)).to_have_count(1)
    expect(unvisited).not_to_contain_text(HUALAI)
    row = page.get_by_test_id("coverage").locator("tbody tr").filter(has_text=HUALAI)
    expect(row).to_have_count(1)
    cells = _cells(row)
    assert cells[1:5] == [HUANREN, str(before + 1), ACTUAL[0].isoformat(), LEADER], cells
    _shot(page, artifacts_dir, "coverage-1366.png")
    _no_overflow(page, 1366)

    # The visit report as Word: the two findings and what became of them.
    page.goto(visit_url)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Word").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == f"{VISIT_TITLE}.docx"
    path = tmp_path / "visit.docx"
    download.save_as(str(path))
    text = _docx_text(path)
    assert f"{BX}督导走访情况报告" in text
    assert VISIT_TITLE in text
    assert SUMMARY in text
    findings_rows = [line for line in text.splitlines() if line.startswith(("1\t", "2\t"))]
    assert findings_rows == [
        f"1\t{HUALAI}\t{FINDINGS[0][0]}\t{fmt_date_cn(FINDINGS[0][1])}\t{LEADER}\t已销号",
        f"2\t{HUALAI}\t{FINDINGS[1][0]}\t{fmt_date_cn(FINDINGS[1][1])}\t{LEADER}\t已退回",
    ], findings_rows
    # The visit's photo (800×600), as wide as the text, captioned with its file name.
    assert "六、走访照片" in text and "图1　蹲点-现场.jpg" in text
    (picture,) = Document(str(path)).inline_shapes
    assert picture.width.mm == pytest.approx(156, abs=1) and picture.height.mm == pytest.approx(117, abs=1)
    rec.assert_clean()


def test_visit_findings_rectifications(new_page, live_server, artifacts_dir, tmp_path):
    errors_before = len(live_server.errors)
    before = _done_visits_to(live_server, HUALAI, 6)

    visit_url = _leader_plans_and_records(new_page, tmp_path)
    urls = _tribunal_reports(new_page, artifacts_dir, tmp_path)
    _leader_reviews(new_page, artifacts_dir, visit_url, urls)
    _assigner_checks(new_page, live_server, artifacts_dir, tmp_path, visit_url, urls, before)

    assert live_server.errors[errors_before:] == []


# ------------------------------------------------------------------ checklists: steps


def _assigner_applies(new_page) -> None:
    rec = _login(new_page, "bxzy")
    page = rec.page
    page.goto("/checklists/apply")
    form = page.get_by_test_id("apply-form")
    form.get_by_label("模板").select_option(label=f"{WUHUA_NAME}（第 1 版）")
    form.get_by_label("完成期限").fill((TODAY + timedelta(days=90)).isoformat())
    for name in HUANREN_TRIBUNALS:
        form.get_by_label(name, exact=True).check()
    form.get_by_role("button", name="应用", exact=True).click()
    _flash(page, f"已将“{WUHUA_NAME}”第 1 版应用到 {len(HUANREN_TRIBUNALS)} 个单位。")
    expect(page).to_have_url(re.compile(r"/checklists/matrix\?family=wuhua$"))
    rec.assert_clean()


def _entry(page, code: str):
    return page.get_by_test_id(f"entry-{code}")


def _entry_status(page, code: str, status: str) -> None:
    expect(_entry(page, code).locator(".cl-badge[data-status]").first).to_have_attribute(
        "data-status", status
    )


def _tribunal_claims(new_page, artifacts_dir: Path, tmp_path: Path) -> str:
    rec = _login(new_page, "hlft", 375, 812)
    page = rec.page
    page.goto("/checklists")
    table = page.get_by_test_id("checklist-table")
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=HUALAI, exact=True))
    expect(row).to_contain_text(WUHUA_NAME)
    expect(row).to_contain_text(f"已核验 0 / 共 {len(WEIGHTS)}")
    row.get_by_role("link", name=HUALAI, exact=True).click()
    expect(page).to_have_url(re.compile(r"/checklists/\d+$"))
    checklist_url = page.url
    expect(page.get_by_test_id("checklist-title")).to_have_text(f"{HUALAI}：{WUHUA_NAME}")
    expect(page.locator("main")).to_contain_text(f"完成期限：{fmt_date_cn(TODAY + timedelta(days=90))}")

    photos = {}
    for code in CLAIMED:
        entry = _entry(page, code)
        _entry_status(page, code, "missing")
        entry.locator("summary", has_text="填报完成情况").click()
        form = entry.get_by_test_id("claim-form")
        form.get_by_label("完成情况说明").fill(f"{code} 已按标准落实。")
        if EVIDENCE[code]:
            photos[code] = _photo(tmp_path / f"佐证-{code}.jpg", "#5a2d82", code)
            form.locator("input[type=file]").set_input_files(str(photos[code]))
        form.get_by_role("button", name="提交填报").click()
        _flash(page, "已填报，等待上级核验。")
        expect(page).to_have_url(re.compile(r"/checklists/\d+#e\d+$"))
        _entry_status(page, code, "claimed")
        expect(_entry(page, code)).to_contain_text(f"说明：{code} 已按标准落实。")
        expect(_entry(page, code)).to_contain_text("填报：华来法庭庭长")
    assert set(photos) == {c for c in CLAIMED if EVIDENCE[c]} and photos, "pick items needing evidence"
    for code, photo in photos.items():
        _image_loaded(page, _entry(page, code).locator(f'img[alt="{photo.name}"]'))
    expect(page.locator("main")).to_contain_text(f"待核验 {len(CLAIMED)}")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, "checklist-hlft-375.png")
    _no_overflow(page, 375)
    rec.assert_clean()
    return checklist_url


def _assigner_verifies(new_page, checklist_url: str) -> None:
    rec = _login(new_page, "bxzy")
    page = rec.page
    page.goto(checklist_url)
    expect(page.get_by_test_id("checklist-title")).to_have_text(f"{HUALAI}：{WUHUA_NAME}")
    for code in CLAIMED:
        entry = _entry(page, code)
        form = entry.get_by_test_id("verify-form")
        if code == REJECTED:
            form.get_by_label("核验意见").fill(REJECT_REASON)
            form.get_by_role("button", name="✗ 驳回").click()
            _flash(page, "已驳回。")
            _entry_status(page, code, "rejected")
            expect(_entry(page, code)).to_contain_text(f"驳回理由：{REJECT_REASON}")
        else:
            form.get_by_label("核验意见").fill("核验属实")
            form.get_by_role("button", name="✓ 核验通过").click()
            _flash(page, "已核验通过。")
            _entry_status(page, code, "verified")
            expect(_entry(page, code)).to_contain_text("核验：本溪中院工作专班")
    # Items the tribunal has not claimed offer nothing to verify.
    expect(_entry(page, "WH-1.4").get_by_test_id("verify-form")).to_have_count(0)
    expect(page.locator("main [aria-valuenow]").first).to_have_attribute(
        "aria-valuenow", str(round(_rate(VERIFIED) * 100, 1))
    )
    rec.assert_clean()


def _assigner_reads_matrix(new_page, live_server, artifacts_dir: Path, tmp_path: Path) -> None:
    rate = _rate(VERIFIED)
    shown = _pct(rate)
    assert shown == "10.0%"  # (2 + 1.5) ÷ 35: the 五化 weights as shipped
    rec = _login(new_page, "bxzy")
    page = rec.page
    page.goto(f"/checklists/matrix?family=wuhua&unit={_unit_id(live_server, HUANREN)}")
    expect(page.locator("h1")).to_have_text(f"对标对表：{WUHUA_NAME}")
    table = page.get_by_test_id("matrix-table")
    expect(table.locator("tbody tr[data-unit]")).to_have_count(len(HUANREN_TRIBUNALS))
    row = table.locator(f'tbody tr[data-unit="{HUALAI}"]')
    expect(row.locator("td.rate")).to_have_text(shown)
    expected = (
        {code: "missing" for code in WEIGHTS} | {c: "verified" for c in VERIFIED} | {REJECTED: "rejected"}
    )
    symbols = {"verified": "✓", "rejected": "✗", "missing": "○"}
    for code, status in expected.items():
        cell = row.locator(f'td.cell[data-code="{code}"]')
        expect(cell).to_have_attribute("data-status", status)
        expect(cell).to_have_text(symbols[status])
    for name in HUANREN_TRIBUNALS[1:]:
        expect(table.locator(f'tbody tr[data-unit="{name}"] td.rate')).to_have_text("0.0%")
    rollup = page.get_by_test_id("rollup-table").locator("tbody tr").filter(has_text=HUALAI)
    expect(rollup.locator("td[data-rate]")).to_have_attribute("data-rate", shown)
    _shot(page, artifacts_dir, "matrix-1366.png")
    _no_overflow(page, 1366)

    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == f"{HUANREN}{WUHUA_NAME}对标对表.xlsx"
    path = tmp_path / "matrix.xlsx"
    download.save_as(str(path))
    wb = load_workbook(path)
    ws = wb["对标对表"]
    assert ws["A1"].value == f"{HUANREN}{WUHUA_NAME}对标对表　截至{fmt_date_cn(local_today())}"
    header = [c.value for c in ws[2]]
    assert header[:4] == ["单位", "所属", "版本", "达标率"]
    assert header[4:] == list(WEIGHTS)
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert sorted(rows) == sorted(HUANREN_TRIBUNALS)
    hualai = rows[HUALAI]
    assert hualai[1:3] == (HUANREN, "第1版")
    assert hualai[3] == pytest.approx(rate)
    words = {"verified": "✓ 已核验", "rejected": "✗ 已驳回", "missing": "○ 未完成"}
    assert dict(zip(header[4:], hualai[4:], strict=True)) == {c: words[s] for c, s in expected.items()}
    hualai_row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == HUALAI)
    assert hualai_row[3].number_format == "0.0%"
    wb.close()

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(row.locator("td.rate")).to_have_text(shown)
    _shot(page, artifacts_dir, "matrix-375.png")
    _no_overflow(page, 375)
    rec.assert_clean()


def test_wuhua_checklist_matrix(new_page, live_server, standard_templates, artifacts_dir, tmp_path):
    errors_before = len(live_server.errors)

    _assigner_applies(new_page)
    checklist_url = _tribunal_claims(new_page, artifacts_dir, tmp_path)
    _assigner_verifies(new_page, checklist_url)
    _assigner_reads_matrix(new_page, live_server, artifacts_dir, tmp_path)

    assert live_server.errors[errors_before:] == []
