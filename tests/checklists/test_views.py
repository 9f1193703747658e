"""Checklist pages over HTTP: bad input answers 4xx with nothing saved, who may claim
and verify (403/404), the matrix's cells and filters, its XLSX, and its query count."""

from __future__ import annotations

import io
import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from app.attachments import Attachment
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate, TemplateItem
from app.checklists.standards import load_standard_templates
from app.exports.xlsx import FIRST_DATA_ROW, HEADER_ROW
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (0, 102, 74)).save(out, "PNG")
    return out.getvalue()


def _entry(db, checklist, code) -> ChecklistEntry:
    return db.session.scalar(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == checklist.id, ChecklistEntry.code == code)
    )


@pytest.fixture
def as_user(app):
    """A fresh client logged in as the given user (one client per person)."""

    def _as(user):
        c = app.test_client()
        resp = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return c

    return _as


@pytest.fixture
def w(db, tree):
    """The test standard applied by inter1's assigner to the three tribunals; trib1 has
    A-1 and B-1 verified (5 of 10), trib2 has A-1 rejected."""
    u = factories.task_users(tree)
    t = factories.checklist_template(u.reviewer, now=NOW)
    c1, c2, c3 = factories.apply_checklist(u.assigner, t, tree.trib1, tree.trib2, tree.trib3, now=NOW)
    factories.set_entry(c1, "A-1", "verified", by=u.assigner)
    factories.set_entry(c1, "B-1", "verified", by=u.assigner)
    factories.set_entry(c2, "A-1", "rejected", by=u.assigner)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, template=t, c1=c1, c2=c2, c3=c3)


# ---------------------------------------------------------------- templates


def test_new_template_with_a_code_used_twice_is_refused_and_nothing_saved(db, tree, as_user):
    """Pasted items repeating a code: 400 naming the code; no template, no item."""
    reviewer = factories.user("qjb", tree.high, ["reviewer"])
    db.session.commit()
    outline = "一、布局合理化\nWH-1.1 | 功能区设置 | 2 | 是\nWH-1.1 | 巡回审判点 | 1"
    resp = as_user(reviewer).post(
        "/checklists/templates/new", data={"family": "wh", "name": "五化", "outline": outline}
    )
    assert resp.status_code == 400
    assert "编号“WH-1.1”在本模板中已被使用" in resp.get_data(as_text=True)
    assert _count(db, ChecklistTemplate) == 0 and _count(db, TemplateItem) == 0


def test_new_template_from_an_outline_then_items_sections_publish_and_a_new_version(db, tree, as_user):
    """Outline → draft with sections and items; a duplicate item code is a 400; publish; copy as version 2."""
    reviewer = factories.user("qjb", tree.high, ["reviewer"])
    db.session.commit()
    c = as_user(reviewer)
    outline = (
        "一、布局合理化\nWH-1.1\t功能区设置\t2\t是\t30\t上传照片\n二、审判专业化\nWH-2.1 | 审判团队 | 1.5"
    )
    resp = c.post("/checklists/templates/new", data={"family": "wh", "name": "五化", "outline": outline})
    assert resp.status_code == 302
    t = db.session.scalar(select(ChecklistTemplate))
    item = t.items[0]
    assert (item.code, item.weight, item.evidence_required, item.due_offset_days, item.guidance) == (
        "WH-1.1",
        2,
        True,
        30,
        "上传照片",
    )
    url = f"/checklists/templates/{t.id}"
    assert c.post(f"{url}/sections", data={"title": "三、管理精细化"}).status_code == 302
    sec = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.id == t.id)).sections[2]
    item = {"section_id": sec.id, "code": "WH-2.1", "title": "重复", "weight": "1"}
    resp = c.post(f"{url}/items", data=item)
    assert resp.status_code == 400 and "已被使用" in resp.get_data(as_text=True)
    assert _count(db, TemplateItem) == 2
    assert c.post(f"{url}/items", data={**item, "code": "WH-3.1", "weight": "0"}).status_code == 400
    assert (
        c.post(f"{url}/items", data={**item, "code": "WH-3.1", "evidence_required": "y"}).status_code == 302
    )
    assert c.post(f"{url}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(ChecklistTemplate, t.id).status == "published"
    assert c.post(f"{url}/items", data={**item, "code": "WH-3.2"}).status_code == 400  # published: frozen
    resp = c.post(f"{url}/new-version")
    v2 = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.version == 2))
    assert resp.headers["Location"].endswith(f"/checklists/templates/{v2.id}")
    assert (v2.status, len(v2.items)) == ("draft", 3)
    page = c.get("/checklists/templates").get_data(as_text=True)
    assert "第 2 版" in page and "历史版本" in page


