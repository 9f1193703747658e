"""Claiming (填报) and verifying (核验) a checklist entry under the optimistic lock: a save
from a page somebody else saved since → the conflict page (409) with the typed comment
kept and nothing saved; a save without its version → refused, nothing saved."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.checklists import services
from app.checklists.models import ChecklistEntry
from app.journal import JournalEntry
from app.timeutil import utcnow
from tests import factories
from tests.pages import loaded

NOW = datetime(2026, 3, 2, 2, 0)


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
    """The test standard applied to trib1 by inter1's assigner; trib1 has a second head."""
    u = factories.task_users(tree)
    u.trib1_deputy = factories.user("ds_fz", tree.trib1, ["tribunal_head"], display_name="东山副庭长")
    t = factories.checklist_template(u.reviewer, now=NOW)
    (c1,) = factories.apply_checklist(u.assigner, t, tree.trib1, now=NOW)
    entry = db.session.scalar(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == c1.id, ChecklistEntry.code == "A-2")
    )
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, c1=c1, entry=entry)


def _state(db) -> tuple:
    db.session.expire_all()
    rows = db.session.execute(
        select(ChecklistEntry.id, ChecklistEntry.status, ChecklistEntry.comment, ChecklistEntry.version)
    ).all()
    return ([tuple(r) for r in rows], db.session.scalar(select(func.count()).select_from(JournalEntry)))


def _claimed_by_deputy(w):
    services.claim_entry(
        w.u.trib1_deputy,
        w.entry,
        comment="他人的填报说明",
        files=[],
        expected_version=w.entry.version,
        now=utcnow(),
    )


CASES = {
    "填报": (
        "trib1_head",
        "claim",
        {"comment": "我的填报说明：已设立巡回点"},
        None,
        _claimed_by_deputy,
        "东山副庭长",
    ),
    "核验": (
        "assigner",
        "verify",
        {"decision": "rejected", "comment": "我的驳回理由：照片不清"},
        _claimed_by_deputy,
        lambda w: services.verify_entry(
            w.u.base1_coord,
            w.entry,
            decision="verified",
            comment="他人核验通过",
            expected_version=w.entry.version,
            now=utcnow(),
        ),
        "甲一区联络员",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_stale_entry_save_shows_the_conflict_and_saves_nothing(db, w, as_user, name):
    """Loaded at version v; somebody else saves the entry; the save based on v → 409 page
    with the typed comment, who saved, and the current status; nothing saved."""
    who, verb, data, prepare, other, other_name = CASES[name]
    if prepare:
        prepare(w)
        db.session.commit()
    client = as_user(getattr(w.u, who))
    action = f"/checklists/entries/{w.entry.id}/{verb}"
    carried = loaded(client, f"/checklists/{w.c1.id}", action)
    other(w)
    db.session.commit()
    before = _state(db)
    resp = client.post(action, data={**data, **carried})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html[:2000]
    assert "您提交的" in html and "当前保存的" in html
    assert data["comment"] in html and other_name in html
    assert "您打开页面之后的修改" in html
    assert _state(db) == before


@pytest.mark.parametrize("name", list(CASES))
def test_an_entry_save_without_its_version_is_refused(db, w, as_user, name):
    """The same save with the version removed: 409 缺少版本号, nothing saved."""
    who, verb, data, prepare, _other, _name = CASES[name]
    if prepare:
        prepare(w)
        db.session.commit()
    client = as_user(getattr(w.u, who))
    before = _state(db)
    resp = client.post(f"/checklists/entries/{w.entry.id}/{verb}", data=data)
    assert resp.status_code == 409 and "缺少版本号" in resp.get_data(as_text=True)
    assert _state(db) == before
