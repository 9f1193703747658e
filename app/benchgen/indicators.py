"""Monthly case-quality figures for every court of a province (issue 14 on the bench):
each high, intermediate and base court reports its own ten key indicators for every
month of the span — plausible figures, now and then one out of its interval."""

from __future__ import annotations

import random
from datetime import date

from app.benchgen.context import Clock, Province
from app.benchgen.writer import BulkWriter
from app.seed.demo_indicators import RATES

SCALE = {"high": 300, "intermediate": 900, "base": 1500}


def catalogue_ids(years: list[int]) -> dict[int, list[tuple[int, str, str]]]:
    """{year: [(indicator id, code, aggregate)]} after seeding each year's catalogue."""
    from sqlalchemy import select

    from app.extensions import db
    from app.indicators.catalogue import seed_catalogue
    from app.indicators.models import Indicator
    from app.timeutil import utcnow

    for y in years:
        seed_catalogue(y, now=utcnow())
    db.session.commit()
    out: dict[int, list[tuple[int, str, str]]] = {}
    for i in db.session.scalars(select(Indicator).where(Indicator.year.in_(years))):
        out.setdefault(i.year, []).append((i.id, i.code, i.aggregate))
    return out


def span_months(clock: Clock) -> list[str]:
    first, last = clock.span_start, date(clock.today.year, clock.today.month, 1)
    out, y, m = [], first.year, first.month
    while (y, m) < (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_indicator_values(
    w: BulkWriter,
    p: Province,
    clock: Clock,
    rng: random.Random,
    catalogue: dict[int, list[tuple[int, str, str]]],
) -> None:
    courts = (
        [(p.high, "high")] + [(u, "intermediate") for u in p.intermediates] + [(u, "base") for u in p.bases]
    )
    for month in span_months(clock):
        indicators = catalogue.get(int(month[:4]), [])
        for unit_id, level in courts:
            cases = int(SCALE[level] * rng.uniform(0.6, 1.4))
            for ind_id, code, aggregate in indicators:
                row = {"numerator": None, "denominator": None, "value": None, "weight": None}
                if code in RATES:
                    share, low, high = RATES[code]
                    den = max(1, int(cases * share))
                    rate = rng.uniform(low, high) if rng.random() > 0.03 else low * 0.9
                    row.update(numerator=float(int(den * rate)), denominator=float(den))
                elif code == "ZXDWL":
                    den = round(rng.uniform(0.3, 2.0) * SCALE[level] * 10, 1)
                    row.update(numerator=round(den * rng.uniform(0.45, 0.7), 1), denominator=den)
                elif aggregate == "mean":
                    row.update(value=round(rng.uniform(35, 55), 1), weight=float(int(cases * 0.9)))
                else:
                    row.update(value=float(rng.randint(0, 4)))
                w.add(
                    "indicator_values",
                    {
                        "id": w.new_id("indicator_values"),
                        "indicator_id": ind_id,
                        "unit_id": unit_id,
                        "month": month,
                        **row,
                        "source": "import",
                        "entered_by_id": None,
                        "entered_at": clock.now,
                        "version": 1,
                    },
                )
