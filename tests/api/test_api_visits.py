"""The JSON API for visits, findings and rectifications, and its bad input."""

import io
from datetime import timedelta

import pytest
from PIL import Image

from app.attachments import Attachment
from app.deadlines import add_months
from app.extensions import db
from app.tasks.models import Assignment, ProgressReport, Task
from app.timeutil import local_today
from app.visits.models import Finding, Visit
from tests import factories


@pytest.fixture
def people(tree):
    p = {
        "leader": factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长"),
        "leader2": factories.user("jz_ld2", tree.inter1, ["leader"], display_name="甲市中院副院长"),
        "high_leader": factories.user("gy_ld", tree.high, ["leader"], display_name="高院院长"),
        "assigner": factories.user("jz_zb", tree.inter1, ["assigner"], display_name="甲市中院专班"),
        "head": factories.user("ds_tz", tree.trib1, ["tribunal_head"], display_name="东山庭长"),
        "other": factories.user("yz_ld", tree.inter2, ["leader"], display_name="乙市中院院长"),
    }
    db.session.commit()
    return p


@pytest.fixture
def api(client, people):
    return {k: factories.bearer(client, u) for k, u in people.items()}


def _jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buf, "JPEG")
    buf.seek(0)
    return buf


def _day(offset: int) -> str:
    return (local_today() + timedelta(days=offset)).isoformat()


def _visit_payload(tree, people, **over):
    payload = {
        "kind": "蹲点指导",
        "organizer_unit_id": tree.inter1.id,
        "target_unit_ids": [tree.trib1.id],
        "start": _day(-3),
        "end": _day(-1),
        "leader_ids": [people["leader"].id],
        "summary": "蹲点三天，旁听庭审，走访群众。",
    }
    payload.update(over)
    return payload


