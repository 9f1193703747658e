"""The optimistic lock on every page that edits a project, an item, an assignment (each
status action) or a rectification: a save from a page somebody else saved since ends
on the conflict page (409: what changed, who saved it, the user's input kept) and saves
nothing; a save without its version is refused and saves nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.errors import ANY_VERSION, Conflict, MissingVersion, check_version
from app.journal import JournalEntry
from app.tasks import services
from app.tasks.models import Assignment, AssignmentStep, ExtensionRequest, ProgressReport, Project, Task
from app.timeutil import utcnow
from app.visits import services as visit_services
from tests import factories
from tests.pages import Forms, loaded

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen():
    """Pages and services agree on the day (deadlines are in the future)."""
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=True):
        yield


@pytest.fixture
def w(db, tree):
    """inter1's item assigned to base1; a second assigner of inter1 (the "somebody else");
    a rectification found by inter1's leader at trib1, verified by that leader."""
    u = factories.task_users(tree)
    u.assigner2 = factories.user("jz_zb2", tree.inter1, ["assigner"], display_name="甲市中院专班二")
    u.leader = factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长")
    u.trib1_deputy = factories.user("ds_fz", tree.trib1, ["tribunal_head"], display_name="东山副庭长")
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1], now=NOW)
    finding = visit_services.add_finding(
        u.leader, visit, unit=tree.trib1, description="卷宗归档不及时", deadline=date(2026, 4, 30), now=NOW
    )
    r = visit_services.rectification_of(finding)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, task=t, a=a, r=r)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _state(db) -> tuple:
    """Everything an edit here could change."""
    db.session.expire_all()
    rows = lambda *cols: [tuple(r) for r in db.session.execute(select(*cols).order_by(cols[0]))]  # noqa: E731
    return (
        rows(Assignment.id, Assignment.status, Assignment.deadline, Assignment.progress, Assignment.version),
        rows(Task.id, Task.title, Task.version),
        rows(Project.id, Project.name, Project.version),
        rows(ExtensionRequest.id, ExtensionRequest.status),
        rows(AssignmentStep.id, AssignmentStep.title, AssignmentStep.done_at),
        _count(db, ProgressReport),
        _count(db, JournalEntry),
    )


# ---------------------------------------------------------------- one row per page action


@dataclass
class Case:
    who: str  # the person on the page (attribute of w.u)
    page: Any  # (w) -> the page the form is on
    action: Any  # (w) -> the URL it posts to
    data: Any  # (w) -> what the person typed
    typed: str  # a piece of their input the conflict page must keep
    other: Any  # (w) -> somebody else's save in between
    other_name: str  # that somebody, as the journal names them
    prepare: Any = None  # (w) -> bring the object to the state the action needs


def _assigner_adds_step(w):
    services.add_step(
        w.u.assigner,
        w.a,
        kind="check",
        title="他人添加的检查项",
        due=None,
        expected_version=w.a.version,
        now=utcnow(),
    )


def _assigner2_adds_step(w):
    services.add_step(
        w.u.assigner2,
        w.a,
        kind="check",
        title="他人添加的检查项",
        due=None,
        expected_version=w.a.version,
        now=utcnow(),
    )


def _submitted(w):
    services.add_report(
        w.u.base1_staff,
        w.a,
        text="已完成",
        percent=100,
        files=[],
        submit=True,
        expected_version=w.a.version,
        now=NOW,
    )


def _extension_requested(w):
    services.request_extension(
        w.u.base1_staff,
        w.a,
        new_deadline=date(2026, 7, 31),
        reason="场地协调",
        expected_version=w.a.version,
        now=NOW,
    )


def _step_added(w):
    services.add_step(
        w.u.base1_staff,
        w.a,
        kind="check",
        title="配齐法庭庭长",
        due=None,
        expected_version=w.a.version,
        now=NOW,
    )


def _task_renamed(w):
    services.update_task(
        w.u.assigner2,
        w.task,
        title="他人改的名称",
        requirements=None,
        category=None,
        lead_leader=None,
        cooperators=[],
        priority="normal",
        deadline_kind="date",
        deadline=w.task.deadline,
        recurrence=None,
        report_every=None,
        notes=None,
        expected_version=w.task.version,
        now=utcnow(),
    )


def _project_renamed(w):
    services.update_project(
        w.u.assigner2,
        w.p,
        name="他人改的项目名",
        start=w.p.start,
        end=w.p.end,
        description=None,
        expected_version=w.p.version,
        now=utcnow(),
    )


