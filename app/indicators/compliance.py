"""Per court and month: which indicators sit inside their reference interval, the
达标率, the composite score from the weights, the ranking within a level and its change
since the month before, and the series for the trend charts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.extensions import db
from app.indicators.models import Indicator, IndicatorValue
from app.indicators.values import Agg, catalogue_for, month_add, rollup, value_of
from app.org.models import Unit, UnitClosure


def in_interval(ind: Indicator, value: float) -> bool:
    low, high = ind.interval_low, ind.interval_high
    return (low is None or value >= low - 1e-9) and (high is None or value <= high + 1e-9)


def points(ind: Indicator, value: float) -> float:
    """0–100: 100 inside the interval; outside, less by the relative distance from the
    nearest bound (10 % beyond it → 90; as far again as the bound itself, or more → 0).
    A bound of 0 counts the distance in the indicator's own unit (1 件 beyond → 90)."""
    if in_interval(ind, value):
        return 100.0
    bound = (
        ind.interval_low if ind.interval_low is not None and value < ind.interval_low else ind.interval_high
    )
    distance = abs(value - bound)
    scale = abs(bound) if abs(bound) > 1e-9 else 10.0
    return max(0.0, 100.0 * (1 - distance / scale))


@dataclass
class Figure:
    indicator: Indicator
    value: float | None
    inside: bool | None  # None: no interval, or not reported

    @property
    def shown(self) -> str:
        if self.value is None:
            return "—"
        if self.indicator.kind == "rate":
            return f"{self.value:.2f}%"
        if self.indicator.aggregate == "mean":
            return f"{self.value:.1f}{self.indicator.unit_label}"
        return f"{self.value:g}{self.indicator.unit_label}"


@dataclass
class UnitCompliance:
    unit_id: int
    name: str
    level: str
    figures: list[Figure] = field(default_factory=list)
    in_range: int = 0
    with_interval: int = 0
    score: float | None = None
    rank: int | None = None
    previous_rank: int | None = None

    @property
    def rate(self) -> float | None:
        return 100.0 * self.in_range / self.with_interval if self.with_interval else None

    @property
    def change(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank  # up is positive


def compliance(
    units: list[Unit], month: str, indicators: list[Indicator] | None = None
) -> list[UnitCompliance]:
    """Each unit's figures over its subtree for the month, with 达标率 and score."""
    indicators = indicators if indicators is not None else catalogue_for(month)
    by_unit: dict[int, dict[int, Agg]] = {}
    for (unit_id, indicator_id, _), agg in rollup([u.id for u in units], [month]).items():
        by_unit.setdefault(unit_id, {})[indicator_id] = agg
    return [_one(u, indicators, by_unit.get(u.id, {})) for u in units]


def _one(unit: Unit, indicators: list[Indicator], sums: dict[int, Agg]) -> UnitCompliance:
    row = UnitCompliance(unit.id, unit.name, unit.level)
    weighted = total = 0.0
    for ind in indicators:
        agg = sums.get(ind.id)
        value = value_of(ind, agg)
        inside = in_interval(ind, value) if (value is not None and ind.has_interval) else None
        row.figures.append(Figure(ind, value, inside))
        if inside is not None:
            row.with_interval += 1
            row.in_range += int(inside)
            weighted += ind.weight * points(ind, value)
            total += ind.weight
    row.score = weighted / total if total > 0 else None
    return row


def key_figures(unit: Unit, month: str) -> UnitCompliance:
    """The key indicators of a court over its subtree for the month (the dashboard and
    the wall): the catalogue and the sums in one statement."""
    v = IndicatorValue
    sums = (
        select(
            v.indicator_id.label("indicator_id"),
            func.sum(v.numerator).label("num"),
            func.sum(v.denominator).label("den"),
            func.sum(v.value).label("val"),
            func.sum(v.value * v.weight).label("vw"),
            func.sum(v.weight).label("w"),
            func.count().label("n"),
        )
        .join(UnitClosure, UnitClosure.descendant_id == v.unit_id)
        .where(UnitClosure.ancestor_id == unit.id, v.month == month)
        .group_by(v.indicator_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Indicator, sums.c.num, sums.c.den, sums.c.val, sums.c.vw, sums.c.w, sums.c.n)
        .outerjoin(sums, sums.c.indicator_id == Indicator.id)
        .where(Indicator.year == int(month[:4]), Indicator.is_key.is_(True))
        .order_by(Indicator.sort_order, Indicator.id)
    ).all()
    aggs = {
        ind.id: Agg(num or 0.0, den or 0.0, val or 0.0, vw or 0.0, w or 0.0, n)
        for ind, num, den, val, vw, w, n in rows
        if n
    }
    return _one(unit, [r[0] for r in rows], aggs)


def child_units(unit: Unit) -> list[Unit]:
    """The active units directly below a court, in tree order."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.parent_id == unit.id, Unit.is_active.is_(True))
            .order_by(Unit.sort_order, Unit.id)
        )
    )


def level_units(root_id: int, level: str) -> list[Unit]:
    """The active courts of a level under a root, in tree order."""
    return list(
        db.session.scalars(
            select(Unit)
            .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
            .where(UnitClosure.ancestor_id == root_id, Unit.level == level, Unit.is_active.is_(True))
            .order_by(Unit.sort_order, Unit.id)
        )
    )


def _places(rows: Iterable[UnitCompliance]) -> dict[int, int]:
    """Competition ranking by score, then 达标率 (no score: unranked)."""
    scored = sorted(
        (r for r in rows if r.score is not None), key=lambda r: (-round(r.score, 6), -(r.rate or 0), r.name)
    )
    places, last, place = {}, None, 0
    for i, r in enumerate(scored, start=1):
        key = (round(r.score, 6), round(r.rate or 0, 6))
        if key != last:
            place, last = i, key
        places[r.unit_id] = place
    return places


def ranking(root_id: int, level: str, month: str) -> list[UnitCompliance]:
    """The courts of a level ranked by score for the month, with last month's place."""
    units = level_units(root_id, level)
    rows = compliance(units, month)
    previous_month = month_add(month, -1)
    previous = compliance(units, previous_month, catalogue_for(previous_month))
    now_places, before = _places(rows), _places(previous)
    for r in rows:
        r.rank, r.previous_rank = now_places.get(r.unit_id), before.get(r.unit_id)
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.name))


def compliance_series(unit: Unit, months: list[str]) -> list[UnitCompliance]:
    """The court's 达标率 and score for each month: one roll-up, one catalogue per year."""
    sums = rollup([unit.id], months)
    catalogues = {y: catalogue_for(f"{y:04d}-01") for y in sorted({int(m[:4]) for m in months})}
    return [
        _one(unit, catalogues[int(m[:4])], {i: a for (_, i, mm), a in sums.items() if mm == m})
        for m in months
    ]


def series(unit_ids: list[int], indicator: Indicator, months: list[str]) -> dict[int, list[float | None]]:
    """{unit: the indicator's figure per month} (the catalogue of each month's year is the
    one its code names: a code carries over from year to year)."""
    by_year: dict[int, Indicator | None] = {}
    for m in months:
        y = int(m[:4])
        if y not in by_year:
            by_year[y] = db.session.scalar(
                select(Indicator).where(Indicator.year == y, Indicator.code == indicator.code)
            )
    sums = rollup(unit_ids, months)
    out: dict[int, list[float | None]] = {}
    for uid in unit_ids:
        values = []
        for m in months:
            ind = by_year.get(int(m[:4]))
            values.append(value_of(ind, sums.get((uid, ind.id, m))) if ind else None)
        out[uid] = values
    return out
