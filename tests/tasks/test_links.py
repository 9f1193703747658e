"""Links between items (issue 15): 依赖 and 相关 between items of one project — added and
removed through the service and the item page, journaled on both items, refused (nothing
saved) for the item itself, a pair already linked, another project, another court's item
and a cycle of dependencies; the dependent item warns while a predecessor is open, on
its page and on every assignment page, in the statements the pages already send."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.tasks import links, services
from app.tasks.models import TaskLink
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)


@pytest.fixture
def w(db, tree):
    """inter1's assigner: items A, B, C in one project (A to base1, B to base1 and base2,
    C to base2), D in another project; inter2's item X (another court's)."""
    u = factories.task_users(tree)
    factories.receivers(tree.base1, tree.base2)
    p = factories.project(u.assigner, now=NOW)
    t = SimpleNamespace(tree=tree, u=u, p=p)
    t.a = factories.task(u.assigner, p, title="甲事项", now=NOW)
    t.b = factories.task(u.assigner, p, title="乙事项", now=NOW)
    t.c = factories.task(u.assigner, p, title="丙事项", now=NOW)
    (t.a_base1,) = factories.assign(u.assigner, t.a, tree.base1, now=NOW)
    t.b_base1, t.b_base2 = factories.assign(u.assigner, t.b, tree.base1, tree.base2, now=NOW)
    factories.assign(u.assigner, t.c, tree.base2, now=NOW)
    t.d = factories.task(u.assigner, factories.project(u.assigner, name="另一项目", now=NOW), title="丁事项")
    x_project = factories.project(u.inter2_assigner, name="乙市项目", now=NOW)
    t.x = factories.task(u.inter2_assigner, x_project, title="乙市机密事项", now=NOW)
    db.session.commit()
    return t


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(TaskLink))


def _refused(db, w, task, other, kind, message):
    before = _count(db)
    with pytest.raises(ServiceError) as err:
        links.add_link(w.u.assigner, task, other, kind=kind, now=NOW)
    db.session.rollback()
    assert message in err.value.message, err.value.message
    assert _count(db) == before
    return err.value


def _close(w, a):
    """The receiving unit reports done and submits; inter1's assigner approves (办结)."""
    receiver = w.u.base1_staff if a.unit_id == w.tree.base1.id else w.u.base2_coord
    services.add_report(
        receiver, a, text="完成", percent=100, files=[], submit=True, expected_version=a.version, now=NOW
    )
    services.review(w.u.assigner, a, decision="approve", comment=None, expected_version=a.version, now=NOW)


def test_add_and_remove_are_journaled_on_both_items(db, w):
    """A depends on B: one row, a line in each item's journal; removed: gone, a line each."""
    link = links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    assert (link.from_task_id, link.to_task_id, link.kind, link.created_by_id) == (
        w.a.id,
        w.b.id,
        "depends",
        w.u.assigner.id,
    )
    links.remove_link(w.u.assigner, w.b, link, now=NOW)  # from either end
    db.session.commit()
    assert _count(db) == 0
    rows = db.session.execute(
        select(JournalEntry.object_id, JournalEntry.action, JournalEntry.after, JournalEntry.actor_id)
        .where(JournalEntry.action.like("link.%"))
        .order_by(JournalEntry.id)
    ).all()
    assert [(r[0], r[1]) for r in rows] == [
        (w.a.id, "link.add"),
        (w.b.id, "link.add"),
        (w.a.id, "link.remove"),
        (w.b.id, "link.remove"),
    ]
    assert rows[0][2]["link"] == f"依赖于事项 #{w.b.id}（前置事项）"
    assert rows[1][2]["link"] == f"事项 #{w.a.id} 依赖于本事项"
    assert {r[3] for r in rows} == {w.u.assigner.id}


def test_self_duplicate_and_another_project_are_refused(db, w):
    """Nothing saved, a Chinese reason each."""
    _refused(db, w, w.a, w.a, "depends", "不能与自身关联")
    _refused(db, w, w.a, w.d, "related", "只能关联同一项目")
    _refused(db, w, w.a, w.b, "blocks", "关联类型")
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    _refused(db, w, w.a, w.b, "depends", "已有关联")
    _refused(db, w, w.b, w.a, "related", "已有关联")  # either direction, any kind


