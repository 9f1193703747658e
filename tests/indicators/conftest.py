"""A tree with the 2026 catalogue and people to enter, review and receive figures."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.indicators.catalogue import seed_catalogue
from app.indicators.models import Indicator
from app.timeutil import utcnow
from tests import factories

YEAR = 2026


@pytest.fixture
def ind(tree):
    """tree + the 2026 catalogue (and 2025's) + people: the high court's reviewer, an
    intermediate court's assigner and leader, base courts' coordinators."""
    seed_catalogue(YEAR, now=utcnow())
    seed_catalogue(YEAR - 1, now=utcnow())
    w = SimpleNamespace(t=tree)
    w.reviewer = factories.user("ind_reviewer", tree.high, ["reviewer"])
    w.inter_assigner = factories.user("ind_inter1", tree.inter1, ["assigner"])
    w.inter_leader = factories.user("ind_inter1_ld", tree.inter1, ["leader"])
    w.base1_coord = factories.user("ind_base1", tree.base1, ["coordinator"])
    w.base2_coord = factories.user("ind_base2", tree.base2, ["coordinator"])
    w.base3_coord = factories.user("ind_base3", tree.base3, ["coordinator"])
    w.trib1_head = factories.user("ind_trib1", tree.trib1, ["tribunal_head"])
    db.session.commit()
    w.by_code = {i.code: i for i in db.session.scalars(select(Indicator).where(Indicator.year == YEAR))}
    return w
