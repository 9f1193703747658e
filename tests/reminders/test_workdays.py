"""Working days: nothing is sent on weekends and statutory holidays (the next working
day's run picks things up), the admins' overrides, working-day rules, and the Calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.reminders.models import CalendarOverride, SweepRun
from app.reminders.workdays import Calendar, has_official_data, missing_calendar_years
from tests.reminders.test_sweep import (
    TUESDAY,
    base1_receivers,
    make_item,
    make_world,
    rule,
    sweep,
    sweep_days,
    sweep_notes,
)


@pytest.fixture
def world(db, tree):
    return make_world(tree)


# ---------------------------------------------------------------- the Calendar itself


def test_calendar_follows_the_2026_notice_around_national_day():
    """国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, e.g.
    https://politics.gmw.cn/2025-11/04/content_38391083.htm): 中秋 9月25日–27日, 国庆 10月1日–7日
    off, 9月20日 (Sun) and 10月10日 (Sat) working; every other day Monday to Friday."""
    cal = Calendar(overrides={})
    off = {date(2026, 9, d) for d in (25, 26, 27)} | {date(2026, 10, d) for d in range(1, 8)}
    made_up = {date(2026, 9, 20), date(2026, 10, 10)}
    day = date(2026, 9, 15)
    while day <= date(2026, 10, 20):
        expected = day in made_up or (day.weekday() < 5 and day not in off)
        assert cal.is_workday(day) == expected, day
        day += timedelta(days=1)
    # stated: 10-01..07 off, Sat 10-10 a make-up working day
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_workday(date(2026, 10, 8)) and cal.is_workday(date(2026, 10, 10))
    assert not cal.is_workday(date(2026, 10, 11))


def test_workdays_between_across_national_day():
    cal = Calendar(overrides={})
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 9)) == 2  # 10-08, 10-09
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 4  # + Sat 10-10, Mon 10-12
    assert cal.workdays_between(date(2026, 10, 12), date(2026, 9, 30)) == -4
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0
    assert cal.workdays_between(TUESDAY, TUESDAY) == 0
    # an ordinary week: Tue → next Tue is 5 working days
    assert cal.workdays_between(TUESDAY, TUESDAY + timedelta(days=7)) == 5


def test_next_workday_on_2026_holidays():
    cal = Calendar(overrides={})
    assert cal.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 10, 10)) == date(2026, 10, 10)  # make-up Saturday
    assert cal.next_workday(date(2026, 10, 11)) == date(2026, 10, 12)
    assert cal.next_workday(date(2026, 12, 12)) == date(2026, 12, 14)
    # 春节 2026: 2月15日 (Sun) – 23日 (Mon) off (the 2026 notice); Tue 02-24 the first working day
    assert cal.next_workday(date(2026, 2, 15)) == date(2026, 2, 24)
    assert cal.next_workday(date(2026, 2, 14)) == date(2026, 2, 14)  # make-up Saturday


def test_year_without_a_notice_counts_monday_to_friday_apart_from_statutory_days():
    """holidays 0.108 carries no 2027 notice: 2027 is reported as missing (see
    test_calendar_years.py) and counts Mon–Fri, except the days the law itself fixes."""
    assert not has_official_data(2027), "the library now carries 2027: assert the notice's days"
    assert missing_calendar_years(date(2026, 12, 6)) == [2027]
    cal = Calendar(overrides={})
    assert cal.is_workday(date(2027, 3, 8))  # Monday
    assert not cal.is_workday(date(2027, 3, 6))  # Saturday
    # 元旦 (a Friday) is a statutory day off by law, notice or not (until issue 13 it counted
    # as a working day: the old library had no 2027 data at all)
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.workdays_between(date(2027, 3, 5), date(2027, 3, 8)) == 1
    assert cal.next_workday(date(2027, 3, 6)) == date(2027, 3, 8)


def test_overrides_win_over_the_library():
    cal = Calendar(overrides={date(2026, 10, 10): False, date(2026, 10, 3): True})
    assert not cal.is_workday(date(2026, 10, 10))
    assert cal.is_workday(date(2026, 10, 3))
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 4  # 10-03, 08, 09, 12


def test_calendar_loads_overrides_from_the_database(db):
    db.session.add(CalendarOverride(day=TUESDAY, is_workday=False, note="临时调休"))
    db.session.commit()
    assert not Calendar().is_workday(TUESDAY)


# ---------------------------------------------------------------- the sweep on non-working days


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 12),
        date(2026, 12, 13),
        date(2026, 10, 1),
        date(2026, 10, 5),
        date(2027, 2, 5),  # 农历除夕 2027 (a Friday)
        date(2027, 2, 8),  # 正月初三 2027 (a Monday)
    ],
)
def test_nothing_is_sent_on_a_non_working_day_and_the_skip_is_recorded(world, day):
    make_item(world, day - timedelta(days=5))  # overdue
    make_item(world, day + timedelta(days=1))  # due tomorrow
    r = sweep(day)
    assert r.skipped_reason and "非工作日" in r.skipped_reason
    assert r.counts["sent"] == 0 and sweep_notes() == []
    run = _db.session.scalar(select(SweepRun))
    assert run.as_of == day and run.finished_at is not None
    assert "非工作日" in run.counts["skipped"] and run.counts["sent"] == 0


def test_seven_day_band_on_a_sunday_is_sent_monday_as_the_same_band(world):
    """Deadline Sun 2026-12-20: its 7-day day is Sun 12-13. Nothing Sat/Sun; Monday sends
    the 7-day band (6 days left), then the 3-day band on its own day."""
    a = make_item(world, date(2026, 12, 20))
    sweep_days(date(2026, 12, 11), date(2026, 12, 20))
    notes = sweep_notes(a.id, "due_soon")
    days = sorted({n.day for n in notes})
    assert days[0] == date(2026, 12, 14)
    monday = sweep_notes(a.id, "due_soon", date(2026, 12, 14))
    assert {n.rule_id for n in monday} == {rule("assignment", "due_soon", 7).id}
    assert {n.recipient_id for n in monday} == base1_receivers(world)
    assert "还有 6 天" in monday[0].message
    # band 3 on Thu 12-17; Fri 12-18 (2 days left) is still band 3, already sent; the
    # 1-day band falls on Sat 12-19 and the deadline on Sunday: no day left to send it.
    assert days == [date(2026, 12, 14), date(2026, 12, 17)]
    assert {n.rule_id for n in sweep_notes(a.id, "due_soon", date(2026, 12, 17))} == {
        rule("assignment", "due_soon", 3).id
    }


def test_national_day_catch_up_is_one_band_and_one_overdue(world):
    """Deadline Fri 10-09 (bands 7 and 3 fall in the holiday) → on Thu 10-08 one reminder
    (the current band, 1 day left). Deadline Wed 09-30 → first overdue on 10-08
    (8 days), with its escalation; the make-up Saturday 10-10 is a working day but within
    the 3-day repeat; Mon 10-12 the next overdue."""
    soon = make_item(world, date(2026, 10, 9))
    late = make_item(world, date(2026, 9, 30))
    results = sweep_days(date(2026, 9, 30), date(2026, 10, 12))
    for d in range(1, 8):
        assert results[date(2026, 10, d)].skipped_reason
    assert results[date(2026, 10, 10)].skipped_reason is None
    assert results[date(2026, 10, 11)].skipped_reason
    due = sweep_notes(soon.id, "due_soon")
    assert {(n.day, n.rule_id) for n in due} == {(date(2026, 10, 8), rule("assignment", "due_soon", 1).id)}
    assert "还有 1 天" in due[0].message
    assert sorted({n.day for n in sweep_notes(late.id, "overdue")}) == [date(2026, 10, 8), date(2026, 10, 12)]
    assert "已逾期 8 天" in sweep_notes(late.id, "overdue", date(2026, 10, 8))[0].message
    assert {n.day for n in sweep_notes(late.id, "escalate")} == {date(2026, 10, 8)}


def test_override_making_a_weekday_a_holiday_suppresses_sending(world):
    make_item(world, date(2026, 12, 1))
    _db.session.add(CalendarOverride(day=TUESDAY, is_workday=False, note="调休"))
    _db.session.commit()
    r = sweep(TUESDAY)
    assert r.skipped_reason and r.counts["sent"] == 0 and sweep_notes() == []
    r2 = sweep(TUESDAY + timedelta(days=1))
    assert r2.skipped_reason is None and r2.counts["sent"] > 0


def test_override_making_a_saturday_a_working_day_enables_sending(world):
    a = make_item(world, date(2026, 12, 10))
    saturday = date(2026, 12, 12)
    assert sweep(saturday).skipped_reason
    _db.session.add(CalendarOverride(day=saturday, is_workday=True, note="补班"))
    _db.session.commit()
    r = sweep(saturday)
    assert r.skipped_reason is None
    assert {n.recipient_id for n in sweep_notes(a.id, "overdue", saturday)} == base1_receivers(world)


def test_working_day_rule_counts_working_days_across_a_weekend(world):
    """due_soon 3 *working* days before a Tue 12-15 deadline: Thu 12-10 (Fri, Mon, Tue);
    in calendar days it would be Sat 12-12 — skipped, so Monday's band 1 instead."""
    r3 = rule("assignment", "due_soon", 3)
    r3.working_days = True
    _db.session.commit()
    a = make_item(world, date(2026, 12, 15))
    sweep(date(2026, 12, 9))  # 4 working days: not yet
    assert [n for n in sweep_notes(a.id, "due_soon") if n.rule_id == r3.id] == []
    sweep(date(2026, 12, 10))
    band3 = [n for n in sweep_notes(a.id, "due_soon") if n.rule_id == r3.id]
    assert {n.day for n in band3} == {date(2026, 12, 10)}
    assert {n.recipient_id for n in band3} == base1_receivers(world)
    assert "还有 3 天" in band3[0].message


def test_working_day_overdue_rule_counts_working_days(world):
    """escalate after 3 working days: deadline Fri 12-04 → Wed 12-09 (Mon, Tue, Wed... the
    days after the deadline), not Mon 12-07 as in calendar days."""
    esc = rule("assignment", "escalate", 3)
    esc.working_days = True
    _db.session.commit()
    a = make_item(world, date(2026, 12, 4))
    sweep_days(date(2026, 12, 7), date(2026, 12, 10))
    days = {n.day for n in sweep_notes(a.id, "escalate")}
    assert len(days) == 1
    (day,) = days
    cal = Calendar(overrides={})
    assert -cal.workdays_between(day, date(2026, 12, 4)) == 3
    assert day > date(2026, 12, 7)
