"""The tallies behind the roll-ups (app.dashboard.tallies): kept exact by database
triggers through every kind of write — compared with a recount from the items after
each one — and every roll-up read from them equal to the same roll-up counted item by
item, on dates that cross months, on both databases."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.dashboard import queries, rankings, tallies
from app.dashboard.models import AssignmentTally
from app.extensions import db
from app.tasks import services
from app.tasks.models import Assignment, AssignmentPair, Task
from app.tasks.queries import completion_rows
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0)  # 10:00 in Shanghai


def _same() -> None:
    """The tallies are the recount from the items, and each unit's sums (kept by their own
    triggers, on the tallies) are the recount's added up; the (assigning unit, receiving
    unit) pairs the policy reads (migration 0022) are the items' too."""
    db.session.flush()
    recount = tallies.recount()
    assert tallies.stored() == recount
    assert tallies.unit_sums() == tallies.unit_sums_of(recount)
    assert _pairs() == _pairs_recounted()


def _pairs() -> dict[tuple[int, int], int]:
    rows = db.session.execute(
        select(AssignmentPair.assigned_by_unit_id, AssignmentPair.unit_id, AssignmentPair.n)
    )
    return {(by, unit): n for by, unit, n in rows if n}


def _pairs_recounted() -> dict[tuple[int, int], int]:
    rows = db.session.execute(
        select(Assignment.assigned_by_unit_id, Assignment.unit_id, func.count()).group_by(
            Assignment.assigned_by_unit_id, Assignment.unit_id
        )
    )
    return {(by, unit): n for by, unit, n in rows}


def _report(actor, a, now, submit=True):
    services.add_report(
        actor, a, expected_version=a.version, text="已完成", percent=None, files=[], submit=submit, now=now
    )


@pytest.fixture
def people(tree):
    return factories.task_users(tree)


def test_tallies_follow_every_kind_of_change(tree, people):
    """Assign, split, acknowledge, report, return, close, extend, a rectification, SQL
    written by hand (update, insert, delete): after each, the tallies are the recount."""
    project = factories.project(people.high_assigner, tree.high)
    _same()
    t1 = factories.task(people.high_assigner, project, title="一", deadline=date(2026, 3, 31), now=NOW)
    a1, a2, a3 = factories.assign(people.high_assigner, t1, tree.base1, tree.base2, tree.trib1, now=NOW)
    _same()
    assert sum(n for n, _ in tallies.stored().values()) == 3
    # a split to a tribunal is not counted again
    services.split_assignment(people.base1_coord, a1, [tree.trib2], expected_version=a1.version, now=NOW)
    _same()
    assert sum(n for n, _ in tallies.stored().values()) == 3
    # acknowledged, reported, returned, reported again, closed on time
    services.acknowledge(people.base2_coord, a2, expected_version=a2.version, now=NOW)
    _report(people.base2_coord, a2, NOW + timedelta(days=1))
    services.review(
        people.high_assigner,
        a2,
        decision="return",
        comment="补充",
        expected_version=a2.version,
        now=NOW + timedelta(days=2),
    )
    _same()
    _report(people.base2_coord, a2, NOW + timedelta(days=3))
    services.review(
        people.high_assigner,
        a2,
        decision="approve",
        comment=None,
        expected_version=a2.version,
        now=NOW + timedelta(days=4),
    )
    _same()
    assert a2.status == "closed"
    # closed late, in the next month
    late = datetime(2026, 4, 3, 2, 0)
    _report(people.trib1_head, a3, late)
    services.review(
        people.high_assigner, a3, decision="approve", comment=None, expected_version=a3.version, now=late
    )
    _same()
    # a new deadline in another month
    services.extend_directly(
        people.high_assigner,
        a1,
        new_deadline=date(2026, 5, 15),
        reason="延期",
        expected_version=a1.version,
        now=NOW,
    )
    _same()
    # a rectification from a visit
    services.create_rectification(
        people.assigner,
        organizer_unit=tree.inter1,
        verifier=people.assigner,
        unit=tree.base1,
        description="卷宗归档不及时",
        deadline=date(2026, 4, 10),
        now=NOW,
    )
    _same()
    kinds = {key[1] for key in tallies.stored()}
    assert kinds == {"task", "rectification"}
    # SQL by hand, bypassing the services: the triggers still keep count
    db.session.execute(update(Assignment).where(Assignment.id == a1.id).values(deadline=None))
    _same()
    db.session.execute(
        update(Assignment).where(Assignment.id == a2.id).values(status="in_progress", closed_on=None)
    )  # reopened
    _same()
    db.session.execute(update(Assignment).where(Assignment.id == a3.id).values(unit_id=tree.base3.id))
    _same()
    new_id = db.session.execute(
        insert(Assignment).values(
            task_id=t1.id,
            unit_id=tree.inter2.id,
            assigned_by_unit_id=tree.high.id,
            status="closed",
            deadline=date(2026, 1, 31),
            closed_on=None,
            created_at=datetime(2026, 2, 20, 20, 0),
            version=1,
        )
    ).inserted_primary_key[
        0
    ]  # closed with no date, created after its deadline (and after 16:00 UTC: the next local day)
    _same()
    db.session.execute(delete(Assignment).where(Assignment.id == new_id))
    _same()
    db.session.commit()
    _same()


