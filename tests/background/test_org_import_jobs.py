"""A large unit or user list (the 系统管理员's import) is checked and saved by background
jobs: accounts checked in batches then hashed outside any transaction, units in one pass
(a unit's parent may be a row above it), the commit all or nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.background.models import BackgroundJob
from app.background.runner import run_pending
from app.org import importer
from app.org.models import Unit, User
from tests import factories


def _csv(rows: list[list[str]]) -> io.BytesIO:
    return io.BytesIO(("\ufeff" + "\n".join(",".join(r) for r in rows) + "\n").encode("utf-8"))


def _upload(client, kind: str, data: io.BytesIO, name: str):
    return client.post(
        "/admin/import", data={"kind": kind, "file": (data, name)}, content_type="multipart/form-data"
    )


def _job(resp) -> int:
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"], resp.get_data(as_text=True)[:300]
    return int(resp.headers["Location"].rsplit("/", 1)[-1])


@pytest.fixture
def admin(app, db, tree, client, login):
    app.config.update(IMPORT_INLINE_ROWS=5)
    login(factories.user("boss", tree.inter1, ["admin"]))
    return client


def test_a_large_user_list_is_checked_hashed_and_saved_by_jobs(app, db, tree, admin, monkeypatch):
    """12 accounts, one repeated and one for a unit outside the admin's subtree: the
    job's check (batches of 4) flags both; excluding nothing, the commit is refused at
    once; a clean list is saved whole and its passwords work."""
    monkeypatch.setattr(importer, "CHECK_BATCH", 4)
    header = ["用户名", "姓名", "所属单位", "初始密码"]
    people = [[f"user{i:02d}", f"人员{i}", "甲一区人民法院", "Init@2026x"] for i in range(12)]
    bad = [*people[:9], people[2], ["outsider", "外人", "乙一县人民法院", "Init@2026x"], *people[9:]]
    job_id = _job(_upload(admin, "users", _csv([header, *bad]), "users.csv"))
    assert run_pending(app) == [(job_id, "done")]
    status = admin.get(f"/jobs/{job_id}.json").get_json()
    assert status["message"] == "检查完成：共 14 行，其中 2 行有错误。" and status["follow"]
    assert status["done"] == status["total"] == 28  # each row checked, then each password hashed
    preview = admin.get(status["link_url"]).get_data(as_text=True)
    assert "与文件中前面的行重复" in preview and "乙一县人民法院”不存在" in preview
    batch_id = int(status["link_url"].rsplit("/", 1)[-1])
    assert admin.post(f"/admin/import/{batch_id}/commit").status_code == 400
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 1  # refused at once: no job

    job_id = _job(_upload(admin, "users", _csv([header, *people]), "users.csv"))
    run_pending(app)
    batch_id = db.session.get(BackgroundJob, job_id).result["batch_id"]
    commit_id = _job(admin.post(f"/admin/import/{batch_id}/commit"))
    assert run_pending(app) == [(commit_id, "done")]
    status = admin.get(f"/jobs/{commit_id}.json").get_json()
    assert status["message"] == "导入成功，共 12 条。" and status["link_url"].endswith("/admin/users")
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username.like("user%"))) == 12
    other = app.test_client()
    resp = other.post("/login", data={"username": "user07", "password": "Init@2026x"})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]


def test_a_large_unit_list_with_parents_above_is_imported_by_jobs(app, db, tree, admin):
    """Each new court's tribunals follow it in the file: checked in one pass, saved whole."""
    header = ["单位全称", "上级单位", "层级", "法庭类型"]
    rows = []
    for i in range(3):
        rows.append([f"新设{i}区人民法院", "甲市中级人民法院", "基层人民法院", ""])
        rows += [[f"新设{i}区{j}号人民法庭", f"新设{i}区人民法院", "人民法庭", "人民法庭"] for j in range(2)]
    job_id = _job(_upload(admin, "units", _csv([header, *rows]), "units.csv"))
    assert run_pending(app) == [(job_id, "done")]
    batch_id = db.session.get(BackgroundJob, job_id).result["batch_id"]
    commit_id = _job(admin.post(f"/admin/import/{batch_id}/commit"))
    assert run_pending(app) == [(commit_id, "done")]
    made = db.session.scalars(select(Unit).where(Unit.name.like("新设%"))).all()
    assert len(made) == 9
    parents = {u.name: u.parent_id for u in made}
    assert parents["新设1区0号人民法庭"] == next(u.id for u in made if u.name == "新设1区人民法院")
