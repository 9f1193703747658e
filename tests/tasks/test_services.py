"""Assignment services: the status machine, derived progress, splits, extensions,
recurring and ongoing items. Time is passed explicitly (`now=`, naive UTC)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, ServiceError
from app.journal import JournalEntry
from app.notifications import Notification
from app.tasks import services
from app.tasks.models import Assignment, ExtensionRequest, ProgressReport
from app.validation import Forbidden
from tests import factories

# 2026-03-02 10:00 in Asia/Shanghai.
NOW = datetime(2026, 3, 2, 2, 0)


def _assignment_version(step_or_request) -> int:
    """Steps and extension requests are edited on their assignment's page, under its version."""
    from app.extensions import db

    return db.session.get(Assignment, step_or_request.assignment_id).version


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _report(actor, a, *, submit=False, percent=None, text="已按要求推进", now=NOW):
    return services.add_report(
        actor, a, expected_version=a.version, text=text, percent=percent, files=[], submit=submit, now=now
    )


@pytest.fixture
def w(db, tree):
    """inter1's assigner assigns one dated item (due 2026-06-30) to base1 and base2."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    a1, a2 = factories.assign(u.assigner, t, tree.base1, tree.base2, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, task=t, a=a1, a2=a2)


@pytest.fixture
def split(db, w):
    """base1's coordinator hands base1's assignment on to trib1 and trib2."""
    c1, c2 = services.split_assignment(
        w.u.base1_coord, w.a, [w.t.trib1, w.t.trib2], expected_version=w.a.version, now=NOW
    )
    db.session.commit()
    w.c1, w.c2 = c1, c2
    return w


# ---------------------------------------------------------------- the status machine


def test_full_lifecycle_pending_to_closed(db, w):
    """pending → in_progress → submitted → returned → submitted → closed, with dates, progress and journal."""
    a, staff, assigner = w.a, w.u.base1_staff, w.u.assigner
    assert (a.status, a.progress, a.deadline, a.original_deadline) == (
        "pending",
        0,
        date(2026, 6, 30),
        date(2026, 6, 30),
    )

    services.acknowledge(staff, a, expected_version=a.version, now=NOW)
    assert a.status == "in_progress"
    assert a.acknowledged_at == NOW
    assert a.responsible_user_id == staff.id

    t1 = NOW + timedelta(days=3)
    report = _report(staff, a, submit=True, percent=90, now=t1)
    assert a.status == "submitted"
    assert a.submitted_at == t1 and a.last_report_at == t1
    assert report.submitted is True and report.percent == 90
    assert a.progress == 90

    services.review(
        assigner,
        a,
        expected_version=a.version,
        decision="return",
        comment="佐证材料不全，请补充照片",
        now=t1 + timedelta(hours=1),
    )
    assert a.status == "returned"
    assert a.closed_at is None and a.closed_on is None
    returned = db.session.scalars(select(Notification).where(Notification.kind == "returned")).all()
    assert {n.recipient_id for n in returned} == {w.u.base1_coord.id, staff.id}
    assert all("佐证材料不全" in n.message for n in returned)

    _report(staff, a, submit=True, text="已补充照片", now=t1 + timedelta(days=1))
    assert a.status == "submitted"

    closing = datetime(2026, 3, 10, 3, 0)
    services.review(assigner, a, expected_version=a.version, decision="approve", comment=None, now=closing)
    db.session.commit()
    db.session.refresh(a)
    assert a.status == "closed"
    assert a.closed_at == closing
    assert a.closed_on == date(2026, 3, 10)
    assert a.progress == 100
    actions = db.session.scalars(
        select(JournalEntry.action)
        .where(JournalEntry.object_type == "Assignment", JournalEntry.object_id == a.id)
        .order_by(JournalEntry.id)
    ).all()
    assert actions == [
        "assignment.create",
        "assignment.acknowledge",
        "assignment.submit",
        "assignment.return",
        "review.return",
        "assignment.submit",
        "assignment.close",
        "review.approve",
    ]


def test_closed_on_is_the_shanghai_date(db, w):
    """Approving at 2026-06-30 17:00 UTC closes on 2026-07-01 local: one day after the deadline."""
    _report(w.u.base1_staff, w.a, submit=True)
    services.review(
        w.u.assigner,
        w.a,
        expected_version=w.a.version,
        decision="approve",
        comment="",
        now=datetime(2026, 6, 30, 17, 0),
    )
    assert w.a.closed_on == date(2026, 7, 1)
    assert w.a.closed_on > w.a.deadline


def test_acknowledge_twice_is_forbidden(db, w):
    """A second 签收 is refused with a 403 error and leaves the first one as it was."""
    services.acknowledge(w.u.base1_staff, w.a, expected_version=w.a.version, now=NOW)
    with pytest.raises(Forbidden) as exc:
        services.acknowledge(w.u.base1_coord, w.a, expected_version=w.a.version, now=NOW + timedelta(hours=1))
    assert exc.value.status == 403
    assert w.a.acknowledged_at == NOW and w.a.responsible_user_id == w.u.base1_staff.id


@pytest.mark.parametrize("decision", ["approve", "return"])
def test_review_when_not_submitted_is_forbidden(db, w, decision):
    """An item still in progress can be neither approved nor returned."""
    services.acknowledge(w.u.base1_staff, w.a, expected_version=w.a.version, now=NOW)
    with pytest.raises(Forbidden):
        services.review(
            w.u.assigner, w.a, expected_version=w.a.version, decision=decision, comment="理由", now=NOW
        )
    assert w.a.status == "in_progress"


@pytest.mark.parametrize("submit", [False, True])
def test_report_after_closed_is_forbidden(db, w, submit):
    """Once closed, neither a progress report nor a new submission is accepted."""
    _report(w.u.base1_staff, w.a, submit=True)
    services.review(
        w.u.assigner, w.a, expected_version=w.a.version, decision="approve", comment=None, now=NOW
    )
    db.session.commit()
    before = _count(db, ProgressReport)
    with pytest.raises(Forbidden):
        _report(w.u.base1_staff, w.a, submit=submit, percent=50)
    db.session.rollback()
    assert _count(db, ProgressReport) == before
    assert db.session.get(Assignment, w.a.id).status == "closed"


def test_report_while_submitted_is_forbidden(db, w):
    """While waiting for review the receiving unit cannot add reports."""
    _report(w.u.base1_staff, w.a, submit=True)
    with pytest.raises(Forbidden):
        _report(w.u.base1_staff, w.a)


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_return_without_a_reason_is_refused(db, w, comment):
    """退回 needs a reason; without one the item stays submitted."""
    _report(w.u.base1_staff, w.a, submit=True)
    with pytest.raises(ServiceError) as exc:
        services.review(
            w.u.assigner, w.a, expected_version=w.a.version, decision="return", comment=comment, now=NOW
        )
    assert not isinstance(exc.value, Forbidden)
    assert "退回理由" in exc.value.message
    assert w.a.status == "submitted"


def test_unknown_review_decision_is_refused(db, w):
    """Only approve and return are decisions."""
    _report(w.u.base1_staff, w.a, submit=True)
    with pytest.raises(ServiceError):
        services.review(
            w.u.assigner, w.a, expected_version=w.a.version, decision="close", comment="x", now=NOW
        )
    assert w.a.status == "submitted"


def test_sibling_tribunal_cannot_report_on_anothers_assignment(db, split):
    """trib2's head cannot report on (or acknowledge) trib1's split assignment; trib1's head can."""
    with pytest.raises(Forbidden):
        _report(split.u.trib2_head, split.c1, percent=50)
    with pytest.raises(Forbidden):
        services.acknowledge(split.u.trib2_head, split.c1, expected_version=split.c1.version, now=NOW)
    assert split.c1.status == "pending"
    _report(split.u.trib1_head, split.c1, percent=50)
    assert split.c1.status == "in_progress"


