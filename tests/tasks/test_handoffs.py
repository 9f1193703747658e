"""Every hand-off of an item tells the next person exactly once — in the notification
centre and by e-mail as each prefers — and is a step of the item's 办理记录: a new
assignment, a split to a tribunal, a submission for review, a return or a close, an
extension asked for and decided. The wrong people hear nothing; doing it again (or a
second post of the same form) adds nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders.models import Delivery
from app.tasks import detail, services
from app.tasks.models import Assignment, ExtensionRequest
from app.validation import Forbidden
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai
LATER = NOW + timedelta(days=2)


# ---------------------------------------------------------------- helpers


def notes(db, kind: str | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.rule_id.is_(None))
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def told(db, kind: str) -> dict[int, int]:
    """{recipient id: how many notifications of this kind}."""
    out: dict[int, int] = {}
    for n in notes(db, kind):
        out[n.recipient_id] = out.get(n.recipient_id, 0) + 1
    return out


def actions(db, a: Assignment) -> list[str]:
    """The 办理记录 of an assignment as its page reads it (app/tasks/detail.py)."""
    entries, _ = detail.timeline(a)
    return [e.action for e in entries]


def report(actor, a, *, submit=False, percent=None, text="已按要求推进", now=NOW):
    return services.add_report(
        actor, a, expected_version=a.version, text=text, percent=percent, files=[], submit=submit, now=now
    )


@pytest.fixture
def w(db, tree):
    """inter1's assigner and coordinator; base1 (a coordinator, a staff member and an
    administrator, who works on no item), base2, trib1 and trib2 with their people; an
    item of inter1 (due 2026-06-30) assigned to base1."""
    u = factories.task_users(tree)
    u.inter1_coord = factories.user("jz_llr", tree.inter1, ["coordinator"], display_name="甲市中院联络员")
    u.base1_admin = factories.user("j1_admin", tree.base1, ["admin"], display_name="甲一区系统管理员")
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, task=t, a=a)


def base1_workers(w) -> set[int]:
    return {w.u.base1_coord.id, w.u.base1_staff.id}


def assigning_side(w) -> set[int]:
    """inter1's 专班 and 联络员: who reviews base1's work and decides its extensions."""
    return {w.u.assigner.id, w.u.inter1_coord.id}


# ---------------------------------------------------------------- new assignment


def test_a_new_assignment_tells_the_units_workers_once(db, w):
    """The receiving unit's people who work on items hear of it once each; its
    administrator, the assigning side and other units do not; it is in the 办理记录."""
    assert told(db, "assigned") == dict.fromkeys(base1_workers(w), 1)
    (b2,) = factories.assign(w.u.assigner, w.task, w.t.base2, now=LATER)
    db.session.commit()
    assert told(db, "assigned") == {**dict.fromkeys(base1_workers(w), 1), w.u.base2_coord.id: 1}
    with pytest.raises(ServiceError, match="已经交办给"):
        factories.assign(w.u.assigner, w.task, w.t.base2, now=LATER)
    db.session.rollback()
    assert len(notes(db, "assigned")) == 3
    assert "assignment.create" in actions(db, b2)


def test_hand_off_email_follows_each_persons_preference(db, w):
    """At once, in the day's digest, or not at all — and none for a muted unit."""
    u = w.u
    u.base2_coord.email, u.base2_coord.email_mode = "j2@court.example.cn", "immediate"
    extra = factories.user("j2_gj", w.t.base2, ["staff"], email="j2gj@court.example.cn")
    extra.email_mode = "digest"
    off = factories.user("j2_off", w.t.base2, ["staff"], email="off@court.example.cn")
    off.email_mode = "off"
    factories.user("j2_noaddr", w.t.base2, ["staff"])
    db.session.commit()
    factories.assign(u.assigner, w.task, w.t.base2, now=LATER)
    db.session.commit()
    mails = {
        d.recipient_id: d.mode
        for d in db.session.scalars(
            select(Delivery)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(Notification.kind == "assigned")
        )
    }
    assert mails == {u.base2_coord.id: "immediate", extra.id: "digest"}
    assert len(told(db, "assigned")) == 2 + 4  # everyone is told in the centre


