"""Visit kinds kept by the 系统管理员 (issue 12): add (a court's own 巡回点调组), rename,
retire (kept on old visits, no longer offered) and bring back, each journaled; bad names
are refused with a Chinese message and nothing saved; nobody else may touch the list."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.textclean import NUL_MESSAGE
from app.visits import services
from app.visits.models import Visit, VisitKind
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # naive UTC = 2026-03-02 10:00 in Shanghai


@pytest.fixture(autouse=True)
def march2():
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=False):
        yield


@pytest.fixture
def w(db, tree):
    """A 系统管理员 at inter1, inter1's leader with a planned 调研走访 visit to trib1."""
    u = factories.visit_users(tree)
    u.admin = factories.user("jz_admin", tree.inter1, ["admin"], display_name="甲市中院系统管理员")
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1], now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, visit=visit)


def _kind(db, name: str) -> VisitKind | None:
    return db.session.scalar(select(VisitKind).where(VisitKind.name == name))


def _kinds(db) -> int:
    return db.session.scalar(select(func.count()).select_from(VisitKind))


def _offered(client) -> list[str]:
    """The kinds the plan form offers."""
    html = client.get("/visits/new").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="kind_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select_html)


def _journal(db, kind: VisitKind) -> list[tuple[str, dict | None, dict | None]]:
    return [
        (j.action, j.before, j.after)
        for j in db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.object_type == "VisitKind", JournalEntry.object_id == kind.id)
            .order_by(JournalEntry.id)
        )
    ]


def test_add_rename_retire_and_restore(db, w, as_user):
    """巡回点调组 added → offered for new visits; renamed → old visits show the new name;
    retired → kept on the visit, not offered; restored → offered again. Each step journaled."""
    admin, leader = as_user(w.u.admin), as_user(w.u.leader)
    assert admin.post("/admin/visit-kinds", data={"name": "巡回点调组"}).status_code == 302
    kind = _kind(db, "巡回点调组")
    assert kind is not None and kind.is_active
    assert "巡回点调组" in admin.get("/admin/visit-kinds").get_data(as_text=True)
    assert "巡回点调组" in _offered(leader)

    w.visit.kind_id = kind.id
    db.session.commit()
    assert (
        admin.post(f"/admin/visit-kinds/{kind.id}", data={"name": "巡回点调组（审执质效）"}).status_code
        == 302
    )
    assert "巡回点调组（审执质效）" in leader.get(f"/visits/{w.visit.id}").get_data(as_text=True)

    assert admin.post(f"/admin/visit-kinds/{kind.id}/toggle").status_code == 302
    db.session.refresh(kind)
    assert not kind.is_active
    assert "巡回点调组（审执质效）" not in _offered(leader)
    assert "巡回点调组（审执质效）" in leader.get(f"/visits/{w.visit.id}").get_data(as_text=True)
    assert db.session.get(Visit, w.visit.id).kind_id == kind.id

    assert admin.post(f"/admin/visit-kinds/{kind.id}/toggle").status_code == 302
    assert "巡回点调组（审执质效）" in _offered(leader)
    assert _journal(db, kind) == [
        ("visit_kind.create", None, {"name": "巡回点调组", "is_active": True}),
        ("visit_kind.rename", {"name": "巡回点调组"}, {"name": "巡回点调组（审执质效）"}),
        ("visit_kind.retire", {"is_active": True}, {"is_active": False}),
        ("visit_kind.restore", {"is_active": False}, {"is_active": True}),
    ]
    assert {
        j.actor_id
        for j in db.session.scalars(select(JournalEntry).where(JournalEntry.object_type == "VisitKind"))
    } == {w.u.admin.id}


