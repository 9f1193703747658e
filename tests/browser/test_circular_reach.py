"""A month-end circular reaches its courts, in a real browser (issue 12, "done when"):
the high court issues it; every demo account whose court it names (or a court below)
finds it at /circulars, opens it, and the issuing side's read count rises by one each
time; a court it does not name gets 404; the notification leads to the circular."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import authz
from app.extensions import db
from app.org.models import User
from app.reminders import circular
from app.reminders.circular_models import CircularAddressee, CircularRead
from app.reminders.models import Circular
from app.seed.demo import DEMO_PASSWORD, USERS
from app.timeutil import local_today, utcnow

pytestmark = pytest.mark.browser


def _login(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _read_count(page, circular_id: int) -> tuple[int, int]:
    page.goto(f"/circulars/{circular_id}")
    text = page.get_by_test_id("read-count").inner_text()
    read, total = re.search(r"已读 (\d+)/(\d+)", text).groups()
    return int(read), int(total)


def test_an_issued_circular_is_read_by_every_court_it_names(live_server, new_page):
    app = live_server.app
    with app.app_context():
        lnfy = db.session.scalars(select(User).where(User.username == "lnfy")).one()
        c = circular.make_draft(lnfy.unit, circular.default_period(local_today()), utcnow())
        circular.issue_circular(lnfy, c, expected_version=c.version, now=utcnow())
        db.session.commit()
        circular_id, title = c.id, c.title
        named = set(
            db.session.scalars(select(CircularAddressee.unit_id).where(CircularAddressee.circular_id == c.id))
        )
        receipts = set(
            db.session.scalars(select(CircularRead.user_id).where(CircularRead.circular_id == c.id))
        )
        readers, viewers, outsiders = [], [], []
        for username, *_ in USERS:
            user = db.session.scalars(select(User).where(User.username == username)).one()
            if user.unit_id == lnfy.unit_id:
                continue  # the issuing side
            if user.id in receipts:
                readers.append(username)  # told, and counted when they open it
            elif named & authz.visible_unit_ids(user):
                viewers.append(username)  # a court above a named one: may read it
            else:
                outsiders.append(username)
        db.session.remove()
    assert readers and outsiders, (readers, viewers, outsiders)

    rec = new_page()
    page = rec.page
    _login(page, "lnfy")
    read, total = _read_count(page, circular_id)
    assert read == 0 and total > 0
    for username in readers:
        _login(page, username)
        page.goto("/notifications")
        page.get_by_test_id("notifications").get_by_role("link", name=re.compile(re.escape(title))).click()
        expect(page).to_have_url(re.compile(rf"/circulars/{circular_id}$"))
        page.goto("/circulars")
        page.locator("main").get_by_role("link", name=re.compile(re.escape(title))).first.click()
        expect(page.get_by_test_id("circular-body")).to_be_visible()
        _login(page, "lnfy")
        now_read, _ = _read_count(page, circular_id)
        assert now_read > read, f"{username} opened it: 已读 stays {read}"
        read = now_read
    for username in viewers:
        _login(page, username)
        page.goto(f"/circulars/{circular_id}")
        expect(page.get_by_test_id("circular-body")).to_be_visible()
    for username in outsiders:
        _login(page, username)
        rec.goto_expecting(f"/circulars/{circular_id}", 404)
        page.goto("/circulars")
        expect(page.locator("main")).not_to_contain_text(title)
    with app.app_context():
        assert db.session.get(Circular, circular_id).status == "issued"
    rec.assert_clean()
