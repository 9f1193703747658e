"""日历与甘特图 (issue 15) in a real browser, at a desktop and a phone width: the menu
leads to the calendar; a day with items opens its list; the demo project's Gantt chart
opens from the project page. No console error, no request leaving 127.0.0.1, and the
page never wider than the screen (the chart scrolls inside its own box)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.helpers import login_demo

pytestmark = [pytest.mark.browser]
# Every violation of the Content-Security-Policy (an inline style would be one) is kept.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def demo_items(live_server):
    """The demo project's items (dates relative to today) on the live server."""
    from app.seed.demo import load_demo_tasks
    from app.timeutil import utcnow

    with live_server.app.app_context():
        assert load_demo_tasks(utcnow()) > 0
        db.session.commit()
        db.session.remove()
    return live_server


def _no_overflow(page, name: str) -> None:
    """Nothing wider than the screen, and nothing the CSP refused."""
    assert page.evaluate("window.__csp") == [], name
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page is {scroll} px wide on a {width} px screen"


@pytest.mark.parametrize("width", [1366, 375], ids=["1366", "375"])
def test_calendar_day_and_gantt(demo_items, new_page, artifacts_dir, width):
    rec = new_page(width, 812)
    rec.context.add_init_script(WATCH_CSP)
    page = rec.page
    login_demo(page, "bxzy")

    if width < 1200:  # the menu is folded on a phone
        page.locator(".navbar-toggler").click()
    page.locator("nav.navbar").get_by_role("link", name="日历", exact=True).click()
    expect(page.get_by_test_id("calendar")).to_be_visible()
    expect(page.locator("td[aria-current=date]")).to_have_count(1)
    busy = page.locator("td[data-day] a.cal-link:has([data-count])")
    if busy.count() == 0:  # the demo's dates are relative to today: they may all lie next month
        page.get_by_test_id("next-month").click()
    page.screenshot(path=str(artifacts_dir / f"calendar-{width}.png"), full_page=True)
    _no_overflow(page, "calendar")
    busy.first.click()
    expect(page).to_have_url(re.compile(r"/calendar/\d{4}-\d{2}-\d{2}$"))
    rows = page.locator("[data-testid=day-items] tbody tr[data-assignment]")
    assert rows.count() > 0
    page.screenshot(path=str(artifacts_dir / f"calendar-day-{width}.png"), full_page=True)
    _no_overflow(page, "calendar day")

    page.goto("/projects")
    page.get_by_role("link", name="人民法庭建设攻坚").first.click()
    page.get_by_role("link", name="甘特图").click()
    expect(page).to_have_url(re.compile(r"/projects/\d+/gantt$"))
    # a desktop: names in a column beside the bars; a phone: names above them, no scrolling
    testid, other, box = (
        ("gantt", "gantt-phone", "gantt-scroll") if width >= 768 else ("gantt-phone", "gantt", "gantt-narrow")
    )
    expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id(other)).to_be_hidden()
    chart = f"svg[data-testid={testid}]"
    assert page.locator(f"{chart} g.gantt-row").count() > 0
    assert page.locator(f"{chart} g.gantt-row[data-state=overdue]").count() > 0
    page.screenshot(path=str(artifacts_dir / f"gantt-{width}.png"), full_page=True)
    _no_overflow(page, "gantt")
    assert page.get_by_test_id(box).evaluate("e => e.scrollWidth <= e.clientWidth")
    rec.assert_clean()
