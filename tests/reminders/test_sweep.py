"""The daily reminder sweep: the default rules, their bands and repeats, escalation and
its fallback, review reminders, exactly-once sending, dry runs and the CLI. (Each person
gets one notification per rule listing their items; an item alone in its digest reads
as a reminder about that item, with the item as its subject. The digests of several
items: test_sweep_digest.py.)"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.checklists.models import ChecklistEntry
from app.extensions import db as _db
from app.notifications import Notification
from app.reminders.models import ReminderRule, SweepDigest, SweepMark, SweepRun
from app.reminders.sweep import ESCALATION_NOTE, run_sweep
from app.tasks import services as ts
from tests import factories

SETUP_NOW = datetime(2026, 9, 1, 1, 0)  # naive UTC; items are created before any as_of used here
TUESDAY = date(2026, 12, 8)


# ---------------------------------------------------------------- helpers (shared by the other files)


def sweep(as_of: date, *, dry_run: bool = False, commit: bool = True):
    """run_sweep as the scheduler would at 09:00 local (01:00 UTC) that day, then commit."""
    result = run_sweep(as_of, datetime.combine(as_of, time(1, 0)), dry_run=dry_run)
    if commit:
        _db.session.commit()
    return result


def sweep_days(start: date, end: date) -> dict[date, object]:
    out, day = {}, start
    while day <= end:
        out[day] = sweep(day)
        day += timedelta(days=1)
    return out


def rule(item_type: str, kind: str, days: int) -> ReminderRule:
    return _db.session.scalar(
        select(ReminderRule).where(
            ReminderRule.item_type == item_type, ReminderRule.kind == kind, ReminderRule.days == days
        )
    )


def sweep_notes(subject_id: int | None = None, kind: str | None = None, day: date | None = None):
    stmt = select(Notification).where(Notification.rule_id.is_not(None))
    if subject_id is not None:
        stmt = stmt.where(Notification.subject_type == "Assignment", Notification.subject_id == subject_id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    if day is not None:
        stmt = stmt.where(Notification.day == day)
    return list(_db.session.scalars(stmt.order_by(Notification.day, Notification.recipient_id)))


def listed(n: Notification) -> list[tuple[str, int]]:
    """The items a sweep notification names: those its digest lists, or its subject."""
    d = _db.session.get(SweepDigest, n.id)
    return [(i["type"], i["id"]) for i in d.items] if d else [(n.subject_type, n.subject_id)]


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def make_world(tree) -> SimpleNamespace:
    """build_tree + task_users, a leader and a coordinator at inter1 (the assigning unit)
    and a project owned by inter1."""
    u = factories.task_users(tree)
    u.leader = factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长")
    u.inter1_coord = factories.user("jz_llr", tree.inter1, ["coordinator"], display_name="甲市中院联络员")
    _db.session.commit()
    p = factories.project(u.assigner, tree.inter1, end=date(2027, 12, 31), now=SETUP_NOW)
    _db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, n=0)


def make_item(w, deadline: date, unit=None):
    """An item of inter1 assigned to `unit` (default base1) with `deadline`."""
    w.n += 1
    task = factories.task(w.u.assigner, w.p, title=f"测试事项{w.n}", deadline=deadline, now=SETUP_NOW)
    (a,) = factories.assign(w.u.assigner, task, unit or w.t.base1, now=SETUP_NOW)
    _db.session.commit()
    return a


def submitted_item(w, deadline: date, submitted_at: datetime):
    """An item of inter1 for base1 whose coordinator reported it done and submitted it
    for review at `submitted_at` (UTC): it waits for inter1's review."""
    a = make_item(w, deadline)
    ts.add_report(
        w.u.base1_coord,
        a,
        expected_version=a.version,
        text="完成",
        percent=100,
        files=[],
        submit=True,
        now=submitted_at,
    )
    _db.session.commit()
    return a


def base1_receivers(w) -> set[int]:
    return {w.u.base1_coord.id, w.u.base1_staff.id}


@pytest.fixture
def world(db, tree):
    return make_world(tree)


# ---------------------------------------------------------------- 1. the default rules