# ---------------------------------------------------------------- split


def _split(w, a, *units, now=LATER, confirmed=False):
    return services.split_assignment(
        w.u.base1_coord, a, list(units), expected_version=a.version, now=now, confirmed=confirmed
    )


def test_a_split_tells_each_tribunal_once_and_is_in_the_record(db, w):
    """The tribunals' heads hear of their part (the link goes to it), nobody else does;
    the base court's 办理记录 says to whom it split; splitting again adds nothing."""
    c1, c2 = _split(w, w.a, w.t.trib1, w.t.trib2)
    db.session.commit()
    split_notes = [n for n in notes(db, "assigned") if n.dedupe_key.startswith("split:")]
    assert {(n.recipient_id, n.subject_id) for n in split_notes} == {
        (w.u.trib1_head.id, c1.id),
        (w.u.trib2_head.id, c2.id),
    }
    assert all(n.subject_type == "Assignment" and "甲一区人民法院分解交办" in n.message for n in split_notes)
    entries, _ = detail.timeline(w.a)
    (step,) = [e for e in entries if e.action == "assignment.split"]
    assert step.after["message"] == "分解给：东山人民法庭、西山人民法庭"
    assert step.actor_id == w.u.base1_coord.id
    with pytest.raises(ServiceError, match="已经分解给"):
        _split(w, w.a, w.t.trib1)
    db.session.rollback()
    assert len([n for n in notes(db, "assigned") if n.dedupe_key.startswith("split:")]) == 2


def test_the_split_step_shows_on_the_page(db, w, login):
    c1, _ = _split(w, w.a, w.t.trib1, w.t.trib2)
    db.session.commit()
    html = login(w.u.base1_coord).get(f"/assignments/{w.a.id}").get_data(as_text=True)
    timeline = html[html.index("办理记录") :]
    assert "分解给：东山人民法庭、西山人民法庭" in timeline
    # named in Chinese, not "assignment.split" (its label: app/templates/_timeline.html)
    assert "<strong>分解到下级单位</strong>" in timeline and "assignment.split" not in timeline


# ---------------------------------------------------------------- submission for review


def test_a_submission_tells_the_assigning_sides_reviewers_once(db, w):
    """base1 submits: inter1's 专班 and 联络员 hear of it, not inter1's staff, not the high
    court, not base1. A report that is not a submission tells nobody."""
    report(w.u.base1_staff, w.a, percent=40)
    assert notes(db, "submitted") == []
    report(w.u.base1_staff, w.a, submit=True, percent=100, now=LATER)
    db.session.commit()
    assert told(db, "submitted") == dict.fromkeys(assigning_side(w), 1)
    (n, *_) = notes(db, "submitted")
    assert (n.subject_type, n.subject_id) == (
        "Assignment",
        w.a.id,
    ) and "【待审核】甲一区人民法院" in n.message
    with pytest.raises(Forbidden):  # submitted: nothing more to submit
        report(w.u.base1_staff, w.a, submit=True, now=LATER)
    db.session.rollback()
    assert len(notes(db, "submitted")) == 2
    assert "assignment.submit" in actions(db, w.a)


def test_a_tribunals_submission_goes_to_the_base_court_that_split_it(db, w):
    c1, _ = _split(w, w.a, w.t.trib1, w.t.trib2)
    report(w.u.trib1_head, c1, submit=True, percent=100, now=LATER)
    db.session.commit()
    assert told(db, "submitted") == {w.u.base1_coord.id: 1}


