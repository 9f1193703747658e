"""Keeping the index in step with every write, in the writer's own transaction.

A session hook (after each flush) sees which indexed objects — or the children whose
text they carry (a progress report → its assignment's document, a unit's alias → the
unit's) — were inserted, changed in an indexed column, or deleted, and rewrites their
documents through the same connection: a rollback takes the documents with it. Writes
that bypass the ORM call `refresh` themselves (app.tasks.writing) or end with
`reindex` (the bench generator, `flask search reindex`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    event,
    func,
    inspect,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.org.models import Unit, UnitName
from app.reminders.models import Circular
from app.search.documents import SOURCES
from app.search.models import SearchDocument
from app.tasks.models import Assignment, ProgressReport, Task
from app.timeutil import utcnow
from app.visits.models import Finding, Visit

CHUNK = 500
# model → (its source, the columns whose change rewrites its document)
WATCHED: dict[type, tuple[str, tuple[str, ...]]] = {
    Task: ("task", ("title", "requirements", "notes", "kind", "owner_unit_id")),
    Assignment: ("assignment", ("unit_id", "task_id")),
    Visit: (
        "visit",
        ("title", "team", "topics", "summary", "suggestions", "solved_on_spot", "organizer_unit_id"),
    ),
    Finding: ("finding", ("description", "unit_id", "visit_id")),
    Circular: ("circular", ("title", "body", "unit_id")),
    Unit: ("unit", ("name",)),
}
# A change here also rewrites the documents that show it: an item's title is its
# assignments' (reports, rectification) title too; a visit's title its findings'.
CASCADES = {
    Task: (("title", "requirements", "kind"), Assignment.id, Assignment.task_id, "assignment"),
    Visit: (("title",), Finding.id, Finding.visit_id, "finding"),
}


def _changed(obj: Any, columns: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[c].history.has_changes() for c in columns)


def changes_of(session: Session) -> tuple[dict[str, set[int]], dict[type, set[int]]]:
    """(source → ids to rewrite, parent model → ids whose children to rewrite)."""
    changes: dict[str, set[int]] = defaultdict(set)
    cascades: dict[type, set[int]] = defaultdict(set)
    for state, objs in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objs:
            model = type(obj)
            if model is ProgressReport:
                changes["assignment"].add(obj.assignment_id)
            elif model is UnitName:
                changes["unit"].add(obj.unit_id)
            elif model in WATCHED:
                source, columns = WATCHED[model]
                if state != "dirty" or _changed(obj, columns):
                    changes[source].add(obj.id)
                cascade = CASCADES.get(model)
                if cascade and state == "dirty" and _changed(obj, cascade[0]):
                    cascades[model].add(obj.id)
    return changes, cascades


def _insert_statement(dialect: str):
    """INSERT of documents that replaces a document of the same (kind, object) — one that
    another transaction wrote meanwhile (see `refresh`)."""
    values = {
        c: bindparam(c)
        for c in ("kind", "object_id", "unit_id", "parent_id", "title", "body", "tokens", "updated_at")
    }
    if dialect == "postgresql":
        values["tsv"] = func.to_tsvector(literal_column("'simple'::regconfig"), bindparam("tokens"))
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_(SearchDocument.__table__).values(**values)
    replaced = {c: stmt.excluded[c] for c in values if c not in ("kind", "object_id")}
    return stmt.on_conflict_do_update(index_elements=["kind", "object_id"], set_=replaced)


def refresh(conn: Any, changes: dict[str, set[int]], *, now: datetime) -> None:
    """Rewrite the documents of these objects (deleted ones lose theirs).

    Delete first, then build, then insert-or-replace. On PostgreSQL two transactions may
    rewrite one document at once (an item's title edited while somebody reports on one
    of its assignments). The second one's delete waits for the first to end; its build,
    a later statement, then reads what the first committed, so its document carries
    both changes; and its insert replaces the first one's row instead of meeting it
    as a unique violation (the 500 a reporter once got: building first, the second
    wrote a document without the first one's change, then failed on its row). No
    locks beyond the rows written: a batch of thousands needs no room in the server's
    lock table and waits on nothing an edit of the same rows did not already wait on.
    SQLite: a writing transaction holds the database's write lock; the order is moot."""
    if not _has_index(conn):
        return
    stmt = _insert_statement(conn.dialect.name)
    for source in sorted(changes):
        kinds, build, _ = SOURCES[source]
        ordered = sorted(i for i in changes[source] if i is not None)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            conn.execute(
                delete(SearchDocument).where(
                    SearchDocument.kind.in_(kinds), SearchDocument.object_id.in_(chunk)
                )
            )
            docs = build(conn, chunk)
            if docs:
                conn.execute(stmt, [{**d, "updated_at": now} for d in docs])


_INDEXED_DATABASES: set[str] = set()


def _has_index(conn: Any) -> bool:
    """Whether this database has the index yet: code of this release may write to one
    still at an older revision (a test of an older migration, an upgrade under way).
    Only a yes is remembered, so the first flush after `flask db upgrade` indexes."""
    key = conn.engine.url.render_as_string(hide_password=True)
    if key not in _INDEXED_DATABASES and inspect(conn).has_table(SearchDocument.__tablename__):
        _INDEXED_DATABASES.add(key)
    return key in _INDEXED_DATABASES


def _after_flush(session: Session, flush_context: Any) -> None:
    changes, cascades = changes_of(session)
    if not changes and not cascades:
        return
    conn = session.connection()
    for model, parent_ids in cascades.items():
        _, child_id, parent_col, source = CASCADES[model]
        changes[source].update(conn.scalars(select(child_id).where(parent_col.in_(sorted(parent_ids)))))
    refresh(conn, changes, now=utcnow())


def install() -> None:
    """Listen to every session's flushes (once)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# When each source's document was last written: what rewrites it (WATCHED, a report on
# an assignment) moves these too. Circulars and findings keep their text once written.
_WRITTEN = {
    "task": Task.updated_at,
    "assignment": func.coalesce(Assignment.last_report_at, Assignment.created_at),
    "visit": Visit.updated_at,
    "finding": Finding.created_at,
    "circular": Circular.created_at,
    "unit": Unit.updated_at,
}
REINDEX_BATCH = 5000


def reindex(conn: Any, *, now: datetime) -> int:
    """Rebuild the whole index from the objects (after bulk loads); the documents made.

    The documents are written in the order their objects were last written (`_WRITTEN`),
    a batch of REINDEX_BATCH objects at a time, so their ids keep the order of writing
    they have when the app writes them one by one: the newest matches (the search window,
    app.search.queries) are then the most recently written after a rebuild too, not the
    last kind rebuilt — nor, in a generated country, the last province generated.
    PostgreSQL: the index is locked against other writers until the rebuild commits
    (they wait; readers do not)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {SearchDocument.__tablename__} IN EXCLUSIVE MODE"))
    conn.execute(delete(SearchDocument))
    order = _write_order(conn)
    try:
        last = conn.scalar(select(func.max(order.c.seq))) or 0
        for start in range(0, last, REINDEX_BATCH):
            batch: dict[str, set[int]] = defaultdict(set)
            rows = select(order.c.source, order.c.object_id).where(
                order.c.seq.between(start + 1, start + REINDEX_BATCH)
            )
            for source, object_id in conn.execute(rows):
                batch[source].add(object_id)
            refresh(conn, batch, now=now)
    finally:
        order.drop(conn)
    return conn.scalar(select(func.count()).select_from(SearchDocument))


def _write_order(conn: Any) -> Table:
    """A temporary table of every indexed object (source, id) numbered 1, 2, … by when
    it was last written (oldest first; ties by source and id)."""
    order = Table(
        "search_reindex_order",
        MetaData(),
        Column("seq", Integer, primary_key=True),
        Column("source", String(20)),
        Column("object_id", Integer),
        prefixes=["TEMPORARY"],
    )
    order.create(conn)
    parts = [
        select(
            literal(source).label("source"), model.id.label("object_id"), _WRITTEN[source].label("written")
        )
        for source, (_, _, model) in SOURCES.items()
    ]
    every = union_all(*parts).subquery()
    seq = func.row_number().over(order_by=(every.c.written, every.c.source, every.c.object_id))
    numbered = select(seq, every.c.source, every.c.object_id)
    conn.execute(order.insert().from_select(["seq", "source", "object_id"], numbered))
    return order
