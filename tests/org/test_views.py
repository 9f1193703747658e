"""Admin pages for units and users: the happy paths and the bad input."""

import pytest
from sqlalchemy import func, select

from app.journal import JournalEntry
from app.org.models import Unit, UnitName, User
from tests import factories


@pytest.fixture
def admin_client(client, tree, login):
    admin = factories.user("boss", tree.inter1, ["admin"])
    login(admin)
    return client


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_tree_page_lists_the_admins_subtree_only(admin_client, tree):
    html = admin_client.get("/admin/units").get_data(as_text=True)
    assert "东山人民法庭" in html and "甲二区人民法院" in html
    assert "乙一县人民法院" not in html  # another intermediate court's base court
    assert "测试省高级人民法院" not in html.split("<main")[1]  # the superior


def test_search_by_alias(admin_client, tree):
    html = admin_client.get("/admin/units", query_string={"q": "甲一区法院"}).get_data(as_text=True)
    assert "甲一区人民法院" in html and "甲二区人民法院" not in html


def test_add_edit_move_deactivate_a_unit(admin_client, db, tree):
    resp = admin_client.post(
        f"/admin/units/new?parent={tree.base2.id}",
        data={
            "name": "北山人民法庭",
            "aliases": "北山法庭",
            "level": "tribunal",
            "tribunal_kind": "special",
            "feature_label": "旅游法庭",
        },
    )
    assert resp.status_code == 302
    unit = db.session.scalars(select(Unit).where(Unit.name == "北山人民法庭")).one()
    assert unit.parent_id == tree.base2.id and unit.aliases == ["北山法庭"]

    resp = admin_client.post(
        f"/admin/units/{unit.id}/edit",
        data={
            "name": "北山人民法庭",
            "aliases": "北山法庭、北山庭",
            "level": "tribunal",
            "tribunal_kind": "center",
            "feature_label": "",
            "version": unit.version,
        },
    )
    assert resp.status_code == 302
    db.session.refresh(unit)
    assert unit.tribunal_kind == "center" and unit.feature_label is None

    resp = admin_client.post(
        f"/admin/units/{unit.id}/move", data={"parent_id": tree.base1.id, "version": unit.version}
    )
    assert resp.status_code == 302
    db.session.refresh(unit)
    assert unit.parent_id == tree.base1.id

    resp = admin_client.post(f"/admin/units/{unit.id}/deactivate", data={"version": unit.version})
    assert resp.status_code == 302
    db.session.refresh(unit)
    assert unit.is_active is False
    actions = list(
        db.session.scalars(
            select(JournalEntry.action)
            .where(JournalEntry.object_type == "Unit", JournalEntry.object_id == unit.id)
            .order_by(JournalEntry.id)
        )
    )
    assert actions == ["unit.create", "unit.update", "unit.move", "unit.deactivate"]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": "", "level": "base"}, 400, "请填写单位全称"),
        ({"name": "法" * 101, "level": "base"}, 400, "不能超过 100"),
        ({"name": "甲一区法院", "level": "base"}, 400, "已被“甲一区人民法院”使用"),
        ({"name": "新法庭", "level": "high"}, 400, "不能设在"),
        ({"name": "新法院", "level": "nonsense"}, 400, "Not a valid choice"),
    ],
)
def test_bad_unit_input_saves_nothing(admin_client, db, tree, data, status, message):
    before = _count(db, Unit), _count(db, UnitName)
    resp = admin_client.post(f"/admin/units/new?parent={tree.inter1.id}", data={"tribunal_kind": "", **data})
    assert resp.status_code == status
    body = resp.get_data(as_text=True)
    assert message in body or (message == "Not a valid choice" and "不是有效的选择" in body)
    assert (_count(db, Unit), _count(db, UnitName)) == before


def test_move_under_own_descendant_is_refused(admin_client, db, tree):
    resp = admin_client.post(
        f"/admin/units/{tree.base1.id}/move", data={"parent_id": tree.trib1.id, "version": tree.base1.version}
    )
    assert resp.status_code == 400
    assert "下级单位之下" in resp.get_data(as_text=True)
    assert db.session.get(Unit, tree.base1.id).parent_id == tree.inter1.id


