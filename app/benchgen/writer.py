"""Bulk writing: rows as dicts, buffered per table, sent with one executemany of a
SQLAlchemy Core `insert()` per table and batch (on SQLite compiled once, its values
converted here: `SqliteInsert`), always in foreign-key order so that a row never
arrives before the row it points to. Ids are handed out here, not by the database."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter

from sqlalchemy import Table, event, func, select, text
from sqlalchemy.sql import sqltypes

from app.extensions import db

LABELS = {
    "units": "单位",
    "unit_closure": "单位闭包",
    "users": "用户",
    "projects": "项目",
    "tasks": "任务",
    "assignments": "事项",
    "progress_reports": "进度反馈",
    "extension_requests": "延期申请",
    "visits": "走访",
    "findings": "发现问题",
    "checklists": "检查清单",
    "checklist_entries": "检查项",
    "notifications": "通知",
    "journal": "日志",
}
SHOWN = ("units", "users", "assignments", "progress_reports", "visits", "notifications", "journal")


class SqliteInsert:
    """One table's INSERT for SQLite, compiled once by SQLAlchemy Core, with each value
    converted here exactly as the column's type would convert it (JSON text through the
    dialect's serializer, dates and times in SQLAlchemy's SQLite storage format) — a
    quarter of the load's time was SQLAlchemy redoing that lookup for every row. Python
    defaults fill the columns the generator does not name."""

    def __init__(self, table: Table, keys: tuple[str, ...], dialect):
        compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        serialize = getattr(dialect, "_json_serializer", None) or json.dumps
        self.spec = []  # (column, conversion, also for None, Python default)
        for name in compiled.positiontup:
            col = table.c[name]
            also_none = isinstance(col.type, sqltypes.JSON)  # the JSON type stores None as 'null'
            if isinstance(col.type, sqltypes.JSON):
                convert = serialize
            elif isinstance(col.type, sqltypes.DateTime):
                convert = _sqlite_datetime
            elif isinstance(col.type, sqltypes.Date):
                convert = _sqlite_date
            else:
                convert = None
            default = None
            if name not in keys:
                default = col.default
                if default is None or not (default.is_scalar or default.is_callable):
                    raise RuntimeError(f"{table.name}.{name}：生成器没有给出值，也没有可用的默认值")
            self.spec.append((name, convert, also_none, default))
        self.defaults = any(default is not None for *_, default in self.spec)
        self.getter = itemgetter(*[name for name, *_ in self.spec])
        self.conversions = [(i, c, n) for i, (_, c, n, _) in enumerate(self.spec) if c is not None]

    def params(self, rows: list[dict]) -> list[tuple]:
        if self.defaults or len(self.spec) == 1:
            return [self._with_defaults(row) for row in rows]
        getter, conversions, out = self.getter, self.conversions, []
        for row in rows:
            values = getter(row)
            if conversions:
                values = list(values)
                for i, convert, also_none in conversions:
                    value = values[i]
                    if also_none or value is not None:
                        values[i] = convert(value)
                values = tuple(values)
            out.append(values)
        return out

    def _with_defaults(self, row: dict) -> tuple:
        values = []
        for name, convert, also_none, default in self.spec:
            if default is not None:
                value = default.arg if default.is_scalar else default.arg(None)
            else:
                value = row[name]
            if convert is not None and (also_none or value is not None):
                value = convert(value)
            values.append(value)
        return tuple(values)


def _sqlite_datetime(value):
    return value.isoformat(" ", "microseconds")


def _sqlite_date(value):
    return value.isoformat()


class BulkWriter:
    def __init__(self, echo: Callable[[str], None], *, batch: int = 5_000, commit_every: int = 250_000):
        self.echo = echo
        self.batch = batch
        self.commit_every = commit_every
        self.tables = {t.name: t for t in db.metadata.sorted_tables}
        self.order = [t.name for t in db.metadata.sorted_tables]
        self.buffers: dict[str, list[dict]] = defaultdict(list)
        self.written: Counter[str] = Counter()
        self.targets: Counter[str] = Counter()  # expected totals, for the progress line
        self.next_ids: dict[str, int] = {}
        self.inserts: dict[tuple, SqliteInsert] = {}
        self.uncommitted = 0
        self.started = time.monotonic()
        self.printed = 0.0

    # ---------------------------------------------------------------- ids

    def new_id(self, table: str) -> int:
        """The next id of `table` (after what is already in the database)."""
        if table not in self.next_ids:
            t = self.tables[table]
            self.next_ids[table] = (db.session.scalar(select(func.max(t.c.id))) or 0) + 1
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    # ---------------------------------------------------------------- rows

    def add(self, table: str, row: dict) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.batch:
            self.flush()

    def flush(self, *, force_print: bool = False) -> None:
        """Every buffer, parents before children; commit every `commit_every` rows."""
        conn = db.session.connection()
        for name in self.order:
            rows = self.buffers.get(name)
            if rows:
                if conn.dialect.name == "sqlite":
                    insert = self._sqlite_insert(name, tuple(rows[0]), conn.dialect)
                    conn.exec_driver_sql(insert.sql, insert.params(rows))
                else:
                    conn.execute(self.tables[name].insert(), rows)
                self.written[name] += len(rows)
                self.uncommitted += len(rows)
                self.buffers[name] = []
        if self.uncommitted >= self.commit_every:
            db.session.commit()
            self.uncommitted = 0
        self.progress(force=force_print)

    def _sqlite_insert(self, table: str, keys: tuple[str, ...], dialect) -> SqliteInsert:
        if (table, keys) not in self.inserts:
            self.inserts[table, keys] = SqliteInsert(self.tables[table], keys, dialect)
        return self.inserts[table, keys]

    def finish(self) -> None:
        self.flush(force_print=True)
        db.session.commit()
        self.uncommitted = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress(self, *, force: bool = False) -> None:
        """One line at most every second: each table's rows written / expected."""
        now = time.monotonic()
        if not force and now - self.printed < 1.0:
            return
        self.printed = now
        parts = []
        for name in SHOWN:
            done, target = self.written[name], self.targets[name]
            if done or target:
                parts.append(f"{LABELS[name]} {done}/{target}" if target else f"{LABELS[name]} {done}")
        self.echo(f"[{self.elapsed():6.1f} s] " + " · ".join(parts))


def _bulk_pragmas(dbapi_connection, connection_record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MB
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


@contextmanager
def bulk_connection() -> Iterator[None]:
    """SQLite: no fsync and a bigger page cache while loading (a failed load is thrown
    away, never repaired). The settings can only change outside a transaction, so the
    pool is emptied and each new connection gets them; afterwards, the usual ones."""
    if db.engine.dialect.name != "sqlite":
        yield
        return
    db.session.commit()
    db.session.close()
    db.engine.dispose()
    event.listen(db.engine, "connect", _bulk_pragmas)
    try:
        yield
    finally:
        db.session.close()
        event.remove(db.engine, "connect", _bulk_pragmas)
        db.engine.dispose()


def reset_sequences() -> None:
    """PostgreSQL: ids were given explicitly, so move every id sequence past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table.name}), 1), "
                f"(SELECT max(id) IS NOT NULL FROM {table.name}))"
            )
        )
    db.session.commit()


def checkpoint() -> None:
    """SQLite: fold the write-ahead log into the database file (outside any transaction)."""
    if db.engine.dialect.name != "sqlite":
        return
    db.session.commit()
    db.session.close()
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
