"""Task-list import through the pages: the real example sheet of 阜新中院, preview with
row errors, all-or-nothing commit with explicit exclusions, re-import, scope, bad files."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.importing import ImportBatch
from app.org.models import Unit, User
from app.seed.demo import DEMO_PASSWORD, load_demo
from app.tasks import services
from app.tasks.models import Assignment, Project, Task, TaskCooperator
from app.timeutil import utcnow

EXAMPLE = Path("/work/shared/examples/任务清单-示例.xlsx")
NOW = datetime(2022, 8, 20, 2, 0)
BAD_ROW = 9  # the sixth item (序号 6, sheet row 9): 阜新市中级人民法院政治部 is no unit

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="example task list not available")


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _unit(name: str) -> Unit:
    from app.extensions import db

    return db.session.scalars(select(Unit).where(Unit.name == name)).one()


@pytest.fixture
def demo(db, app):
    """The demo tree with 阜新中院's (fxzy) and 本溪中院's (bxzy) projects starting 2022-01-01."""
    load_demo(utcnow())
    db.session.commit()
    users = {u.username: u for u in db.session.scalars(select(User))}
    fx = services.create_project(
        users["fxzy"],
        name="人民法庭建设攻坚",
        owner_unit=_unit("阜新市中级人民法院"),
        start=date(2022, 1, 1),
        end=date(2022, 12, 31),
        now=NOW,
    )
    bx = services.create_project(
        users["bxzy"],
        name="本溪法庭建设",
        owner_unit=_unit("本溪市中级人民法院"),
        start=date(2022, 1, 1),
        end=date(2022, 12, 31),
        now=NOW,
    )
    db.session.commit()

    def client_for(username: str):
        c = app.test_client()
        resp = c.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert resp.status_code == 302
        return c

    return SimpleNamespace(users=users, fx=fx, bx=bx, client_for=client_for)


def _upload(c, project: Project, data: bytes, filename: str = "任务清单-示例.xlsx"):
    return c.post(
        "/imports/tasks",
        data={"project_id": str(project.id), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _preview(db, c, project: Project, data: bytes | None = None) -> ImportBatch:
    resp = _upload(c, project, data if data is not None else EXAMPLE.read_bytes())
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    batch_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    db.session.expire_all()
    return db.session.get(ImportBatch, batch_id)


def _commit(c, batch: ImportBatch, exclude: list[int] = ()):
    return c.post(f"/imports/tasks/{batch.id}/commit", data={"exclude_rows": [str(x) for x in exclude]})


def _assigned(db, project: Project) -> dict[str, set[str]]:
    rows = db.session.execute(
        select(Task.title, Unit.name)
        .join(Assignment, Assignment.task_id == Task.id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Task.project_id == project.id)
    ).all()
    out: dict[str, set[str]] = {}
    for title, unit in rows:
        out.setdefault(title, set()).add(unit)
    return out


EXPECTED = {
    "选配人民法庭庭长": {"阜新蒙古族自治县人民法院", "彰武县人民法院"},
    "法庭制度建设": {"阜新蒙古族自治县人民法院"},
    "调整人民法庭布局": {"阜新蒙古族自治县人民法院", "彰武县人民法院", "阜新市清河门区人民法院"},
    "开展“千人解万纷”活动": {"王府人民法庭", "冯家人民法庭"},
    "推广“老哥”调解六步法": {"冯家人民法庭"},
}


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- the example sheet


def test_preview_flags_the_unknown_unit_and_saves_nothing(db, demo):
    """Preview: six rows, the 政治部 row flagged as unknown, the rest clean; no item created yet."""
    c = demo.client_for("fxzy")
    batch = _preview(db, c, demo.fx)
    assert (batch.kind, batch.status, batch.result["project_id"]) == ("tasks", "preview", demo.fx.id)
    assert [r["row"] for r in batch.rows] == [4, 5, 6, 7, 8, 9]
    errors = {r["row"]: r["parse_errors"] + r["errors"] for r in batch.rows}
    assert all(errors[row] == [] for row in (4, 5, 6, 7, 8)), errors
    assert len(errors[BAD_ROW]) == 1 and "阜新市中级人民法院政治部" in errors[BAD_ROW][0]
    assert not any(r["skip"] for r in batch.rows)
    assert _count(db, Task) == 0 and _count(db, Assignment) == 0
    html = c.get(f"/imports/tasks/{batch.id}").get_data(as_text=True)
    assert "1 行有错误" in html
    assert "阜新市中级人民法院政治部”不存在" in html


def test_commit_without_excluding_the_bad_row_is_refused(db, demo):
    """Committing with the bad row still in: 400, nothing created, batch still a preview."""
    c = demo.client_for("fxzy")
    batch = _preview(db, c, demo.fx)
    resp = _commit(c, batch)
    assert resp.status_code == 400
    assert f"第 {BAD_ROW} 行有错误" in resp.get_data(as_text=True)
    assert _count(db, Task) == 0 and _count(db, Assignment) == 0
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch.id).status == "preview"


def test_commit_excluding_the_bad_row_creates_five_items(db, demo):
    """Excluding row 9 creates the five items with the right units, deadlines, leaders and notes."""
    c = demo.client_for("fxzy")
    batch = _preview(db, c, demo.fx)
    resp = _commit(c, batch, [BAD_ROW])
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/projects/{demo.fx.id}")
    assert _assigned(db, demo.fx) == EXPECTED
    assert _count(db, Assignment) == 9
    tasks = {t.title: t for t in db.session.scalars(select(Task).where(Task.project_id == demo.fx.id))}
    fx_court = _unit("阜新市中级人民法院")
    assert {t.owner_unit_id for t in tasks.values()} == {fx_court.id}
    assert set(db.session.scalars(select(Assignment.assigned_by_unit_id))) == {fx_court.id}
    assert {k: (t.deadline_kind, t.deadline) for k, t in tasks.items()} == {
        "选配人民法庭庭长": ("date", date(2022, 10, 31)),
        "法庭制度建设": ("date", date(2022, 12, 31)),
        "调整人民法庭布局": ("date", date(2022, 12, 31)),
        "开展“千人解万纷”活动": ("ongoing", None),
        "推广“老哥”调解六步法": ("date", date(2022, 11, 30)),
    }
    assert tasks["开展“千人解万纷”活动"].report_every == "quarterly"
    assert tasks["选配人民法庭庭长"].lead_leader == "张某某"
    assert tasks["调整人民法庭布局"].notes == "需报省院审批"
    assert all(t.source_key for t in tasks.values())
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == "committed"
    assert (batch.result["created"], batch.result["excluded"], batch.result["already"]) == (5, [BAD_ROW], 0)
    # The same batch cannot be committed twice.
    assert _commit(c, batch, [BAD_ROW]).status_code == 400
    assert _count(db, Task) == 5


def test_reimport_marks_rows_as_already_imported(db, demo):
    """Uploading the same sheet again: the five imported rows are skipped; committing adds nothing."""
    c = demo.client_for("fxzy")
    first = _preview(db, c, demo.fx)
    assert _commit(c, first, [BAD_ROW]).status_code == 302
    tasks, assignments = _count(db, Task), _count(db, Assignment)
    again = _preview(db, c, demo.fx)
    skipped = {r["row"]: r["skip"] for r in again.rows}
    assert skipped == {4: True, 5: True, 6: True, 7: True, 8: True, BAD_ROW: False}
    html = c.get(f"/imports/tasks/{again.id}").get_data(as_text=True)
    assert html.count("此前已导入，跳过") == 5
    assert _commit(c, again).status_code == 400  # row 9 is still wrong
    resp = _commit(c, again, [BAD_ROW])
    assert resp.status_code == 302
    assert (_count(db, Task), _count(db, Assignment)) == (tasks, assignments) == (5, 9)
    db.session.expire_all()
    assert db.session.get(ImportBatch, again.id).result["created"] == 0
    assert db.session.get(ImportBatch, again.id).result["already"] == 5


def test_two_previews_of_the_same_sheet_commit_once(db, demo):
    """Two previews made before either commit: the second commit adds nothing and answers 4xx, not 500."""
    c = demo.client_for("fxzy")
    first, second = _preview(db, c, demo.fx), _preview(db, c, demo.fx)
    assert _commit(c, first, [BAD_ROW]).status_code == 302
    resp = _commit(c, second, [BAD_ROW])
    assert resp.status_code in (302, 400, 409)
    assert _count(db, Task) == 5


def test_benxi_assigner_gets_every_row_out_of_scope(db, demo):
    """本溪中院's assigner importing 阜新's sheet into its own project: every row flagged; commit refused."""
    c = demo.client_for("bxzy")
    batch = _preview(db, c, demo.bx)
    assert len(batch.rows) == 6
    for r in batch.rows:
        errs = r["parse_errors"] + r["errors"]
        assert len(errs) == 1 and "不在您的管辖范围内" in errs[0], (r["row"], errs)
    html = c.get(f"/imports/tasks/{batch.id}").get_data(as_text=True)
    assert "6 行有错误" in html
    assert _commit(c, batch).status_code == 400
    assert _count(db, Task) == 0
    # Nor can 本溪 import into 阜新's project, or see 阜新's batches.
    assert _upload(c, demo.fx, EXAMPLE.read_bytes()).status_code == 404
    fx_batch = _preview(db, demo.client_for("fxzy"), demo.fx)
    assert c.get(f"/imports/tasks/{fx_batch.id}").status_code == 404
    assert _commit(c, fx_batch, [BAD_ROW]).status_code == 404
    assert _count(db, Task) == 0


# ---------------------------------------------------------------- bad files and other sheets


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("任务清单.xlsx", b"PK\x03\x04" + b"\x00" * 200, "无法读取该 Excel 文件"),
        ("任务清单.xlsx", b"not a zip at all", "内容不是 Excel 文件"),
        ("任务清单.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "另存为 .xlsx"),
        ("任务清单.xlsx", b"", "上传的文件是空的"),
    ],
)
def test_corrupt_or_wrong_file_is_400_in_chinese(db, demo, filename, data, message):
    """A corrupt XLSX (or the old .xls, or nothing) is refused with 400 and a Chinese message; no batch kept."""
    c = demo.client_for("fxzy")
    resp = _upload(c, demo.fx, data, filename)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _count(db, ImportBatch) == 0 and _count(db, Task) == 0


def test_sheet_without_the_required_columns_is_400(db, demo):
    """A sheet with no 责任单位/完成时限 header is refused, naming the missing columns."""
    c = demo.client_for("fxzy")
    resp = _upload(c, demo.fx, _xlsx([["序号", "任务名称"], [1, "某事项"]]))
    assert resp.status_code == 400
    assert "缺少必需的列" in resp.get_data(as_text=True)


def test_only_assigners_may_import(db, demo):
    """A tribunal head (冯家法庭) gets 403 on the import page."""
    c = demo.client_for("fjft")
    assert c.get("/imports/tasks").status_code == 403
    assert _upload(c, demo.fx, EXAMPLE.read_bytes()).status_code == 403


def test_cooperators_in_scope_are_linked_unknown_names_kept_in_notes(db, demo):
    """配合单位 naming a court in scope links it; an unknown name is kept in the notes."""
    c = demo.client_for("fxzy")
    data = _xlsx(
        [
            ["任务名称", "责任单位", "配合单位", "完成时限"],
            ["建设诉源治理示范点", "彰武县人民法院", "阜蒙县人民法院、市委政法委", "2022年12月31日"],
        ]
    )
    batch = _preview(db, c, demo.fx, data)
    assert batch.rows[0]["errors"] == []
    assert _commit(c, batch).status_code == 302
    task = db.session.scalars(select(Task).where(Task.title == "建设诉源治理示范点")).one()
    coop = set(db.session.scalars(select(TaskCooperator.unit_id).where(TaskCooperator.task_id == task.id)))
    assert coop == {_unit("阜新蒙古族自治县人民法院").id}
    assert task.notes == "配合单位：市委政法委"


def test_cooperator_outside_scope_is_kept_as_a_name(db, demo):
    """配合单位 naming an existing court outside the importer's scope: preview works, the name goes to notes."""
    c = demo.client_for("fxzy")
    data = _xlsx(
        [
            ["任务名称", "责任单位", "配合单位", "完成时限"],
            ["跨市协作事项", "彰武县人民法院", "本溪市中级人民法院", "2022年12月31日"],
        ]
    )
    resp = _upload(c, demo.fx, data)
    assert resp.status_code == 302
    batch = db.session.scalars(select(ImportBatch)).one()
    assert batch.rows[0]["errors"] == []
    assert _commit(c, batch).status_code == 302
    task = db.session.scalars(select(Task).where(Task.title == "跨市协作事项")).one()
    assert task.notes == "配合单位：本溪市中级人民法院"
    assert _count(db, TaskCooperator, TaskCooperator.task_id == task.id) == 0
