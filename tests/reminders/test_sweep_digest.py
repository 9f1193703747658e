"""Sweep digests: one notification per person and rule listing that person's items (the
most urgent first, "等 N 项", links in the notification centre), each item sent once —
also when a second run the same day finds new ones — the e-mail per digest, the upgrade
from per-item reminders, and a statement count that does not grow with the items."""

from __future__ import annotations

import importlib.util
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, text, update

from app.extensions import db as _db
from app.notifications import Notification
from app.reminders import digest
from app.reminders.digest import Digest, Entry
from app.reminders.models import Delivery, SweepDigest, SweepMark
from app.reminders.sweep import run_sweep
from app.tasks.models import Assignment
from tests import factories
from tests.reminders.test_sweep import (
    TUESDAY,
    base1_receivers,
    listed,
    make_item,
    make_world,
    rule,
    submitted_item,
    sweep,
    sweep_days,
    sweep_notes,
)

SH = ZoneInfo("Asia/Shanghai")
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0009_sweep_digest.py"


@pytest.fixture
def world(db, tree):
    return make_world(tree)


def _count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def _of_run(result) -> list[Notification]:
    return list(
        _db.session.scalars(
            select(Notification)
            .where(Notification.dedupe_key.like(f"sweep:{result.run_id}:%"))
            .order_by(Notification.recipient_id, Notification.rule_id)
        )
    )


def _seven_overdue(world) -> list:
    """Seven items of base1, 18, 16, 13, 11, 8, 5 and 3 days overdue on TUESDAY."""
    days = (18, 16, 13, 11, 8, 5, 3)
    return [make_item(world, TUESDAY - timedelta(days=d)) for d in days]


# ---------------------------------------------------------------- what a digest says


def test_one_notification_per_person_naming_the_most_overdue_first(world):
    """Seven overdue items: each of base1's two receivers gets one notification naming
    the five most overdue, in that order, and "等 7 项" — not seven notifications."""
    items = _seven_overdue(world)
    r = sweep(TUESDAY)
    notes = sweep_notes(kind="overdue")
    assert sorted(n.recipient_id for n in notes) == sorted(base1_receivers(world))
    assert r.counts["overdue"] == 7
    expected = (
        "【逾期】本单位有 7 项事项已逾期："
        "“测试事项1”（已逾期 18 天）；“测试事项2”（已逾期 16 天）；“测试事项3”（已逾期 13 天）；"
        "“测试事项4”（已逾期 11 天）；“测试事项5”（已逾期 8 天）等 7 项，请尽快办理并反馈。"
    )
    for n in notes:
        assert n.message == expected
        assert (n.subject_type, n.subject_id) == ("Assignment", items[0].id)  # "open" goes to the worst
        d = _db.session.get(SweepDigest, n.id)
        assert d.total == 7 and d.item_type == "assignment"
        assert [i["id"] for i in d.items] == [a.id for a in items[:5]]
        assert [i["note"] for i in d.items][:2] == ["已逾期 18 天", "已逾期 16 天"]
    # the escalation (3 days and more: all seven) is one digest for each of inter1's 专班 and 院领导
    esc = sweep_notes(kind="escalate")
    assert sorted(n.recipient_id for n in esc) == sorted([world.u.assigner.id, world.u.leader.id])
    assert esc[0].message.startswith(
        "【督办】有 7 项交办事项已逾期未办结：“测试事项1”（甲一区人民法院承办，已逾期 18 天）"
    )
    assert esc[0].message.endswith("等 7 项，请督促办理。")
    # and on, 15 days and more, to the high court's reviewer: the two oldest
    (high,) = sweep_notes(kind="escalate_high")
    assert high.recipient_id == world.u.reviewer.id and listed(high) == [
        ("Assignment", a.id) for a in items[:2]
    ]
    # every item was sent, once per rule: 7 overdue + 7 escalated + 2 to the high court
    assert r.counts["items"] == _count(SweepMark) == 16
    assert r.counts["sent"] == len(sweep_notes()) == 5


