"""Fill an empty database with a province (or a demo tree, or a nation) in its third
year, deterministically: the same scale, seed and day give the same rows (password
hashes and session tokens aside: those stay secret and salted).

The demo tree and accounts are loaded first through the services (app/seed/demo.py),
so every scale holds them on their own units; the generated tree grows around them.
Everything else goes in by bulk inserts (app/benchgen/writer.py)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import func, inspect, select

from app.benchgen.checklists import build_checklists
from app.benchgen.context import Clock, Province
from app.benchgen.indicators import build_indicator_values, catalogue_ids, span_months
from app.benchgen.items import Planner
from app.benchgen.lifecycle import Writer, allocate_reports, settle_progress
from app.benchgen.names import PROVINCES, Namer
from app.benchgen.notify import Notifier
from app.benchgen.shapes import SHAPES, Shape
from app.benchgen.tree import build_units, build_users, load_existing, taken_names
from app.benchgen.visits import build_pairings, build_visits
from app.benchgen.writer import BulkWriter, bulk_connection, checkpoint, reset_sequences
from app.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


class NotEmpty(RuntimeError):
    """The database already holds data: the generator only fills an empty one."""


def ensure_schema(echo: Callable[[str], None]) -> None:
    """A database with no tables at all is migrated first (`flask db upgrade`)."""
    if inspect(db.engine).has_table("alembic_version"):
        return
    from flask_migrate import upgrade

    echo("数据库尚未建表：先执行迁移（flask db upgrade）……")
    upgrade(directory=str(MIGRATIONS))


def ensure_empty() -> None:
    from app.org.models import Unit, User
    from app.tasks.models import Assignment, Task

    counts = {
        label: db.session.scalar(select(func.count()).select_from(model))
        for label, model in (("单位", Unit), ("用户", User), ("任务", Task), ("事项", Assignment))
    }
    held = "、".join(f"{n} 个{label}" for label, n in counts.items() if n)
    if held:
        raise NotEmpty(
            f"数据库不是空的（已有 {held}）：bench generate 只向刚迁移、尚无数据的数据库写入。"
            "请换一个新的数据库（或新的 SQLite 文件），先执行 flask --app wsgi db upgrade。"
        )


def expected_totals(shape: Shape) -> dict[str, int]:
    n = shape.provinces
    return {
        "units": shape.units_per_province() * n,
        "users": shape.users_per_province() * n,
        "assignments": (shape.items + shape.rectifications) * n,
        "progress_reports": shape.reports * n,
        "visits": shape.visits * n,
        "notifications": shape.notifications * n,
    }


def build_province(
    w: BulkWriter,
    shape: Shape,
    index: int,
    clock: Clock,
    seed: int,
    password_hash: str,
    taken,
    catalogue: dict | None = None,
) -> int:
    """One high court and everything under it; the id of its long-history assignment."""
    rng = random.Random(f"qiangji-bench:{shape.name}:{seed}:{index}")
    p = Province(index, PROVINCES[index][1])
    if index == 0:
        load_existing(p)
    build_units(w, p, shape, clock, rng, Namer(rng, taken))
    build_users(w, p, shape, clock, rng, password_hash)
    planner = Planner(w, p, shape, clock, rng)
    planner.plan(shape.items)
    build_visits(w, p, shape, clock, rng, planner)
    items = planner.items
    allocate_reports(items, shape.reports, shape.long_history, rng)
    settle_progress(items, rng)
    writer = Writer(w, p, clock, rng)
    for it in items:
        writer.write(it)
    Notifier(w, p, clock, rng).build(items, shape.notifications)
    build_checklists(w, p, shape, clock, rng)
    build_pairings(w, p, clock, rng)
    if catalogue:
        build_indicator_values(w, p, clock, rng, catalogue)
    w.flush(force_print=True)
    return next(it.id for it in items if it.long)


def generate(scale: str, seed: int, today: date, echo: Callable[[str], None]) -> dict:
    """Fill the (empty, migrated) database; a summary of what was made."""
    from app.checklists.standards import load_standard_templates
    from app.maintenance import after_bulk_load
    from app.org.services import hash_password
    from app.search.index import reindex
    from app.seed.demo import DEMO_PASSWORD, load_demo

    shape = SHAPES[scale]
    ensure_schema(echo)
    ensure_empty()
    clock = Clock(today, shape.years)
    w = BulkWriter(echo)
    w.targets.update(expected_totals(shape))
    echo(f"规模 {scale}，种子 {seed}，截至 {today}：{shape.provinces} 个高院")
    load_demo(clock.now)  # the demo tree and accounts, through the services
    load_standard_templates(clock.now)
    db.session.commit()
    for name in w.targets:  # the demo's own rows count towards the totals shown
        w.written[name] = db.session.scalar(select(func.count()).select_from(w.tables[name]))
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every generated account
    taken = taken_names()
    catalogue = catalogue_ids(sorted({int(m[:4]) for m in span_months(clock)} | {today.year}))
    long_items = []
    with bulk_connection():
        for index in range(shape.provinces):
            long_items.append(build_province(w, shape, index, clock, seed, password_hash, taken, catalogue))
            if shape.provinces > 1:
                echo(
                    f"[{w.elapsed():6.1f} s] 高院 {index + 1}/{shape.provinces}（{PROVINCES[index][0]}）完成"
                )
        w.finish()
    reset_sequences()
    # the bulk inserts bypass the ORM's flush hook: build the search index in one pass (issue 15)
    echo(f"[{w.elapsed():6.1f} s] 搜索索引……")
    search_documents = reindex(db.session.connection(), now=clock.now)
    db.session.commit()
    echo(f"[{w.elapsed():6.1f} s] 搜索索引：{search_documents} 条")
    echo(f"[{w.elapsed():6.1f} s] 统计信息（ANALYZE）……")
    after_bulk_load()
    checkpoint()
    return {"seconds": w.elapsed(), "long_items": long_items, "counts": table_counts()}


def table_counts() -> dict[str, int]:
    out = {}
    for table in db.metadata.sorted_tables:
        n = db.session.scalar(select(func.count()).select_from(table))
        if n:
            out[table.name] = n
    return out


def overdue_share(today: date) -> tuple[int, int]:
    """(open and overdue, all) assignments as of `today`."""
    from app.tasks.models import OPEN_STATUSES, Assignment

    total = db.session.scalar(select(func.count()).select_from(Assignment))
    overdue = db.session.scalar(
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.status.in_(OPEN_STATUSES), Assignment.deadline < today)
    )
    return overdue, total
