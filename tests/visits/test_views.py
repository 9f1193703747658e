"""Visit pages: plan, record with photos, findings → rectifications, print and Word
report, coverage, pairings; bad input is a 4xx with nothing saved; hidden visits are
404; the list and coverage pages use a fixed number of queries. Time is frozen at
2026-03-02 10:00 (Asia/Shanghai)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import docx as python_docx
import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from app.attachments import Attachment
from app.tasks.models import Assignment
from app.visits import services
from app.visits.models import Finding, Pairing, Visit, VisitKind, VisitLeader, VisitTarget
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0)  # naive UTC = 2026-03-02 10:00 in Shanghai


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _section(html: str, testid: str) -> str:
    """The inner HTML of the element carrying data-testid=... (up to its closing tag)."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"{testid} not on the page"
    return match.group(2)


@pytest.fixture(autouse=True)
def march2():
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=False):
        yield


@pytest.fixture
def w(db, tree):
    """inter1's leader has planned a visit to trib1 and trib2 on 2026-03-10."""
    u = factories.visit_users(tree)
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [tree.trib1, tree.trib2], now=NOW)
    db.session.commit()
    kinds = dict(db.session.execute(select(VisitKind.name, VisitKind.id)).all())
    return SimpleNamespace(t=tree, u=u, visit=visit, kinds=kinds)


def _plan(w, **over) -> dict:
    data = {
        "kind_id": str(w.kinds["蹲点指导"]),
        "organizer_unit_id": str(w.t.inter1.id),
        "title": "东山法庭蹲点指导",
        "leader_ids": [str(w.u.leader.id)],
        "target_ids": [str(w.t.trib1.id)],
        "team": "审管办 王某",
        "planned_start": "2026-03-16",
        "planned_end": "2026-03-18",
        "topics": "审执质效、法庭建设",
    }
    data.update(over)
    return data


def _record_form(w, **over) -> dict:
    data = {
        "actual_start": "2026-02-26",
        "actual_end": "2026-02-27",
        "summary": "听取法庭工作汇报，旁听庭审。",
        "suggestions": "加强诉前调解。",
        "solved_on_spot": "协调解决车辆调配。",
        "version": str(w.visit.version),
    }
    data.update(over)
    return data


# ---------------------------------------------------------------- pages render


@pytest.mark.parametrize(
    "path, text",
    [
        ("/visits", "人民法庭建设调研"),
        ("/visits/new", "安排走访"),
        ("/visits/{id}", "记录走访情况"),
        ("/visits/{id}/print", "督导走访情况报告"),
        ("/visits/coverage", "未走访的单位"),
        ("/pairings", "联系点"),
    ],
)
def test_pages_render_for_the_leader(w, as_user, path, text):
    """Every visit page answers 200 for the organising leader."""
    resp = as_user(w.u.leader).get(path.format(id=w.visit.id))
    assert resp.status_code == 200
    assert text in resp.get_data(as_text=True)


def test_staff_cannot_plan_and_a_sibling_court_sees_nothing(w, as_user, db):
    """No visit role → 403 on the plan form; a unit beside the organiser → 404 on the visit."""
    assert as_user(w.u.staff).get("/visits/new").status_code == 403
    other = as_user(w.u.other_leader)
    assert other.get(f"/visits/{w.visit.id}").status_code == 404
    assert other.get(f"/visits/{w.visit.id}.docx").status_code == 404
    assert "人民法庭建设调研" not in other.get("/visits").get_data(as_text=True)


# ---------------------------------------------------------------- plan


def test_plan_a_visit(w, as_user, db):
    """The form posts; the visit is saved with its leaders and targets; the page shows it."""
    c = as_user(w.u.leader)
    resp = c.post("/visits/new", data=_plan(w))
    assert resp.status_code == 302
    visit = db.session.scalar(select(Visit).where(Visit.title == "东山法庭蹲点指导"))
    assert visit.kind.name == "蹲点指导" and (visit.planned_start, visit.planned_end) == (
        date(2026, 3, 16),
        date(2026, 3, 18),
    )
    html = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "东山人民法庭" in html and "甲市中院院长" in html and "审管办 王某" in html


