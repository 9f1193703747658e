"""The JSON API: the whole loop through /api/v1, and its bad input."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from PIL import Image

from app.exports.xlsx import FIRST_DATA_ROW
from app.extensions import db
from app.tasks.models import Assignment, ProgressReport, Task
from tests import factories


@pytest.fixture
def people(tree):
    p = {
        "assigner": factories.user("assigner", tree.inter1, ["assigner"]),
        "coordinator": factories.user("coord", tree.base1, ["coordinator"]),
        "head": factories.user("head", tree.trib1, ["tribunal_head"]),
        "reviewer": factories.user("reviewer", tree.high, ["reviewer"]),
        "other": factories.user("other", tree.inter2, ["assigner"]),
    }
    factories.receivers(tree.base2)
    return p


def _jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buf, "JPEG")
    buf.seek(0)
    return buf


@pytest.fixture
def api(client, people):
    return {k: factories.bearer(client, u) for k, u in people.items()}


def _project(client, api, tree):
    resp = client.post(
        "/api/v1/projects",
        headers=api["assigner"],
        json={
            "name": "人民法庭建设攻坚",
            "owner_unit_id": tree.inter1.id,
            "start": "2026-01-01",
            "end": "2026-12-31",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_whole_loop_through_the_api(client, api, tree):
    """assign → acknowledge → report with a photo → return → report → approve → completion list."""
    pid = _project(client, api, tree)
    resp = client.post(
        "/api/v1/tasks",
        headers=api["assigner"],
        json={
            "project_id": pid,
            "title": "规范法庭标识",
            "requirements": "统一",
            "deadline": "2026-12-10",
            "unit_ids": [tree.trib1.id, tree.base2.id],
        },
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert {a["unit_id"] for a in body["assignments"]} == {tree.trib1.id, tree.base2.id}
    aid = next(a["id"] for a in body["assignments"] if a["unit_id"] == tree.trib1.id)

    listing = client.get("/api/v1/assignments?status=open", headers=api["head"]).get_json()
    assert [i["id"] for i in listing["items"]] == [aid] and listing["total"] == 1
    version = listing["items"][0]["version"]  # each write sends the version it read

    resp = client.post(
        f"/api/v1/assignments/{aid}/acknowledge", headers=api["head"], json={"version": version}
    )
    assert resp.status_code == 200 and resp.get_json()["version"] > version
    version = resp.get_json()["version"]
    resp = client.post(
        f"/api/v1/assignments/{aid}/progress",
        headers=api["head"],
        data={
            "text": "已完成",
            "percent": "100",
            "submit": "1",
            "files": (_jpeg(), "p.jpg"),
            "version": str(version),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["assignment"]["status"] == "submitted"
    version = resp.get_json()["assignment"]["version"]

    resp = client.post(
        f"/api/v1/assignments/{aid}/review",
        headers=api["assigner"],
        json={"decision": "return", "comment": "照片不清楚", "version": version},
    )
    assert resp.get_json()["status"] == "returned"
    resp = client.post(
        f"/api/v1/assignments/{aid}/progress",
        headers=api["head"],
        data={
            "text": "补充",
            "submit": "1",
            "files": (_jpeg(), "q.jpg"),
            "version": resp.get_json()["version"],
        },
        content_type="multipart/form-data",
    )
    resp = client.post(
        f"/api/v1/assignments/{aid}/review",
        headers=api["assigner"],
        json={"decision": "approve", "version": resp.get_json()["assignment"]["version"]},
    )
    assert resp.get_json()["status"] == "closed" and resp.get_json()["progress"] == 100

    cl = client.get(
        f"/api/v1/completion-list?unit={tree.inter1.id}&project={pid}", headers=api["reviewer"]
    ).get_json()
    by_unit = {u["unit_id"]: u for u in cl["units"]}
    assert by_unit[tree.base1.id]["closed"] == 1 and by_unit[tree.base1.id]["on_time_rate"] == 1.0
    assert by_unit[tree.base2.id]["open"] == 1 and by_unit[tree.base2.id]["closed"] == 0
    xlsx = client.get(
        f"/api/v1/completion-list.xlsx?unit={tree.inter1.id}&project={pid}", headers=api["reviewer"]
    )
    ws = load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    names = [r[0] for r in ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)]
    assert names == [u["name"] for u in cl["units"]]


def test_other_court_sees_and_touches_nothing(client, api, tree):
    """An intermediate court's assigner can't see or act on another court's items."""
    pid = _project(client, api, tree)
    aid = client.post(
        "/api/v1/tasks",
        headers=api["assigner"],
        json={"project_id": pid, "title": "事项", "deadline": "2026-12-10", "unit_ids": [tree.base1.id]},
    ).get_json()["assignments"][0]["id"]
    assert client.get("/api/v1/assignments", headers=api["other"]).get_json()["total"] == 0
    assert client.post(f"/api/v1/assignments/{aid}/acknowledge", headers=api["other"]).status_code == 404
    assert (
        client.post(
            f"/api/v1/assignments/{aid}/review", headers=api["other"], json={"decision": "approve"}
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/units/{tree.base1.id}", headers=api["other"]).status_code == 404
    resp = client.post(
        "/api/v1/tasks",
        headers=api["other"],
        json={"project_id": pid, "title": "越权", "deadline": "2026-12-10", "unit_ids": []},
    )
    assert resp.status_code == 404 and "error" in resp.get_json()


def test_units_under(client, api, tree):
    rows = client.get(f"/api/v1/units?under={tree.base1.id}", headers=api["assigner"]).get_json()
    assert {r["name"] for r in rows} == {"甲一区人民法院", "东山人民法庭", "西山人民法庭"}
    base = next(r for r in rows if r["id"] == tree.base1.id)
    assert (
        base["aliases"] == ["甲一区法院"] and base["level"] == "base" and base["parent_id"] == tree.inter1.id
    )
    assert client.get(f"/api/v1/units?under={tree.base3.id}", headers=api["assigner"]).status_code == 404


def _version(aid):
    return db.session.get(Assignment, aid).version


def _assignment(client, api, tree, unit):
    pid = _project(client, api, tree)
    return client.post(
        "/api/v1/tasks",
        headers=api["assigner"],
        json={"project_id": pid, "title": "事项", "deadline": "2099-12-10", "unit_ids": [unit.id]},
    ).get_json()["assignments"][0]["id"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "x", "percent": "130"}, "0 到 100"),
        ({"text": "x", "percent": "abc"}, "0 到 100"),
        ({"text": ""}, "请填写进展情况"),
        ({"text": "x", "files": "EXE"}, "内容不是允许的类型"),
    ],
)
def test_bad_progress_reports_save_nothing(client, api, tree, data, message):
    aid = _assignment(client, api, tree, tree.trib1)
    data = {**data, "version": str(_version(aid))}
    if data.get("files") == "EXE":  # a fresh file per run: a stream can be read only once
        data = {**data, "files": (io.BytesIO(b"MZ\x90\x00this is an exe"), "photo.jpg")}
    resp = client.post(
        f"/api/v1/assignments/{aid}/progress",
        headers=api["head"],
        data=data,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert message in resp.get_json()["error"]
    assert db.session.query(ProgressReport).count() == 0
    assert db.session.get(Assignment, aid).status == "pending"


def test_transition_the_role_may_not_make_is_403(client, api, tree):
    aid = _assignment(client, api, tree, tree.trib1)
    # the tribunal head can't close its own item; the assigner can't review a pending one
    assert (
        client.post(
            f"/api/v1/assignments/{aid}/review", headers=api["head"], json={"decision": "approve"}
        ).status_code
        == 403
    )
    resp = client.post(
        f"/api/v1/assignments/{aid}/review", headers=api["assigner"], json={"decision": "approve"}
    )
    assert resp.status_code == 403 and "不能审核" in resp.get_json()["error"]
    assert db.session.get(Assignment, aid).status == "pending"


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"title": "早于开始", "deadline": "2025-06-30"}, 400, "早于项目开始日期"),
        ({"title": "坏日期", "deadline": "2026年2月30日"}, 400, "日期不存在"),
        ({"title": "无时限"}, 400, "deadline"),
        ({"title": "", "deadline": "2026-06-30"}, 400, "title"),
        ({"title": "单位不存在", "deadline": "2026-06-30", "unit_ids": [99999]}, 404, ""),
        ({"title": "单位类型", "deadline": "2026-06-30", "unit_ids": ["1"]}, 400, "整数数组"),
    ],
)
def test_bad_tasks_save_nothing(client, api, tree, payload, status, message):
    pid = _project(client, api, tree)
    resp = client.post("/api/v1/tasks", headers=api["assigner"], json={"project_id": pid, **payload})
    assert resp.status_code == status
    assert message in resp.get_json()["error"]
    assert db.session.query(Task).count() == 0


