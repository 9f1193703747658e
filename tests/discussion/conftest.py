"""A world for the discussion: inter1's assigner gave an item to base1 (base1's staff and
coordinator work on it); inter1's leader visited trib1 and found a problem there (a
rectification for trib1)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from app.tasks import services as task_services
from app.visits import services as visit_services
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


@pytest.fixture
def w(db, tree):
    u = factories.task_users(tree)
    u.leader = factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长")
    u.viewer = factories.user("j1_cy", tree.base1, ["viewer"], display_name="甲一区只读")
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, title="法庭标准化建设", deadline=date(2026, 6, 30), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1], now=NOW)
    finding = visit_services.add_finding(
        u.leader,
        visit,
        unit=tree.trib1,
        description="诉讼服务站标识不全",
        deadline=date(2026, 5, 31),
        now=NOW,
    )
    db.session.commit()
    rect = visit_services.rectification_of(finding)
    return SimpleNamespace(t=tree, u=u, a=a, visit=visit, rect=rect, task=t, services=task_services)