@pytest.mark.parametrize(
    "over, message",
    [
        (lambda w: {"target_ids": [str(w.t.base3.id)]}, "不在组织单位的下级范围内"),
        (lambda w: {"planned_start": "2026-03-18", "planned_end": "2026-03-16"}, "结束日期不能早于开始日期"),
        (lambda w: {"leader_ids": [str(w.u.other_leader.id)]}, "须为组织单位或其上级单位的院领导"),
        (lambda w: {"target_ids": []}, "请选择至少一个走访对象单位"),
        (lambda w: {"planned_start": "2026-13-45"}, "计划开始日期"),
    ],
)
def test_bad_plans_are_400_with_a_message_and_nothing_saved(w, as_user, db, over, message):
    """A target outside the organiser's subtree, end before start, a sibling court's leader,
    no target, a malformed date: 400, the Chinese message, no visit."""
    resp = as_user(w.u.leader).post("/visits/new", data=_plan(w, **over(w)))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert message in html and "Not a valid" not in html
    assert _count(db, Visit) == 1  # only the fixture's


def test_changing_the_organiser_offers_its_leaders_and_units(w, as_user, db):
    """Planning for base1 offers base1's tribunals only, and leaders of base1 and above."""
    base1_leader = factories.user("j1_ld", w.t.base1, ["leader"], display_name="甲一区院长")
    db.session.commit()
    html = as_user(w.u.assigner).get(f"/visits/new?organizer={w.t.base1.id}").get_data(as_text=True)
    form = _section(html, "visit-form")
    assert "东山人民法庭" in form and "西山人民法庭" in form and "南山人民法庭" not in form
    leaders = {int(x) for x in re.findall(r'name="leader_ids" type="checkbox" value="(\d+)"', form)}
    assert leaders == {base1_leader.id, w.u.leader.id, w.u.leader2.id, w.u.high_leader.id}
    assert as_user(w.u.assigner).get(f"/visits/new?organizer={w.t.base3.id}").status_code == 404


# ---------------------------------------------------------------- record and findings


def test_record_with_photos_marks_done_and_shows_thumbnails(w, as_user, db):
    """A multipart record with a photo: done, the photo stored for the visit, shown as a thumbnail."""
    c = as_user(w.u.leader)
    data = {**_record_form(w), "files": [(io.BytesIO(_png()), "现场.png")]}
    resp = c.post(f"/visits/{w.visit.id}/record", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.get(Visit, w.visit.id).status == "done"
    att = db.session.scalar(select(Attachment).where(Attachment.owner_type == "Visit"))
    html = c.get(f"/visits/{w.visit.id}").get_data(as_text=True)
    assert f"/attachments/{att.id}?thumb=1" in html and "协调解决车辆调配" in html
    thumb = c.get(f"/attachments/{att.id}?thumb=1")
    thumb.close()
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "over, status, message",
    [
        ({"actual_start": "2026-03-11", "actual_end": "2026-03-10"}, 400, "结束日期不能早于开始日期"),
        ({"summary": ""}, 400, "请填写走访情况"),
        ({"version": "99"}, 409, "已被他人修改"),
    ],
)
def test_bad_records_are_refused_and_the_visit_stays_planned(w, as_user, db, over, status, message):
    """End before start, no summary, a stale copy: 4xx with the message, nothing saved."""
    resp = as_user(w.u.leader).post(f"/visits/{w.visit.id}/record", data=_record_form(w, **over))
    assert resp.status_code == status
    assert message in resp.get_data(as_text=True)
    assert db.session.get(Visit, w.visit.id).status == "planned"


