"""The task-list import at scale: every row is checked and built by the same services as
one item (`create_task`, `assign_task`) into a batch that is written with a few multi-row
INSERTs. It writes the rows the one-by-one path writes, its preview writes nothing but
the batch it keeps, and its statement count does not grow with the rows."""

from __future__ import annotations

import io
import sqlite3
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.errors import Conflict
from app.journal import JournalEntry
from app.notifications import Notification
from app.tasks import importer, services
from app.tasks.models import Assignment, Task, TaskCooperator
from app.tasks.writing import NewItems
from tests import factories

NOW = datetime(2026, 2, 10, 2, 30)
HEADER = ["序号", "任务名称", "工作要求", "责任单位", "配合单位", "牵头领导", "完成时限", "备注"]


@pytest.fixture
def world(db, tree):
    """An assigner of 甲市中院 with a 2026 project; people in the units it assigns to."""
    owner = factories.user("importer", tree.inter1, ["assigner"])
    factories.user("b1_head", tree.base1, ["coordinator"])
    factories.user("b1_staff", tree.base1, ["staff"])
    factories.user("b2_head", tree.base2, ["coordinator"])
    factories.user("t1_head", tree.trib1, ["tribunal_head"])
    factories.user("t2_head", tree.trib2, ["tribunal_head"])
    factories.user("gone", tree.base2, ["staff"]).active = False  # told nothing
    project = factories.project(owner, start=date(2026, 1, 1), end=date(2026, 12, 31))
    db.session.commit()
    return type("World", (), {"owner": owner, "project": project, "tree": tree})


def _sheet(rows: list[list]) -> bytes:
    wb = Workbook()
    wb.active.append(HEADER)
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _mixed_sheet() -> bytes:
    """Dates, 长期坚持 (reported as the notes say), quarterly and monthly items, several
    units in one cell (by alias too), cooperators known and unknown, a leader."""
    return _sheet(
        [
            [1, "选配人民法庭庭长", "按期选配", "甲一区人民法院", "", "张某某", "2026年6月30日", ""],
            [
                2,
                "法庭制度建设",
                "",
                "甲一区法院、甲二区人民法院",
                "东山人民法庭、市委政法委",
                "",
                "12月底前",
                "",
            ],
            [3, "开展千人解万纷活动", "", "东山人民法庭", "", "", "长期坚持", "每月报送进展"],
            [4, "季度调度", "", "甲二区人民法院、东山人民法庭", "", "李某", "每季度", ""],
            [5, "月度报表", "", "甲一区人民法院", "甲二区人民法院", "", "每月", "需报省院"],
            [6, "推广调解六步法", "写清楚", "西山人民法庭", "", "", "2026-11-30", ""],
        ]
    )


def _one_by_one(fn):
    """The service as a page calls it: the batch dropped, each item written at once."""

    def call(*args, batch=None, **kwargs):
        return fn(*args, **kwargs)

    return call


def _written(db, project) -> dict:
    """What an import wrote for the project, ids replaced by what they stand for (the
    row key of an item; item, unit and period of an assignment) so that two runs compare."""
    tasks = db.session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id)).all()
    key = {t.id: t.source_key for t in tasks}
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.task_id.in_(key)).order_by(Assignment.id)
    ).all()
    ref = {("Task", t.id): ("Task", t.source_key) for t in tasks} | {
        ("Assignment", a.id): ("Assignment", key[a.task_id], a.unit_id, a.period_label) for a in assignments
    }

    def columns(obj, *skip):
        return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns if c.key not in ("id", *skip)}

    journal = db.session.execute(
        select(JournalEntry, JournalEntry.before.is_(None).label("sql_null"))
        .where(JournalEntry.object_type.in_(["Task", "Assignment"]))
        .order_by(JournalEntry.id)
    ).all()
    notifications = db.session.scalars(
        select(Notification).where(Notification.subject_type == "Task", Notification.subject_id.in_(key))
    ).all()
    return {
        "tasks": [columns(t) for t in tasks],
        "cooperators": sorted(
            (key[c.task_id], c.unit_id)
            for c in db.session.scalars(select(TaskCooperator).where(TaskCooperator.task_id.in_(key)))
        ),
        "assignments": [{**columns(a, "task_id"), "task": key[a.task_id]} for a in assignments],
        "journal": [
            {
                **columns(e, "object_id"),
                "object": ref[(e.object_type, e.object_id)],
                "before_is_sql_null": null,
            }
            for e, null in journal
            if (e.object_type, e.object_id) in ref
        ],
        "notifications": sorted(
            (
                n.recipient_id,
                n.kind,
                key[n.subject_id],
                n.message,
                n.dedupe_key.replace(f":{n.subject_id}:", f":{key[n.subject_id]}:"),
                n.created_by_id,
                n.created_at,
                n.rule_id,
                n.day,
                n.read_at,
            )
            for n in notifications
        ),
    }


