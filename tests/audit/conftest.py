"""Helpers for the audit tests: rows written straight through the service, and the
raw SQL an intruder with database access would run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.audit import services
from app.audit.models import AuditEntry
from app.extensions import db
from app.timeutil import utcnow


def append(
    n: int, *, start: datetime | None = None, step: timedelta = timedelta(minutes=1), **kw
) -> list[int]:
    """n rows, one transaction, times `start`, `start + step` …; their ids."""
    start = start or utcnow() - timedelta(days=1)
    events = [
        services.Event(
            action=kw.get("action", "write"),
            at=start + i * step,
            username=kw.get("username", f"u{i}"),
            detail={"n": i},
            result=kw.get("result", "success"),
            user=kw.get("user"),
        )
        for i in range(n)
    ]
    rows = services.write(events)
    db.session.commit()
    return [r.id for r in rows]


def sql(statement: str, **params) -> None:
    """A direct edit of the database, outside the app (what the chain must catch)."""
    db.session.commit()  # the test's own reads hold SQLite's lock (BEGIN IMMEDIATE)
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)
    db.session.expire_all()


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def rows(app):
    return lambda: list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
