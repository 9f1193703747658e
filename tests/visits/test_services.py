"""Visit services: plan → record, findings → rectification assignments and who may
close them (销号), pairings, and the coverage report. Time is passed in (`now=`)."""

from __future__ import annotations

import io
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.attachments import Attachment
from app.errors import Conflict, ServiceError
from app.journal import JournalEntry
from app.tasks import services as task_services
from app.tasks.models import Assignment, Task
from app.validation import Forbidden
from app.visits import queries, services
from app.visits.models import Finding, Pairing, Visit
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Asia/Shanghai
TODAY = date(2026, 3, 2)


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 30)).save(out, "PNG")
    return out.getvalue()


def _record(actor, visit, **over):
    kw = dict(
        actual_start=date(2026, 2, 24),
        actual_end=date(2026, 2, 26),
        summary="听取汇报，旁听庭审，查阅卷宗。",
        suggestions="加强诉源治理。",
        solved_on_spot="协调解决法庭车辆调配问题。",
        topics=None,
        team=None,
        files=[],
        expected_version=visit.version,
        now=NOW,
    )
    kw.update(over)
    return services.record_visit(actor, visit, **kw)


@pytest.fixture
def v(db, tree):
    """inter1's leader plans a visit to trib1 and trib2 (2026-03-10)."""
    u = factories.visit_users(tree)
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1, tree.trib2], now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, visit=visit)


# ---------------------------------------------------------------- plan


def test_create_visit_plans_with_leaders_targets_and_journal(db, v):
    """A planned visit keeps its kind, leaders and targets and is journaled."""
    visit = db.session.get(Visit, v.visit.id)
    assert visit.status == "planned" and visit.kind.name == "调研走访"
    assert [lead.user_id for lead in visit.leaders] == [v.u.leader.id]
    assert {t.unit_id for t in visit.targets} == {v.t.trib1.id, v.t.trib2.id}
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "visit.create"))
    assert entry.object_id == visit.id and entry.after["targets"] == sorted([v.t.trib1.id, v.t.trib2.id])


@pytest.mark.parametrize(
    "over, message",
    [
        (lambda t, u: {"targets": [t.base3]}, "不在组织单位“甲市中级人民法院”的下级范围内"),
        (lambda t, u: {"targets": [t.inter1]}, "不在组织单位"),
        (lambda t, u: {"targets": []}, "请选择至少一个走访对象单位"),
        (lambda t, u: {"leaders": []}, "请选择至少一名带队领导"),
        (lambda t, u: {"leaders": [u.assigner]}, "不是院领导"),
        (lambda t, u: {"leaders": [u.other_leader]}, "或其上级单位的领导"),
        (lambda t, u: {"start": date(2026, 3, 12), "end": date(2026, 3, 10)}, "结束日期不能早于开始日期"),
        (lambda t, u: {"title": "  "}, "请填写走访主题"),
    ],
)
def test_create_visit_bad_input_is_refused_and_nothing_saved(db, tree, over, message):
    """Out-of-subtree targets, the organiser itself, no one to lead, a non-leader, a
    sibling court's leader, end before start, no title: a Chinese message, nothing saved."""
    u = factories.visit_users(tree)
    kw = {"leaders": [u.leader], "targets": [tree.trib1], **over(tree, u)}
    with pytest.raises(ServiceError) as exc:
        factories.visit(u.leader, tree.inter1, now=NOW, **kw)
    db.session.rollback()
    assert message in exc.value.message
    assert _count(db, Visit) == 0


def test_staff_may_not_plan_and_nobody_plans_for_a_unit_outside_their_scope(db, tree):
    """Staff have no visit role; a leader cannot organise in a sibling court."""
    u = factories.visit_users(tree)
    with pytest.raises(Forbidden):
        factories.visit(u.staff, tree.inter1, [u.leader], [tree.trib1], now=NOW)
    with pytest.raises(Forbidden):
        factories.visit(u.leader, tree.inter2, [u.leader], [tree.base3], now=NOW)
    db.session.rollback()
    assert _count(db, Visit) == 0


def test_a_high_court_leader_may_lead_a_visit_planned_below(db, tree):
    """Leaders of the units above the actor are allowed (the high court leads a 巡回督导)."""
    u = factories.visit_users(tree)
    visit = factories.visit(
        u.assigner, tree.inter1, [u.high_leader, u.leader], [tree.base1], kind="巡回督导", now=NOW
    )
    assert {lead.user_id for lead in visit.leaders} == {u.high_leader.id, u.leader.id}


# ---------------------------------------------------------------- record