@pytest.mark.parametrize(
    "who",
    ["inter1_staff", "base1_coord", "base1_staff", "base2_coord", "inter2_assigner"],
)
def test_wrong_people_cannot_review(db, w, who):
    """Only the assigning side's assigners/coordinators review: not staff, not the receiver, not a sibling."""
    _report(w.u.base1_staff, w.a, submit=True)
    with pytest.raises(Forbidden):
        services.review(
            getattr(w.u, who), w.a, expected_version=w.a.version, decision="approve", comment=None, now=NOW
        )
    assert w.a.status == "submitted"


def test_viewer_in_the_receiving_unit_cannot_acknowledge(db, w):
    """A read-only user of the receiving unit cannot 签收."""
    viewer = factories.user("j1_viewer", w.t.base1, ["viewer"])
    with pytest.raises(Forbidden):
        services.acknowledge(viewer, w.a, expected_version=w.a.version, now=NOW)


def test_sibling_base_court_cannot_acknowledge(db, w):
    """base2's coordinator cannot acknowledge base1's assignment."""
    with pytest.raises(Forbidden):
        services.acknowledge(w.u.base2_coord, w.a, expected_version=w.a.version, now=NOW)
    assert w.a.status == "pending"


def test_percent_out_of_range_saves_nothing(db, w):
    """A percent of 130 is refused by the service before any report is written."""
    with pytest.raises(ServiceError) as exc:
        _report(w.u.base1_staff, w.a, percent=130)
    assert exc.value.field == "percent"
    db.session.rollback()
    assert _count(db, ProgressReport) == 0
    assert db.session.get(Assignment, w.a.id).status == "pending"