def _rect_submitted(w):
    services.add_report(
        w.u.trib1_head,
        w.r,
        text="已整改",
        percent=100,
        files=[],
        submit=True,
        expected_version=w.r.version,
        now=NOW,
    )


def _deputy_adds_step(w):
    services.add_step(
        w.u.trib1_deputy,
        w.r,
        kind="check",
        title="他人添加的检查项",
        due=None,
        expected_version=w.r.version,
        now=utcnow(),
    )


def _deputy_reports(w):
    services.add_report(
        w.u.trib1_deputy,
        w.r,
        text="他人的整改反馈",
        percent=30,
        files=[],
        expected_version=w.r.version,
        now=utcnow(),
    )


A = lambda w: f"/assignments/{w.a.id}"  # noqa: E731
R = lambda w: f"/assignments/{w.r.id}"  # noqa: E731
_task_form = {
    "title": "我改的名称",
    "priority": "normal",
    "deadline_kind": "date",
    "deadline": "2026-06-30",
    "category_id": "0",
    "recurrence": "",
    "report_every": "",
}

CASES = {
    "签收": Case(
        "base1_staff",
        A,
        lambda w: A(w) + "/acknowledge",
        lambda w: {},
        "",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "进度反馈": Case(
        "base1_staff",
        A,
        lambda w: A(w) + "/report",
        lambda w: {"text": "我的进展说明：已完成选址", "percent": "40"},
        "我的进展说明：已完成选址",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "提交审核": Case(
        "base1_staff",
        A,
        lambda w: A(w) + "/report",
        lambda w: {"text": "全部完成，请审核", "percent": "100", "submit_for_review": "y"},
        "全部完成，请审核",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "审核办结": Case(
        "assigner",
        A,
        lambda w: A(w) + "/review",
        lambda w: {"decision": "approve", "comment": "同意办结的意见"},
        "同意办结的意见",
        _assigner2_adds_step,
        "甲市中院专班二",
        prepare=_submitted,
    ),
    "审核退回": Case(
        "assigner",
        A,
        lambda w: A(w) + "/review",
        lambda w: {"decision": "return", "comment": "请补充现场照片"},
        "请补充现场照片",
        lambda w: services.review(
            w.u.assigner2,
            w.a,
            decision="approve",
            comment="已办结",
            expected_version=w.a.version,
            now=utcnow(),
        ),
        "甲市中院专班二",
        prepare=_submitted,
    ),
    "申请延期": Case(
        "base1_staff",
        A,
        lambda w: A(w) + "/extension",
        lambda w: {"new_deadline": "2026-08-31", "reason": "我的延期理由：需协调场地"},
        "我的延期理由：需协调场地",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "审批延期": Case(
        "assigner",
        A,
        lambda w: f"/extensions/{db_id(ExtensionRequest)}/decide",
        lambda w: {"decision": "refuse", "comment": "我的审批意见：时间充足"},
        "我的审批意见：时间充足",
        _assigner2_adds_step,
        "甲市中院专班二",
        prepare=_extension_requested,
    ),
    "拆分": Case(
        "base1_coord",
        A,
        lambda w: A(w) + "/split",
        lambda w: {"unit_ids": [str(w.t.trib1.id)]},
        "东山人民法庭",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "添加里程碑": Case(
        "base1_staff",
        A,
        lambda w: A(w) + "/steps",
        lambda w: {"kind": "milestone", "title": "我的里程碑：完成装修", "due": "2026-05-01"},
        "我的里程碑：完成装修",
        _assigner_adds_step,
        "甲市中院专班",
    ),
    "勾选检查项": Case(
        "base1_staff",
        A,
        lambda w: f"/steps/{db_id(AssignmentStep)}/toggle",
        lambda w: {"done": "1"},
        "",
        _assigner_adds_step,
        "甲市中院专班",
        prepare=_step_added,
    ),
    "修改事项": Case(
        "assigner",
        lambda w: f"/tasks/{w.task.id}/edit",
        lambda w: f"/tasks/{w.task.id}/edit",
        lambda w: dict(_task_form),
        "我改的名称",
        _task_renamed,
        "甲市中院专班二",
    ),
    "交办": Case(
        "assigner",
        lambda w: f"/tasks/{w.task.id}",
        lambda w: f"/tasks/{w.task.id}/assign",
        lambda w: {"unit_ids": [str(w.t.base2.id)]},
        "甲二区人民法院",
        _task_renamed,
        "甲市中院专班二",
    ),
    "修改项目": Case(
        "assigner",
        lambda w: f"/projects/{w.p.id}/edit",
        lambda w: f"/projects/{w.p.id}/edit",
        lambda w: {
            "name": "我改的项目名",
            "owner_unit_id": str(w.t.inter1.id),
            "start": "2026-01-01",
            "end": "2026-12-31",
        },
        "我改的项目名",
        _project_renamed,
        "甲市中院专班二",
    ),
    "整改反馈": Case(
        "trib1_head",
        R,
        lambda w: R(w) + "/report",
        lambda w: {"text": "我的整改情况：已归档", "percent": "80"},
        "我的整改情况：已归档",
        _deputy_reports,
        "东山副庭长",
    ),
    "整改销号": Case(
        "leader",
        R,
        lambda w: R(w) + "/review",
        lambda w: {"decision": "approve", "comment": "我的核验意见：整改到位"},
        "我的核验意见：整改到位",
        _deputy_adds_step,
        "东山副庭长",
        prepare=_rect_submitted,
    ),
}


def db_id(model) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.max(model.id)))


def _prepare(db, w, case: Case) -> None:
    if case.prepare:
        case.prepare(w)
        db.session.commit()


@pytest.mark.parametrize("name", list(CASES))
def test_a_save_from_a_stale_page_shows_the_conflict_and_saves_nothing(db, w, as_user, name):
    """Loaded at version v; somebody else saves; the save based on v → 409 conflict page
    (the user's input kept, who saved, the re-submit form on the current version); nothing saved."""
    case = CASES[name]
    _prepare(db, w, case)
    client = as_user(getattr(w.u, case.who))
    action = case.action(w)
    carried = loaded(client, case.page(w), action)
    case.other(w)
    db.session.commit()
    before = _state(db)
    resp = client.post(action, data={**case.data(w), **carried})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html[:2000]
    assert 'data-testid="conflict"' in html
    assert "您提交的" in html and "当前保存的" in html
    assert case.typed in html  # nothing typed is lost
    assert case.other_name in html  # who saved it (from the journal) …
    assert "您打开页面之后的修改" in html  # … since this page was loaded
    versions = re.findall(r'name="version" value="(\d+)"', html)
    assert versions and int(versions[-1]) > int(carried["version"])  # re-submit on the current version
    assert _state(db) == before


@pytest.mark.parametrize("name", list(CASES))
def test_a_save_without_its_version_is_refused_and_saves_nothing(db, w, as_user, name):
    """The same save with the version field removed: refused (409, 缺少版本号), nothing saved."""
    case = CASES[name]
    _prepare(db, w, case)
    client = as_user(getattr(w.u, case.who))
    before = _state(db)
    resp = client.post(case.action(w), data=case.data(w))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html[:2000]
    assert "缺少版本号" in html
    assert _state(db) == before


@pytest.mark.parametrize("version", ["abc", "-1", "1.0", "9" * 40, " "])
def test_a_malformed_version_is_refused(db, w, as_user, version):
    """A version that is not a whole number (or is empty) is refused like a missing one."""
    client = as_user(w.u.base1_staff)
    before = _state(db)
    resp = client.post(f"/assignments/{w.a.id}/report", data={"text": "进展", "version": version})
    assert resp.status_code == 409
    assert "版本号" in resp.get_data(as_text=True)
    assert _state(db) == before


def test_the_same_page_saved_twice_the_second_is_the_conflict(db, w, as_user):
    """Two people open the review page at the same version; the first 退回 wins, the
    second's 办结 sees the conflict page showing the 退回 (status, reason, who)."""
    _submitted(w)
    db.session.commit()
    first, second = as_user(w.u.assigner), as_user(w.u.assigner2)
    action = f"/assignments/{w.a.id}/review"
    loaded1 = loaded(first, f"/assignments/{w.a.id}", action)
    loaded2 = loaded(second, f"/assignments/{w.a.id}", action)
    assert loaded1["version"] == loaded2["version"]
    ok = first.post(action, data={"decision": "return", "comment": "照片不清晰", **loaded1})
    assert ok.status_code == 302
    resp = second.post(action, data={"decision": "approve", "comment": "同意", **loaded2})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "已退回" in html and "照片不清晰" in html and "甲市中院专班" in html
    assert db.session.get(Assignment, w.a.id).status == "returned"


def test_resubmitting_from_the_conflict_page_saves_on_the_current_version(db, w, as_user):
    """The conflict page's own form carries the current version and the typed text: posting it saves."""
    client = as_user(w.u.base1_staff)
    action = f"/assignments/{w.a.id}/report"
    carried = loaded(client, f"/assignments/{w.a.id}", action)
    _assigner_adds_step(w)
    db.session.commit()
    page = client.post(action, data={"text": "我的进展说明", "percent": "40", **carried})
    assert page.status_code == 409
    parser = Forms()
    parser.feed(page.get_data(as_text=True))
    hidden = parser.forms[action]
    text = re.search(r'<textarea[^>]*name="text"[^>]*>([^<]*)</textarea>', page.get_data(as_text=True))
    assert text and text.group(1) == "我的进展说明"
    again = client.post(action, data={**hidden, "text": text.group(1), "percent": "40"})
    assert again.status_code == 302
    assert db.session.scalars(select(ProgressReport)).one().text == "我的进展说明"


def test_a_task_conflict_shows_the_field_both_ways(db, w, as_user):
    """修改事项: the 名称 row shows 我改的名称 (yours) beside 他人改的名称 (saved), marked as changed by another."""
    client = as_user(w.u.assigner)
    carried = loaded(client, f"/tasks/{w.task.id}/edit", f"/tasks/{w.task.id}/edit")
    _task_renamed(w)
    db.session.commit()
    resp = client.post(f"/tasks/{w.task.id}/edit", data={**_task_form, **carried})
    html = resp.get_data(as_text=True)
    row = re.search(r'<tr class="table-warning" data-field="title">(.*?)</tr>', html, re.S)
    assert row, html[:3000]
    assert "我改的名称" in row.group(1) and "他人改的名称" in row.group(1) and "他人已修改" in row.group(1)
    assert db.session.get(Task, w.task.id).title == "他人改的名称"


def test_bulk_extension_of_a_changed_row_is_a_conflict(db, w, as_user):
    """批量延期 from a list loaded before a row changed: 409, no deadline moves; without versions: refused."""
    client = as_user(w.u.assigner)
    html = client.get("/assignments").get_data(as_text=True)
    version = re.search(rf'name="version-{w.a.id}" value="(\d+)"', html).group(1)
    data = {"action": "extend", "ids": [str(w.a.id)], "new_deadline": "2026-09-30", "message": "统一延期"}
    _assigner_adds_step(w)
    db.session.commit()
    before = _state(db)
    stale = client.post("/assignments/bulk", data={**data, f"version-{w.a.id}": version})
    assert stale.status_code == 409 and "统一延期" in stale.get_data(as_text=True)
    assert _state(db) == before
    missing = client.post("/assignments/bulk", data=data)
    assert missing.status_code == 409 and "缺少版本号" in missing.get_data(as_text=True)
    assert _state(db) == before
    fresh = client.post("/assignments/bulk", data={**data, f"version-{w.a.id}": w.a.version})
    assert fresh.status_code == 303
    assert db.session.get(Assignment, w.a.id).deadline == date(2026, 9, 30)


# ---------------------------------------------------------------- the rule itself


def test_check_version_rule(db, w):
    """Same version passes; another, none, empty or malformed is refused; only ANY_VERSION skips."""
    a = w.a
    check_version(a, a.version)
    check_version(a, str(a.version))
    check_version(a, ANY_VERSION)
    with pytest.raises(Conflict) as stale:
        check_version(a, a.version + 1)
    assert not isinstance(stale.value, MissingVersion)
    assert stale.value.current_version == a.version and stale.value.obj is a
    for bad in (None, "", "  ", "x", True, -1, 1.5, "1e3"):
        with pytest.raises(MissingVersion) as exc:
            check_version(a, bad)
        assert exc.value.status == 409 and exc.value.current_version == a.version


def test_services_refuse_a_missing_version(db, w):
    """Every assignment service refuses a save that says no version (the API path too)."""
    calls = [
        lambda: services.acknowledge(w.u.base1_staff, w.a, expected_version=None, now=NOW),
        lambda: services.add_report(
            w.u.base1_staff, w.a, text="x", percent=None, files=[], expected_version=None, now=NOW
        ),
        lambda: services.add_step(
            w.u.base1_staff, w.a, kind="check", title="x", due=None, expected_version=None, now=NOW
        ),
        lambda: services.split_assignment(w.u.base1_coord, w.a, [w.t.trib1], expected_version=None, now=NOW),
        lambda: services.assign_task(w.u.assigner, w.task, [w.t.base2], expected_version=None, now=NOW),
    ]
    before = _state(db)
    for call in calls:
        with pytest.raises(MissingVersion):
            call()
        db.session.rollback()
    assert _state(db) == before
