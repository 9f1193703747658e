"""Fixtures for the hostile-input tests: the demo province (tree, accounts, items,
visits, the shipped standards and checklists) plus what the demo leaves out — a display token, a draft circular,
an urge notice and an uploaded evidence file — and clients logged in as its people."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.org.models import Unit, User

NOW = datetime(2026, 3, 2, 2, 0)
HUGE_IDS = (2**31, 2**64)  # past PostgreSQL's integer; past SQLite's too


def _user(username: str) -> User:
    return _db.session.scalar(select(User).where(User.username == username))


def _unit(name: str) -> Unit:
    return _db.session.scalar(select(Unit).where(Unit.name == name))


@pytest.fixture
def demo(db, app):
    """The demo data as `flask seed demo` loads it, and a few objects it has none of."""
    from app.checklists.standards import load_standard_templates
    from app.dashboard import services as display_services
    from app.reminders.circular import make_draft
    from app.seed.demo import (
        DEMO_PASSWORD,
        load_demo,
        load_demo_checklists,
        load_demo_tasks,
        load_demo_visits,
    )
    from app.timeutil import local_today, utcnow

    now = utcnow()
    load_demo(now)
    load_standard_templates(now)
    load_demo_tasks(now)
    load_demo_visits(now)
    load_demo_checklists(now)
    db.session.commit()
    high = _unit("辽宁省高级人民法院")
    benxi = _unit("本溪市中级人民法院")
    _token, raw = display_services.create_display(_user("admin"), benxi, label="大厅电视", now=now)
    circular = make_draft(high, local_today().strftime("%Y-%m"), now)
    db.session.commit()
    return SimpleNamespace(
        password=DEMO_PASSWORD,
        wall_token=raw,
        circular_id=circular.id,
        high=high,
        benxi=benxi,
        user=_user,
        unit=_unit,
    )


@pytest.fixture
def as_user(app, demo):
    """A fresh client logged in as a demo account (one client per person)."""

    def _as(username: str):
        c = app.test_client()
        resp = c.post("/login", data={"username": username, "password": demo.password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return c

    return _as


def upload(client, assignment, name: str = "佐证.png", data: bytes | None = None):
    """Report progress on an assignment with one evidence file (a 1×1 PNG unless told)."""
    if data is None:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(buf, "PNG")
        data = buf.getvalue()
    return client.post(
        f"/assignments/{assignment.id}/report",
        data={
            "text": "已上传佐证",
            "percent": "50",
            "version": str(assignment.version),
            "files": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


class _NetWatch(logging.Handler):
    """Notes each time the DataError/OverflowError net of app/main/errors.py caught something."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "cannot hold" in record.getMessage():
            self.caught.append(record.getMessage())


@pytest.fixture
def net_unused(app):
    """The test fails if the database-error net had to catch anything: input must be
    bounded and cleaned before it reaches the database, the net is only a net."""
    watch = _NetWatch()
    app.logger.addHandler(watch)
    yield watch
    app.logger.removeHandler(watch)
    assert watch.caught == [], watch.caught
