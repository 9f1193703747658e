"""Checklist services and reads: versioning, applying, claiming with evidence,
verification from above, weighted compliance and its roll-up, the matrix, and the
shipped standards."""

from __future__ import annotations

import io
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.attachments import Attachment
from app.checklists import queries, services
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate, TemplateItem
from app.checklists.standards import STANDARDS, load_standard_templates
from app.errors import ServiceError
from app.validation import Forbidden
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png() -> FileStorage:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 102, 74)).save(out, "PNG")
    out.seek(0)
    return FileStorage(stream=out, filename="现场照片.png", content_type="image/png")


def _entry(checklist, code) -> ChecklistEntry:
    from app.extensions import db

    return db.session.scalar(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == checklist.id, ChecklistEntry.code == code)
    )


@pytest.fixture
def w(db, tree):
    """inter1's assigner applies the published test standard to the three tribunals."""
    u = factories.task_users(tree)
    t = factories.checklist_template(u.reviewer, now=NOW)
    c1, c2, c3 = factories.apply_checklist(u.assigner, t, tree.trib1, tree.trib2, tree.trib3, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, template=t, c1=c1, c2=c2, c3=c3)


# ---------------------------------------------------------------- templates


def test_code_used_twice_is_refused_and_nothing_saved(db, tree):
    """A template whose item code repeats is refused with a clear message; the rollback leaves nothing."""
    sections = [{"title": "一", "items": [{"code": "X-1", "title": "甲"}, {"code": "X-1", "title": "乙"}]}]
    with pytest.raises(ServiceError, match="X-1"):
        factories.checklist_template(sections=sections, publish=False, now=NOW)
    db.session.rollback()
    assert _count(db, ChecklistTemplate) == 0 and _count(db, TemplateItem) == 0


def test_publish_needs_items_and_freezes_the_template(db, tree):
    """An empty draft cannot be published; a published one cannot be edited."""
    empty = factories.checklist_template(sections=[], publish=False, now=NOW)
    with pytest.raises(ServiceError, match="还没有检查项"):
        services.publish_template(None, empty, now=NOW)
    t = factories.checklist_template(family="other", now=NOW)
    assert t.status == "published" and t.published_at == NOW
    with pytest.raises(ServiceError, match="新建一个版本"):
        services.add_item(None, t, t.sections[0], code="A-9", title="新增", now=NOW)


def test_items_added_after_a_refused_publish_are_seen_by_the_next_publish(db, tree):
    """Same session: publish refused (no items), add an item, publish again — it now sees the item."""
    t = factories.checklist_template(sections=[{"title": "一", "items": []}], publish=False, now=NOW)
    with pytest.raises(ServiceError):
        services.publish_template(None, t, now=NOW)
    services.add_item(None, t, t.sections[0], code="A-1", title="检查项", now=NOW)
    services.add_section(None, t, title="二", now=NOW)
    assert services.publish_template(None, t, now=NOW).status == "published"
    assert [s.sort_order for s in t.sections] == [0, 1]


def test_only_admins_and_reviewers_manage_templates(db, tree):
    """An assigner may apply standards but not write them."""
    u = factories.task_users(tree)
    with pytest.raises(Forbidden):
        factories.checklist_template(u.assigner, now=NOW)
    assert factories.checklist_template(u.reviewer, now=NOW).created_by_id == u.reviewer.id


def test_new_version_copies_items_and_leaves_applied_checklists_alone(db, w):
    """Version 2 is a draft copy; changing and publishing it does not touch version 1's checklists."""
    v2 = services.new_version(w.u.reviewer, w.template, now=NOW)
    assert (v2.family, v2.version, v2.status) == ("test", 2, "draft")
    assert [i.code for i in v2.items] == ["A-1", "A-2", "B-1", "B-2"]
    assert [s.title for s in v2.sections] == ["一、布局合理化", "二、审判专业化"]
    services.add_item(w.u.reviewer, v2, v2.sections[1], code="B-3", title="新增检查项", weight=5, now=NOW)
    services.publish_template(w.u.reviewer, v2, now=NOW)
    db.session.commit()
    assert _count(db, ChecklistEntry, ChecklistEntry.checklist_id == w.c1.id) == 4
    assert w.c1.template_id == w.template.id and w.c1.is_current


