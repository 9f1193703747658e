"""A rectification's hand-offs (issue 12), each told exactly once and to nobody else, and
each in the item's 办理记录: answered → its verifier; 销号 / 退回 → the unit. Its page
links back to the visit and its review form says 销号, as the visit does."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders.models import Delivery
from app.tasks.models import Assignment
from app.visits import services
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # naive UTC = 2026-03-02 10:00 in Shanghai


@pytest.fixture(autouse=True)
def march2():
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=False):
        yield


@pytest.fixture
def w(db, tree):
    """inter1's leader visited trib1 and trib2 and found a problem at trib1, which he
    verifies. trib1 has a second person (staff); trib2's head looks on."""
    u = factories.visit_users(tree)
    u.trib1_staff = factories.user("ds_gj", tree.trib1, ["staff"], display_name="东山干警")
    u.trib2_head = factories.user("xs_tz", tree.trib2, ["tribunal_head"], display_name="西山庭长")
    u.leader.email, u.leader.email_mode = "jz_ld@court.example", "immediate"
    u.head.email, u.head.email_mode = "ds@court.example", "digest"
    visit = factories.visit(u.leader, tree.inter1, [u.leader, u.leader2], [tree.trib1, tree.trib2], now=NOW)
    finding = services.add_finding(
        u.leader,
        visit,
        unit=tree.trib1,
        description="诉讼服务站未配备自助设备",
        deadline=date(2026, 4, 30),
        verifier=u.leader,
        now=NOW,
    )
    db.session.commit()
    a = services.rectification_of(finding)
    return SimpleNamespace(t=tree, u=u, visit=visit, a=a)


def _told(db, a: Assignment, kind: str) -> list[int]:
    return sorted(
        db.session.scalars(
            select(Notification.recipient_id).where(
                Notification.subject_type == "Assignment",
                Notification.subject_id == a.id,
                Notification.kind == kind,
            )
        )
    )


def _answer(db, w, client) -> None:
    db.session.refresh(w.a)
    resp = client.post(
        f"/assignments/{w.a.id}/report",
        data={"text": "自助设备已配齐并投入使用。", "submit_for_review": "y", "version": w.a.version},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _review(db, w, client, decision: str, comment: str = "") -> None:
    db.session.refresh(w.a)
    resp = client.post(
        f"/assignments/{w.a.id}/review",
        data={"decision": decision, "comment": comment, "version": w.a.version},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _actions(db, a: Assignment) -> list[str]:
    return list(
        db.session.scalars(
            select(JournalEntry.action)
            .where(JournalEntry.object_type == "Assignment", JournalEntry.object_id == a.id)
            .order_by(JournalEntry.id)
        )
    )


def test_answered_tells_the_verifier_once_and_nobody_else(db, w, as_user):
    """trib1's head answers: the verifying leader alone is told (and e-mailed at once, as he
    chose) — not the other leader of the visit, nor the leaders above, nor anyone of trib1."""
    _answer(db, w, as_user(w.u.head))
    assert _told(db, w.a, "submitted") == [w.u.leader.id]
    note = db.session.scalar(select(Notification).where(Notification.kind == "submitted"))
    assert "销号" in note.message
    assert db.session.execute(
        select(Delivery.recipient_id, Delivery.mode).where(Delivery.notification_id == note.id)
    ).all() == [(w.u.leader.id, "immediate")]
    assert "assignment.submit" in _actions(db, w.a)


def test_closing_tells_the_unit_once(db, w, as_user):
    """销号 by the verifier: trib1's people are told once, in words of 销号; nobody else."""
    _answer(db, w, as_user(w.u.head))
    _review(db, w, as_user(w.u.leader), "approve")
    assert _told(db, w.a, "closed") == sorted([w.u.head.id, w.u.trib1_staff.id])
    notes = db.session.scalars(select(Notification).where(Notification.kind == "closed")).all()
    assert all("销号" in n.message and "办结" not in n.message for n in notes)
    assert "review.approve" in _actions(db, w.a)
    head_mail = select(Delivery.mode).where(Delivery.recipient_id == w.u.head.id)
    assert list(
        db.session.scalars(
            head_mail.join(Notification, Notification.id == Delivery.notification_id).where(
                Notification.kind == "closed"
            )
        )
    ) == ["digest"]


def test_a_return_and_a_second_answer_are_each_told_once(db, w, as_user):
    """退回 → trib1's people once; answered again → the verifier a second time (one per answer)."""
    head, leader = as_user(w.u.head), as_user(w.u.leader)
    _answer(db, w, head)
    _review(db, w, leader, "return", "照片不清晰，请补充。")
    assert _told(db, w.a, "returned") == sorted([w.u.head.id, w.u.trib1_staff.id])
    _answer(db, w, head)
    assert _told(db, w.a, "submitted") == [w.u.leader.id, w.u.leader.id]
    told = {
        uid
        for uid in db.session.scalars(
            select(Notification.recipient_id).where(
                Notification.subject_id == w.a.id, Notification.kind.in_(("submitted", "returned", "closed"))
            )
        )
    }
    assert told == {w.u.leader.id, w.u.head.id, w.u.trib1_staff.id}
    assert w.u.trib2_head.id not in told and w.u.leader2.id not in told
    assert _actions(db, w.a).count("assignment.submit") == 2 and "review.return" in _actions(db, w.a)


def test_the_rectification_page_links_back_and_says_xiaohao(db, w, as_user):
    """The page names and links its visit; the verifier's review form offers 销号, not 办结."""
    _answer(db, w, as_user(w.u.head))
    page = as_user(w.u.leader).get(f"/assignments/{w.a.id}").get_data(as_text=True)
    assert f'href="/visits/{w.visit.id}"' in page and w.visit.title in page
    form = page.split('data-testid="review-form"')[1].split("</form>")[0]
    assert "销号" in form and "办结" not in form
