"""Case-quality indicators in a real browser on the demo data (issue 14, "done when"):
`lnfy` sees the province's compliance for a month and the ranking of the base courts at
1366 and 375 px (nothing wider than the screen), the 预警 of the drifting court, and the
published quarterly assessment with its 季度会商; `hlft` reports on the item a decision
of that meeting became."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.seed.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

DRIFTING = "桓仁满族自治县人民法院"
DECISION = "华来人民法庭总结林下参产业纠纷巡回审判经验"
VIEWPORTS = [(1366, 768), (375, 812)]


@pytest.fixture(scope="module")
def demo(standard_templates):
    from app.seed.demo import load_demo_tasks
    from app.seed.demo_indicators import load_demo_indicators
    from app.timeutil import utcnow

    live_server = standard_templates
    with live_server.app.app_context():
        now = utcnow()
        load_demo_tasks(now)
        assert load_demo_indicators(now) > 0
        db.session.commit()
        db.session.remove()
    return live_server


def _login(new_page, username: str, width: int, height: int):
    rec = new_page(width, height)
    page = rec.page
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    return rec


def _shot(page, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / name), full_page=True)
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page is {scroll} px wide on a {width} px screen"


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=["1366", "375"])
def test_the_high_court_sees_compliance_ranking_and_warning(demo, new_page, artifacts_dir, width, height):
    errors_before = len(demo.errors)
    rec = _login(new_page, "lnfy", width, height)
    page = rec.page
    page.goto("/indicators/compliance")
    table = page.get_by_test_id("compliance")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr[data-unit]")
    assert rows.count() == 4  # the province, then its three intermediate courts
    expect(rows.first).to_contain_text("辽宁省高级人民法院（汇总）")
    expect(rows.first.get_by_test_id("rate")).to_contain_text(re.compile(r"\d+\.\d%"))
    _shot(page, artifacts_dir, f"indicators-compliance-lnfy-{width}.png")

    page.goto("/indicators/ranking?level=base")
    ranking = page.get_by_test_id("indicator-ranking")
    expect(ranking).to_be_visible()
    ranked = ranking.locator("tbody tr[data-unit]")
    courts = ranked.count()
    assert courts >= 8
    drifting = ranked.filter(has_text=DRIFTING)
    expect(drifting).to_contain_text("法定审限内结案率")  # the one out of its interval
    first_place = ranked.first.locator("td").first
    expect(first_place).to_have_text("1")
    _shot(page, artifacts_dir, f"indicators-ranking-lnfy-{width}.png")

    page.goto("/indicators/warnings")
    expect(page.get_by_test_id("warnings").locator("tbody")).to_contain_text(DRIFTING)

    page.goto("/assessments")
    page.get_by_test_id("assessments").get_by_role("link", name=re.compile("季度基层法院考评")).click()
    expect(page.get_by_test_id("assessment-status")).to_contain_text("已发布")
    expect(page.get_by_test_id("assessment-results").locator("tbody tr")).to_have_count(courts)
    _shot(page, artifacts_dir, f"assessment-lnfy-{width}.png")
    page.get_by_test_id("meeting-link").click()
    expect(page.get_by_test_id("decisions")).to_contain_text(DECISION)
    _shot(page, artifacts_dir, f"meeting-lnfy-{width}.png")
    rec.assert_clean()
    assert demo.errors[errors_before:] == []


def test_a_tribunal_head_reports_on_a_decision_made_item(demo, new_page, artifacts_dir):
    rec = _login(new_page, "hlft", 375, 812)
    page = rec.page
    page.goto("/assignments?status=open")
    page.get_by_role("link", name=re.compile(DECISION)).first.click()
    expect(page.get_by_test_id("assignment-title")).to_contain_text(DECISION)
    form = page.get_by_test_id("report-form")
    form.get_by_label("进展情况").fill("已整理巡回审判案例 2 件。")
    form.get_by_label("完成百分比").fill("30")
    form.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("main > .alert").filter(has_text="已反馈进度。")).to_be_visible()
    _shot(page, artifacts_dir, "decision-item-hlft-375.png")
    rec.assert_clean()
