"""Saved views on the lists: save from the sidebar, open, the default on a bare list,
sharing within the unit, stale filters, conflicts — and the sidebar's one statement."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select

from app.savedviews.models import SavedView
from tests import factories


def _save(c, list_key="assignments", query="status=overdue&kind=rectification", name="整改逾期", **kw):
    return c.post("/saved-views", data={"list_key": list_key, "query": query, "name": name, **kw})


def _args(location):
    return dict(parse_qsl(urlsplit(location).query))


@pytest.fixture
def people(db, tree):
    me = factories.user("me", tree.base1, ["assigner"], display_name="张三")
    colleague = factories.user("colleague", tree.base1, ["staff"], display_name="李四")
    below = factories.user("below", tree.trib1, ["staff"])
    db.session.commit()
    return me, colleague, below


def test_save_then_open_applies_the_filter(db, as_user, people):
    """Saved from the list, the view opens the list with its filters and is marked current."""
    me, _, _ = people
    c = as_user(me)
    resp = _save(c)
    assert resp.status_code == 303
    view = db.session.scalar(select(SavedView))
    assert resp.headers["Location"].endswith(f"/saved-views/{view.id}/open")
    opened = c.get(resp.headers["Location"])
    assert opened.status_code == 302
    assert _args(opened.headers["Location"]) == {
        "status": "overdue",
        "kind": "rectification",
        "view": str(view.id),
    }
    html = c.get(opened.headers["Location"]).get_data(as_text=True)
    assert 'aria-current="true" class="fw-bold">整改逾期</a>' in html
    assert 'value="rectification" selected' in html


def test_default_applies_to_the_bare_list_only(db, as_user, people):
    """Bare list → the default; 清除条件 (view=0), a page or any filter → no redirect, no loop."""
    me, _, _ = people
    c = as_user(me)
    _save(c, is_default="y")
    view = db.session.scalar(select(SavedView))
    resp = c.get("/assignments")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/saved-views/{view.id}/open")
    for path in (
        "/assignments?view=0",
        f"/assignments?status=overdue&view={view.id}&page=2",
        "/assignments?q=x",
    ):
        assert c.get(path).status_code == 200, path
    assert c.get("/assignments.xlsx?view=0").status_code == 200  # the export ignores the marker
    assert c.get("/visits").status_code == 200  # a default is per list


def test_shared_views_reach_the_unit_only(db, as_user, people):
    """Colleagues see a shared view and open it; below or private: 404; a colleague cannot change it."""
    me, colleague, below = people
    c = as_user(me)
    _save(c, name="共享的", shared="y")
    _save(c, name="私人的", query="status=open")
    shared, private = db.session.scalars(select(SavedView).order_by(SavedView.id)).all()
    cc = as_user(colleague)
    html = cc.get("/assignments").get_data(as_text=True)
    assert "共享的" in html and "张三" in html and "私人的" not in html
    assert cc.get(f"/saved-views/{shared.id}/open").status_code == 302
    assert cc.get(f"/saved-views/{private.id}/open").status_code == 404
    assert cc.post(f"/saved-views/{shared.id}/delete", data={"version": 1}).status_code == 403
    cb = as_user(below)
    assert "共享的" not in cb.get("/assignments").get_data(as_text=True)
    assert cb.get(f"/saved-views/{shared.id}/open").status_code == 404
    assert cb.post(f"/saved-views/{private.id}", data={"name": "x", "version": 1}).status_code == 404


def test_a_stale_filter_is_dropped_and_said(db, tree, as_user, people):
    """A unit deactivated and a retired status since the save: the rest applies, the user is told."""
    me, _, _ = people
    c = as_user(me)
    _save(c, query=f"unit={tree.trib2.id}&kind=task")
    view = db.session.scalar(select(SavedView))
    view.query = f"unit={tree.trib2.id}&status=archived&kind=task&gone=1"
    tree.trib2.is_active = False
    db.session.commit()
    resp = c.get(f"/saved-views/{view.id}/open", follow_redirects=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "有 3 个条件已失效，已忽略：未知条件“gone”、单位、状态" in html
    assert 'value="task" selected' in html


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "请填写查询名称。"),
        ("名" * 100_000, "不能超过 50 个字"),
        ("  \t ", "请填写查询名称。"),
        ("报表\u202egpj.exe", "查询名称包含不可见的控制字符或格式字符（U+202E），无法保存"),
    ],
)
def test_bad_names_come_back_with_a_message(db, as_user, people, name, message):
    me, _, _ = people
    c = as_user(me)
    resp = _save(c, name=name, query="status=overdue")
    assert resp.status_code == 303 and _args(resp.headers["Location"]) == {"status": "overdue"}
    assert message in c.get(resp.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(SavedView)) is None


def test_a_refused_save_redirects_with_only_the_checked_filters(db, as_user, people):
    """A name already used and a 100,000-character query: back to the list with the
    checked (capped) filters only — a short Location, whatever was posted — and a message."""
    me, _, _ = people
    c = as_user(me)
    _save(c, name="重名")
    junk = "q=" + "法" * 100_000 + "&status=overdue&gone=" + "x" * 5000 + "&view=" + "9" * 5000
    resp = _save(c, name="重名", query=junk)
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert len(location.encode()) < 2000
    assert _args(location) == {"q": "法" * 100, "status": "overdue"}
    assert "已有名为“重名”的查询" in c.get(location).get_data(as_text=True)
    assert db.session.scalar(select(func.count(SavedView.id))) == 1


def test_edit_rename_conflict_and_delete(db, as_user, people):
    """Rename with the current version; a second save from the same page → the conflict page."""
    me, _, _ = people
    c = as_user(me)
    _save(c)
    view = db.session.scalar(select(SavedView))
    resp = c.post(f"/saved-views/{view.id}", data={"name": "改名", "shared": "y", "version": "1"})
    assert resp.status_code == 303
    db.session.refresh(view)
    assert (view.name, view.shared, view.version) == ("改名", True, 2)
    stale = c.post(f"/saved-views/{view.id}", data={"name": "再改", "version": "1"})
    assert stale.status_code == 409 and "我的查询" in stale.get_data(as_text=True)
    assert c.post(f"/saved-views/{view.id}/default", data={"on": "1", "version": "2"}).status_code == 303
    assert c.get("/assignments").status_code == 302
    assert c.post(f"/saved-views/{view.id}/delete", data={"version": "3"}).status_code == 303
    assert db.session.scalar(select(SavedView)) is None
    assert c.get("/assignments").status_code == 200


def test_a_conflict_page_reads_in_chinese(db, as_user, people):
    """设为默认 from a stale sidebar after the view was shared: the field and the journal
    lines in Chinese (设为默认 | 是, 共享给本单位：否 → 是), no English code."""
    me, _, _ = people
    c = as_user(me)
    _save(c)
    view = db.session.scalar(select(SavedView))
    assert (
        c.post(
            f"/saved-views/{view.id}", data={"name": "整改逾期", "shared": "y", "version": "1"}
        ).status_code
        == 303
    )
    stale = c.post(f"/saved-views/{view.id}/default", data={"on": "1", "version": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    row = html[html.index('data-field="on"') :]
    row = row[: row.index("</tr>")]
    assert "设为默认" in row and '<td class="pre-wrap" data-testid="yours">是</td>' in row
    journal = html[html.index('data-testid="conflict-journal"') :]
    assert "<strong>修改查询的共享</strong>" in journal and "<strong>保存查询</strong>" in journal
    assert "共享给本单位：否 → 是" in journal
    assert "saved_view." not in html and "shared：" not in html


def test_foreign_and_huge_ids_are_404(db, as_user, people):
    """And a NUL in the name is refused before anything runs (app/security/hardening.py)."""
    me, _, _ = people
    c = as_user(me)
    resp = _save(c, name="a\x00")
    assert resp.status_code == 400 and "空字符" in resp.get_data(as_text=True)
    for path in (f"/saved-views/{2**63}/open", "/saved-views/999/open"):
        assert c.get(path).status_code == 404
    assert c.post("/saved-views", data={"list_key": "nope", "name": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("list_key", "path", "query"),
    [
        ("assignments", "/assignments", "status=overdue"),
        ("visits", "/visits", "status=planned"),
        ("checklists", "/checklists", "family=nope"),
    ],
)
def test_sidebar_is_one_statement_whatever_the_views(
    db, as_user, people, count_queries, list_key, path, query
):
    """One statement for the sidebar (own + shared), 1 view or 12: the page's count does not grow."""
    me, colleague, _ = people
    c, cc = as_user(me), as_user(colleague)
    _save(c, list_key=list_key, query=query, name="第0个")
    with count_queries() as small:
        assert c.get(f"{path}?view=0").status_code == 200
    for i in range(1, 7):
        _save(c, list_key=list_key, query=query, name=f"第{i}个")
        _save(cc, list_key=list_key, query=query, name=f"同事{i}", shared="y")
    with count_queries() as large:
        html = c.get(f"{path}?view=0").get_data(as_text=True)
    assert html.count('data-testid="sv-own-item"') == 7 and html.count('data-testid="sv-shared-item"') == 6
    print(f"\nQUERIES {path}?view=0 with the sidebar: {len(small)} → {len(large)}")
    assert len(large) == len(small), f"{len(small)} → {len(large)}"
    assert sum("saved_views" in s for s in large) == 1


def test_checklist_family_gone_is_said(db, as_user, people):
    """A standard that no longer exists: saved without it, and said."""
    me, _, _ = people
    c = as_user(me)
    resp = _save(c, list_key="checklists", query="family=nope", name="五化")
    html = c.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "已忽略：标准" in html
