"""The dashboards (issue 6) in a real browser, CSRF on, each person a fresh context:

1. `/` is the role's first screen: the roll-up for the high court (ranking, red list,
   trend charts) and for an intermediate court (review queue, own lights, unvisited
   units, standards); 今日工作 for a tribunal. Both at a desktop and a phone width,
   with a screenshot each, no console error and no request leaving 127.0.0.1. The
   roll-up expands 本溪中院 in place; the 事项总数 figure opens a list of as many
   items; a tribunal's 报告进展 opens the item's report form.
2. 排名 (page and print view) and 趋势 as the high court, at both widths.
3. 工作上墙: an admin sets a display for 本溪中院; the wall — opened without a login —
   rotates its four panels and refreshes its data in place; once the admin revokes
   it, the wall says so at its next refresh. A made-up token is a 404.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.org.models import Unit
from app.seed.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]

HIGH = "辽宁省高级人民法院"
BX = "本溪市中级人民法院"
WHOAMI = {
    "lnfy": f"省高院强基办 · {HIGH}",
    "bxzy": f"本溪中院工作专班 · {BX}",
    "hlft": "华来法庭庭长 · 华来人民法庭",
    "admin": f"系统管理员 · {HIGH}",
}
VIEWPORTS = [(1366, 768), (375, 812)]
VIEWPORT_IDS = ["1366", "375"]

COMMON_PANELS = ["dashboard-title", "key-figures", "kf-total", "kf-overdue", "kf-red", "rollup"]
PANELS = {
    "lnfy": [*COMMON_PANELS, "ranking-panel", "red-panel", "trend-counts", "trend-rate"],
    "bxzy": [*COMMON_PANELS, "review-panel", "lights-panel", "unvisited-panel", "standards-panel"],
    "hlft": ["today-overdue", "today-due-soon", "today-returned", "today-rectifications", "today-gaps"],
}

WALL_PANELS = ["panel-figures", "panel-indicators", "panel-ranking", "panel-red", "panel-trend"]
WALL_WATCH_S = 60  # how long the wall is watched at most
WALL_GONE_S = 15  # how soon after revocation the wall must say so
ASSIGNMENT_HREF = re.compile(r"/assignments/\d+$")


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture(scope="module")
def demo(standard_templates):
    """The live server's demo tree and accounts plus what `flask seed demo` adds: the
    demo project's items (some overdue, some due soon), visits, 五化 checklists and five
    past months of closed monthly reports — dates relative to today, so the dashboards,
    trends and month-on-month ranking changes have something to show."""
    from app.seed.demo import load_demo_checklists, load_demo_history, load_demo_tasks, load_demo_visits
    from app.timeutil import utcnow

    live_server = standard_templates
    with live_server.app.app_context():
        now = utcnow()
        assert load_demo_tasks(now) > 0
        load_demo_visits(now)
        assert load_demo_checklists(now) > 0
        assert load_demo_history(now) > 0
        db.session.commit()
        db.session.remove()
    return live_server


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


def _shot(page, artifacts_dir: Path, name: str) -> None:
    path = artifacts_dir / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    # Nothing wider than the screen: wide tables scroll inside their own box.
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page is {scroll} px wide on a {width} px screen"


def _unit_id(live_server, name: str) -> int:
    with live_server.app.app_context():
        try:
            return db.session.scalar(select(Unit.id).where(Unit.name == name))
        finally:
            db.session.remove()


def _expect_visible(page, testids: list[str]) -> None:
    for testid in testids:
        loc = page.get_by_test_id(testid)
        expect(loc, f"{testid} on {page.url}").to_have_count(1)
        loc.scroll_into_view_if_needed()
        expect(loc, f"{testid} on {page.url}").to_be_visible()


def _rows_in_list(page) -> int:
    """How many items /assignments lists: the pager's total when it pages, else the rows."""
    pager = page.locator("nav[aria-label=分页]")
    if pager.count():
        m = re.search(r"共 (\d+) 条", pager.inner_text())
        assert m, pager.inner_text()
        return int(m.group(1))
    hrefs = page.locator("main table tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('a[href]')).filter(a => a).map(a => a.getAttribute('href'))"
    )
    return sum(1 for h in hrefs if ASSIGNMENT_HREF.search(h))


# ------------------------------------------------------------------ 1. first screens


