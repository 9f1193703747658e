"""The JSON API for checklist templates, checklists and their entries, and its bad input."""

import io
from datetime import timedelta

import pytest
from PIL import Image

from app.attachments import Attachment
from app.checklists import services
from app.checklists.models import Checklist, ChecklistEntry
from app.extensions import db
from app.timeutil import local_today, utcnow
from tests import factories

SECTIONS = [
    {
        "title": "标准化",
        "items": [
            {"code": "A1", "title": "法庭标识规范统一", "weight": 2, "evidence_required": True},
            {"code": "A2", "title": "诉讼服务窗口", "weight": 1},
        ],
    },
    {
        "title": "信息化",
        "items": [
            {"code": "B1", "title": "科技法庭全覆盖", "weight": 3},
            {
                "code": "B2",
                "title": "智慧法庭系统上线",
                "weight": 0.5,
                "evidence_required": True,
                "due_offset_days": 30,
            },
        ],
    },
]


@pytest.fixture
def people(tree):
    p = {
        "reviewer": factories.user("gy_qjb", tree.high, ["reviewer"], display_name="高院强基办"),
        "assigner": factories.user("jz_zb", tree.inter1, ["assigner"], display_name="甲市中院专班"),
        "coord": factories.user("j1_llr", tree.base1, ["coordinator"], display_name="甲一区联络员"),
        "head": factories.user("ds_tz", tree.trib1, ["tribunal_head"], display_name="东山庭长"),
        "head2": factories.user("xs_tz", tree.trib2, ["tribunal_head"], display_name="西山庭长"),
        "other": factories.user("yz_zb", tree.inter2, ["assigner"], display_name="乙市中院专班"),
    }
    db.session.commit()
    return p


@pytest.fixture
def api(client, people):
    return {k: factories.bearer(client, u) for k, u in people.items()}


def _jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buf, "JPEG")
    buf.seek(0)
    return buf


def _template(family="法庭五化", name="人民法庭“五化”建设标准", sections=SECTIONS, publish=True):
    t = services.create_template(None, family=family, name=name, sections=sections, now=utcnow())
    if publish:
        services.publish_template(None, t, now=utcnow())
    db.session.commit()
    return t


@pytest.fixture
def template(db):
    return _template()


def _due(days=90):
    return (local_today() + timedelta(days=days)).isoformat()