def test_template_pages_are_for_managers_only_to_write(db, w, as_user):
    """An assigner reads templates but cannot create or publish them."""
    c = as_user(w.u.assigner)
    assert c.get(f"/checklists/templates/{w.template.id}").status_code == 200
    assert c.get("/checklists/templates/new").status_code == 403
    assert c.post(f"/checklists/templates/{w.template.id}/new-version").status_code == 403


# ---------------------------------------------------------------- applying


def test_apply_to_all_tribunals_under_a_unit(db, tree, as_user):
    """“All tribunals under base1” plus a ticked trib3: three checklists; the head of a tribunal gets 403."""
    u = factories.task_users(tree)
    t = factories.checklist_template(u.reviewer, now=NOW)
    db.session.commit()
    c = as_user(u.assigner)
    page = c.get(f"/checklists/apply?template={t.id}").get_data(as_text=True)
    assert "东山人民法庭" in page and "乙一县人民法院" not in page
    data = {"template_id": t.id, "under_id": tree.base1.id, "unit_ids": [tree.trib3.id], "due": "2026-12-31"}
    resp = c.post("/checklists/apply", data=data)
    assert resp.status_code == 302
    assert set(db.session.scalars(select(Checklist.unit_id))) == {tree.trib1.id, tree.trib2.id, tree.trib3.id}
    again = c.post("/checklists/apply", data=data)
    assert again.status_code == 400 and "重新应用" in again.get_data(as_text=True)
    assert _count(db, Checklist) == 3
    assert as_user(u.trib1_head).get("/checklists/apply").status_code == 403
    bad = c.post("/checklists/apply", data={**data, "unit_ids": [tree.base3.id]})
    assert bad.status_code == 400  # not a choice: base3 is not below inter1


def test_reapplying_a_new_version_over_http_carries_verified_codes(db, w, as_user):
    """Version 2 re-applied to trib1: A-1 and B-1 stay verified; the old checklist is kept, not current."""
    from app.checklists import services

    v2 = services.new_version(w.u.reviewer, w.template, now=NOW)
    services.publish_template(w.u.reviewer, v2, now=NOW)
    db.session.commit()
    c = as_user(w.u.assigner)
    data = {"template_id": v2.id, "unit_ids": [w.t.trib1.id], "due": "2026-12-31", "reapply": "y"}
    assert c.post("/checklists/apply", data=data).status_code == 302
    new = db.session.scalar(select(Checklist).where(Checklist.template_id == v2.id))
    assert {
        e.code
        for e in db.session.scalars(
            select(ChecklistEntry).where(
                ChecklistEntry.checklist_id == new.id, ChecklistEntry.status == "verified"
            )
        )
    } == {"A-1", "B-1"}
    old = c.get(f"/checklists/{w.c1.id}").get_data(as_text=True)
    assert "已由第 2 版替代" in old and 'data-testid="claim-form"' not in old


# ---------------------------------------------------------------- claiming and verifying