def test_a_rolled_back_change_leaves_the_tallies_as_they_were(tree, people):
    project = factories.project(people.high_assigner, tree.high)
    task = factories.task(people.high_assigner, project, deadline=date(2026, 3, 31), now=NOW)
    factories.assign(people.high_assigner, task, tree.base1, now=NOW)
    db.session.commit()
    before, pairs_before = tallies.stored(), _pairs()
    db.session.execute(
        update(Assignment).values(status="closed", closed_on=date(2026, 3, 5), unit_id=tree.base2.id)
    )
    assert tallies.stored() != before and _pairs() != pairs_before
    db.session.rollback()
    assert tallies.stored() == before == tallies.recount()
    assert _pairs() == pairs_before == _pairs_recounted()


def test_a_task_kind_is_fixed_once_assigned(tree, people):
    """The kind is part of the tallies' key: changing it under its items would leave
    them counted under the old one, so the database refuses."""
    project = factories.project(people.high_assigner, tree.high)
    task = factories.task(people.high_assigner, project, now=NOW)
    task.kind = "rectification"  # no items yet: allowed
    db.session.flush()
    task.kind = "task"
    factories.assign(people.high_assigner, task, tree.base1, now=NOW)
    db.session.commit()
    with pytest.raises(IntegrityError) as err:
        db.session.execute(update(Task).where(Task.id == task.id).values(kind="rectification"))
    assert "不能改变类别" in str(err.value)
    db.session.rollback()


def test_the_migration_fills_the_tallies_from_the_items_there(tree, people, backend):
    project = factories.project(people.high_assigner, tree.high)
    for i, unit in enumerate((tree.base1, tree.trib1, tree.base3)):
        task = factories.task(
            people.high_assigner, project, title=f"事项{i}", deadline=date(2026, 2 + i, 10), now=NOW
        )
        factories.assign(people.high_assigner, task, unit, now=NOW)
    db.session.commit()
    expected = tallies.recount()
    assert expected
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0008_tallies.py"
    spec = importlib.util.spec_from_file_location("m0008", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.execute(delete(AssignmentTally))
    db.session.execute(text(migration.PG_FILL if backend == "postgresql" else migration.SQLITE_FILL))
    assert tallies.stored() == expected
    db.session.rollback()


def test_the_migration_fills_the_pairs_from_the_items_there(tree, people):
    project = factories.project(people.high_assigner, tree.high)
    task = factories.task(people.high_assigner, project, deadline=date(2026, 3, 10), now=NOW)
    (a,) = factories.assign(people.high_assigner, task, tree.base1, now=NOW)
    services.split_assignment(
        people.base1_coord, a, [tree.trib1, tree.trib2], expected_version=a.version, now=NOW
    )
    db.session.commit()
    expected = _pairs_recounted()
    assert expected == {
        (tree.high.id, tree.base1.id): 1,
        (tree.base1.id, tree.trib1.id): 1,
        (tree.base1.id, tree.trib2.id): 1,
    }
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0022_assignment_pairs.py"
    spec = importlib.util.spec_from_file_location("m0022", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.execute(delete(AssignmentPair))
    assert _pairs() == {}
    db.session.execute(text(migration.FILL))
    assert _pairs() == expected
    db.session.rollback()


# ---------------------------------------------------------------- roll-ups: tallies = items


@pytest.fixture
def spread(tree, people):
    """Items over a year: due in past months, this month (before and after today) and
    later, none; closed on time, late, in a later month; created after the deadline;
    rectifications; a split."""
    project = factories.project(people.high_assigner, tree.high, start=date(2025, 1, 1))
    units = [tree.trib1, tree.trib2, tree.base1, tree.base2, tree.base3, tree.trib3, tree.inter2]
    deadlines = [
        date(2025, 11, 30),
        date(2026, 1, 15),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 9),
        date(2026, 3, 10),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 9, 30),
        None,
    ]
    items = []
    for i, deadline in enumerate(deadlines):
        task = factories.task(
            people.high_assigner,
            project,
            title=f"事项{i}",
            deadline_kind="date" if deadline else "ongoing",
            deadline=deadline,
            now=NOW,
        )
        items += factories.assign(people.high_assigner, task, *units[i % 3 : i % 3 + 4], now=NOW)
    closings = [
        date(2025, 11, 30),
        date(2025, 12, 5),
        date(2026, 1, 10),
        date(2026, 2, 27),
        date(2026, 3, 1),
        None,
    ]
    for j, a in enumerate(items[::3]):
        on = closings[j % len(closings)]
        if on is not None:
            a.status, a.closed_on = "closed", on
        a.created_at = datetime(2025, 10, 1 + j % 20, 1, 0)
        a.progress = (j * 37) % 100
    items[1].created_at = datetime(2026, 2, 1, 1, 0)  # created after its deadline
    for k in range(3):
        services.create_rectification(
            people.assigner,
            organizer_unit=tree.inter1,
            verifier=people.assigner,
            unit=units[k],
            description=f"问题{k}",
            deadline=date(2026, 3 + k, 20),
            now=NOW,
        )
    services.split_assignment(
        people.base1_coord,
        items[2],
        [tree.trib1],
        expected_version=items[2].version,
        now=NOW,
        confirmed=True,  # trib1 holds the item from the high court too: split knowingly
    )
    db.session.commit()
    _same()
    return project


