"""Small SQL helpers shared by the list queries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def contains(column: Any, text: str) -> Any:
    """`column` contains `text` literally: % and _ typed by a user are not wildcards."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


# ---------------------------------------------------------------- dates in SQL (SQLite and PostgreSQL)

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: a stored naive-UTC
# timestamp's local date is its date eight hours later.
LOCAL_OFFSET_HOURS = 8


class local_date(FunctionElement):  # noqa: N801 — used like an SQL function
    """The Asia/Shanghai date of a naive-UTC timestamp column."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"date({compiler.process(arg, **kw)}, '+{LOCAL_OFFSET_HOURS} hours')"


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"CAST({compiler.process(arg, **kw)} + INTERVAL '{LOCAL_OFFSET_HOURS} hours' AS DATE)"


class days_between(FunctionElement):  # noqa: N801
    """Whole days from date `a` to date `b` (b − a), as an integer."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({b}) - julianday({a}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({b} AS DATE) - CAST({a} AS DATE))"


def date_value(value: date) -> Any:
    """A date bound as a typed SQL parameter (so PostgreSQL does date arithmetic on it)."""
    return literal(value, Date())