def test_claim_without_required_evidence_is_a_400_and_nothing_saved(db, w, as_user):
    """trib2's A-1 (rejected, evidence required): no file → 400, unchanged; a photo → claimed, thumbnail served."""
    entry = _entry(db, w.c2, "A-1")
    c = as_user(w.u.trib2_head)
    resp = c.post(
        f"/checklists/entries/{entry.id}/claim", data={"comment": "已整改", "version": entry.version}
    )
    assert resp.status_code == 400 and "须上传佐证材料" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert _entry(db, w.c2, "A-1").status == "rejected" and _count(db, Attachment) == 0
    resp = c.post(
        f"/checklists/entries/{entry.id}/claim",
        data={"comment": "已整改", "version": entry.version, "files": [(io.BytesIO(_png()), "功能区.png")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#e{entry.id}")
    db.session.expire_all()
    assert _entry(db, w.c2, "A-1").status == "claimed"
    att = db.session.scalar(select(Attachment))
    page = as_user(w.u.assigner).get(f"/checklists/{w.c2.id}").get_data(as_text=True)
    assert f"/attachments/{att.id}?thumb=1" in page and 'data-testid="verify-form"' in page
    thumb = as_user(w.u.assigner).get(f"/attachments/{att.id}?thumb=1")
    thumb.close()  # a file response holds the file open until closed
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert as_user(w.u.trib1_head).get(f"/attachments/{att.id}").status_code == 404


def test_a_stale_claim_is_a_conflict(db, w, as_user):
    """A claim from a page loaded before somebody else's change answers 409."""
    entry = _entry(db, w.c1, "A-2")
    resp = as_user(w.u.trib1_head).post(
        f"/checklists/entries/{entry.id}/claim", data={"version": entry.version - 1 or 99}
    )
    assert resp.status_code == 409


@pytest.mark.parametrize(
    "who, expected",
    [
        ("assigner", 302),  # inter1, above trib1
        ("base1_coord", 302),  # base1, directly above
        ("reviewer", 302),  # the high court
        ("trib1_head", 403),  # the unit itself
        ("trib2_head", 404),  # a sibling tribunal
        ("base2_coord", 404),  # a sibling base court
        ("inter2_assigner", 404),  # another intermediate court
    ],
)
def test_verify_from_above_only(db, w, as_user, who, expected):
    """Verifying trib1's claimed A-2: allowed above, 403 for the unit, 404 beside it."""
    entry = _entry(db, w.c1, "A-2")
    entry.status = "claimed"
    db.session.commit()
    resp = as_user(getattr(w.u, who)).post(
        f"/checklists/entries/{entry.id}/verify", data={"decision": "verified", "version": entry.version}
    )
    assert resp.status_code == expected
    db.session.expire_all()
    assert _entry(db, w.c1, "A-2").status == ("verified" if expected == 302 else "claimed")


def test_reject_needs_a_reason_and_claiming_is_for_the_unit(db, w, as_user):
    """A rejection without a reason is a 400; the assigner above cannot claim (403); a sibling gets 404."""
    entry = _entry(db, w.c1, "A-2")
    entry.status = "claimed"
    db.session.commit()
    c = as_user(w.u.assigner)
    resp = c.post(
        f"/checklists/entries/{entry.id}/verify",
        data={"decision": "rejected", "comment": "", "version": entry.version},
    )
    assert resp.status_code == 400 and "驳回理由" in resp.get_data(as_text=True)
    ok = c.post(
        f"/checklists/entries/{entry.id}/verify",
        data={"decision": "rejected", "comment": "照片不清晰", "version": entry.version},
    )
    assert ok.status_code == 302
    assert c.post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version}).status_code == 403
    assert (
        as_user(w.u.trib2_head)
        .post(f"/checklists/entries/{entry.id}/claim", data={"version": entry.version})
        .status_code
        == 404
    )


def test_checklist_pages_show_compliance_and_hide_other_units(db, w, as_user):
    """trib1 sees its own checklist at 50 %, not trib2's (404); the list shows the percentages."""
    c = as_user(w.u.trib1_head)
    page = c.get(f"/checklists/{w.c1.id}").get_data(as_text=True)
    assert "50.0%" in page and 'data-testid="claim-form"' in page and 'data-testid="verify-form"' not in page
    assert c.get(f"/checklists/{w.c2.id}").status_code == 404
    listing = as_user(w.u.assigner).get("/checklists?family=test").get_data(as_text=True)
    assert listing.count("/checklists/") >= 3 and "50.0%" in listing and "0.0%" in listing
    assert as_user(w.u.trib1_head).get("/checklists").get_data(as_text=True).count("西山人民法庭") == 0


# ---------------------------------------------------------------- the wall


def _cells(html: str) -> dict[str, dict[str, str]]:
    """{unit name: {code: status}} from the matrix table."""
    out = {}
    for unit, body in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', html, re.S):
        out[unit] = dict(re.findall(r'data-code="([^"]+)" data-status="([^"]+)"', body))
    return out


def test_matrix_cells_rollup_and_filters(db, w, as_user):
    """inter1's wall: a row per tribunal with each cell's status; base1 rolls up to 25 %; filters narrow it."""
    c = as_user(w.u.assigner)
    html = c.get("/checklists/matrix").get_data(as_text=True)  # the only family is the default
    cells = _cells(html)
    assert cells["东山人民法庭"] == {"A-1": "verified", "A-2": "missing", "B-1": "verified", "B-2": "missing"}
    assert cells["西山人民法庭"]["A-1"] == "rejected" and set(cells) == {
        "东山人民法庭",
        "西山人民法庭",
        "南山人民法庭",
    }
    assert "✓" in html and "✗" in html and "○" in html
    rollup = html.split('data-testid="rollup-table"')[1].split("</table>")[0]
    assert re.search(r"甲一区人民法院.*?data-rate=\"25.0%\"", rollup, re.S)
    assert re.search(r"甲二区人民法院.*?data-rate=\"0.0%\"", rollup, re.S)
    narrow = c.get(f"/checklists/matrix?family=test&unit={w.t.base1.id}&section=二、审判专业化").get_data(
        as_text=True
    )
    cells = _cells(narrow)
    assert set(cells) == {"东山人民法庭", "西山人民法庭"} and set(cells["东山人民法庭"]) == {"B-1", "B-2"}
    assert c.get(f"/checklists/matrix?unit={w.t.base3.id}").status_code == 404


def test_matrix_export_opens_with_chinese_and_a_frozen_header(db, w, as_user):
    """The XLSX: a title row, same cells as the page, header (and unit column) frozen,
    widths set, Chinese intact, the compliance a number formatted as a percentage."""
    resp = as_user(w.u.assigner).get("/checklists/matrix.xlsx?family=test")
    assert resp.status_code == 200 and "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb["对标对表"]
    assert ws.freeze_panes == f"B{FIRST_DATA_ROW}"
    assert "对标对表" in ws["A1"].value and "截至" in ws["A1"].value
    header = [c.value for c in ws[HEADER_ROW]]
    assert header == ["单位", "所属", "版本", "达标率", "A-1", "A-2", "B-1", "B-2"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)}
    assert ws.cell(FIRST_DATA_ROW, 4).number_format == "0.0%"
    assert rows["东山人民法庭"][1:] == (
        "甲一区人民法院",
        "第1版",
        0.5,
        "✓ 已核验",
        "○ 未完成",
        "✓ 已核验",
        "○ 未完成",
    )
    assert rows["西山人民法庭"][4] == "✗ 已驳回"
    assert ws.column_dimensions["A"].width == 26
    assert [r for r in wb["汇总"].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)] == [
        ("甲一区人民法院", 2, 0.25),
        ("甲二区人民法院", 1, 0.0),
    ]
    assert wb["检查项"][f"C{FIRST_DATA_ROW}"].value == "功能区按标准设置"


