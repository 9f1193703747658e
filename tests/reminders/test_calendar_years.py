"""The statutory calendar from the `holidays` library (issue 13): whole years checked against
the State Council's notices, 2027's Spring Festival, make-up working days, overrides on top,
and years without a notice reported on /admin/reminders/calendar and by
`missing_calendar_years()` instead of silently counted Monday to Friday."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from holidays.calendars.gregorian import FEB
from holidays.countries.china import ChinaStaticHolidays

from app.reminders import admin_views, workdays
from app.reminders.workdays import Calendar, missing_calendar_years
from tests import factories


def _days(*spans: tuple[date, date]) -> set[date]:
    out: set[date] = set()
    for first, last in spans:
        day = first
        while day <= last:
            out.add(day)
            day += timedelta(days=1)
    return out


# Each year's notice, typed from its text (not from the library):
# 2025 — 国务院办公厅关于2025年部分节假日安排的通知 (2024-11-12), e.g.
#   http://www.hbcasj.com/socialgd/10000169/20241113/47572359.html
# 2026 — 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), e.g.
#   https://politics.gmw.cn/2025-11/04/content_38391083.htm
NOTICES = {
    2025: (
        _days(
            (date(2025, 1, 1), date(2025, 1, 1)),
            (date(2025, 1, 28), date(2025, 2, 4)),
            (date(2025, 4, 4), date(2025, 4, 6)),
            (date(2025, 5, 1), date(2025, 5, 5)),
            (date(2025, 5, 31), date(2025, 6, 2)),
            (date(2025, 10, 1), date(2025, 10, 8)),
        ),
        {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)},
    ),
    2026: (
        _days(
            (date(2026, 1, 1), date(2026, 1, 3)),
            (date(2026, 2, 15), date(2026, 2, 23)),
            (date(2026, 4, 4), date(2026, 4, 6)),
            (date(2026, 5, 1), date(2026, 5, 5)),
            (date(2026, 6, 19), date(2026, 6, 21)),
            (date(2026, 9, 25), date(2026, 9, 27)),
            (date(2026, 10, 1), date(2026, 10, 7)),
        ),
        {
            date(2026, 1, 4),
            date(2026, 2, 14),
            date(2026, 2, 28),
            date(2026, 5, 9),
            date(2026, 9, 20),
            date(2026, 10, 10),
        },
    ),
}


@pytest.fixture(autouse=True)
def fresh_year_tables():
    """The per-year tables are cached per process; tests that pretend the library carries
    another notice must not leak into others."""
    workdays._statutory_exceptions.cache_clear()
    yield
    workdays._statutory_exceptions.cache_clear()


@pytest.fixture
def admin(tree):
    return factories.user("admin", tree.high, ["admin"])


def _page(client, monkeypatch, today: date) -> str:
    """The calendar page as it looks on `today` (only the page's "today" moves: travelling the
    clock years ahead would expire the admin's password)."""
    monkeypatch.setattr(admin_views, "local_today", lambda: today)
    resp = client.get("/admin/reminders/calendar")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


# ---------------------------------------------------------------- years with a notice


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_day_of_the_year_follows_the_notice(year):
    off, made_up = NOTICES[year]
    cal = Calendar(overrides={})
    day, wrong = date(year, 1, 1), []
    while day.year == year:
        expected = day in made_up or (day.weekday() < 5 and day not in off)
        if cal.is_workday(day) != expected:
            wrong.append(day)
        day += timedelta(days=1)
    assert wrong == []
    assert workdays.has_official_data(year) and year not in missing_calendar_years(date(year, 6, 1))


def test_make_up_weekend_days_are_working_days():
    cal = Calendar(overrides={})
    for day in sorted(NOTICES[2026][1]):
        assert day.weekday() >= 5 and cal.is_workday(day), day
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 14)) == 1  # Fri → make-up Sat
    assert cal.next_workday(date(2026, 2, 28)) == date(2026, 2, 28)