def test_due_soon_digest_names_the_nearest_deadline_first(world):
    """Two items in the 3-day band: one notification per receiver, fewest days left first."""
    later = make_item(world, TUESDAY + timedelta(days=3))
    sooner = make_item(world, TUESDAY + timedelta(days=2))
    sweep(TUESDAY)
    notes = sweep_notes(kind="due_soon")
    assert len(notes) == 2 and {n.rule_id for n in notes} == {rule("assignment", "due_soon", 3).id}
    assert notes[0].message == (
        "【临期】本单位有 2 项事项即将到期："
        f"“{sooner.task.title}”（2026-12-10 到期，还有 2 天）；“{later.task.title}”（2026-12-11 到期，还有 3 天），"
        "请抓紧办理。"
    )
    assert listed(notes[0]) == [("Assignment", sooner.id), ("Assignment", later.id)]


def test_escalation_note_in_a_digest_says_how_many_went_one_level_up():
    """Pure text: an escalation digest where some items came up from a unit without
    专班 or 院领导 says how many; where all did, the usual note."""
    d = Digest()
    for i, days in enumerate((4, 9, 7), start=1):
        d.add(
            digest.rank("escalate", days, i),
            Entry("Assignment", i, f"事项{i}", days, None, "东山人民法庭"),
            moved=i == 2,
        )
    first = d.first()
    assert [e.days for e in first] == [9, 7, 4]  # the longest overdue first
    text_ = digest.message("escalate", 3, first, d.total, d.moved)
    assert "（其中 1 项的交办单位未设工作专班或院领导，已上报上一级单位）" in text_
    assert text_.index("事项2") < text_.index("事项3") < text_.index("事项1")
    one = Entry("Assignment", 1, "事项", 5, None, "东山人民法庭")
    assert digest.message("escalate", 3, [one], 1, 1).endswith(digest.ESCALATION_NOTE)


def test_a_digest_keeps_the_most_urgent_whatever_the_order_items_come_in():
    """The bounded heap: of 40 items in any order, the five most overdue, in order; the
    count is all of them; merging two digests keeps the five most urgent of both."""
    a, b = Digest(), Digest()
    for i in (17, 3, 40, 22, 8, 31, 1, 29, 12, 35, 5, 26, 19, 38, 10, 2, 33, 14, 24, 7):
        a.add(digest.rank("overdue", i, i), i)
    for i in (4, 39, 16, 28, 11, 36, 21, 9, 30, 13, 6, 25, 34, 18, 37, 15, 27, 20, 32, 23):
        b.add(digest.rank("overdue", i, i), i)
    assert (a.total, a.first()) == (20, [40, 38, 35, 33, 31])
    a.merge(b)
    assert (a.total, a.first()) == (40, [40, 39, 38, 37, 36])
    soon = Digest()
    for left, item_id in ((3, 7), (1, 9), (2, 4), (1, 2)):
        soon.add(digest.rank("due_soon", left, item_id), item_id)
    assert soon.first() == [2, 9, 4, 7]  # fewest days left first, then by id


def test_notification_centre_links_each_listed_item_and_the_full_list(world, login):
    """The centre shows the digest's five items as links, "等 7 项" and a link to the
    list of all overdue items (which holds the two not named)."""
    items = _seven_overdue(world)
    sweep(TUESDAY)
    (note,) = [n for n in sweep_notes(kind="overdue") if n.recipient_id == world.u.base1_coord.id]
    with time_machine.travel(datetime(2026, 12, 8, 10, 0, tzinfo=SH), tick=False):
        client = login(world.u.base1_coord)
        page = client.get("/notifications").get_data(as_text=True)
        block = re.search(rf'data-testid="digest-{note.id}">(.*?)</ol>(.*?)</li>', page, re.S)
        assert block, page
        links = re.findall(r'href="/assignments/(\d+)"', block.group(1))
        assert links == [str(a.id) for a in items[:5]]
        assert "等 7 项" in block.group(2)
        more = re.search(r'href="([^"]+)">查看全部', block.group(2)).group(1).replace("&amp;", "&")
        assert more == "/assignments?status=overdue&kind=task"
        full = client.get(more).get_data(as_text=True)
    for a in items:
        assert f"/assignments/{a.id}" in full  # the two not named are on the full list