def test_default_rules_are_seeded(world):
    got = {
        (r.item_type, r.kind, r.days, r.repeat_every, r.working_days)
        for r in _db.session.scalars(select(ReminderRule).where(ReminderRule.is_active.is_(True)))
    }
    for it in ("assignment", "rectification", "checklist"):
        for kind, days, rep in (
            ("due_soon", 7, None),
            ("due_soon", 3, None),
            ("due_soon", 1, None),
            ("overdue", 1, 3),
            ("escalate", 3, None),
            ("escalate_high", 15, None),
        ):
            assert (it, kind, days, rep, False) in got
    assert ("assignment", "review_waiting", 5, None, False) in got
    assert ("rectification", "review_waiting", 5, None, False) in got


def test_due_soon_bands_fire_once_each(world):
    """Deadline Thu 2026-12-24: bands on Thu 17th (7), Mon 21st (3), Wed 23rd (1); nothing
    in between, nothing on the deadline day, one notification per band per receiver."""
    a = make_item(world, date(2026, 12, 24))
    sweep_days(date(2026, 12, 10), date(2026, 12, 24))
    notes = sweep_notes(a.id, "due_soon")
    by_day: dict[date, list] = {}
    for n in notes:
        by_day.setdefault(n.day, []).append(n)
    assert sorted(by_day) == [date(2026, 12, 17), date(2026, 12, 21), date(2026, 12, 23)]
    expected = {date(2026, 12, 17): 7, date(2026, 12, 21): 3, date(2026, 12, 23): 1}
    for day, ns in by_day.items():
        assert {n.recipient_id for n in ns} == base1_receivers(world)
        assert len(ns) == 2
        assert {n.rule_id for n in ns} == {rule("assignment", "due_soon", expected[day]).id}
        assert f"还有 {expected[day]} 天" in ns[0].message
    assert sweep_notes(a.id, "overdue") == []


def test_overdue_repeats_every_three_days_and_escalates_once(world):
    """Deadline Mon 2026-12-07. Overdue on day 1 (12-08), 4 (12-11), 7 (12-14), 10 (12-17),
    then 12-21 (day 13 is a Sunday, so the next working day); never on days 2–3.
    Escalation to inter1's assigner + leader on day 3 (12-10), once; to the high court's
    reviewers on day 15 (12-22), once."""
    a = make_item(world, date(2026, 12, 7))
    sweep_days(date(2026, 12, 1), date(2026, 12, 31))
    overdue_days = sorted({n.day for n in sweep_notes(a.id, "overdue")})
    assert overdue_days[:5] == [
        date(2026, 12, 8),
        date(2026, 12, 11),
        date(2026, 12, 14),
        date(2026, 12, 17),
        date(2026, 12, 21),
    ]
    for d in overdue_days:
        assert {n.recipient_id for n in sweep_notes(a.id, "overdue", d)} == base1_receivers(world)
    assert date(2026, 12, 9) not in overdue_days and date(2026, 12, 10) not in overdue_days
    assert "已逾期 1 天" in sweep_notes(a.id, "overdue", date(2026, 12, 8))[0].message
    assert "已逾期 4 天" in sweep_notes(a.id, "overdue", date(2026, 12, 11))[0].message

    esc = sweep_notes(a.id, "escalate")
    assert {n.day for n in esc} == {date(2026, 12, 10)}
    assert sorted(n.recipient_id for n in esc) == sorted([world.u.assigner.id, world.u.leader.id])
    assert "【督办】" in esc[0].message and "已逾期 3 天" in esc[0].message
    assert ESCALATION_NOTE not in esc[0].message

    high = sweep_notes(a.id, "escalate_high")
    assert [(n.day, n.recipient_id) for n in high] == [(date(2026, 12, 22), world.u.reviewer.id)]
    assert "已逾期 15 天" in high[0].message


def test_review_waiting_goes_to_assigning_units_assigners_and_coordinators(world):
    """Submitted Thu 2026-12-03 (local morning): nothing on Mon 12-07 (4 days), the
    reminder on Tue 12-08 (5 days), once. A submitted item gets no overdue reminder
    even though its deadline (12-04) has passed."""
    a = submitted_item(world, date(2026, 12, 4), datetime(2026, 12, 3, 1, 0))
    sweep_days(date(2026, 12, 4), date(2026, 12, 11))
    notes = sweep_notes(a.id, "review_waiting")
    assert {n.day for n in notes} == {date(2026, 12, 8)}
    assert sorted(n.recipient_id for n in notes) == sorted([world.u.assigner.id, world.u.inter1_coord.id])
    assert "已等待审核 5 天" in notes[0].message
    assert sweep_notes(a.id, "overdue") == [] and sweep_notes(a.id, "escalate") == []
    assert sweep_notes(a.id, "due_soon") == []