def _apply(client, api, template, *units, who="assigner", **over):
    resp = client.post(
        "/api/v1/checklists",
        headers=api[who],
        json={"template_id": template.id, "unit_ids": [u.id for u in units], "due": _due(), **over},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["ids"]


def _entries(client, api, checklist_id, who="head"):
    resp = client.get(f"/api/v1/checklists/{checklist_id}", headers=api[who])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json(), {e["code"]: e for e in resp.get_json()["entries"]}


def _set(client, api, entry_id, who="head", files=None, **payload):
    """POST an entry update carrying the version a client would have read (unless given)."""
    entry = db.session.get(ChecklistEntry, entry_id)
    payload.setdefault("version", entry.version if entry else 1)
    if files is not None:
        return client.post(
            f"/api/v1/checklist-entries/{entry_id}",
            headers=api[who],
            data={**payload, "files": files},
            content_type="multipart/form-data",
        )
    return client.post(f"/api/v1/checklist-entries/{entry_id}", headers=api[who], json=payload)


def test_apply_claim_verify_and_compliance(client, api, tree, people, template):
    """An assigner applies a published template to two tribunals; the tribunal head
    ticks items (with evidence where required); the assigner verifies some; the
    compliance is the weighted share of verified items."""
    draft = _template(family="便民服务", name="便民服务标准", publish=False)
    listed = client.get("/api/v1/checklist-templates", headers=api["head"]).get_json()
    assert listed == [
        {
            "id": template.id,
            "name": "人民法庭“五化”建设标准",
            "version": 1,
            "family": "法庭五化",
            "status": "published",
            "description": None,
        }
    ]
    managed = client.get("/api/v1/checklist-templates", headers=api["reviewer"]).get_json()
    assert {t["id"]: t["status"] for t in managed} == {template.id: "published", draft.id: "draft"}

    ids = _apply(client, api, template, tree.trib1, tree.trib2)
    assert len(ids) == 2
    mine = client.get(f"/api/v1/checklists?unit={tree.trib1.id}", headers=api["head"]).get_json()["items"]
    assert [(i["unit_id"], i["template_id"], i["compliance"]) for i in mine] == [
        (tree.trib1.id, template.id, 0.0)
    ]
    cid = mine[0]["id"]
    other = next(i for i in ids if i != cid)
    assert client.get(f"/api/v1/checklists/{other}", headers=api["head"]).status_code == 404
    both = client.get(f"/api/v1/checklists?unit={tree.base1.id}", headers=api["coord"]).get_json()["items"]
    assert sorted(i["id"] for i in both) == sorted(ids)

    checklist, by_code = _entries(client, api, cid)
    assert checklist["unit_id"] == tree.trib1.id and checklist["template_id"] == template.id
    assert checklist["version"] == 1 and checklist["compliance"] == 0.0
    assert [e["code"] for e in checklist["entries"]] == ["A1", "A2", "B1", "B2"]
    assert by_code["A1"] == {
        **by_code["A1"],
        "title": "法庭标识规范统一",
        "section": "标准化",
        "status": "missing",
        "weight": 2.0,
        "evidence_required": True,
        "due": _due(),
    }
    assert by_code["B2"]["section"] == "信息化" and by_code["B2"]["due"] == _due(30)

    # the tribunal head ticks the items; evidence where the standard requires it
    resp = _set(
        client, api, by_code["A1"]["id"], status="done", comment="已更换", files=(_jpeg(), "标识.jpg")
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "claimed" and resp.get_json()["evidence"] == 1
    for code in ("A2", "B1"):
        resp = _set(client, api, by_code[code]["id"], status="done")
        assert resp.status_code == 200 and resp.get_json()["status"] == "claimed"
    resp = _set(client, api, by_code["B2"]["id"], status="done")
    assert resp.status_code == 400 and "须上传佐证材料" in resp.get_json()["error"]
    assert db.session.get(ChecklistEntry, by_code["B2"]["id"]).status == "missing"
    resp = _set(client, api, by_code["B2"]["id"], status="done", files=(_jpeg(), "系统.jpg"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "claimed"

    # the tribunal can't verify its own items
    resp = _set(client, api, by_code["A1"]["id"], status="verified")
    assert resp.status_code == 403 and "无权核验" in resp.get_json()["error"]

    # the assigner above verifies A1 and B1, rejects A2, leaves B2 waiting
    for code in ("A1", "B1"):
        resp = _set(client, api, by_code[code]["id"], who="assigner", status="verified", comment="属实")
        assert resp.status_code == 200 and resp.get_json()["status"] == "verified"
    resp = _set(client, api, by_code["A2"]["id"], who="assigner", status="rejected", comment="窗口未挂牌")
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"

    expected = round((2 + 3) / (2 + 1 + 3 + 0.5), 4)
    assert resp.get_json()["compliance"] == expected
    checklist, by_code = _entries(client, api, cid)
    assert checklist["compliance"] == expected == 0.7692
    assert {c: e["status"] for c, e in by_code.items()} == {
        "A1": "verified",
        "A2": "rejected",
        "B1": "verified",
        "B2": "claimed",
    }
    assert by_code["A2"]["comment"] == "窗口未挂牌"
    listing = client.get(f"/api/v1/checklists?unit={tree.base1.id}", headers=api["assigner"]).get_json()
    assert {i["id"]: i["compliance"] for i in listing["items"]} == {cid: expected, other: 0.0}

    # a rejected item can be ticked again; a verified one can't
    resp = _set(client, api, by_code["A2"]["id"], status="done", comment="已挂牌")
    assert resp.status_code == 200 and resp.get_json()["status"] == "claimed"
    resp = _set(client, api, by_code["A1"]["id"], status="done")
    assert resp.status_code == 403


def test_reapplying_a_new_version_carries_verified_items(client, api, tree, people, template):
    (cid,) = _apply(client, api, template, tree.trib1)
    _, by_code = _entries(client, api, cid)
    _set(client, api, by_code["B1"]["id"], status="done")
    assert _set(client, api, by_code["B1"]["id"], who="assigner", status="verified").status_code == 200

    v2 = services.new_version(None, db.session.get(type(template), template.id), now=utcnow())
    services.publish_template(None, v2, now=utcnow())
    db.session.commit()
    resp = client.post(
        "/api/v1/checklists",
        headers=api["assigner"],
        json={"template_id": v2.id, "unit_ids": [tree.trib1.id], "due": _due()},
    )
    assert resp.status_code == 400 and "重新应用" in resp.get_json()["error"]
    (new_id,) = _apply(client, api, v2, tree.trib1, reapply=True)
    checklist, by_code = _entries(client, api, new_id)
    assert checklist["version"] == 2 and by_code["B1"]["status"] == "verified"
    assert checklist["compliance"] == round(3 / 6.5, 4)
    items = client.get(f"/api/v1/checklists?unit={tree.trib1.id}", headers=api["head"]).get_json()["items"]
    assert [i["id"] for i in items] == [new_id]
    assert db.session.get(Checklist, cid).is_current is False
    resp = client.post(
        "/api/v1/checklists",
        headers=api["assigner"],
        json={"template_id": v2.id, "unit_ids": [tree.trib1.id], "due": _due(), "reapply": True},
    )
    assert resp.status_code == 400 and "已在使用该版本" in resp.get_json()["error"]


@pytest.mark.parametrize(
    ("who", "over", "status", "message"),
    [
        ("assigner", lambda t, tpl, d: {"template_id": str(tpl.id)}, 400, "须为整数"),
        ("assigner", lambda t, tpl, d: {"template_id": 99999}, 404, ""),
        ("assigner", lambda t, tpl, d: {"unit_ids": ["x"]}, 400, "整数数组"),
        ("assigner", lambda t, tpl, d: {"unit_ids": [99999]}, 404, "不在您的管辖范围内"),
        ("assigner", lambda t, tpl, d: {"unit_ids": [t.base3.id]}, 404, "不在您的管辖范围内"),
        ("assigner", lambda t, tpl, d: {"unit_ids": []}, 400, "至少一个单位"),
        ("assigner", lambda t, tpl, d: {"unit_ids": [t.trib1.id, t.inter1.id]}, 403, "不是您的下级单位"),
        ("assigner", lambda t, tpl, d: {"template_id": d.id}, 400, "只能应用已发布的模板"),
        ("assigner", lambda t, tpl, d: {"due": None}, 400, "due"),
        ("assigner", lambda t, tpl, d: {"due": "明年"}, 400, "YYYY-MM-DD"),
        ("assigner", lambda t, tpl, d: {"reapply": "yes"}, 400, "reapply"),
        ("head", lambda t, tpl, d: {}, 403, "不能应用模板"),
        ("other", lambda t, tpl, d: {}, 404, ""),
    ],
)
def test_bad_applications_save_nothing(client, api, tree, people, template, who, over, status, message):
    draft = _template(family="便民服务", name="便民服务标准", publish=False)
    payload = {"template_id": template.id, "unit_ids": [tree.trib1.id], "due": _due()}
    payload.update(over(tree, template, draft))
    resp = client.post("/api/v1/checklists", headers=api[who], json=payload)
    assert resp.status_code == status, resp.get_json()
    assert message in resp.get_json()["error"]
    assert db.session.query(Checklist).count() == 0
    assert db.session.query(ChecklistEntry).count() == 0


def test_bad_entry_updates_save_nothing(client, api, tree, people, template):
    (cid,) = _apply(client, api, template, tree.trib1)
    _, by_code = _entries(client, api, cid)
    a1, a2 = by_code["A1"]["id"], by_code["A2"]["id"]

    for payload, message in (
        ({"status": "approved"}, "status 只能是"),
        ({"status": "claimed"}, "status 只能是"),
        ({}, "status"),
        ({"status": 1}, "字符串"),
    ):
        resp = _set(client, api, a2, **payload)
        assert resp.status_code == 400 and message in resp.get_json()["error"], payload
    resp = _set(client, api, a2, status="approved", files=(_jpeg(), "x.jpg"))
    assert resp.status_code == 400 and "status 只能是" in resp.get_json()["error"]
    resp = client.post(f"/api/v1/checklist-entries/{a2}", headers=api["head"], data="status=done")
    assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]

    # evidence missing where required; a file that is not evidence
    resp = _set(client, api, a1, status="done")
    assert resp.status_code == 400 and "A1 法庭标识规范统一" in resp.get_json()["error"]
    resp = _set(client, api, a1, status="done", files=(io.BytesIO(b"MZ\x90\x00exe"), "photo.jpg"))
    assert resp.status_code == 400 and "内容不是允许的类型" in resp.get_json()["error"]

    # verifying: only from above, only a claimed item, a rejection needs a reason
    resp = _set(client, api, a2, who="assigner", status="verified")
    assert resp.status_code == 403 and "已填报" in resp.get_json()["error"]
    assert _set(client, api, a2, status="done").status_code == 200
    resp = _set(client, api, a2, who="assigner", status="rejected")
    assert resp.status_code == 400 and "请填写驳回理由" in resp.get_json()["error"]
    resp = _set(client, api, a2, who="assigner", status="verified", files=(_jpeg(), "x.jpg"))
    assert resp.status_code == 400 and "佐证材料" in resp.get_json()["error"]
    resp = _set(client, api, a2, who="head2", status="verified")
    assert resp.status_code == 404  # another tribunal's checklist is hidden
    resp = _set(client, api, a2, who="other", status="verified")
    assert resp.status_code == 404

    assert db.session.get(ChecklistEntry, a1).status == "missing"
    assert db.session.get(ChecklistEntry, a2).status == "claimed"
    assert db.session.query(Attachment).count() == 0

    assert client.post("/api/v1/checklist-entries/abc", headers=api["head"], json={}).status_code == 404
    assert client.post("/api/v1/checklist-entries/99999", headers=api["head"], json={}).status_code == 404


def test_checklist_reads_and_bad_parameters(client, api, tree, people, template):
    (cid,) = _apply(client, api, template, tree.trib1)
    assert client.get(f"/api/v1/checklists/{cid}", headers=api["other"]).status_code == 404
    assert client.get("/api/v1/checklists/abc", headers=api["head"]).status_code == 404
    resp = client.get("/api/v1/checklists?unit=abc", headers=api["head"])
    assert resp.status_code == 400 and "整数" in resp.get_json()["error"]
    assert client.get(f"/api/v1/checklists?unit={tree.base3.id}", headers=api["head"]).status_code == 404
    assert client.get("/api/v1/checklists", headers=api["other"]).get_json() == {"items": []}
    assert [i["id"] for i in client.get("/api/v1/checklists", headers=api["head"]).get_json()["items"]] == [
        cid
    ]
    assert client.get("/api/v1/checklists?family=其他", headers=api["head"]).get_json() == {"items": []}
