"""What the request hooks write to the audit log with no effort from the views: a
denial, a write, an export and a download each produce their row — with time, user,
unit, client address, action, object and result — also when the view crashed."""

from __future__ import annotations

from datetime import date

import pytest
from flask_login import current_user
from sqlalchemy import select

from app import authz
from app.attachments import Attachment, path_of
from app.audit.models import AuditEntry
from app.audit.services import event
from app.org.models import Unit
from app.tasks.models import Assignment, ProgressReport, Task
from app.timeutil import utcnow
from tests import factories


def _rows(db, action=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.scalars(stmt))


@pytest.fixture
def people(db, tree):
    p = {
        "admin": factories.user("boss", tree.inter1, ["admin"]),
        "staff": factories.user("worker", tree.base1, ["staff"]),
    }
    db.session.commit()
    return p


@pytest.fixture
def as_user(app):
    def _as(user):
        c = app.test_client()
        assert (
            c.post("/login", data={"username": user.username, "password": factories.PASSWORD}).status_code
            == 302
        )
        return c

    return _as


def test_a_write_is_recorded_with_who_where_what_and_result(app, db, tree, people, as_user):
    c = as_user(people["admin"])
    unit = db.session.get(Unit, tree.base2.id)
    data = {
        "name": unit.name,
        "aliases": "甲二区法院",
        "level": "base",
        "tribunal_kind": "",
        "version": unit.version,
    }
    assert c.post(f"/admin/units/{unit.id}/edit", data=data).status_code == 302
    (row,) = _rows(db, "write")
    assert (row.username, row.user_id, row.unit_id, row.unit_name) == (
        "boss",
        people["admin"].id,
        tree.inter1.id,
        "甲市中级人民法院",
    )
    assert (row.object_type, row.object_id, row.result, row.ip) == (
        "Unit",
        str(unit.id),
        "success",
        "127.0.0.1",
    )
    assert row.detail["endpoint"] == "org.unit_edit" and row.detail["method"] == "POST"
    assert row.detail["admin"] is True  # an administrator's action on an administrator's page
    assert row.at is not None


def test_a_refused_write_is_a_failure_and_nothing_is_marked_admin_for_staff(app, db, tree, people, as_user):
    c = as_user(people["staff"])
    a_id = _assignment(db, tree)
    resp = c.post(f"/assignments/{a_id}/report", data={"text": "", "percent": "500", "version": "1"})
    assert 400 <= resp.status_code < 500 and resp.status_code not in (401, 403, 404)
    (row,) = _rows(db, "write")
    assert row.result == "failure" and row.object_type == "Assignment" and row.object_id == str(a_id)
    assert "admin" not in row.detail


def test_a_denial_on_an_existing_object_is_recorded(app, db, tree, people, as_user):
    c = as_user(people["staff"])
    assert c.get(f"/admin/units/{tree.base1.id}/edit").status_code == 403  # visible, not allowed
    assert c.get(f"/units/{tree.base2.id}").status_code == 404  # exists, hidden (a sibling court)
    first, second = _rows(db, "access.denied")
    assert (first.object_type, first.object_id, first.result) == ("Unit", str(tree.base1.id), "denied")
    assert first.detail["action"] == "unit.edit" and first.detail["status"] == 403
    assert (second.object_id, second.detail["action"], second.detail["status"]) == (
        str(tree.base2.id),
        "unit.view",
        404,
    )
    assert second.username == "worker" and second.unit_id == tree.base1.id
    assert not _rows(db, "write")  # reads are not writes


def test_a_404_for_an_id_that_does_not_exist_is_not_a_denial(app, db, tree, people, as_user):
    c = as_user(people["staff"])
    assert c.get("/units/999999").status_code == 404
    assert c.get("/assignments/2147483647").status_code == 404
    assert not _rows(db, "access.denied")


def test_a_denied_write_gives_a_denied_write_row_and_the_denial(app, db, tree, people, as_user):
    c = as_user(people["staff"])
    assert c.post(f"/admin/units/{tree.base1.id}/deactivate", data={"version": "1"}).status_code == 403
    (write,) = _rows(db, "write")
    (denial,) = _rows(db, "access.denied")
    assert write.result == "denied" and write.detail["status"] == 403
    assert denial.detail["action"] == "unit.deactivate"


def test_a_route_level_denial_is_recorded_without_an_object(app, db, people, as_user):
    c = as_user(people["staff"])
    assert c.get("/audit").status_code == 403
    (row,) = _rows(db, "access.denied")
    assert row.object_type is None and row.detail == {"action": "audit.view", "status": 403}


def test_an_anonymous_write_is_denied_and_recorded(app, db, client, tree):
    resp = client.post(f"/admin/units/{tree.base1.id}/deactivate")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    (row,) = _rows(db, "write")
    assert row.result == "denied" and row.user_id is None and row.username is None


