"""The indicator pages send a fixed handful of statements, whatever the number of courts
and months reported (set-based roll-ups over the closure table, no N+1)."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.indicators import assessments as svc
from app.indicators.values import save_values
from app.timeutil import utcnow
from tests import factories

MONTHS = ("2026-01", "2026-02", "2026-03")


def _report(ind, units):
    codes = ("JAL", "FDSXNJAL", "PJSLTS", "CQWJ")
    for unit in units:
        for m in MONTHS:
            save_values(
                None,
                unit,
                m,
                [
                    (ind.by_code["JAL"], {"numerator": 91, "denominator": 100}),
                    (ind.by_code["FDSXNJAL"], {"numerator": 90, "denominator": 100}),
                    (ind.by_code["PJSLTS"], {"value": 50, "weight": 30}),
                    (ind.by_code["CQWJ"], {"value": 2}),
                ][: len(codes)],
                source="api",
                clear_blank=False,
                today=date(2026, 12, 1),
                now=utcnow(),
            )
    db.session.commit()


def _grow(ind, n):
    units = []
    for i in range(n):
        base = factories.unit(f"扩展{i}区人民法院", "base", ind.t.inter1)
        units.append(base)
    db.session.commit()
    _report(ind, units)


@pytest.mark.parametrize(
    "path, limit",
    [
        ("/indicators/compliance?month=2026-03", 12),
        ("/indicators/ranking?level=base&month=2026-03", 12),
        ("/indicators/values?month=2026-03", 12),
        ("/indicators/trend?month=2026-03&code=JAL", 12),
        ("/indicators/warnings", 10),
        ("/api/v1/indicator-values?month=2026-03", 10),
        ("/api/v1/indicators/compliance?month=2026-03", 10),
        ("/assessments", 10),
        ("/assessment", 12),
    ],
)
def test_indicator_pages_do_not_grow(ind, as_user, count_queries, path, limit):
    _report(ind, [ind.t.inter1, ind.t.base1, ind.t.base2, ind.t.base3])
    a = svc.open_assessment(
        ind.reviewer,
        ind.t.high,
        kind="quarter",
        year=2026,
        number=1,
        level="base",
        scheme={"indicator_compliance": 1},
        today=date(2026, 12, 1),
        now=utcnow(),
    )
    svc.compute(ind.reviewer, a, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow())
    db.session.commit()
    url = f"/assessments/{a.id}" if path == "/assessment" else path
    c = as_user(ind.reviewer)
    with count_queries() as small:
        assert c.get(url).status_code == 200
    _grow(ind, 15)
    with count_queries() as large:
        assert c.get(url).status_code == 200
    assert len(large) == len(small), f"{url}: {len(small)} → {len(large)}"
    assert len(large) <= limit, "\n\n".join(s[:160] for s in large)