def test_checklist_digest_links_to_the_entries_on_their_checklist(world, login):
    """Checklist entries in a digest link to their checklist, at the entry."""
    tpl = factories.checklist_template(world.u.reviewer, now=datetime(2026, 9, 1, 1, 0))
    (cl,) = factories.apply_checklist(world.u.assigner, tpl, world.t.base1, due=date(2026, 12, 7))
    _db.session.commit()
    sweep(TUESDAY)
    (note,) = [
        n
        for n in sweep_notes()
        if n.recipient_id == world.u.base1_coord.id
        and n.kind == "overdue"
        and n.subject_type == "ChecklistEntry"
    ]
    page = login(world.u.base1_coord).get("/notifications").get_data(as_text=True)
    block = re.search(rf'data-testid="digest-{note.id}">(.*?)</ol>', page, re.S).group(1)
    assert sorted(re.findall(rf'href="/checklists/{cl.id}#e(\d+)"', block)) == sorted(
        str(i) for _, i in listed(note)
    )
    assert len(listed(note)) == 4  # A-1 … B-2, all missing


# ---------------------------------------------------------------- exactly once


def test_a_second_run_the_same_day_sends_only_what_is_new_and_a_third_nothing(world):
    """Run, a new overdue item appears, run again by hand: the second run's digests name
    only the new item; a third run sends nothing; no item is named twice to anyone."""
    make_item(world, date(2026, 12, 1))
    make_item(world, date(2026, 12, 2))
    first = sweep(TUESDAY)
    assert first.counts["items"] == 4 and first.counts["sent"] == 4
    new = make_item(world, date(2026, 12, 3))
    second = sweep(TUESDAY)
    notes = _of_run(second)
    assert {(n.recipient_id, n.kind) for n in notes} == {
        *((uid, "overdue") for uid in base1_receivers(world)),
        (world.u.assigner.id, "escalate"),
        (world.u.leader.id, "escalate"),
    }
    assert all(listed(n) == [("Assignment", new.id)] for n in notes)
    assert second.counts["items"] == 2 and second.counts["sent"] == 4
    assert second.counts["overdue"] == 3  # found all three, sent the new one
    third = sweep(TUESDAY)
    assert third.counts["sent"] == 0 and third.counts["items"] == 0 and _of_run(third) == []
    assert third.counts["duplicates_skipped"] == 4
    named = [(n.recipient_id, n.rule_id, item) for n in sweep_notes(day=TUESDAY) for item in listed(n)]
    assert len(named) == len(set(named)) == 3 * 4  # 3 items × (2 receivers + 2 escalated to)


def test_overdue_repeats_per_item_inside_the_digests(world):
    """A overdue from Tue 12-08, B from Wed 12-09: the digests of 12-08 name A, of 12-09 B,
    of 12-11 A again (3 days on), of Mon 12-14 both (B's 12-12 fell on a Saturday)."""
    a = make_item(world, date(2026, 12, 7))
    b = make_item(world, date(2026, 12, 8))
    sweep_days(date(2026, 12, 8), date(2026, 12, 14))
    by_day: dict[date, set[int]] = {}
    for n in sweep_notes(kind="overdue"):
        assert n.recipient_id in base1_receivers(world)
        by_day.setdefault(n.day, set()).update(i for _, i in listed(n))
    assert by_day == {
        date(2026, 12, 8): {a.id},
        date(2026, 12, 9): {b.id},
        date(2026, 12, 11): {a.id},
        date(2026, 12, 14): {a.id, b.id},
    }
    monday = [n for n in sweep_notes(kind="overdue", day=date(2026, 12, 14))]
    assert len(monday) == 2 and "本单位有 2 项事项已逾期" in monday[0].message