def test_review_waiting_counts_from_the_local_day_of_submission(world):
    """Submitted Fri 2026-12-04 05:00 local (= 12-03 21:00 UTC): 4 days on Tue 12-08,
    5 on Wed 12-09 — the reminder is due on the 9th, not the 8th."""
    a = submitted_item(world, date(2026, 12, 31), datetime(2026, 12, 3, 21, 0))
    sweep(date(2026, 12, 8))
    assert sweep_notes(a.id, "review_waiting") == []
    sweep(date(2026, 12, 9))
    assert {n.day for n in sweep_notes(a.id, "review_waiting")} == {date(2026, 12, 9)}


def test_rectification_review_waiting_goes_to_its_verifier(world):
    a = ts.create_rectification(
        world.u.assigner,
        organizer_unit=world.t.inter1,
        verifier=world.u.leader,
        unit=world.t.base1,
        description="法庭标识不规范",
        deadline=date(2026, 12, 31),
        now=SETUP_NOW,
    )
    _db.session.commit()
    ts.add_report(
        world.u.base1_coord,
        a,
        expected_version=a.version,
        text="已整改",
        percent=100,
        files=[],
        submit=True,
        now=datetime(2026, 12, 1, 2, 0),
    )
    _db.session.commit()
    sweep(date(2026, 12, 4))
    assert sweep_notes(a.id, "review_waiting") == []
    sweep(TUESDAY)
    notes = sweep_notes(a.id, "review_waiting")
    assert [n.recipient_id for n in notes] == [world.u.leader.id]
    assert notes[0].rule_id == rule("rectification", "review_waiting", 5).id


def test_rectification_overdue_uses_rectification_rules(world):
    a = ts.create_rectification(
        world.u.assigner,
        organizer_unit=world.t.inter1,
        verifier=world.u.leader,
        unit=world.t.base1,
        description="调解室未设置",
        deadline=date(2026, 12, 7),
        now=SETUP_NOW,
    )
    _db.session.commit()
    sweep(TUESDAY)
    notes = sweep_notes(a.id, "overdue")
    assert {n.recipient_id for n in notes} == base1_receivers(world)
    assert {n.rule_id for n in notes} == {rule("rectification", "overdue", 1).id}


def test_closed_and_submitted_items_get_no_due_or_overdue_reminders(world):
    closed = make_item(world, date(2026, 12, 1))
    submitted = make_item(world, date(2026, 12, 1))
    soon_closed = make_item(world, date(2026, 12, 9))
    open_ = make_item(world, date(2026, 12, 1))
    for a in (closed, submitted, soon_closed):
        ts.add_report(
            world.u.base1_coord,
            a,
            expected_version=a.version,
            text="完成",
            percent=100,
            files=[],
            submit=True,
            now=datetime(2026, 11, 30, 2, 0),
        )
    for a in (closed, soon_closed):
        ts.review(
            world.u.assigner,
            a,
            expected_version=a.version,
            decision="approve",
            comment=None,
            now=datetime(2026, 11, 30, 3, 0),
        )
    _db.session.commit()
    assert closed.status == "closed" and submitted.status == "submitted"
    sweep(TUESDAY)
    assert sweep_notes(closed.id) == []
    assert sweep_notes(soon_closed.id) == []
    assert {n.kind for n in sweep_notes(submitted.id)} <= {"review_waiting"}
    assert {n.kind for n in sweep_notes(open_.id)} == {"overdue", "escalate"}


def test_checklist_entries_are_chased_too(world):
    tpl = factories.checklist_template(world.u.reviewer, now=SETUP_NOW)
    (cl,) = factories.apply_checklist(
        world.u.assigner, tpl, world.t.base1, due=date(2026, 12, 7), now=SETUP_NOW
    )
    factories.set_entry(cl, "A-1", "claimed")
    _db.session.commit()
    r = sweep(TUESDAY)
    notes = list(
        _db.session.scalars(select(Notification).where(Notification.subject_type == "ChecklistEntry"))
    )
    overdue = [n for n in notes if n.kind == "overdue"]
    # one digest per receiver, each naming A-2, B-1 and B-2 — A-1 is claimed
    assert sorted(n.recipient_id for n in overdue) == sorted(base1_receivers(world))
    codes = {e.id: e.code for e in _db.session.scalars(select(ChecklistEntry))}
    for n in overdue:
        assert sorted(codes[i] for t, i in listed(n) if t == "ChecklistEntry") == ["A-2", "B-1", "B-2"]
        assert n.message.startswith("【逾期】本单位有 3 项事项已逾期")
        assert "“A-1 " not in n.message
        d = _db.session.get(SweepDigest, n.id)
        assert d.total == 3 and d.item_type == "checklist"
        assert {i["checklist"] for i in d.items} == {cl.id}
    marks = list(_db.session.scalars(select(SweepMark).where(SweepMark.subject_type == "ChecklistEntry")))
    assert sorted(codes[m.subject_id] for m in marks if m.rule_id == rule("checklist", "overdue", 1).id) == [
        "A-2",
        "B-1",
        "B-2",
    ]
    assert r.counts["overdue"] == 3


