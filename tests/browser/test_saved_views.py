"""我的查询 in a real browser (CSRF on), at 1366 and 375 px: a demo user filters
/assignments to the rectifications, saves the view shared with his unit, logs out, logs
in again, finds it in the sidebar (a collapsed block above the list on a phone), opens
it and sees the filter applied; makes it the default and the bare list applies it; the
全部/清除条件 link gives the plain list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login_demo

pytestmark = pytest.mark.browser

USERS = {1366: "bxzy", 375: "hrfy"}  # one person per width: each run starts with no views


def _login(page, username):
    login_demo(page, username)


def _logout(page, width):
    if width < 1200:  # the navbar is collapsed below xl: wait until it has opened
        page.locator(".navbar-toggler").click()
        expect(page.locator("#nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login"))


def _sidebar(page, width):
    if width < 1200:  # on a phone the block above the list starts collapsed
        toggle = page.get_by_test_id("sv-toggle")
        expect(toggle).to_be_visible()
        toggle.click()
    panel = page.locator("#sv-panel")
    expect(panel).to_be_visible()
    return panel


def _kind(page):
    return page.locator("select[name=kind]")


@pytest.mark.parametrize("width", [1366, 375])
def test_save_a_view_find_it_after_login_and_make_it_the_default(new_page, artifacts_dir, width):
    rec = new_page(width, 800 if width > 400 else 740)
    page = rec.page
    name = f"整改事项（{width}）"
    _login(page, USERS[width])

    page.goto("/assignments")
    _kind(page).select_option("rectification")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"kind=rectification"))
    panel = _sidebar(page, width)
    panel.get_by_test_id("sv-name").fill(name)
    panel.get_by_label("共享给本单位").check()
    panel.get_by_test_id("sv-save-button").click()
    expect(page.locator("main > .alert").filter(has_text=f"已保存查询“{name}”")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=rectification.*view=\d+"))

    _logout(page, width)
    _login(page, USERS[width])
    page.goto("/assignments")
    expect(_kind(page)).to_have_value("")  # no default yet: the plain list
    panel = _sidebar(page, width)
    item = panel.get_by_test_id("sv-own-item").filter(has_text=name)
    expect(item.get_by_text("已共享")).to_be_visible()
    item.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"kind=rectification.*view=\d+"))
    expect(_kind(page)).to_have_value("rectification")
    panel = _sidebar(page, width)
    current = panel.locator("a[aria-current=true]")
    expect(current).to_have_text(name)

    panel.get_by_test_id("sv-own-item").filter(has_text=name).get_by_test_id("sv-set-default").click()
    expect(page.locator("main > .alert").filter(has_text="设为默认查询")).to_be_visible()
    page.goto("/assignments")  # bare: the default applies
    expect(page).to_have_url(re.compile(r"kind=rectification.*view=\d+"))
    expect(_kind(page)).to_have_value("rectification")
    panel = _sidebar(page, width)
    expect(
        panel.get_by_test_id("sv-own-item").filter(has_text=name).get_by_text("默认", exact=True)
    ).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"saved-views-assignments-{width}.png"), full_page=True)
    panel.get_by_test_id("sv-clear").click()
    expect(page).to_have_url(re.compile(r"view=0"))
    expect(_kind(page)).to_have_value("")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    rec.assert_clean()
