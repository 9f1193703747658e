"""The roll-ups' results kept in the web process under `tally_version`
(app.dashboard.tallies): every change the figures depend on raises the version in the
same transaction, whoever writes; a repeated GET reads the kept result; the first GET
after any change computes afresh and equals what a new process computes."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update

from app.dashboard.models import TallyVersion
from app.extensions import db
from app.org.models import UnitClosure
from app.tasks.models import Assignment
from app.timeutil import local_today as today_local
from tests import factories

CSRF = re.compile(rb'name="csrf_token" value="[^"]*"')


def _body(resp) -> bytes:
    """The page without its CSRF tokens (signed with the time: they change by the second)."""
    return CSRF.sub(b"", resp.get_data())


PATHS = ["/api/v1/dashboard", "/api/v1/rankings", "/api/v1/completion-list", "/dashboard", "/trends"]


def _version() -> int:
    return db.session.execute(select(TallyVersion.n)).scalar_one()


@pytest.fixture
def items(db, tree):
    people = factories.task_users(tree)
    project = factories.project(people.high_assigner, tree.high)
    today = today_local()
    made = []
    for i, (unit, days) in enumerate(
        [(tree.trib1, -3), (tree.trib2, 2), (tree.base3, 40), (tree.trib1, -40)]
    ):
        task = factories.task(
            people.high_assigner, project, title=f"事项{i}", deadline=today + timedelta(days=days)
        )
        made += factories.assign(people.high_assigner, task, unit)
    db.session.commit()
    return people, made


def _changes(tree, made):
    """Each kind of change the figures read, made by SQL by hand (the triggers, not the
    services, must notice it)."""
    a, b, c, d = (m.id for m in made)
    today = today_local()
    return [
        ("progress", update(Assignment).where(Assignment.id == b).values(progress=90)),
        ("deadline", update(Assignment).where(Assignment.id == c).values(deadline=today - timedelta(days=1))),
        ("close", update(Assignment).where(Assignment.id == a).values(status="closed", closed_on=today)),
        ("unit", update(Assignment).where(Assignment.id == d).values(unit_id=tree.trib3.id)),
        ("delete", text(f"DELETE FROM assignments WHERE id = {b}")),
        ("tree", text(f"DELETE FROM unit_closure WHERE descendant_id = {tree.trib3.id} AND depth > 0")),
    ]


def test_every_change_the_figures_read_raises_the_version(app, db, tree, items):
    _people, made = items
    for name, stmt in _changes(tree, made):
        before = _version()
        db.session.execute(stmt)
        db.session.commit()
        assert _version() > before, name
    before = _version()
    db.session.execute(update(Assignment).where(Assignment.id == made[0].id).values(period_label="备注"))
    db.session.commit()
    assert _version() == before  # a column no figure reads changes nothing
    before = _version()
    db.session.execute(update(Assignment).where(Assignment.id == made[2].id).values(progress=10))
    db.session.rollback()
    assert _version() == before  # nothing is raised by what was rolled back
    db.session.add(UnitClosure(ancestor_id=tree.trib3.id, descendant_id=tree.trib3.id, depth=0))
    with pytest.raises(Exception):  # noqa: B017 — the row exists; the version stays
        db.session.commit()
    db.session.rollback()
    assert _version() == before


@pytest.mark.parametrize("path", PATHS)
def test_a_repeated_request_reads_the_kept_result_and_a_change_is_seen_at_once(
    app, client, db, tree, items, login, count_queries, path
):
    people, made = items
    login(people.reviewer)
    first = client.get(path)
    assert first.status_code == 200
    with count_queries() as again:
        second = client.get(path)
    assert _body(second) == _body(first)
    with count_queries() as fresh:
        app.extensions.pop("qj_tally_kept", None)
        assert _body(client.get(path)) == _body(first)
    assert len(again) < len(fresh), "the kept result is read back"
    for name, stmt in _changes(tree, made):
        db.session.execute(stmt)
        db.session.commit()
        after = _body(client.get(path))
        app.extensions.pop("qj_tally_kept", None)  # what a new process computes
        assert _body(client.get(path)) == after, f"{path} after {name}"
        assert after != _body(first) or name in ("progress", "tree"), name


def test_writing_requests_and_the_scheduler_neither_use_nor_fill_it(app, db, tree, items):
    from app.dashboard import tallies

    with app.test_request_context("/dashboard", method="POST"):
        assert tallies._version() is None
    tallies.own_counts(tree.high.id, today_local(), date(2026, 1, 1), date(2026, 12, 31))  # no request
    assert not app.extensions.get("qj_tally_kept")
    with app.test_request_context("/dashboard", method="GET"):
        tallies.own_counts(tree.high.id, today_local())
    assert app.extensions.get("qj_tally_kept")