def test_the_batch_writes_what_one_by_one_writes(db, world, monkeypatch):
    """The same previewed sheet committed twice from the same state — once with every
    item created and assigned one by one (as before the batch), once by the batch — leaves
    the same items, 配合单位, assignments (a period each), journal entries in the same
    order, and notifications to the same people."""
    batch = importer.preview(world.owner, world.project, "清单.xlsx", _mixed_sheet(), now=NOW)
    assert all(r["errors"] == [] and r["parse_errors"] == [] for r in batch.rows), batch.rows
    db.session.commit()

    savepoint = db.session.begin_nested()
    with monkeypatch.context() as m:
        m.setattr(services, "create_task", _one_by_one(services.create_task))
        m.setattr(services, "assign_task", _one_by_one(services.assign_task))
        m.setattr(
            NewItems, "write", lambda self: self.tasks and pytest.fail("the one-by-one run kept a batch")
        )
        importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    one_by_one = _written(db, world.project)
    savepoint.rollback()
    db.session.expire_all()
    assert _written(db, world.project)["tasks"] == []

    result = importer.commit(world.owner, batch, exclude_rows=[], now=NOW)
    batched = _written(db, world.project)
    assert result["created"] == 6
    assert batched == one_by_one
    # and they are what the services are meant to write
    assert [t["version"] for t in batched["tasks"]] == [2] * 6  # assigning moved each item's version on
    # one per unit, and per period for a recurring item: four quarters, February to December
    assert len(batched["assignments"]) == 1 + 2 + 1 + 2 * 4 + 11 + 1
    assert [e["action"] for e in batched["journal"][:4]] == [
        "task.create",
        "assignment.create",
        "task.create",
        "assignment.create",
    ]
    assert all(e["actor_id"] == world.owner.id and e["at"] == NOW for e in batched["journal"])
    assert all(e["before"] is None and e["before_is_sql_null"] is False for e in batched["journal"])
    assert batched["cooperators"] == sorted(
        [
            (batched["tasks"][1]["source_key"], world.tree.trib1.id),
            (batched["tasks"][4]["source_key"], world.tree.base2.id),
        ]
    )
    assert batched["tasks"][1]["notes"] == "配合单位：市委政法委"
    people = {n[0] for n in batched["notifications"]}
    assert len(people) == 5  # the active people of 甲一区, 甲二区, 东山 and 西山
    assert len(batched["notifications"]) == 2 + (2 + 1) + 1 + (1 + 1) + 2 + 1


