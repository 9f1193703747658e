"""A unit whose items find nobody of its own to remind (its last account switched off
after the item was assigned): the people of the unit above it are told once — not on
every sweep — and the run log says so once instead of "找不到可通知的人员" every day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.notifications import Notification
from app.reminders.models import Delivery, SweepRun
from tests import factories
from tests.reminders.test_sweep import TUESDAY, make_item, make_world, sweep


@pytest.fixture
def world(db, tree):
    return make_world(tree)


def _nobody_notes() -> list[Notification]:
    return list(
        _db.session.scalars(
            select(Notification).where(Notification.kind == "nobody").order_by(Notification.id)
        )
    )


def _leave(w, unit):
    """A tribunal under base2 whose only head is switched off once it holds two items."""
    head = factories.user("bs_tz", unit, ["tribunal_head"])
    _db.session.commit()
    a = make_item(w, date(2026, 12, 1), unit)  # overdue on TUESDAY
    b = make_item(w, date(2026, 12, 10), unit)  # due soon on TUESDAY
    head.active = False
    _db.session.commit()
    return a, b


def test_the_superior_is_told_once_across_sweeps(world):
    unit = factories.unit("北山人民法庭", "tribunal", world.t.base2)
    world.u.base2_coord.email = "j2@court.example.cn"
    _db.session.commit()
    a, b = _leave(world, unit)
    first = sweep(TUESDAY)
    (n,) = _nobody_notes()
    assert n.recipient_id == world.u.base2_coord.id
    assert n.dedupe_key == f"nobody:{unit.id}"
    assert "北山人民法庭" in n.message and "2 项" in n.message
    assert (n.subject_type, n.subject_id) in {("Assignment", a.id), ("Assignment", b.id)}
    assert not any("找不到可通知的人员" in e for e in first.errors)
    assert [e for e in first.errors if "北山人民法庭" in e] == [
        "北山人民法庭没有可接收提醒的在岗人员，已告知上级单位（此后不再重复提示）。"
    ]
    assert _db.session.scalar(select(Delivery.mode).where(Delivery.notification_id == n.id)) == "digest"
    second = sweep(TUESDAY + timedelta(days=1))
    third = sweep(TUESDAY + timedelta(days=1))  # a rerun the same day
    assert len(_nobody_notes()) == 1
    assert not any("北山人民法庭" in e for e in second.errors + third.errors)
    runs = list(_db.session.scalars(select(SweepRun).order_by(SweepRun.id)))
    assert [any("北山人民法庭" in e for e in r.errors or []) for r in runs] == [True, False, False]


def test_with_nobody_in_the_unit_above_the_next_one_up_is_told(world):
    unit = factories.unit("北山人民法庭", "tribunal", world.t.base2)
    world.u.base2_coord.active = False
    _db.session.commit()
    _leave(world, unit)
    sweep(TUESDAY)
    assert {n.recipient_id for n in _nobody_notes()} == {
        world.u.assigner.id,
        world.u.inter1_coord.id,
        world.u.leader.id,
    }


def test_the_units_own_items_still_go_out_once_somebody_is_there(world):
    """Nothing was marked sent while nobody was there: a new head gets the reminders."""
    unit = factories.unit("北山人民法庭", "tribunal", world.t.base2)
    _db.session.commit()
    a, _ = _leave(world, unit)
    sweep(TUESDAY)
    new_head = factories.user("bs_tz2", unit, ["tribunal_head"])
    _db.session.commit()
    sweep(TUESDAY + timedelta(days=1))
    mine = _db.session.scalars(
        select(Notification).where(
            Notification.recipient_id == new_head.id, Notification.rule_id.is_not(None)
        )
    ).all()
    assert mine and len(_nobody_notes()) == 1


def test_a_dry_run_tells_nobody(world):
    unit = factories.unit("北山人民法庭", "tribunal", world.t.base2)
    _db.session.commit()
    _leave(world, unit)
    sweep(TUESDAY, dry_run=True)
    assert _nobody_notes() == []
