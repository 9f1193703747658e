"""Item and assignment pages: bad input refused with nothing saved, the status machine's
403/404 over HTTP, evidence files and who may fetch them, list filters with frozen
time, and the query counts of the hot lists."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.attachments import Attachment
from app.tasks import services
from app.tasks.models import Assignment, Category, ExtensionRequest, ProgressReport, Task
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _png(size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _ids(html: str) -> set[int]:
    """Assignment ids listed on /assignments (one checkbox per row)."""
    return {int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)}


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
    """inter1's assigner has one item (due 2026-06-30) assigned to base1 and base2."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    a1, a2 = factories.assign(u.assigner, t, tree.base1, tree.base2, now=NOW)
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, p=p, task=t, a=a1, a2=a2)


def _task_form(**over) -> dict:
    data = {
        "title": "调整人民法庭布局",
        "priority": "normal",
        "deadline_kind": "date",
        "deadline": "2026-09-30",
        "category_id": "0",
        "recurrence": "",
        "report_every": "",
    }
    data.update(over)
    return data


@pytest.fixture
def march2():
    with time_machine.travel(NOW.replace(tzinfo=ZoneInfo("UTC")), tick=False):
        yield


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("percent", ["130", "-1"])
def test_percent_130_is_400_and_nothing_saved(db, w, as_user, percent):
    """A report with 130 % (or -1) is refused with 400; no report, status unchanged."""
    c = as_user(w.u.base1_staff)
    resp = c.post(
        f"/assignments/{w.a.id}/report", data={"version": w.a.version, "text": "进展", "percent": percent}
    )
    assert resp.status_code == 400
    assert "完成百分比须在 0 到 100 之间" in resp.get_data(as_text=True)
    assert _count(db, ProgressReport) == 0
    assert db.session.get(Assignment, w.a.id).status == "pending"


def test_malformed_numbers_and_dates_get_chinese_messages(db, w, as_user, march2):
    """A percent of "七十" or a date "2026-13-45" is refused (400, nothing saved) with a Chinese message."""
    c = as_user(w.u.base1_staff)
    resp = c.post(
        f"/assignments/{w.a.id}/report", data={"version": w.a.version, "text": "进展", "percent": "七十"}
    )
    assert resp.status_code == 400
    assert _count(db, ProgressReport) == 0
    resp2 = c.post(
        f"/assignments/{w.a.id}/extension",
        data={"version": w.a.version, "new_deadline": "2026-13-45", "reason": "理由"},
    )
    assert resp2.status_code == 400
    assert _count(db, ExtensionRequest) == 0
    html = resp.get_data(as_text=True) + resp2.get_data(as_text=True)
    assert "Not a valid" not in html
    assert "不是有效的整数" in html


