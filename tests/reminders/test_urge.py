"""催办单: only overdue items, numbering per unit and year, receipts, access."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders import urge
from app.reminders.models import Delivery, UrgeNotice, UrgeReceipt
from tests import factories

NOW = datetime(2026, 7, 10, 2, 0)  # 10:00 in Shanghai; the default deadline 2026-06-30 is past
FROZEN = NOW.isoformat() + "+00:00"


@pytest.fixture
def world(db, tree):
    """inter1's assigner assigned an overdue item to base1 and base2, and a not yet due one to base1."""
    u = factories.task_users(tree)
    u.base1_coord.email = "llr@example.com"
    u.base1_coord.email_mode = "digest"
    p = factories.project(u.assigner)
    late = factories.task(u.assigner, p, title="选配人民法庭庭长")
    soon = factories.task(u.assigner, p, title="建设诉讼服务站", deadline=date(2026, 8, 31))
    u.late1, u.late2 = factories.assign(u.assigner, late, tree.base1, tree.base2)
    (u.not_due,) = factories.assign(u.assigner, soon, tree.base1)
    db.session.commit()
    return u


def test_send_urge_numbers_receipts_notifications(db, tree, world):
    """One notice: number, a receipt, a notification and an immediate e-mail per recipient."""
    n = urge.send_urge(world.assigner, [world.late1], "请尽快办理", NOW)
    assert n.number == "〔2026〕甲市中院催字第1号"
    receivers = {
        r.user_id for r in db.session.scalars(select(UrgeReceipt).where(UrgeReceipt.notice_id == n.id))
    }
    assert receivers == {world.base1_coord.id, world.base1_staff.id}
    notes = list(db.session.scalars(select(Notification).where(Notification.dedupe_key == f"urge:{n.id}")))
    assert {x.recipient_id for x in notes} == receivers and all(x.kind == "urge" for x in notes)
    assert notes[0].subject_type == "Assignment" and notes[0].subject_id == world.late1.id
    mails = db.session.execute(  # (the assignment's own notice went by e-mail as preferred, too)
        select(Delivery.recipient_id, Delivery.mode)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Notification.kind == "urge")
    ).all()
    assert [tuple(m) for m in mails] == [(world.base1_coord.id, "immediate")]
    assert db.session.scalar(select(JournalEntry).where(JournalEntry.action == "urge.send")).object_id == n.id


def test_numbering_per_unit_and_year(db, tree, world):
    """N counts per sender unit per year."""
    a = urge.send_urge(world.assigner, [world.late1], "一", NOW)
    b = urge.send_urge(world.assigner, [world.late2], "二", NOW)
    c = urge.send_urge(world.high_assigner, [world.late1], "三", NOW)
    d = urge.send_urge(world.assigner, [world.late1], "四", datetime(2027, 1, 5, 2, 0))
    assert [a.seq, b.seq, c.seq, d.seq] == [1, 2, 1, 1]
    assert b.number == "〔2026〕甲市中院催字第2号"
    assert c.number == "〔2026〕测试高院催字第1号"
    assert d.number == "〔2027〕甲市中院催字第1号"


def test_only_overdue_and_all_or_nothing(db, world):
    """A not yet overdue item refuses the whole notice; a receiver may not urge (403)."""
    with pytest.raises(ServiceError) as exc:
        urge.send_urge(world.assigner, [world.late1, world.not_due], "请办理", NOW)
    assert exc.value.status == 400
    db.session.rollback()
    with pytest.raises(ServiceError) as exc:
        urge.send_urge(world.base1_coord, [world.late1], "请办理", NOW)
    assert exc.value.status == 403
    db.session.rollback()
    assert not db.session.scalar(select(UrgeNotice.id))


def test_new_page_lists_only_overdue_urgeable(db, world, login):
    """The compose page offers the overdue items only, prefilled from ?ids."""
    with time_machine.travel(FROZEN, tick=False):
        body = login(world.assigner).get(f"/urge/new?ids={world.late1.id}").get_data(as_text=True)
    assert f'value="{world.late1.id}" id="a-{world.late1.id}" checked' in body
    assert f'value="{world.late2.id}"' in body
    assert f'value="{world.not_due.id}"' not in body


def test_receipts_flow_and_access(db, tree, world, login, client):
    """Sent via the page; unread until the recipient opens it; the sender then sees the
    time; a sibling court's user gets 404 and a receiver may not send (403)."""
    with time_machine.travel(FROZEN, tick=False):
        client.post("/logout")
        login(world.assigner)
        resp = client.post("/urge", data={"ids": [world.late1.id], "message": "请于三日内办结"})
        assert resp.status_code == 302
        n = db.session.scalar(select(UrgeNotice))
        body = client.get(f"/urge/{n.id}").get_data(as_text=True)
        assert n.number in body and "未读" in body and "甲一区联络员" in body
        assert n.number in client.get("/urge").get_data(as_text=True)

        client.post("/logout")
        login(world.base1_coord)
        body = client.get(f"/urge/{n.id}").get_data(as_text=True)
        assert "请于三日内办结" in body and 'data-testid="receipts"' not in body
        assert n.number in client.get("/urge").get_data(as_text=True)
        receipt = db.session.scalar(select(UrgeReceipt).where(UrgeReceipt.user_id == world.base1_coord.id))
        assert receipt.read_at == NOW
        # A receiver is not on the assigning side: refused, nothing saved.
        resp = client.post("/urge", data={"ids": [world.late1.id], "message": "x"})
        assert resp.status_code == 403

        client.post("/logout")
        login(world.assigner)
        body = client.get(f"/urge/{n.id}").get_data(as_text=True)
        assert body.count("未读") == 1  # base1_staff still has not read it

        client.post("/logout")
        login(world.inter2_assigner)
        assert client.get(f"/urge/{n.id}").status_code == 404
        assert n.number not in client.get("/urge").get_data(as_text=True)
    assert db.session.scalar(select(UrgeNotice.id).where(UrgeNotice.id != n.id)) is None
    assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.action == "urge.read"))


def test_create_refuses_not_overdue_via_view(db, world, login, client):
    """Posting a not-yet-due item answers 400 and saves nothing."""
    with time_machine.travel(FROZEN, tick=False):
        client.post("/logout")
        login(world.assigner)
        resp = client.post("/urge", data={"ids": [world.not_due.id], "message": "请办理"})
    assert resp.status_code == 400 and "未逾期" in resp.get_data(as_text=True)
    assert not db.session.scalar(select(UrgeNotice.id))