# ---------------------------------------------------------------- progress


def test_progress_from_ticked_steps(db, w):
    """Ticking 1, then 3 of 4 checklist items gives 25 %, then 75 %; unticking one gives 50 %."""
    staff = w.u.base1_staff
    services.acknowledge(staff, w.a, expected_version=w.a.version, now=NOW)
    steps = [
        services.add_step(
            staff, w.a, expected_version=w.a.version, kind="check", title=f"检查项{i}", due=None, now=NOW
        )
        for i in range(4)
    ]
    assert w.a.progress == 0
    services.toggle_step(
        staff, steps[0], expected_version=_assignment_version(steps[0]), done=True, files=[], now=NOW
    )
    assert w.a.progress == 25
    for s in steps[1:3]:
        services.toggle_step(staff, s, expected_version=_assignment_version(s), done=True, files=[], now=NOW)
    assert w.a.progress == 75
    services.toggle_step(
        staff, steps[1], expected_version=_assignment_version(steps[1]), done=False, files=[], now=NOW
    )
    assert w.a.progress == 50
    # A milestone without a date is refused.
    with pytest.raises(ServiceError):
        services.add_step(
            staff, w.a, expected_version=w.a.version, kind="milestone", title="验收", due=None, now=NOW
        )


def test_explicit_percent_overrides_steps(db, w):
    """A report's percent wins over ticked steps, and stays until another percent is given."""
    staff = w.u.base1_staff
    steps = [
        services.add_step(
            staff, w.a, expected_version=w.a.version, kind="check", title=f"检查项{i}", due=None, now=NOW
        )
        for i in range(2)
    ]
    services.toggle_step(
        staff, steps[0], expected_version=_assignment_version(steps[0]), done=True, files=[], now=NOW
    )
    assert w.a.progress == 50
    _report(staff, w.a, percent=10)
    assert w.a.progress == 10
    services.toggle_step(
        staff, steps[1], expected_version=_assignment_version(steps[1]), done=True, files=[], now=NOW
    )
    assert w.a.progress == 10
    _report(staff, w.a, percent=None, text="继续推进")
    assert w.a.progress == 10
    _report(staff, w.a, percent=80)
    assert w.a.progress == 80


def test_split_children_and_parent_progress(db, split):
    """A split creates one child per tribunal (assigned by base1, same deadline); the parent averages them."""
    parent, c1, c2 = split.a, split.c1, split.c2
    assert parent.status == "in_progress"
    for c, unit in ((c1, split.t.trib1), (c2, split.t.trib2)):
        assert (c.parent_id, c.unit_id, c.assigned_by_unit_id) == (parent.id, unit.id, split.t.base1.id)
        assert (c.status, c.deadline, c.task_id) == ("pending", parent.deadline, parent.task_id)
    _report(split.u.trib1_head, c1, percent=60)
    assert parent.progress == 30
    _report(split.u.trib2_head, c2, percent=20)
    assert parent.progress == 40
    # The parent's own percent no longer counts while it has children.
    _report(split.u.base1_coord, parent, percent=95)
    assert parent.progress == 40