def test_with_nobody_to_review_in_the_assigning_unit_the_unit_above_hears(db, w):
    w.u.assigner.active = False
    w.u.inter1_coord.active = False
    db.session.commit()
    report(w.u.base1_staff, w.a, submit=True, now=LATER)
    db.session.commit()
    assert told(db, "submitted") == {w.u.high_assigner.id: 1}


def test_a_rectification_answered_tells_its_verifier(db, w):
    leader = factories.user("jz_ld", w.t.inter1, ["leader"])
    db.session.commit()
    r = services.create_rectification(
        w.u.assigner,
        organizer_unit=w.t.inter1,
        verifier=leader,
        unit=w.t.base1,
        description="诉讼服务站点未设置导诉台",
        deadline=date(2026, 4, 30),
        now=NOW,
    )
    report(w.u.base1_coord, r, submit=True, now=LATER)
    db.session.commit()
    assert told(db, "submitted") == {leader.id: 1}
    assert "【待销号】" in notes(db, "submitted")[0].message


# ---------------------------------------------------------------- return and close


def _review(w, a, decision, comment=None, now=LATER):
    return services.review(
        w.u.assigner, a, decision=decision, comment=comment, expected_version=a.version, now=now
    )


def test_return_and_close_tell_the_units_workers_once_each(db, w):
    report(w.u.base1_staff, w.a, submit=True, percent=100)
    _review(w, w.a, "return", "佐证材料不全")
    db.session.commit()
    assert told(db, "returned") == dict.fromkeys(base1_workers(w), 1)
    assert all("佐证材料不全" in n.message for n in notes(db, "returned"))
    with pytest.raises(Forbidden):  # not submitted any more: a second return is refused
        _review(w, w.a, "return", "再退一次")
    db.session.rollback()
    assert len(notes(db, "returned")) == 2
    a = db.session.get(Assignment, w.a.id)
    report(w.u.base1_staff, a, submit=True, now=LATER + timedelta(hours=1))
    _review(w, a, "approve", now=LATER + timedelta(hours=2))
    db.session.commit()
    assert told(db, "closed") == dict.fromkeys(base1_workers(w), 1)
    assert told(db, "submitted") == dict.fromkeys(assigning_side(w), 2)  # two submissions, one each
    steps = actions(db, a)
    assert {"assignment.return", "review.return", "assignment.close", "review.approve"} <= set(steps)


# ---------------------------------------------------------------- extensions


def _ask(w, a, now=LATER):
    return services.request_extension(
        w.u.base1_staff,
        a,
        new_deadline=date(2026, 7, 31),
        reason="汛期施工受阻",
        expected_version=a.version,
        now=now,
    )


def _decide(w, req, grant, comment=None):
    a = db_get(req.assignment_id)
    return services.decide_extension(
        w.u.assigner, req, grant=grant, comment=comment, expected_version=a.version, now=LATER
    )


def db_get(assignment_id: int) -> Assignment:
    from app.extensions import db

    return db.session.get(Assignment, assignment_id)


def test_an_extension_request_and_its_decision_are_told_and_recorded(db, w):
    req = _ask(w, w.a)
    db.session.commit()
    assert told(db, "extension") == dict.fromkeys(assigning_side(w), 1)
    assert "申请将" in notes(db, "extension")[0].message
    with pytest.raises(ServiceError, match="已有一份延期申请"):
        _ask(w, w.a)
    db.session.rollback()
    req = db.session.get(ExtensionRequest, req.id)
    _decide(w, req, grant=False, comment="理由不充分")
    db.session.commit()
    decided = [n for n in notes(db, "extension") if n.dedupe_key.startswith("extension-decided:")]
    assert {n.recipient_id for n in decided} == base1_workers(w) and len(decided) == 2
    assert all("未同意" in n.message and "理由不充分" in n.message for n in decided)
    with pytest.raises(ServiceError, match="已经处理过"):
        _decide(w, req, grant=True)
    db.session.rollback()
    assert len(notes(db, "extension")) == 4
    req2 = _ask(w, db_get(w.a.id))
    _decide(w, req2, grant=True)
    db.session.commit()
    a = db_get(w.a.id)
    assert a.deadline == date(2026, 7, 31)
    granted = [n for n in notes(db, "extension") if n.dedupe_key == f"extension-decided:{req2.id}"]
    assert {n.recipient_id for n in granted} == base1_workers(w)
    assert all("延至 2026-07-31" in n.message for n in granted)
    steps = actions(db, a)
    assert steps.count("extension.request") == 2
    assert {"extension.refused", "extension.granted", "assignment.extend"} <= set(steps)