def test_preview_writes_nothing_but_its_batch(db, world, count_queries):
    """The check builds every row in memory: no item, no savepoint rolled back, one INSERT
    (the batch kept for the commit) — with the same row errors a commit would meet."""
    data = _sheet(
        [
            [1, "事项一", "", "甲一区人民法院", "", "", "2026年6月30日", ""],
            [2, "事项二", "", "乙一县人民法院", "", "", "2026年6月30日", ""],  # another city's court
            [3, "事项三", "", "甲市中级人民法院", "", "", "2026年6月30日", ""],  # the importer's own court
            [4, "事项四", "", "甲二区人民法院", "", "", "2025年6月30日", ""],  # before the project
            [5, "事项一", "", "甲一区人民法院", "", "", "2026年7月31日", ""],  # row 2's key again
            [6, "事项六", "", "甲二区人民法院", "", "", "下个月", ""],
        ]
    )
    with count_queries() as statements:
        batch = importer.preview(world.owner, world.project, "清单.xlsx", data, now=NOW)
    writes = [
        s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "ROLLBACK"))
    ]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("INSERT INTO IMPORT_BATCHES"), writes
    errors = {r["row"]: r["parse_errors"] + r["errors"] for r in batch.rows}
    assert errors == {
        2: [],
        3: ["责任单位“乙一县人民法院”不存在，或不在您的管辖范围内。"],
        4: ["“甲市中级人民法院”不是您的下级单位（或已停用），不能交办。"],
        5: ["完成时限 2025-06-30 早于项目开始日期 2026-01-01。"],
        6: ["与文件中前面的行重复。"],
        7: [errors[7][0]],
    }
    assert errors[7][0].startswith("无法识别的完成时限：下个月")
    assert db.session.scalar(select(Task.id)) is None


def _numbered_sheet(n: int, tag: str) -> bytes:
    units = ["甲一区人民法院", "甲二区人民法院", "东山人民法庭"]
    return _sheet(
        [
            [i, f"{tag}事项{i:04d}", "", units[i % 3], "", "", f"2026-{1 + i % 12:02d}-28", ""]
            for i in range(1, n + 1)
        ]
    )


@pytest.mark.parametrize("as_job", [False, True], ids=["page", "job"])
def test_statements_do_not_grow_with_the_rows(db, world, count_queries, as_job):
    """Check and commit of 50 rows and of 500 rows send the same number of statements
    (an INSERT of more than a thousand rows would be sent in pages of a thousand)."""
    counts = {}
    for n in (50, 500):
        progress = (lambda done, total: None) if as_job else None
        with count_queries() as check:
            batch = importer.preview(
                world.owner,
                world.project,
                "清单.xlsx",
                _numbered_sheet(n, f"{n}行"),
                now=NOW,
                progress=progress,
            )
        db.session.commit()
        with count_queries() as commit:
            result = importer.commit(world.owner, batch, exclude_rows=[], now=NOW, progress=progress)
        db.session.commit()
        assert result["created"] == n
        counts[n] = (len(check), len(commit))
    assert counts[50] == counts[500], counts
    items = db.session.scalars(select(Task.id).where(Task.project_id == world.project.id)).all()
    assert len(items) == 550
    assert len(db.session.scalars(select(Assignment.id).where(Assignment.task_id.in_(items))).all()) == 550


def test_a_batch_assigns_only_its_own_new_items(db, world):
    """A saved item is assigned one by one (its version held in the database), not in a batch."""
    task = factories.task(world.owner, world.project, title="已保存的事项")
    batch = NewItems()
    with pytest.raises(ValueError):
        services.assign_task(
            world.owner, task, [world.tree.base1], expected_version=task.version, now=NOW, batch=batch
        )
    new = services.create_task(
        world.owner, world.project, title="新事项", deadline=date(2026, 6, 30), now=NOW, batch=batch
    )
    with pytest.raises(Conflict):
        services.assign_task(world.owner, new, [world.tree.base1], expected_version=7, now=NOW, batch=batch)
    assert db.session.scalar(select(Task.id).where(Task.title == "新事项")) is None


def _write_lock_free(path: str) -> bool:
    con = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


def test_a_job_checks_a_sheet_without_the_write_lock(db, world, backend, database_url, monkeypatch):
    """SQLite: while a job checks a sheet row by row, another process can write — the
    check holds no write lock — and the batch is still kept."""
    if backend != "sqlite":
        pytest.skip("SQLite's one write lock")
    path = database_url.removeprefix("sqlite:///")
    free = []
    real = services.assign_task

    def probing(*args, **kwargs):
        free.append(_write_lock_free(path))
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "assign_task", probing)
    sheet = _numbered_sheet(30, "锁")
    batch = importer.preview(
        world.owner, world.project, "清单.xlsx", sheet, now=NOW, progress=lambda d, t: None
    )
    assert len(free) == 30 and all(free)
    db.session.commit()
    assert importer.bad_rows(batch) == [] and len(batch.rows) == 30