def _visit(client, api, tree, people, **over):
    resp = client.post("/api/v1/visits", headers=api["leader"], json=_visit_payload(tree, people, **over))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _finding(client, api, visit_id, unit, description="诉讼服务窗口标识不清", who="leader", **over):
    resp = client.post(
        f"/api/v1/visits/{visit_id}/findings",
        headers=api[who],
        json={"unit_id": unit.id, "description": description, "deadline": _day(30), **over},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _v(aid):
    """The version a client would have read (absent object: any, the answer is 404)."""
    a = db.session.get(Assignment, aid)
    return {"version": a.version if a else 1}


def _report(client, api, rid, text="已整改", who="head", files=None):
    data = {"text": text, **_v(rid)}
    if files is not None:
        data["files"] = files
    return client.post(
        f"/api/v1/rectifications/{rid}/report",
        headers=api[who],
        data=data,
        content_type="multipart/form-data",
    )


def test_visit_findings_rectifications_and_coverage(client, api, tree, people):
    """A leader records a 蹲点 with two findings → the tribunal reports → one closed,
    one returned; the intermediate court's coverage shows the tribunals nobody visited."""
    resp = client.post(
        "/api/v1/visits",
        headers=api["leader"],
        json=_visit_payload(tree, people, suggestions="加强窗口建设", team="张三、李四"),
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "done"
    vid = resp.get_json()["id"]

    first = _finding(client, api, vid, tree.trib1, "诉讼服务窗口标识不清")
    second = _finding(client, api, vid, tree.trib1, "调解室未配备录音录像设备")
    assert first["rectification_id"] != second["rectification_id"]

    visit = client.get(f"/api/v1/visits/{vid}", headers=api["head"]).get_json()
    assert visit["kind"] == "蹲点指导" and visit["status"] == "done"
    assert visit["title"] == "蹲点指导：东山人民法庭"
    assert visit["organizer_unit_id"] == tree.inter1.id
    assert (visit["planned_start"], visit["planned_end"]) == (_day(-3), _day(-1))
    assert (visit["actual_start"], visit["actual_end"]) == (_day(-3), _day(-1))
    assert visit["leader_ids"] == [people["leader"].id] and visit["target_unit_ids"] == [tree.trib1.id]
    assert visit["summary"].startswith("蹲点三天") and visit["suggestions"] == "加强窗口建设"
    assert [f["description"] for f in visit["findings"]] == [
        "诉讼服务窗口标识不清",
        "调解室未配备录音录像设备",
    ]
    for f in visit["findings"]:
        assert f["unit_id"] == tree.trib1.id and f["status"] == "pending"
        assert f["deadline"] == _day(30) and f["overdue"] is False
    assert [f["rectification_id"] for f in visit["findings"]] == [
        first["rectification_id"],
        second["rectification_id"],
    ]
    # a rectification is an ordinary assignment of the tribunal, verified by the leader
    listing = client.get("/api/v1/assignments?status=open", headers=api["head"]).get_json()
    assert {i["id"] for i in listing["items"]} == {first["rectification_id"], second["rectification_id"]}
    task = db.session.get(Assignment, first["rectification_id"]).task
    assert task.kind == "rectification" and task.verifier_id == people["leader"].id

    resp = _report(client, api, first["rectification_id"], "已重新制作标识", files=(_jpeg(), "标识.jpg"))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["assignment"]["status"] == "submitted"
    report = db.session.get(ProgressReport, resp.get_json()["report_id"])
    photo = db.session.query(Attachment).filter_by(owner_type="ProgressReport", owner_id=report.id).one()
    assert photo.content_type == "image/jpeg"
    resp = _report(client, api, second["rectification_id"], "已申请采购设备")
    assert resp.status_code == 201, resp.get_json()

    # neither another leader of the same court, nor the court's assigner, nor the tribunal verifies
    for who in ("leader2", "assigner", "head"):
        resp = client.post(
            f"/api/v1/rectifications/{first['rectification_id']}/verify",
            headers=api[who],
            json={**_v(first["rectification_id"]), "decision": "close"},
        )
        assert resp.status_code == 403, who
        assert "核验" in resp.get_json()["error"]
    assert db.session.get(Assignment, first["rectification_id"]).status == "submitted"

    resp = client.post(
        f"/api/v1/rectifications/{first['rectification_id']}/verify",
        headers=api["leader"],
        json={**_v(first["rectification_id"]), "decision": "close", "comment": "现场核实"},
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "closed" and resp.get_json()["progress"] == 100
    resp = client.post(
        f"/api/v1/rectifications/{second['rectification_id']}/verify",
        headers=api["leader"],
        json={**_v(second["rectification_id"]), "decision": "return", "comment": "设备尚未到位"},
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "returned"

    visit = client.get(f"/api/v1/visits/{vid}", headers=api["leader"]).get_json()
    assert [f["status"] for f in visit["findings"]] == ["closed", "returned"]

    cov = client.get(f"/api/v1/visits/coverage?unit={tree.inter1.id}", headers=api["leader"]).get_json()
    assert cov["months"] == 6
    rows = {r["unit_id"]: r for r in cov["units"]}
    assert set(rows) == {tree.base1.id, tree.base2.id, tree.trib1.id, tree.trib2.id, tree.trib3.id}
    assert rows[tree.trib1.id]["visits"] == 1 and rows[tree.trib1.id]["last_visit"] == _day(-3)
    assert rows[tree.trib1.id]["leaders"] == ["甲市中院院长"]
    assert rows[tree.trib2.id] == {**rows[tree.trib2.id], "visits": 0, "last_visit": None, "leaders": []}
    assert set(cov["unvisited"]) == {tree.base1.id, tree.base2.id, tree.trib2.id, tree.trib3.id}
    tribunals = {tree.trib1.id, tree.trib2.id, tree.trib3.id}
    assert set(cov["unvisited"]) & tribunals == {tree.trib2.id, tree.trib3.id}


def test_a_leader_above_may_verify_and_the_report_reopens_a_returned_item(client, api, tree, people):
    vid = _visit(client, api, tree, people)
    rid = _finding(client, api, vid, tree.trib1)["rectification_id"]
    assert _report(client, api, rid).status_code == 201
    resp = client.post(
        f"/api/v1/rectifications/{rid}/verify",
        headers=api["high_leader"],
        json={**_v(rid), "decision": "return", "comment": "照片不清楚"},
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "returned"
    assert _report(client, api, rid, "补充照片", files=(_jpeg(), "p.jpg")).status_code == 201
    resp = client.post(
        f"/api/v1/rectifications/{rid}/verify",
        headers=api["high_leader"],
        json={**_v(rid), "decision": "close"},
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"


def test_planned_visits_and_explicit_titles(client, api, tree, people):
    future = _visit(client, api, tree, people, start=_day(10), end=_day(12), title="调研法庭建设")
    v = client.get(f"/api/v1/visits/{future}", headers=api["leader"]).get_json()
    assert v["status"] == "planned" and v["actual_start"] is None and v["title"] == "调研法庭建设"


def test_planned_visit_without_summary(client, api, tree, people):
    kind_id = db.session.execute(db.text("SELECT id FROM visit_kinds WHERE name = '调研走访'")).scalar()
    payload = _visit_payload(tree, people, kind=kind_id, target_unit_ids=[tree.trib1.id, tree.trib2.id])
    del payload["summary"]
    resp = client.post("/api/v1/visits", headers=api["assigner"], json=payload)
    assert resp.status_code == 201, resp.get_json()
    v = client.get(f"/api/v1/visits/{resp.get_json()['id']}", headers=api["assigner"]).get_json()
    assert v["status"] == "planned" and v["kind"] == "调研走访" and v["summary"] is None
    assert v["target_unit_ids"] == sorted([tree.trib1.id, tree.trib2.id])
    # a planned visit is not a visit yet
    cov = client.get(f"/api/v1/visits/coverage?unit={tree.base1.id}", headers=api["leader"]).get_json()
    assert set(cov["unvisited"]) == {tree.base1.id, tree.trib1.id, tree.trib2.id}


@pytest.mark.parametrize(
    ("over", "status", "message"),
    [
        # a unit outside the organiser's subtree (but inside the leader's)
        (lambda t, p: {"organizer_unit_id": t.base1.id, "target_unit_ids": [t.trib3.id]}, 400, "下级范围内"),
        (lambda t, p: {"target_unit_ids": [t.base3.id]}, 404, "不在您的管辖范围内"),
        (lambda t, p: {"start": _day(-1), "end": _day(-3)}, 400, "结束日期不能早于开始日期"),
        (lambda t, p: {"kind": "参观学习"}, 400, "未知的走访类型"),
        (lambda t, p: {"kind": 9999}, 400, "未知的走访类型"),
        (lambda t, p: {"kind": True}, 400, "kind"),
        (lambda t, p: {"target_unit_ids": [str(t.trib1.id)]}, 400, "整数数组"),
        (lambda t, p: {"organizer_unit_id": str(t.inter1.id)}, 400, "须为整数"),
        (lambda t, p: {"leader_ids": [1.5]}, 400, "整数数组"),
        (lambda t, p: {"leader_ids": []}, 400, "带队领导"),
        (lambda t, p: {"leader_ids": [p["assigner"].id]}, 400, "不是院领导"),
        (lambda t, p: {"leader_ids": [p["other"].id]}, 404, "带队领导"),
        (lambda t, p: {"target_unit_ids": []}, 400, "走访对象"),
        (lambda t, p: {"start": "2026-02-30"}, 400, "YYYY-MM-DD"),
        (lambda t, p: {"end": None}, 400, "end"),
        (lambda t, p: {"organizer_unit_id": t.inter2.id}, 404, ""),
    ],
)
def test_bad_visits_save_nothing(client, api, tree, people, over, status, message):
    payload = _visit_payload(tree, people, **over(tree, people))
    resp = client.post("/api/v1/visits", headers=api["leader"], json=payload)
    assert resp.status_code == status, resp.get_json()
    assert message in resp.get_json()["error"]
    assert db.session.query(Visit).count() == 0


def test_only_visit_roles_may_plan_a_visit(client, api, tree, people):
    resp = client.post("/api/v1/visits", headers=api["head"], json=_visit_payload(tree, people))
    assert resp.status_code == 404  # the tribunal head can't see the intermediate court
    payload = _visit_payload(tree, people, organizer_unit_id=tree.trib1.id)
    resp = client.post("/api/v1/visits", headers=api["head"], json=payload)
    assert resp.status_code == 403 and "无权以该单位名义安排督导走访" in resp.get_json()["error"]
    assert client.post("/api/v1/visits", headers=api["leader"], data="kind=x").status_code == 400
    assert db.session.query(Visit).count() == 0


@pytest.mark.parametrize(
    ("who", "over", "status", "message"),
    [
        ("leader", lambda t, p: {"unit_id": t.trib2.id}, 400, "不是本次走访的对象单位"),
        ("leader", lambda t, p: {"deadline": _day(-1)}, 400, "整改时限不能早于今天"),
        ("leader", lambda t, p: {"deadline": None}, 400, "deadline"),
        ("leader", lambda t, p: {"description": "  "}, 400, "description"),
        ("leader", lambda t, p: {"unit_id": "x"}, 400, "须为整数"),
        ("leader", lambda t, p: {"unit_id": t.base3.id}, 404, ""),
        ("leader", lambda t, p: {"verifier_id": p["leader2"].id}, 400, "核验人须为本次走访的带队领导"),
        ("leader", lambda t, p: {"verifier_id": 99999}, 400, "核验人须为本次走访的带队领导"),
        ("head", lambda t, p: {}, 403, "无权为该次走访登记问题"),
        ("other", lambda t, p: {}, 404, ""),
    ],
)
def test_bad_findings_save_nothing(client, api, tree, people, who, over, status, message):
    vid = _visit(client, api, tree, people)
    tasks = db.session.query(Task).count()
    payload = {"unit_id": tree.trib1.id, "description": "问题", "deadline": _day(30), **over(tree, people)}
    resp = client.post(f"/api/v1/visits/{vid}/findings", headers=api[who], json=payload)
    assert resp.status_code == status, resp.get_json()
    assert message in resp.get_json()["error"]
    assert db.session.query(Finding).count() == 0
    assert db.session.query(Task).count() == tasks == 0


def test_bad_rectification_reports_and_verifications(client, api, tree, people):
    vid = _visit(client, api, tree, people)
    rid = _finding(client, api, vid, tree.trib1)["rectification_id"]

    # an ordinary assignment is not a rectification
    project = factories.project(people["assigner"])
    task = factories.task(people["assigner"], project, deadline=local_today() + timedelta(days=30))
    (plain,) = factories.assign(people["assigner"], task, tree.trib1)
    db.session.commit()
    assert _report(client, api, plain.id).status_code == 404
    resp = client.post(
        f"/api/v1/rectifications/{plain.id}/verify",
        headers=api["leader"],
        json={**_v(plain.id), "decision": "close"},
    )
    assert resp.status_code == 404

    assert _report(client, api, rid, who="other").status_code == 404  # another court
    assert _report(client, api, 99999).status_code == 404
    assert client.post("/api/v1/rectifications/abc/report", headers=api["head"]).status_code == 404
    resp = _report(client, api, rid, who="leader")  # the leader is not the unit that fixes it
    assert resp.status_code == 403 and "不能反馈" in resp.get_json()["error"]
    resp = _report(client, api, rid, text="")
    assert resp.status_code == 400 and "请填写进展情况" in resp.get_json()["error"]
    resp = _report(client, api, rid, files=(io.BytesIO(b"MZ\x90\x00exe"), "photo.jpg"))
    assert resp.status_code == 400 and "内容不是允许的类型" in resp.get_json()["error"]
    assert db.session.query(ProgressReport).count() == 0

    # not yet submitted: nothing to verify
    resp = client.post(
        f"/api/v1/rectifications/{rid}/verify", headers=api["leader"], json={**_v(rid), "decision": "close"}
    )
    assert resp.status_code == 403 and "不能审核" in resp.get_json()["error"]
    assert _report(client, api, rid).status_code == 201

    for payload, message in (
        ({"decision": "approve"}, "close"),
        ({}, "decision"),
        ({"decision": "return"}, "请填写退回理由"),
    ):
        resp = client.post(
            f"/api/v1/rectifications/{rid}/verify", headers=api["leader"], json={**payload, **_v(rid)}
        )
        assert resp.status_code == 400 and message in resp.get_json()["error"], payload
    resp = client.post(
        f"/api/v1/rectifications/{rid}/verify", headers=api["other"], json={**_v(rid), "decision": "close"}
    )
    assert resp.status_code == 404
    assert db.session.get(Assignment, rid).status == "submitted"


def test_visit_visibility(client, api, tree, people):
    vid = _visit(client, api, tree, people)
    assert client.get(f"/api/v1/visits/{vid}", headers=api["head"]).status_code == 200
    assert client.get(f"/api/v1/visits/{vid}", headers=api["other"]).status_code == 404
    assert client.get("/api/v1/visits/99999", headers=api["leader"]).status_code == 404
    assert client.get("/api/v1/visits/abc", headers=api["leader"]).status_code == 404


def test_coverage_months_and_bad_parameters(client, api, tree, people):
    old = (add_months(local_today(), -8)).isoformat()
    _visit(client, api, tree, people, target_unit_ids=[tree.trib2.id], start=old, end=old)
    cov = client.get(f"/api/v1/visits/coverage?unit={tree.base1.id}", headers=api["leader"]).get_json()
    assert tree.trib2.id in cov["unvisited"]
    cov = client.get(
        f"/api/v1/visits/coverage?unit={tree.base1.id}&months=12", headers=api["leader"]
    ).get_json()
    assert tree.trib2.id not in cov["unvisited"]
    row = next(r for r in cov["units"] if r["unit_id"] == tree.trib2.id)
    assert row["visits"] == 1 and row["last_visit"] == old
    # the default root is the caller's own unit
    cov = client.get("/api/v1/visits/coverage", headers=api["head"]).get_json()
    assert [r["unit_id"] for r in cov["units"]] == [tree.trib1.id] and cov["unvisited"] == [tree.trib1.id]

    for query in ("months=0", "months=61", "months=abc", "months=-1", "unit=abc"):
        resp = client.get(f"/api/v1/visits/coverage?{query}", headers=api["leader"])
        assert resp.status_code == 400 and resp.get_json()["error"], query
    assert (
        "1 到 60" in client.get("/api/v1/visits/coverage?months=0", headers=api["leader"]).get_json()["error"]
    )
    resp = client.get(f"/api/v1/visits/coverage?unit={tree.base3.id}", headers=api["leader"])
    assert resp.status_code == 404
