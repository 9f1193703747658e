"""The benchmark data generator (`flask bench generate`): exact counts from the shape,
a closure table that matches the parent links, data as the services would leave it,
the same rows for the same seed, the demo accounts at work, and no second load."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.benchgen.shapes import DEMO
from app.checklists.models import TemplateItem
from app.extensions import db as _db
from app.org.models import Unit, UnitClosure, UnitName, User
from app.seed.demo import DEMO_PASSWORD, USERS
from app.tasks.models import OPEN_STATUSES, Assignment, ProgressReport, Task
from app.timeutil import local_today
from tests import factories


def _generate(app, *args: str):
    today = local_today().isoformat()
    return app.test_cli_runner().invoke(
        args=["bench", "generate", "--scale", "demo", "--as-of", today, *args]
    )


def _copy(src: Path, dst: Path) -> None:
    """A consistent copy through SQLite's backup API."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    with target:
        source.backup(target)
    source.close()
    target.close()


@pytest.fixture(scope="module")
def demo_file(sqlite_template, tmp_path_factory) -> tuple[Path, str]:
    """The demo scale generated once (seed 1) into a SQLite file, and what it printed."""
    path = tmp_path_factory.mktemp("benchgen") / "demo.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        result = _generate(app)
        assert result.exit_code == 0, result.output
        _db.session.remove()
        _db.engine.dispose()
    return path, result.output


@pytest.fixture
def fresh_db() -> None:
    """Asked for by a test that wants an empty migrated database, not the generated one."""


