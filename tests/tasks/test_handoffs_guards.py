"""Guards on hand-offs: a split to a unit that already holds the item asks first (and
writes nothing until confirmed); an item is never handed to a unit with nobody to work
on it (service, pages, API, an import's batch); a return keeps the last reported
progress beside its reason; the review form does not preselect 办结; the 催办单 button
shows only to those the policy lets send one."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.notifications import Notification
from app.tasks import services
from app.tasks.models import Assignment, Task
from app.tasks.writing import NewItems
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai
LATER = NOW + timedelta(days=1)


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def w(db, tree):
    """inter1's assigner gives an item (due 2026-06-30) to base1 and, directly, to trib1;
    北山人民法庭 (under base2) has an account that is switched off, and an administrator."""
    u = factories.task_users(tree)
    empty = factories.unit("北山人民法庭", "tribunal", tree.base2)
    factories.user("bs_gone", empty, ["tribunal_head"]).active = False
    factories.user("bs_admin", empty, ["admin"])
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    a, direct = factories.assign(u.assigner, t, tree.base1, tree.trib1, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, task=t, a=a, direct=direct, empty=empty)


def _as(app, user):
    c = app.test_client()
    resp = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
    assert resp.status_code == 302
    return c


# ---------------------------------------------------------------- splitting to a unit that holds it


def test_split_to_a_unit_already_holding_the_item_asks_first(db, w):
    """Without the confirmation nothing is written; the refusal names what it holds."""
    before = (_count(db, Assignment), _count(db, JournalEntry), _count(db, Notification))
    with pytest.raises(services.AlreadyHeld) as exc:
        services.split_assignment(
            w.u.base1_coord, w.a, [w.t.trib1, w.t.trib2], expected_version=w.a.version, now=LATER
        )
    assert exc.value.status == 409
    assert [(h["id"], h["unit"], h["by"]) for h in exc.value.existing] == [
        (w.direct.id, "东山人民法庭", "甲市中级人民法院")
    ]
    assert "东山人民法庭" in exc.value.message and "仍要分解" in exc.value.message
    db.session.rollback()
    assert (_count(db, Assignment), _count(db, JournalEntry), _count(db, Notification)) == before
    a = db.session.get(Assignment, w.a.id)
    c1, c2 = services.split_assignment(
        w.u.base1_coord, a, [w.t.trib1, w.t.trib2], expected_version=a.version, now=LATER, confirmed=True
    )
    assert {c1.unit_id, c2.unit_id} == {w.t.trib1.id, w.t.trib2.id}
    step = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "assignment.split"))
    assert "经确认仍分解" in step.after["message"]


def test_the_split_page_shows_the_existing_item_and_posts_again_to_confirm(db, w, app):
    c = _as(app, w.u.base1_coord)
    url = f"/assignments/{w.a.id}/split"
    resp = c.post(url, data={"version": w.a.version, "unit_ids": [str(w.t.trib1.id)]})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    box = html[html.index('data-testid="split-confirm"') :]
    box = box[: box.index("</div>")]
    assert f'href="/assignments/{w.direct.id}"' in box and "东山人民法庭" in box
    assert "仍要分解" in box and 'name="confirm"' in box
    assert f'name="unit_ids" value="{w.t.trib1.id}"' in box
    assert _count(db, Assignment, Assignment.parent_id == w.a.id) == 0
    # the link leads to the item the tribunal already holds, which the splitter may open
    assert c.get(f"/assignments/{w.direct.id}").status_code == 200
    a = db.session.get(Assignment, w.a.id)
    resp = c.post(url, data={"version": a.version, "unit_ids": [str(w.t.trib1.id)], "confirm": "y"})
    assert resp.status_code == 302
    assert _count(db, Assignment, Assignment.parent_id == w.a.id) == 1


def test_a_split_to_fresh_units_asks_nothing(db, w):
    (child,) = services.split_assignment(
        w.u.base1_coord, w.a, [w.t.trib2], expected_version=w.a.version, now=LATER
    )
    assert child.unit_id == w.t.trib2.id


# ---------------------------------------------------------------- units with nobody


def test_units_without_people_counts_only_active_workers(db, w):
    """An account switched off, or one holding only an administrator's role, is nobody."""
    ids = [w.t.base1.id, w.t.trib1.id, w.empty.id]
    assert services.units_without_people(ids) == {w.empty.id}
    assert services.units_without_people([]) == set()