def test_the_extension_steps_read_in_chinese_on_the_page(db, w, login):
    req = _ask(w, w.a)
    _decide(w, req, grant=False, comment="理由不充分")
    db.session.commit()
    html = login(w.u.base1_staff).get(f"/assignments/{w.a.id}").get_data(as_text=True)
    timeline = html[html.index("办理记录") :]
    assert "申请延期" in timeline and "不同意延期" in timeline and "理由不充分" in timeline
    assert "refused" not in timeline and "pending" not in timeline


def test_a_direct_extension_tells_the_unit(db, w):
    services.extend_directly(
        w.u.assigner,
        w.a,
        new_deadline=date(2026, 8, 31),
        reason="统一顺延",
        expected_version=w.a.version,
        now=LATER,
    )
    db.session.commit()
    assert told(db, "extension") == dict.fromkeys(base1_workers(w), 1)


# ---------------------------------------------------------------- the whole loop on the pages


def test_split_report_return_report_close_through_the_pages(db, w, app):
    """One item through the pages: each step tells the right people exactly once."""

    def as_(user):
        c = app.test_client()
        assert (
            c.post("/login", data={"username": user.username, "password": factories.PASSWORD}).status_code
            == 302
        )
        return c

    base1, head, assigner = as_(w.u.base1_coord), as_(w.u.trib1_head), as_(w.u.assigner)
    url = f"/assignments/{w.a.id}"
    resp = base1.post(url + "/split", data={"version": w.a.version, "unit_ids": [str(w.t.trib1.id)]})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    child = db.session.scalar(select(Assignment).where(Assignment.parent_id == w.a.id))
    assert told(db, "assigned").get(w.u.trib1_head.id) == 1
    curl = f"/assignments/{child.id}"
    data = {"version": child.version, "text": "已完成", "percent": "100", "submit_for_review": "y"}
    assert head.post(curl + "/report", data=data).status_code == 302
    assert told(db, "submitted") == {w.u.base1_coord.id: 1}
    child = db.session.get(Assignment, child.id)
    returning = {"version": child.version, "decision": "return", "comment": "缺照片"}
    assert base1.post(curl + "/review", data=returning).status_code == 302
    # the same form posted twice (a double click): the second is a stale page, not a second return
    assert base1.post(curl + "/review", data=returning).status_code == 409
    assert told(db, "returned") == {w.u.trib1_head.id: 1}
    child = db.session.get(Assignment, child.id)
    data = {"version": child.version, "text": "已补照片", "submit_for_review": "y"}
    assert head.post(curl + "/report", data=data).status_code == 302
    child = db.session.get(Assignment, child.id)
    assert (
        base1.post(curl + "/review", data={"version": child.version, "decision": "approve"}).status_code
        == 302
    )
    assert told(db, "closed") == {w.u.trib1_head.id: 1}
    assert told(db, "submitted") == {w.u.base1_coord.id: 2}
    assert assigner.get(url).status_code == 200
    steps = actions(db, db.session.get(Assignment, child.id))
    for step in ("assignment.create", "assignment.submit", "review.return", "review.approve"):
        assert step in steps
    assert "assignment.split" in actions(db, db.session.get(Assignment, w.a.id))
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.action == "assignment.split")
        )
        == 1
    )