def test_reminders_sent_per_item_before_the_upgrade_count_as_sent(world):
    """The migration turns the per-item notifications of before into marks: the first
    digest sweep repeats neither an escalation already made nor an overdue reminder of
    the last three days."""
    spec = importlib.util.spec_from_file_location("migration_0009", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    done = make_item(world, date(2026, 12, 1))  # reminded on Mon 12-07, escalated on 12-04
    fresh = make_item(world, date(2026, 12, 1))
    over, esc = rule("assignment", "overdue", 1), rule("assignment", "escalate", 3)
    old = [
        (over, "2026-12-07", date(2026, 12, 7), world.u.base1_coord),
        (over, "2026-12-07", date(2026, 12, 7), world.u.base1_staff),
        (esc, "d2026-12-01", date(2026, 12, 4), world.u.assigner),
    ]
    for r, period, day, who in old:
        _db.session.add(
            Notification(
                recipient_id=who.id,
                kind=r.kind,
                subject_type="Assignment",
                subject_id=done.id,
                message="（升级前的提醒）",
                dedupe_key=f"r{r.id}:Assignment:{done.id}:{period}",
                rule_id=r.id,
                day=day,
                created_at=datetime.combine(day, time(1, 0)),
            )
        )
    _db.session.commit()
    _db.session.execute(text(migration.BACKFILL))
    _db.session.commit()
    marks = {
        (m.rule_id, m.subject_id, m.period, m.day, m.run_id) for m in _db.session.scalars(select(SweepMark))
    }
    assert marks == {
        (over.id, done.id, "2026-12-07", date(2026, 12, 7), None),
        (esc.id, done.id, "d2026-12-01", date(2026, 12, 4), None),
    }
    sweep(TUESDAY)
    for kind in ("overdue", "escalate"):
        assert {i for n in sweep_notes(kind=kind, day=TUESDAY) for _, i in listed(n)} == {fresh.id}, kind


# ---------------------------------------------------------------- e-mail


def test_one_email_delivery_per_digest_immediate_for_escalations(world):
    """Three overdue items → one delivery per digest for the people who take e-mail: the
    coordinator's overdue digest in the daily e-mail, the 专班's escalation at once."""
    world.u.base1_coord.email = "j1@example.com"
    world.u.assigner.email = "zb@example.com"
    _db.session.commit()
    for d in (10, 8, 5):
        make_item(world, TUESDAY - timedelta(days=d))
    sweep(TUESDAY)
    rows = _db.session.execute(
        select(Delivery.recipient_id, Notification.kind, Delivery.mode, Delivery.status)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Notification.kind != "assigned")  # the new items' own notices, e-mailed as preferred
    ).all()
    assert sorted(rows) == sorted(
        [
            (world.u.base1_coord.id, "overdue", "digest", "pending"),
            (world.u.assigner.id, "escalate", "immediate", "pending"),
        ]
    )


# ---------------------------------------------------------------- cost


def _batch(world, day: date, per_unit: int) -> None:
    """`per_unit` items of each sort for base1, base2 and trib1: overdue (some escalated),
    due tomorrow, and (base1's) submitted a week before `day`."""
    for unit in (world.t.base1, world.t.base2, world.t.trib1):
        for i in range(per_unit):
            make_item(world, day - timedelta(days=1 + i % 9), unit)
            make_item(world, day + timedelta(days=1), unit)
    for _ in range(per_unit):
        submitted_item(world, day + timedelta(days=20), datetime.combine(day - timedelta(days=7), time(1, 0)))


def test_statements_do_not_grow_with_the_number_of_items(world, count_queries):
    """A sweep of 14 items and one of 84 send the same statements: the items are read
    set-based, the marks, notifications, digests and deliveries written in batches."""
    world.u.base1_coord.email = "j1@example.com"
    world.u.assigner.email = "zb@example.com"
    _db.session.commit()

    def measured(day: date):
        with count_queries() as statements:
            result = run_sweep(day, datetime.combine(day, time(1, 0)))
        _db.session.commit()
        return result, statements

    _batch(world, TUESDAY, 2)
    small, few = measured(TUESDAY)
    assert _count(SweepDigest) > 0 and _count(Delivery) > 0  # every kind of write happened
    _db.session.execute(update(Assignment).values(status="closed"))
    _db.session.commit()
    later = TUESDAY + timedelta(days=7)
    _batch(world, later, 12)
    large, many = measured(later)
    assert small.counts["items"] >= 10 and large.counts["items"] >= 5 * small.counts["items"]
    assert large.counts["sent"] > 0 and small.counts["sent"] > 0
    assert len(many) == len(few), "\n".join(many)
