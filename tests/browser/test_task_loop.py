"""The whole task loop in a real browser, CSRF on, every step a fresh login:

本溪中院 creates a project and imports its task list from Excel (and is refused a
list naming another city's courts) → 华来法庭 signs for an item and reports with a
photo → 本溪中院 returns it → the tribunal reports again → 本溪中院 closes it →
省高院 drills into 本溪's completion list, exports it to Excel and confirms one
court → 阜新中院 sees none of it, not even by URL.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.seed.demo import DEMO_PASSWORD
from app.tasks.export import rate_text
from app.timeutil import fmt_date_cn, local_today

pytestmark = pytest.mark.browser

EXAMPLE_XLSX = Path("/work/shared/examples/任务清单-示例.xlsx")
HEADER = ["序号", "任务名称", "工作要求", "责任单位", "牵头领导", "完成时限", "备注"]
PROJECT = "人民法庭建设攻坚"
# Dates relative to today, so the loop never drifts into 临期/逾期 as the calendar moves.
YEAR = local_today().year
NEXT = YEAR + 1
BX = "本溪市中级人民法院"
HUANREN = "桓仁满族自治县人民法院"
BENXIXIAN = "本溪满族自治县人民法院"
SIGN, SERVICE, VISIT = "规范法庭标识", "完善诉讼服务", "开展大走访"
TASKS = [
    # 序号, 任务名称, 工作要求, 责任单位, 牵头领导, 完成时限, 备注
    (1, SIGN, "统一法庭外观标识和门牌，规范悬挂国徽", "华来人民法庭", "张某某", f"{NEXT}年12月底前", None),
    (
        2,
        SERVICE,
        "完善诉讼服务站点，推行一站式立案",
        "桓仁县人民法院、本溪县法院",
        "李某某",
        f"{NEXT}-12-31",
        None,
    ),
    (
        3,
        VISIT,
        "深入辖区村屯开展大走访，收集矛盾纠纷线索",
        "田师付法庭",
        "王某某",
        "长期坚持",
        "每季度报送进展",
    ),
]
WHOAMI = {
    "bxzy": "本溪中院工作专班",
    "hlft": "华来法庭庭长",
    "lnfy": "省高院强基办",
    "fxzy": "阜新中院工作专班",
}


# ------------------------------------------------------------------ helpers


def _login(new_page, username: str, width: int = 1366, height: int = 768):
    """A fresh context, logged in as `username` through the login form."""
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


def _task_list_xlsx(path: Path) -> Path:
    """本溪's list in exactly the example's layout: the example itself, rows replaced."""
    wb = load_workbook(EXAMPLE_XLSX)
    ws = wb.worksheets[0]
    assert {str(r) for r in ws.merged_cells.ranges} >= {"A1:G1", "A2:G2"}
    assert [c.value for c in ws[3]] == HEADER
    ws["A1"] = f"{BX}“人民法庭建设攻坚”专项活动任务清单"
    ws["A2"] = f"（{YEAR}年8月制）"
    ws.delete_rows(4, ws.max_row - 3)
    for row in TASKS:
        ws.append(list(row))
    wb.save(path)
    return path


def _photo(path: Path, colour: str, label: str) -> Path:
    img = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 100, 700, 500), outline="white", width=12)
    draw.text((120, 120), label, fill="white")
    img.save(path, "JPEG", quality=85)
    return path


def _table_rows(table, ncols: int) -> list[list[str]]:
    expect(table).to_be_visible()
    return table.locator("tbody tr").evaluate_all(
        "(trs, n) => trs.map(tr => Array.from(tr.cells).slice(0, n).map(td => td.innerText.trim()))", ncols
    )


def _open_from_my(rec, section: str, title: str) -> None:
    """From 我的工作, follow `title` listed under the section `section` (data-testid)."""
    page = rec.page
    page.locator("nav").get_by_role("link", name="我的工作", exact=True).click()
    expect(page).to_have_url(re.compile(r"/my$"))
    page.get_by_test_id(section).get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_test_id("assignment-title")).to_have_text(title)


def _report(page, text: str, photo: Path) -> None:
    form = page.get_by_test_id("report-form")
    expect(form).to_be_visible()
    form.get_by_label("进展情况").fill(text)
    form.get_by_label("完成百分比").fill("100")
    form.locator("input#files").set_input_files(str(photo))
    form.get_by_label("已完成，提交审核").check()
    form.get_by_role("button", name="提交", exact=True).click()
    _flash(page, "已提交审核。")
    expect(page.get_by_test_id("report-form")).to_have_count(0)  # 待审核: nothing more to report
    reports = page.locator(".card-body").filter(
        has=page.get_by_role("heading", name=re.compile(r"^反馈记录"))
    )
    report = reports.locator("div.border-bottom").filter(has_text=text)
    expect(report).to_contain_text("100%")
    expect(report).to_contain_text("提交审核")
    img = report.locator(f'img[alt="{photo.name}"]')
    expect(img).to_be_visible()
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert "thumb=1" in (img.get_attribute("src") or "")


def _review(rec, assignment_url: str, decision: str, comment: str, flash: str) -> None:
    page = rec.page
    _open_from_my(rec, "to-review", SIGN)
    expect(page).to_have_url(assignment_url)
    form = page.get_by_test_id("review-form")
    form.get_by_label("审核结论").select_option(label=decision)
    form.get_by_label("意见 / 退回理由").fill(comment)
    form.get_by_role("button", name="提交审核结论").click()
    _flash(page, flash)
    expect(page.get_by_test_id("review-form")).to_have_count(0)


# ------------------------------------------------------------------ steps


def _bxzy_creates_and_imports(new_page, artifacts_dir: Path, tmp_path: Path) -> str:
    rec = _login(new_page, "bxzy")
    page = rec.page
    page.goto("/projects/new")
    page.get_by_label("项目名称").fill(PROJECT)
    expect(page.get_by_label("所属单位")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("开始日期").fill(f"{YEAR}-01-01")
    page.get_by_label("结束日期").fill(f"{NEXT}-12-31")
    page.get_by_role("button", name="保存", exact=True).click()
    _flash(page, f"已新建项目“{PROJECT}”。")
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    project_url = page.url
    expect(page.locator("h1")).to_have_text(PROJECT)
    expect(page.locator("main")).to_contain_text(f"{YEAR}-01-01 至 {NEXT}-12-31")

    # Import 本溪's own list: every row passes, commit, the items are on the project page.
    page.get_by_role("link", name="从 Excel 导入").click()
    expect(page).to_have_url(re.compile(r"/imports/tasks\?project_id=\d+$"))
    expect(page.locator("#project_id option:checked")).to_have_text(f"{PROJECT}（{YEAR}）")
    page.locator("#file").set_input_files(str(_task_list_xlsx(tmp_path / "本溪任务清单.xlsx")))
    page.get_by_role("button", name="上传并预览").click()
    expect(page).to_have_url(re.compile(r"/imports/tasks/\d+$"))
    expect(page.locator("h1")).to_have_text("导入预览：本溪任务清单.xlsx")
    expect(page.locator("main")).to_contain_text("共 3 行")
    expect(page.locator("main")).to_contain_text("全部通过检查")
    expect(page.get_by_test_id("bad-rows")).to_have_count(0)
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(3)
    for i, (_, title, _, units, leader, deadline, _) in enumerate(TASKS):
        row = rows.nth(i)
        expect(row).to_contain_text(title)
        expect(row).to_contain_text(units)
        expect(row).to_contain_text(deadline)
        expect(row).to_contain_text(leader)
        expect(row).to_contain_text("✓ 可导入")
        expect(row.get_by_role("checkbox")).not_to_be_checked()
    expect(rows.nth(0)).to_contain_text(f"→ {NEXT}-12-31")
    expect(rows.nth(2)).to_contain_text("→ 长期坚持")
    _shot(page, artifacts_dir, "task-import-preview.png")
    page.get_by_test_id("commit-import").click()
    expect(page).to_have_url(project_url)
    _flash(page, "导入完成：新增并交办 3 项")
    items = page.locator("main table tbody tr")
    expect(items).to_have_count(3)
    for i, (title, units) in enumerate([(SIGN, 1), (SERVICE, 2), (VISIT, 1)]):
        expect(items.nth(i).get_by_role("link", name=title, exact=True)).to_be_visible()
        expect(items.nth(i)).to_contain_text(f"{units} 个单位/期次")

    # 阜新's example list names courts outside 本溪: every row is flagged, and a
    # commit that excludes nothing is refused, leaving the project as it was.
    page.get_by_role("link", name="从 Excel 导入").click()
    page.locator("#file").set_input_files(str(EXAMPLE_XLSX))
    page.get_by_role("button", name="上传并预览").click()
    expect(page).to_have_url(re.compile(r"/imports/tasks/\d+$"))
    preview_url = page.url
    expect(page.get_by_test_id("bad-rows")).to_have_text("6 行有错误")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(6)
    expect(page.locator("main table")).to_contain_text("不在您的管辖范围内")
    expect(page.locator("main table")).not_to_contain_text("✓ 可导入")
    expect(rows.filter(has_text="阜蒙县人民法院、彰武县人民法院").first).to_contain_text(
        "责任单位“阜蒙县人民法院”不存在，或不在您的管辖范围内。"
    )
    for i in range(6):
        expect(rows.nth(i)).to_have_class(re.compile(r"\btable-danger\b"))
        # nothing is excluded unless the user says so
        expect(rows.nth(i).get_by_role("checkbox")).not_to_be_checked()
    rec.expected_error_urls.add(preview_url + "/commit")  # its 400 is the point
    with page.expect_response(lambda r: r.url.endswith("/commit")) as info:
        page.get_by_test_id("commit-import").click()
    assert info.value.status == 400, f"commit without exclusions answered {info.value.status}"
    _flash(page, "第 4、5、6、7、8、9 行有错误：请修改文件后重新上传，或明确排除这些行。")
    expect(page.get_by_test_id("commit-import")).to_be_visible()  # still a preview
    page.goto(preview_url)
    expect(page.locator("main")).not_to_contain_text("已导入")
    page.goto(project_url)
    expect(page.locator("main table tbody tr")).to_have_count(3)
    expect(page.locator("main")).not_to_contain_text("选配人民法庭庭长")
    rec.assert_clean()
    return project_url


def _hlft_signs_and_reports(new_page, artifacts_dir: Path, tmp_path: Path) -> str:
    rec = _login(new_page, "hlft")
    page = rec.page
    # The tribunal only receives 规范法庭标识, not its county court's or 田师付's items.
    page.goto("/my")
    expect(page.get_by_test_id("to-ack")).to_contain_text(SIGN)
    expect(page.locator("main")).not_to_contain_text(SERVICE)
    expect(page.locator("main")).not_to_contain_text(VISIT)
    _open_from_my(rec, "to-ack", SIGN)
    assignment_url = page.url
    assert re.search(r"/assignments/\d+$", assignment_url), assignment_url
    expect(page.locator("main .badge").filter(has_text="待签收")).to_be_visible()
    page.get_by_role("button", name="签收", exact=True).click()
    _flash(page, "已签收。")
    expect(page.get_by_role("button", name="签收", exact=True)).to_have_count(0)
    expect(page.locator("main .badge").filter(has_text="承办中")).to_be_visible()

    _report(page, "已完成法庭外观标识更换，国徽已规范悬挂。", _photo(tmp_path / "标识-1.jpg", "#8b1a1a", "1"))
    expect(page.locator("main .badge").filter(has_text="待审核")).to_be_visible()
    _shot(page, artifacts_dir, "hlft-assignment-1366.png")
    rec.assert_clean()
    return assignment_url


def _hlft_reports_again(new_page, artifacts_dir: Path, tmp_path: Path, assignment_url: str) -> None:
    rec = _login(new_page, "hlft", 375, 812)
    page = rec.page
    page.goto("/my")
    returned = page.get_by_test_id("returned")
    expect(returned).to_contain_text("被退回（1）")
    expect(returned.get_by_role("link", name=SIGN, exact=True)).to_be_visible()
    expect(returned).to_contain_text("已退回")
    expect(page.get_by_test_id("to-ack")).not_to_contain_text(SIGN)
    _shot(page, artifacts_dir, "hlft-my-375.png")
    _no_overflow(page, 375)
    returned.get_by_role("link", name=SIGN, exact=True).click()
    expect(page).to_have_url(assignment_url)
    expect(page.locator("main")).to_contain_text("照片不清楚")  # the reason is shown to the tribunal
    _report(page, "已重新拍摄标识照片，清晰展示法庭全貌。", _photo(tmp_path / "标识-2.jpg", "#1a4f8b", "2"))
    expect(page.locator("main")).to_contain_text("反馈记录（2）")
    rec.assert_clean()


def _bxzy_reviews(
    new_page, assignment_url: str, decision: str, comment: str, flash: str, status: str
) -> None:
    rec = _login(new_page, "bxzy")
    _review(rec, assignment_url, decision, comment, flash)
    expect(rec.page.locator("main .badge").filter(has_text=status)).to_be_visible()
    rec.assert_clean()


def _lnfy_completion(new_page, artifacts_dir: Path, tmp_path: Path) -> None:
    rec = _login(new_page, "lnfy")
    page = rec.page
    page.locator("nav").get_by_role("link", name="完成清单", exact=True).click()
    expect(page.locator("h1")).to_have_text("完成清单：辽宁省高级人民法院")
    table = page.get_by_test_id("completion-table")
    table.get_by_role("link", name=BX, exact=True).click()
    expect(page.locator("h1")).to_have_text(f"完成清单：{BX}")
    expect(page).to_have_url(re.compile(r"/completion\?unit=\d+$"))

    shown = {r[0]: r[1:] for r in _table_rows(table, 6)}
    # 单位 → 总数, 已办结, 未办结, 逾期, 按期办结率 (华来 rolls up into 桓仁, 田师付 into 本溪县).
    assert shown[HUANREN] == ["2", "1", "1", "0", "100.0%"], shown
    assert shown[BENXIXIAN] == ["2", "0", "2", "0", "—"], shown
    assert all(v[0] == "0" for k, v in shown.items() if k not in (HUANREN, BENXIXIAN)), shown
    _shot(page, artifacts_dir, "completion-1366.png")

    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == f"{BX}完成清单.xlsx"
    xlsx = tmp_path / "completion.xlsx"
    download.save_as(str(xlsx))

    wb = load_workbook(xlsx)
    ws = wb.worksheets[0]
    assert ws.title == "完成清单"
    assert ws.freeze_panes == "A3"  # the title row and the header
    title = [c.value for c in ws[1]]
    assert title[0] == f"{BX}完成清单　截至{fmt_date_cn(local_today())}"
    header = [c.value for c in ws[2]]
    assert header[:7] == ["单位", "事项总数", "已办结", "其中按期办结", "未办结", "逾期", "按期办结率"]
    exported = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    page_rows = [[r[0].removesuffix("（本级）"), *r[1:]] for r in _table_rows(table, 6)]
    # The rate is a number in the sheet (formatted 0.0%), "—" where there is none.
    shown_rates = [[*r[:6], r[6] if isinstance(r[6], str) else rate_text(r[6]), *r[7:]] for r in exported]
    as_page = [[r[0], str(r[1]), str(r[2]), str(r[4]), str(r[5]), r[6]] for r in shown_rates]
    assert as_page == page_rows
    assert {r[7] for r in exported} == {"未审核"}
    items = wb["事项明细"]
    assert items.freeze_panes == "A3"
    closed = [r for r in items.iter_rows(min_row=3, values_only=True) if r[2] == SIGN]
    assert [(r[0], r[6], r[8]) for r in closed] == [("华来人民法庭", "已办结", 100)]
    wb.close()
    _check_csv_via_libreoffice(xlsx, [title, header, *shown_rates], tmp_path)

    # 审核确认 one court's list.
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=HUANREN, exact=True))
    row.get_by_label("审核结论").select_option(label="审核确认")
    row.get_by_placeholder("意见（退回必填）").fill("材料齐全")
    row.get_by_role("button", name="提交").click()
    _flash(page, f"已审核确认“{HUANREN}”的完成清单。")
    expect(page.locator("h1")).to_have_text(f"完成清单：{BX}")
    row = table.locator("tbody tr").filter(has=page.get_by_role("link", name=HUANREN, exact=True))
    expect(row.locator(".badge")).to_have_text("已审核确认")
    expect(row).to_contain_text("省高院强基办")
    expect(row).to_contain_text("材料齐全")

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(table).to_be_visible()
    _shot(page, artifacts_dir, "completion-375.png")
    _no_overflow(page, 375)
    rec.assert_clean()


def _check_csv_via_libreoffice(xlsx: Path, expected: list[list], tmp_path: Path) -> None:
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        if os.environ.get("REQUIRE_LIBREOFFICE", "") == "1":
            pytest.fail("LibreOffice 不可用（REQUIRE_LIBREOFFICE=1）", pytrace=False)
        print("skipped the CSV check: LibreOffice (libreoffice/soffice) not installed")
        return
    out = tmp_path / "csv"
    proc = subprocess.run(
        [
            office,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",  # comma, quote ", UTF-8, from line 1
            "--outdir",
            str(out),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    converted = out / (xlsx.stem + ".csv")
    assert proc.returncode == 0 and converted.exists(), f"libreoffice failed: {proc.stdout} {proc.stderr}"
    with converted.open(encoding="utf-8", newline="") as fh:
        got = [row for row in csv.reader(fh) if any(row)]
    want = [["" if v is None else str(v) for v in r] for r in expected]
    assert got == want


def _fxzy_sees_nothing(new_page, project_url: str, assignment_url: str) -> None:
    rec = _login(new_page, "fxzy")
    page = rec.page
    page.locator("nav").get_by_role("link", name="事项承办", exact=True).click()
    expect(page.locator("h1")).to_have_text("事项承办")
    main = page.locator("main")
    for title in (SIGN, SERVICE, VISIT, PROJECT):
        expect(main).not_to_contain_text(title)
    for url in (assignment_url, project_url):
        rec.goto_expecting(url, 404)
    rec.assert_clean()


# ------------------------------------------------------------------ the test


def test_task_loop(new_page, live_server, artifacts_dir, tmp_path):
    errors_before = len(live_server.errors)

    project_url = _bxzy_creates_and_imports(new_page, artifacts_dir, tmp_path)
    assignment_url = _hlft_signs_and_reports(new_page, artifacts_dir, tmp_path)
    _bxzy_reviews(new_page, assignment_url, "退回", "照片不清楚", "已退回。", "已退回")
    _hlft_reports_again(new_page, artifacts_dir, tmp_path, assignment_url)
    _bxzy_reviews(new_page, assignment_url, "办结", "整改到位", "已办结。", "已办结")
    _lnfy_completion(new_page, artifacts_dir, tmp_path)
    _fxzy_sees_nothing(new_page, project_url, assignment_url)

    assert live_server.errors[errors_before:] == []