def test_another_courts_item_is_not_found(db, w):
    """inter2's item does not exist for inter1's assigner: a 404 refusal, no title."""
    err = _refused(db, w, w.a, w.x, "depends", "找不到要关联的事项")
    assert err.status == 404 and "乙市机密事项" not in err.message


def test_cycles_of_two_and_three_are_refused_with_the_chain(db, w):
    """A → B then B → A; A → B → C then C → A: refused, the chain named, nothing saved."""
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    _refused(db, w, w.b, w.a, "depends", "会形成循环依赖：「乙事项」 → 「甲事项」 → 「乙事项」")
    links.add_link(w.u.assigner, w.b, w.c, kind="depends", now=NOW)
    db.session.commit()
    _refused(db, w, w.c, w.a, "depends", "会形成循环依赖：「丙事项」 → 「甲事项」 → 「乙事项」 → 「丙事项」")
    # Not a cycle: A also related to C; and C → A once B → C is gone.
    assert _count(db) == 2
    links.add_link(w.u.assigner, w.c, w.a, kind="related", now=NOW)
    db.session.commit()
    assert _count(db) == 3


def test_related_is_stored_once_and_shown_on_both(db, w):
    """Added from C's side: stored lower id first, listed on A and on C."""
    link = links.add_link(w.u.assigner, w.c, w.a, kind="related", now=NOW)
    db.session.commit()
    assert (link.from_task_id, link.to_task_id) == (w.a.id, w.c.id)
    for task, other in ((w.a, w.c), (w.c, w.a)):
        (row,) = links.links_of(task, w.u.assigner)
        assert (row.role, row.other.id, row.other.title) == ("related", other.id, other.title)
        assert links.waiting([row]) == []


def test_the_warning_shows_while_a_predecessor_is_open(db, w, as_user):
    """A depends on B (2 units): the item page and A's assignment page warn, for the
    assigner and the receiver; B closed in both units: no warning."""
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    warning = "前置事项「乙事项」尚未完成（2 个单位未办结）"
    boss, receiver = as_user(w.u.assigner), as_user(w.u.base1_coord)
    for c in (boss, receiver):
        for url in (f"/tasks/{w.a.id}", f"/assignments/{w.a_base1.id}"):
            page = c.get(url).get_data(as_text=True)
            assert warning in page and f'href="/tasks/{w.b.id}"' in page, url
    assert "后续事项" in boss.get(f"/tasks/{w.b.id}").get_data(as_text=True)
    assert "尚未完成" not in boss.get(f"/tasks/{w.b.id}").get_data(as_text=True)  # B waits for nothing
    _close(w, w.b_base1)
    db.session.commit()
    assert "前置事项「乙事项」尚未完成（1 个单位未办结）" in receiver.get(
        f"/assignments/{w.a_base1.id}"
    ).get_data(as_text=True)
    _close(w, w.b_base2)
    db.session.commit()
    for url in (f"/tasks/{w.a.id}", f"/assignments/{w.a_base1.id}"):
        assert 'data-testid="waiting-warning"' not in receiver.get(url).get_data(as_text=True)


def test_a_predecessor_the_viewer_cannot_see_is_counted_not_named(db, w, as_user):
    """A (base1's) depends on C (base2's only): base1 is warned without C's title."""
    links.add_link(w.u.assigner, w.a, w.c, kind="depends", now=NOW)
    db.session.commit()
    page = as_user(w.u.base1_coord).get(f"/assignments/{w.a_base1.id}").get_data(as_text=True)
    assert "一项前置事项（您无权查看）尚未完成（1 个单位未办结）" in page and "丙事项" not in page


def test_an_unassigned_predecessor_warns_too(db, w):
    """A predecessor not assigned yet is not done."""
    e = factories.task(w.u.assigner, w.p, title="戊事项", now=NOW)
    links.add_link(w.u.assigner, w.a, e, kind="depends", now=NOW)
    db.session.commit()
    (other,) = links.waiting(links.links_of(w.a, w.u.assigner))
    assert other.warning == "前置事项「戊事项」尚未交办"


# ---------------------------------------------------------------- through the page