def test_a_make_up_day_set_by_next_years_notice_counts():
    """2002's notice moved the working days of Sat/Sun 29–30 December 2001 to 2–3 January."""
    cal = Calendar(overrides={})
    assert cal.is_workday(date(2001, 12, 29)) and cal.is_workday(date(2001, 12, 30))
    assert not cal.is_workday(date(2002, 1, 2)) and not cal.is_workday(date(2002, 1, 3))


# ---------------------------------------------------------------- 2027


def test_2027_spring_festival_days_are_not_working_days():
    """By law (《全国年节及纪念日放假办法》 as revised 2024-11-12, in force 2025: 春节 = 农历除夕
    and 正月初一至初三, e.g. https://wxredian.com/art?id=5b8beb4abea067959c7bed699f6f97cb) and the
    lunar calendar (正月初一 2027 = 6 February, e.g. https://weeksfromtoday.com/lunar-new-year-dates/):
    Fri 02-05 to Mon 02-08 are days off, with or without the year's notice."""
    cal = Calendar(overrides={})
    spring = [date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]
    assert not any(cal.is_workday(d) for d in spring)
    assert cal.is_workday(date(2027, 2, 4))  # Thursday before 除夕
    names = dict(workdays.statutory_days(2027))
    assert names[date(2027, 2, 5)] == "农历除夕"
    assert [names[d] for d in spring[1:]] == ["春节"] * 3
    # and the other days the law fixes by the Gregorian date
    assert not cal.is_workday(date(2027, 1, 1))  # 元旦, a Friday
    assert not cal.is_workday(date(2027, 10, 1))  # 国庆, a Friday


def test_2027_has_no_notice_yet_so_it_is_reported_and_weekends_stay_weekends():
    """holidays 0.108 carries the notices up to 2026; its own rule-based 2027 days in lieu
    (e.g. Tue 02-09 "observed") are guesses, not counted: only the notice can place them."""
    assert workdays.last_official_year() == 2026
    assert not workdays.has_official_data(2027)
    cal = Calendar(overrides={})
    weekends = [d for d in _days((date(2027, 1, 1), date(2027, 12, 31))) if d.weekday() >= 5]
    assert not any(cal.is_workday(d) for d in weekends)  # no make-up day is invented
    assert cal.is_workday(date(2027, 2, 9))


def test_when_the_library_carries_2027_the_calendar_follows_it(monkeypatch):
    """What upgrading `holidays` to a release with the 2027 notice does: the warning goes and
    its days count. The arrangement here is made up (the real notice is not out yet): Tue 02-09
    off in exchange for Sat 02-20."""
    assert missing_calendar_years(date(2026, 12, 6)) == [2027]
    assert Calendar(overrides={}).is_workday(date(2027, 2, 9))
    monkeypatch.setitem(ChinaStaticHolidays.special_public_holidays, 2027, ((FEB, 9, FEB, 20),))
    workdays._statutory_exceptions.cache_clear()
    assert missing_calendar_years(date(2026, 12, 6)) == []
    cal = Calendar(overrides={})
    assert cal.is_workday(date(2027, 2, 20))  # the make-up Saturday
    assert not cal.is_workday(date(2027, 2, 9))
    assert not cal.is_workday(date(2027, 2, 5))


# ---------------------------------------------------------------- overrides win


def test_overrides_win_both_ways_in_every_kind_of_year():
    cal = Calendar(
        overrides={
            date(2026, 2, 14): False,  # a make-up Saturday of the notice
            date(2026, 2, 17): True,  # 春节 2026
            date(2027, 2, 8): True,  # 春节 2027, a statutory day of a year without a notice
            date(2027, 2, 9): False,  # a weekday of that year
            date(2027, 2, 20): True,  # a Saturday of that year
            date(2031, 1, 23): True,  # 春节 2031
        }
    )
    assert not cal.is_workday(date(2026, 2, 14))
    assert cal.is_workday(date(2026, 2, 17))
    assert cal.is_workday(date(2027, 2, 8))
    assert not cal.is_workday(date(2027, 2, 9))
    assert cal.is_workday(date(2027, 2, 20))
    assert cal.is_workday(date(2031, 1, 23))
    # the days around them keep the library's answer
    assert not Calendar(overrides={}).is_workday(date(2026, 2, 16))
    assert not cal.is_workday(date(2027, 2, 7))


