"""Province-scale benchmark of the hot pages (not a test: run it by hand).

    .venv/bin/python bench/bench_lists.py [--items 20000] [--url postgresql+psycopg://…/empty_db]

Builds ~15 intermediate, ~120 base courts, ~350 tribunals and N assignments in a
temporary SQLite file, then times the list, my-work and completion-list pages for
a high-court reviewer and a tribunal head, counting SQL statements per page — and the
dashboards: the province roll-up, the rankings and the trends."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def build(n_items: int) -> None:
    from flask_migrate import upgrade

    from app.org import services as org
    from app.tasks.models import Assignment, Project, Task
    from app.timeutil import utcnow

    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    now = utcnow()
    high = org.create_unit(None, name="某省高级人民法院", level="high", parent=None, now=now)
    tribunals, bases = [], []
    for i in range(15):
        inter = org.create_unit(None, name=f"第{i}中级人民法院", level="intermediate", parent=high, now=now)
        for j in range(8):
            base = org.create_unit(None, name=f"第{i}-{j}基层人民法院", level="base", parent=inter, now=now)
            bases.append((inter, base))
            for k in range(3):
                tribunals.append(
                    (
                        inter,
                        org.create_unit(
                            None, name=f"第{i}-{j}-{k}人民法庭", level="tribunal", parent=base, now=now
                        ),
                    )
                )
    org.create_user(
        None,
        username="reviewer",
        display_name="强基办",
        unit=high,
        roles=["reviewer"],
        password="Bench2026x",
        now=now,
    )
    org.create_user(
        None,
        username="head",
        display_name="庭长",
        unit=tribunals[0][1],
        roles=["tribunal_head"],
        password="Bench2026x",
        now=now,
    )
    project = Project(
        name="基准项目",
        owner_unit_id=high.id,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        created_at=now,
        updated_at=now,
    )
    db.session.add(project)
    db.session.flush()
    rnd = random.Random(7)
    targets = tribunals + bases
    tasks = []
    for t in range(n_items // 10):
        inter = targets[rnd.randrange(len(targets))][0]
        tasks.append(
            {
                "project_id": project.id,
                "owner_unit_id": inter.id,
                "title": f"事项{t}",
                "deadline_kind": "date",
                "deadline": date(2026, 1, 1) + timedelta(days=rnd.randrange(365)),
                "priority": "normal",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(insert(Task), tasks)
    task_rows = db.session.execute(db.select(Task.id, Task.owner_unit_id, Task.deadline)).all()
    rows = []
    for i in range(n_items):
        tid, owner, deadline = task_rows[i % len(task_rows)]
        unit = targets[rnd.randrange(len(targets))][1]
        status = rnd.choice(["pending", "in_progress", "submitted", "closed", "closed"])
        rows.append(
            {
                "task_id": tid,
                "unit_id": unit.id,
                "assigned_by_unit_id": owner,
                "period_label": f"p{i}",
                "status": status,
                "deadline": deadline,
                "original_deadline": deadline,
                "progress": 0,
                "closed_on": deadline if status == "closed" else None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(insert(Assignment), rows)
    db.session.commit()


def measure(app, username: str, paths: list[str], rounds: int = 5) -> None:
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    client.post("/login", data={"username": username, "password": "Bench2026x"})
    for path in paths:
        statements = []

        def count(*_a, statements=statements, **_k):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        times = []
        for _ in range(rounds):
            statements.clear()
            t0 = time.perf_counter()
            resp = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, (path, resp.status_code)
        event.remove(engine, "before_cursor_execute", count)
        print(f"{username:9} {path:40} median {statistics.median(times):7.1f} ms  queries {len(statements)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument(
        "--url",
        default="",
        help="an EMPTY database to build in (e.g. a scratch PostgreSQL database); default SQLite",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{os.path.join(tmp, 'bench.sqlite')}"
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=False)
        with app.app_context():
            t0 = time.perf_counter()
            build(args.items)
            print(f"built {args.items} assignments in {time.perf_counter() - t0:.1f} s")
        pages = [
            "/assignments",
            "/assignments?status=overdue",
            "/assignments?q=事项1",
            "/my",
            "/completion",
            "/api/v1/completion-list",
            "/",
            "/dashboard?period=year",
            "/api/v1/dashboard",
            "/rankings?level=base",
            "/trends?months=24",
        ]
        measure(app, "reviewer", pages)
        measure(app, "head", ["/my", "/assignments", "/today"])


if __name__ == "__main__":
    main()