def test_record_turns_planned_into_done_with_dates_and_photos(db, v, app):
    """Recording sets the actual span (a 蹲点 over three days), the narrative, stores photos."""
    photo = FileStorage(io.BytesIO(_png()), filename="现场.png")
    _record(v.u.leader, v.visit, files=[photo], expected_version=v.visit.version)
    db.session.commit()
    visit = db.session.get(Visit, v.visit.id)
    assert visit.status == "done" and (visit.actual_start, visit.actual_end) == (
        date(2026, 2, 24),
        date(2026, 2, 26),
    )
    assert visit.solved_on_spot == "协调解决法庭车辆调配问题。"
    att = db.session.scalar(select(Attachment).where(Attachment.owner_type == "Visit"))
    assert att.owner_id == visit.id and att.has_thumbnail and att.unit_id == v.t.inter1.id


def test_record_end_before_start_or_stale_version_saves_nothing(db, v):
    """End before start is a 400 message; a stale version is a conflict; the visit stays planned."""
    with pytest.raises(ServiceError) as exc:
        _record(v.u.leader, v.visit, actual_start=date(2026, 3, 12), actual_end=date(2026, 3, 10))
    assert "结束日期不能早于开始日期" in exc.value.message
    db.session.rollback()
    with pytest.raises(Conflict):
        _record(v.u.leader, v.visit, expected_version=v.visit.version + 5)
    db.session.rollback()
    assert db.session.get(Visit, v.visit.id).status == "planned"


def test_only_the_organisers_editors_may_record(db, v):
    """A leader who does not lead this visit (and is no assigner) may not record it."""
    with pytest.raises(Forbidden):
        _record(v.u.leader2, v.visit)
    db.session.rollback()
    _record(v.u.assigner, v.visit)  # the organiser's 专班 may


def test_unrecorded_flag_is_derived_from_the_planned_end(db, v):
    """Planned and past its end date → flagged; planned in the future or done → not."""
    visit = v.visit
    assert not queries.is_unrecorded(visit, date(2026, 3, 10))
    assert queries.is_unrecorded(visit, date(2026, 3, 11))
    _record(v.u.leader, visit)
    assert not queries.is_unrecorded(visit, date(2026, 3, 11))


# ---------------------------------------------------------------- findings → rectifications


def test_finding_becomes_a_rectification_assignment_verified_by_the_leader(db, v):
    """The finding's unit receives a 整改事项 with the deadline; the visiting leader verifies it."""
    f = services.add_finding(
        v.u.leader, v.visit, unit=v.t.trib1, description="卷宗归档不及时", deadline=date(2026, 4, 30), now=NOW
    )
    db.session.commit()
    a = services.rectification_of(f)
    task = db.session.get(Task, f.task_id)
    assert task.kind == "rectification" and task.verifier_id == v.u.leader.id and task.project_id is None
    assert (a.unit_id, a.assigned_by_unit_id, a.deadline, a.status) == (
        v.t.trib1.id,
        v.t.inter1.id,
        date(2026, 4, 30),
        "pending",
    )


@pytest.mark.parametrize(
    "over, message",
    [
        (lambda t, u: {"unit": t.trib3}, "不是本次走访的对象单位"),
        (lambda t, u: {"verifier": u.leader2}, "核验人须为本次走访的带队领导"),
        (lambda t, u: {"deadline": date(2026, 3, 1)}, "整改时限不能早于今天"),
        (lambda t, u: {"deadline": None}, "请填写整改时限"),
        (lambda t, u: {"description": ""}, "请填写问题描述"),
    ],
)
def test_bad_findings_are_refused_and_nothing_saved(db, v, over, message):
    """A unit that was not visited, a verifier who did not lead, a past or missing deadline, no text."""
    kw = {"unit": v.t.trib1, "description": "窗口标识不清", "deadline": date(2026, 4, 30), **over(v.t, v.u)}
    with pytest.raises(ServiceError) as exc:
        services.add_finding(v.u.leader, v.visit, now=NOW, **kw)
    db.session.rollback()
    assert message in exc.value.message
    assert _count(db, Finding) == 0 and _count(db, Task, Task.kind == "rectification") == 0


@pytest.fixture
def rect(db, v):
    """A finding on trib1, reported as done by its head (待审核)."""
    f = services.add_finding(
        v.u.leader, v.visit, unit=v.t.trib1, description="卷宗归档不及时", deadline=date(2026, 4, 30), now=NOW
    )
    a = services.rectification_of(f)
    task_services.add_report(
        v.u.head,
        a,
        expected_version=a.version,
        text="已完成归档整改",
        percent=100,
        files=[],
        submit=True,
        now=NOW,
    )
    db.session.commit()
    v.a = a
    return v


@pytest.mark.parametrize("who", ["leader2", "assigner", "head"])
def test_closing_by_someone_not_the_verifier_or_above_is_refused(db, rect, who):
    """Another leader of the same court, its 专班, the tribunal itself: refused, nothing changes."""
    with pytest.raises(Forbidden):
        task_services.review(
            getattr(rect.u, who),
            rect.a,
            expected_version=rect.a.version,
            decision="approve",
            comment=None,
            now=NOW,
        )
    db.session.rollback()
    assert db.session.get(Assignment, rect.a.id).status == "submitted"