def test_the_page_adds_and_removes_a_link(db, w, as_user):
    """The item page's form: added (the journal line on both pages), then removed."""
    c = as_user(w.u.assigner)
    page = c.get(f"/tasks/{w.a.id}").get_data(as_text=True)
    assert 'data-testid="link-form"' in page and f'<option value="{w.b.id}">乙事项</option>' in page
    assert "乙市机密事项" not in page and "丁事项" not in page  # only this project's visible items
    resp = c.post(f"/tasks/{w.a.id}/links", data={"kind": "depends", "other_id": w.b.id})
    assert resp.status_code == 302
    for task in (w.a, w.b):
        assert "添加关联" in c.get(f"/tasks/{task.id}").get_data(as_text=True)
    link = db.session.scalars(select(TaskLink)).one()
    resp = c.post(f"/tasks/{w.a.id}/links", data={"kind": "depends", "other_id": w.b.id})
    assert resp.status_code == 400 and "已有关联" in resp.get_data(as_text=True)
    link_id = link.id
    assert c.post(f"/tasks/{w.b.id}/links/{link_id}/delete").status_code == 302
    assert _count(db) == 0 and "移除关联" in c.get(f"/tasks/{w.a.id}").get_data(as_text=True)
    resp = c.post(f"/tasks/{w.b.id}/links/{link_id}/delete")
    assert resp.status_code == 404 and "该关联已不存在" in resp.get_data(as_text=True)


def test_the_page_refuses_a_cycle_in_chinese(db, w, as_user):
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    resp = as_user(w.u.assigner).post(f"/tasks/{w.b.id}/links", data={"kind": "depends", "other_id": w.a.id})
    assert resp.status_code == 400 and "会形成循环依赖" in resp.get_data(as_text=True)
    assert _count(db) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"kind": "depends", "other_id": str(2**63)}, 400),
        ({"kind": "depends", "other_id": "-1"}, 404),
        ({"kind": "depends", "other_id": "甲"}, 400),
        ({"kind": "依赖\x00", "other_id": "1"}, 400),
        ({"kind": "x" * 100_000, "other_id": "1"}, 400),
        ({"kind": "depends"}, 400),
    ],
)
def test_hostile_input_is_a_4xx(db, w, as_user, data, status):
    """Huge, negative, non-numeric ids, NUL, 100k characters, nothing: 4xx, nothing saved."""
    resp = as_user(w.u.assigner).post(f"/tasks/{w.a.id}/links", data=data)
    assert resp.status_code == status and _count(db) == 0


def test_another_courts_or_projects_item_through_the_page(db, w, as_user):
    """inter2's item: 404 without its title; another project's: 400 with the reason."""
    c = as_user(w.u.assigner)
    resp = c.post(f"/tasks/{w.a.id}/links", data={"kind": "depends", "other_id": w.x.id})
    assert resp.status_code == 404 and "乙市机密事项" not in resp.get_data(as_text=True)
    resp = c.post(f"/tasks/{w.a.id}/links", data={"kind": "depends", "other_id": w.d.id})
    assert resp.status_code == 400 and "只能关联同一项目" in resp.get_data(as_text=True)
    assert c.post(f"/tasks/{2**63}/links", data={"kind": "depends", "other_id": w.b.id}).status_code == 404
    assert _count(db) == 0


def test_a_receiver_may_not_link(db, w, as_user):
    """base1's coordinator sees A but may not edit it: 403, and no form on the page."""
    c = as_user(w.u.base1_coord)
    assert 'data-testid="link-form"' not in c.get(f"/tasks/{w.a.id}").get_data(as_text=True)
    resp = c.post(f"/tasks/{w.a.id}/links", data={"kind": "depends", "other_id": w.b.id})
    assert resp.status_code == 403 and _count(db) == 0


# ---------------------------------------------------------------- statements


@pytest.mark.parametrize("who", ["assigner", "base1_coord"])
def test_links_cost_no_statement_on_the_assignment_page(db, w, as_user, count_queries, who):
    """The open predecessors come with the page's item statement: the same count with
    none as with three (one hidden from base1), within the page's budget."""
    from tests.tasks.test_assignment_page import STATEMENTS

    c, url = as_user(getattr(w.u, who)), f"/assignments/{w.a_base1.id}"
    c.get(url)
    with count_queries() as none:
        assert c.get(url).status_code == 200
    e = factories.task(w.u.assigner, w.p, title="戊事项", now=NOW)
    for other in (w.b, w.c, e):
        links.add_link(w.u.assigner, w.a, other, kind="depends", now=NOW)
    db.session.commit()
    with count_queries() as three:
        page = c.get(url).get_data(as_text=True)
    assert page.count("尚未") == 3
    assert len(three) == len(none) <= STATEMENTS[who], three