def test_a_leader_who_did_not_lead_may_not_record(w, as_user, db):
    """Another leader of the same court sees the visit but may not record it (403), nor add findings."""
    c = as_user(w.u.leader2)
    assert c.post(f"/visits/{w.visit.id}/record", data=_record_form(w)).status_code == 403
    resp = c.post(
        f"/visits/{w.visit.id}/findings",
        data={"unit_id": w.t.trib1.id, "description": "x", "deadline": "2026-04-30"},
    )
    assert resp.status_code == 403
    assert "record-form" not in c.get(f"/visits/{w.visit.id}").get_data(as_text=True)


def test_add_finding_makes_a_rectification_linked_from_the_visit(w, as_user, db):
    """The finding becomes an assignment of trib1; the visit page links to /assignments/<id>."""
    c = as_user(w.u.leader)
    data = {
        "unit_id": w.t.trib1.id,
        "description": "卷宗归档不及时",
        "deadline": "2026-04-30",
        "verifier_id": w.u.leader.id,
    }
    assert c.post(f"/visits/{w.visit.id}/findings", data=data).status_code == 302
    finding = db.session.scalar(select(Finding))
    a = db.session.scalar(select(Assignment).where(Assignment.task_id == finding.task_id))
    assert a.unit_id == w.t.trib1.id and a.deadline == date(2026, 4, 30)
    html = c.get(f"/visits/{w.visit.id}").get_data(as_text=True)
    assert f"/assignments/{a.id}" in html and "卷宗归档不及时" in html and "待签收" in html


@pytest.mark.parametrize(
    "over, message",
    [
        (lambda w: {"unit_id": w.t.trib3.id}, "不是有效"),
        (lambda w: {"deadline": "2026-03-01"}, "整改时限不能早于今天"),
        (lambda w: {"deadline": ""}, "请填写整改时限"),
        (lambda w: {"verifier_id": w.u.leader2.id}, "不是有效"),
    ],
)
def test_bad_findings_are_400_and_nothing_saved(w, as_user, db, over, message):
    """A unit that was not visited, a past or missing deadline, a verifier who did not lead."""
    data = {
        "unit_id": w.t.trib1.id,
        "description": "窗口标识不清",
        "deadline": "2026-04-30",
        "verifier_id": w.u.leader.id,
    }
    resp = as_user(w.u.leader).post(f"/visits/{w.visit.id}/findings", data={**data, **over(w)})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(db, Finding) == 0 and _count(db, Assignment) == 0


def test_a_visited_tribunal_sees_its_own_findings_only(w, db, as_user):
    """trib1's head sees the visit and trib1's rectification, not trib2's."""
    for unit, text in ((w.t.trib1, "东山问题"), (w.t.trib2, "西山问题")):
        services.add_finding(
            w.u.leader, w.visit, unit=unit, description=text, deadline=date(2026, 4, 30), now=NOW
        )
    db.session.commit()
    html = as_user(w.u.head).get(f"/visits/{w.visit.id}").get_data(as_text=True)
    assert "东山问题" in html and "西山问题" not in html


# ---------------------------------------------------------------- list, print, Word


def test_a_planned_visit_past_its_date_is_flagged_and_filterable(w, as_user, db):
    """On 2026-03-20 the unrecorded visit of 03-10 carries 逾期未记录 and is in the filter."""
    with time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=SH), tick=False):
        c = as_user(w.u.leader)
        assert "逾期未记录" in c.get("/visits").get_data(as_text=True)
        assert "人民法庭建设调研" in c.get("/visits?status=unrecorded").get_data(as_text=True)
        assert "人民法庭建设调研" not in c.get("/visits?status=done").get_data(as_text=True)
        assert "逾期未记录" in c.get(f"/visits/{w.visit.id}").get_data(as_text=True)
    assert "badge text-bg-danger" not in as_user(w.u.leader).get("/visits").get_data(as_text=True)


