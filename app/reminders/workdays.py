"""The Chinese working-day calendar: statutory holidays and make-up working days from the
`holidays` library (its China calendar is updated from the State Council's notice each
year), then the admins' overrides, which always win.

Years the library has no State Council notice for (the one for year N comes out around
November of N-1) are reported, never silently guessed: `missing_calendar_years()` names
them for the admin page and `flask --app wsgi check`. For such a year the statutory
holidays themselves are still days off — the law fixes them (《全国年节及纪念日放假办法》,
2024 revision: 元旦, 农历除夕 and 正月初一至初三, 清明, 5月1日–2日, 端午, 中秋, 10月1日–3日),
and the library places them by the lunar calendar — but where the days in lieu (补假)
and the make-up working days (调休上班) fall only the notice can say, so the rest of
such a year counts Monday to Friday until an admin enters the notice's days as overrides.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from holidays.countries.china import ChinaStaticHolidays
from sqlalchemy import select

from app.extensions import db
from app.reminders.models import CalendarOverride

# The library has checked its China data against the State Council's notices since 2001
# (its docstring, "Limitations"); every notice since then moves at least one working day
# (调休), so the last year with substituted days is the last notice the library carries.
FIRST_OFFICIAL_YEAR = 2001
# From this day of a year on, next year's notice is due (published 25 Oct 2023, 12 Nov 2024,
# 4 Nov 2025), so a next year without data is reported too.
NEXT_YEAR_DUE = (10, 1)
_ONE_DAY = timedelta(days=1)


def has_official_data(year: int) -> bool:
    """Whether the library carries the State Council's arrangement (调休 included) for `year`."""
    return FIRST_OFFICIAL_YEAR <= year <= last_official_year()


def last_official_year() -> int:
    """The last year whose State Council notice the installed library carries (read at call
    time, so tests can simulate a library that carries a newer one)."""
    return max(ChinaStaticHolidays.special_public_holidays)


def missing_calendar_years(today: date) -> list[int]:
    """This year, and from 1 October next year too, when the library has no official data
    for it: reminders would count those years' days Monday to Friday (statutory days aside)."""
    years = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_DUE:
        years.append(today.year + 1)
    return [y for y in years if not has_official_data(y)]


def statutory_days(year: int) -> list[tuple[date, str]]:
    """The statutory holidays of `year` as the law fixes them (no 补假, no 调休), in Chinese."""
    cal = holidays.China(years=year, observed=False, language="zh_CN")
    return sorted(cal.items())


def missing_year_message(year: int, *, on_page: bool = True) -> str:
    """The warning for a year without official data: on the admin page (`on_page`) or
    elsewhere, e.g. `flask --app wsgi check`."""
    where = "请在下方逐日补充" if on_page else "请在“工作日调整”页面（/admin/reminders/calendar）逐日补充"
    return (
        f"{year}年的法定节假日和调休安排尚无官方数据（本系统所带的节假日数据"
        f"只收录到{last_official_year()}年的国务院通知）。"
        f"该年除法定节假日当天外，暂按周一至周五计算工作日；"
        f"国务院通知中的补休和调休上班日期，{where}，或升级节假日库。"
    )


@lru_cache(maxsize=64)  # years; a table is ~30 entries
def _statutory_exceptions(year: int) -> dict[date, bool]:
    """The days of `year` that differ from Monday to Friday: a weekday off → False, a
    make-up working weekend day → True. Built once per year and process (the data is static)."""
    if has_official_data(year):
        # next year's notice can move a working day into this December (e.g. 2001-12-29)
        cal = holidays.China(years={year, year + 1})
        is_working = cal.is_working_day
    else:
        statutory = holidays.China(years=year, observed=False)

        def is_working(day: date) -> bool:
            return day.weekday() < 5 and day not in statutory

    exceptions: dict[date, bool] = {}
    day = date(year, 1, 1)
    while day.year == year:
        working = is_working(day)
        if working != (day.weekday() < 5):
            exceptions[day] = working
        day += _ONE_DAY
    return exceptions


class Calendar:
    """Working days, with the overrides loaded once (one query) for a sweep."""

    def __init__(self, overrides: dict[date, bool] | None = None):
        if overrides is None:
            overrides = dict(
                db.session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all()
            )
        self.overrides = overrides

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        exceptions = _statutory_exceptions(day.year)
        if day in exceptions:
            return exceptions[day]
        return day.weekday() < 5

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative if end < start)."""
        if end == start:
            return 0
        step = 1 if end > start else -1
        count, day = 0, start
        while day != end:
            day += timedelta(days=step)
            if self.is_workday(day):
                count += step
        return count

    def next_workday(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day
