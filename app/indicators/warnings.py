"""预警: an indicator of a court outside its reference interval for N months running (N
is the reminder rule's `days`, editable on /admin/reminders/rules) is told to the court
and the court above it once per episode — in the notification centre and by e-mail as
each prefers. Run by the daily sweep; re-running it changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.indicators.compliance import in_interval
from app.indicators.models import Indicator, IndicatorValue, IndicatorWarning
from app.indicators.values import month_add, months_back, rollup, value_of
from app.notifications import add_new_only
from app.org.models import Unit
from app.reminders.models import ReminderRule

ITEM_TYPE, KIND = "indicator", "out_of_range"
OWN_ROLES = ("leader", "coordinator", "assigner", "reviewer")
SUPERIOR_ROLES = ("leader", "assigner", "reviewer")
LOOK_BACK = 24  # months: an episode longer than that is dated from 24 months back


@dataclass
class WarningResult:
    month: str
    raised: int = 0
    continued: int = 0
    ended: int = 0
    notified: int = 0


def evaluated_month(as_of: date) -> str:
    """The last complete month: values for a month come in during the next."""
    return month_add(f"{as_of.year:04d}-{as_of.month:02d}", -1)


def active_rule() -> ReminderRule | None:
    return db.session.scalar(
        select(ReminderRule).where(
            ReminderRule.item_type == ITEM_TYPE, ReminderRule.kind == KIND, ReminderRule.is_active.is_(True)
        )
    )


def run_warnings(as_of: date, now: datetime, *, months: int | None = None) -> WarningResult:
    """Raise the warnings of the evaluated month: runs of ≥ N months outside the interval
    ending in it. A run already warned of (same first month) is followed, not re-told;
    a warning whose indicator came back inside its interval is ended."""
    rule = active_rule() if months is None else None
    n = months if months is not None else (rule.days if rule else 0)
    month = evaluated_month(as_of)
    result = WarningResult(month)
    if n < 1:
        return result
    indicators = {
        i.id: i
        for i in db.session.scalars(select(Indicator).where(Indicator.year == int(month[:4])))
        if i.has_interval
    }
    reporting = list(
        db.session.scalars(select(IndicatorValue.unit_id).where(IndicatorValue.month == month).distinct())
    )
    current = rollup(reporting, [month])
    out_now = {
        (u, i)
        for (u, i, _), agg in current.items()
        if i in indicators
        and (v := value_of(indicators[i], agg)) is not None
        and not in_interval(indicators[i], v)
    }
    _end_episodes(out_now, month, result)
    if not out_now:
        return result
    window = months_back(month, LOOK_BACK)
    history = rollup({u for u, _ in out_now}, window[:-1])
    by_code = _indicators_by_year_code({m[:4] for m in window})
    raised = []
    for unit_id, ind_id in sorted(out_now):
        ind = indicators[ind_id]
        run = 1
        for m in reversed(window[:-1]):
            same = by_code.get((int(m[:4]), ind.code))
            v = value_of(same, history.get((unit_id, same.id, m))) if same is not None else None
            if v is None or not same.has_interval or in_interval(same, v):
                break
            run += 1
        if run < n:
            continue
        first = month_add(month, -(run - 1))
        found = db.session.scalar(
            select(IndicatorWarning).where(
                IndicatorWarning.indicator_id.in_(select(Indicator.id).where(Indicator.code == ind.code)),
                IndicatorWarning.unit_id == unit_id,
                IndicatorWarning.first_month == first,
            )
        )
        if found is not None:
            if found.last_month != month:
                found.last_month, found.months = month, run
                result.continued += 1
            continue
        w = IndicatorWarning(
            indicator_id=ind.id,
            unit_id=unit_id,
            first_month=first,
            last_month=month,
            months=run,
            raised_at=now,
        )
        db.session.add(w)
        raised.append((w, ind))
    db.session.flush()
    result.raised = len(raised)
    result.notified = _notify(raised, now)
    return result


def _indicators_by_year_code(years: set[str]) -> dict[tuple[int, str], Indicator]:
    rows = db.session.scalars(select(Indicator).where(Indicator.year.in_([int(y) for y in years])))
    return {(i.year, i.code): i for i in rows}


def _end_episodes(out_now: set[tuple[int, int]], month: str, result: WarningResult) -> None:
    """Warnings still open whose indicator is back inside (or not reported) this month."""
    codes = {i.id: i.code for i in db.session.scalars(select(Indicator))}
    current_ids = {(u, codes.get(i)) for u, i in out_now}
    for w in db.session.scalars(
        select(IndicatorWarning).where(
            IndicatorWarning.ended_month.is_(None), IndicatorWarning.last_month < month
        )
    ):
        if (w.unit_id, codes.get(w.indicator_id)) not in current_ids:
            w.ended_month = month
            result.ended += 1


def _notify(raised: list[tuple[IndicatorWarning, Indicator]], now: datetime) -> int:
    """The court's own people and those of the court above, once per episode (the key
    names the episode's first month)."""
    from app.tasks.writing import unit_people

    if not raised:
        return 0
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({w.unit_id for w, _ in raised})))
    }
    own: dict[int, set[int]] = {}
    for unit_id, uid in unit_people(units, OWN_ROLES):
        own.setdefault(unit_id, set()).add(uid)
    above: dict[int, set[int]] = {}
    for unit_id, uid in unit_people({u.parent_id for u in units.values() if u.parent_id}, SUPERIOR_ROLES):
        above.setdefault(unit_id, set()).add(uid)
    rows = []
    for w, ind in raised:
        unit = units[w.unit_id]
        message = (
            f"质效预警：{unit.name}“{ind.name}”已连续 {w.months} 个月（{_cn(w.first_month)}至{_cn(w.last_month)}）"
            f"不在参考区间（{ind.interval_text}）内，请分析原因、采取措施。"
        )
        recipients = own.get(unit.id, set()) | above.get(unit.parent_id, set())
        rows += [
            {
                "recipient_id": uid,
                "kind": "indicator_warning",
                "subject_type": "IndicatorWarning",
                "subject_id": w.id,
                "message": message,
                "dedupe_key": f"indicator:{ind.code}:{unit.id}:{w.first_month}",
                "created_by_id": None,
                "created_at": now,
            }
            for uid in sorted(recipients)
        ]
    return len(add_new_only(rows, now=now))


def _cn(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:])}月"