# ---------------------------------------------------------------- applying


def test_apply_gives_each_unit_its_own_checklist(db, w):
    """Three tribunals, three checklists of four entries, snapshotting the template's items."""
    assert {c.unit_id for c in (w.c1, w.c2, w.c3)} == {w.t.trib1.id, w.t.trib2.id, w.t.trib3.id}
    assert _count(db, ChecklistEntry) == 12
    a1 = _entry(w.c1, "A-1")
    assert (a1.section, a1.weight, a1.evidence_required, a1.status) == ("一、布局合理化", 2, True, "missing")
    assert w.c1.applied_by_unit_id == w.t.inter1.id and w.c1.due == date(2026, 12, 31)


def test_item_due_offsets_are_counted_from_the_day_applied_and_capped_by_the_due(db, tree):
    """Offsets of 30 and 1095 days: the first stays, the second is capped at the checklist's due date."""
    u = factories.task_users(tree)
    sections = [
        {
            "title": "第一年 打基础",
            "items": [
                {"code": "Y-1", "title": "一个月", "due_offset_days": 30},
                {"code": "Y-3", "title": "三年", "due_offset_days": 1095},
            ],
        }
    ]
    t = factories.checklist_template(u.reviewer, sections=sections, now=NOW)
    (c,) = factories.apply_checklist(u.assigner, t, tree.trib1, due=date(2027, 6, 30), now=NOW)
    assert _entry(c, "Y-1").due == date(2026, 4, 1)
    assert _entry(c, "Y-3").due == date(2027, 6, 30)


def test_apply_is_refused_outside_the_subtree_and_for_drafts(db, tree):
    """inter1's assigner cannot apply to base3 (under inter2); a draft cannot be applied at all."""
    u = factories.task_users(tree)
    t = factories.checklist_template(u.reviewer, now=NOW)
    with pytest.raises(Forbidden):
        factories.apply_checklist(u.assigner, t, tree.trib1, tree.base3, now=NOW)
    db.session.rollback()
    assert _count(db, Checklist) == 0
    draft = factories.checklist_template(u.reviewer, family="draft", publish=False, now=NOW)
    with pytest.raises(ServiceError, match="已发布"):
        factories.apply_checklist(u.assigner, draft, tree.trib1, now=NOW)


def test_applying_again_needs_reapply_which_carries_verified_codes_over(db, w):
    """Without `reapply` a second application is refused; with it, version 2 replaces version 1
    and only the verified items whose code still exists come across."""
    factories.set_entry(w.c1, "A-1", "verified", by=w.u.assigner)
    factories.set_entry(w.c1, "B-1", "verified", by=w.u.assigner)
    factories.set_entry(w.c1, "B-2", "claimed")
    v2 = services.new_version(w.u.reviewer, w.template, now=NOW)
    db.session.flush()
    db.session.delete(next(i for i in v2.items if i.code == "B-1"))  # B-1 dropped from version 2
    services.publish_template(w.u.reviewer, v2, now=NOW)
    db.session.commit()
    with pytest.raises(ServiceError, match="重新应用"):
        factories.apply_checklist(w.u.assigner, v2, w.t.trib1, now=NOW)
    db.session.rollback()
    (new,) = factories.apply_checklist(w.u.assigner, v2, w.t.trib1, reapply=True, now=NOW)
    db.session.commit()
    statuses = {
        e.code: e.status
        for e in db.session.scalars(select(ChecklistEntry).where(ChecklistEntry.checklist_id == new.id))
    }
    assert statuses == {"A-1": "verified", "A-2": "missing", "B-2": "missing"}
    assert _entry(new, "A-1").verified_by_id == w.u.assigner.id
    db.session.refresh(w.c1)
    assert not w.c1.is_current and new.is_current
    assert _entry(w.c1, "B-1").status == "verified"  # the old checklist is kept as it was


# ---------------------------------------------------------------- claiming and verifying