def test_assign_to_a_unit_outside_the_subtree_is_refused(client, api, tree):
    pid = _project(client, api, tree)
    resp = client.post(
        "/api/v1/tasks",
        headers=api["coordinator"],
        json={"project_id": pid, "title": "x", "deadline": "2026-06-30", "unit_ids": [tree.trib3.id]},
    )
    assert resp.status_code in (403, 404)
    assert db.session.query(Assignment).count() == 0


def test_not_json_is_a_clear_400(client, api):
    resp = client.post("/api/v1/projects", headers=api["assigner"], data="name=x")
    assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]


def test_extension_and_list_filters(client, api, tree):
    aid = _assignment(client, api, tree, tree.trib1)
    resp = client.post(
        f"/api/v1/assignments/{aid}/extension",
        headers=api["head"],
        json={"new_deadline": "2099-11-01", "reason": "太早", "version": _version(aid)},
    )
    assert resp.status_code == 400 and "晚于当前时限" in resp.get_json()["error"]
    resp = client.post(
        f"/api/v1/assignments/{aid}/extension",
        headers=api["head"],
        json={"new_deadline": "2099-12-31", "reason": "场地施工", "version": _version(aid)},
    )
    assert resp.status_code == 201 and resp.get_json()["status"] == "pending"
    bad = client.get("/api/v1/assignments?status=weird", headers=api["head"])
    assert bad.status_code == 400
    assert client.get("/api/v1/assignments?from=2026-13-01", headers=api["head"]).status_code == 400