# ---------------------------------------------------------------- years without data


@pytest.mark.parametrize(
    "today, missing",
    [
        (date(2026, 6, 1), []),
        (date(2026, 9, 30), []),
        (date(2026, 10, 1), [2027]),  # next year's notice is due
        (date(2026, 12, 6), [2027]),
        (date(2027, 1, 1), [2027]),
        (date(2031, 3, 1), [2031]),
        (date(2031, 10, 2), [2031, 2032]),
        (date(2020, 12, 31), []),
    ],
)
def test_missing_calendar_years(today, missing):
    assert missing_calendar_years(today) == missing


def test_a_far_year_counts_statutory_days_and_monday_to_friday():
    """2031: 正月初一 = Thu 23 January (https://weeksfromtoday.com/lunar-new-year-dates/)."""
    cal = Calendar(overrides={})
    assert not any(cal.is_workday(date(2031, 1, d)) for d in (22, 23, 24))  # 除夕, 初一, 初二
    assert not cal.is_workday(date(2031, 1, 25))  # 初三, a Saturday
    assert cal.is_workday(date(2031, 1, 27))  # Monday: no notice places a day in lieu
    assert cal.is_workday(date(2031, 1, 21)) and not cal.is_workday(date(2031, 1, 26))
    assert cal.workdays_between(date(2031, 1, 20), date(2031, 1, 31)) == 6  # 21, 27–31


def test_the_page_warns_about_a_year_without_data(db, admin, login, monkeypatch):
    body = _page(login(admin), monkeypatch, date(2026, 12, 6))
    assert 'data-testid="calendar-missing-2027"' in body
    assert "2027年的法定节假日和调休安排尚无官方数据" in body
    assert "按周一至周五计算" in body and "请在下方逐日补充" in body
    assert "2月5日（农历除夕）" in body and "2月8日（春节）" in body
    assert "至 2026 年" in body
    assert "calendar-missing-2026" not in body


def test_the_page_warns_about_a_far_year_and_the_next_one(db, admin, login, monkeypatch):
    body = _page(login(admin), monkeypatch, date(2031, 10, 2))
    assert "2031年的法定节假日和调休安排尚无官方数据" in body
    assert "2032年的法定节假日和调休安排尚无官方数据" in body
    assert "暂</span>" in body  # the next 30 days are marked as provisional


def test_the_page_is_quiet_when_the_data_is_there(db, admin, login, monkeypatch):
    client = login(admin)
    body = _page(client, monkeypatch, date(2026, 7, 10))
    assert "calendar-missing" not in body and "暂</span>" not in body
    monkeypatch.setitem(ChinaStaticHolidays.special_public_holidays, 2027, ((FEB, 9, FEB, 20),))
    assert "calendar-missing" not in _page(client, monkeypatch, date(2026, 12, 6))


def test_an_override_entered_on_the_page_wins_in_a_year_without_data(db, admin, login, monkeypatch):
    """What the warning asks for: the admin enters the notice's days once it is out."""
    client = login(admin)
    for day, kind in (("2027-02-09", "holiday"), ("2027-02-20", "workday")):
        resp = client.post(
            "/admin/reminders/calendar", data={"day": day, "kind": kind, "note": "2027年春节调休"}
        )
        assert resp.status_code == 302 and resp.location.endswith("/admin/reminders/calendar"), day
    body = _page(client, monkeypatch, date(2026, 12, 6))
    cal = Calendar()
    assert not cal.is_workday(date(2027, 2, 9)) and cal.is_workday(date(2027, 2, 20))
    assert "2027-02-09" in body and "2027-02-20" in body
    assert "2027年的法定节假日和调休安排尚无官方数据" in body  # still no official data