def test_closing_a_child_updates_the_parent_and_parent_waits_for_children(db, split):
    """Approving trib1's child lifts the parent to (100+20)/2; the parent can't be approved until trib2 closes."""
    parent, c1, c2 = split.a, split.c1, split.c2
    _report(split.u.trib2_head, c2, percent=20)
    _report(split.u.trib1_head, c1, submit=True, percent=100)
    services.review(
        split.u.base1_coord, c1, expected_version=c1.version, decision="approve", comment=None, now=NOW
    )
    assert c1.status == "closed" and c1.progress == 100
    assert parent.progress == 60

    _report(split.u.base1_coord, parent, submit=True)
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        services.review(
            split.u.assigner,
            parent,
            expected_version=parent.version,
            decision="approve",
            comment=None,
            now=NOW,
        )
    assert "1 个" in exc.value.message
    db.session.rollback()
    parent = db.session.get(Assignment, parent.id)
    assert parent.status == "submitted"

    # Returning the parent is still possible; then close trib2 and approve.
    services.review(
        split.u.assigner,
        parent,
        expected_version=parent.version,
        decision="return",
        comment="西山法庭未办结",
        now=NOW,
    )
    c2 = db.session.get(Assignment, c2.id)
    _report(split.u.trib2_head, c2, submit=True)
    services.review(
        split.u.base1_coord, c2, expected_version=c2.version, decision="approve", comment=None, now=NOW
    )
    assert parent.progress == 100
    _report(split.u.base1_coord, parent, submit=True)
    services.review(
        split.u.assigner, parent, expected_version=parent.version, decision="approve", comment=None, now=NOW
    )
    assert parent.status == "closed"


def test_split_rules(db, w):
    """Only a coordinator/assigner of the receiving unit splits, only to its own subordinates, once per unit."""
    with pytest.raises(Forbidden):
        services.split_assignment(w.u.base1_staff, w.a, [w.t.trib1], expected_version=w.a.version, now=NOW)
    with pytest.raises(Forbidden):
        services.split_assignment(w.u.base2_coord, w.a, [w.t.trib3], expected_version=w.a.version, now=NOW)
    with pytest.raises(ServiceError):
        services.split_assignment(w.u.base1_coord, w.a, [w.t.trib3], expected_version=w.a.version, now=NOW)
    with pytest.raises(ServiceError):
        services.split_assignment(w.u.base1_coord, w.a, [], expected_version=w.a.version, now=NOW)
    db.session.rollback()
    a = db.session.get(Assignment, w.a.id)
    services.split_assignment(w.u.base1_coord, a, [w.t.trib1], expected_version=a.version, now=NOW)
    with pytest.raises(ServiceError):
        services.split_assignment(w.u.base1_coord, a, [w.t.trib1], expected_version=a.version, now=NOW)
    assert (
        db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.parent_id == a.id))
        == 1
    )


# ---------------------------------------------------------------- extensions


def test_extension_request_and_grant_keep_the_original_deadline(db, w):
    """A request before the deadline for a later date; the grant moves the deadline and keeps the original."""
    req = services.request_extension(
        w.u.base1_staff,
        w.a,
        expected_version=w.a.version,
        new_deadline=date(2026, 7, 31),
        reason="需省院审批",
        now=NOW,
    )
    assert (req.status, req.current_deadline, req.requested_deadline) == (
        "pending",
        date(2026, 6, 30),
        date(2026, 7, 31),
    )
    assert w.a.deadline == date(2026, 6, 30)
    services.decide_extension(
        w.u.assigner, req, expected_version=_assignment_version(req), grant=True, comment=None, now=NOW
    )
    assert req.status == "granted" and req.decided_by_id == w.u.assigner.id
    assert w.a.deadline == date(2026, 7, 31)
    assert w.a.original_deadline == date(2026, 6, 30)
    with pytest.raises(ServiceError):
        services.decide_extension(
            w.u.assigner,
            req,
            expected_version=_assignment_version(req),
            grant=False,
            comment="重复处理",
            now=NOW,
        )


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (datetime(2026, 6, 30, 15, 59), True),  # 23:59 on the deadline day in Shanghai
        (datetime(2026, 6, 30, 16, 0), False),  # 00:00 the day after in Shanghai
        (datetime(2026, 7, 3, 2, 0), False),
    ],
)
def test_extension_only_until_the_deadline_day(db, w, now, allowed):
    """Asking on the deadline day (Shanghai time) is fine; the day after is refused."""
    if allowed:
        req = services.request_extension(
            w.u.base1_staff,
            w.a,
            expected_version=w.a.version,
            new_deadline=date(2026, 7, 31),
            reason="理由",
            now=now,
        )
        assert req.id is not None
    else:
        with pytest.raises(ServiceError) as exc:
            services.request_extension(
                w.u.base1_staff,
                w.a,
                expected_version=w.a.version,
                new_deadline=date(2026, 7, 31),
                reason="理由",
                now=now,
            )
        assert "超过完成时限" in exc.value.message
        assert _count(db, ExtensionRequest) == 0


@pytest.mark.parametrize("new", [None, date(2026, 6, 30), date(2026, 6, 1)])
def test_extension_new_date_must_be_later(db, w, new):
    """The same date, an earlier one or none is refused."""
    with pytest.raises(ServiceError) as exc:
        services.request_extension(
            w.u.base1_staff, w.a, expected_version=w.a.version, new_deadline=new, reason="理由", now=NOW
        )
    assert exc.value.field == "new_deadline"
    assert _count(db, ExtensionRequest) == 0


