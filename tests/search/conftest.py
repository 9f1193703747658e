"""One of every findable kind, each with a two-character word of its own, in build_tree's
courts: an item of inter1 assigned to base1 and base2 (base1 reported on it), a visit of
inter1 to trib1 with a finding (its rectification goes to trib1), an issued circular and
a draft one of inter1."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.reminders.models import Circular
from app.tasks import services as task_services
from app.timeutil import utcnow
from app.visits import services as visit_services
from tests import factories


@pytest.fixture
def world(tree):
    now = utcnow()
    w = SimpleNamespace(tree=tree)
    w.reviewer = factories.user("s_reviewer", tree.high, ["reviewer"])
    w.assigner = factories.user("s_assigner", tree.inter1, ["assigner"])
    w.leader = factories.user("s_leader", tree.inter1, ["leader"])
    w.base1_staff, w.base2_staff = factories.receivers(tree.base1, tree.base2)
    w.trib1_head = factories.user("s_trib1", tree.trib1, ["tribunal_head"])
    w.trib3_head = factories.user("s_trib3", tree.trib3, ["tribunal_head"])
    w.base3_coord = factories.user("s_base3", tree.base3, ["coordinator"])
    db.session.commit()
    project = factories.project(w.assigner, name="强基工程")
    w.task = factories.task(w.assigner, project, title="规范法庭标识", requirements="统一悬挂国徽")
    w.a1, w.a2 = factories.assign(w.assigner, w.task, tree.base1, tree.base2, now=now)
    db.session.commit()
    task_services.acknowledge(w.base1_staff, w.a1, expected_version=w.a1.version, now=now)
    task_services.add_report(
        w.base1_staff,
        w.a1,
        text="已更换门牌，正在制作展板",
        percent=50,
        files=[],
        expected_version=w.a1.version,
        now=now,
    )
    w.visit = factories.visit(
        w.leader, tree.inter1, [w.leader], [tree.trib1], title="东山法庭蹲点", summary="实地察看诉讼服务"
    )
    w.finding = visit_services.add_finding(
        w.leader, w.visit, unit=tree.trib1, description="卷宗归档滞后", deadline=date(2026, 12, 31), now=now
    )
    w.rectification = visit_services.rectification_of(w.finding)
    w.issued = Circular(
        unit_id=tree.inter1.id,
        period="2026-10",
        title="十月工作通报",
        body="表扬先进，督促后进",
        data={},
        status="issued",
        created_at=now,
        issued_at=now,
    )
    w.draft = Circular(
        unit_id=tree.inter1.id,
        period="2026-11",
        title="十一月通报草稿",
        body="拟点名批评",
        data={},
        status="draft",
        created_at=now,
    )
    db.session.add_all([w.issued, w.draft])
    db.session.commit()
    return w


def found(client, q: str, **params) -> dict:
    """The API's answer (asserting 200)."""
    resp = client.get("/api/v1/search", query_string={"q": q, **params})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def keys(answer: dict) -> set[tuple[str, int]]:
    return {(i["kind"], i["id"]) for i in answer["items"]}
