"""Visit rules added after review: no record of a visit that hasn't ended, no visit to
a deactivated unit, a high-court leader may lead a 中院's visit, leaders in order."""

from datetime import date, datetime

import pytest

from app.errors import ANY_VERSION, ServiceError
from app.org import services as org
from app.visits import services
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


def test_a_visit_that_has_not_ended_cannot_be_recorded(db, tree):
    """Recording a visit whose actual end is after today is refused; nothing changes."""
    u = factories.visit_users(tree)
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1], now=NOW)
    with pytest.raises(ServiceError, match="不能晚于今天"):
        services.record_visit(
            u.leader,
            visit,
            actual_start=date(2026, 3, 1),
            actual_end=date(2026, 3, 3),
            summary="情况",
            suggestions=None,
            solved_on_spot=None,
            topics=None,
            team=None,
            files=[],
            expected_version=visit.version,
            now=NOW,
        )
    db.session.rollback()
    assert visit.status == "planned" and visit.actual_start is None


def test_no_visit_to_a_deactivated_unit(db, tree):
    u = factories.visit_users(tree)
    org.set_unit_active(None, tree.trib3, False, expected_version=ANY_VERSION, now=NOW)
    with pytest.raises(ServiceError, match="已停用"):
        factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib3], now=NOW)


def test_a_leader_from_above_may_lead_and_leaders_keep_their_order(db, tree):
    """The high court's leader leads a 中院 visit; the first leader (by id) verifies."""
    u = factories.visit_users(tree)
    visit = factories.visit(u.assigner, tree.inter1, [u.leader2, u.leader], [tree.trib1], now=NOW)
    assert [v.user_id for v in visit.leaders] == sorted([u.leader.id, u.leader2.id])
    finding = services.add_finding(
        u.assigner, visit, unit=tree.trib1, description="问题", deadline=date(2026, 4, 1), now=NOW
    )
    rect = services.rectification_of(finding)
    assert rect.task.verifier_id == min(u.leader.id, u.leader2.id)
    high = factories.visit(u.high_leader, tree.inter1, [u.high_leader], [tree.trib2], now=NOW)
    assert high.leaders[0].user_id == u.high_leader.id