def test_assigning_to_a_unit_with_nobody_is_refused_naming_it(db, w):
    task = factories.task(w.u.assigner, w.p, title="规范诉讼服务站点", now=NOW)
    db.session.commit()
    before = (_count(db, Assignment), _count(db, Notification))
    with pytest.raises(ServiceError) as exc:
        services.assign_task(
            w.u.assigner, task, [w.t.base2, w.empty], expected_version=task.version, now=LATER
        )
    assert "“北山人民法庭”没有在岗的承办人员" in exc.value.message and "甲二区" not in exc.value.message
    assert exc.value.field == "unit_ids"
    db.session.rollback()
    assert (_count(db, Assignment), _count(db, Notification)) == before


def test_splitting_to_a_unit_with_nobody_is_refused(db, w):
    b2 = factories.assign(w.u.assigner, w.task, w.t.base2, now=NOW)[0]
    with pytest.raises(ServiceError, match="北山人民法庭"):
        services.split_assignment(w.u.base2_coord, b2, [w.empty], expected_version=b2.version, now=LATER)


def test_an_import_batch_refuses_the_unit_too(db, w):
    batch = NewItems()
    task = services.create_task(
        w.u.assigner, w.p, title="导入的事项", deadline=date(2026, 9, 30), now=NOW, batch=batch
    )
    with pytest.raises(ServiceError, match="北山人民法庭"):
        services.assign_task(
            w.u.assigner, task, [w.empty], expected_version=task.version, now=NOW, batch=batch
        )
    assert batch.assignments == []


def test_the_assign_form_refuses_a_unit_with_nobody(db, w, app):
    c = _as(app, w.u.assigner)
    task = factories.task(w.u.assigner, w.p, title="规范诉讼服务站点", now=NOW)
    db.session.commit()
    resp = c.post(f"/tasks/{task.id}/assign", data={"version": task.version, "unit_ids": [str(w.empty.id)]})
    assert resp.status_code == 400
    assert "“北山人民法庭”没有在岗的承办人员" in resp.get_data(as_text=True)
    assert _count(db, Assignment, Assignment.task_id == task.id) == 0
    # the new-item form with a staffed and an empty unit: nothing saved, not even the item
    resp = c.post(
        f"/projects/{w.p.id}/tasks/new",
        data={
            "title": "调整人民法庭布局",
            "priority": "normal",
            "deadline_kind": "date",
            "deadline": "2026-09-30",
            "category_id": "0",
            "recurrence": "",
            "report_every": "",
            "unit_ids": [str(w.t.base2.id), str(w.empty.id)],
        },
    )
    assert resp.status_code == 400 and "北山人民法庭" in resp.get_data(as_text=True)
    assert _count(db, Task, Task.title == "调整人民法庭布局") == 0


def test_the_api_refuses_a_unit_with_nobody(db, w, client):
    head = factories.bearer(client, w.u.assigner)
    resp = client.post(
        "/api/v1/tasks",
        headers=head,
        json={"project_id": w.p.id, "title": "接口事项", "deadline": "2026-09-30", "unit_ids": [w.empty.id]},
    )
    assert resp.status_code == 400
    assert "“北山人民法庭”没有在岗的承办人员" in resp.get_json()["error"]
    assert _count(db, Task, Task.title == "接口事项") == 0


# ---------------------------------------------------------------- a return keeps the progress