def _from_items(monkeypatch):
    monkeypatch.setattr(tallies, "usable", lambda *a, **k: False)


def _tree_counts(node):
    return {n.unit_id: tuple(getattr(n, k) for k in queries.COUNTS) for n in node.walk()}


PERIODS = [
    queries.Filters(),
    queries.Filters(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31)),
    queries.Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)),
    queries.Filters(date_from=date(2026, 4, 1)),
    queries.Filters(date_to=date(2026, 2, 28)),
]


def _roll_ups(tree, people, today) -> dict:
    """Every roll-up the pages show: the trees over several periods, the completion
    list, the rankings of three months at both levels, the trend."""
    reviewer, assigner = people.reviewer, people.assigner
    return {
        "tree": [_tree_counts(queries.tree(reviewer, tree.high, f, today)) for f in PERIODS],
        "tree_inter1": _tree_counts(queries.tree(assigner, tree.inter1, queries.Filters(), today)),
        "completion": [
            (r.unit.id, r.total, r.closed, r.closed_on_time, r.overdue)
            for r in completion_rows(reviewer, tree.high, today)
        ],
        "ranking": [
            [r.as_dict() for r in rankings.ranking(tree.high, level, p, today)]
            for level in ("intermediate", "base")
            for p in ("2026-02", "2026-03", "2026-04")
        ],
        "trend": rankings.trend(reviewer, tree.high, today, months=14),
    }


@pytest.mark.parametrize("today", [date(2026, 3, 9), date(2026, 3, 31), date(2026, 4, 1), date(2026, 12, 20)])
def test_every_roll_up_from_the_tallies_equals_counting_the_items(tree, people, spread, monkeypatch, today):
    got = _roll_ups(tree, people, today)
    assert any(c[3] for c in got["tree"][0].values()), "no red items: the fixture tests nothing"
    _from_items(monkeypatch)
    want = _roll_ups(tree, people, today)
    for key in want:
        assert got[key] == want[key], key


def test_what_the_tallies_cannot_answer_is_counted_from_the_items(tree, people, spread, count_queries):
    """A project filter or a period inside a month: the items, not the tallies. No filter:
    each unit's sums (AssignmentUnitTally), not the items."""
    today = date(2026, 3, 9)
    with count_queries() as statements:
        queries.item_counts(people.reviewer, tree.high.id, queries.Filters(project_id=spread.id), today)
    assert not any("assignment_tallies" in s or "assignment_unit_tallies" in s for s in statements)
    with count_queries() as statements:
        queries.item_counts(
            people.reviewer,
            tree.high.id,
            queries.Filters(date_from=date(2026, 3, 5), date_to=date(2026, 3, 31)),
            today,
        )
    assert not any("assignment_tallies" in s or "assignment_unit_tallies" in s for s in statements)
    with count_queries() as statements:
        queries.item_counts(people.reviewer, tree.high.id, queries.Filters(), today)
    assert any("FROM assignment_unit_tallies" in s for s in statements)
    assert not any("FROM assignments JOIN tasks" in s for s in statements)


def test_the_month_key_in_sql_is_the_tallies_month(db):
    """app.sqlutil.month_key (what the open items are grouped by, next to the tallies'
    months) gives yyyymm as `tallies.month_key` does, across year ends, on both databases."""
    from sqlalchemy import Date, literal, select

    from app.sqlutil import month_key

    days = [date(2025, 12, 31), date(2026, 1, 1), date(2026, 9, 30), date(2026, 10, 1), date(2027, 2, 28)]
    got = db.session.execute(select(*(month_key(literal(day, Date())) for day in days))).one()
    assert list(got) == [tallies.month_key(day) for day in days] == [202512, 202601, 202609, 202610, 202702]
    assert {type(key) for key in got} == {int}