def test_the_item_page_costs_the_same_with_one_or_many_links(db, w, as_user, count_queries):
    """One statement for the links (and one for the form's choices), however many."""
    c, url = as_user(w.u.assigner), f"/tasks/{w.a.id}"
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    db.session.commit()
    c.get(url)
    with count_queries() as one:
        assert c.get(url).status_code == 200
    for i in range(4):
        other = factories.task(w.u.assigner, w.p, title=f"后续{i}", now=NOW)
        links.add_link(w.u.assigner, other, w.a, kind="depends", now=NOW)
    links.add_link(w.u.assigner, w.a, w.c, kind="related", now=NOW)
    db.session.commit()
    with count_queries() as six:
        page = c.get(url).get_data(as_text=True)
    assert page.count("后续事项") == 4 and "相关事项" in page
    assert len(six) == len(one) <= 15, "\n".join(s[:700].replace("\n", " ") for s in six)


# ---------------------------------------------------------------- the API


def test_the_api_adds_lists_and_removes_links(db, w, client):
    """POST /tasks/<id>/links (201, the link as the detail lists it), a cycle and another
    court's item refused in Chinese, the detail's task.links, DELETE /task-links/<id>."""
    boss = factories.bearer(client, w.u.assigner)
    resp = client.post(
        f"/api/v1/tasks/{w.a.id}/links", json={"kind": "depends", "task_id": w.b.id}, headers=boss
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body == {
        "id": body["id"],
        "kind": "depends",
        "role": "predecessor",
        "task_id": w.b.id,
        "title": "乙事项",
        "done": False,
        "open_units": 2,
    }
    resp = client.post(
        f"/api/v1/tasks/{w.b.id}/links", json={"kind": "depends", "task_id": w.a.id}, headers=boss
    )
    assert resp.status_code == 400 and "会形成循环依赖" in resp.get_json()["error"]
    resp = client.post(
        f"/api/v1/tasks/{w.a.id}/links", json={"kind": "depends", "task_id": w.x.id}, headers=boss
    )
    assert resp.status_code == 404 and "乙市机密事项" not in resp.get_data(as_text=True)
    for bad in (
        {"kind": "depends", "task_id": 2**63},
        {"kind": "依赖\x00", "task_id": w.c.id},
        {"kind": "depends"},
    ):
        resp = client.post(f"/api/v1/tasks/{w.a.id}/links", json=bad, headers=boss)
        assert resp.status_code == 400 and resp.get_json()["error"], bad
    # base1's coordinator reads A's links; C (base2's) would be null — B is visible to him.
    coord = factories.bearer(client, w.u.base1_coord)
    detail = client.get(f"/api/v1/assignments/{w.a_base1.id}", headers=coord).get_json()
    assert [(x["role"], x["title"]) for x in detail["task"]["links"]] == [("predecessor", "乙事项")]
    assert client.delete(f"/api/v1/task-links/{body['id']}", headers=coord).status_code == 403
    assert client.delete(f"/api/v1/task-links/{body['id']}", headers=boss).status_code == 204
    assert client.delete(f"/api/v1/task-links/{body['id']}", headers=boss).status_code == 404
    assert client.delete(f"/api/v1/task-links/{2**63}", headers=boss).status_code == 404
    assert _count(db) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.action == "link.remove")
        )
        == 2
    )


def test_the_project_page_marks_waiting_items_in_the_same_statements(db, w, as_user, count_queries):
    """A waits for B: the project page marks A only, with the statements it sent before."""
    c, url = as_user(w.u.assigner), f"/projects/{w.p.id}"
    c.get(url)
    with count_queries() as before:
        assert 'data-testid="waiting-marker"' not in c.get(url).get_data(as_text=True)
    links.add_link(w.u.assigner, w.a, w.b, kind="depends", now=NOW)
    links.add_link(w.u.assigner, w.b, w.c, kind="related", now=NOW)
    db.session.commit()
    c.get(url)
    with count_queries() as after:
        page = c.get(url).get_data(as_text=True)
    assert page.count('data-testid="waiting-marker"') == 1
    assert page.index("甲事项") < page.index("待前置") < page.index("乙事项")
    assert len(after) == len(before) <= 15