def test_docx_opens_and_holds_the_facts_and_findings(w, as_user, db):
    """The Word report opens with python-docx and holds the facts and the findings table."""
    services.record_visit(
        w.u.leader,
        w.visit,
        actual_start=date(2026, 2, 24),
        actual_end=date(2026, 2, 26),
        summary="听取汇报。",
        suggestions="加强调解。",
        solved_on_spot="解决车辆。",
        topics=None,
        team="王某",
        files=[],
        expected_version=w.visit.version,
        now=NOW,
    )
    services.add_finding(
        w.u.leader,
        w.visit,
        unit=w.t.trib2,
        description="诉讼服务窗口标识不清",
        deadline=date(2026, 4, 30),
        now=NOW,
    )
    db.session.commit()
    resp = as_user(w.u.leader).get(f"/visits/{w.visit.id}.docx")
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    doc = python_docx.Document(io.BytesIO(resp.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "甲市中级人民法院督导走访情况报告" in text and "二、走访情况" in text and "听取汇报。" in text
    assert "2026年2月24日至2月26日" in cells and "东山人民法庭、西山人民法庭" in cells
    assert {"西山人民法庭", "诉讼服务窗口标识不清", "2026年4月30日", "甲市中院院长", "待签收"} <= set(cells)
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_print_view_is_a4_with_the_findings(w, as_user, db):
    """The print page sets A4 and lists the findings with their verifier."""
    services.add_finding(
        w.u.leader, w.visit, unit=w.t.trib1, description="卷宗归档不及时", deadline=date(2026, 4, 30), now=NOW
    )
    db.session.commit()
    c = as_user(w.u.leader)
    html = c.get(f"/visits/{w.visit.id}/print").get_data(as_text=True)
    # A4 is set in the page's linked style sheet (the CSP allows no inline style).
    sheet = Path(c.application.static_folder, "css", "print-visit.css").read_text(encoding="utf-8")
    assert re.search(r"css/print-visit\.[0-9a-f]{12}\.css", html) and "size: A4" in sheet  # hashed name
    assert "卷宗归档不及时" in html and "2026年4月30日" in html and "甲市中院院长" in html


# ---------------------------------------------------------------- coverage and pairings


def test_coverage_lists_the_unvisited_units(w, as_user, db):
    """After a done visit to trib1: trib1 is covered; base1, base2, trib2, trib3 are unvisited."""
    services.record_visit(
        w.u.leader,
        w.visit,
        actual_start=date(2026, 2, 10),
        actual_end=date(2026, 2, 10),
        summary="听取汇报。",
        suggestions=None,
        solved_on_spot=None,
        topics=None,
        team=None,
        files=[],
        expected_version=w.visit.version,
        now=NOW,
    )
    db.session.commit()
    html = as_user(w.u.leader).get("/visits/coverage").get_data(as_text=True)
    unvisited = _section(html, "unvisited")
    for name in ("甲一区人民法院", "甲二区人民法院", "南山人民法庭"):
        assert name in unvisited
    assert "东山人民法庭" not in unvisited and "西山人民法庭" not in unvisited  # both were targets
    html3 = as_user(w.u.leader).get(f"/visits/coverage?unit={w.t.base2.id}&months=3").get_data(as_text=True)
    assert "南山人民法庭" in _section(html3, "unvisited") and "东山人民法庭" not in html3
    assert as_user(w.u.leader).get(f"/visits/coverage?unit={w.t.base3.id}").status_code == 404


def _done(visit, actor, day: date) -> None:
    services.record_visit(
        actor,
        visit,
        actual_start=day,
        actual_end=day,
        summary="听取汇报。",
        suggestions=None,
        solved_on_spot=None,
        topics=None,
        team=None,
        files=[],
        expected_version=visit.version,
        now=NOW,
    )


def _coverage_row(html: str, unit: str) -> str:
    match = re.search(rf"<tr>\s*<td>{unit} .*?</tr>", _section(html, "coverage"), re.S)
    assert match, f"{unit} not in the covered units"
    return match.group(0)


def test_coverage_counts_visits_last_day_and_leaders_per_unit(w, as_user, db, count_queries):
    """trib1: three done visits in the window (one led by two leaders), one too old, one
    only planned → 3 visits, the latest day, the three leaders. A visit to inter1 itself
    (an intermediate court) makes no row. trib2's pairing shows."""
    u, t = w.u, w.t
    _done(w.visit, u.leader, date(2026, 1, 20))  # trib1 and trib2
    pair = factories.visit(u.leader, t.inter1, [u.leader2, u.leader], [t.trib1], now=NOW)
    _done(pair, u.leader, date(2026, 2, 10))
    high = factories.visit(u.high_leader, t.high, [u.high_leader], [t.trib1, t.inter1], now=NOW)
    _done(high, u.high_leader, date(2026, 2, 20))
    old = factories.visit(u.leader, t.inter1, [u.leader], [t.trib1], start=date(2025, 6, 1), now=NOW)
    _done(old, u.leader, date(2025, 6, 1))
    factories.visit(
        u.leader, t.inter1, [u.leader], [t.trib1], start=date(2026, 2, 25), now=NOW
    )  # planned only
    services.pair(u.assigner, u.leader2, t.trib2, now=NOW)
    db.session.commit()
    c = as_user(u.leader)
    with count_queries() as statements:
        html = c.get("/visits/coverage").get_data(as_text=True)
    # session, roles, settings, scope, units, visits (one pass), pairings, parents, the
    # range's units and their names, the badge: 11 besides BEGIN (issue 11: ≤ 15).
    assert len(statements) <= 11, statements
    trib1 = _coverage_row(html, "东山人民法庭")
    assert re.search(r"走访次数：</span>3</td>", trib1) and "2026-02-20" in trib1
    assert "甲市中院院长" in trib1 and "甲市中院副院长" in trib1 and "高院院长" in trib1
    trib2 = _coverage_row(html, "西山人民法庭")
    assert re.search(r"走访次数：</span>1</td>", trib2) and "2026-01-20" in trib2
    assert "联系领导：</span>甲市中院副院长" in trib2
    assert "甲市中级人民法院 " not in _section(html, "coverage")  # not a base court or tribunal
    assert "南山人民法庭" in _section(html, "unvisited")


def test_pairings_add_list_and_delete(w, as_user, db):
    """The 专班 pairs its leader with a tribunal, sees it listed, and removes it."""
    c = as_user(w.u.assigner)
    resp = c.post("/pairings", data={"leader_id": w.u.leader.id, "unit_id": w.t.trib1.id})
    assert resp.status_code == 302
    pairing = db.session.scalar(select(Pairing))
    assert "东山人民法庭" in _section(c.get("/pairings").get_data(as_text=True), "pairings")
    assert c.post(f"/pairings/{pairing.id}/delete").status_code == 303
    assert _count(db, Pairing) == 0


def test_bad_pairings_are_refused_and_nothing_saved(w, as_user, db):
    """Staff may not pair (403); a sibling court's leader, or a duplicate, is a 400."""
    assert (
        as_user(w.u.staff)
        .post("/pairings", data={"leader_id": w.u.leader.id, "unit_id": w.t.trib1.id})
        .status_code
        == 403
    )
    c = as_user(w.u.assigner)
    assert (
        c.post("/pairings", data={"leader_id": w.u.other_leader.id, "unit_id": w.t.trib1.id}).status_code
        == 400
    )
    assert _count(db, Pairing) == 0
    services.pair(w.u.assigner, w.u.leader, w.t.trib1, now=NOW)
    db.session.commit()
    resp = c.post("/pairings", data={"leader_id": w.u.leader.id, "unit_id": w.t.trib1.id})
    assert resp.status_code == 400 and "已是" in resp.get_data(as_text=True)
    assert _count(db, Pairing) == 1
    pairing = db.session.scalar(select(Pairing))
    assert as_user(w.u.head).post(f"/pairings/{pairing.id}/delete").status_code == 403
    assert as_user(w.u.other_leader).post(f"/pairings/{pairing.id}/delete").status_code == 404
    assert _count(db, Pairing) == 1


# ---------------------------------------------------------------- query counts


def _grow(db, w, n: int, prefix: str) -> None:
    """n more base courts with a tribunal, each visited (done) with a finding, and paired."""
    for i in range(n):
        base = factories.unit(f"{prefix}{i}区人民法院", "base", w.t.inter1)
        trib = factories.unit(f"{prefix}{i}人民法庭", "tribunal", base)
        visit = factories.visit(
            w.u.assigner, w.t.inter1, [w.u.leader, w.u.high_leader], [base, trib], now=NOW
        )
        services.record_visit(
            w.u.assigner,
            visit,
            actual_start=date(2026, 2, 1),
            actual_end=date(2026, 2, 2),
            summary="情况",
            suggestions=None,
            solved_on_spot=None,
            topics=None,
            team=None,
            files=[],
            expected_version=visit.version,
            now=NOW,
        )
        services.add_finding(
            w.u.assigner, visit, unit=trib, description="问题", deadline=date(2026, 4, 30), now=NOW
        )
        services.pair(w.u.assigner, w.u.leader2, trib, now=NOW)
        factories.visit(
            w.u.assigner,
            w.t.inter1,
            [w.u.leader],
            [trib],
            title="到期未记录",
            end=date(2026, 3, 1),
            start=date(2026, 2, 27),
            now=NOW,
        )
    db.session.commit()


@pytest.mark.parametrize("path", ["/visits", "/visits?status=unrecorded", "/visits/coverage", "/pairings"])
def test_query_count_does_not_grow_with_rows(w, as_user, db, count_queries, path):
    """The list, the coverage report and the pairings page send as many statements for 12 rows as for 1."""
    c = as_user(w.u.leader)
    _grow(db, w, 1, "扩展")
    with count_queries() as small:
        assert c.get(path).status_code == 200
    _grow(db, w, 11, "更多")
    with count_queries() as large:
        assert c.get(path).status_code == 200
    assert len(large) == len(small), f"{path}: {len(small)} → {len(large)} statements"
    assert len(large) <= 14, large


def test_the_visit_page_costs_the_same_few_statements_for_every_side(w, as_user, db, count_queries):
    """The organiser's leader, the visited tribunal's head and the high court's leader open
    a visit with findings, a comment and a watcher: ≤ 14 statements (15 with BEGIN), and
    no more with three more leaders, targets and findings (its kind, organiser, targets
    and leaders are loaded with the visit, not one by one)."""
    from app.discussion import services as discussion

    visit = w.visit
    for unit in (w.t.trib1, w.t.trib2):
        services.add_finding(
            w.u.leader, visit, unit=unit, description="问题", deadline=date(2026, 4, 30), now=NOW
        )
    discussion.post_comment(w.u.leader, visit, body="@ds_tz 请准备汇报材料", now=NOW)
    discussion.set_watching(w.u.head, visit, True, now=NOW)
    db.session.commit()
    sides = {"organiser": w.u.leader, "visited": w.u.head, "province": w.u.high_leader}
    clients = {side: as_user(user) for side, user in sides.items()}
    small = {}
    for side, c in clients.items():
        with count_queries() as statements:
            assert c.get(f"/visits/{visit.id}").status_code == 200
        small[side] = len(statements)
        assert len(statements) <= 14, (side, statements)
    for i in range(3):
        base = factories.unit(f"扩展{i}区人民法院", "base", w.t.inter1)
        trib = factories.unit(f"扩展{i}人民法庭", "tribunal", base)
        db.session.add(VisitTarget(visit_id=visit.id, unit_id=trib.id))
        leader = factories.user(f"extra_ld{i}", w.t.inter1, ["leader"])
        db.session.add(VisitLeader(visit_id=visit.id, user_id=leader.id))
        db.session.flush()
        db.session.expire(visit)
        services.add_finding(
            w.u.leader, visit, unit=trib, description="问题", deadline=date(2026, 4, 30), now=NOW
        )
    db.session.commit()
    for side, c in clients.items():
        with count_queries() as statements:
            assert c.get(f"/visits/{visit.id}").status_code == 200
        assert len(statements) == small[side], (side, small[side], statements)