def test_an_export_is_recorded(app, db, tree, people, as_user):
    c = as_user(people["staff"])
    resp = c.get(f"/completion.xlsx?unit={tree.base1.id}")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith("attachment")
    (row,) = _rows(db, "export")
    assert row.result == "success" and row.detail["endpoint"] == "tasks.completion_export"
    assert row.detail["file"].endswith(".xlsx") and f"unit={tree.base1.id}" in row.detail["path"]
    assert not _rows(db, "write")


def test_an_evidence_download_is_recorded_even_when_shown_inline(app, db, tree, people, as_user):
    att_id = _attachment(db, tree, people["staff"])
    c = as_user(people["staff"])
    resp = c.get(f"/attachments/{att_id}")
    assert resp.status_code == 200
    resp.close()
    (row,) = _rows(db, "download")
    assert (row.object_type, row.object_id, row.username) == ("Attachment", str(att_id), "worker")
    assert row.detail["file"] == "证明.pdf"
    # Someone from a sibling court: 404, a denial, no download.
    other = factories.user("other", tree.base2, ["staff"])
    db.session.commit()
    assert as_user(other).get(f"/attachments/{att_id}").status_code == 404
    assert len(_rows(db, "download")) == 1
    assert _rows(db, "access.denied")[-1].object_id == str(att_id)


def test_queued_events_are_written_even_when_the_view_crashes(app, db, tree, people, as_user):
    """The request's own transaction is rolled back by the error handler; the audit
    rows it queued (a denial, an event, the write itself) are still written."""

    def boom(unit_id):
        event("test.before_crash", user=current_user, object_type="Unit", object_id=unit_id)
        unit = db.session.get(Unit, unit_id)
        unit.feature_label = "不该保存"
        db.session.flush()
        raise RuntimeError("boom")

    def denied_then_crash(unit_id):
        try:
            authz.require(current_user, "unit.deactivate", db.session.get(Unit, unit_id))
        finally:
            raise RuntimeError("crash while refusing")

    app.add_url_rule("/boom/<int:unit_id>", "boom", boom, methods=["POST"])
    app.add_url_rule("/refuse-crash/<int:unit_id>", "refuse_crash", denied_then_crash, methods=["POST"])
    c = as_user(people["staff"])
    assert c.post(f"/boom/{tree.base1.id}").status_code == 500
    assert c.post(f"/refuse-crash/{tree.base1.id}").status_code == 500
    assert [r.action for r in _rows(db)[-4:]] == ["test.before_crash", "write", "access.denied", "write"]
    assert [r.result for r in _rows(db, "write")] == ["failure", "failure"]
    assert db.session.get(Unit, tree.base1.id).feature_label is None  # the view's own work is gone


def test_login_endpoints_are_not_doubled(app, db, client, people):
    """Logging in and out write their own rows; no generic write beside them (which
    would call a refused password a success). Other account writes do get one."""
    client.post("/login", data={"username": "worker", "password": "Wrong#2026x"})
    client.post("/login", data={"username": "worker", "password": factories.PASSWORD})
    client.post("/account/password", data={"old_password": "x", "new_password": "y", "confirm": "y"})
    client.post("/logout")
    assert [r.detail["endpoint"] for r in _rows(db, "write")] == ["auth.change_password"]
    logins = [r.action for r in _rows(db) if r.action in ("auth.login_failed", "auth.login", "auth.logout")]
    assert logins == ["auth.login_failed", "auth.login", "auth.logout"]


# ---------------------------------------------------------------- fixtures


def _assignment(db, tree) -> int:
    now = utcnow()
    task = Task(
        owner_unit_id=tree.inter1.id,
        title="事项",
        deadline_kind="date",
        deadline=date(2099, 6, 30),
        created_at=now,
        updated_at=now,
    )
    db.session.add(task)
    db.session.flush()
    a = Assignment(
        task_id=task.id,
        unit_id=tree.base1.id,
        assigned_by_unit_id=tree.inter1.id,
        status="pending",
        deadline=date(2099, 6, 30),
        original_deadline=date(2099, 6, 30),
        created_at=now,
        updated_at=now,
    )
    db.session.add(a)
    db.session.commit()
    return a.id


def _attachment(db, tree, author) -> int:
    a_id = _assignment(db, tree)
    report = ProgressReport(assignment_id=a_id, author_id=author.id, text="进展", created_at=utcnow())
    db.session.add(report)
    db.session.flush()
    att = Attachment(
        owner_type="ProgressReport",
        owner_id=report.id,
        unit_id=tree.base1.id,
        original_name="证明.pdf",
        stored_name="hook-test",
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
        uploaded_by_id=author.id,
        created_at=utcnow(),
    )
    db.session.add(att)
    db.session.flush()
    path_of(att).parent.mkdir(parents=True, exist_ok=True)
    path_of(att).write_bytes(b"%PDF-1.4\n")
    db.session.commit()
    return att.id