@pytest.fixture
def database_url(request, backend, tmp_path) -> str:
    """SQLite: a copy of the generated file (of the empty template with `fresh_db`).
    PostgreSQL: the empty test database (the `generated` fixture fills it)."""
    if backend == "sqlite":
        path = tmp_path / "test.sqlite"
        if "fresh_db" in request.fixturenames:
            source = request.getfixturevalue("sqlite_template")
        else:
            source = request.getfixturevalue("demo_file")[0]
        _copy(source, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def generated(request, app, backend) -> str:
    """The demo scale in this test's database; the generator's output."""
    if backend == "sqlite":
        return request.getfixturevalue("demo_file")[1]
    result = _generate(app)
    assert result.exit_code == 0, result.output
    return result.output


def _count(model_or_table, *where) -> int:
    return _db.session.scalar(select(func.count()).select_from(model_or_table).where(*where))


def _expected(shape) -> dict[str, int]:
    """What the demo shape promises, worked out here from its numbers."""
    per_level = {level: sum(roles.values()) for level, roles in shape.roles.items()}
    users = (
        per_level["high"]
        + per_level["intermediate"] * shape.intermediates
        + per_level["base"] * shape.bases
        + per_level["tribunal"] * shape.tribunals
    )
    return {
        "units": 1 + shape.intermediates + shape.bases + shape.tribunals,
        "unit_closure": 1 + 2 * shape.intermediates + 3 * shape.bases + 4 * shape.tribunals,
        "users": users,
        "user_roles": users,
        "projects": shape.years * (shape.projects_high + shape.projects_intermediate * shape.intermediates)
        + 1,
        "assignments": shape.items + shape.rectifications,
        "progress_reports": shape.reports,
        "visits": shape.visits,
        "findings": shape.rectifications,
        "notifications": shape.notifications,
        "checklists": sum(shape.checklists.values()),
    }


def test_demo_scale_has_exactly_its_shape_and_consistent_items(generated, db):
    """Counts per table, the closure table against a recomputation, and every
    assignment as the services leave it (status facts, split roll-up, report times)."""
    assert "事项 2200/2200" in generated  # progress is printed while it runs

    expected = _expected(DEMO)
    tables = _db.metadata.tables
    assert {name: _count(tables[name]) for name in expected} == expected
    assert _count(Task, Task.kind == "rectification") == DEMO.rectifications
    items_per_template = dict(
        db.session.execute(
            text(
                "SELECT t.family, count(*) FROM template_items i "
                "JOIN checklist_templates t ON t.id = i.template_id GROUP BY t.family"
            )
        ).all()
    )
    assert _count(tables["checklist_entries"]) == sum(
        n * items_per_template[family] for family, n in DEMO.checklists.items()
    )
    assert _count(TemplateItem) == sum(items_per_template.values())
    # One official name per unit; every name unique (the table's constraint).
    assert _count(UnitName, UnitName.kind == "official") == expected["units"]
    # The long history.
    longest = db.session.execute(
        select(func.count())
        .select_from(ProgressReport)
        .group_by(ProgressReport.assignment_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar()
    assert longest == DEMO.long_history

    # The closure table: exactly the (ancestor, descendant, depth) the parent links give.
    parents = dict(db.session.execute(select(Unit.id, Unit.parent_id)).all())
    want = set()
    for unit in parents:
        depth, ancestor = 0, unit
        while ancestor is not None:
            want.add((ancestor, unit, depth))
            ancestor, depth = parents[ancestor], depth + 1
    have = set(
        db.session.execute(select(UnitClosure.ancestor_id, UnitClosure.descendant_id, UnitClosure.depth))
    )
    assert have == want

    # About 15 % open and overdue; some open and not yet due; most closed.
    today = local_today()
    total = expected["assignments"]
    overdue = _count(Assignment, Assignment.status.in_(OPEN_STATUSES), Assignment.deadline < today)
    not_due = _count(Assignment, Assignment.status.in_(OPEN_STATUSES), Assignment.deadline >= today)
    closed = _count(Assignment, Assignment.status == "closed")
    assert 0.10 < overdue / total < 0.22
    assert not_due > 0
    assert closed / total > 0.6

    # Every assignment as the services leave it.
    reports = defaultdict(list)
    for aid, at in db.session.execute(select(ProgressReport.assignment_id, ProgressReport.created_at)):
        reports[aid].append(at)
    rows = {a.id: a for a in db.session.scalars(select(Assignment))}
    children = defaultdict(list)
    for a in rows.values():
        if a.status == "closed":
            assert a.closed_at and a.closed_on and a.progress == 100, a.id
        if a.status == "pending":
            assert a.acknowledged_at is None and not reports[a.id] and a.responsible_user_id is None, a.id
        else:
            assert a.acknowledged_at and a.responsible_user_id and reports[a.id], a.id
            assert min(reports[a.id]) >= a.acknowledged_at and max(reports[a.id]) == a.last_report_at, a.id
        moments = [t for t in (a.created_at, a.acknowledged_at, a.submitted_at, a.closed_at) if t]
        assert moments == sorted(moments), a.id
        if a.parent_id:
            parent = rows[a.parent_id]
            children[parent.id].append(a.progress)
            assert a.assigned_by_unit_id == parent.unit_id and parents[a.unit_id] == parent.unit_id
            if parent.status == "closed":
                assert a.status == "closed" and a.closed_at <= parent.submitted_at, a.id
    assert children, "some base courts split their items to tribunals"
    for pid, progress in children.items():
        if rows[pid].status != "closed":
            assert rows[pid].progress == round(sum(progress) / len(progress)), pid


def test_the_generated_reminders_are_recorded_so_a_sweep_does_not_send_them_again(generated, db):
    """Each generated sweep reminder (rule, item, period) is in sweep_marks, as the sweep
    records what it sends: a sweep over the generated data does not repeat the history."""
    from app.notifications import Notification
    from app.reminders.models import SweepMark

    keys = {
        (rule, stype, sid, key.rsplit(":", 1)[1])
        for rule, stype, sid, key in db.session.execute(
            select(
                Notification.rule_id,
                Notification.subject_type,
                Notification.subject_id,
                Notification.dedupe_key,
            ).where(Notification.rule_id.is_not(None))
        )
    }
    marks = set(
        db.session.execute(
            select(SweepMark.rule_id, SweepMark.subject_type, SweepMark.subject_id, SweepMark.period)
        )
    )
    assert keys and marks == keys


def test_demo_accounts_log_in_and_the_tribunal_head_has_work(generated, db, client):
    """Every demo account logs in with the demo password on its own unit; 华来's head
    sees open, overdue and waiting-for-签收 items on 我的工作; generated accounts log in."""
    for username, _, unit_name, roles, _ in USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.unit.name == unit_name and user.roles == set(roles)
    for username in [u[0] for u in USERS] + ["u00_00001"]:
        resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert resp.status_code == 302 and "login" not in resp.headers["Location"], username
        client.post("/logout")

    head = db.session.scalar(select(User).where(User.username == "hlft"))
    today = local_today()
    mine = select(Assignment).where(Assignment.unit_id == head.unit_id)
    overdue = db.session.scalars(mine.where(Assignment.status != "closed", Assignment.deadline < today)).all()
    waiting = db.session.scalars(mine.where(Assignment.status == "pending")).all()
    assert overdue and waiting and any(a.deadline < today for a in waiting)
    client.post("/login", data={"username": "hlft", "password": DEMO_PASSWORD})
    page = client.get("/my").get_data(as_text=True)
    for a in overdue[:3] + waiting[:3]:
        assert db.session.get(Task, a.task_id).title in page
    assert client.get(f"/assignments/{overdue[0].id}").status_code == 200


def test_refuses_a_database_that_holds_data(generated, app, db):
    """A second load is refused, in Chinese, with exit code 1, and changes nothing."""
    before = {
        name: _count(_db.metadata.tables[name]) for name in ("units", "users", "assignments", "journal")
    }
    db.session.commit()
    result = _generate(app, "--seed", "2")
    assert result.exit_code == 1
    assert "数据库不是空的" in result.output
    assert {name: _count(_db.metadata.tables[name]) for name in before} == before


def test_refuses_any_data(fresh_db, app, db):
    """Data made by hand counts too: a unit tree and nothing else."""
    factories.build_tree()
    db.session.commit()
    result = _generate(app)
    assert result.exit_code == 1 and "数据库不是空的" in result.output


CHECKED = {
    "units": "id, name, parent_id, tribunal_kind",
    "users": "id, username, display_name, unit_id",
    "assignments": "id, task_id, unit_id, parent_id, status, deadline, progress, acknowledged_at, closed_at",
    "progress_reports": "id, assignment_id, author_id, percent, created_at",
    "notifications": "id, recipient_id, dedupe_key, read_at",
    "journal": "id, at, action, object_id, after",
}


def _checksums(url: str, seed: int | None, today: str) -> dict[str, str]:
    """Generate with `seed` (None: read what is there) and digest the checked columns."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if seed is not None:
            args = ["bench", "generate", "--scale", "demo", "--seed", str(seed), "--as-of", today]
            result = app.test_cli_runner().invoke(args=args)
            assert result.exit_code == 0, result.output
        out = {}
        for table, columns in CHECKED.items():
            digest = hashlib.sha256()
            for row in _db.session.execute(text(f"SELECT {columns} FROM {table} ORDER BY id")):
                digest.update(repr(tuple(row)).encode())
            out[table] = digest.hexdigest()
        _db.session.remove()
        _db.engine.dispose()
    return out


def test_same_seed_same_rows(demo_file, sqlite_template, tmp_path):
    """Same seed and day: identical rows; another seed: different ones (on SQLite: the
    rows do not depend on the database)."""
    urls = []
    for name in ("again", "other"):
        shutil.copy(sqlite_template, tmp_path / f"{name}.sqlite")
        urls.append(f"sqlite:///{tmp_path / name}.sqlite")
    today = local_today().isoformat()
    first = _checksums(f"sqlite:///{demo_file[0]}", None, today)
    again, other = _checksums(urls[0], 1, today), _checksums(urls[1], 2, today)
    assert first == again
    assert all(other[t] != first[t] for t in CHECKED)


def test_sqlite_rows_are_stored_as_sqlalchemy_would_store_them(fresh_db, app, db, backend):
    """The SQLite fast path (values converted once, SQL compiled once) stores the same
    text, numbers and NULLs as a plain Core insert: JSON None as 'null', datetimes with
    their microseconds, dates, booleans, and the Python defaults of unnamed columns."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL 走 SQLAlchemy Core 的普通批量插入，没有这条快速路径")
    from datetime import date, datetime

    from app.benchgen.writer import SqliteInsert

    rows = {
        "journal": [
            {
                "id": 900001,
                "at": datetime(2026, 1, 2, 3, 4, 5),
                "actor_id": None,
                "action": "a",
                "object_type": "T",
                "object_id": 1,
                "unit_id": None,
                "before": None,
                "after": {"名称": "华来", "n": [1, None], "ok": True},
            },
            {
                "id": 900002,
                "at": datetime(2026, 1, 2, 3, 4, 5, 123),
                "actor_id": None,
                "action": "b",
                "object_type": "T",
                "object_id": None,
                "unit_id": None,
                "before": {},
                "after": None,
            },
        ],
        "categories": [{"id": 900001, "name": "测试类别"}],  # sort_order, is_active: Python defaults
        "calendar_overrides": [
            {"id": 900001, "day": date(2026, 10, 1), "is_workday": False, "note": "国庆"},
            {"id": 900002, "day": date(2026, 10, 11), "is_workday": True, "note": None},
        ],
    }
    conn = db.session.connection()

    def stored(table: str) -> list:
        columns = [c.name for c in _db.metadata.tables[table].columns]
        listed = ", ".join(f"{c}, typeof({c})" for c in columns)
        return conn.exec_driver_sql(f"SELECT {listed} FROM {table} WHERE id >= 900001 ORDER BY id").all()

    for table, values in rows.items():
        conn.execute(_db.metadata.tables[table].insert(), values)
        core = stored(table)
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE id >= 900001")
        insert = SqliteInsert(_db.metadata.tables[table], tuple(values[0]), conn.dialect)
        conn.exec_driver_sql(insert.sql, insert.params(values))
        assert stored(table) == core