def test_session_writes_to_the_api_need_the_csrf_header(app, client, people, tree):
    """A browser session can call the API, but its writes must carry the CSRF token."""
    import re

    client.post("/login", data={"username": "assigner", "password": factories.PASSWORD})
    app.config["WTF_CSRF_ENABLED"] = True
    payload = {
        "name": "会话项目",
        "owner_unit_id": tree.inter1.id,
        "start": "2026-01-01",
        "end": "2026-12-31",
    }
    resp = client.post("/api/v1/projects", json=payload)
    assert resp.status_code == 400 and "CSRF" in resp.get_json()["error"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    resp = client.post("/api/v1/projects", json=payload, headers={"X-CSRFToken": token})
    assert resp.status_code == 201


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    described = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule[len("/api/v1") :]
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", "{id}")
            assert path in described, f"{rule.rule} is not in the OpenAPI document"


def test_task_import_through_the_api(client, api, tree):
    from openpyxl import Workbook

    pid = _project(client, api, tree)
    wb = Workbook()
    ws = wb.active
    ws.append(["甲市中院任务清单"])
    ws.append(["序号", "任务名称", "工作要求", "责任单位", "牵头领导", "完成时限", "备注"])
    ws.append(
        [1, "配齐法庭干警", "每庭一名员额法官", "甲一区法院、甲二区人民法院", "张某", "2026年10月31日", None]
    )
    ws.append([2, "不存在的单位", "", "丙县法院", "李某", "2026-12-31", None])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    resp = client.post(
        "/api/v1/imports/tasks",
        headers=api["assigner"],
        data={"project_id": str(pid), "file": (buf, "清单.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    preview = resp.get_json()
    rows = {r["row"]: r for r in preview["rows"]}
    assert rows[3]["errors"] == [] and set(rows[3]["unit_ids"]) == {tree.base1.id, tree.base2.id}
    assert rows[3]["deadline"]["due"] == "2026-10-31"
    assert "丙县法院" in rows[4]["errors"][0]
    refused = client.post(f"/api/v1/imports/{preview['import_id']}/commit", headers=api["assigner"], json={})
    assert refused.status_code == 400 and db.session.query(Task).count() == 0
    done = client.post(
        f"/api/v1/imports/{preview['import_id']}/commit", headers=api["assigner"], json={"exclude_rows": [4]}
    )
    assert done.status_code == 200 and done.get_json()["created"] == 1
    assert db.session.query(Assignment).count() == 2
    assert db.session.query(Task).one().deadline == date(2026, 10, 31)


def test_corrupt_xlsx_import_is_a_400(client, api, tree):
    pid = _project(client, api, tree)
    resp = client.post(
        "/api/v1/imports/tasks",
        headers=api["assigner"],
        data={"project_id": str(pid), "file": (io.BytesIO(b"PK\x03\x04broken"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "Excel" in resp.get_json()["error"]


def test_openapi_document_is_valid(client):
    """The document validates against the OpenAPI 3 schema (other tools read it)."""
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())