def test_a_return_keeps_the_last_reported_percent_with_its_reason(db, w, app):
    a, staff = w.a, w.u.base1_staff
    services.add_report(staff, a, text="过半", percent=50, files=[], expected_version=a.version, now=NOW)
    services.add_report(
        staff, a, text="完成", percent=100, files=[], submit=True, expected_version=a.version, now=NOW
    )
    services.review(
        w.u.assigner, a, decision="return", comment="缺少现场照片", expected_version=a.version, now=LATER
    )
    db.session.commit()
    a = db.session.get(Assignment, a.id)
    assert (a.status, a.progress, a.progress_override) == ("returned", 100, 100)
    ret = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "assignment.return"))
    assert "progress_override" not in ret.after or ret.after["progress_override"] == 100
    html = _as(app, staff).get(f"/assignments/{a.id}").get_data(as_text=True)
    assert "尚无进度" not in html
    kept = re.search(r'data-testid="returned-progress">(.*?)</div>', html, re.S).group(1)
    assert "100%" in kept and "缺少现场照片" in kept
    assert "100% → —" not in html and "填报进度：100%" not in html


# ---------------------------------------------------------------- the review form


def _submitted(db, w):
    a = w.a
    services.add_report(
        w.u.base1_staff,
        a,
        text="完成",
        percent=100,
        files=[],
        submit=True,
        expected_version=a.version,
        now=NOW,
    )
    db.session.commit()
    return db.session.get(Assignment, a.id)


def test_the_review_form_preselects_no_conclusion(db, w, app):
    a = _submitted(db, w)
    c = _as(app, w.u.assigner)
    html = c.get(f"/assignments/{a.id}").get_data(as_text=True)
    form = html[html.index('data-testid="review-form"') :]
    select_ = form[: form.index("</select>")]
    assert re.search(r'<option selected value="">请选择审核结论</option>', select_), select_
    assert 'selected value="approve"' not in select_
    resp = c.post(f"/assignments/{a.id}/review", data={"version": a.version, "comment": ""})
    assert resp.status_code == 400 and "请选择审核结论" in resp.get_data(as_text=True)
    assert db.session.get(Assignment, a.id).status == "submitted"


def test_a_rectifications_review_form_says_xiaohao(db, w, app):
    leader = factories.user("jz_ld", w.t.inter1, ["leader"])
    r = services.create_rectification(
        w.u.assigner,
        organizer_unit=w.t.inter1,
        verifier=leader,
        unit=w.t.base1,
        description="诉讼服务站点未设置导诉台",
        deadline=date(2026, 4, 30),
        now=NOW,
    )
    services.add_report(
        w.u.base1_coord,
        r,
        text="已设置",
        files=[],
        percent=None,
        submit=True,
        expected_version=r.version,
        now=NOW,
    )
    db.session.commit()
    c = _as(app, leader)
    html = c.get(f"/assignments/{r.id}").get_data(as_text=True)
    select_ = html[html.index('data-testid="review-form"') :]
    select_ = select_[: select_.index("</select>")]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select_) == ["请选择审核结论", "销号", "退回"]
    r = db.session.get(Assignment, r.id)
    resp = c.post(
        f"/assignments/{r.id}/review",
        data={"version": r.version, "decision": "approve"},
        follow_redirects=True,
    )
    assert "已销号。" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- the 催办单 button


def test_only_the_assigning_side_sees_the_urge_button(db, w, app):
    """An overdue split (deadline 2026-06-30): the tribunal head working on it sees no
    发催办单; the base court that split it does."""
    (child,) = services.split_assignment(
        w.u.base1_coord, w.a, [w.t.trib2], expected_version=w.a.version, now=LATER
    )
    db.session.commit()
    url = f"/assignments/{child.id}"
    assert "发催办单" not in _as(app, w.u.trib2_head).get(url).get_data(as_text=True)
    assert "发催办单" not in _as(app, w.u.trib1_head).get(f"/assignments/{w.direct.id}").get_data(
        as_text=True
    )
    assert "发催办单" in _as(app, w.u.base1_coord).get(url).get_data(as_text=True)


def test_the_urge_list_offers_no_button_to_a_tribunal_head(db, w, app):
    """/urge lists the 催办单 a tribunal head received; composing one is not his to do
    (the rule: authz "urge.compose")."""
    assert "发催办单" not in _as(app, w.u.trib1_head).get("/urge").get_data(as_text=True)
    assert "发催办单" in _as(app, w.u.assigner).get("/urge").get_data(as_text=True)