def test_disguised_upload_is_400_and_nothing_saved(db, w, as_user, app):
    """An .exe named photo.jpg is refused by content: 400, no report, no attachment, no file on disk."""
    c = as_user(w.u.base1_staff)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
    resp = c.post(
        f"/assignments/{w.a.id}/report",
        data={
            "version": w.a.version,
            "text": "见照片",
            "percent": "50",
            "files": [(io.BytesIO(exe), "photo.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert "photo.jpg" in resp.get_data(as_text=True)
    assert _count(db, ProgressReport) == 0
    assert _count(db, Attachment) == 0
    folder = Path(app.config["UPLOAD_DIR"])
    assert not folder.exists() or not any(folder.iterdir())
    a = db.session.get(Assignment, w.a.id)
    assert (a.status, a.progress) == ("pending", 0)


def test_one_bad_file_among_good_ones_saves_none(db, w, as_user, app):
    """A good photo plus a disguised file: the whole report is refused and no file is stored."""
    c = as_user(w.u.base1_staff)
    resp = c.post(
        f"/assignments/{w.a.id}/report",
        data={
            "version": w.a.version,
            "text": "见附件",
            "files": [(io.BytesIO(_png()), "ok.png"), (io.BytesIO(b"MZ" + b"\0" * 64), "x.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert _count(db, Attachment) == 0 and _count(db, ProgressReport) == 0
    folder = Path(app.config["UPLOAD_DIR"])
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(("files", "message"), [(1, "是空的"), (11, "最多上传 10 个文件")])
def test_empty_file_or_too_many_files_is_400(db, w, as_user, files, message):
    """An empty file, or eleven photos at once, is refused and nothing is saved."""
    c = as_user(w.u.base1_staff)
    uploads = (
        [(io.BytesIO(b""), "空.jpg")]
        if files == 1
        else [(io.BytesIO(_png((20, 20))), f"{i}.png") for i in range(11)]
    )
    resp = c.post(
        f"/assignments/{w.a.id}/report",
        data={"version": w.a.version, "text": "见附件", "files": uploads},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(db, Attachment) == 0 and _count(db, ProgressReport) == 0


def test_file_over_10_mb_is_400(db, w, as_user):
    """A real JPEG header padded past 10 MB is refused with the size message."""
    c = as_user(w.u.base1_staff)
    big = b"\xff\xd8\xff\xe0" + b"\0" * (10 * 1024 * 1024)
    # Encoded in memory: the test client would otherwise spool the body to a temp file it never closes.
    boundary, body = encode_multipart(
        {
            "version": str(w.a.version),
            "text": "见照片",
            "files": FileStorage(io.BytesIO(big), filename="big.jpg", content_type="image/jpeg"),
        }
    )
    resp = c.post(
        f"/assignments/{w.a.id}/report", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert resp.status_code == 400
    assert "10 MB" in resp.get_data(as_text=True)
    assert _count(db, ProgressReport) == 0 and _count(db, Attachment) == 0


def test_deadline_before_project_start_is_400(db, w, as_user):
    """Adding an item due before the project's start is refused with 400 and no item."""
    c = as_user(w.u.assigner)
    before = _count(db, Task)
    resp = c.post(f"/projects/{w.p.id}/tasks/new", data=_task_form(deadline="2025-12-01"))
    assert resp.status_code == 400
    assert "早于项目开始日期" in resp.get_data(as_text=True)
    assert _count(db, Task) == before


def test_valid_new_item_is_created_and_assigned(db, w, as_user):
    """The same form with a good deadline and two subordinate units creates and assigns the item."""
    c = as_user(w.u.assigner)
    resp = c.post(
        f"/projects/{w.p.id}/tasks/new",
        data=_task_form(unit_ids=[str(w.t.base1.id), str(w.t.trib3.id)]),
    )
    assert resp.status_code == 302
    task = db.session.scalars(select(Task).where(Task.title == "调整人民法庭布局")).one()
    units = set(db.session.scalars(select(Assignment.unit_id).where(Assignment.task_id == task.id)))
    assert units == {w.t.base1.id, w.t.trib3.id}


@pytest.mark.parametrize("unit", ["base3", "inter2", "inter1"])
def test_assigning_outside_the_subtree_is_refused(db, w, as_user, unit):
    """Assigning to inter2's court, to inter2 itself, or to one's own unit: 400 and no assignment."""
    c = as_user(w.u.assigner)
    target = getattr(w.t, unit)
    before = _count(db, Assignment)
    resp = c.post(
        f"/tasks/{w.task.id}/assign", data={"version": w.task.version, "unit_ids": [str(target.id)]}
    )
    assert resp.status_code in (400, 404)
    assert _count(db, Assignment) == before
    assert _count(db, Assignment, Assignment.unit_id == target.id) == 0
    # The same through the new-item form: nothing created at all.
    tasks = _count(db, Task)
    resp = c.post(f"/projects/{w.p.id}/tasks/new", data=_task_form(unit_ids=[str(target.id)]))
    assert resp.status_code in (400, 404)
    assert _count(db, Task) == tasks and _count(db, Assignment) == before


def test_other_intermediate_court_cannot_assign_the_item(db, w, as_user):
    """inter2's assigner doesn't see inter1's item: 404, no assignment."""
    c = as_user(w.u.inter2_assigner)
    resp = c.post(
        f"/tasks/{w.task.id}/assign", data={"version": w.task.version, "unit_ids": [str(w.t.base3.id)]}
    )
    assert resp.status_code == 404
    assert _count(db, Assignment, Assignment.unit_id == w.t.base3.id) == 0


def test_stale_version_on_task_edit_is_409(db, w, as_user):
    """Two editors load version v; the first saves; the second gets 409 and the first edit stays."""
    c = as_user(w.u.assigner)
    page = c.get(f"/tasks/{w.task.id}/edit").get_data(as_text=True)
    found = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert found, "the edit form carries the item's version"
    v = found.group(1)
    assert v == str(w.task.version)
    ok = c.post(
        f"/tasks/{w.task.id}/edit", data=_task_form(title="第一次修改", deadline="2026-06-30", version=v)
    )
    assert ok.status_code == 302
    stale = c.post(
        f"/tasks/{w.task.id}/edit", data=_task_form(title="第二次修改", deadline="2026-06-30", version=v)
    )
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Task, w.task.id).title == "第一次修改"


# ---------------------------------------------------------------- the status machine over HTTP


def test_lifecycle_over_http(db, w, as_user):
    """签收, submit, return, resubmit, approve through the pages; disallowed steps are 403 / 400."""
    staff, assigner = as_user(w.u.base1_staff), as_user(w.u.assigner)
    url = f"/assignments/{w.a.id}"
    assert staff.post(url + "/acknowledge", data={"version": w.a.version}).status_code == 302
    assert staff.post(url + "/acknowledge", data={"version": w.a.version}).status_code == 403
    assert (
        assigner.post(url + "/review", data={"version": w.a.version, "decision": "approve"}).status_code
        == 403
    )  # not submitted
    assert (
        staff.post(
            url + "/report",
            data={"version": w.a.version, "text": "已完成", "percent": "100", "submit_for_review": "y"},
        ).status_code
        == 302
    )
    assert (
        as_user(w.u.inter1_staff)
        .post(url + "/review", data={"version": w.a.version, "decision": "approve"})
        .status_code
        == 403
    )
    assert (
        staff.post(url + "/review", data={"version": w.a.version, "decision": "approve"}).status_code == 403
    )  # the receiver
    resp = assigner.post(url + "/review", data={"version": w.a.version, "decision": "return", "comment": ""})
    assert resp.status_code == 400
    assert db.session.get(Assignment, w.a.id).status == "submitted"
    assert (
        assigner.post(
            url + "/review", data={"version": w.a.version, "decision": "return", "comment": "补充照片"}
        ).status_code
        == 302
    )
    assert (
        staff.post(
            url + "/report", data={"version": w.a.version, "text": "已补充", "submit_for_review": "y"}
        ).status_code
        == 302
    )
    assert (
        assigner.post(url + "/review", data={"version": w.a.version, "decision": "approve"}).status_code
        == 302
    )
    a = db.session.get(Assignment, w.a.id)
    assert (a.status, a.progress) == ("closed", 100)
    assert staff.post(url + "/report", data={"version": w.a.version, "text": "补充"}).status_code == 403


def test_split_over_http_and_sibling_tribunal_is_404(db, w, as_user):
    """base1's coordinator splits to trib1/trib2; trib2's head gets 404 on trib1's child, trib1's head can report."""
    coord = as_user(w.u.base1_coord)
    resp = coord.post(
        f"/assignments/{w.a.id}/split",
        data={"version": w.a.version, "unit_ids": [str(w.t.trib1.id), str(w.t.trib2.id)]},
    )
    assert resp.status_code == 302
    c1 = db.session.scalars(
        select(Assignment).where(Assignment.parent_id == w.a.id, Assignment.unit_id == w.t.trib1.id)
    ).one()
    trib2 = as_user(w.u.trib2_head)
    assert trib2.get(f"/assignments/{c1.id}").status_code == 404
    assert (
        trib2.post(
            f"/assignments/{c1.id}/report", data={"version": c1.version, "text": "越权", "percent": "50"}
        ).status_code
        == 404
    )
    assert trib2.post(f"/assignments/{c1.id}/acknowledge", data={"version": c1.version}).status_code == 404
    assert _count(db, ProgressReport) == 0
    trib1 = as_user(w.u.trib1_head)
    assert (
        trib1.post(
            f"/assignments/{c1.id}/report", data={"version": c1.version, "text": "已开展", "percent": "50"}
        ).status_code
        == 302
    )
    assert db.session.get(Assignment, w.a.id).progress == 25
    # A split to a unit outside base1 is refused.
    resp = coord.post(
        f"/assignments/{w.a.id}/split", data={"version": w.a.version, "unit_ids": [str(w.t.trib3.id)]}
    )
    assert resp.status_code == 400
    assert _count(db, Assignment, Assignment.unit_id == w.t.trib3.id) == 0


def test_extension_over_http(db, w, as_user, march2):
    """Request (400 for an earlier date), refuse without a comment (400, still pending), then grant."""
    staff, assigner = as_user(w.u.base1_staff), as_user(w.u.assigner)
    url = f"/assignments/{w.a.id}/extension"
    assert (
        staff.post(
            url, data={"version": w.a.version, "new_deadline": "2026-06-01", "reason": "理由"}
        ).status_code
        == 400
    )
    assert _count(db, ExtensionRequest) == 0
    assert (
        staff.post(
            url, data={"version": w.a.version, "new_deadline": "2026-07-31", "reason": "需省院审批"}
        ).status_code
        == 302
    )
    assert (
        staff.post(
            url, data={"version": w.a.version, "new_deadline": "2026-08-31", "reason": "再申请"}
        ).status_code
        == 400
    )
    req = db.session.scalars(select(ExtensionRequest)).one()
    assert (
        assigner.post(
            f"/extensions/{req.id}/decide", data={"version": w.a.version, "decision": "refuse", "comment": ""}
        ).status_code
        == 400
    )
    db.session.expire_all()
    assert db.session.get(ExtensionRequest, req.id).status == "pending"
    assert (
        staff.post(
            f"/extensions/{req.id}/decide", data={"version": w.a.version, "decision": "grant"}
        ).status_code
        == 403
    )
    assert (
        assigner.post(
            f"/extensions/{req.id}/decide", data={"version": w.a.version, "decision": "grant"}
        ).status_code
        == 302
    )
    a = db.session.get(Assignment, w.a.id)
    assert (a.deadline, a.original_deadline) == (date(2026, 7, 31), date(2026, 6, 30))
    assert "原 2026-06-30" in staff.get(f"/assignments/{w.a.id}").get_data(as_text=True)


# ---------------------------------------------------------------- evidence files


def test_image_upload_gets_a_thumbnail_and_is_served_to_both_sides_only(db, w, as_user):
    """A PNG becomes an attachment with a JPEG thumbnail; base1's and inter1's users fetch it, base2/inter2 get 404."""
    staff = as_user(w.u.base1_staff)
    png = _png()
    resp = staff.post(
        f"/assignments/{w.a.id}/report",
        data={"version": w.a.version, "text": "现场照片", "files": [(io.BytesIO(png), "现场.png")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    att = db.session.scalars(select(Attachment)).one()
    report = db.session.scalars(select(ProgressReport)).one()
    assert (att.owner_type, att.owner_id, att.unit_id) == ("ProgressReport", report.id, w.t.base1.id)
    assert (att.content_type, att.size, att.original_name, att.has_thumbnail) == (
        "image/png",
        len(png),
        "现场.png",
        True,
    )

    for who in (w.u.base1_staff, w.u.base1_coord, w.u.assigner, w.u.reviewer):
        c = as_user(who)
        got = c.get(f"/attachments/{att.id}")
        assert got.status_code == 200, who.username
        assert got.mimetype == "image/png" and got.data == png
        thumb = c.get(f"/attachments/{att.id}?thumb=1")
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(thumb.data)) as img:
            assert img.format == "JPEG" and max(img.size) == 320
        got.close()
        thumb.close()
    for who in (w.u.base2_coord, w.u.inter2_assigner, w.u.trib1_head):
        c = as_user(who)
        assert c.get(f"/attachments/{att.id}").status_code == 404, who.username
        assert c.get(f"/attachments/{att.id}?thumb=1").status_code == 404, who.username


def test_split_child_attachment_hidden_from_sibling_tribunal(db, w, as_user):
    """trib1's evidence on its split item: trib1, base1 and inter1 fetch it; trib2 gets 404."""
    services.split_assignment(
        w.u.base1_coord, w.a, [w.t.trib1, w.t.trib2], expected_version=w.a.version, now=NOW
    )
    db.session.commit()
    c1 = db.session.scalars(select(Assignment).where(Assignment.unit_id == w.t.trib1.id)).one()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    resp = as_user(w.u.trib1_head).post(
        f"/assignments/{c1.id}/report",
        data={"version": c1.version, "text": "整改报告", "files": [(io.BytesIO(pdf), "整改报告.pdf")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    att = db.session.scalars(select(Attachment)).one()
    assert (att.content_type, att.has_thumbnail) == ("application/pdf", False)
    for who in (w.u.trib1_head, w.u.base1_coord, w.u.assigner):
        got = as_user(who).get(f"/attachments/{att.id}")
        assert got.status_code == 200 and got.data == pdf, who.username
        got.close()
    assert as_user(w.u.trib2_head).get(f"/attachments/{att.id}").status_code == 404
    assert as_user(w.u.trib1_head).get(f"/attachments/{att.id}?thumb=1").status_code == 404  # no thumbnail


def test_step_evidence_follows_the_assignment(db, w, as_user):
    """A photo attached when ticking a checklist item: base1 and inter1 fetch it, base2 gets 404; progress 100 %."""
    step = services.add_step(
        w.u.base1_staff,
        w.a,
        expected_version=w.a.version,
        kind="check",
        title="配齐法庭庭长",
        due=None,
        now=NOW,
    )
    db.session.commit()
    resp = as_user(w.u.base1_staff).post(
        f"/steps/{step.id}/toggle",
        data={"version": w.a.version, "done": "1", "files": [(io.BytesIO(_png((40, 30))), "任命文件.png")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    att = db.session.scalars(select(Attachment)).one()
    assert (att.owner_type, att.owner_id) == ("AssignmentStep", step.id)
    assert db.session.get(Assignment, w.a.id).progress == 100
    for who in (w.u.base1_coord, w.u.assigner):
        got = as_user(who).get(f"/attachments/{att.id}")
        assert got.status_code == 200, who.username
        got.close()
    assert as_user(w.u.base2_coord).get(f"/attachments/{att.id}").status_code == 404
    assert (
        as_user(w.u.base2_coord)
        .post(f"/steps/{step.id}/toggle", data={"version": w.a.version, "done": "0"})
        .status_code
        == 404
    )


# ---------------------------------------------------------------- lists


@pytest.fixture
def listed(db, tree):
    """Rows with known due states on 2026-06-25 (Shanghai): overdue, due soon, later, closed; two projects,
    a category, a tribunal; and inter2's own row."""
    u = factories.task_users(tree)
    p1 = factories.project(u.assigner, now=NOW)
    p2 = factories.project(u.assigner, name="多元解纷专项", now=NOW)
    # Seeded by the migration on SQLite; PostgreSQL tests start from truncated tables.
    court = db.session.scalars(select(Category).where(Category.name == "法庭建设")).first()
    if court is None:
        court = services.add_category(u.reviewer, "法庭建设", now=NOW)
    over = factories.task(u.assigner, p1, title="选配人民法庭庭长", deadline=date(2026, 6, 20), now=NOW)
    soon = factories.task(u.assigner, p1, title="法庭制度建设", deadline=date(2026, 6, 30), now=NOW)
    later = factories.task(
        u.assigner, p1, title="调整人民法庭布局", deadline=date(2026, 9, 30), category=court, now=NOW
    )
    done = factories.task(u.assigner, p1, title="组织系统培训", deadline=date(2026, 6, 10), now=NOW)
    mediate = factories.task(u.assigner, p2, title="建设诉前调解示范点", deadline=date(2026, 12, 31), now=NOW)
    r = SimpleNamespace(u=u, t=tree, p1=p1, p2=p2, court=court)
    (r.over_b1,) = factories.assign(u.assigner, over, tree.base1, now=NOW)
    (r.soon_b2,) = factories.assign(u.assigner, soon, tree.base2, now=NOW)
    r.later_b1, r.later_t1 = factories.assign(u.assigner, later, tree.base1, tree.trib1, now=NOW)
    (r.done_b1,) = factories.assign(u.assigner, done, tree.base1, now=NOW)
    (r.mediate_t3,) = factories.assign(u.assigner, mediate, tree.trib3, now=NOW)
    services.add_report(
        u.base1_staff,
        r.done_b1,
        expected_version=r.done_b1.version,
        text="完成",
        percent=None,
        files=[],
        submit=True,
        now=NOW,
    )
    services.review(
        u.assigner, r.done_b1, expected_version=r.done_b1.version, decision="approve", comment=None, now=NOW
    )
    # inter2's own project and row, with a deadline that is also overdue.
    p3 = factories.project(u.inter2_assigner, name="乙市专项", now=NOW)
    other = factories.task(
        u.inter2_assigner, p3, title="选配人民法庭庭长（乙市）", deadline=date(2026, 6, 1), now=NOW
    )
    (r.inter2_b3,) = factories.assign(u.inter2_assigner, other, tree.base3, now=NOW)
    r.p3 = p3
    db.session.commit()
    return r


@pytest.fixture
def june25():
    with time_machine.travel(datetime(2026, 6, 25, 9, 0, tzinfo=SH), tick=False):
        yield


def test_list_filters(db, listed, as_user, june25):
    """status=overdue/due_soon (derived on 2026-06-25), project, unit subtree, q and category pick the right rows."""
    r = listed
    c = as_user(r.u.assigner)
    mine = {r.over_b1.id, r.soon_b2.id, r.later_b1.id, r.later_t1.id, r.done_b1.id, r.mediate_t3.id}

    def rows(query: str = "") -> set[int]:
        resp = c.get("/assignments" + query)
        assert resp.status_code == 200
        return _ids(resp.get_data(as_text=True))

    assert rows() == mine - {r.done_b1.id}  # the list opens on the open items (issue 12)
    assert rows("?status=all") == mine
    assert rows("?status=overdue") == {r.over_b1.id}
    assert rows("?status=due_soon") == {r.soon_b2.id}
    assert rows("?status=open") == mine - {r.done_b1.id}
    assert rows("?status=closed") == {r.done_b1.id}
    assert rows(f"?project={r.p2.id}") == {r.mediate_t3.id}
    assert rows(f"?project={r.p1.id}&status=overdue") == {r.over_b1.id}
    assert rows(f"?unit={r.t.base1.id}") == {r.over_b1.id, r.later_b1.id, r.later_t1.id, r.done_b1.id}
    assert rows(f"?unit={r.t.trib1.id}") == {r.later_t1.id}
    assert rows(f"?unit={r.t.base2.id}") == {r.soon_b2.id, r.mediate_t3.id}
    assert rows("?q=示范") == {r.mediate_t3.id}
    assert rows("?q=东山") == {r.later_t1.id}  # a unit name
    assert rows(f"?category={r.court.id}") == {r.later_b1.id, r.later_t1.id}
    assert rows(f"?category={r.court.id}&unit={r.t.trib1.id}") == {r.later_t1.id}
    # Somebody else's project or unit in the URL shows nothing of theirs.
    assert rows(f"?project={r.p3.id}") == set()
    assert rows(f"?unit={r.t.base3.id}") == set()


def test_overdue_flips_at_shanghai_midnight(db, listed, as_user):
    """The row due 2026-06-30 is due soon at 23:59 on 06-30 Shanghai and overdue at 00:00 on 07-01."""
    with time_machine.travel(datetime(2026, 6, 30, 23, 59, tzinfo=SH), tick=False):
        c = as_user(listed.u.assigner)
        assert listed.soon_b2.id in _ids(c.get("/assignments?status=due_soon").get_data(as_text=True))
        assert listed.soon_b2.id not in _ids(c.get("/assignments?status=overdue").get_data(as_text=True))
    with time_machine.travel(datetime(2026, 7, 1, 0, 0, tzinfo=SH), tick=False):
        c = as_user(listed.u.assigner)
        assert listed.soon_b2.id in _ids(c.get("/assignments?status=overdue").get_data(as_text=True))
        assert listed.soon_b2.id not in _ids(c.get("/assignments?status=due_soon").get_data(as_text=True))


def test_other_intermediate_court_never_sees_inter1_rows(db, listed, as_user, june25):
    """inter2's assigner sees only inter2's row, whatever the filters; inter1's rows are 404 to open."""
    c = as_user(listed.u.inter2_assigner)
    for query in ("", "?status=overdue", f"?project={listed.p1.id}", f"?unit={listed.t.base1.id}", "?q=选配"):
        ids = _ids(c.get("/assignments" + query).get_data(as_text=True))
        assert ids <= {listed.inter2_b3.id}, query
    assert _ids(c.get("/assignments").get_data(as_text=True)) == {listed.inter2_b3.id}
    assert c.get(f"/assignments/{listed.over_b1.id}").status_code == 404
    html = c.get("/my").get_data(as_text=True)
    assert "法庭制度建设" not in html and "调整人民法庭布局" not in html
    # And the other way round.
    c1 = as_user(listed.u.assigner)
    assert listed.inter2_b3.id not in _ids(c1.get("/assignments?q=乙市").get_data(as_text=True))
    assert c1.get(f"/assignments/{listed.inter2_b3.id}").status_code == 404


def test_tribunal_sees_only_its_own_rows(db, listed, as_user, june25):
    """trib1's head sees its one row, not base1's."""
    c = as_user(listed.u.trib1_head)
    assert _ids(c.get("/assignments").get_data(as_text=True)) == {listed.later_t1.id}


def test_search_text_is_literal(db, listed, as_user, june25):
    """Searching for "%" finds only the title containing "%"; "_" finds nothing (no title has one)."""
    t = factories.task(
        listed.u.assigner, listed.p1, title="结案率达到100%", deadline=date(2026, 12, 31), now=NOW
    )
    (a,) = factories.assign(listed.u.assigner, t, listed.t.base1, now=NOW)
    db.session.commit()
    c = as_user(listed.u.assigner)
    assert a.id in _ids(c.get("/assignments?q=100").get_data(as_text=True))
    assert _ids(c.get("/assignments?q=%25").get_data(as_text=True)) == {a.id}
    assert _ids(c.get("/assignments?q=_").get_data(as_text=True)) == set()


def test_my_work_sections(db, listed, as_user, june25):
    """base1's /my shows the overdue row under 逾期 and nothing of base2; inter1's /my has nothing to review yet."""
    html = as_user(listed.u.base1_staff).get("/my").get_data(as_text=True)
    overdue = html.split('data-testid="overdue"')[1].split('data-testid="due-soon"')[0]
    assert f"/assignments/{listed.over_b1.id}" in overdue
    assert f"/assignments/{listed.soon_b2.id}" not in html
    assert f"/assignments/{listed.done_b1.id}" not in html


# ---------------------------------------------------------------- query counts

MEASURED: dict[str, tuple[int, int]] = {}


def _grow(db, tree, u, n: int, start: int) -> None:
    """n more items for base1 (every third submitted, every third with a pending extension request)."""
    p = factories.project(u.assigner, name=f"批量项目{start}", now=NOW)
    for i in range(start, start + n):
        t = factories.task(u.assigner, p, title=f"批量事项{i}", deadline=date(2026, 6, 1 + i % 28), now=NOW)
        (a,) = factories.assign(u.assigner, t, tree.base1 if i % 2 else tree.trib1, now=NOW)
        if i % 3 == 0:
            services.add_report(
                u.base1_staff if a.unit_id == tree.base1.id else u.trib1_head,
                a,
                expected_version=a.version,
                text="完成",
                percent=None,
                files=[],
                submit=True,
                now=NOW,
            )
        elif i % 3 == 1:
            receiver = u.base1_staff if a.unit_id == tree.base1.id else u.trib1_head
            services.request_extension(
                receiver,
                a,
                expected_version=a.version,
                new_deadline=date(2026, 8, 31),
                reason="延期",
                now=NOW,
            )
    db.session.commit()


def _measure(db, tree, u, as_user, count_queries, user, path):
    c = as_user(user)
    _grow(db, tree, u, 3, 0)
    with count_queries() as small:
        assert c.get(path).status_code == 200
    _grow(db, tree, u, 27, 3)
    with count_queries() as large:
        assert c.get(path).status_code == 200
    return len(small), len(large)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("assigner", "/assignments"),
        ("base1_staff", "/assignments"),
        ("base1_staff", "/my"),
        ("assigner", "/assignments?status=overdue&q=批量"),
    ],
)
def test_list_query_count_does_not_grow(db, tree, as_user, count_queries, who, path, june25):
    """3 vs 30 rows: the same number of SQL statements."""
    u = factories.task_users(tree)
    small, large = _measure(db, tree, u, as_user, count_queries, getattr(u, who), path)
    print(f"\nQUERIES {who} {path}: 3 rows → {small}, 30 rows → {large}")
    assert large == small, f"{path}: {small} → {large}"
    assert large <= 15


def test_my_work_query_count_for_the_assigner_does_not_grow(db, tree, as_user, count_queries, june25):
    """/my for inter1's assigner with 1 vs 10 pending extension requests (and submitted items): same statements.

    Regression: my_work used to load each request's assignment with db.session.get (N+1: 8 → 17)."""
    u = factories.task_users(tree)
    small, large = _measure(db, tree, u, as_user, count_queries, u.assigner, "/my")
    print(f"\nQUERIES assigner /my: 3 rows → {small}, 30 rows → {large}")
    assert large == small, f"/my: {small} → {large}"
    assert large <= 15


def test_review_queue_not_hidden_by_own_submitted_items(db, w):
    """base1's coordinator still sees trib1's submitted item to review when base1 has 50 submitted items of its own.

    Regression: my_work used to LIMIT 50 the visible submitted rows before filtering them by the policy."""
    from app.tasks.queries import my_work

    (child,) = services.split_assignment(
        w.u.base1_coord, w.a, [w.t.trib1], expected_version=w.a.version, now=NOW
    )
    services.add_report(
        w.u.trib1_head,
        child,
        expected_version=child.version,
        text="完成",
        percent=None,
        files=[],
        submit=True,
        now=NOW,
    )
    db.session.commit()
    assert [a.id for a in my_work(w.u.base1_coord, date(2026, 3, 2)).to_review] == [child.id]
    for i in range(50):
        t = factories.task(w.u.assigner, w.p, title=f"基层事项{i}", deadline=date(2026, 4, 1), now=NOW)
        (a,) = factories.assign(w.u.assigner, t, w.t.base1, now=NOW)
        services.add_report(
            w.u.base1_staff,
            a,
            expected_version=a.version,
            text="完成",
            percent=None,
            files=[],
            submit=True,
            now=NOW,
        )
    db.session.commit()
    work = my_work(w.u.base1_coord, date(2026, 3, 2))
    assert [a.id for a in work.to_review] == [child.id]