def test_claim_without_required_evidence_is_refused_and_nothing_saved(db, w):
    """A-1 needs evidence: a claim without a file is refused; with a photo it is claimed."""
    entry = _entry(w.c1, "A-1")
    with pytest.raises(ServiceError, match="佐证材料"):
        services.claim_entry(
            w.u.trib1_head, entry, expected_version=entry.version, comment="已完成", files=[], now=NOW
        )
    db.session.rollback()
    assert _entry(w.c1, "A-1").status == "missing" and _count(db, Attachment) == 0
    services.claim_entry(
        w.u.trib1_head, entry, expected_version=entry.version, comment="已完成", files=[_png()], now=NOW
    )
    db.session.commit()
    assert (entry.status, entry.claimed_by_id, entry.comment) == ("claimed", w.u.trib1_head.id, "已完成")
    att = db.session.scalar(select(Attachment))
    assert (att.owner_type, att.owner_id, att.unit_id, att.has_thumbnail) == (
        "ChecklistEntry",
        entry.id,
        w.t.trib1.id,
        True,
    )


def test_claim_without_evidence_where_none_is_required(db, w):
    """A-2 needs no evidence: a comment alone claims it."""
    entry = services.claim_entry(
        w.u.trib1_head,
        _entry(w.c1, "A-2"),
        expected_version=_entry(w.c1, "A-2").version,
        comment=None,
        files=[],
        now=NOW,
    )
    assert entry.status == "claimed"


def test_only_the_unit_itself_claims(db, w):
    """The sibling tribunal's head and the reviewer above cannot claim trib1's entry."""
    for user in (w.u.trib2_head, w.u.assigner):
        with pytest.raises(Forbidden):
            services.claim_entry(
                user,
                _entry(w.c1, "A-2"),
                expected_version=_entry(w.c1, "A-2").version,
                comment=None,
                files=[],
                now=NOW,
            )


def test_verify_and_reject_from_above(db, w):
    """inter1's assigner verifies; base1's coordinator rejects with a reason; a reason is required."""
    a2 = services.claim_entry(
        w.u.trib1_head,
        _entry(w.c1, "A-2"),
        expected_version=_entry(w.c1, "A-2").version,
        comment=None,
        files=[],
        now=NOW,
    )
    services.verify_entry(
        w.u.assigner, a2, expected_version=a2.version, decision="verified", comment=None, now=NOW
    )
    assert (a2.status, a2.verified_by_id) == ("verified", w.u.assigner.id)
    b1 = services.claim_entry(
        w.u.trib1_head,
        _entry(w.c1, "B-1"),
        expected_version=_entry(w.c1, "B-1").version,
        comment=None,
        files=[],
        now=NOW,
    )
    with pytest.raises(ServiceError, match="驳回理由"):
        services.verify_entry(
            w.u.base1_coord, b1, expected_version=b1.version, decision="rejected", comment="", now=NOW
        )
    services.verify_entry(
        w.u.base1_coord, b1, expected_version=b1.version, decision="rejected", comment="缺少人员名册", now=NOW
    )
    assert (b1.status, b1.comment) == ("rejected", "缺少人员名册")


def test_verify_is_refused_to_the_unit_itself_and_to_siblings(db, w):
    """trib1's head (the unit itself) and base2's coordinator (beside it) cannot verify; an unclaimed item neither."""
    entry = services.claim_entry(
        w.u.trib1_head,
        _entry(w.c1, "A-2"),
        expected_version=_entry(w.c1, "A-2").version,
        comment=None,
        files=[],
        now=NOW,
    )
    for user in (w.u.trib1_head, w.u.base2_coord, w.u.inter2_assigner):
        with pytest.raises(Forbidden):
            services.verify_entry(
                user, entry, expected_version=entry.version, decision="verified", comment=None, now=NOW
            )
    with pytest.raises(Forbidden):
        services.verify_entry(
            w.u.assigner,
            _entry(w.c1, "B-1"),
            expected_version=_entry(w.c1, "B-1").version,
            decision="verified",
            comment=None,
            now=NOW,
        )


# ---------------------------------------------------------------- compliance, roll-up, matrix


@pytest.fixture
def scored(db, w):
    """trib1: A-1 (2) and B-1 (3) verified, B-2 (4) only claimed → 5/10.
    trib2: B-2 (4) verified, A-1 rejected → 4/10. trib3: nothing → 0."""
    factories.set_entry(w.c1, "A-1", "verified")
    factories.set_entry(w.c1, "B-1", "verified")
    factories.set_entry(w.c1, "B-2", "claimed")
    factories.set_entry(w.c2, "B-2", "verified")
    factories.set_entry(w.c2, "A-1", "rejected")
    db.session.commit()
    return w


