"""The API's input through its schemas: ids that fit the database, lengths, dates, lists,
unknown fields, hostile bodies — each a Chinese 400 naming the field, nothing saved —
the optimistic lock (409 with the current version), DELETE /auth/token, and the pages'
own error pages left alone."""

import io
import json

import pytest

from app.api.models import ApiToken
from app.extensions import db
from app.tasks.models import Assignment, Project, Task
from tests import factories


@pytest.fixture
def people(tree):
    p = {
        "assigner": factories.user("assigner", tree.inter1, ["assigner"]),
        "head": factories.user("head", tree.trib1, ["tribunal_head"]),
        "staff": factories.user("staff", tree.trib1, ["staff"]),
    }
    db.session.commit()
    return p


@pytest.fixture
def api(client, people):
    return {k: factories.bearer(client, u) for k, u in people.items()}


def _project_payload(tree, **over):
    return {
        "name": "项目",
        "owner_unit_id": tree.inter1.id,
        "start": "2026-01-01",
        "end": "2026-12-31",
        **over,
    }


@pytest.fixture
def assignment(client, api, tree):
    """An item of inter1 assigned to trib1, as the API answers it (with its version)."""
    pid = client.post("/api/v1/projects", headers=api["assigner"], json=_project_payload(tree)).get_json()[
        "id"
    ]
    resp = client.post(
        "/api/v1/tasks",
        headers=api["assigner"],
        json={"project_id": pid, "title": "事项", "deadline": "2099-12-10", "unit_ids": [tree.trib1.id]},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["assignments"][0]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"owner_unit_id": 2**31}, "字段 owner_unit_id 须为 1 到 2147483647 之间的整数"),
        ({"owner_unit_id": 2**64}, "字段 owner_unit_id 须为 1 到 2147483647 之间的整数"),
        ({"owner_unit_id": 0}, "字段 owner_unit_id 须为 1 到 2147483647 之间的整数"),
        ({"owner_unit_id": -5}, "字段 owner_unit_id 须为 1 到 2147483647 之间的整数"),
        ({"owner_unit_id": True}, "字段 owner_unit_id 须为整数"),
        ({"owner_unit_id": 1.5}, "字段 owner_unit_id 须为整数"),
        ({"start": "2026-02-30"}, "字段 start 须为 YYYY-MM-DD 格式的日期"),
        ({"start": "2022年13月1日"}, "字段 start 须为 YYYY-MM-DD"),
        ({"start": "20260101"}, "字段 start 须为 YYYY-MM-DD"),
        ({"end": "9999-12-31"}, "字段 end 须在 2000-01-01 到 2099-12-31 之间"),
        ({"name": "x" * 101}, "字段 name 不能超过 100 个字"),
        ({"name": "   "}, "字段 name 不能为空"),
        ({"name": "\x0b\x0c"}, "字段 name 不能为空"),
        ({"name": 5}, "字段 name 须为字符串"),
        ({"description": "长" * 5001}, "字段 description 不能超过 5000 个字"),
        ({"nmae": "拼错"}, "不支持字段 nmae"),
        ({"start": None}, "字段 start 不能为 null"),
    ],
)
def test_bad_project_fields_are_a_400_naming_the_field(client, api, tree, over, message):
    resp = client.post("/api/v1/projects", headers=api["assigner"], json=_project_payload(tree, **over))
    assert resp.status_code == 400, resp.get_json()
    assert message in resp.get_json()["error"]
    assert db.session.query(Project).count() == 0