def test_one_pending_extension_at_a_time(db, w):
    """A second request while one is pending is refused; after a refusal a new one is allowed."""
    req = services.request_extension(
        w.u.base1_staff,
        w.a,
        expected_version=w.a.version,
        new_deadline=date(2026, 7, 31),
        reason="理由一",
        now=NOW,
    )
    with pytest.raises(ServiceError) as exc:
        services.request_extension(
            w.u.base1_coord,
            w.a,
            expected_version=w.a.version,
            new_deadline=date(2026, 8, 31),
            reason="理由二",
            now=NOW,
        )
    assert "等待审批" in exc.value.message
    services.decide_extension(
        w.u.assigner,
        req,
        expected_version=_assignment_version(req),
        grant=False,
        comment="时间充足，不予延期",
        now=NOW,
    )
    assert req.status == "refused" and req.comment == "时间充足，不予延期"
    assert w.a.deadline == date(2026, 6, 30)
    again = services.request_extension(
        w.u.base1_coord,
        w.a,
        expected_version=w.a.version,
        new_deadline=date(2026, 8, 31),
        reason="理由二",
        now=NOW,
    )
    assert again.status == "pending"


@pytest.mark.parametrize("comment", [None, "", "  "])
def test_refusing_an_extension_requires_a_comment(db, w, comment):
    """不同意 without 审批意见 is refused (and rolled back by the caller, the request stays pending)."""
    req = services.request_extension(
        w.u.base1_staff,
        w.a,
        expected_version=w.a.version,
        new_deadline=date(2026, 7, 31),
        reason="理由",
        now=NOW,
    )
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        services.decide_extension(
            w.u.assigner,
            req,
            expected_version=_assignment_version(req),
            grant=False,
            comment=comment,
            now=NOW,
        )
    assert "审批意见" in exc.value.message
    db.session.rollback()
    assert db.session.get(ExtensionRequest, req.id).status == "pending"


def test_extension_sides(db, w):
    """The assigning side cannot ask for an extension; the receiving side cannot decide one."""
    with pytest.raises(Forbidden):
        services.request_extension(
            w.u.assigner,
            w.a,
            expected_version=w.a.version,
            new_deadline=date(2026, 7, 31),
            reason="理由",
            now=NOW,
        )
    req = services.request_extension(
        w.u.base1_staff,
        w.a,
        expected_version=w.a.version,
        new_deadline=date(2026, 7, 31),
        reason="理由",
        now=NOW,
    )
    for who in (w.u.base1_coord, w.u.base2_coord, w.u.inter1_staff):
        with pytest.raises(Forbidden):
            services.decide_extension(
                who, req, expected_version=_assignment_version(req), grant=True, comment=None, now=NOW
            )
    assert req.status == "pending" and w.a.deadline == date(2026, 6, 30)


# ---------------------------------------------------------------- recurring and ongoing items


def test_monthly_item_one_assignment_per_month_due_at_month_end(db, tree):
    """A monthly item in a Jan–Jun 2028 project: six assignments per unit, each due on its month's last day."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, start=date(2028, 1, 1), end=date(2028, 6, 30), now=NOW)
    t = factories.task(
        u.assigner, p, title="每月报送调解数据", deadline_kind="recurring", recurrence="monthly", now=NOW
    )
    created = factories.assign(u.assigner, t, tree.base1, now=NOW)
    assert [(a.period_label, a.deadline) for a in created] == [
        ("2028年1月", date(2028, 1, 31)),
        ("2028年2月", date(2028, 2, 29)),
        ("2028年3月", date(2028, 3, 31)),
        ("2028年4月", date(2028, 4, 30)),
        ("2028年5月", date(2028, 5, 31)),
        ("2028年6月", date(2028, 6, 30)),
    ]
    assert all(a.unit_id == tree.base1.id and a.original_deadline == a.deadline for a in created)
    assert t.deadline is None and t.deadline_label == "每月"


def test_monthly_item_assigned_mid_project_starts_at_the_current_month(db, tree):
    """Assigned on 2026-03-15 in a 2026 H1 project: March to June only, each period split keeps its label."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, start=date(2026, 1, 1), end=date(2026, 6, 30), now=NOW)
    t = factories.task(u.assigner, p, deadline_kind="recurring", recurrence="monthly", now=NOW)
    created = factories.assign(u.assigner, t, tree.base1, now=datetime(2026, 3, 15, 2, 0))
    assert [a.deadline for a in created] == [
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
    ]
    (child,) = services.split_assignment(
        u.base1_coord, created[1], [tree.trib1], expected_version=created[1].version, now=NOW
    )
    assert (child.period_label, child.deadline) == ("2026年4月", date(2026, 4, 30))


