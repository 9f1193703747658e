"""The tribunal head's day, in a real browser: log in, see the home page, be kept
out of the admin pages, log out — on a desktop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.seed.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

UNIT = "华来人民法庭"
LOGIN_URL = re.compile(r"/login(\?.*)?$")


def _url(live_server, path: str) -> str:
    return live_server.url + path


def _login(rec, live_server, username: str = "hlft", password: str = DEMO_PASSWORD) -> None:
    page = rec.page
    resp = page.goto("/login")
    assert resp is not None and resp.status == 200
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(_url(live_server, "/"))
    expect(page.get_by_test_id("whoami")).to_contain_text(UNIT)
    expect(page.get_by_test_id("my-unit")).to_contain_text(UNIT)


def _logout(rec, live_server, *, collapsed: bool) -> None:
    page = rec.page
    page.goto("/")
    logout = page.locator("nav").get_by_role("button", name="退出", exact=True)
    toggler = page.locator(".navbar-toggler")
    if collapsed:
        # Narrow screens: the navbar is folded away behind the toggler.
        expect(toggler).to_be_visible()
        expect(logout).to_be_hidden()
    else:
        expect(toggler).to_be_hidden()
    if not logout.is_visible():
        toggler.click()
        expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(logout).to_be_visible()
    logout.click()
    expect(page).to_have_url(_url(live_server, "/login"))
    expect(page.get_by_role("alert")).to_contain_text("您已安全退出")


@pytest.mark.parametrize(
    ("width", "height"),
    [(1366, 768), (375, 812)],
    ids=["desktop-1366", "phone-375"],
)
def test_login_flow(new_page, live_server, artifacts_dir, width, height):
    rec = new_page(width, height)
    page = rec.page

    _login(rec, live_server)
    shot = artifacts_dir / f"hlft-home-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    # Nothing on the home page may be wider than the screen.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide at a {width}px viewport"

    for path in ("/admin/units", "/admin/users"):
        rec.goto_expecting(path, 403)
        expect(page.locator("body")).to_contain_text("您没有权限")

    _logout(rec, live_server, collapsed=width < 992)

    resp = page.goto("/")
    assert resp is not None and resp.status == 200
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator("#username")).to_be_visible()

    rec.assert_clean()
    assert live_server.errors == []


def test_logout_ends_session_on_server(new_page, live_server):
    first = new_page()
    _login(first, live_server)
    cookies = [c for c in first.context.cookies() if c["name"] == "session"]
    assert len(cookies) == 1, f"expected one session cookie, got {first.context.cookies()}"

    # The copied cookie is a working login while the session lasts ...
    before = new_page(cookies=cookies)
    before.page.goto("/")
    expect(before.page).to_have_url(_url(live_server, "/"))
    expect(before.page.get_by_test_id("whoami")).to_contain_text(UNIT)

    _logout(first, live_server, collapsed=False)

    # ... and is worthless once its owner has logged out: the server forgot it.
    after = new_page(cookies=cookies)
    after.page.goto("/")
    expect(after.page).to_have_url(LOGIN_URL)
    expect(after.page.locator("#username")).to_be_visible()

    for rec in (first, before, after):
        rec.assert_clean()
    assert live_server.errors == []
