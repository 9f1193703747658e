"""Steps several browser tests share."""

from __future__ import annotations

from typing import Any


def login_demo(page: Any, username: str, password: str | None = None) -> None:
    """Log a page in through the login form as a demo account and wait for the home page."""
    import re

    from playwright.sync_api import expect

    from app.seed.demo import DEMO_PASSWORD

    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password or DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