# ---------------------------------------------------------------- 2. escalation fallback


def test_escalation_falls_back_one_level_and_says_so(world):
    a = make_item(world, date(2026, 12, 1))
    world.u.assigner.active = False
    world.u.leader.active = False
    _db.session.commit()
    sweep(TUESDAY)
    esc = sweep_notes(a.id, "escalate")
    assert [n.recipient_id for n in esc] == [world.u.high_assigner.id]
    assert "已上报上一级单位" in esc[0].message
    # the normal case carries no such note
    world.u.assigner.active = True
    _db.session.commit()
    b = make_item(world, date(2026, 12, 1), world.t.base2)
    sweep(TUESDAY)
    esc_b = sweep_notes(b.id, "escalate")
    assert [n.recipient_id for n in esc_b] == [world.u.assigner.id]
    assert "已上报上一级单位" not in esc_b[0].message


def test_nobody_to_escalate_to_is_an_error_not_a_crash(world):
    a = make_item(world, date(2026, 12, 1))
    for x in (world.u.assigner, world.u.leader, world.u.high_assigner):
        x.active = False
    _db.session.commit()
    r = sweep(TUESDAY)
    assert sweep_notes(a.id, "escalate") == []
    assert any("找不到可通知的人员" in e for e in r.errors)
    assert sweep_notes(a.id, "overdue")  # the rest still went out
    # not marked as sent: once someone is there, the next run escalates it
    escalate = rule("assignment", "escalate", 3)
    assert not _db.session.scalar(select(SweepMark.id).where(SweepMark.rule_id == escalate.id))
    world.u.assigner.active = True
    _db.session.commit()
    r2 = sweep(TUESDAY + timedelta(days=1))
    assert r2.errors == []
    assert [n.recipient_id for n in sweep_notes(a.id, "escalate")] == [world.u.assigner.id]


# ---------------------------------------------------------------- 4. exactly once


def _mixed_items(world):
    make_item(world, date(2026, 12, 7))  # overdue 1
    make_item(world, date(2026, 11, 30))  # overdue 8 → escalate
    make_item(world, date(2026, 12, 15))  # due in 7
    make_item(world, date(2026, 12, 9))  # due in 1
    submitted_item(world, date(2026, 12, 20), datetime(2026, 12, 1, 2, 0))


def test_same_sweep_twice_sends_nothing_the_second_time(world):
    _mixed_items(world)
    first = sweep(TUESDAY)
    assert first.counts["sent"] > 0 and first.counts["duplicates_skipped"] == 0
    assert first.counts["due_soon"] == 2 and first.counts["overdue"] == 2
    assert first.counts["escalated"] == 1 and first.counts["review_waiting"] == 1
    total = len(sweep_notes())
    assert total == first.counts["sent"]
    assert first.counts["items"] == count(SweepMark) == 6  # one mark per (rule, item, period)
    second = sweep(TUESDAY)
    assert second.counts["sent"] == 0 and second.counts["items"] == 0
    assert second.counts["duplicates_skipped"] == first.counts["sent"]
    assert len(sweep_notes()) == total and count(SweepMark) == 6
    runs = list(_db.session.scalars(select(SweepRun).order_by(SweepRun.id)))
    assert [r.counts["sent"] for r in runs] == [first.counts["sent"], 0]