def test_matrix_query_count_does_not_grow_with_units(db, w, as_user, count_queries):
    """The wall page sends the same number of statements for 3 tribunals as for 13."""
    c = as_user(w.u.assigner)
    with count_queries() as small:
        assert c.get("/checklists/matrix?family=test").status_code == 200
    extra = []
    for i in range(10):
        base = factories.unit(f"扩展{i}区人民法院", "base", w.t.inter1)
        extra.append(factories.unit(f"扩展{i}人民法庭", "tribunal", base))
    factories.apply_checklist(w.u.assigner, w.template, *extra, now=NOW)
    db.session.commit()
    with count_queries() as large:
        html = c.get("/checklists/matrix?family=test").get_data(as_text=True)
    assert len(_cells(html)) == 13
    assert len(large) == len(small), f"{len(small)} → {len(large)} statements"


# What the wall sends besides BEGIN: the session, the roles, the security settings, the
# standards with their sections, the visible units (scope check), the checklists, their
# entries, the tree — and the unread-notification badge (issue 11: ≤ 15 per page).
MATRIX_STATEMENTS = 9


def _version_2(db, w):
    """Version 2 of the test standard, with C-1 added to its second section, published."""
    from app.checklists import services as cs

    v2 = cs.new_version(w.u.reviewer, w.template, now=NOW)
    db.session.flush()
    cs.add_item(w.u.reviewer, v2, v2.sections[1], code="C-1", title="诉讼服务站点", weight=5, now=NOW)
    cs.publish_template(w.u.reviewer, v2, now=NOW)
    return v2