def test_a_missing_field_is_named_with_what_it_takes(client, api, tree):
    resp = client.post("/api/v1/tasks", headers=api["assigner"], json={"project_id": 1, "title": "事项"})
    assert resp.status_code == 400
    assert resp.get_json()["error"].startswith("缺少字段 deadline（YYYY-MM-DD")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("[1, 2]", "application/json", "请求体须为 JSON 对象"),
        ('"text"', "application/json", "请求体须为 JSON 对象"),
        ("{not json", "application/json", "请求体不是有效的 JSON"),
        ("[" * 100_000, "application/json", "请求体不是有效的 JSON"),
        ('{"owner_unit_id": ' + "9" * 5000 + "}", "application/json", "请求体不是有效的 JSON"),
        (b"\xff\xfe\x00garbage", "application/json", "请求体不是有效的 JSON"),
        ("name=x", "application/x-www-form-urlencoded", "请求体须为 JSON 对象"),
    ],
)
def test_hostile_bodies_are_a_clear_400(client, api, body, content_type, message):
    resp = client.post("/api/v1/projects", headers=api["assigner"], data=body, content_type=content_type)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:200]
    assert message in resp.get_json()["error"]


def test_a_form_part_whose_name_cannot_be_read_is_a_400(client, api, assignment):
    """werkzeug names such a part None (schemathesis found it answering 500)."""
    body = b'--XX\r\nContent-Disposition: form-data; name="\r\xc3\x89s"\r\n\r\nnull\r\n--XX--\r\n'
    resp = client.post(
        f"/api/v1/assignments/{assignment['id']}/progress",
        headers=api["head"],
        data=body,
        content_type="multipart/form-data; boundary=XX",
    )
    assert resp.status_code == 400 and "不支持字段" in resp.get_json()["error"]


def test_nul_in_any_json_string_is_refused_and_nothing_saved(client, api, tree):
    resp = client.post(
        "/api/v1/projects", headers=api["assigner"], json=_project_payload(tree, name="强基\x00工程")
    )
    assert resp.status_code == 400 and "NUL" in resp.get_json()["error"]
    resp = client.post("/api/v1/auth/token", json={"username": "a\x00", "password": "x"})
    assert resp.status_code == 400 and "NUL" in resp.get_json()["error"]
    assert db.session.query(Project).count() == 0


def test_a_lone_surrogate_is_refused_not_a_500(client, api, tree):
    """Valid JSON ("\\ud800"), but no UTF-8 text: the database and the password hash would fail on it."""
    body = json.dumps(_project_payload(tree, name="\ud800"))  # json.dumps keeps it as the escape \ud800
    resp = client.post(
        "/api/v1/projects", headers=api["assigner"], data=body, content_type="application/json"
    )
    assert resp.status_code == 400 and "字段 name 须为有效的 UTF-8 文本" in resp.get_json()["error"]
    body = json.dumps({"username": "assigner", "password": "\udfff"})
    resp = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert resp.status_code == 400 and "字段 password" in resp.get_json()["error"]
    assert db.session.query(Project).count() == 0


def test_other_control_characters_are_dropped_newlines_and_tabs_kept(client, api, tree):
    resp = client.post(
        "/api/v1/projects",
        headers=api["assigner"],
        json=_project_payload(tree, name="强基\x0b工程\x1b", description="第一行\n\t第二行\x07"),
    )
    assert resp.status_code == 201, resp.get_json()
    project = db.session.get(Project, resp.get_json()["id"])
    assert (project.name, project.description) == ("强基工程", "第一行\n\t第二行")