def test_dry_run_sends_and_writes_nothing(world):
    _mixed_items(world)
    before = (count(Notification), count(SweepRun))
    dry = sweep(TUESDAY, dry_run=True)
    assert (count(Notification), count(SweepRun)) == before
    assert dry.run_id is None
    real = sweep(TUESDAY)
    assert real.counts == dry.counts
    assert count(Notification) == before[0] + real.counts["sent"]
    # a dry run after the real one: everything would be a duplicate
    dry2 = sweep(TUESDAY, dry_run=True)
    assert dry2.counts["sent"] == 0 and dry2.counts["duplicates_skipped"] == real.counts["sent"]
    assert count(SweepRun) == before[1] + 1


def test_catch_up_sends_one_reminder_per_rule_band_not_a_flood(world):
    """An item 10 days overdue that no sweep saw: one run → one overdue + one escalation
    per recipient, not ten; an item whose 7- and 3-day bands were missed gets only the
    current band."""
    late = make_item(world, date(2026, 11, 28))  # overdue 10 days on 12-08
    soon = make_item(world, date(2026, 12, 10))  # 2 days left: band 3 only
    r = sweep(TUESDAY)
    over = sweep_notes(late.id, "overdue")
    assert len(over) == 2 and "已逾期 10 天" in over[0].message
    assert len(sweep_notes(late.id, "escalate")) == 2
    assert sweep_notes(late.id, "escalate_high") == []
    due = sweep_notes(soon.id, "due_soon")
    assert len(due) == 2 and {n.rule_id for n in due} == {rule("assignment", "due_soon", 3).id}
    assert r.counts == {
        "due_soon": 1,
        "overdue": 1,
        "escalated": 1,
        "review_waiting": 0,
        "sent": 6,
        "duplicates_skipped": 0,
        "items": 3,
    }


# ---------------------------------------------------------------- 6. CLI


def _stdout(result) -> str:
    return getattr(result, "stdout", result.output)


SUMMARY = (
    r"^due_soon=\d+ overdue=\d+ escalated=\d+ review_waiting=\d+ sent=\d+ duplicates_skipped=\d+ items=\d+$"
)


def test_cli_prints_one_summary_line(app, world):
    import re

    _mixed_items(world)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["reminders", "run", "--date", "2026-12-08", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lines = _stdout(dry).strip().splitlines()
    assert len(lines) == 1 and re.match(SUMMARY, lines[0]), lines
    assert count(SweepRun) == 0 and len(sweep_notes()) == 0

    res = runner.invoke(args=["reminders", "run", "--date", "2026-12-08"])
    assert res.exit_code == 0, res.output
    lines2 = _stdout(res).strip().splitlines()
    assert len(lines2) == 1 and re.match(SUMMARY, lines2[0]), lines2
    assert lines2[0] == lines[0]  # the dry run predicted it exactly
    sent = int(re.search(r"sent=(\d+)", lines2[0]).group(1))
    _db.session.expire_all()
    assert sent > 0 and len(sweep_notes()) == sent
    run = _db.session.scalar(select(SweepRun))
    assert run.trigger == "cli" and run.as_of == TUESDAY and run.finished_at is not None

    items = int(re.search(r"items=(\d+)", lines2[0]).group(1))
    assert items == count(SweepMark) == 6  # 2 due-soon bands, 2 overdue, 1 escalation, 1 review

    again = runner.invoke(args=["reminders", "run", "--date", "2026-12-08"])
    assert _stdout(again).strip().endswith(f"sent=0 duplicates_skipped={sent} items=0")


def test_cli_on_a_saturday_reports_the_skip(app, world):
    make_item(world, date(2026, 12, 1))
    res = app.test_cli_runner().invoke(args=["reminders", "run", "--date", "2026-12-12"])
    assert res.exit_code == 0
    assert (
        _stdout(res).strip()
        == "due_soon=0 overdue=0 escalated=0 review_waiting=0 sent=0 duplicates_skipped=0 items=0"
    )
    assert "非工作日" in res.output
    assert (
        "# 临期提醒 0 项，逾期催办 0 项，督办 0 项，待审核提醒 0 项，发出汇总通知 0 条" in res.output
    )  # on stderr
    _db.session.expire_all()
    assert _db.session.scalar(select(SweepRun)).counts["skipped"].startswith("非工作日")


@pytest.mark.parametrize("bad", ["2026-13-01", "next monday", "2026/12/08"])
def test_cli_rejects_an_unparseable_date(app, db, bad):
    res = app.test_cli_runner().invoke(args=["reminders", "run", "--date", bad])
    assert res.exit_code == 2
    assert "无法识别的日期" in res.output and "YYYY-MM-DD" in res.output
    assert count(SweepRun) == 0