def _check_rollup_expands(page, live_server) -> None:
    bx = _unit_id(live_server, BX)
    table = page.locator("table#tree[data-testid=rollup]")
    # Only the first level shows at first.
    depth1 = table.locator("tr[data-unit][data-depth='1']")
    assert depth1.count() > 0
    deeper = table.locator("tr[data-unit]:not([data-depth='1'])")
    assert deeper.count() > 0
    for i in range(deeper.count()):
        expect(deeper.nth(i)).to_be_hidden()

    row = table.locator(f"tr[data-unit='{bx}']")
    expect(row).to_have_attribute("data-depth", "1")
    expect(row.locator("th")).to_contain_text(BX)
    children = table.locator(f"tr[data-parent='{bx}']")
    assert children.count() > 0, "本溪中院 has no child rows in the roll-up"
    toggle = row.locator(f"[data-toggle-unit='{bx}']")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for i in range(children.count()):
        expect(children.nth(i)).to_be_visible()
        expect(children.nth(i)).to_have_attribute("data-depth", "2")
    # Collapsing hides them again.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    for i in range(children.count()):
        expect(children.nth(i)).to_be_hidden()


def _check_total_opens_list(page) -> None:
    figure = page.get_by_test_id("kf-total")
    total = int(figure.inner_text().strip())
    assert total > 0, "the demo's items are not counted in 事项总数"
    assert figure.evaluate("e => e.tagName") == "A", f"事项总数 {total} is not a link"
    figure.click()
    expect(page).to_have_url(re.compile(r"/assignments\?"))
    expect(page.locator("h1")).to_have_text("事项承办")
    assert _rows_in_list(page) == total, f"事项总数 says {total}, {page.url} lists {_rows_in_list(page)}"


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=VIEWPORT_IDS)
def test_dashboard_high_court(new_page, live_server, artifacts_dir, width, height):
    errors_before = len(live_server.errors)
    rec = _login(new_page, "lnfy", width, height)
    page = rec.page
    expect(page.get_by_test_id("dashboard-title")).to_have_text(f"{HIGH} · 工作概览")
    phone = width < 576  # a phone gets the last six months in larger type instead
    _expect_visible(page, [p for p in PANELS["lnfy"] if not p.startswith("trend-")])
    for testid in ("trend-counts", "trend-rate"):
        shown, hidden = (
            (f"trend-phone-{testid[6:]}", testid) if phone else (testid, f"trend-phone-{testid[6:]}")
        )
        chart = page.locator(f"svg[data-testid={shown}]")
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        expect(page.locator(f"svg[data-testid={hidden}]")).to_be_hidden()
    assert page.locator("svg.chart").count() >= 2
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, f"dashboard-lnfy-{width}.png")

    _check_rollup_expands(page, live_server)
    _check_total_opens_list(page)
    rec.assert_clean()
    assert live_server.errors[errors_before:] == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=VIEWPORT_IDS)
def test_dashboard_intermediate_court(new_page, live_server, artifacts_dir, width, height):
    errors_before = len(live_server.errors)
    rec = _login(new_page, "bxzy", width, height)
    page = rec.page
    expect(page.get_by_test_id("dashboard-title")).to_have_text(f"{BX} · 工作概览")
    _expect_visible(page, PANELS["bxzy"])
    for testid in ("ranking-panel", "red-panel", "trend-counts"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, f"dashboard-bxzy-{width}.png")

    # Same page as /dashboard.
    resp = page.goto("/dashboard")
    assert resp is not None and resp.status == 200
    expect(page.get_by_test_id("dashboard-title")).to_have_text(f"{BX} · 工作概览")
    rec.assert_clean()
    assert live_server.errors[errors_before:] == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=VIEWPORT_IDS)
def test_today_tribunal(new_page, live_server, artifacts_dir, width, height):
    errors_before = len(live_server.errors)
    rec = _login(new_page, "hlft", width, height)
    page = rec.page
    expect(page.locator("main h1")).to_have_text("今日工作")
    _expect_visible(page, PANELS["hlft"])
    expect(page.get_by_test_id("rollup")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, f"dashboard-hlft-{width}.png")

    report = page.locator("a[data-testid^=report-]")
    assert report.count() > 0, "今日工作 lists nothing for 华来法庭"
    first = report.first
    expect(first).to_have_text("报告进展")
    assignment_id = first.get_attribute("data-testid").removeprefix("report-")
    expect(first).to_have_attribute("href", f"/assignments/{assignment_id}#report")
    first.click()
    expect(page).to_have_url(re.compile(rf"/assignments/{assignment_id}#report$"))
    form = page.locator("#report[data-testid=report-form]")
    expect(form).to_have_count(1)
    expect(form).to_be_visible()
    expect(form).to_be_in_viewport()
    rec.assert_clean()
    assert live_server.errors[errors_before:] == []


