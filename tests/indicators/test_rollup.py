"""The roll-up arithmetic on a hand-built fixture: rates as Σ numerators ÷ Σ denominators
(where averaging the rates would give another answer), counts as sums, averages weighted
by their stored weight; compliance, 达标率 and the score from those figures."""

from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.indicators import compliance as comp
from app.indicators.values import Agg, rollup, save_values, value_of
from app.timeutil import utcnow

MONTH = "2026-03"
TODAY = date(2026, 12, 1)


def _save(unit, month, figures, by_code, actor=None, source="form"):
    save_values(
        actor,
        unit,
        month,
        [(by_code[c], data) for c, data in figures.items()],
        source=source,
        clear_blank=False,
        today=TODAY,
        now=utcnow(),
    )
    db.session.commit()


def test_rates_roll_up_as_sums_not_as_averages_of_rates(ind):
    t, by = ind.t, ind.by_code
    _save(t.inter1, MONTH, {"JAL": {"numerator": 10, "denominator": 10}}, by)  # 100 %
    _save(t.base1, MONTH, {"JAL": {"numerator": 1, "denominator": 10}}, by)  # 10 %
    _save(t.base2, MONTH, {"JAL": {"numerator": 80, "denominator": 100}}, by)  # 80 %
    jal = by["JAL"]
    sums = rollup([t.inter1.id, t.base1.id, t.high.id, t.inter2.id], [MONTH])
    got = value_of(jal, sums[(t.inter1.id, jal.id, MONTH)])
    assert got == pytest.approx(100 * 91 / 120)  # 75.83 %
    assert got != pytest.approx((100 + 10 + 80) / 3)  # the average of the rates: 63.3 %
    assert sums[(t.inter1.id, jal.id, MONTH)].reports == 3
    assert value_of(jal, sums[(t.base1.id, jal.id, MONTH)]) == pytest.approx(10.0)
    assert value_of(jal, sums[(t.high.id, jal.id, MONTH)]) == pytest.approx(100 * 91 / 120)
    assert (t.inter2.id, jal.id, MONTH) not in sums  # nobody below inter2 reported


def test_counts_sum_and_averages_are_weighted_by_their_weight(ind):
    t, by = ind.t, ind.by_code
    _save(t.base1, MONTH, {"CQWJ": {"value": 2}, "PJSLTS": {"value": 30, "weight": 10}}, by)
    _save(t.base2, MONTH, {"CQWJ": {"value": 5}, "PJSLTS": {"value": 60, "weight": 90}}, by)
    sums = rollup([t.inter1.id], [MONTH])
    assert value_of(by["CQWJ"], sums[(t.inter1.id, by["CQWJ"].id, MONTH)]) == 7
    days = value_of(by["PJSLTS"], sums[(t.inter1.id, by["PJSLTS"].id, MONTH)])
    assert days == pytest.approx((30 * 10 + 60 * 90) / 100)  # 57 days
    assert days != pytest.approx(45)  # the plain average


def test_value_of_nothing_reported_is_none():
    from types import SimpleNamespace

    rate = SimpleNamespace(kind="rate", aggregate="ratio")
    assert value_of(rate, None) is None
    assert value_of(rate, Agg(reports=0)) is None


def test_compliance_rate_and_score(ind):
    t, by = ind.t, ind.by_code
    # base1: JAL 95 % (≥ 90: in), FDSXNJAL 88.2 % (≥ 98: out by 10 %), GPFHL 1 % (≤ 2.5: in),
    # CQWJ has no interval (not counted)
    _save(
        t.base1,
        MONTH,
        {
            "JAL": {"numerator": 95, "denominator": 100},
            "FDSXNJAL": {"numerator": 882, "denominator": 1000},
            "GPFHL": {"numerator": 1, "denominator": 100},
            "CQWJ": {"value": 9},
        },
        by,
    )
    (row,) = comp.compliance([t.base1], MONTH)
    assert (row.in_range, row.with_interval) == (2, 3)
    assert row.rate == pytest.approx(200 / 3)
    fd = next(f for f in row.figures if f.indicator.code == "FDSXNJAL")
    assert fd.inside is False and comp.points(fd.indicator, fd.value) == pytest.approx(90.0, abs=0.01)
    assert row.score == pytest.approx((100 + 90 + 100) / 3, abs=0.01)  # equal weights
    cq = next(f for f in row.figures if f.indicator.code == "CQWJ")
    assert cq.inside is None and cq.value == 9


def test_ranking_within_a_level_with_the_change_since_last_month(ind):
    t, by = ind.t, ind.by_code
    good, bad = {"numerator": 99, "denominator": 100}, {"numerator": 50, "denominator": 100}
    _save(t.base1, "2026-02", {"JAL": good}, by)
    _save(t.base2, "2026-02", {"JAL": bad}, by)
    _save(t.base1, MONTH, {"JAL": bad}, by)
    _save(t.base2, MONTH, {"JAL": good}, by)
    rows = comp.ranking(t.high.id, "base", MONTH)
    by_unit = {r.unit_id: r for r in rows}
    assert by_unit[t.base2.id].rank == 1 and by_unit[t.base2.id].change == 1
    assert by_unit[t.base1.id].rank == 2 and by_unit[t.base1.id].change == -1
    assert by_unit[t.base3.id].rank is None  # nothing reported: unranked, last
    assert rows[-1].unit_id == t.base3.id