@pytest.mark.parametrize("who", ["leader", "high_leader"])
def test_the_verifier_or_a_leader_of_a_superior_unit_closes_it(db, rect, who):
    """销号 by the visiting leader, or by a leader of the high court above."""
    task_services.review(
        getattr(rect.u, who),
        rect.a,
        expected_version=rect.a.version,
        decision="approve",
        comment="已核实",
        now=NOW,
    )
    db.session.commit()
    assert db.session.get(Assignment, rect.a.id).status == "closed"


def test_the_verifier_may_send_it_back(db, rect):
    """退回 with a reason: the unit must work on it again."""
    task_services.review(
        rect.u.leader,
        rect.a,
        expected_version=rect.a.version,
        decision="return",
        comment="请补充照片",
        now=NOW,
    )
    db.session.commit()
    assert db.session.get(Assignment, rect.a.id).status == "returned"


# ---------------------------------------------------------------- pairings


def test_pair_and_unpair(db, v):
    """The 专班 pairs its leader with a tribunal below; a duplicate is refused; unpair removes it."""
    p = services.pair(v.u.assigner, v.u.leader, v.t.trib1, now=NOW)
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        services.pair(v.u.assigner, v.u.leader, v.t.trib1, now=NOW)
    assert "已是" in exc.value.message
    db.session.rollback()
    services.unpair(v.u.assigner, db.session.get(Pairing, p.id), now=NOW)
    db.session.commit()
    assert _count(db, Pairing) == 0


@pytest.mark.parametrize(
    "actor, leader, unit, error",
    [
        ("staff", "leader", "trib1", Forbidden),  # no role to manage pairings
        ("assigner", "leader", "inter1", Forbidden),  # not strictly below the actor
        ("assigner", "assigner", "trib1", ServiceError),  # not a leader
        ("assigner", "other_leader", "trib1", ServiceError),  # a sibling court's leader
    ],
)
def test_bad_pairings_are_refused(db, v, actor, leader, unit, error):
    """Who may pair, and whom with what."""
    with pytest.raises(error):
        services.pair(getattr(v.u, actor), getattr(v.u, leader), getattr(v.t, unit), now=NOW)
    db.session.rollback()
    assert _count(db, Pairing) == 0


def test_a_leader_is_paired_only_with_units_below_their_court(db, tree):
    """The high court may not pair base2's leader with a tribunal of base1, nor with base2 itself."""
    reviewer = factories.user("gy_qjb", tree.high, ["reviewer"])
    base2_leader = factories.user("j2_ld", tree.base2, ["leader"], display_name="甲二区院长")
    db.session.commit()
    for unit in (tree.trib1, tree.base2):
        with pytest.raises(ServiceError) as exc:
            services.pair(reviewer, base2_leader, unit, now=NOW)
        assert "不是“甲二区院长”所在单位的下级单位" in exc.value.message
        db.session.rollback()
    services.pair(reviewer, base2_leader, tree.trib3, now=NOW)  # its own tribunal is fine


# ---------------------------------------------------------------- coverage


def _done(u, organizer, leaders, targets, day: date):
    visit = factories.visit(u.assigner, organizer, leaders, targets, start=day, now=NOW)
    _record(u.assigner, visit, actual_start=day, actual_end=day)
    return visit


def test_coverage_counts_done_visits_in_the_period_and_lists_the_unvisited(db, v):
    """trib1 visited twice (by two leaders) in the last 6 months; a planned visit and one
    from 8 months ago do not count; everything else under inter1 is unvisited."""
    t, u = v.t, v.u
    _done(u, t.inter1, [u.leader], [t.trib1], date(2026, 1, 5))
    _done(u, t.inter1, [u.high_leader], [t.trib1], date(2026, 2, 20))
    _done(u, t.inter1, [u.leader], [t.base2], date(2025, 7, 1))
    services.pair(u.assigner, u.leader2, t.trib3, now=NOW)
    db.session.commit()
    rows, unvisited = queries.coverage(u.assigner, t.inter1, months=6, today=TODAY)
    by_id = {r.unit.id: r for r in rows}
    assert set(by_id) == {t.base1.id, t.base2.id, t.trib1.id, t.trib2.id, t.trib3.id}
    assert (by_id[t.trib1.id].visits, by_id[t.trib1.id].last_visit) == (2, date(2026, 2, 20))
    assert by_id[t.trib1.id].leaders == sorted(["甲市中院院长", "高院院长"])
    assert by_id[t.trib3.id].paired == ["甲市中院副院长"]
    assert {x.id for x in unvisited} == {t.base1.id, t.base2.id, t.trib2.id, t.trib3.id}
    _, unvisited_12 = queries.coverage(u.assigner, t.inter1, months=12, today=TODAY)
    assert t.base2.id not in {x.id for x in unvisited_12}