def test_matrix_statements_stay_fixed_with_versions_units_and_sections(db, w, as_user, count_queries):
    """3 tribunals on version 1 vs 13 tribunals, one of them re-applied on version 2
    (with an item more): the same statements, within the budget, with or without a
    section filter; the older version is marked on its row."""
    c = as_user(w.u.assigner)
    for path in ("/checklists/matrix?family=test", "/checklists/matrix?family=test&section=二、审判专业化"):
        with count_queries() as small:
            assert c.get(path).status_code == 200
        assert len(small) <= MATRIX_STATEMENTS, small
    extra = []
    for i in range(10):
        base = factories.unit(f"扩展{i}区人民法院", "base", w.t.inter1)
        extra.append(factories.unit(f"扩展{i}人民法庭", "tribunal", base))
    factories.apply_checklist(w.u.assigner, w.template, *extra, now=NOW)
    v2 = _version_2(db, w)
    factories.apply_checklist(w.u.assigner, v2, w.t.trib1, reapply=True, now=NOW)
    db.session.commit()
    for path in ("/checklists/matrix?family=test", "/checklists/matrix?family=test&section=二、审判专业化"):
        with count_queries() as large:
            html = c.get(path).get_data(as_text=True)
        assert len(large) == len(small), f"{path}: {len(small)} → {len(large)} statements"
    cells = _cells(html)
    assert len(cells) == 13 and cells["东山人民法庭"] == {
        "B-1": "verified",
        "B-2": "missing",
        "C-1": "missing",
    }
    assert cells["西山人民法庭"] == {"B-1": "missing", "B-2": "missing"}  # version 1 has no C-1…
    assert re.search(r'<tr data-unit="西山人民法庭">.*?data-code="C-1" title="该版本无此项"', html, re.S)
    assert re.search(r'<tr data-unit="西山人民法庭">.*?第1版', html, re.S)  # …and is marked as older
    assert not re.search(r'<tr data-unit="东山人民法庭">(?:(?!</tr>).)*第\d版', html, re.S)


def test_matrix_rate_counts_every_section_and_rolls_up(db, w, as_user):
    """A section filter narrows the cells, not the rate: 东山 stays at 50 % (A-1 2 + B-1 3
    of 10), and base1 rolls up its two tribunals (5 of 20) either way."""
    c = as_user(w.u.assigner)
    for path in ("/checklists/matrix?family=test", "/checklists/matrix?family=test&section=一、布局合理化"):
        html = c.get(path).get_data(as_text=True)
        row = re.search(r'<tr data-unit="东山人民法庭">(.*?)</tr>', html, re.S).group(1)
        assert '<td class="rate">50.0%</td>' in row
        rollup = html.split('data-testid="rollup-table"')[1].split("</table>")[0]
        assert re.search(r"甲一区人民法院.*?data-rate=\"25.0%\"", rollup, re.S)
        assert re.search(r"甲二区人民法院.*?data-rate=\"0.0%\"", rollup, re.S)
    assert set(_cells(html)["东山人民法庭"]) == {"A-1", "A-2"}


def test_standard_templates_show_on_the_pages(db, w, as_user):
    """After loading the shipped standards: they are listed, and the 五化 detail shows its five sections."""
    load_standard_templates(NOW)
    db.session.commit()
    c = as_user(w.u.trib1_head)
    page = c.get("/checklists/templates").get_data(as_text=True)
    assert "人民法庭“五化”建设标准" in page and "示范人民法庭标准" in page and "人民法庭建设三年规划" in page
    wuhua = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.family == "wuhua"))
    detail = c.get(f"/checklists/templates/{wuhua.id}").get_data(as_text=True)
    assert "五、解纷多元化" in detail and "WH-5.5" in detail and 'data-testid="item-form"' not in detail
