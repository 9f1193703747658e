"""月末通报: the draft's ranking and red list, saving with a stale copy, issuing, Word."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import time_machine
from docx import Document
from sqlalchemy import func, select

from app.background.runner import run_pending
from app.reminders import circular
from app.reminders.models import Circular
from app.timeutil import TZ
from tests import factories

NOW = datetime(2026, 10, 31, 9, 0)  # 17:00 on 31 October in Shanghai


@pytest.fixture
def fixture(db, tree):
    """Items due in October: base3 all on time, base1 one on time and one overdue, base2
    one closed late; plus base2's September item still open (red list only)."""
    u = factories.task_users(tree)
    p = factories.project(u.high_assigner)
    t1 = factories.task(u.high_assigner, p, "选配人民法庭庭长", deadline=date(2026, 10, 10))
    t2 = factories.task(u.high_assigner, p, "完善诉讼服务站", deadline=date(2026, 10, 20))
    t3 = factories.task(u.high_assigner, p, "法庭装修改造", deadline=date(2026, 9, 15))
    a1 = {a.unit_id: a for a in factories.assign(u.high_assigner, t1, tree.base1, tree.base2, tree.base3)}
    a2 = {a.unit_id: a for a in factories.assign(u.high_assigner, t2, tree.base1, tree.base3)}
    factories.assign(u.high_assigner, t3, tree.base2)
    for a, closed in (
        (a1[tree.base1.id], date(2026, 10, 9)),
        (a1[tree.base2.id], date(2026, 10, 15)),
        (a1[tree.base3.id], date(2026, 10, 10)),
        (a2[tree.base3.id], date(2026, 10, 18)),
    ):
        a.status, a.closed_on = "closed", closed
    db.session.commit()
    return u


def test_draft_ranks_courts_and_lists_longest_overdue(app, db, tree, fixture):
    """Ranking by on-time rate then overdue count; red list oldest first; idempotent."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    base = [(r["unit"], r["rate"], r["overdue"]) for r in c.data["ranking"]["base"]]
    assert base == [
        (tree.base3.name, 1.0, 0),
        (tree.base1.name, 0.5, 1),
        (tree.base2.name, 0.0, 0),
    ]
    inter = [(r["unit"], r["rate"], r["total"]) for r in c.data["ranking"]["intermediate"]]
    assert inter == [(tree.inter2.name, 1.0, 2), (tree.inter1.name, 0.3333, 3)]
    assert [(r["unit"], r["days"]) for r in c.data["red_list"]] == [
        (tree.base2.name, 46),
        (tree.base1.name, 11),
    ]
    assert c.status == "draft" and c.title == "关于2026年10月人民法庭建设工作情况的通报"
    assert tree.base3.name in c.body

    c.body = "审核人改过的正文"
    db.session.commit()
    again = circular.make_draft(tree.high, "2026-10", NOW)
    assert again.id == c.id and again.body == "审核人改过的正文"
    assert db.session.scalar(select(func.count()).select_from(Circular)) == 1


def test_pages_save_conflict_issue_and_docx(app, db, client, login, tree, fixture):
    """Reviewer edits (a stale copy → 409), issues (then read-only), downloads Word."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    login(fixture.reviewer)
    assert "关于2026年10月" in client.get("/circulars").get_data(as_text=True)
    page = client.get(f"/circulars/{c.id}").get_data(as_text=True)
    assert tree.base3.name in page and "逾期事项红榜" in page and "<textarea" in page

    ok = client.post(f"/circulars/{c.id}", data={"title": c.title, "body": "新正文", "version": c.version})
    assert ok.status_code == 302
    stale = client.post(f"/circulars/{c.id}", data={"title": c.title, "body": "旧稿", "version": 1})
    assert stale.status_code == 409
    db.session.refresh(c)
    assert c.body == "新正文"

    assert client.post(f"/circulars/{c.id}/issue", data={"version": c.version}).status_code == 302
    db.session.refresh(c)
    assert c.status == "issued" and c.issued_by_id == fixture.reviewer.id and c.issued_at
    page = client.get(f"/circulars/{c.id}").get_data(as_text=True)
    assert "<textarea" not in page
    locked = client.post(f"/circulars/{c.id}", data={"title": c.title, "body": "再改", "version": c.version})
    assert locked.status_code == 400

    resp = client.get(f"/circulars/{c.id}.docx")
    assert resp.status_code == 200
    doc = Document(io.BytesIO(resp.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert c.title in text and "新正文" in text
    assert len(doc.tables) == 3
    assert doc.tables[2].rows[1].cells[2].text == tree.base2.name
    assert round(doc.sections[0].page_width.mm) == 210


def test_only_reviewers_and_draft_now(app, db, client, login, tree, fixture):
    """Others get 403 on a draft (and do not see it listed); a reviewer can draft last month's circular on demand: a background
    job (run here as the scheduler would) whose page then links to the draft."""
    c = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    login(fixture.high_assigner)
    listing = client.get("/circulars")  # the list is everyone's; a draft is the reviewers' alone
    assert listing.status_code == 200 and c.title not in listing.get_data(as_text=True)
    assert client.get(f"/circulars/{c.id}").status_code == 403
    client.post("/logout")
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=TZ), tick=False):
        login(fixture.reviewer)  # in the travelled time: an older session would have expired
        resp = client.post("/circulars/draft")
        assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
        assert [state for _, state in run_pending(app)] == ["done"]
        job = client.get(resp.headers["Location"] + ".json").get_json()
    made = db.session.scalar(select(Circular).where(Circular.period == "2026-11"))
    assert made is not None and made.status == "draft" and made.unit_id == tree.high.id
    assert job["link_url"].endswith(f"/circulars/{made.id}")