def test_move_to_a_parent_outside_scope_is_404(admin_client, tree):
    resp = admin_client.post(
        f"/admin/units/{tree.base1.id}/move",
        data={"parent_id": tree.inter2.id, "version": tree.base1.version},
    )
    assert resp.status_code == 400  # not even offered as a choice
    assert "不是有效的选择" in resp.get_data(as_text=True) or "Not a valid choice" in resp.get_data(
        as_text=True
    )


def test_stale_edit_gives_a_clear_conflict(admin_client, db, tree):
    stale = tree.base2.version
    data = {
        "name": "甲二区人民法院",
        "aliases": "",
        "level": "base",
        "tribunal_kind": "",
        "feature_label": "一",
        "version": stale,
    }
    assert admin_client.post(f"/admin/units/{tree.base2.id}/edit", data=data).status_code == 302
    resp = admin_client.post(f"/admin/units/{tree.base2.id}/edit", data={**data, "feature_label": "二"})
    assert resp.status_code == 409
    assert "已被他人修改" in resp.get_data(as_text=True)
    assert db.session.get(Unit, tree.base2.id).feature_label == "一"


def test_deactivate_with_children_is_refused(admin_client, tree):
    resp = admin_client.post(f"/admin/units/{tree.base1.id}/deactivate", data={"version": tree.base1.version})
    assert resp.status_code == 400
    assert "下级单位" in resp.get_data(as_text=True)


def test_add_search_edit_deactivate_a_user(admin_client, db, tree):
    """The 系统管理员's part of an account: basic data. Roles posted with the form are
    not his to give (三员分立) and are ignored: the account starts with none."""
    resp = admin_client.post(
        "/admin/users/new",
        data={
            "username": "lisi",
            "display_name": "李四",
            "unit_id": tree.trib1.id,
            "roles": ["tribunal_head", "staff"],
            "email": "lisi@court.example.cn",
            "password": "Init2026x",
        },
    )
    assert resp.status_code == 302
    user = db.session.scalars(select(User).where(User.username == "lisi")).one()
    assert user.roles == set() and user.must_change_password
    assert resp.headers["Location"] == f"/admin/users/{user.id}"

    html = admin_client.get("/admin/users", query_string={"q": "李四"}).get_data(as_text=True)
    assert "lisi" in html
    html = admin_client.get("/admin/users", query_string={"role": "none"}).get_data(as_text=True)
    assert "lisi" in html and "<td>boss</td>" not in html
    html = admin_client.get("/admin/users", query_string={"role": "leader"}).get_data(as_text=True)
    assert "lisi" not in html

    resp = admin_client.post(
        f"/admin/users/{user.id}/edit",
        data={"display_name": "李四", "unit_id": tree.trib2.id, "roles": ["staff"], "version": user.version},
    )
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.unit_id == tree.trib2.id and user.roles == set()

    assert (
        admin_client.post(f"/admin/users/{user.id}/deactivate", data={"version": user.version}).status_code
        == 302
    )
    db.session.refresh(user)
    assert user.active is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "boss"}, "已存在"),
        ({"username": "BOSS"}, "已存在"),
        ({"username": "a b"}, "用户名须为"),
        ({"password": "short"}, "至少 8 位"),
        ({"email": "not-an-email"}, "邮箱格式不正确"),
        ({"display_name": ""}, "请填写姓名"),
    ],
)
def test_bad_user_input_saves_nothing(admin_client, db, tree, data, message):
    base = {
        "username": "wangwu",
        "display_name": "王五",
        "unit_id": tree.trib1.id,
        "password": "Init2026x",
    }
    before = _count(db, User)
    resp = admin_client.post("/admin/users/new", data={**base, **data})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(db, User) == before


def test_admin_cannot_deactivate_self(admin_client, db):
    me = db.session.scalars(select(User).where(User.username == "boss")).one()
    resp = admin_client.post(f"/admin/users/{me.id}/deactivate")
    assert resp.status_code == 403


def test_user_list_is_filtered_in_sql_by_scope(admin_client, db, tree):
    factories.user("far_away", tree.base3)
    factories.user("close_by", tree.trib1)
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert "close_by" in html and "far_away" not in html
