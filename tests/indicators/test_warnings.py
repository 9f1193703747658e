"""预警: an indicator outside its interval for three months running is told to the court
and the court above it exactly once per episode, through the reminder engine's own rule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.indicators.models import IndicatorWarning
from app.indicators.values import save_values
from app.indicators.warnings import run_warnings
from app.notifications import Notification
from app.reminders.models import ReminderRule
from app.reminders.sweep import run_sweep

NOW = datetime(2026, 7, 1, 1, 0)
BAD = {"numerator": 90, "denominator": 100}  # 法定审限内结案率 90 % (interval ≥ 98 %)
GOOD = {"numerator": 99, "denominator": 100}


def _report(ind, unit, months_values):
    for month, data in months_values.items():
        save_values(
            None,
            unit,
            month,
            [(ind.by_code["FDSXNJAL"], data)],
            source="api",
            clear_blank=False,
            today=date(2026, 12, 1),
            now=NOW,
        )
    db.session.commit()


def _warned(kind="indicator_warning") -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


def test_three_months_out_warns_the_court_and_the_court_above_once(ind):
    t = ind.t
    _report(ind, t.base1, {"2026-01": GOOD, "2026-02": BAD, "2026-03": BAD})
    # base1's own roll-up includes nobody else; inter1 = base1 + base2 (base2 keeps it inside)
    _report(
        ind, t.base2, {m: {"numerator": 990, "denominator": 1000} for m in ("2026-02", "2026-03", "2026-04")}
    )
    assert run_warnings(date(2026, 4, 10), NOW).raised == 0  # two months: not yet
    _report(ind, t.base1, {"2026-04": BAD})
    result = run_warnings(date(2026, 5, 10), NOW)
    db.session.commit()
    assert result.raised == 1 and result.month == "2026-04"
    (w,) = db.session.scalars(select(IndicatorWarning))
    assert (w.unit_id, w.first_month, w.last_month, w.months) == (t.base1.id, "2026-02", "2026-04", 3)
    told = {n.recipient_id for n in _warned()}
    assert told == {ind.base1_coord.id, ind.inter_assigner.id, ind.inter_leader.id}
    assert "连续 3 个月" in _warned()[0].message and "≥98%" in _warned()[0].message
    # again, and a fourth month out: the same episode, nobody told twice
    assert run_warnings(date(2026, 5, 11), NOW).raised == 0
    _report(ind, t.base1, {"2026-05": BAD})
    again = run_warnings(date(2026, 6, 2), NOW)
    db.session.commit()
    assert (again.raised, again.continued) == (0, 1)
    assert len(_warned()) == 3
    db.session.refresh(w)
    assert (w.last_month, w.months, w.ended_month) == ("2026-05", 4, None)
    # back inside: the episode ends; out again for three months: a new episode, told again
    _report(ind, t.base1, {"2026-06": GOOD})
    assert run_warnings(date(2026, 7, 2), NOW).ended == 1
    _report(ind, t.base1, {"2026-07": BAD, "2026-08": BAD, "2026-09": BAD})
    assert run_warnings(date(2026, 10, 2), NOW).raised == 1
    db.session.commit()
    assert len(_warned()) == 6
    assert (
        db.session.scalar(select(IndicatorWarning.ended_month).where(IndicatorWarning.id == w.id))
        == "2026-06"
    )


def test_the_rule_is_the_reminder_engines_and_editable(ind, as_user):
    t = ind.t
    rule = db.session.scalar(select(ReminderRule).where(ReminderRule.item_type == "indicator"))
    assert (rule.kind, rule.days, rule.is_active) == ("out_of_range", 3, True)
    _report(ind, t.base1, {"2026-03": BAD, "2026-04": BAD})
    rule.days = 2
    db.session.commit()
    # the daily sweep runs it (a working day); its run log counts it
    result = run_sweep(date(2026, 5, 11), NOW, trigger="cli")
    db.session.commit()
    assert result.counts["indicator_warnings"] == 1
    rule.is_active = False
    _report(ind, t.base2, {"2026-03": BAD, "2026-04": BAD})
    db.session.commit()
    assert "indicator_warnings" not in run_sweep(date(2026, 5, 12), NOW, trigger="cli").counts
    from tests import factories

    admin = factories.user("ind_admin", t.high, ["admin"])
    db.session.commit()
    page = as_user(admin).get("/admin/reminders/rules").get_data(as_text=True)
    assert "质效预警" in page and "连续 2 个月不在参考区间内预警" in page
    resp = as_user(admin).post(
        f"/admin/reminders/rules/{rule.id}",
        data={"days": "30", "version": str(rule.version), "is_active": "1"},
    )
    assert resp.status_code == 400 and "1–24" in resp.get_data(as_text=True)
