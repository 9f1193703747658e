"""A checklist claim is a hand-off (issue 12): the verifiers of the unit that applied the
standard are told once per claim — in the notification centre and by e-mail as each
chose — nobody else is, and the claim with who was told is in the item's 办理记录."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.checklists.models import ChecklistEntry
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders.models import Delivery
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def w(db, tree):
    """inter1's assigner applies the test standard to trib1 and trib3. Around them: inter1's
    leader and staff (may verify or not, but are not paged), base1's coordinator (the unit
    between), the high court's reviewer, trib1's and trib2's heads."""
    u = factories.task_users(tree)
    u.leader = factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长")
    t = factories.checklist_template(u.reviewer, now=NOW)
    c1, c3 = factories.apply_checklist(u.assigner, t, tree.trib1, tree.trib3, now=NOW)
    u.assigner.email, u.assigner.email_mode = "jz@court.example", "immediate"
    db.session.commit()
    return SimpleNamespace(u=u, c1=c1, c3=c3)


def _entry(db, checklist, code) -> ChecklistEntry:
    return db.session.scalar(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == checklist.id, ChecklistEntry.code == code)
    )


def _told(db, entry) -> list[tuple[int, str]]:
    return list(
        db.session.execute(
            select(Notification.recipient_id, Notification.kind)
            .where(Notification.subject_type == "ChecklistEntry", Notification.subject_id == entry.id)
            .order_by(Notification.id)
        ).tuples()
    )


def test_a_claim_tells_the_verifiers_once_and_nobody_else(db, w, as_user):
    """trib1's head claims A-2: inter1's assigner (who applied it) gets one notification and
    an immediate e-mail; the leader, the coordinator between, the reviewer, the claimer: none.
    Posting the same page again is a conflict and tells nobody again."""
    entry = _entry(db, w.c1, "A-2")
    head = as_user(w.u.trib1_head)
    form = {"comment": "已设立巡回审判点", "version": entry.version}
    assert head.post(f"/checklists/entries/{entry.id}/claim", data=form).status_code == 302
    assert head.post(f"/checklists/entries/{entry.id}/claim", data=form).status_code == 409
    assert _told(db, entry) == [(w.u.assigner.id, "entry_claimed")]
    (note,) = db.session.scalars(select(Notification).where(Notification.subject_id == entry.id))
    assert w.c1.unit.name in note.message and "A-2" in note.message
    mails = db.session.execute(
        select(Delivery.recipient_id, Delivery.mode).where(Delivery.notification_id == note.id)
    )
    assert mails.all() == [(w.u.assigner.id, "immediate")]

    page = as_user(w.u.assigner).get(f"/notifications/{note.id}/open")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/checklists/{w.c1.id}#e{entry.id}")


def test_each_new_claim_is_told_again(db, w, as_user):
    """Rejected, then claimed again: a second hand-off, a second notification (one each)."""
    entry = _entry(db, w.c1, "A-2")
    head, assigner = as_user(w.u.trib1_head), as_user(w.u.assigner)
    assert (
        head.post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version}).status_code == 302
    )
    db.session.refresh(entry)
    rejected = {"decision": "rejected", "comment": "缺少照片", "version": entry.version}
    assert assigner.post(f"/checklists/entries/{entry.id}/verify", data=rejected).status_code == 302
    db.session.refresh(entry)
    assert (
        head.post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version}).status_code == 302
    )
    assert _told(db, entry) == [(w.u.assigner.id, "entry_claimed")] * 2


def test_the_claim_and_who_was_told_are_in_the_history(db, w, as_user):
    """The journal keeps the claim with the number told; the checklist page shows the entry's 办理记录."""
    entry = _entry(db, w.c1, "A-2")
    as_user(w.u.trib1_head).post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version})
    claim = db.session.scalars(
        select(JournalEntry).where(
            JournalEntry.object_type == "ChecklistEntry",
            JournalEntry.object_id == entry.id,
            JournalEntry.action == "entry.claim",
        )
    ).one()
    assert claim.after["recipients"] == 1 and claim.actor_id == w.u.trib1_head.id
    page = as_user(w.u.assigner).get(f"/checklists/{w.c1.id}").get_data(as_text=True)
    history = page.split('data-testid="entry-history-A-2"')[1].split("</details>")[0]
    assert "填报完成" in history and w.u.trib1_head.display_name in history


def test_with_nobody_left_above_the_unit_above_is_told(db, w, as_user):
    """The assigner who applied it has left: the unit directly above (base2 for trib3) is told."""
    w.u.assigner.active = False
    db.session.commit()
    entry = _entry(db, w.c3, "A-2")
    head = w.u.trib3_head
    assert (
        as_user(head)
        .post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version})
        .status_code
        == 302
    )
    assert _told(db, entry) == [(w.u.base2_coord.id, "entry_claimed")]