# ------------------------------------------------------------------ 2. rankings and trends


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=VIEWPORT_IDS)
def test_rankings_and_trends(new_page, live_server, artifacts_dir, width, height):
    errors_before = len(live_server.errors)
    rec = _login(new_page, "lnfy", width, height)
    page = rec.page

    resp = page.goto("/rankings")
    assert resp is not None and resp.status == 200
    ranking = page.get_by_test_id("ranking")
    expect(ranking).to_be_visible()
    assert ranking.locator("tbody tr[data-unit]").count() > 0, "no intermediate court ranked"
    expect(ranking.locator("tbody")).to_contain_text(BX)
    expect(page.get_by_test_id("red-list")).to_have_count(1)
    page.get_by_test_id("red-list").scroll_into_view_if_needed()
    expect(page.get_by_test_id("red-list")).to_be_visible()
    xlsx = page.get_by_test_id("rankings-xlsx")
    expect(xlsx).to_be_visible()
    expect(xlsx).to_have_attribute("href", re.compile(r"^/rankings\.xlsx\?"))
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, f"rankings-lnfy-{width}.png")

    resp = page.goto("/rankings/print")
    assert resp is not None and resp.status == 200
    expect(page.locator("h1")).to_contain_text("人民法庭建设工作排名（中级人民法院）")
    expect(page.get_by_text(HIGH, exact=True)).to_be_visible()
    expect(page.get_by_test_id("ranking")).to_be_visible()
    expect(page.get_by_test_id("red-list")).to_have_count(1)
    _shot(page, artifacts_dir, f"rankings-print-lnfy-{width}.png")

    resp = page.goto("/trends")
    assert resp is not None and resp.status == 200
    expect(page.locator("main h1")).to_have_text(f"工作趋势 · {HIGH}")
    for testid in ("trend-counts", "trend-rate"):
        if width < 576:
            testid = f"trend-phone-{testid[6:]}"
        chart = page.locator(f"svg[data-testid={testid}]")
        expect(chart).to_have_count(1)
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
    expect(page.get_by_test_id("trend-table").locator("tbody tr")).to_have_count(12)
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, artifacts_dir, f"trends-lnfy-{width}.png")

    rec.assert_clean()
    assert live_server.errors[errors_before:] == []


# ------------------------------------------------------------------ 3. the wall display


def _create_display(admin, live_server, label: str) -> str:
    page = admin.page
    resp = page.goto("/admin/displays")
    assert resp is not None and resp.status == 200
    bx = _unit_id(live_server, BX)
    page.locator("select#unit_id").select_option(value=str(bx))
    page.locator("input#label").fill(label)
    page.get_by_role("button", name="设置显示屏").click()
    expect(page.locator("main > .alert").filter(has_text=f"已为{BX}设置显示屏“{label}”")).to_be_visible()
    url = page.get_by_test_id("new-display-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/wall/[A-Za-z0-9_-]{20,}", url), url
    row = page.get_by_test_id("displays").locator("tbody tr").filter(has_text=label)
    expect(row).to_contain_text(BX)
    expect(row).to_contain_text("使用中")
    return url


def _wall_state(page) -> dict:
    return page.evaluate(
        """() => ({
            panel: document.body.getAttribute('data-panel'),
            refreshed: parseInt(document.body.getAttribute('data-refreshed') || '0', 10),
            shown: Array.from(document.querySelectorAll('section.wall-panel'))
                .filter(s => !s.hidden).map(s => s.getAttribute('data-testid')),
            panels: document.querySelectorAll('section.wall-panel').length,
        })"""
    )