def test_quarterly_item_due_at_quarter_ends(db, tree):
    """A quarterly item in a 2026 project has four periods due 3-31, 6-30, 9-30 and 12-31."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=datetime(2025, 12, 1))
    t = factories.task(u.assigner, p, deadline_kind="recurring", recurrence="quarterly", now=NOW)
    created = factories.assign(u.assigner, t, tree.base2, now=datetime(2025, 12, 1))
    assert [(a.period_label, a.deadline) for a in created] == [
        ("2026年第1季度", date(2026, 3, 31)),
        ("2026年第2季度", date(2026, 6, 30)),
        ("2026年第3季度", date(2026, 9, 30)),
        ("2026年第4季度", date(2026, 12, 31)),
    ]


def test_ongoing_item_next_report_deadline_moves_with_each_report(db, tree):
    """长期坚持 (quarterly): first due three months after assignment; each report moves it three months on."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, title="开展千人解万纷活动", deadline_kind="ongoing", now=NOW)
    assert t.report_every == "quarterly"
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    assert (a.period_label, a.deadline) == ("", date(2026, 6, 2))
    _report(u.base1_staff, a, now=datetime(2026, 4, 9, 17, 0))  # 2026-04-10 01:00 in Shanghai
    assert a.deadline == date(2026, 7, 10)
    assert a.original_deadline == date(2026, 6, 2)
    assert a.status == "in_progress"


def test_ongoing_monthly_item_clamps_to_month_end(db, tree):
    """A monthly-reporting ongoing item assigned on 2026-01-31 is next due 2026-02-28."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline_kind="ongoing", report_every="monthly", now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=datetime(2026, 1, 31, 2, 0))
    assert a.deadline == date(2026, 2, 28)


# ---------------------------------------------------------------- items and assigning


def test_assigning_outside_the_subtree_or_twice_is_refused(db, w):
    """inter1 cannot assign to inter2's base court or to itself, nor assign the same unit twice."""
    for unit in (w.t.base3, w.t.inter2, w.t.inter1):
        with pytest.raises(ServiceError):
            factories.assign(w.u.assigner, w.task, unit, now=NOW)
    with pytest.raises(ServiceError) as exc:
        factories.assign(w.u.assigner, w.task, w.t.base1, now=NOW)
    assert "已经交办" in exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 2


def test_deadline_before_project_start_is_refused(db, w):
    """An item due before its project starts is refused, naming the field."""
    with pytest.raises(ServiceError) as exc:
        factories.task(w.u.assigner, w.p, title="过早的事项", deadline=date(2025, 12, 31), now=NOW)
    assert exc.value.field == "deadline"


def _edit_kwargs(task, **over):
    kw = dict(
        title=task.title,
        requirements=task.requirements,
        category=None,
        lead_leader=None,
        cooperators=[],
        priority="normal",
        deadline_kind="date",
        deadline=task.deadline,
        recurrence=None,
        report_every=None,
        notes=None,
        expected_version=task.version,
        now=NOW,
    )
    kw.update(over)
    return kw


def test_task_deadline_change_moves_open_assignments_only(db, w):
    """A new item deadline moves open assignments still on the old one; closed and extended ones keep theirs."""
    _report(w.u.base2_coord, w.a2, submit=True)
    services.review(
        w.u.assigner, w.a2, expected_version=w.a2.version, decision="approve", comment=None, now=NOW
    )
    services.update_task(w.u.assigner, w.task, **_edit_kwargs(w.task, deadline=date(2026, 9, 30)))
    assert w.a.deadline == date(2026, 9, 30)
    assert w.a2.deadline == date(2026, 6, 30)


def test_stale_task_edit_is_a_conflict(db, w):
    """Saving an item from a stale copy raises Conflict (409)."""
    stale = w.task.version
    services.update_task(w.u.assigner, w.task, **_edit_kwargs(w.task, title="新名称"))
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.update_task(
            w.u.assigner,
            w.task,
            **_edit_kwargs(w.task, title="另一个名称", expected_version=stale),
        )
    assert exc.value.status == 409
