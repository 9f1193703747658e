"""Assessment periods: opened with a scheme, computed, published — and frozen: the
published results do not change when the data under them does; a recomputation is a new
visible version with who and why. Exports; the meeting and its decisions made items."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.indicators import assessments as svc
from app.indicators.models import Assessment, MeetingDecision
from app.indicators.values import save_values
from app.journal import JournalEntry
from app.notifications import Notification
from app.tasks.models import Assignment
from app.timeutil import local_today, utcnow
from tests import factories

SCHEME = {"on_time": 0, "rect_closure": 0, "checklist": 0, "indicator_compliance": 50, "indicator_score": 50}


def _report(ind, unit, month, num, den=100):
    save_values(
        None,
        unit,
        month,
        [(ind.by_code["JAL"], {"numerator": num, "denominator": den})],
        source="api",
        clear_blank=False,
        today=date(2026, 12, 1),
        now=utcnow(),
    )


def _open(ind, **kw):
    a = svc.open_assessment(
        ind.reviewer,
        ind.t.high,
        kind=kw.get("kind", "quarter"),
        year=2026,
        number=kw.get("number", 1),
        level="base",
        scheme=kw.get("scheme", SCHEME),
        today=date(2026, 12, 1),
        now=utcnow(),
    )
    db.session.commit()
    return a


def test_period_months_and_titles():
    assert svc.period_months("quarter", 2026, 2) == ["2026-04", "2026-05", "2026-06"]
    assert (
        svc.period_months("half", 2026, 2)[0] == "2026-07" and len(svc.period_months("year", 2026, 1)) == 12
    )
    assert svc.period_title("half", 2026, 1) == "2026年上半年"


def test_published_results_are_frozen_and_a_recomputation_is_a_new_version(ind, as_user):
    t = ind.t
    for m in ("2026-01", "2026-02", "2026-03"):
        _report(ind, t.base1, m, 95)  # inside (≥ 90)
        _report(ind, t.base2, m, 45)  # far outside
    db.session.commit()
    a = _open(ind)
    run1 = svc.compute(
        ind.reviewer, a, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow()
    )
    svc.publish(ind.reviewer, a, expected_version=None, now=utcnow())
    db.session.commit()
    rows = {r["unit_id"]: r for r in run1.rows}
    assert rows[t.base1.id]["rank"] == 1 and rows[t.base1.id]["score"] == 100
    assert rows[t.base2.id]["rank"] == 2 and rows[t.base3.id]["rank"] is None
    frozen = [dict(r) for r in run1.rows]
    # the courts assessed are told; they see the published results, page and API
    assert db.session.scalar(select(Notification.id).where(Notification.recipient_id == ind.base1_coord.id))
    c = as_user(ind.base2_coord)
    page = c.get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "已发布" in page and t.base1.name in page
    # the data changes: base2 becomes perfect
    for m in ("2026-01", "2026-02", "2026-03"):
        _report(ind, t.base2, m, 100)
    db.session.commit()
    db.session.expire_all()
    a = db.session.get(Assessment, a.id)
    assert svc.published_run(a).rows == frozen
    api = c.get(f"/api/v1/assessments/{a.id}/results", headers=factories.bearer(c, ind.base2_coord))
    assert api.status_code == 200 and api.get_json()["rows"][0]["unit_id"] == t.base1.id
    assert api.get_json()["version"] == 1 and api.get_json()["published"] is True
    # a recomputation needs a reason; it is a second version, the published one stays
    with pytest.raises(Exception, match="理由"):
        svc.compute(ind.reviewer, a, reason=" ", expected_version=None, today=date(2026, 12, 1), now=utcnow())
    db.session.rollback()
    a = db.session.get(Assessment, a.id)
    run2 = svc.compute(
        ind.reviewer,
        a,
        reason="桓仁法院更正了一季度数据",
        expected_version=None,
        today=date(2026, 12, 1),
        now=utcnow(),
    )
    db.session.commit()
    assert run2.number == 2 and {r["unit_id"]: r["rank"] for r in run2.rows}[t.base2.id] == 1
    assert svc.published_run(a).rows == frozen and a.published_version == 1
    # the courts still see version 1; the reviewer sees version 2 with who and why
    assert "第 1 版" in c.get(f"/assessments/{a.id}").get_data(as_text=True)
    mine = as_user(ind.reviewer).get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "第 2 版结果" in mine and "桓仁法院更正了一季度数据" in mine and "未发布" in mine
    actions = list(
        db.session.scalars(select(JournalEntry.action).where(JournalEntry.object_type == "Assessment"))
    )
    # (base2's coordinator opening the results is a receipt, journaled)
    assert actions == [
        "assessment.open",
        "assessment.compute",
        "assessment.publish",
        "assessment.read",
        "assessment.compute",
    ]


def test_drafts_are_for_the_assessing_courts_reviewers_only(ind, as_user):
    a = _open(ind)
    assert as_user(ind.reviewer).get(f"/assessments/{a.id}").status_code == 200
    assert as_user(ind.base1_coord).get(f"/assessments/{a.id}").status_code == 404
    assert as_user(ind.base1_coord).get("/assessments").get_data(as_text=True).count(a.title) == 0
    assert as_user(ind.inter_assigner).post(f"/assessments/{a.id}/compute", data={}).status_code == 404


def test_opening_refuses_bad_periods_and_schemes(ind):
    from app.errors import ServiceError

    for kw, message in (
        ({"kind": "quarter", "number": 5}, "1–4"),
        ({"kind": "week"}, "请选择考评周期"),
        ({"scheme": {k: 0 for k in SCHEME}}, "至少要有一项权重"),
        ({"scheme": {**SCHEME, "on_time": -5}}, "0–100"),
        ({"scheme": {**SCHEME, "on_time": float("nan")}}, "0–100"),
    ):
        with pytest.raises(ServiceError, match=message):
            _open(ind, **kw)
        db.session.rollback()
    _open(ind)
    with pytest.raises(ServiceError, match="已开启"):
        _open(ind)


def test_exports_open_and_say_the_version(ind, as_user):
    _report(ind, ind.t.base1, "2026-01", 95)
    a = _open(ind)
    svc.compute(ind.reviewer, a, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow())
    svc.publish(ind.reviewer, a, expected_version=None, now=utcnow())
    db.session.commit()
    c = as_user(ind.base1_coord)
    wb = load_workbook(io.BytesIO(c.get(f"/assessments/{a.id}.xlsx").data))
    ws = wb.active
    assert a.title in ws["A1"].value and "第 1 版" in ws["A1"].value
    assert ws["B3"].value == ind.t.base1.name and ws["A3"].value == 1
    doc = Document(io.BytesIO(c.get(f"/assessments/{a.id}.docx").data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "通报" in text and "评分方案" in text
    assert doc.tables[0].rows[1].cells[1].text == ind.t.base1.name


def test_the_meeting_records_decisions_that_become_items_a_tribunal_reports_on(ind, as_user):
    t = ind.t
    _report(ind, t.base1, "2026-01", 95)
    db.session.commit()
    a = _open(ind)
    c = as_user(ind.reviewer)
    # no meeting before the results are published (they are what it looks at)
    resp = c.post(
        f"/assessments/{a.id}/meeting", data={"held_on": "2026-04-10", "attendees": "甲", "analysis": "乙"}
    )
    assert resp.status_code == 400 and "已发布" in resp.get_data(as_text=True)
    svc.compute(ind.reviewer, a, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow())
    svc.publish(ind.reviewer, a, expected_version=None, now=utcnow())
    db.session.commit()
    resp = c.post(
        f"/assessments/{a.id}/meeting",
        data={
            "held_on": "2026-04-10",
            "attendees": "分管副院长、强基办",
            "analysis": "结案率总体平稳。",
            "decisions": "东山法庭梳理长期未结案件\n甲二区法院提高调解撤诉率",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    first = db.session.scalar(select(MeetingDecision).where(MeetingDecision.number == 1))
    proj = factories.project(ind.reviewer, t.high)
    factories.receivers(t.trib1)
    db.session.commit()
    deadline = (local_today() + timedelta(days=20)).isoformat()
    # bad input first: no deadline, a past one, no unit — refused, nothing made
    for data, message in (
        ({"project_id": proj.id, "unit_ids": [t.trib1.id]}, "完成时限"),
        ({"project_id": proj.id, "unit_ids": [t.trib1.id], "deadline": "2020-01-01"}, "不能早于今天"),
        ({"project_id": proj.id, "deadline": deadline}, "请选择至少一个责任单位"),
        (
            {"project_id": proj.id, "deadline": deadline, "unit_ids": [t.trib1.id, t.base3.id + 1000]},
            "不在您的下级",
        ),
    ):
        resp = c.post(f"/assessments/decisions/{first.id}/assign", data=data)
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(MeetingDecision, first.id).task_id is None
    resp = c.post(
        f"/assessments/decisions/{first.id}/assign",
        data={
            "project_id": proj.id,
            "unit_ids": [t.trib1.id],
            "deadline": deadline,
            "requirements": "逐案列明",
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    first = db.session.get(MeetingDecision, first.id)
    assignment = db.session.scalar(select(Assignment).where(Assignment.task_id == first.task_id))
    assert assignment.unit_id == t.trib1.id and "议定事项第 1 项" in assignment.task.notes
    # linked both ways: the item's page leads back to the meeting
    item_page = as_user(ind.trib1_head).get(f"/tasks/{first.task_id}").get_data(as_text=True)
    assert f"/assessments/{a.id}/meeting" in item_page and "议定事项第 1 项" in item_page
    # the tribunal head reports on it
    head = as_user(ind.trib1_head)
    resp = head.post(
        f"/assignments/{assignment.id}/report",
        data={"text": "已梳理 3 件。", "percent": "40", "version": str(assignment.version)},
    )
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[-2000:]
    # the next period's meeting opens with the decisions' progress
    a2 = _open(ind, number=2)
    svc.compute(ind.reviewer, a2, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow())
    svc.publish(ind.reviewer, a2, expected_version=None, now=utcnow())
    db.session.commit()
    page = c.get(f"/assessments/{a2.id}/meeting").get_data(as_text=True)
    assert "上次议定事项完成情况" in page and "东山法庭梳理长期未结案件" in page and "已交办" in page
    assert "甲二区法院提高调解撤诉率 —— " in page and "未交办" in page
    # a decision already made an item cannot be deleted from the record
    resp = c.post(
        f"/assessments/{a.id}/meeting",
        data={
            "held_on": "2026-04-10",
            "attendees": "x",
            "analysis": "y",
            "decisions": "另一项",
            "version": "2",
        },
    )
    assert resp.status_code in (400, 409) and db.session.get(MeetingDecision, first.id) is not None


def test_read_receipts_like_the_circulars(ind, as_user):
    """The people of the courts assessed are told and asked to read: 已读 n/m for the
    assessing court, who has not read it; a new published version asks again."""
    _report(ind, ind.t.base1, "2026-01", 95)
    a = _open(ind)
    svc.compute(ind.reviewer, a, reason=None, expected_version=None, today=date(2026, 12, 1), now=utcnow())
    svc.publish(ind.reviewer, a, expected_version=None, now=utcnow())
    db.session.commit()
    reviewer = as_user(ind.reviewer)
    page = reviewer.get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "已读 0/3" in page and ind.base1_coord.display_name in page  # base1, base2, base3 coordinators
    assert "已读 0/3" in reviewer.get(f"/assessments/{a.id}").get_data(
        as_text=True
    )  # the reviewer is no reader
    as_user(ind.base1_coord).get(f"/assessments/{a.id}")
    as_user(ind.base1_coord).get(f"/assessments/{a.id}")  # the first opening only
    page = reviewer.get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "已读 1/3" in page
    own = as_user(ind.base2_coord).get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "（本单位及下级）" in own and "已读 1/1" in own  # base2 sees its own court's receipts only
    db.session.expire_all()
    a = db.session.get(Assessment, a.id)
    svc.compute(ind.reviewer, a, reason="更正", expected_version=None, today=date(2026, 12, 1), now=utcnow())
    svc.publish(ind.reviewer, a, expected_version=None, now=utcnow())
    db.session.commit()
    assert "已读 0/3" in reviewer.get(f"/assessments/{a.id}").get_data(as_text=True)