def _open_wall(new_page, url: str, width: int, height: int, artifacts_dir: Path):
    rec = new_page(width, height)  # a fresh context: no session cookie
    page = rec.page
    # Too-fast intervals are clamped to 5 s per panel and 10 s between refreshes.
    resp = page.goto(f"{url.split('?')[0]}?rotate=1&refresh=2")
    assert resp is not None and resp.status == 200, resp and resp.status
    expect(page.locator("body")).to_have_attribute("data-rotate", "5")
    expect(page.locator("body")).to_have_attribute("data-refresh", "10")
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, resp and resp.status
    assert "/login" not in page.url
    expect(page.locator("h1")).to_contain_text(BX)
    expect(page.locator("input[type=password]")).to_have_count(0)
    expect(page.locator("section.wall-panel")).to_have_count(len(WALL_PANELS))
    for testid in WALL_PANELS:
        expect(page.get_by_test_id(testid)).to_have_count(1)
    expect(page.get_by_test_id("panel-figures")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-panel", "0")
    expect(page.get_by_test_id("wall-updated")).to_contain_text("数据更新于")
    _shot(page, artifacts_dir, f"wall-{width}.png")
    return rec


def test_wall_display(new_page, live_server, artifacts_dir):
    errors_before = len(live_server.errors)
    started = time.monotonic()
    label = "诉讼服务大厅电视（浏览器测试）"
    admin = _login(new_page, "admin")
    url = _create_display(admin, live_server, label)
    wall_url = f"{url}?rotate=5&refresh=10"

    walls = {w: _open_wall(new_page, wall_url, w, h, artifacts_dir) for w, h in [(1920, 1080), (375, 812)]}
    seen = {w: [] for w in walls}  # the sequence of distinct panels shown
    shot_panels: set[str] = set()
    deadline = time.monotonic() + WALL_WATCH_S
    while time.monotonic() < deadline:
        done = True
        for width, rec in walls.items():
            state = _wall_state(rec.page)
            assert state["panels"] == len(WALL_PANELS), state
            assert len(state["shown"]) == 1, f"wall at {width}px shows {state['shown']}"
            assert state["shown"][0] == WALL_PANELS[int(state["panel"])], state
            if not seen[width] or seen[width][-1] != state["panel"]:
                seen[width].append(state["panel"])
            if width == 1920 and state["shown"][0] not in shot_panels:
                shot_panels.add(state["shown"][0])
                rec.page.screenshot(path=str(artifacts_dir / f"wall-1920-{state['shown'][0]}.png"))
            changes = len(seen[width]) - 1
            done = (
                done
                and changes >= len(WALL_PANELS)
                and len(set(seen[width])) == len(WALL_PANELS)
                and state["refreshed"] >= 4
            )
        if done:
            break
        walls[1920].page.wait_for_timeout(1000)

    for width, rec in walls.items():
        state = _wall_state(rec.page)
        assert len(seen[width]) - 1 >= 4, f"wall at {width}px changed panel only {len(seen[width]) - 1} times"
        assert set(seen[width]) == {str(i) for i in range(len(WALL_PANELS))}, (
            f"wall at {width}px showed panels {seen[width]}"
        )
        assert state["refreshed"] >= 4, f"wall at {width}px refreshed {state['refreshed']} times"
        expect(rec.page.get_by_test_id("wall-updated")).to_contain_text("数据更新于")
        rec.assert_clean()
    watched = time.monotonic()

    # Revoked by the admin: each wall says so at its next refresh (a 410 it expects).
    for rec in walls.values():
        rec.expected_error_urls.add(wall_url)
    page = admin.page
    page.goto("/admin/displays")
    page.on("dialog", lambda d: d.accept())
    row = page.get_by_test_id("displays").locator("tbody tr").filter(has_text=label)
    row.get_by_role("button", name="停用").click()
    expect(page.locator("main > .alert").filter(has_text=f"显示屏“{label}”已停用")).to_be_visible()
    expect(row).to_contain_text("已停用")
    expect(row.get_by_role("button", name="停用")).to_have_count(0)
    for width, rec in walls.items():
        gone = rec.page.get_by_test_id("wall-gone")
        expect(gone).to_be_visible(timeout=WALL_GONE_S * 1000)
        expect(gone).to_contain_text("停用")
        expect(rec.page.locator("section.wall-panel")).to_have_count(0)
        _shot(rec.page, artifacts_dir, f"wall-revoked-{width}.png")
        rec.assert_clean()
    gone_after = time.monotonic() - watched
    assert gone_after <= WALL_GONE_S + 5, f"the revoked wall took {gone_after:.0f}s to notice"

    # A reload says it too, with a 410; a made-up token is a 404.
    rec = walls[375]
    rec.goto_expecting(wall_url, 410)
    expect(rec.page.get_by_test_id("wall-gone")).to_contain_text("停用")
    rec.goto_expecting("/wall/not-a-real-token-0123456789", 404)
    expect(rec.page.get_by_test_id("wall-gone")).to_contain_text("显示屏地址无效")
    rec.assert_clean()
    admin.assert_clean()
    assert live_server.errors[errors_before:] == []
    assert time.monotonic() - started < 110
