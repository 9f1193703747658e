"""Recording a visit (the page form that edits it) under the optimistic lock: a save from
a page somebody else saved since → the conflict page (409) with the user's text kept and
nothing saved; a save without its version → refused, nothing saved."""

from __future__ import annotations

import re
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.journal import JournalEntry
from app.timeutil import utcnow
from app.visits import services
from app.visits.models import Visit
from tests import factories
from tests.pages import loaded

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


@pytest.fixture(autouse=True)
def march2():
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=True):
        yield


@pytest.fixture
def as_user(app):
    def _as(user):
        c = app.test_client()
        resp = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
        assert resp.status_code == 302
        return c

    return _as


@pytest.fixture
def w(db, tree):
    """inter1's leader planned a visit to trib1 (24–26 Feb, not yet recorded)."""
    u = factories.visit_users(tree)
    visit = factories.visit(
        u.leader,
        tree.inter1,
        [u.leader],
        [tree.trib1],
        start=date(2026, 2, 24),
        end=date(2026, 2, 26),
        now=NOW,
    )
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, visit=visit)


def _state(db) -> tuple:
    db.session.expire_all()
    v = db.session.scalars(select(Visit)).one()
    journal = db.session.scalar(select(func.count()).select_from(JournalEntry))
    return (v.status, v.summary, v.suggestions, v.actual_start, v.version, journal)


MINE = {
    "actual_start": "2026-02-24",
    "actual_end": "2026-02-26",
    "summary": "我记录的走访情况：旁听庭审两次",
    "suggestions": "我的意见建议",
    "solved_on_spot": "",
}


def _someone_else_records(w):
    services.record_visit(
        w.u.assigner,
        w.visit,
        actual_start=date(2026, 2, 24),
        actual_end=date(2026, 2, 25),
        summary="他人记录的走访情况",
        suggestions=None,
        solved_on_spot=None,
        topics=None,
        team=None,
        files=[],
        expected_version=w.visit.version,
        now=utcnow(),
    )


def test_recording_from_a_stale_page_shows_the_conflict_and_saves_nothing(db, w, as_user):
    """The leader opens the record form; the 专班 records first; the leader's save → 409 page
    showing 走访情况 both ways and who recorded it; the 专班's record stays."""
    client = as_user(w.u.leader)
    action = f"/visits/{w.visit.id}/record"
    carried = loaded(client, f"/visits/{w.visit.id}", action)
    _someone_else_records(w)
    db.session.commit()
    before = _state(db)
    resp = client.post(action, data={**MINE, **carried})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    row = re.search(r'<tr class="table-warning" data-field="summary">(.*?)</tr>', html, re.S)
    assert row, html[:3000]
    assert "我记录的走访情况：旁听庭审两次" in row.group(1) and "他人记录的走访情况" in row.group(1)
    assert "他人已修改" in row.group(1)
    assert "甲市中院专班" in html and "您打开页面之后的修改" in html
    assert "我的意见建议" in html
    assert _state(db) == before


def test_recording_without_a_version_is_refused_and_saves_nothing(db, w, as_user):
    """The record form with its version removed: 409 缺少版本号; the visit stays planned."""
    client = as_user(w.u.leader)
    before = _state(db)
    resp = client.post(f"/visits/{w.visit.id}/record", data=MINE)
    assert resp.status_code == 409 and "缺少版本号" in resp.get_data(as_text=True)
    assert _state(db) == before == ("planned", None, None, None, before[4], before[5])


def test_recording_on_the_current_version_saves(db, w, as_user):
    """The same form with the version it was loaded at saves (the lock does not get in the way)."""
    client = as_user(w.u.leader)
    action = f"/visits/{w.visit.id}/record"
    carried = loaded(client, f"/visits/{w.visit.id}", action)
    assert client.post(action, data={**MINE, **carried}).status_code == 302
    assert _state(db)[:2] == ("done", MINE["summary"])