def test_compliance_is_weighted_over_verified_items_only(db, scored):
    """Claimed and rejected items count for nothing; weights do."""
    w = scored
    assert queries.compliance_by_checklist([w.c1.id, w.c2.id, w.c3.id]) == {
        w.c1.id: 0.5,
        w.c2.id: 0.4,
        w.c3.id: 0.0,
    }


def test_rollup_per_child_unit_sums_weights_over_the_subtree(db, scored):
    """Under inter1: base1 = (5+4)/20 = 45 %, base2 = 0 %. Under the high court: inter1 = 9/30, inter2 none."""
    w = scored
    rows = {r.unit.id: (r.checklists, r.compliance) for r in queries.rollup(w.u.assigner, w.t.inter1, "test")}
    assert rows == {w.t.base1.id: (2, 0.45), w.t.base2.id: (1, 0.0)}
    rows = {r.unit.id: (r.checklists, r.compliance) for r in queries.rollup(w.u.reviewer, w.t.high, "test")}
    assert rows == {w.t.inter1.id: (3, 0.3), w.t.inter2.id: (0, None)}


def test_matrix_cells_and_filters(db, scored):
    """Units × codes with each cell's status; a subtree filter and a section filter narrow it."""
    w = scored
    m = queries.matrix(w.u.assigner, "test")
    cells = {u.name: {code: e.status for code, e in entries.items()} for u, _c, entries, _r in m.rows}
    assert cells["东山人民法庭"] == {"A-1": "verified", "A-2": "missing", "B-1": "verified", "B-2": "claimed"}
    assert cells["西山人民法庭"]["A-1"] == "rejected"
    assert [c[0] for c in m.columns] == ["A-1", "A-2", "B-1", "B-2"]
    narrow = queries.matrix(w.u.assigner, "test", root_id=w.t.base1.id, section="二、审判专业化")
    assert {u.name for u, *_ in narrow.rows} == {"东山人民法庭", "西山人民法庭"}
    assert [c[0] for c in narrow.columns] == ["B-1", "B-2"]
    assert queries.matrix(w.u.trib2_head, "test").rows[0][0].name == "西山人民法庭"  # own unit only


# ---------------------------------------------------------------- the shipped standards


def test_standard_templates_load_once_and_are_published(db):
    """Three published standards the first time, none the second; codes unique, milestones by year."""
    assert load_standard_templates(NOW) == 3
    db.session.commit()
    assert load_standard_templates(NOW) == 0
    templates = list(db.session.scalars(select(ChecklistTemplate).order_by(ChecklistTemplate.id)))
    assert [(t.name, t.version, t.status) for t in templates] == [
        ("人民法庭“五化”建设标准", 1, "published"),
        ("示范人民法庭标准", 1, "published"),
        ("人民法庭建设三年规划", 1, "published"),
    ]
    wuhua, shifan, plan = templates
    assert [s.title for s in wuhua.sections] == [
        "一、布局合理化",
        "二、审判专业化",
        "三、管理精细化",
        "四、保障标准化",
        "五、解纷多元化",
    ]
    assert min(len([i for i in wuhua.items if i.section_id == s.id]) for s in wuhua.sections) >= 4
    assert len(shifan.items) == 12
    assert {
        s.title: {i.due_offset_days for i in plan.items if i.section_id == s.id} for s in plan.sections
    } == {"第一年 打基础": {365}, "第二年 上台阶": {730}, "第三年 创一流": {1095}}
    assert any(i.evidence_required for i in wuhua.items) and not all(i.evidence_required for i in wuhua.items)
    for standard in STANDARDS:
        codes = [i["code"] for s in standard["sections"] for i in s["items"]]
        assert len(codes) == len(set(codes))


def test_standard_templates_leave_an_existing_family_alone(db):
    """A family already present (say, edited into version 2) is not loaded again."""
    factories.checklist_template(family="wuhua", name="本省五化标准", now=NOW)
    assert load_standard_templates(NOW) == 2
    assert _count(db, ChecklistTemplate, ChecklistTemplate.family == "wuhua") == 1