def test_a_retired_kind_cannot_be_used_for_a_new_visit(db, w, as_user):
    """Posted anyway (an old page): the form refuses it; the service refuses it too."""
    kind = _kind(db, "巡回督导")
    services.set_kind_active(w.u.admin, kind, False, now=NOW)
    db.session.commit()
    resp = as_user(w.u.leader).post(
        "/visits/new",
        data={
            "kind_id": str(kind.id),
            "organizer_unit_id": str(w.t.inter1.id),
            "title": "用停用类型安排的走访",
            "leader_ids": [str(w.u.leader.id)],
            "target_ids": [str(w.t.trib1.id)],
            "planned_start": "2026-03-16",
            "planned_end": "2026-03-16",
        },
    )
    assert resp.status_code == 400 and "不是有效的选择" in resp.get_data(as_text=True)
    with pytest.raises(ServiceError, match="请选择走访类型"):
        factories.visit(w.u.leader, w.t.inter1, [w.u.leader], [w.t.trib1], kind="巡回督导", now=NOW)
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "请填写走访类型名称"),
        ("   ", "请填写走访类型名称"),
        ("巡" * 100_000, "走访类型名称不能超过 30 个字"),
        ("巡" * 31, "走访类型名称不能超过 30 个字"),
        ("调研走访", "走访类型“调研走访”已存在"),
        (" 调研 走访 ", "走访类型“调研走访”已存在"),
        ("ＸＸ走访", None),  # a new name (in full-width letters): added
        ("巡回点调组\x00", NUL_MESSAGE),
    ],
)
def test_bad_names_are_refused_with_a_message(db, w, as_user, name, message):
    """Empty, too long (a 100,000-character name too), a name taken (spaces aside), NUL:
    400, the Chinese message, nothing added."""
    before = _kinds(db)
    resp = as_user(w.u.admin).post("/admin/visit-kinds", data={"name": name})
    if message is None:
        assert resp.status_code == 302
        return
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _kinds(db) == before


def test_names_that_differ_only_in_width_or_case_are_the_same(db, w):
    services.add_kind(w.u.admin, "XX走访", now=NOW)
    with pytest.raises(ServiceError, match="已存在"):
        services.add_kind(w.u.admin, "ｘｘ走访", now=NOW)


def test_renaming_is_checked_the_same_way(db, w, as_user):
    """To another kind's name, to nothing, to 100,000 characters: 400, the name unchanged;
    a retired kind's name is named as retired."""
    kind = _kind(db, "调研走访")
    retired = _kind(db, "现场会")
    services.set_kind_active(w.u.admin, retired, False, now=NOW)
    db.session.commit()
    admin = as_user(w.u.admin)
    for name, message in (
        ("蹲点指导", "走访类型“蹲点指导”已存在"),
        ("现场会", "已停用"),
        ("", "请填写走访类型名称"),
        ("调" * 100_000, "不能超过 30 个字"),
    ):
        resp = admin.post(f"/admin/visit-kinds/{kind.id}", data={"name": name})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True), name
    db.session.refresh(kind)
    assert kind.name == "调研走访"
    assert admin.post("/admin/visit-kinds/999999", data={"name": "新名称"}).status_code == 404


def test_the_last_active_kind_is_kept(db, w, as_user):
    admin = as_user(w.u.admin)
    kinds = list(db.session.scalars(select(VisitKind).where(VisitKind.is_active.is_(True))))
    for kind in kinds[:-1]:
        assert admin.post(f"/admin/visit-kinds/{kind.id}/toggle").status_code == 302
    resp = admin.post(f"/admin/visit-kinds/{kinds[-1].id}/toggle")
    assert resp.status_code == 400 and "至少要保留一个启用的走访类型" in resp.get_data(as_text=True)
    db.session.refresh(kinds[-1])
    assert kinds[-1].is_active


@pytest.mark.parametrize("who", ["leader", "assigner", "staff", "head"])
def test_another_role_gets_403_and_changes_nothing(db, w, as_user, who):
    """Leaders, assigners, staff, tribunal heads: 403 on the page and on every write."""
    c = as_user(getattr(w.u, who))
    kind = _kind(db, "调研走访")
    before = _kinds(db)
    assert c.get("/admin/visit-kinds").status_code == 403
    assert c.post("/admin/visit-kinds", data={"name": "巡回点调组"}).status_code == 403
    assert c.post(f"/admin/visit-kinds/{kind.id}", data={"name": "改名"}).status_code == 403
    assert c.post(f"/admin/visit-kinds/{kind.id}/toggle").status_code == 403
    db.session.refresh(kind)
    assert (_kinds(db), kind.name, kind.is_active) == (before, "调研走访", True)
    with pytest.raises(ServiceError, match="只有系统管理员"):
        services.add_kind(getattr(w.u, who), "巡回点调组", now=NOW)