def test_list_sizes_are_capped(client, api, tree, assignment):
    pid = db.session.get(Assignment, assignment["id"]).task.project_id
    resp = client.post(
        "/api/v1/tasks",
        headers=api["assigner"],
        json={"project_id": pid, "title": "太多", "deadline": "2026-12-31", "unit_ids": list(range(1, 202))},
    )
    assert resp.status_code == 400 and "字段 unit_ids 最多 200 个单位" in resp.get_json()["error"]
    assert db.session.query(Task).count() == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("unit=2147483648", "参数 unit 须为 1 到 2147483647 之间的整数"),
        ("unit=18446744073709551616", "参数 unit 须为 1 到 2147483647 之间的整数"),
        ("unit=" + "9" * 5000, "参数 unit 须为整数"),
        ("unit=1.5", "参数 unit 须为整数"),
        ("per_page=501", "参数 per_page 须为 1 到 500 之间的整数"),
        ("page=0", "参数 page 须为 1 到 100000 之间的整数"),
        ("from=2026-02-30", "参数 from 须为 YYYY-MM-DD 格式的日期"),
        ("unit=-1", "参数 unit 须为整数"),
        ("status=weird", "参数 status 只能是 open、overdue"),
        ("stauts=open", "不支持参数 stauts"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_them(client, api, query, message):
    resp = client.get(f"/api/v1/assignments?{query}", headers=api["assigner"])
    assert resp.status_code == 400, resp.get_json()
    assert message in resp.get_json()["error"]


def test_path_ids_past_the_database_are_404(client, api):
    for url in ("/api/v1/units/2147483648", "/api/v1/units/18446744073709551616", "/api/v1/visits/0"):
        resp = client.get(url, headers=api["assigner"])
        assert resp.status_code == 404 and "error" in resp.get_json(), url


# ---------------------------------------------------------------- the optimistic lock


def test_a_write_without_or_with_a_stale_version_is_409_with_the_current_one(client, api, assignment):
    aid, version = assignment["id"], assignment["version"]
    url = f"/api/v1/assignments/{aid}/acknowledge"
    for body in ({}, {"version": version + 1}, None):
        kwargs = {"json": body} if body is not None else {}
        resp = client.post(url, headers=api["head"], **kwargs)
        assert resp.status_code == 409, resp.get_json()
        assert resp.get_json()["version"] == version and resp.get_json()["error"]
    assert db.session.get(Assignment, aid).status == "pending"

    resp = client.post(url, headers=api["head"], json={"version": version})
    assert resp.status_code == 200 and resp.get_json()["status"] == "in_progress"
    assert resp.get_json()["version"] > version
    # the copy the first save was based on is now stale
    resp = client.post(
        f"/api/v1/assignments/{aid}/extension",
        headers=api["head"],
        json={"new_deadline": "2099-12-31", "reason": "施工", "version": version},
    )
    assert resp.status_code == 409 and resp.get_json()["version"] == db.session.get(Assignment, aid).version


def test_a_stale_multipart_report_saves_nothing(client, api, assignment):
    aid = assignment["id"]
    resp = client.post(
        f"/api/v1/assignments/{aid}/progress",
        headers=api["head"],
        data={
            "text": "进展",
            "version": str(assignment["version"] + 5),
            "files": (io.BytesIO(b"%PDF-1.4"), "a.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 409 and resp.get_json()["version"] == assignment["version"]
    assert db.session.get(Assignment, aid).status == "pending"


def test_who_may_not_act_hears_403_not_409(client, api, assignment):
    """The lock comes after the policy: a version tells nothing to someone refused anyway."""
    resp = client.post(
        f"/api/v1/assignments/{assignment['id']}/review", headers=api["head"], json={"decision": "approve"}
    )
    assert resp.status_code == 403


def test_read_answers_carry_the_version(client, api, assignment):
    items = client.get("/api/v1/assignments", headers=api["head"]).get_json()["items"]
    assert items[0]["version"] == db.session.get(Assignment, assignment["id"]).version


# ---------------------------------------------------------------- tokens


def test_delete_token_revokes_the_token_presented(client, api, people):
    other = factories.bearer(client, people["assigner"])  # a second token of the same user
    assert client.get("/api/v1/units", headers=api["assigner"]).status_code == 200
    resp = client.delete("/api/v1/auth/token", headers=api["assigner"])
    assert resp.status_code == 204 and resp.data == b""
    assert client.get("/api/v1/units", headers=api["assigner"]).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=api["assigner"]).status_code == 401
    assert client.get("/api/v1/units", headers=other).status_code == 200  # only that one
    revoked = db.session.query(ApiToken).filter(ApiToken.revoked_at.is_not(None)).one()
    assert revoked.revoked_reason == "owner"
    # a new one can be had as before
    assert (
        client.get("/api/v1/units", headers=factories.bearer(client, people["assigner"])).status_code == 200
    )


def test_delete_token_without_a_bearer_token_is_401_or_400(client, people, login):
    assert client.delete("/api/v1/auth/token").status_code == 401
    login(people["assigner"])
    resp = client.delete("/api/v1/auth/token")
    assert resp.status_code == 400 and "Bearer" in resp.get_json()["error"]


# ---------------------------------------------------------------- errors outside the API


def test_smorest_installs_no_app_wide_error_handler():
    """Not merely overridden by registration order: our Api never installs it."""
    from flask import Flask

    from app.api.openapi import Api

    bare = Flask("bare")
    bare.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    Api(bare)
    assert not bare.error_handler_spec.get(None, {}).get(None)


def test_pages_keep_their_chinese_html_error_pages(client, api):
    """flask-smorest answers nothing outside /api/: a page's 404 is still our HTML page."""
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "页面不存在" in resp.get_data(as_text=True)
    resp = client.get("/api/v1/no-such-thing", headers=api["assigner"])
    assert resp.status_code == 404 and resp.get_json() == {"error": "页面不存在，或者您无权查看该内容。"}
    resp = client.patch("/api/v1/units", headers=api["assigner"])
    assert resp.status_code == 405 and resp.headers["Allow"]
    assert set(json.loads(resp.data)) == {"error"}


def test_the_document_is_generated_from_the_schemas(client):
    """Limits the schemas enforce appear in the document (they are one declaration)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    project = doc["components"]["schemas"]["ProjectIn"]
    assert project["properties"]["name"]["maxLength"] == 100
    assert project["properties"]["owner_unit_id"]["maximum"] == 2147483647
    assert project["additionalProperties"] is False
    assert set(project["required"]) == {"name", "owner_unit_id", "start", "end"}
    ack = doc["paths"]["/assignments/{id}/acknowledge"]["post"]
    assert ack["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Conflict"
    }
    assert "version" in doc["components"]["schemas"]["Assignment"]["required"]
    assert doc["paths"]["/auth/token"]["delete"]["responses"]["204"]


OPERATIONS = {
    ("get", "/openapi.json"),
    ("post", "/auth/token"),
    ("delete", "/auth/token"),  # new in issue 10
    ("get", "/units"),
    ("get", "/units/{id}"),
    ("post", "/projects"),
    ("post", "/tasks"),
    ("get", "/assignments"),
    ("get", "/assignments/{id}"),  # new in issue 11
    ("get", "/assignments.xlsx"),  # new in issue 11
    ("post", "/assignments/{id}/acknowledge"),
    ("post", "/assignments/{id}/progress"),
    ("post", "/assignments/{id}/review"),
    ("post", "/assignments/{id}/extension"),
    ("get", "/completion-list"),
    ("get", "/completion-list.xlsx"),
    ("post", "/imports/tasks"),
    ("post", "/imports/{id}/commit"),
    ("post", "/visits"),
    ("get", "/visits/{id}"),
    ("post", "/visits/{id}/findings"),
    ("post", "/rectifications/{id}/report"),
    ("post", "/rectifications/{id}/verify"),
    ("get", "/visits/coverage"),
    ("get", "/checklist-templates"),
    ("get", "/checklists"),
    ("post", "/checklists"),
    ("get", "/checklists/{id}"),
    ("post", "/checklist-entries/{id}"),
    ("get", "/notifications"),
    ("post", "/notifications/{id}/read"),
    ("get", "/dashboard"),
    ("get", "/rankings"),
    # new in issue 14, names fixed by the issue
    ("get", "/indicators"),
    ("get", "/indicator-values"),
    ("post", "/indicator-values"),
    ("get", "/indicators/compliance"),
    ("get", "/assessments/{id}/results"),
    # new in issue 15: links between items
    ("post", "/tasks/{id}/links"),
    ("delete", "/task-links/{id}"),
    ("get", "/search"),  # new in issue 15: global search
}


def test_every_operation_keeps_its_path_and_method(client):
    """Other tools call these: none renamed, none lost (the document before issue 10, plus DELETE /auth/token)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["servers"] == [{"url": "/api/v1"}]
    found = {
        (m, p)
        for p, ops in doc["paths"].items()
        for m in ops
        if m in ("get", "post", "put", "patch", "delete")
    }
    assert found == OPERATIONS
