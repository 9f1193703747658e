"""The Chinese working-day calendar: statutory holidays and make-up working days from the
chinese-calendar library (maintained each year from the State Council's notice), then
the admins' overrides. Years the library does not know yet fall back to Mon–Fri."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select

from app.extensions import db
from app.reminders.models import CalendarOverride


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
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the library has no data for yet
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
